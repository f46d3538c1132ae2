//! Which Groth16 verifier variant a chain needs, decided twice: from the chain id and from the
//! chain itself (an `eth_call` of BN254 addition at 0x6 and at 0x9). A deployment goes ahead only
//! when the two agree, so the wrong variant is refused before it is deployed instead of being
//! discovered by a withdrawal that can never verify.

use alloy::primitives::Address;
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy::transports::RpcError;
use serde::{Deserialize, Serialize};
pub use taonado_contracts::verifier::ChainFamily;
use taonado_contracts::verifier::bn254_add_probe;

use crate::error::{OpsError, Result};

/// How the deploy decides the verifier family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FamilyPolicy {
    /// The chain id decides (964, 945 and 42 are Bittensor, anything else Ethereum) and the
    /// probe must agree.
    ChainId,
    /// The probe alone decides: rehearsal chains (anvil started with a Bittensor chain id)
    /// and chains taonado does not know.
    Detect,
}

/// What the precompile probe found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ProbeResult {
    pub add_at_0x6: bool,
    pub add_at_0x9: bool,
}

impl ProbeResult {
    /// The family the precompiles behave like, if exactly one address adds points.
    pub fn family(self) -> Option<ChainFamily> {
        match (self.add_at_0x6, self.add_at_0x9) {
            (true, false) => Some(ChainFamily::Ethereum),
            (false, true) => Some(ChainFamily::Bittensor),
            _ => None,
        }
    }
}

/// Calls BN254 add at 0x6 and 0x9 with the probe vector. An address "adds" when the call
/// succeeds and returns 2·G; an execution error (dispatch, blake2f's length check) means no.
pub async fn probe(provider: &DynProvider) -> Result<ProbeResult> {
    Ok(ProbeResult {
        add_at_0x6: adds_at(provider, ChainFamily::Ethereum.ec_add_precompile()).await?,
        add_at_0x9: adds_at(provider, ChainFamily::Bittensor.ec_add_precompile()).await?,
    })
}

async fn adds_at(provider: &DynProvider, address: Address) -> Result<bool> {
    let probe = bn254_add_probe();
    let call = TransactionRequest::default()
        .to(address)
        .input(probe.input.into());
    match provider.call(call).await {
        Ok(output) => Ok(output == probe.expected),
        // The node answered: the call itself failed, so this is not BN254 addition.
        Err(RpcError::ErrorResp(_)) => Ok(false),
        Err(source) => Err(OpsError::Rpc {
            action: format!("probing the precompile at {address}"),
            source,
        }),
    }
}

/// Decides the verifier family: the policy's answer, or an error when chain id and chain
/// disagree or the chain has no BN254 addition at all.
pub fn decide(policy: FamilyPolicy, chain_id: u64, probe: ProbeResult) -> Result<ChainFamily> {
    let by_probe = probe.family().ok_or(OpsError::VerifierProbeInconclusive {
        add_at_0x6: probe.add_at_0x6,
        add_at_0x9: probe.add_at_0x9,
    })?;
    match policy {
        FamilyPolicy::Detect => Ok(by_probe),
        FamilyPolicy::ChainId => {
            let by_chain_id = ChainFamily::from_chain_id(chain_id);
            if by_chain_id == by_probe {
                Ok(by_chain_id)
            } else {
                Err(OpsError::VerifierFamilyMismatch {
                    chain_id,
                    by_chain_id,
                    by_probe,
                    add_at_0x6: probe.add_at_0x6,
                    add_at_0x9: probe.add_at_0x9,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ETH: ProbeResult = ProbeResult {
        add_at_0x6: true,
        add_at_0x9: false,
    };
    const TAO: ProbeResult = ProbeResult {
        add_at_0x6: false,
        add_at_0x9: true,
    };
    const NONE: ProbeResult = ProbeResult {
        add_at_0x6: false,
        add_at_0x9: false,
    };
    const BOTH: ProbeResult = ProbeResult {
        add_at_0x6: true,
        add_at_0x9: true,
    };

    #[test]
    fn decision_table() {
        use ChainFamily::*;
        use FamilyPolicy::*;
        assert_eq!(decide(ChainId, 964, TAO).unwrap(), Bittensor);
        assert_eq!(decide(ChainId, 31_337, ETH).unwrap(), Ethereum);
        assert_eq!(decide(Detect, 945, ETH).unwrap(), Ethereum);
        assert_eq!(decide(Detect, 945, TAO).unwrap(), Bittensor);
        assert!(matches!(
            decide(ChainId, 945, ETH),
            Err(OpsError::VerifierFamilyMismatch {
                by_chain_id: Bittensor,
                by_probe: Ethereum,
                ..
            })
        ));
        assert!(matches!(
            decide(ChainId, 1, TAO),
            Err(OpsError::VerifierFamilyMismatch {
                by_chain_id: Ethereum,
                by_probe: Bittensor,
                ..
            })
        ));
        assert!(matches!(
            decide(Detect, 42, NONE),
            Err(OpsError::VerifierProbeInconclusive { .. })
        ));
        assert!(matches!(
            decide(ChainId, 42, BOTH),
            Err(OpsError::VerifierProbeInconclusive { .. })
        ));
    }
}
