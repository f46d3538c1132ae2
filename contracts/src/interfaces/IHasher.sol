// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice The MiMCSponge permutation with key 0 (circomlib), as used by Tornado's Merkle tree.
interface IHasher {
    function MiMCSponge(uint256 in_xL, uint256 in_xR) external pure returns (uint256 xL, uint256 xR);
}
