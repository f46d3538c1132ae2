// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IMetagraph} from "../interfaces/IMetagraph.sol";

/// @notice Test-only stand-in for the metagraph precompile (0x802). It is installed with
/// `anvil_setCode` (or put in place directly in revm), so its constructor never runs: every
/// value comes from a setter. Like the precompile, `getHotkey`, `getColdkey`, `getStake` and
/// `getAxon` fail for a uid at or above the uid count, and the other getters answer 0.
contract MockMetagraph is IMetagraph {
    struct Neuron {
        bytes32 hotkey;
        bytes32 coldkey;
        uint64 stake;
        uint16 consensus;
        uint16 incentive;
        uint16 dividends;
        uint16 vtrust;
        uint64 emission;
        bool validatorStatus;
        bool isActive;
        uint64 lastUpdate;
    }

    mapping(uint16 => uint16) internal uidCounts;
    mapping(uint16 => mapping(uint16 => Neuron)) internal neurons;

    function setUidCount(uint16 netuid, uint16 count) external {
        uidCounts[netuid] = count;
    }

    function setHotkey(uint16 netuid, uint16 uid, bytes32 hotkey) external {
        neurons[netuid][uid].hotkey = hotkey;
    }

    function setColdkey(uint16 netuid, uint16 uid, bytes32 coldkey) external {
        neurons[netuid][uid].coldkey = coldkey;
    }

    function setStake(uint16 netuid, uint16 uid, uint64 stake) external {
        neurons[netuid][uid].stake = stake;
    }

    function setScores(
        uint16 netuid,
        uint16 uid,
        uint16 consensus,
        uint16 incentive,
        uint16 dividends,
        uint16 vtrust,
        uint64 emission
    ) external {
        Neuron storage n = neurons[netuid][uid];
        n.consensus = consensus;
        n.incentive = incentive;
        n.dividends = dividends;
        n.vtrust = vtrust;
        n.emission = emission;
    }

    function setStatus(uint16 netuid, uint16 uid, bool validatorStatus, bool isActive, uint64 lastUpdate) external {
        Neuron storage n = neurons[netuid][uid];
        n.validatorStatus = validatorStatus;
        n.isActive = isActive;
        n.lastUpdate = lastUpdate;
    }

    function _known(uint16 netuid, uint16 uid) internal view returns (Neuron storage) {
        require(uid < uidCounts[netuid], "hotkey not found");
        return neurons[netuid][uid];
    }

    function getUidCount(uint16 netuid) external view returns (uint16) {
        return uidCounts[netuid];
    }

    function getStake(uint16 netuid, uint16 uid) external view returns (uint64) {
        return _known(netuid, uid).stake;
    }

    function getRank(uint16, uint16) external pure returns (uint16) {
        return 0;
    }

    function getTrust(uint16, uint16) external pure returns (uint16) {
        return 0;
    }

    function getConsensus(uint16 netuid, uint16 uid) external view returns (uint16) {
        return neurons[netuid][uid].consensus;
    }

    function getIncentive(uint16 netuid, uint16 uid) external view returns (uint16) {
        return neurons[netuid][uid].incentive;
    }

    function getDividends(uint16 netuid, uint16 uid) external view returns (uint16) {
        return neurons[netuid][uid].dividends;
    }

    function getVtrust(uint16 netuid, uint16 uid) external view returns (uint16) {
        return neurons[netuid][uid].vtrust;
    }

    function getEmission(uint16 netuid, uint16 uid) external view returns (uint64) {
        return neurons[netuid][uid].emission;
    }

    function getValidatorStatus(uint16 netuid, uint16 uid) external view returns (bool) {
        return neurons[netuid][uid].validatorStatus;
    }

    function getLastUpdate(uint16 netuid, uint16 uid) external view returns (uint64) {
        return neurons[netuid][uid].lastUpdate;
    }

    function getIsActive(uint16 netuid, uint16 uid) external view returns (bool) {
        return neurons[netuid][uid].isActive;
    }

    function getAxon(uint16 netuid, uint16 uid) external view returns (AxonInfo memory axon) {
        _known(netuid, uid);
        return axon;
    }

    function getHotkey(uint16 netuid, uint16 uid) external view returns (bytes32) {
        return _known(netuid, uid).hotkey;
    }

    function getColdkey(uint16 netuid, uint16 uid) external view returns (bytes32) {
        return _known(netuid, uid).coldkey;
    }
}
