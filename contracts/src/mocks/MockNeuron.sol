// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Test-only stand-in for the neuron precompile (0x804), installed with `anvil_setCode`
/// (its constructor never runs). `setWeights` records the last weights per caller. `setFailMode`
/// makes it fail: 1 = revert with a reason, 2 = an exceptional halt that burns all forwarded gas,
/// the way a pallet error behaves on subtensor.
contract MockNeuron {
    struct WeightsCall {
        uint16 netuid;
        uint16[] dests;
        uint16[] weights;
        uint64 versionKey;
        uint256 blockNumber;
    }

    uint8 public failMode;
    mapping(address => WeightsCall) internal lastCall;
    mapping(address => uint256) public setWeightsCalls;

    function setFailMode(uint8 mode) external {
        failMode = mode;
    }

    function setWeights(uint16 netuid, uint16[] calldata dests, uint16[] calldata weights, uint64 versionKey)
        external
        payable
    {
        if (failMode == 1) {
            revert("MockNeuron: setWeights failed");
        }
        if (failMode == 2) {
            assembly {
                invalid()
            }
        }
        WeightsCall storage call = lastCall[msg.sender];
        call.netuid = netuid;
        call.dests = dests;
        call.weights = weights;
        call.versionKey = versionKey;
        call.blockNumber = block.number;
        setWeightsCalls[msg.sender] += 1;
    }

    function lastWeights(address caller)
        external
        view
        returns (uint16 netuid, uint16[] memory dests, uint16[] memory weights, uint64 versionKey, uint256 blockNumber)
    {
        WeightsCall storage call = lastCall[caller];
        return (call.netuid, call.dests, call.weights, call.versionKey, call.blockNumber);
    }
}
