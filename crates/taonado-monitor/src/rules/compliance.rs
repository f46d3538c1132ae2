//! Compliance rules: the mixer heuristics of the published analyses of Tornado Cash (Wu et
//! al., "Tutela: An Open-Source Tool for Assessing User-Privacy on Ethereum and Tornado
//! Cash", 2021; Béres et al., "Blockchain is Watching You: Profiling and Deanonymizing
//! Ethereum Users", 2021), evaluated over the indexed pool events and their transactions.
//! Each finding is a [`ComplianceFlag`] with a score in 0..1 and a plain explanation, stored
//! once per (rule, deposit, withdrawal).
//!
//! - `withdraw_to_self`: the withdrawal pays the address that made a deposit to the same
//!   pool (the `self_withdrawal` alert's query, [`Store::self_withdrawals`], reused);
//! - `address_match`: a deposit's address and a withdrawal's address (its recipient, or the
//!   sender of a withdrawal sent without a relayer) are the same or linked: associated with
//!   the same hotkey by the DepositTracker, or one funded the other (a WTAO transfer between
//!   them that no protocol contract is part of);
//! - `unique_gas_price`: one deposit and one withdrawal are the only pool transactions paying
//!   a gas price (a hand-set price is a fingerprint);
//! - `multi_denomination`: an address deposits the same combination of pools (with counts)
//!   that a recipient later withdraws, within a window;
//! - `rapid_withdrawal`: a withdrawal within a few blocks of a deposit to the same pool while
//!   that pool's anonymity set is small;
//! - `structuring`: one address spreads many deposits over several pools in a short time.
//!
//! Windows count blocks (the chain's clock; a test's chain is deterministic in blocks), and
//! every threshold is a setting (`[rules.compliance]`). Nothing here calls anyone: the data
//! is the store's.

use std::collections::{BTreeMap, BTreeSet};

use alloy::primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};
use taonado_deployment::ProtocolContracts;
use taonado_store::compliance::{ComplianceFlag, MixerActivity, PoolDeposit, PoolWithdrawal};
use taonado_store::{Association, EventFilter, SelfWithdrawal, Store, Window};

use crate::error::{MonitorError, Result};

pub const WITHDRAW_TO_SELF: &str = "withdraw_to_self";
pub const ADDRESS_MATCH: &str = "address_match";
pub const UNIQUE_GAS_PRICE: &str = "unique_gas_price";
pub const MULTI_DENOMINATION: &str = "multi_denomination";
pub const RAPID_WITHDRAWAL: &str = "rapid_withdrawal";
pub const STRUCTURING: &str = "structuring";

/// Every compliance rule, in report order.
pub const COMPLIANCE_RULES: [&str; 6] = [
    WITHDRAW_TO_SELF,
    ADDRESS_MATCH,
    UNIQUE_GAS_PRICE,
    MULTI_DENOMINATION,
    RAPID_WITHDRAWAL,
    STRUCTURING,
];

/// The key of a flag's missing side (a structuring flag has no withdrawal).
pub const NONE_KEY: &str = "-";

/// Thresholds of the compliance rules and the legal retention minimum (`[rules.compliance]`
/// in the monitor config). Block counts assume Bittensor's 12 s blocks.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct ComplianceSettings {
    /// A withdrawal at most this many blocks after a deposit to its pool is rapid (25: 5 min).
    pub rapid_max_blocks: u64,
    /// ... and counts only while the pool's anonymity set is at most this.
    pub small_anonymity_set: u64,
    /// Structuring: this many deposits or more by one address ...
    pub structuring_min_deposits: usize,
    /// ... into at least this many pools ...
    pub structuring_min_pools: usize,
    /// ... within this many blocks (300: 1 h).
    pub structuring_window_blocks: u64,
    /// A multi-denomination match spans at most this many blocks (7200: 24 h, Tutela's).
    pub multi_denomination_window_blocks: u64,
    /// The shortest retention policy the law allows (`5y`, `90d`); a shorter policy is refused.
    pub retention_minimum: String,
}

impl Default for ComplianceSettings {
    fn default() -> Self {
        Self {
            rapid_max_blocks: 25,
            small_anonymity_set: 5,
            structuring_min_deposits: 3,
            structuring_min_pools: 2,
            structuring_window_blocks: 300,
            multi_denomination_window_blocks: 7200,
            retention_minimum: "5y".into(),
        }
    }
}

