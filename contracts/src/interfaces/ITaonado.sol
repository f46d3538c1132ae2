// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice The part of a mixer pool that the weights contract reads.
interface ITaonado {
    function totalLifetimeDeposits(address depositor) external view returns (uint256);
}
