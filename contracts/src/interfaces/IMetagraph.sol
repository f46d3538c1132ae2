// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice The subtensor metagraph precompile at 0x0000000000000000000000000000000000000802.
interface IMetagraph {
    struct AxonInfo {
        uint64 block;
        uint32 version;
        uint128 ip;
        uint16 port;
        uint8 ip_type;
        uint8 protocol;
    }

    function getUidCount(uint16 netuid) external view returns (uint16);
    function getStake(uint16 netuid, uint16 uid) external view returns (uint64);
    function getRank(uint16 netuid, uint16 uid) external view returns (uint16);
    function getTrust(uint16 netuid, uint16 uid) external view returns (uint16);
    function getConsensus(uint16 netuid, uint16 uid) external view returns (uint16);
    function getIncentive(uint16 netuid, uint16 uid) external view returns (uint16);
    function getDividends(uint16 netuid, uint16 uid) external view returns (uint16);
    function getVtrust(uint16 netuid, uint16 uid) external view returns (uint16);
    function getEmission(uint16 netuid, uint16 uid) external view returns (uint64);
    function getValidatorStatus(uint16 netuid, uint16 uid) external view returns (bool);
    function getLastUpdate(uint16 netuid, uint16 uid) external view returns (uint64);
    function getIsActive(uint16 netuid, uint16 uid) external view returns (bool);
    function getAxon(uint16 netuid, uint16 uid) external view returns (AxonInfo memory);
    function getHotkey(uint16 netuid, uint16 uid) external view returns (bytes32);
    function getColdkey(uint16 netuid, uint16 uid) external view returns (bytes32);
}