impl ComplianceSettings {
    pub(crate) fn check(&self) -> Result<()> {
        parse_retention(&self.retention_minimum).ok_or_else(|| {
            MonitorError::Config(format!(
                "rules.compliance.retention_minimum `{}` is not a duration like 5y, 18m (months), 90d or 2w",
                self.retention_minimum
            ))
        })?;
        if self.structuring_min_deposits < 2 || self.structuring_min_pools < 1 {
            return Err(MonitorError::Config(
                "rules.compliance.structuring_min_deposits must be at least 2 and structuring_min_pools at least 1".into(),
            ));
        }
        Ok(())
    }

    /// The legal minimum in seconds.
    pub fn retention_minimum_secs(&self) -> Result<u64> {
        parse_retention(&self.retention_minimum).ok_or_else(|| {
            MonitorError::Config(format!(
                "rules.compliance.retention_minimum `{}` is not a duration",
                self.retention_minimum
            ))
        })
    }
}

/// `7y` (365 days a year), `18m` (30-day months), `90d`, `2w` as seconds.
pub fn parse_retention(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let day = 86_400u64;
    let scale = match unit {
        "y" => 365 * day,
        "m" => 30 * day,
        "w" => 7 * day,
        "d" => day,
        _ => return None,
    };
    n.checked_mul(scale).filter(|s| *s > 0)
}

/// What the rules read.
#[derive(Clone, Debug, Default)]
pub struct ComplianceInput {
    pub activity: MixerActivity,
    /// The `self_withdrawal` alert's findings.
    pub self_withdrawals: Vec<SelfWithdrawal>,
    pub associations: Vec<Association>,
    /// WTAO transfers between two addresses that are not protocol contracts.
    pub transfers: Vec<(Address, Address)>,
}

impl ComplianceInput {
    /// Everything indexed in `store`.
    pub fn load(store: &Store, contracts: &ProtocolContracts) -> Result<Self> {
        let protocol: BTreeSet<Address> = contracts
            .named()
            .into_iter()
            .map(|(_, a)| a)
            .chain(contracts.pools.values().copied())
            .chain([Address::ZERO])
            .collect();
        let transfers = store
            .events(&EventFilter {
                contract: Some(taonado_store::ContractKind::Wtao),
                name: Some("Transfer".into()),
                ..EventFilter::default()
            })?
            .into_iter()
            .filter_map(|e| {
                let side = |k: &str| e.decoded.get(k)?.as_str()?.parse::<Address>().ok();
                let (src, dst) = (side("src")?, side("dst")?);
                (src != dst && !protocol.contains(&src) && !protocol.contains(&dst))
                    .then_some((src, dst))
            })
            .collect();
        Ok(Self {
            activity: store.mixer_activity()?,
            self_withdrawals: store.self_withdrawals(Window::All)?,
            associations: store.associations()?,
            transfers,
        })
    }
}

/// How two addresses are linked.
struct Links {
    hotkey: BTreeMap<Address, B256>,
    funded: BTreeSet<(Address, Address)>,
}

impl Links {
    fn new(input: &ComplianceInput) -> Self {
        Self {
            hotkey: input
                .associations
                .iter()
                .map(|a| (a.address, a.hotkey))
                .collect(),
            funded: input
                .transfers
                .iter()
                .flat_map(|(a, b)| [(*a, *b), (*b, *a)])
                .collect(),
        }
    }

    /// Why `a` and `b` are one user, with the score it gives; `None` when unlinked.
    fn why(&self, a: Address, b: Address) -> Option<(f64, String)> {
        if a == b {
            return Some((0.9, format!("the same address {a}")));
        }
        if let (Some(h), Some(k)) = (self.hotkey.get(&a), self.hotkey.get(&b))
            && h == k
        {
            return Some((
                0.8,
                format!(
                    "{a} and {b} are associated with the same hotkey {h} in the DepositTracker"
                ),
            ));
        }
        if self.funded.contains(&(a, b)) {
            return Some((0.7, format!("{a} and {b} transferred WTAO to one another")));
        }
        None
    }
}

fn key(hash: B256) -> String {
    format!("{hash:#x}")
}

/// `true` when `d` comes before `w` in chain order.
fn before(d: &PoolDeposit, w: &PoolWithdrawal) -> bool {
    (d.block, d.log_index) < (w.block, w.log_index)
}

