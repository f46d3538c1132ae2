// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Groth16 verifier of the withdraw statement.
/// `proof` is `abi.encode(uint256[8])` (a.x, a.y, b.x[1], b.x[0], b.y[1], b.y[0], c.x, c.y) and
/// `input` is (root, nullifierHash, recipient, relayer, fee, refund).
interface IVerifier {
    function verifyProof(bytes calldata proof, uint256[6] calldata input) external returns (bool);
}
