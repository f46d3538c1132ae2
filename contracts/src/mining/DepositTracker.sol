// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title DepositTracker
/// @notice Links EVM addresses to miner hotkeys. An address can be associated once, to one
/// hotkey, forever. Nothing proves that the caller owns the hotkey.
contract DepositTracker {
    mapping(address => bool) public uniqueDepositors;
    mapping(bytes32 => mapping(address => bool)) public associationSet;
    mapping(bytes32 => address[]) public associations;
    mapping(bytes32 => uint256) public associationSetLength;

    /// @dev The deployed mainnet tracker predates this event; indexers must not rely on it alone.
    event AddressAssociated(address indexed depositor, bytes32 indexed hotkey, uint256 timestamp);

    function associate(bytes32 hotkey) external returns (bool) {
        require(!uniqueDepositors[msg.sender], "Address already associated");
        uniqueDepositors[msg.sender] = true;
        associationSet[hotkey][msg.sender] = true;
        associations[hotkey].push(msg.sender);
        associationSetLength[hotkey] += 1;
        emit AddressAssociated(msg.sender, hotkey, block.timestamp);
        return true;
    }
}
