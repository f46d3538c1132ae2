// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

interface IDepositTracker {
    function associations(bytes32 hotkey, uint256 index) external view returns (address);
    function associationSetLength(bytes32 hotkey) external view returns (uint256);
}
