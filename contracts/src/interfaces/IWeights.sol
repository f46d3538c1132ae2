// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice What the EvmValidator reads from a weights contract.
interface IWeights {
    function getNormalizedWeights() external view returns (uint16[] memory dests, uint16[] memory weights);
}