/// The deposit's addresses: the event's `user` and the transaction's sender.
fn deposit_addresses(d: &PoolDeposit) -> Vec<Address> {
    let mut out: Vec<Address> = d.user.into_iter().chain(d.tx_from).collect();
    out.dedup();
    out
}

/// The withdrawal's addresses: the recipient, and the sender when no relayer sent it.
fn withdrawal_addresses(w: &PoolWithdrawal) -> Vec<(Address, &'static str)> {
    let mut out = vec![(w.to, "recipient")];
    if w.relayer == Address::ZERO
        && let Some(from) = w.tx_from
        && from != w.to
    {
        out.push((from, "sender"));
    }
    out
}

fn pair_flag(
    rule: &str,
    d: &PoolDeposit,
    w: &PoolWithdrawal,
    score: f64,
    explanation: String,
    details: serde_json::Value,
) -> ComplianceFlag {
    ComplianceFlag {
        rule: rule.to_owned(),
        deposit_key: key(d.tx_hash),
        withdrawal_key: key(w.tx_hash),
        pool: Some(w.pool),
        score: (score.clamp(0.0, 1.0) * 1000.0).round() / 1000.0,
        explanation,
        details,
        block: w.block,
        timestamp: w.timestamp,
    }
}

/// Anonymity set of `pool` just before `w`: deposits before it less withdrawals before it.
fn anonymity_before(activity: &MixerActivity, w: &PoolWithdrawal) -> u64 {
    let deposits = activity
        .deposits
        .iter()
        .filter(|d| d.pool == w.pool && before(d, w))
        .count() as u64;
    let withdrawals = activity
        .withdrawals
        .iter()
        .filter(|o| o.pool == w.pool && (o.block, o.log_index) < (w.block, w.log_index))
        .count() as u64;
    deposits.saturating_sub(withdrawals)
}

