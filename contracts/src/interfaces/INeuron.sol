// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice The subtensor neuron precompile at 0x0000000000000000000000000000000000000804.
interface INeuron {
    function setWeights(uint16 netuid, uint16[] calldata dests, uint16[] calldata weights, uint64 versionKey)
        external
        payable;
    function commitWeights(uint16 netuid, bytes32 commitHash) external payable;
    function revealWeights(
        uint16 netuid,
        uint16[] calldata uids,
        uint16[] calldata values,
        uint16[] calldata salt,
        uint64 versionKey
    ) external payable;
    function burnedRegister(uint16 netuid, bytes32 hotkey) external payable;
    function serveAxon(
        uint16 netuid,
        uint32 version,
        uint128 ip,
        uint16 port,
        uint8 ipType,
        uint8 protocol,
        uint8 placeholder1,
        uint8 placeholder2
    ) external payable;
}
