//! alloy `sol!` bindings with RPC instances (`#[sol(rpc)]`).
//!
//! Deployable contracts are generated from their artifact JSON, so each module also carries
//! `BYTECODE`/`DEPLOYED_BYTECODE` and a `deploy` function. The precompiles and the hasher and
//! verifier interfaces are written out as Solidity, with the selectors subtensor uses.
#![allow(missing_docs, clippy::too_many_arguments)]

use alloy::sol;

sol!(
    #[sol(rpc)]
    WTAO,
    "artifacts/WTAO.json"
);

sol!(
    #[sol(rpc)]
    DepositTracker,
    "artifacts/DepositTracker.json"
);

sol!(
    #[sol(rpc)]
    WeightsV2,
    "artifacts/WeightsV2.json"
);

sol!(
    #[sol(rpc)]
    WeightsV3,
    "artifacts/WeightsV3.json"
);

sol!(
    #[sol(rpc)]
    EvmValidator,
    "artifacts/EvmValidator.json"
);

sol!(
    #[sol(rpc)]
    EvmValidatorV2,
    "artifacts/EvmValidatorV2.json"
);

sol!(
    #[sol(rpc)]
    WeightsV4,
    "artifacts/WeightsV4.json"
);

sol!(
    #[sol(rpc)]
    ERC1967Proxy,
    "artifacts/ERC1967Proxy.json"
);

sol!(
    #[sol(rpc)]
    ERC20Taonado,
    "artifacts/ERC20Taonado.json"
);

sol!(
    #[sol(rpc)]
    MerkleTreeWithHistory,
    "artifacts/MerkleTreeWithHistory.json"
);

sol!(
    #[sol(rpc)]
    Groth16VerifierBittensor,
    "artifacts/Groth16VerifierBittensor.json"
);

sol!(
    #[sol(rpc)]
    Groth16VerifierEthereum,
    "artifacts/Groth16VerifierEthereum.json"
);

sol! {
    /// The MiMCSponge hasher (k = 0). Its code is [`crate::Contract::MiMCSponge`].
    #[sol(rpc)]
    interface IHasher {
        function MiMCSponge(uint256 in_xL, uint256 in_xR) external pure returns (uint256 xL, uint256 xR);
    }

    /// The Groth16 withdraw verifier. `proof` is `abi.encode(uint256[8])`; `input` is
    /// (root, nullifierHash, recipient, relayer, fee, refund).
    #[sol(rpc)]
    interface IVerifier {
        function verifyProof(bytes proof, uint256[6] input) external returns (bool);
    }

    /// The subtensor metagraph precompile at 0x…0802.
    #[sol(rpc)]
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

    /// The subtensor neuron precompile at 0x…0804.
    #[sol(rpc)]
    interface INeuron {
        function setWeights(uint16 netuid, uint16[] dests, uint16[] weights, uint64 versionKey) external payable;
        function commitWeights(uint16 netuid, bytes32 commitHash) external payable;
        function revealWeights(uint16 netuid, uint16[] uids, uint16[] values, uint16[] salt, uint64 versionKey) external payable;
        function burnedRegister(uint16 netuid, bytes32 hotkey) external payable;
        function serveAxon(uint16 netuid, uint32 version, uint128 ip, uint16 port, uint8 ipType, uint8 protocol, uint8 placeholder1, uint8 placeholder2) external payable;
    }
}

/// Test-only contracts: the mocks of the precompiles, the verifier and the tree.
///
/// `MockMetagraph` and `MockNeuron` are meant to be put at 0x802 / 0x804 as runtime code
/// (`anvil_setCode`), so their constructors never run and all state is set through calls.
pub mod mocks {
    use alloy::sol;

    sol!(
        #[sol(rpc)]
        MerkleTreeWithHistoryMock,
        "artifacts/MerkleTreeWithHistoryMock.json"
    );

    sol!(
        #[sol(rpc)]
        MockVerifier,
        "artifacts/MockVerifier.json"
    );

    sol!(
        #[sol(rpc)]
        MockForwarder,
        "artifacts/MockForwarder.json"
    );