/// Every flag the rules find in `input`, in a deterministic order.
pub fn analyze(input: &ComplianceInput, settings: &ComplianceSettings) -> Vec<ComplianceFlag> {
    let activity = &input.activity;
    let links = Links::new(input);
    let mut flags = Vec::new();

    // withdraw_to_self: the alert's pairs, mapped to their transactions.
    let mut self_pairs = BTreeSet::new();
    for s in &input.self_withdrawals {
        let w = activity
            .withdrawals
            .iter()
            .find(|w| w.pool == s.pool && w.block == s.withdrawal_block && w.to == s.address);
        let d =
            activity.deposits.iter().rev().find(|d| {
                d.pool == s.pool && d.block == s.deposit_block && d.user == Some(s.address)
            });
        if let (Some(d), Some(w)) = (d, w) {
            self_pairs.insert((d.tx_hash, w.tx_hash));
            flags.push(pair_flag(
                WITHDRAW_TO_SELF,
                d,
                w,
                0.95,
                format!(
                    "{} deposited to pool {} at block {} and the withdrawal at block {} paid that same address",
                    s.address, s.pool, d.block, w.block
                ),
                serde_json::json!({"address": s.address, "deposit_block": d.block, "withdrawal_block": w.block}),
            ));
        }
    }

    // address_match
    for w in &activity.withdrawals {
        for d in activity
            .deposits
            .iter()
            .filter(|d| d.pool == w.pool && before(d, w))
        {
            if self_pairs.contains(&(d.tx_hash, w.tx_hash)) {
                continue;
            }
            let found = deposit_addresses(d).into_iter().find_map(|a| {
                withdrawal_addresses(w)
                    .into_iter()
                    .find_map(|(b, role)| links.why(a, b).map(|(s, why)| (a, b, role, s, why)))
            });
            if let Some((a, b, role, score, why)) = found {
                flags.push(pair_flag(
                    ADDRESS_MATCH,
                    d,
                    w,
                    score,
                    format!(
                        "the deposit at block {} (by {a}) and the withdrawal at block {} (its {role} {b}) use {why}",
                        d.block, w.block
                    ),
                    serde_json::json!({"deposit_address": a, "withdrawal_address": b, "withdrawal_role": role}),
                ));
            }
        }
    }

    // unique_gas_price
    let mut by_price: BTreeMap<u128, (Vec<&PoolDeposit>, Vec<&PoolWithdrawal>)> = BTreeMap::new();
    for d in &activity.deposits {
        if let Some(p) = d.gas_price {
            by_price.entry(p).or_default().0.push(d);
        }
    }
    for w in &activity.withdrawals {
        if let Some(p) = w.gas_price {
            by_price.entry(p).or_default().1.push(w);
        }
    }
    for (price, (ds, ws)) in &by_price {
        if let ([d], [w]) = (ds.as_slice(), ws.as_slice())
            && before(d, w)
        {
            flags.push(pair_flag(
                UNIQUE_GAS_PRICE,
                d,
                w,
                0.75,
                format!(
                    "the deposit at block {} and the withdrawal at block {} are the only pool transactions paying a gas price of {price} wei",
                    d.block, w.block
                ),
                serde_json::json!({"gas_price_wei": price.to_string()}),
            ));
        }
    }

    // multi_denomination: depositor's pool multiset == recipient's pool multiset (>= 2 pools).
    let mut by_depositor: BTreeMap<Address, Vec<&PoolDeposit>> = BTreeMap::new();
    for d in &activity.deposits {
        if let Some(user) = d.user.or(d.tx_from) {
            by_depositor.entry(user).or_default().push(d);
        }
    }
    let mut by_recipient: BTreeMap<Address, Vec<&PoolWithdrawal>> = BTreeMap::new();
    for w in &activity.withdrawals {
        by_recipient.entry(w.to).or_default().push(w);
    }
    let multiset = |pools: &mut dyn Iterator<Item = Address>| {
        let mut m: BTreeMap<Address, usize> = BTreeMap::new();
        for p in pools {
            *m.entry(p).or_default() += 1;
        }
        m
    };
    for (depositor, ds) in &by_depositor {
        let dset = multiset(&mut ds.iter().map(|d| d.pool));
        if dset.len() < 2 {
            continue;
        }
        for (recipient, ws) in &by_recipient {
            if multiset(&mut ws.iter().map(|w| w.pool)) != dset {
                continue;
            }
            let (Some(last_d), Some(first_w), Some(last_w), Some(first_d)) =
                (ds.last(), ws.first(), ws.last(), ds.first())
            else {
                continue;
            };
            if !before(last_d, first_w)
                || last_w.block.saturating_sub(first_d.block)
                    > settings.multi_denomination_window_blocks
            {
                continue;
            }
            let pools = dset.len();
            for pool in dset.keys() {
                let pd = ds.iter().filter(|d| d.pool == *pool);
                let pw = ws.iter().filter(|w| w.pool == *pool);
                for (d, w) in pd.zip(pw) {
                    flags.push(pair_flag(
                        MULTI_DENOMINATION,
                        d,
                        w,
                        0.6,
                        format!(
                            "{depositor} deposited into the same {pools} pools ({} deposits) that {recipient} then withdrew from, in the same numbers, within {} blocks",
                            ds.len(),
                            last_w.block - first_d.block
                        ),
                        serde_json::json!({"depositor": depositor, "recipient": recipient, "pools": dset.keys().collect::<Vec<_>>()}),
                    ));
                }
            }
        }
    }

    // rapid_withdrawal
    for w in &activity.withdrawals {
        let set = anonymity_before(activity, w);
        if set > settings.small_anonymity_set {
            continue;
        }
        let candidates: Vec<&PoolDeposit> = activity
            .deposits
            .iter()
            .filter(|d| {
                d.pool == w.pool
                    && before(d, w)
                    && w.block.saturating_sub(d.block) <= settings.rapid_max_blocks
            })
            .collect();
        let n = candidates.len();
        for d in candidates {
            flags.push(pair_flag(
                RAPID_WITHDRAWAL,
                d,
                w,
                0.8 / n as f64,
                format!(
                    "withdrawn {} blocks after the deposit at block {} while pool {} held only {set} unspent deposits ({n} made within {} blocks)",
                    w.block - d.block,
                    d.block,
                    w.pool,
                    settings.rapid_max_blocks
                ),
                serde_json::json!({"blocks_apart": w.block - d.block, "anonymity_set": set, "candidates": n}),
            ));
        }
    }

    // structuring
    let mut structured = BTreeSet::new();
    for (depositor, ds) in &by_depositor {
        for (i, first) in ds.iter().enumerate() {
            let burst: Vec<&&PoolDeposit> = ds[i..]
                .iter()
                .take_while(|d| d.block - first.block <= settings.structuring_window_blocks)
                .collect();
            let pools: BTreeSet<Address> = burst.iter().map(|d| d.pool).collect();
            if burst.len() >= settings.structuring_min_deposits
                && pools.len() >= settings.structuring_min_pools
            {
                for d in &burst {
                    structured.insert((d.block, d.log_index, *depositor, burst.len(), pools.len()));
                }
            }
        }
    }
    let mut seen = BTreeSet::new();
    for (block, log_index, depositor, count, pools) in structured {
        if !seen.insert((block, log_index)) {
            continue;
        }
        let Some(d) = activity
            .deposits
            .iter()
            .find(|d| d.block == block && d.log_index == log_index)
        else {
            continue;
        };
        flags.push(ComplianceFlag {
            rule: STRUCTURING.to_owned(),
            deposit_key: key(d.tx_hash),
            withdrawal_key: NONE_KEY.to_owned(),
            pool: Some(d.pool),
            score: 0.5,
            explanation: format!(
                "{depositor} made {count} deposits into {pools} pools within {} blocks (this one at block {block})",
                settings.structuring_window_blocks
            ),
            details: serde_json::json!({"depositor": depositor, "deposits": count, "pools": pools}),
            block: d.block,
            timestamp: d.timestamp,
        });
    }
    flags
}

