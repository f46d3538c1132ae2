//! `taonado emergency assess`: for each contract of a deployment, its code against the
//! artifacts (`taonado_ops::deploy::verify::code_verdict`), its owner and whether that is a
//! key, a Safe or another contract, whether it can be upgraded (ERC-1967 slot), its
//! privileged functions and who may call them (spec/protocol.md); the funds at risk; and
//! the options that exist.

use std::collections::BTreeMap;

use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::Filter;
use alloy::sol_types::SolEvent;
use serde::Serialize;
use taonado_contracts::Contract;
use taonado_contracts::bindings::{ERC20Taonado, EvmValidator, WTAO};
use taonado_ops::deploy::verify::{
    CheckStatus, ExpectedDeployment, IMPLEMENTATION_SLOT, code_verdict, pool_name,
};

alloy::sol! {
    #[sol(rpc)]
    interface ISafe {
        function getOwners() external view returns (address[] memory);
        function getThreshold() external view returns (uint256);
    }
}

/// What went wrong reading the chain.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {message}")]
pub struct AssessError {
    pub what: String,
    pub message: String,
}

fn rpc<E: std::fmt::Display>(what: impl Into<String>) -> impl FnOnce(E) -> AssessError {
    let what = what.into();
    move |e| AssessError {
        what,
        message: e.to_string().replace('\n', " "),
    }
}

/// Code at an address against the committed artifacts.
#[derive(Clone, Debug, Serialize)]
pub struct CodeView {
    pub matches: bool,
    pub detail: String,
}

/// Who owns a contract.
#[derive(Clone, Debug, Serialize)]
pub struct OwnerView {
    pub address: Address,
    /// `key` (no code), `safe` (answers getOwners/getThreshold) or `contract`.
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safe_threshold: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub safe_owners: Vec<Address>,
}

