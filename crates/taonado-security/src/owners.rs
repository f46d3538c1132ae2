//! `keys audit --onchain`: each owned contract's `owner()` on chain against who must own it
//! (the configured owner key or multisig, else the deployment record's deployer).

use alloy::primitives::Address;
use alloy::providers::DynProvider;
use taonado_contracts::bindings::EvmValidator;

use crate::keys::{Finding, FindingKind};

/// Which contracts to read, on which chain, and who must own them.
#[derive(Clone, Debug)]
pub struct OwnerCheck {
    pub network: String,
    pub provider: DynProvider,
    /// Name and address of each contract with an `owner()` (the EvmValidator proxy, each
    /// Weights contract).
    pub owned: Vec<(String, Address)>,
    /// Who must own them, and where that comes from (`networks.local.owner`, `the
    /// deployment record's deployer`); `None` when nothing says.
    pub expected: Option<(Address, String)>,
}

/// One finding per contract whose owner is not the expected one, or cannot be read.
pub async fn owner_findings(check: &OwnerCheck) -> (Vec<Finding>, Vec<String>) {
    let mut findings = Vec::new();
    let mut checked = Vec::new();
    let Some((expected, source)) = &check.expected else {
        findings.push(Finding {
            kind: FindingKind::Owner,
            path: None,
            line: None,
            message: format!(
                "network {}: no owner is configured (networks.{}.owner) and there is no deployment record to name the deployer; nothing to compare owner() with",
                check.network, check.network
            ),
        });
        return (findings, checked);
    };
    for (name, address) in &check.owned {
        // Every owned contract of the protocol is Ownable (OZ 5): one binding reads them all.
        match EvmValidator::new(*address, &check.provider).owner().call().await {
            Ok(owner) if owner == *expected => {
                checked.push(format!("owner() of {name} on {}", check.network));
            }
            Ok(owner) => findings.push(Finding {
                kind: FindingKind::Owner,
                path: None,
                line: None,
                message: format!(
                    "{name} {address} on {}: owner() is {owner}, not {expected} ({source}); transfer ownership or fix the configuration",
                    check.network
                ),
            }),
            Err(error) => findings.push(Finding {
                kind: FindingKind::Owner,
                path: None,
                line: None,
                message: format!(
                    "{name} {address} on {}: owner() could not be read ({error})",
                    check.network
                ),
            }),
        }
    }
    (findings, checked)
}
