//! The slices of the contract ABIs that ops calls, as `sol!` interfaces. They are
//! ABI-identical to the compiled contracts (same signatures), declared here so that ops
//! depends only on what it uses.

#![allow(missing_docs)]

alloy::sol! {
    #[sol(rpc)]
    interface IWtao {
        function deposit() external payable;
        function balanceOf(address) external view returns (uint256);
        function approve(address guy, uint256 wad) external returns (bool);
        function totalSupply() external view returns (uint256);
    }

    #[sol(rpc)]
    interface IDepositTracker {
        function associate(bytes32 hotkey) external returns (bool);
        function associationSetLength(bytes32 hotkey) external view returns (uint256);
        function uniqueDepositors(address) external view returns (bool);
    }

    #[sol(rpc)]
    interface IWeightsV3 {
        function netuid() external view returns (uint16);
        function depositGoal() external view returns (uint256);
        function depositTracker() external view returns (address);
        function metagraph() external view returns (address);
        function wtao() external view returns (address);
        function taonado() external view returns (address);
        function owner() external view returns (address);
        function setDepositGoal(uint256 goal) external;
        function getNormalizedWeights() external view returns (uint16[] memory dests, uint16[] memory weights);
    }

    #[sol(rpc)]
    interface IEvmValidator {
        event BountyPaid(address indexed who, uint256 gasUsedByCall, uint256 weiRefunded, uint256 gasUsedByBookkeeping);

        function initialize(uint16 netuid, address weights) external;
        function owner() external view returns (address);
        function weights() external view returns (address);
        function metagraph() external view returns (address);
        function netuid() external view returns (uint16);
        function metagraph_boost_value() external view returns (uint16);
        function setWeightsBounty() external view returns (uint256);
        function versionKey() external view returns (uint64);
        function lastSetWeightsBlock() external view returns (uint256);
        function setWeightsBlockInterval() external view returns (uint256);
        function refundOverhead() external view returns (uint256);
        function setWeights(bytes32 hotkey) external;
        function operatorSetWeights() external;
        function setMetagraphBoostValue(uint16 value) external;
        function setVersionKey(uint64 value) external;
        function setWeightsContract(address value) external;
        function setSetWeightsBounty(uint256 value) external;
        function setSetWeightsBlockInterval(uint256 value) external;
        function setRefundOverhead(uint256 value) external;
    }

    #[sol(rpc)]
    interface IPool {
        function deposit(bytes32 commitment) external payable;
        function denomination() external view returns (uint256);
        function token() external view returns (address);
        function verifier() external view returns (address);
        function hasher() external view returns (address);
        function levels() external view returns (uint32);
        function totalLifetimeDeposits(address) external view returns (uint256);
    }

    #[sol(rpc)]
    interface IMetagraph {
        function getUidCount(uint16 netuid) external view returns (uint16);
        function getHotkey(uint16 netuid, uint16 uid) external view returns (bytes32);
        function getIncentive(uint16 netuid, uint16 uid) external view returns (uint16);
        function getEmission(uint16 netuid, uint16 uid) external view returns (uint64);
        function getValidatorStatus(uint16 netuid, uint16 uid) external view returns (bool);
        function getStake(uint16 netuid, uint16 uid) external view returns (uint64);
    }

    /// Setters of the test-only MockMetagraph installed at 0x802 on anvil.
    #[sol(rpc)]
    interface IMockMetagraph {
        function setUidCount(uint16 netuid, uint16 count) external;
        function setHotkey(uint16 netuid, uint16 uid, bytes32 hotkey) external;
        function setColdkey(uint16 netuid, uint16 uid, bytes32 coldkey) external;
        function setStake(uint16 netuid, uint16 uid, uint64 stake) external;
        function setStatus(uint16 netuid, uint16 uid, bool validatorStatus, bool isActive, uint64 lastUpdate) external;
    }

    /// The test-only MockNeuron installed at 0x804 on anvil.
    #[sol(rpc)]
    interface IMockNeuron {
        function setWeightsCalls(address caller) external view returns (uint256);
        function lastWeights(address caller) external view returns (
            uint16 netuid, uint16[] memory dests, uint16[] memory weights, uint64 versionKey, uint256 blockNumber
        );
    }
}