/// A function only some may call.
#[derive(Clone, Debug, Serialize)]
pub struct Privileged {
    pub function: &'static str,
    pub who: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ContractAssessment {
    pub name: String,
    pub address: Address,
    pub code: CodeView,
    pub owner: Option<OwnerView>,
    pub upgradeable: bool,
    pub implementation: Option<Address>,
    pub privileged: Vec<Privileged>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PoolFunds {
    pub name: String,
    pub address: Address,
    pub wtao_balance_wei: String,
    pub wtao_balance_tao: String,
}

/// How far WeightsV3's lifetime deposits are inflated by deposit → withdraw-to-self.
#[derive(Clone, Debug, Serialize)]
pub struct Inflation {
    pub pool: Address,
    /// Deposits matched by a withdrawal back to the same address, times the denomination.
    pub inflated_wei: String,
    pub inflated_tao: String,
    pub addresses: Vec<Address>,
    pub deposits: u64,
    pub withdrawals: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Funds {
    pub wtao_total_supply_wei: Option<String>,
    pub wtao_total_supply_tao: Option<String>,
    pub pools: Vec<PoolFunds>,
    pub evm_validator_balance_wei: Option<String>,
    pub evm_validator_balance_tao: Option<String>,
    pub set_weights_bounty_wei: Option<String>,
    pub set_weights_block_interval: Option<String>,
    pub inflation: Option<Inflation>,
    /// Reads that failed, one line each.
    pub errors: Vec<String>,
}

/// A response open to the owner.
#[derive(Clone, Debug, Serialize)]
pub struct ResponseOption {
    pub option: &'static str,
    pub how: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Assessment {
    pub network: String,
    pub chain_id: u64,
    pub block: u64,
    pub contracts: Vec<ContractAssessment>,
    pub funds: Funds,
    pub options: Vec<ResponseOption>,
}

impl Assessment {
    /// Every contract's code equals its artifact.
    pub fn code_matches(&self) -> bool {
        self.contracts.iter().all(|c| c.code.matches)
    }

    /// The report as markdown.
    pub fn to_markdown(&self) -> String {
        use std::fmt::Write;
        let mut md = String::new();
        let _ = writeln!(
            md,
            "# Emergency assessment: {} (chain {}, block {})\n",
            self.network, self.chain_id, self.block
        );
        let _ = writeln!(md, "## Contracts\n");
        let _ = writeln!(md, "| contract | address | code | owner | upgradeable |");
        let _ = writeln!(md, "|---|---|---|---|---|");
        for c in &self.contracts {
            let _ = writeln!(
                md,
                "| {} | `{}` | {} | {} | {} |",
                c.name,
                c.address,
                if c.code.matches { "matches" } else { "DIFFERS" },
                c.owner.as_ref().map_or_else(
                    || "-".to_owned(),
                    |o| format!("`{}` ({})", o.address, o.kind)
                ),
                match c.implementation {
                    Some(i) => format!("yes (implementation `{i}`)"),
                    None => "no".to_owned(),
                }
            );
        }
        let _ = writeln!(md, "\n## Privileged functions\n");
        for c in self.contracts.iter().filter(|c| !c.privileged.is_empty()) {
            let _ = writeln!(md, "- **{}**", c.name);
            for p in &c.privileged {
                let _ = writeln!(md, "  - `{}`: {}", p.function, p.who);
            }
        }
        let f = &self.funds;
        let _ = writeln!(md, "\n## Funds at risk\n");
        let na = |v: &Option<String>| v.clone().unwrap_or_else(|| "unknown".into());
        let _ = writeln!(
            md,
            "- WTAO total supply: {} TAO",
            na(&f.wtao_total_supply_tao)
        );
        for p in &f.pools {
            let _ = writeln!(
                md,
                "- pool {} `{}`: {} WTAO",
                p.name, p.address, p.wtao_balance_tao
            );
        }
        let _ = writeln!(
            md,
            "- EvmValidator balance (bounty funds): {} TAO; bounty {} wei; interval {} blocks",
            na(&f.evm_validator_balance_tao),
            na(&f.set_weights_bounty_wei),
            na(&f.set_weights_block_interval)
        );
        match &f.inflation {
            Some(i) => {
                let _ = writeln!(
                    md,
                    "- WeightsV3 lifetime deposits inflated by deposit → withdraw-to-self: {} TAO ({} addresses)",
                    i.inflated_tao,
                    i.addresses.len()
                );
            }
            None => {
                let _ = writeln!(md, "- inflation: not computed");
            }
        }
        for e in &f.errors {
            let _ = writeln!(md, "- could not read: {e}");
        }
        let _ = writeln!(md, "\n## Options\n");
        for o in &self.options {
            let _ = writeln!(md, "- **{}**: {}", o.option, o.how);
        }
        md
    }
}

/// What the protocol lets only some callers do (spec/protocol.md).
fn privileged(contract: &str, owner: Option<Address>) -> Vec<Privileged> {
    let owner = owner.map_or_else(|| "the owner".to_owned(), |o| format!("the owner {o}"));
    let only = |functions: &[&'static str]| {
        functions
            .iter()
            .map(|f| Privileged {
                function: f,
                who: owner.clone(),
            })
            .collect::<Vec<_>>()
    };
    match contract {
        "EvmValidator" => {
            let mut list = only(&[
                "upgradeToAndCall(address,bytes)",
                "operatorSetWeights()",
                "setMetagraphBoostValue(uint16)",
                "setVersionKey(uint64)",
                "setWeightsContract(address)",
                "setSetWeightsBounty(uint256)",
                "setSetWeightsBlockInterval(uint256)",
                "setRefundOverhead(uint256)",
                "rescueFunds()",
                "transferOwnership(address)",
                "renounceOwnership()",
            ]);
            list.push(Privileged {
                function: "setWeights(bytes32)",
                who: "anyone, once the interval has passed; pays the bounty from the contract's balance".into(),
            });
            list
        }
        "WeightsV2" | "WeightsV3" | "WeightsV4" => only(&[
            "setDepositGoal(uint256)",
            "transferOwnership(address)",
            "renounceOwnership()",
        ]),
        _ => Vec::new(),
    }
}

/// The contracts to assess: name, address, artifacts its code may equal, whether Ownable.
pub(crate) fn targets(
    expected: &ExpectedDeployment,
) -> Vec<(String, Address, Vec<Contract>, bool)> {
    let a = &expected.addresses;
    let mut list = Vec::new();
    let mut push = |name: &str, address: Option<Address>, artifacts: &[Contract], owned: bool| {
        if let Some(address) = address {
            list.push((name.to_owned(), address, artifacts.to_vec(), owned));
        }
    };
    push("WTAO", a.wtao, &[Contract::WTAO], false);
    push(
        "DepositTracker",
        a.deposit_tracker,
        &[Contract::DepositTracker],
        false,
    );
    push("WeightsV2", a.weights_v2, &[Contract::WeightsV2], true);
    push("WeightsV3", a.weights_v3, &[Contract::WeightsV3], true);
    push("WeightsV4", a.weights_v4, &[Contract::WeightsV4], true);
    push(
        "EvmValidator",
        a.evm_validator,
        &[Contract::ERC1967Proxy],
        true,
    );
    push("MiMCSponge", a.hasher, &[Contract::MiMCSponge], false);
    push(
        "Verifier",
        a.verifier,
        &[
            Contract::Groth16VerifierBittensor,
            Contract::Groth16VerifierEthereum,
        ],
        false,
    );
    for (denomination, address) in &expected.pools {
        push(
            &pool_name(*denomination),
            Some(*address),
            &[Contract::ERC20Taonado],
            false,
        );
    }
    list
}

async fn owner_view(provider: &DynProvider, owner: Address) -> Result<OwnerView, AssessError> {
    let code = provider
        .get_code_at(owner)
        .await
        .map_err(rpc(format!("reading the code of owner {owner}")))?;
    if code.is_empty() {
        return Ok(OwnerView {
            address: owner,
            kind: "key",
            safe_threshold: None,
            safe_owners: Vec::new(),
        });
    }
    let safe = ISafe::new(owner, provider);
    match (
        safe.getOwners().call().await,
        safe.getThreshold().call().await,
    ) {
        (Ok(owners), Ok(threshold)) => Ok(OwnerView {
            address: owner,
            kind: "safe",
            safe_threshold: Some(threshold.to_string()),
            safe_owners: owners,
        }),
        _ => Ok(OwnerView {
            address: owner,
            kind: "contract",
            safe_threshold: None,
            safe_owners: Vec::new(),
        }),
    }
}

/// Reads everything; only the chain id and block number are required, every other read
/// that fails is reported in the assessment.
pub async fn assess(
    network: &str,
    provider: &DynProvider,
    expected: &ExpectedDeployment,
    from_block: u64,
) -> Result<Assessment, AssessError> {
    let chain_id = provider
        .get_chain_id()
        .await
        .map_err(rpc("reading the chain id"))?;
    let block = provider
        .get_block_number()
        .await
        .map_err(rpc("reading the block number"))?;
    let mut contracts = Vec::new();
    for (name, address, artifacts, owned) in targets(expected) {
        let code = provider
            .get_code_at(address)
            .await
            .map_err(rpc(format!("reading the code of {name}")))?;
        let (status, mut detail) = code_verdict(address, &code, &artifacts);
        let mut matches = status != CheckStatus::Fail;
        let slot = provider
            .get_storage_at(address, IMPLEMENTATION_SLOT.into())
            .await
            .map_err(rpc(format!("reading the ERC-1967 slot of {name}")))?;
        let implementation = Some(Address::from_word(slot.into())).filter(|a| !a.is_zero());
        if let Some(implementation) = implementation {
            let code = provider
                .get_code_at(implementation)
                .await
                .map_err(rpc(format!("reading the implementation of {name}")))?;
            let (status, d) = code_verdict(
                implementation,
                &code,
                &[Contract::EvmValidator, Contract::EvmValidatorV2],
            );
            matches &= status != CheckStatus::Fail;
            detail = format!("proxy {detail}; implementation {d}");
        }
        let owner = match owned {
            // Every owned contract of the protocol is Ownable (OZ 5): one binding reads all.
            true => match EvmValidator::new(address, provider).owner().call().await {
                Ok(owner) => Some(owner_view(provider, owner).await?),
                Err(_) => None,
            },
            false => None,
        };
        let base = name
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        contracts.push(ContractAssessment {
            privileged: privileged(&base, owner.as_ref().map(|o| o.address)),
            name,
            address,
            code: CodeView { matches, detail },
            owner,
            upgradeable: implementation.is_some(),
            implementation,
        });
    }
    let funds = funds(provider, expected, from_block, block).await;
    Ok(Assessment {
        network: network.to_owned(),
        chain_id,
        block,
        options: options(expected),
        contracts,
        funds,
    })
}

fn tao(wei: U256) -> String {
    taonado_types::format_tao(wei)
}

async fn funds(
    provider: &DynProvider,
    expected: &ExpectedDeployment,
    from_block: u64,
    to_block: u64,
) -> Funds {
    let mut funds = Funds {
        wtao_total_supply_wei: None,
        wtao_total_supply_tao: None,
        pools: Vec::new(),
        evm_validator_balance_wei: None,
        evm_validator_balance_tao: None,
        set_weights_bounty_wei: None,
        set_weights_block_interval: None,
        inflation: None,
        errors: Vec::new(),
    };
    let a = &expected.addresses;
    if let Some(wtao) = a.wtao {
        let token = WTAO::new(wtao, provider);
        match token.totalSupply().call().await {
            Ok(supply) => {
                funds.wtao_total_supply_wei = Some(supply.to_string());
                funds.wtao_total_supply_tao = Some(tao(supply));
            }
            Err(e) => funds.errors.push(format!("WTAO totalSupply: {e}")),
        }
        for (denomination, pool) in &expected.pools {
            match token.balanceOf(*pool).call().await {
                Ok(balance) => funds.pools.push(PoolFunds {
                    name: pool_name(*denomination),
                    address: *pool,
                    wtao_balance_wei: balance.to_string(),
                    wtao_balance_tao: tao(balance),
                }),
                Err(e) => funds.errors.push(format!("WTAO balance of {pool}: {e}")),
            }
        }
    }
    if let Some(validator) = a.evm_validator {
        match provider.get_balance(validator).await {
            Ok(balance) => {
                funds.evm_validator_balance_wei = Some(balance.to_string());
                funds.evm_validator_balance_tao = Some(tao(balance));
            }
            Err(e) => funds.errors.push(format!("EvmValidator balance: {e}")),
        }
        let v = EvmValidator::new(validator, provider);
        match v.setWeightsBounty().call().await {
            Ok(b) => funds.set_weights_bounty_wei = Some(b.to_string()),
            Err(e) => funds.errors.push(format!("setWeightsBounty: {e}")),
        }
        match v.setWeightsBlockInterval().call().await {
            Ok(i) => funds.set_weights_block_interval = Some(i.to_string()),
            Err(e) => funds.errors.push(format!("setWeightsBlockInterval: {e}")),
        }
    }
    if let Some(pool) = expected.weights_pool {
        let denomination = expected
            .pools
            .iter()
            .find(|(_, p)| *p == pool)
            .map_or(U256::ZERO, |(d, _)| *d);
        match inflation(provider, pool, denomination, from_block, to_block).await {
            Ok(i) => funds.inflation = Some(i),
            Err(e) => funds.errors.push(format!("inflation scan: {e}")),
        }
    }
    funds
}

/// Blocks per eth_getLogs request.
const LOG_WINDOW: u64 = 10_000;

/// Scans the pool's Deposit and Withdrawal logs: an address that deposited and had a
/// withdrawal paid back to itself inflated its lifetime deposits by
/// `min(deposits, withdrawals to it) × denomination` without keeping anything in the pool.
async fn inflation(
    provider: &DynProvider,
    pool: Address,
    denomination: U256,
    from_block: u64,
    to_block: u64,
) -> Result<Inflation, AssessError> {
    // In windows: public nodes cap the block range of one eth_getLogs.
    let mut logs = Vec::new();
    let mut start = from_block;
    while start <= to_block {
        let end = to_block.min(start.saturating_add(LOG_WINDOW - 1));
        let filter = Filter::new().address(pool).from_block(start).to_block(end);
        logs.extend(provider.get_logs(&filter).await.map_err(rpc(format!(
            "reading the logs of pool {pool} in blocks {start}..={end}"
        )))?);
        start = end.saturating_add(1);
        if end == u64::MAX {
            break;
        }
    }
    let mut deposits = Vec::new();
    let mut withdrawals = Vec::new();
    for log in &logs {
        if let Ok(e) = ERC20Taonado::Deposit::decode_log_data(log.data()) {
            deposits.push(e.user);
        } else if let Ok(e) = ERC20Taonado::Withdrawal::decode_log_data(log.data()) {
            withdrawals.push(e.to);
        }
    }
    Ok(count_cycles(pool, denomination, &deposits, &withdrawals))
}

/// Per address, `min(its deposits, withdrawals paid to it)` cycles of `denomination`.
pub fn count_cycles(
    pool: Address,
    denomination: U256,
    depositors: &[Address],
    recipients: &[Address],
) -> Inflation {
    let mut deposits: BTreeMap<Address, u64> = BTreeMap::new();
    for a in depositors {
        *deposits.entry(*a).or_default() += 1;
    }
    let mut withdrawals: BTreeMap<Address, u64> = BTreeMap::new();
    for a in recipients {
        *withdrawals.entry(*a).or_default() += 1;
    }
    let mut cycles = 0u64;
    let mut addresses = Vec::new();
    for (address, count) in &withdrawals {
        let matched = (*count).min(deposits.get(address).copied().unwrap_or(0));
        if matched > 0 {
            cycles += matched;
            addresses.push(*address);
        }
    }
    let inflated = denomination * U256::from(cycles);
    Inflation {
        pool,
        inflated_wei: inflated.to_string(),
        inflated_tao: tao(inflated),
        addresses,
        deposits: depositors.len() as u64,
        withdrawals: recipients.len() as u64,
    }
}

fn options(expected: &ExpectedDeployment) -> Vec<ResponseOption> {
    let a = &expected.addresses;
    let mut list = Vec::new();
    if a.evm_validator.is_some() {
        list.push(ResponseOption {
            option: "upgrade",
            how: "`taonado upgrade evm-validator --execute` (layout check, fork rehearsal, then upgradeToAndCall by the owner)".into(),
        });
        list.push(ResponseOption {
            option: "zero the bounty",
            how: "owner calls `setSetWeightsBounty(0)` on the EvmValidator: callers are refunded gas only".into(),
        });
        list.push(ResponseOption {
            option: "raise the interval",
            how: "owner calls `setSetWeightsBlockInterval(N)`: setWeights (and its bounty) at most every N blocks".into(),
        });
        list.push(ResponseOption {
            option: "rescue the funds",
            how: "owner calls `rescueFunds()`: the EvmValidator's whole balance goes to the owner"
                .into(),
        });
    }
    if a.weights_v3.is_some() && a.weights_v4.is_none() {
        list.push(ResponseOption {
            option: "migrate",
            how: "`taonado migrate weights --to WeightsV4`: a weights contract without V3's defects, then setWeightsContract".into(),
        });
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_deposits_withdrawn_back_to_the_depositor_count() {
        let (a, b, c) = (
            Address::repeat_byte(0xa),
            Address::repeat_byte(0xb),
            Address::repeat_byte(0xc),
        );
        let one = U256::from(10u64).pow(U256::from(18u64));
        // a: 3 deposits, 2 back to a; b: 1 deposit withdrawn to c (a real transfer).
        let i = count_cycles(Address::ZERO, one, &[a, a, a, b], &[a, a, c]);
        assert_eq!(i.inflated_tao, "2");
        assert_eq!(i.addresses, vec![a]);
        assert_eq!((i.deposits, i.withdrawals), (4, 3));
        let none = count_cycles(Address::ZERO, one, &[a], &[b]);
        assert_eq!(none.inflated_wei, "0");
    }

    #[test]
    fn every_owned_contract_lists_its_owner_functions() {
        let owner = Some(Address::repeat_byte(1));
        let v = privileged("EvmValidator", owner);
        for f in [
            "upgradeToAndCall(address,bytes)",
            "rescueFunds()",
            "setSetWeightsBounty(uint256)",
        ] {
            assert!(v.iter().any(|p| p.function == f), "{f}");
        }
        assert!(
            v.iter()
                .any(|p| p.function == "setWeights(bytes32)" && p.who.starts_with("anyone"))
        );
        assert_eq!(privileged("WeightsV3", owner).len(), 3);
        assert!(privileged("WTAO", owner).is_empty());
    }
}
