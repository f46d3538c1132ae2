// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IVerifier} from "../interfaces/IVerifier.sol";

/// @notice Test-only verifier: answers `result` (false until set) and records what it was asked,
/// so tests can check the pool's public-input order without a real proof.
contract MockVerifier is IVerifier {
    bool public result;
    bytes public lastProof;
    uint256[6] public lastInput;
    uint256 public calls;

    function setResult(bool _result) external {
        result = _result;
    }

    function verifyProof(bytes calldata proof, uint256[6] calldata input) external returns (bool) {
        lastProof = proof;
        lastInput = input;
        calls += 1;
        return result;
    }
}
