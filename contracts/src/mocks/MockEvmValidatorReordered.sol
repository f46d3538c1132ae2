// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";
import {OwnableUpgradeable} from "@openzeppelin/contracts-upgradeable/access/OwnableUpgradeable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @title Test-only: an EvmValidator implementation whose storage is NOT compatible with V1
/// (`metagraph` and `weights` swapped, `netuid` widened to uint32, `refundOverhead` removed).
/// The upgrade tooling must refuse it; it is never deployed anywhere real.
contract MockEvmValidatorReordered is Initializable, OwnableUpgradeable, UUPSUpgradeable, ReentrancyGuard {
    address public metagraph;
    address public weights;
    uint16 public metagraph_boost_value;
    uint256 public setWeightsBounty;
    uint32 public netuid;
    uint64 public versionKey;
    uint256 public lastSetWeightsBlock;
    uint256 public setWeightsBlockInterval;

    function _authorizeUpgrade(address) internal override onlyOwner {}
}
