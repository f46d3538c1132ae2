// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";
import {OwnableUpgradeable} from "@openzeppelin/contracts-upgradeable/access/OwnableUpgradeable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IMetagraph} from "../interfaces/IMetagraph.sol";
import {IWeights} from "../interfaces/IWeights.sol";
import {INeuron} from "../interfaces/INeuron.sol";

/// @title EvmValidator (V1, behind an ERC-1967 UUPS proxy)
/// @notice Sets the subnet's weights through the neuron precompile and pays the caller back for
/// gas plus a bounty. The OpenZeppelin bases keep their state in ERC-7201 namespaces (the
/// reentrancy guard included), so this contract's own variables start at slot 0 and their order
/// must never change.
/// Known defects, kept on purpose and fixed in the V2 implementation: the boost goes to any hotkey
/// the caller names and its checked uint16 add can revert, the implementation's constructor does
/// not disable initializers, the setters emit no events, and the interval defaults to 0.
contract EvmValidator is Initializable, OwnableUpgradeable, UUPSUpgradeable, ReentrancyGuard {
    address internal constant METAGRAPH_PRECOMPILE = 0x0000000000000000000000000000000000000802;
    address internal constant NEURON_PRECOMPILE = 0x0000000000000000000000000000000000000804;

    IWeights public weights;
    IMetagraph public metagraph;
    uint16 public metagraph_boost_value;
    uint256 public setWeightsBounty;
    uint16 public netuid;
    uint64 public versionKey;
    uint256 public lastSetWeightsBlock;
    uint256 public setWeightsBlockInterval;
    uint256 public refundOverhead;

    event BountyPaid(address indexed who, uint256 gasUsedByCall, uint256 weiRefunded, uint256 gasUsedByBookkeeping);

    modifier intervalPassed() {
        require(block.number >= lastSetWeightsBlock + setWeightsBlockInterval, "Weight set interval has not passed");
        _;
    }

    function initialize(uint16 _netuid, address _weights) public initializer {
        __Ownable_init(msg.sender);
        netuid = _netuid;
        weights = IWeights(_weights);
        metagraph = IMetagraph(METAGRAPH_PRECOMPILE);
        refundOverhead = 15000;
    }

    receive() external payable {}

    /// @notice Anyone may set the weights once the interval has passed, and is paid back
    /// `(gasUsed + refundOverhead) * tx.gasprice + setWeightsBounty` (the owner is not paid).
    function setWeights(bytes32 hotkey) external intervalPassed nonReentrant {
        uint256 gasAtStart = gasleft();
        _pushWeights(hotkey, true);
        uint256 gasUsedByCall = gasAtStart - gasleft();

        uint256 refund = (gasUsedByCall + refundOverhead) * tx.gasprice + setWeightsBounty;
        require(address(this).balance >= refund, "Insufficient balance, contact the owner");
        if (msg.sender != owner()) {
            (bool paid,) = payable(msg.sender).call{value: refund}("");
            require(paid, "refund failed");
            uint256 gasUsedByBookkeeping = gasAtStart - gasleft() - gasUsedByCall;
            emit BountyPaid(msg.sender, gasUsedByCall, refund, gasUsedByBookkeeping);
        }
    }

    /// @notice The owner's path: no interval check, no boost and no bounty.
    function operatorSetWeights() external onlyOwner nonReentrant {
        _pushWeights(bytes32(0), false);
    }

    function _pushWeights(bytes32 hotkey, bool applyBoost) internal {
        (uint16[] memory dests, uint16[] memory values) = weights.getNormalizedWeights();

        uint16 boost = metagraph_boost_value;
        if (applyBoost && boost > 0 && hotkey != bytes32(0)) {
            for (uint256 i = 0; i < dests.length; i++) {
                if (metagraph.getHotkey(netuid, dests[i]) == hotkey) {
                    // Checked arithmetic: overflows past 65535 revert (a V1 defect).
                    values[i] += boost;
                    break;
                }
            }
        }

        (bool ok,) = NEURON_PRECOMPILE.call{gas: gasleft() - refundOverhead}(
            abi.encodeCall(INeuron.setWeights, (netuid, dests, values, versionKey))
        );
        require(ok, "neuron.setWeights failed");

        lastSetWeightsBlock = block.number;
    }

    function setMetagraphBoostValue(uint16 value) external onlyOwner {
        metagraph_boost_value = value;
    }

    function setVersionKey(uint64 value) external onlyOwner {
        versionKey = value;
    }

    function setWeightsContract(address value) external onlyOwner {
        weights = IWeights(value);
    }

    function setSetWeightsBounty(uint256 value) external onlyOwner {
        setWeightsBounty = value;
    }

    function setSetWeightsBlockInterval(uint256 value) external onlyOwner {
        setWeightsBlockInterval = value;
    }

    function setRefundOverhead(uint256 value) external onlyOwner {
        refundOverhead = value;
    }

    /// @notice Sends the whole balance to the owner.
    function rescueFunds() external onlyOwner {
        (bool sent,) = payable(owner()).call{value: address(this).balance}("");
        require(sent, "rescue failed");
    }

    function _authorizeUpgrade(address) internal override onlyOwner {}
}
