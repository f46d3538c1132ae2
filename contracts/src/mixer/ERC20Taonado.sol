// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IHasher} from "../interfaces/IHasher.sol";
import {IVerifier} from "../interfaces/IVerifier.sol";
import {Tornado} from "./Tornado.sol";

/// @title ERC20Taonado
/// @notice A Tornado pool over an ERC-20 (WTAO). Deposits pull `denomination` tokens with an
/// allowance; native value is only accepted on withdraw, as the relayer's refund.
contract ERC20Taonado is Tornado {
    using SafeERC20 for IERC20;

    IERC20 public token;

    constructor(IVerifier _verifier, IHasher _hasher, uint256 _denomination, uint32 _merkleTreeHeight, IERC20 _token)
        Tornado(_verifier, _hasher, _denomination, _merkleTreeHeight)
    {
        token = _token;
    }

    function _processDeposit() internal override {
        require(msg.value == 0, "ETH value is supposed to be 0 for ERC20 instance");
        token.safeTransferFrom(msg.sender, address(this), denomination);
    }

    function _processWithdraw(address payable _recipient, address payable _relayer, uint256 _fee, uint256 _refund)
        internal
        override
    {
        require(msg.value == _refund, "Incorrect refund amount received by the contract");

        token.safeTransfer(_recipient, denomination - _fee);
        if (_fee > 0) {
            token.safeTransfer(_relayer, _fee);
        }

        if (_refund > 0) {
            // 2300 gas: the recipient cannot reenter or grief; if it cannot take the refund,
            // the relayer gets it back.
            bool sent = _recipient.send(_refund);
            if (!sent) {
                _relayer.transfer(_refund);
            }
        }
    }
}
