// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IDepositTracker} from "../interfaces/IDepositTracker.sol";
import {IMetagraph} from "../interfaces/IMetagraph.sol";
import {ITaonado} from "../interfaces/ITaonado.sol";

/// @title WeightsV3 (live)
/// @notice Turns each miner's WTAO balance plus its lifetime pool deposits into a subnet weight.
/// Known defects, kept for ABI and behaviour compatibility and fixed in V4: division by zero
/// when the goal is 0 and nothing is deposited, a revert when the subnet has no uids, no setter
/// for `burn_uid`, no events on configuration changes, and lifetime deposits that can be
/// inflated by depositing and withdrawing back to oneself.
contract WeightsV3 is Ownable {
    uint256 public constant MAX_ASSOCIATIONS_PER_HOTKEY = 100;
    uint16 public constant burn_uid = 0;

    uint16 public netuid;
    uint256 public depositGoal = 1000 ether;
    IDepositTracker public depositTracker;
    IMetagraph public metagraph;
    IERC20 public wtao;
    ITaonado public taonado;

    constructor(uint16 _netuid, address _depositTracker, address _metagraph, address _wtao, address _taonado)
        Ownable(msg.sender)
    {
        netuid = _netuid;
        depositTracker = IDepositTracker(_depositTracker);
        metagraph = IMetagraph(_metagraph);
        wtao = IERC20(_wtao);
        taonado = ITaonado(_taonado);
    }

    function getNetuid() external view returns (uint16) {
        return netuid;
    }

    function setDepositGoal(uint256 _depositGoal) external onlyOwner {
        depositGoal = _depositGoal;
    }

    function getWeights() public view returns (uint16[] memory dests, uint256[] memory weights) {
        uint16 uidCount = metagraph.getUidCount(netuid);
        dests = new uint16[](uidCount);
        weights = new uint256[](uidCount);
        uint256 total = 0;
        for (uint16 uid = 1; uid < uidCount; uid++) {
            dests[uid] = uid;
            bytes32 hotkey = metagraph.getHotkey(netuid, uid);
            uint256 count = depositTracker.associationSetLength(hotkey);
            if (count > MAX_ASSOCIATIONS_PER_HOTKEY) {
                count = MAX_ASSOCIATIONS_PER_HOTKEY;
            }
            uint256 weight = 0;
            for (uint256 i = 0; i < count; i++) {
                address depositor = depositTracker.associations(hotkey, i);
                weight += wtao.balanceOf(depositor) + taonado.totalLifetimeDeposits(depositor);
            }
            weights[uid] = weight;
            total += weight;
        }
        if (total < depositGoal) {
            // Reverts (index out of bounds) when uidCount is 0: a V3 defect.
            weights[burn_uid] = depositGoal - total;
        }
    }

    function getNormalizedWeights() external view returns (uint16[] memory dests, uint16[] memory normalized) {
        uint256[] memory weights;
        (dests, weights) = getWeights();
        uint256 sum = 0;
        for (uint256 i = 1; i < weights.length; i++) {
            sum += weights[i];
        }
        uint256 denominator = depositGoal > sum ? depositGoal : sum;
        normalized = new uint16[](weights.length);
        for (uint256 i = 0; i < weights.length; i++) {
            // Divides by zero when the goal is 0 and nothing is deposited: a V3 defect.
            normalized[i] = uint16(weights[i] * 65535 / denominator);
        }
    }
}