    // Its ABI names `IMetagraph.AxonInfo`, which generates an `IMetagraph` module: keep it here,
    // apart from the real interface.
    sol!(
        #[sol(rpc)]
        MockMetagraph,
        "artifacts/MockMetagraph.json"
    );

    sol!(
        #[sol(rpc)]
        MockNeuron,
        "artifacts/MockNeuron.json"
    );
}

#[cfg(test)]
mod tests {
    use alloy_sol_types::{SolCall, SolEvent};

    use super::{
        mocks::{MockMetagraph, MockNeuron},
        *,
    };

    #[test]
    fn precompile_selectors_are_subtensors() {
        let metagraph = [
            (IMetagraph::getUidCountCall::SELECTOR, 0x1f193572_u32),
            (IMetagraph::getStakeCall::SELECTOR, 0xe7c7c4b5),
            (IMetagraph::getRankCall::SELECTOR, 0x260ea334),
            (IMetagraph::getTrustCall::SELECTOR, 0x20028c19),
            (IMetagraph::getConsensusCall::SELECTOR, 0x2c4b6bff),
            (IMetagraph::getIncentiveCall::SELECTOR, 0xd1e44450),
            (IMetagraph::getDividendsCall::SELECTOR, 0x82da0b5d),
            (IMetagraph::getVtrustCall::SELECTOR, 0x2c54e2b3),
            (IMetagraph::getEmissionCall::SELECTOR, 0xe5810e5c),
            (IMetagraph::getValidatorStatusCall::SELECTOR, 0x58dd9945),
            (IMetagraph::getLastUpdateCall::SELECTOR, 0x22553aa2),
            (IMetagraph::getIsActiveCall::SELECTOR, 0xdc50cca9),
            (IMetagraph::getAxonCall::SELECTOR, 0x93afb79e),
            (IMetagraph::getHotkeyCall::SELECTOR, 0x3adc89da),
            (IMetagraph::getColdkeyCall::SELECTOR, 0xa1148287),
        ];
        let neuron = [
            (INeuron::setWeightsCall::SELECTOR, 0x34af16d6_u32),
            (INeuron::commitWeightsCall::SELECTOR, 0xa5077557),
            (INeuron::revealWeightsCall::SELECTOR, 0x66ba946f),
            (INeuron::burnedRegisterCall::SELECTOR, 0x4054ecca),
            (INeuron::serveAxonCall::SELECTOR, 0xe20ac82f),
        ];
        for (selector, expected) in metagraph.into_iter().chain(neuron) {
            assert_eq!(u32::from_be_bytes(selector), expected);
        }
    }

    #[test]
    fn mocks_answer_the_precompile_selectors() {
        assert_eq!(
            MockNeuron::setWeightsCall::SELECTOR,
            INeuron::setWeightsCall::SELECTOR
        );
        assert_eq!(
            MockMetagraph::getHotkeyCall::SELECTOR,
            IMetagraph::getHotkeyCall::SELECTOR
        );
        assert_eq!(
            MockMetagraph::getUidCountCall::SELECTOR,
            IMetagraph::getUidCountCall::SELECTOR
        );
    }

    #[test]
    fn event_and_call_signatures_match_the_deployed_abi() {
        assert_eq!(
            ERC20Taonado::Deposit::SIGNATURE,
            "Deposit(bytes32,uint32,uint256,address)"
        );
        assert_eq!(
            ERC20Taonado::Withdrawal::SIGNATURE,
            "Withdrawal(address,bytes32,address,uint256)"
        );
        assert_eq!(
            DepositTracker::AddressAssociated::SIGNATURE,
            "AddressAssociated(address,bytes32,uint256)"
        );
        assert_eq!(
            EvmValidator::BountyPaid::SIGNATURE,
            "BountyPaid(address,uint256,uint256,uint256)"
        );
        assert_eq!(
            ERC20Taonado::withdrawCall::SIGNATURE,
            "withdraw(bytes,bytes32,bytes32,address,address,uint256,uint256)"
        );
        assert_eq!(IHasher::MiMCSpongeCall::SELECTOR, [0xf4, 0x7d, 0x33, 0xb5]);
        assert_eq!(
            IVerifier::verifyProofCall::SIGNATURE,
            "verifyProof(bytes,uint256[6])"
        );
    }
}
