// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IHasher} from "../interfaces/IHasher.sol";
import {MerkleTreeWithHistory} from "../mixer/MerkleTreeWithHistory.sol";

/// @notice Test-only: exposes the tree's internal insert.
contract MerkleTreeWithHistoryMock is MerkleTreeWithHistory {
    constructor(uint32 _treeLevels, IHasher _hasher) MerkleTreeWithHistory(_treeLevels, _hasher) {}

    function insert(bytes32 _leaf) external returns (uint32) {
        return _insert(_leaf);
    }
}
