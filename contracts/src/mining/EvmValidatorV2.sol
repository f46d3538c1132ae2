// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Initializable} from "@openzeppelin/contracts-upgradeable/proxy/utils/Initializable.sol";
import {OwnableUpgradeable} from "@openzeppelin/contracts-upgradeable/access/OwnableUpgradeable.sol";
import {UUPSUpgradeable} from "@openzeppelin/contracts-upgradeable/proxy/utils/UUPSUpgradeable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IMetagraph} from "../interfaces/IMetagraph.sol";
import {IWeights} from "../interfaces/IWeights.sol";
import {INeuron} from "../interfaces/INeuron.sol";

/// @title EvmValidator V2 (UUPS implementation for the V1 proxy)
/// @notice V1's interface and storage, with V1's defects fixed:
/// - The boost goes only to the hotkey the owner registered for the caller (`boostHotkeys`), and
///   it saturates at 65535 instead of reverting.
/// - The implementation's constructor disables initializers.
/// - Every setter emits an event.
/// - Public calls wait at least `MIN_SET_WEIGHTS_BLOCK_INTERVAL` blocks whatever the stored
///   interval says (a proxy upgraded from V1 keeps its stored 0), and the setter refuses less.
/// Storage: the bases are the same (their state is in ERC-7201 namespaces), V1's variables keep
/// their slots and order, and V2's one new variable is appended after them.
contract EvmValidatorV2 is Initializable, OwnableUpgradeable, UUPSUpgradeable, ReentrancyGuard {
    address internal constant METAGRAPH_PRECOMPILE = 0x0000000000000000000000000000000000000802;
    address internal constant NEURON_PRECOMPILE = 0x0000000000000000000000000000000000000804;
    /// Subtensor's default weights rate limit: setting weights more often is refused anyway.
    uint256 public constant MIN_SET_WEIGHTS_BLOCK_INTERVAL = 100;

    // V1 storage, unchanged.
    IWeights public weights;
    IMetagraph public metagraph;
    uint16 public metagraph_boost_value;
    uint256 public setWeightsBounty;
    uint16 public netuid;
    uint64 public versionKey;
    uint256 public lastSetWeightsBlock;
    uint256 public setWeightsBlockInterval;
    uint256 public refundOverhead;
    // V2 storage, appended.
    /// The hotkey a caller may boost (set by the owner); zero means none.
    mapping(address => bytes32) public boostHotkeys;

    event BountyPaid(address indexed who, uint256 gasUsedByCall, uint256 weiRefunded, uint256 gasUsedByBookkeeping);
    event MetagraphBoostValueSet(uint16 value);
    event VersionKeySet(uint64 value);
    event WeightsContractSet(address indexed previous, address indexed current);
    event SetWeightsBountySet(uint256 value);
    event SetWeightsBlockIntervalSet(uint256 value);
    event RefundOverheadSet(uint256 value);
    event BoostHotkeySet(address indexed caller, bytes32 indexed hotkey);
    event FundsRescued(address indexed to, uint256 amount);

    /// @custom:oz-upgrades-unsafe-allow constructor
    constructor() {
        _disableInitializers();
    }

    modifier intervalPassed() {
        require(block.number >= lastSetWeightsBlock + effectiveInterval(), "Weight set interval has not passed");
        _;
    }

    /// @notice For a fresh proxy; a proxy upgraded from V1 is already initialized.
    function initialize(uint16 _netuid, address _weights) public initializer {
        __Ownable_init(msg.sender);
        netuid = _netuid;
        weights = IWeights(_weights);
        metagraph = IMetagraph(METAGRAPH_PRECOMPILE);
        refundOverhead = 15000;
        setWeightsBlockInterval = MIN_SET_WEIGHTS_BLOCK_INTERVAL;
    }

    receive() external payable {}

    /// @notice The implementation version (V1 has no such function).
    function version() external pure returns (uint256) {
        return 2;
    }

    /// @notice The interval public calls wait: the stored one, but never less than the minimum.
    function effectiveInterval() public view returns (uint256) {
        uint256 stored = setWeightsBlockInterval;
        return stored < MIN_SET_WEIGHTS_BLOCK_INTERVAL ? MIN_SET_WEIGHTS_BLOCK_INTERVAL : stored;
    }

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

    function operatorSetWeights() external onlyOwner nonReentrant {
        _pushWeights(bytes32(0), false);
    }

    function _pushWeights(bytes32 hotkey, bool applyBoost) internal {
        (uint16[] memory dests, uint16[] memory values) = weights.getNormalizedWeights();

        uint16 boost = metagraph_boost_value;
        // Only the hotkey the owner registered for this caller is boosted.
        if (applyBoost && boost > 0 && hotkey != bytes32(0) && boostHotkeys[msg.sender] == hotkey) {
            for (uint256 i = 0; i < dests.length; i++) {
                if (metagraph.getHotkey(netuid, dests[i]) == hotkey) {
                    uint256 boosted = uint256(values[i]) + boost;
                    values[i] = boosted > type(uint16).max ? type(uint16).max : uint16(boosted);
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
        emit MetagraphBoostValueSet(value);
    }

    function setVersionKey(uint64 value) external onlyOwner {
        versionKey = value;
        emit VersionKeySet(value);
    }

    function setWeightsContract(address value) external onlyOwner {
        emit WeightsContractSet(address(weights), value);
        weights = IWeights(value);
    }

    function setSetWeightsBounty(uint256 value) external onlyOwner {
        setWeightsBounty = value;
        emit SetWeightsBountySet(value);
    }

    function setSetWeightsBlockInterval(uint256 value) external onlyOwner {
        require(value >= MIN_SET_WEIGHTS_BLOCK_INTERVAL, "Interval below minimum");
        setWeightsBlockInterval = value;
        emit SetWeightsBlockIntervalSet(value);
    }

    function setRefundOverhead(uint256 value) external onlyOwner {
        refundOverhead = value;
        emit RefundOverheadSet(value);
    }

    /// @notice Lets `caller` boost `hotkey` (zero revokes).
    function setBoostHotkey(address caller, bytes32 hotkey) external onlyOwner {
        boostHotkeys[caller] = hotkey;
        emit BoostHotkeySet(caller, hotkey);
    }

    function rescueFunds() external onlyOwner {
        uint256 amount = address(this).balance;
        (bool sent,) = payable(owner()).call{value: amount}("");
        require(sent, "rescue failed");
        emit FundsRescued(owner(), amount);
    }

    function _authorizeUpgrade(address) internal override onlyOwner {}
}