/// Runs the rules over everything indexed and records the flags (idempotent), keeping out
/// of the store what the recorded retention policy has already purged. Returns the number
/// of new flags.
pub fn evaluate_store(
    store: &Store,
    contracts: &ProtocolContracts,
    settings: &ComplianceSettings,
    now: u64,
) -> Result<u64> {
    let input = ComplianceInput::load(store, contracts)?;
    let flags = analyze(&input, settings);
    let not_before = store
        .retention_policy()?
        .map_or(0, |p| now.saturating_sub(p.retention_secs));
    Ok(store.record_flags(&flags, not_before)?)
}

/// A pool's activity and anonymity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PoolAnonymity {
    pub pool: Address,
    /// The pool's amount in TAO when the deployment names it.
    pub amount: Option<String>,
    pub deposits: u64,
    pub withdrawals: u64,
    /// Deposits not yet withdrawn (what `mixer stats` calls the anonymity set).
    pub anonymity_set: u64,
    /// Deposits a compliance flag links to a withdrawal.
    pub linked_deposits: u64,
    /// Deposits less those the rules link.
    pub effective_anonymity_set: u64,
}

/// Per-pool anonymity over `activity` up to unix time `until` (exclusive), with `flags`
/// (any period) linking deposits.
pub fn pool_anonymity(
    activity: &MixerActivity,
    flags: &[ComplianceFlag],
    contracts: &ProtocolContracts,
    until: u64,
) -> Vec<PoolAnonymity> {
    let linked: BTreeSet<&str> = flags
        .iter()
        .filter(|f| f.withdrawal_key != NONE_KEY)
        .map(|f| f.deposit_key.as_str())
        .collect();
    let amount_of: BTreeMap<Address, &String> =
        contracts.pools.iter().map(|(k, v)| (*v, k)).collect();
    let pools: BTreeSet<Address> = activity
        .deposits
        .iter()
        .map(|d| d.pool)
        .chain(contracts.pools.values().copied())
        .collect();
    pools
        .into_iter()
        .map(|pool| {
            let ds: Vec<&PoolDeposit> = activity
                .deposits
                .iter()
                .filter(|d| d.pool == pool && d.timestamp < until)
                .collect();
            let withdrawals = activity
                .withdrawals
                .iter()
                .filter(|w| w.pool == pool && w.timestamp < until)
                .count() as u64;
            let deposits = ds.len() as u64;
            let linked_deposits = ds
                .iter()
                .filter(|d| linked.contains(key(d.tx_hash).as_str()))
                .count() as u64;
            PoolAnonymity {
                pool,
                amount: amount_of.get(&pool).map(|s| (*s).clone()),
                deposits,
                withdrawals,
                anonymity_set: deposits.saturating_sub(withdrawals),
                linked_deposits,
                effective_anonymity_set: deposits - linked_deposits,
            }
        })
        .collect()
}

/// Wei of `n` deposits of `amount` TAO.
pub(crate) fn volume(amount: Option<&String>, n: u64) -> Option<U256> {
    let one = taonado_types::parse_tao(amount?).ok()?;
    Some(one.saturating_mul(U256::from(n)))
}

#[cfg(test)]
mod tests;
