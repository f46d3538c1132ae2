// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IVerifier} from "../interfaces/IVerifier.sol";

/// @title Groth16 verifier over BN254 for statements with 6 public inputs
/// @notice The verifying key is a constructor argument kept in immutables, so one compiled
/// contract per chain family serves any key. The chain family only decides which address
/// performs BN254 point addition: 0x06 on Ethereum, 0x09 on the Bittensor EVM, where 0x06 is
/// Substrate dispatch. Scalar multiplication (0x07) and pairing (0x08) are the same on both.
///
/// Behaviour, in order:
/// - `proof` must be exactly 256 bytes, else revert "verifier-proof-length";
/// - every proof word must be < Q, else revert "verifier-proof-element-gte-prime-q";
/// - every input must be < R, else revert "verifier-gte-snark-scalar-field"
///   (the reason strings of Tornado-classic's verifier);
/// - a failing precompile call (out of gas, a point off the curve, or an address that is not
///   the BN254 precompile on this chain) reverts "verifier-bn254-precompile-failed" at once,
///   never returns false, so eth_estimateGas cannot settle on a gas limit too small for the
///   pairing, and a verifier of the wrong family fails loudly on its first addition;
/// - otherwise it returns the pairing check: false for a well-formed but invalid proof.
abstract contract Groth16Verifier is IVerifier {
    /// @dev BN254 base field prime.
    uint256 internal constant Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583;
    /// @dev BN254 scalar field prime.
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    uint8 internal constant CHAIN_FAMILY_ETHEREUM = 1;
    uint8 internal constant CHAIN_FAMILY_BITTENSOR = 2;

    address private immutable EC_ADD;

    // G1 points are (x, y); G2 points are stored in the precompile's order (x.im, x.re, y.im, y.re).
    uint256 private immutable ALPHA_X;
    uint256 private immutable ALPHA_Y;
    uint256 private immutable BETA_X1;
    uint256 private immutable BETA_X0;
    uint256 private immutable BETA_Y1;
    uint256 private immutable BETA_Y0;
    uint256 private immutable GAMMA_X1;
    uint256 private immutable GAMMA_X0;
    uint256 private immutable GAMMA_Y1;
    uint256 private immutable GAMMA_Y0;
    uint256 private immutable DELTA_X1;
    uint256 private immutable DELTA_X0;
    uint256 private immutable DELTA_Y1;
    uint256 private immutable DELTA_Y0;
    uint256 private immutable IC0_X;
    uint256 private immutable IC0_Y;
    uint256 private immutable IC1_X;
    uint256 private immutable IC1_Y;
    uint256 private immutable IC2_X;
    uint256 private immutable IC2_Y;
    uint256 private immutable IC3_X;
    uint256 private immutable IC3_Y;
    uint256 private immutable IC4_X;
    uint256 private immutable IC4_Y;
    uint256 private immutable IC5_X;
    uint256 private immutable IC5_Y;
    uint256 private immutable IC6_X;
    uint256 private immutable IC6_Y;

    /// @param ecAdd the BN254 addition precompile of the target chain family.
    /// The key arguments ABI-encode as 28 consecutive words: alpha, beta, gamma, delta, IC[0..7].
    constructor(
        address ecAdd,
        uint256[2] memory alpha,
        uint256[4] memory beta,
        uint256[4] memory gamma,
        uint256[4] memory delta,
        uint256[2][7] memory ic
    ) {
        for (uint256 i = 0; i < 4; i++) {
            require(beta[i] < Q && gamma[i] < Q && delta[i] < Q, "verifier-key-element-gte-prime-q");
        }
        for (uint256 i = 0; i < 7; i++) {
            require(ic[i][0] < Q && ic[i][1] < Q, "verifier-key-element-gte-prime-q");
        }
        require(alpha[0] < Q && alpha[1] < Q, "verifier-key-element-gte-prime-q");
        EC_ADD = ecAdd;
        (ALPHA_X, ALPHA_Y) = (alpha[0], alpha[1]);
        (BETA_X1, BETA_X0, BETA_Y1, BETA_Y0) = (beta[0], beta[1], beta[2], beta[3]);
        (GAMMA_X1, GAMMA_X0, GAMMA_Y1, GAMMA_Y0) = (gamma[0], gamma[1], gamma[2], gamma[3]);
        (DELTA_X1, DELTA_X0, DELTA_Y1, DELTA_Y0) = (delta[0], delta[1], delta[2], delta[3]);
        (IC0_X, IC0_Y, IC1_X, IC1_Y) = (ic[0][0], ic[0][1], ic[1][0], ic[1][1]);
        (IC2_X, IC2_Y, IC3_X, IC3_Y) = (ic[2][0], ic[2][1], ic[3][0], ic[3][1]);
        (IC4_X, IC4_Y, IC5_X, IC5_Y) = (ic[4][0], ic[4][1], ic[5][0], ic[5][1]);
        (IC6_X, IC6_Y) = (ic[6][0], ic[6][1]);
    }

    /// @notice 1 = Ethereum (BN254 add at 0x06), 2 = Bittensor EVM (BN254 add at 0x09).
    function chainFamily() external pure virtual returns (uint8);

    /// @notice The address this verifier calls for BN254 point addition.
    function ecAddPrecompile() external view returns (address) {
        return EC_ADD;
    }

    /// @inheritdoc IVerifier
    function verifyProof(bytes calldata proof, uint256[6] calldata input) external view override returns (bool) {
        require(proof.length == 256, "verifier-proof-length");
        uint256 badProof;
        uint256 badInput;
        assembly {
            // One stack copy of each prime: the optimizer would otherwise re-load every use of
            // the constant from code, which costs more than the checks themselves.
            let q := Q
            let r := R
            let p := proof.offset
            badProof := or(
                or(
                    or(iszero(lt(calldataload(p), q)), iszero(lt(calldataload(add(p, 0x20)), q))),
                    or(iszero(lt(calldataload(add(p, 0x40)), q)), iszero(lt(calldataload(add(p, 0x60)), q)))
                ),
                or(
                    or(iszero(lt(calldataload(add(p, 0x80)), q)), iszero(lt(calldataload(add(p, 0xa0)), q))),
                    or(iszero(lt(calldataload(add(p, 0xc0)), q)), iszero(lt(calldataload(add(p, 0xe0)), q)))
                )
            )
            badInput := or(
                or(
                    or(iszero(lt(calldataload(input), r)), iszero(lt(calldataload(add(input, 0x20)), r))),
                    or(iszero(lt(calldataload(add(input, 0x40)), r)), iszero(lt(calldataload(add(input, 0x60)), r)))
                ),
                or(iszero(lt(calldataload(add(input, 0x80)), r)), iszero(lt(calldataload(add(input, 0xa0)), r)))
            )
        }
        require(badProof == 0, "verifier-proof-element-gte-prime-q");
        require(badInput == 0, "verifier-gte-snark-scalar-field");

        // The pairing input is built at the fixed addresses 0x80..0x380, which are free memory:
        // this function allocates nothing before it (its arguments stay in calldata), and the
        // blocks below are deliberately not marked memory-safe, so no compiler pipeline moves
        // variables there. Layout: -A 0x80, B 0xc0, alpha 0x140, beta 0x180, vk_x 0x200,
        // gamma 0x240, C 0x2c0, delta 0x300. While vk_x accumulates, the gamma slot is the ecMul
        // scratch (x, y, scalar -> product), so (vk_x, product) sit next to each other for ecAdd.
        //
        // vk_x = IC0 + sum(input[i] * IC[i+1]); a zero input adds the identity and is skipped.
        // A failed precompile call reverts at once (with all gas it did not forward), so a
        // wrong-family verifier fails fast and loud. Yul evaluates arguments right to left, so
        // every staticcall is its own statement before returndatasize() is read.
        address ecAdd = EC_ADD;
        {
            (uint256 x0, uint256 y0, uint256 x1, uint256 y1, uint256 x2, uint256 y2, uint256 x3, uint256 y3) =
                (IC0_X, IC0_Y, IC1_X, IC1_Y, IC2_X, IC2_Y, IC3_X, IC3_Y);
            assembly {
                function fail() {
                    // Error("verifier-bn254-precompile-failed"): the reason is exactly 32 bytes.
                    mstore(0x00, shl(224, 0x08c379a0))
                    mstore(0x04, 0x20)
                    mstore(0x24, 32)
                    mstore(0x44, "verifier-bn254-precompile-failed")
                    revert(0x00, 0x64)
                }
                mstore(0x200, x0)
                mstore(0x220, y0)
                let s := calldataload(input)
                if s {
                    mstore(0x240, x1)
                    mstore(0x260, y1)
                    mstore(0x280, s)
                    let success := staticcall(gas(), 0x07, 0x240, 0x60, 0x240, 0x40)
                    if iszero(and(success, eq(returndatasize(), 0x40))) { fail() }
                    success := staticcall(gas(), ecAdd, 0x200, 0x80, 0x200, 0x40)
                    if iszero(and(success, eq(returndatasize(), 0x40))) { fail() }
                }
                s := calldataload(add(input, 0x20))
                if s {
                    mstore(0x240, x2)
                    mstore(0x260, y2)
                    mstore(0x280, s)
                    let success := staticcall(gas(), 0x07, 0x240, 0x60, 0x240, 0x40)
                    if iszero(and(success, eq(returndatasize(), 0x40))) { fail() }
                    success := staticcall(gas(), ecAdd, 0x200, 0x80, 0x200, 0x40)
                    if iszero(and(success, eq(returndatasize(), 0x40))) { fail() }
                }
                s := calldataload(add(input, 0x40))
                if s {
                    mstore(0x240, x3)
                    mstore(0x260, y3)
                    mstore(0x280, s)
                    let success := staticcall(gas(), 0x07, 0x240, 0x60, 0x240, 0x40)
                    if iszero(and(success, eq(returndatasize(), 0x40))) { fail() }
                    success := staticcall(gas(), ecAdd, 0x200, 0x80, 0x200, 0x40)
                    if iszero(and(success, eq(returndatasize(), 0x40))) { fail() }
                }
            }
        }
        {
            (uint256 x4, uint256 y4, uint256 x5, uint256 y5, uint256 x6, uint256 y6) =
                (IC4_X, IC4_Y, IC5_X, IC5_Y, IC6_X, IC6_Y);
            assembly {
                function fail() {
                    // Error("verifier-bn254-precompile-failed"): the reason is exactly 32 bytes.
                    mstore(0x00, shl(224, 0x08c379a0))
                    mstore(0x04, 0x20)
                    mstore(0x24, 32)
                    mstore(0x44, "verifier-bn254-precompile-failed")
                    revert(0x00, 0x64)
                }
                let s := calldataload(add(input, 0x60))
                if s {
                    mstore(0x240, x4)
                    mstore(0x260, y4)
                    mstore(0x280, s)
                    let success := staticcall(gas(), 0x07, 0x240, 0x60, 0x240, 0x40)
                    if iszero(and(success, eq(returndatasize(), 0x40))) { fail() }
                    success := staticcall(gas(), ecAdd, 0x200, 0x80, 0x200, 0x40)
                    if iszero(and(success, eq(returndatasize(), 0x40))) { fail() }
                }
                s := calldataload(add(input, 0x80))
                if s {
                    mstore(0x240, x5)
                    mstore(0x260, y5)
                    mstore(0x280, s)
                    let success := staticcall(gas(), 0x07, 0x240, 0x60, 0x240, 0x40)
                    if iszero(and(success, eq(returndatasize(), 0x40))) { fail() }
                    success := staticcall(gas(), ecAdd, 0x200, 0x80, 0x200, 0x40)
                    if iszero(and(success, eq(returndatasize(), 0x40))) { fail() }
                }
                s := calldataload(add(input, 0xa0))
                if s {
                    mstore(0x240, x6)
                    mstore(0x260, y6)
                    mstore(0x280, s)
                    let success := staticcall(gas(), 0x07, 0x240, 0x60, 0x240, 0x40)
                    if iszero(and(success, eq(returndatasize(), 0x40))) { fail() }
                    success := staticcall(gas(), ecAdd, 0x200, 0x80, 0x200, 0x40)
                    if iszero(and(success, eq(returndatasize(), 0x40))) { fail() }
                }
            }
        }
        {
            (uint256 ax, uint256 ay, uint256 bx1, uint256 bx0, uint256 by1, uint256 by0) =
                (ALPHA_X, ALPHA_Y, BETA_X1, BETA_X0, BETA_Y1, BETA_Y0);
            assembly {
                let p := proof.offset
                // -A = (x, -y); A's y < Q was checked, and mod keeps the point at infinity (0, 0).
                mstore(0x80, calldataload(p))
                let q := Q
                mstore(0xa0, mod(sub(q, calldataload(add(p, 0x20))), q))
                // B and C are already in the precompile's word order.
                calldatacopy(0xc0, add(p, 0x40), 0x80)
                calldatacopy(0x2c0, add(p, 0xc0), 0x40)
                mstore(0x140, ax)
                mstore(0x160, ay)
                mstore(0x180, bx1)
                mstore(0x1a0, bx0)
                mstore(0x1c0, by1)
                mstore(0x1e0, by0)
            }
        }
        uint256 paired;
        {
            (uint256 gx1, uint256 gx0, uint256 gy1, uint256 gy0) = (GAMMA_X1, GAMMA_X0, GAMMA_Y1, GAMMA_Y0);
            (uint256 dx1, uint256 dx0, uint256 dy1, uint256 dy0) = (DELTA_X1, DELTA_X0, DELTA_Y1, DELTA_Y0);
            assembly {
                function fail() {
                    // Error("verifier-bn254-precompile-failed"): the reason is exactly 32 bytes.
                    mstore(0x00, shl(224, 0x08c379a0))
                    mstore(0x04, 0x20)
                    mstore(0x24, 32)
                    mstore(0x44, "verifier-bn254-precompile-failed")
                    revert(0x00, 0x64)
                }
                mstore(0x240, gx1)
                mstore(0x260, gx0)
                mstore(0x280, gy1)
                mstore(0x2a0, gy0)
                mstore(0x300, dx1)
                mstore(0x320, dx0)
                mstore(0x340, dy1)
                mstore(0x360, dy0)
                let success := staticcall(gas(), 0x08, 0x80, 0x300, 0x80, 0x20)
                if iszero(and(success, eq(returndatasize(), 0x20))) { fail() }
                paired := mload(0x80)
            }
        }
        return paired == 1;
    }
}

/// @notice Groth16 verifier for Ethereum-style precompiles (BN254 add at 0x06).
contract Groth16VerifierEthereum is Groth16Verifier {
    constructor(
        uint256[2] memory alpha,
        uint256[4] memory beta,
        uint256[4] memory gamma,
        uint256[4] memory delta,
        uint256[2][7] memory ic
    ) Groth16Verifier(address(0x06), alpha, beta, gamma, delta, ic) {}

    function chainFamily() external pure override returns (uint8) {
        return CHAIN_FAMILY_ETHEREUM;
    }
}

/// @notice Groth16 verifier for the Bittensor EVM (BN254 add at 0x09; 0x06 is Substrate dispatch).
contract Groth16VerifierBittensor is Groth16Verifier {
    constructor(
        uint256[2] memory alpha,
        uint256[4] memory beta,
        uint256[4] memory gamma,
        uint256[4] memory delta,
        uint256[2][7] memory ic
    ) Groth16Verifier(address(0x09), alpha, beta, gamma, delta, ic) {}

    function chainFamily() external pure override returns (uint8) {
        return CHAIN_FAMILY_BITTENSOR;
    }
}
