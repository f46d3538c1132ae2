//! What each send slot of a transaction scenario is: its template, its calldata and, for
//! `associate`, the one-shot wallet that sends it; and the preparation that makes every
//! slot valid before the load starts (one-shot wallets funded, WTAO wrapped and the pool
//! approved, the mixer notes backed up).
//!
//! Slot `i` sends template `i % templates.len()`. Two kinds need something per slot:
//! - `associate`: the DepositTracker records an address once, ever ("Address already
//!   associated"), so each association comes from a fresh wallet, derived from the funder
//!   and a per-run salt, funded for exactly one transaction, nonce 0;
//! - `mixer-deposit`: a pool takes a commitment once, so each deposit carries a fresh
//!   note's commitment. The notes are real (Pedersen, as `mixer deposit` makes them) and are
//!   appended to a backup file (0600, synced) before the first deposit is sent: the
//!   deposited WTAO can always be withdrawn.

use std::collections::HashMap;
use std::path::PathBuf;

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use serde_json::json;
use taonado_contracts::bindings::{DepositTracker, ERC20Taonado, WTAO};
use taonado_ops::mixer::{CURRENCY, Pool};
use taonado_zk::{Note, fr_to_b256};

use crate::rpc::Rpc;
use crate::wallets::TxTemplate;
use crate::{LoadTestError, Plan};

/// A mixer pool a load test deposits into.
#[derive(Clone, Debug)]
pub struct PoolTarget {
    pub address: Address,
    /// Wei of WTAO per deposit.
    pub denomination: U256,
    /// The denomination as notes write it (`0.1`).
    pub amount: String,
}

/// The kinds of transaction a scenario sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Transfer,
    Wrap,
    Associate,
    MixerDeposit,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Transfer => "transfer",
            Self::Wrap => "wrap",
            Self::Associate => "associate",
            Self::MixerDeposit => "mixer-deposit",
        }
    }

    /// Gas a transaction of this kind is assumed to take for a spend estimate made before
    /// the chain is asked (the run itself uses the node's estimate).
    pub fn estimated_gas(self) -> u64 {
        match self {
            Self::Transfer => 21_000,
            Self::Wrap => 80_000,
            Self::Associate => 150_000,
            // A MiMC tree of height 20: ~1 M gas on Tornado's pools.
            Self::MixerDeposit => 1_300_000,
        }
    }
}

/// The slots of one run.
pub struct Workload {
    pub templates: Vec<TxTemplate>,
    pub kinds: Vec<Kind>,
    /// The one-shot wallet of each `associate` slot.
    one_shots: HashMap<u64, PrivateKeySigner>,
    /// The calldata of each `mixer-deposit` slot.
    inputs: HashMap<u64, Bytes>,
    /// Where the deposit notes were backed up, and how many.
    pub notes: Option<(PathBuf, u64)>,
}

/// One slot, ready to sign.
pub struct Slot<'a> {
    pub template: usize,
    pub tx: TxTemplate,
    /// Sends from this wallet at nonce 0 instead of the worker's child.
    pub one_shot: Option<&'a PrivateKeySigner>,
}

impl Workload {
    /// Slot `index`.
    pub fn slot(&self, index: u64) -> Slot<'_> {
        let template = (index % self.templates.len() as u64) as usize;
        let mut tx = self.templates[template].clone();
        if let Some(input) = self.inputs.get(&index) {
            tx.input = input.clone();
        }
        Slot {
            template,
            tx,
            one_shot: self.one_shots.get(&index),
        }
    }

    /// The one-shot wallets and the wei each needs.
    pub fn one_shot_top_ups(&self, gas_price: u128) -> Vec<(Address, U256)> {
        let Some(associate) = self.template_of(Kind::Associate) else {
            return Vec::new();
        };
        let need = crate::wallets::need_per_child(1, associate, gas_price);
        let mut top_ups: Vec<(u64, Address)> = self
            .one_shots
            .iter()
            .map(|(slot, signer)| (*slot, signer.address()))
            .collect();
        top_ups.sort_unstable();
        top_ups
            .into_iter()
            .map(|(_, address)| (address, need))
            .collect()
    }

    /// The one-shot wallets, in slot order.
    pub fn one_shot_signers(&self) -> Vec<&PrivateKeySigner> {
        let mut slots: Vec<(&u64, &PrivateKeySigner)> = self.one_shots.iter().collect();
        slots.sort_unstable_by_key(|(slot, _)| **slot);
        slots.into_iter().map(|(_, signer)| signer).collect()
    }

    pub fn one_shot_count(&self) -> u64 {
        self.one_shots.len() as u64
    }

    fn template_of(&self, kind: Kind) -> Option<&TxTemplate> {
        self.kinds
            .iter()
            .position(|k| *k == kind)
            .map(|i| &self.templates[i])
    }

    /// The dearest template a child wallet sends (one-shot slots excluded: their own
    /// wallets pay for them).
    pub fn dearest_child_template(&self) -> Option<&TxTemplate> {
        self.templates
            .iter()
            .zip(&self.kinds)
            .filter(|(_, kind)| **kind != Kind::Associate)
            .map(|(t, _)| t)
            .max_by_key(|t| t.gas_limit)
    }

    /// How many of `slots` slots (0..slots) are of `kind`.
    pub fn slots_of(&self, kind: Kind, slots: u64) -> u64 {
        count_slots(&self.kinds, kind, slots)
    }
}

/// How many of the slots `0..slots` send `kind` when slot i sends `kinds[i % len]`.
pub fn count_slots(kinds: &[Kind], kind: Kind, slots: u64) -> u64 {
    let len = kinds.len() as u64;
    if len == 0 {
        return 0;
    }
    kinds
        .iter()
        .enumerate()
        .filter(|(_, k)| **k == kind)
        .map(|(position, _)| {
            let position = position as u64;
            if slots > position {
                (slots - position).div_ceil(len)
            } else {
                0
            }
        })
        .sum()
}

/// The one-shot wallet of `associate` slot `slot` in the run salted with `salt`.
pub fn one_shot(
    funder: &PrivateKeySigner,
    salt: u64,
    slot: u64,
) -> Result<PrivateKeySigner, LoadTestError> {
    let mut seed = b"taonado-loadtest-associate".to_vec();
    seed.extend_from_slice(&funder.to_bytes()[..]);
    seed.extend_from_slice(&salt.to_be_bytes());
    seed.extend_from_slice(&slot.to_be_bytes());
    PrivateKeySigner::from_bytes(&keccak256(&seed))
        .map_err(|e| LoadTestError::Signing(e.to_string()))
}

/// The hotkey a load test associates to: its own, derived from the funder's address, so
/// that it never adds addresses to a real miner's hotkey.
pub fn loadtest_hotkey(funder: Address) -> B256 {
    keccak256([b"taonado-loadtest-hotkey".as_slice(), funder.as_slice()].concat())
}

/// Gas for a call, from the node's estimate with half again as headroom.
async fn estimate(
    rpc: &Rpc,
    from: Address,
    to: Address,
    value: U256,
    input: &Bytes,
) -> Result<u64, LoadTestError> {
    let estimate = rpc
        .quantity(
            "eth_estimateGas",
            json!([{"from": from, "to": to, "value": value, "data": input}]),
        )
        .await?;
    Ok((estimate as u64).saturating_mul(3) / 2)
}

/// Builds the slots of `plan`: the templates with the node's gas estimates, the one-shot
/// wallets and the notes (backed up before this returns). `salt` makes this run's one-shot
/// wallets differ from every earlier run's.
pub async fn build(plan: &Plan, rpc: &Rpc, salt: u64) -> Result<Workload, LoadTestError> {
    let funder = plan.funder.address();
    let kinds = plan.scenario.kinds();
    let mut templates = Vec::with_capacity(kinds.len());
    for kind in &kinds {
        templates.push(match kind {
            Kind::Transfer => TxTemplate {
                to: funder,
                value: U256::from(1),
                input: Bytes::new(),
                gas_limit: 21_000,
                kind: "transfer",
            },
            Kind::Wrap => {
                let wtao = required(plan.wtao, "WTAO", "--wtao")?;
                let input = Bytes::from(WTAO::depositCall {}.abi_encode());
                TxTemplate {
                    gas_limit: estimate(rpc, funder, wtao, U256::from(1), &input).await?,
                    to: wtao,
                    value: U256::from(1),
                    input,
                    kind: "wrap",
                }
            }
            Kind::Associate => {
                let tracker = required(plan.deposit_tracker, "a DepositTracker", "--tracker")?;
                let input = Bytes::from(
                    DepositTracker::associateCall {
                        hotkey: loadtest_hotkey(funder),
                    }
                    .abi_encode(),
                );
                // Estimated from a wallet never associated (the funder may have been).
                let fresh = one_shot(&plan.funder, salt, u64::MAX)?.address();
                TxTemplate {
                    gas_limit: estimate(rpc, fresh, tracker, U256::ZERO, &input).await?,
                    to: tracker,
                    value: U256::ZERO,
                    input,
                    kind: "associate",
                }
            }
            Kind::MixerDeposit => {
                let pool = plan.pool.as_ref().ok_or_else(|| {
                    LoadTestError::InvalidPlan(
                        "this scenario needs a mixer pool: deploy first or pass --pool ADDRESS"
                            .into(),
                    )
                })?;
                // The estimate needs an allowance and a balance, which the children only
                // get during preparation: the pool's gas is a fixed generous bound instead
                // (a deposit costs ~1 M gas; a failed one is reported by its receipt).
                TxTemplate {
                    to: pool.address,
                    value: U256::ZERO,
                    input: Bytes::new(),
                    gas_limit: Kind::MixerDeposit.estimated_gas(),
                    kind: "mixer-deposit",
                }
            }
        });
    }
    let mut workload = Workload {
        templates,
        kinds,
        one_shots: HashMap::new(),
        inputs: HashMap::new(),
        notes: None,
    };
    let len = workload.kinds.len() as u64;
    for (position, kind) in workload.kinds.clone().into_iter().enumerate() {
        let slots = (position as u64..plan.transactions).step_by(len as usize);
        match kind {
            Kind::Associate => {
                for slot in slots {
                    workload
                        .one_shots
                        .insert(slot, one_shot(&plan.funder, salt, slot)?);
                }
            }
            Kind::MixerDeposit => {
                let Some(pool) = &plan.pool else { continue };
                let mut notes = Vec::new();
                for slot in slots {
                    let note =
                        Note::generate(CURRENCY, &pool.amount, plan.chain_id, &mut rand::rng())
                            .map_err(|e| {
                                LoadTestError::InvalidPlan(format!("a mixer note: {e}"))
                            })?;
                    let commitment = fr_to_b256(note.commitment());
                    workload.inputs.insert(
                        slot,
                        Bytes::from(
                            ERC20Taonado::depositCall {
                                _commitment: commitment,
                            }
                            .abi_encode(),
                        ),
                    );
                    notes.push((note, commitment));
                }
                let path = plan.notes.clone().ok_or_else(|| {
                    LoadTestError::InvalidPlan(
                        "mixer deposits need a file for their notes (--notes FILE)".into(),
                    )
                })?;
                let ops_pool = Pool {
                    denomination: pool.denomination,
                    amount: pool.amount.clone(),
                    address: pool.address,
                    deployed_block: 0,
                };
                taonado_ops::mixer::append_note_backups(&path, &ops_pool, &notes)
                    .map_err(|e| LoadTestError::Notes(e.to_string()))?;
                workload.notes = Some((path, notes.len() as u64));
            }
            Kind::Transfer | Kind::Wrap => {}
        }
    }
    Ok(workload)
}

fn required(address: Option<Address>, what: &str, flag: &str) -> Result<Address, LoadTestError> {
    address.ok_or_else(|| {
        LoadTestError::InvalidPlan(format!(
            "this scenario needs {what}: deploy first or pass {flag} ADDRESS"
        ))
    })
}

/// What a child wallet must do before the load so that its mixer deposits can succeed:
/// wrap `wrap` wei into WTAO and approve the pool.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DepositPrep {
    pub wrap: U256,
    pub approve: bool,
}

impl DepositPrep {
    /// For a child that may send up to `deposits` deposits of `denomination`, holding
    /// `balance` WTAO and having allowed the pool `allowance`.
    pub fn of(deposits: u64, denomination: U256, balance: U256, allowance: U256) -> Self {
        let need = denomination * U256::from(deposits);
        Self {
            wrap: need.saturating_sub(balance),
            approve: allowance < need,
        }
    }

    /// The prep transactions, in nonce order: `wrap` then `approve` (max allowance, so a
    /// later run approves nothing).
    pub fn transactions(&self, wtao: Address, pool: Address) -> Vec<TxTemplate> {
        let mut txs = Vec::new();
        if !self.wrap.is_zero() {
            txs.push(TxTemplate {
                to: wtao,
                value: self.wrap,
                input: Bytes::from(WTAO::depositCall {}.abi_encode()),
                gas_limit: 100_000,
                kind: "prep: wrap",
            });
        }
        if self.approve {
            txs.push(TxTemplate {
                to: wtao,
                value: U256::ZERO,
                input: Bytes::from(
                    WTAO::approveCall {
                        guy: pool,
                        wad: U256::MAX,
                    }
                    .abi_encode(),
                ),
                gas_limit: 100_000,
                kind: "prep: approve",
            });
        }
        txs
    }

    /// Native wei the prep transactions take at `gas_price` (value and fees).
    pub fn cost(&self, wtao: Address, pool: Address, gas_price: u128) -> U256 {
        self.transactions(wtao, pool)
            .iter()
            .map(|t| t.value + U256::from(t.gas_limit) * U256::from(gas_price))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn slots_of_a_kind_follow_the_rotation() {
        let mixed = [
            Kind::Transfer,
            Kind::Wrap,
            Kind::Associate,
            Kind::MixerDeposit,
        ];
        assert_eq!(count_slots(&mixed, Kind::Transfer, 1000), 250);
        assert_eq!(count_slots(&mixed, Kind::Associate, 3), 1);
        assert_eq!(count_slots(&mixed, Kind::MixerDeposit, 3), 0);
        assert_eq!(count_slots(&mixed, Kind::MixerDeposit, 4), 1);
        assert_eq!(count_slots(&[Kind::Associate], Kind::Associate, 7), 7);
    }

    proptest! {
        #[test]
        fn every_slot_has_exactly_one_kind(slots in 0u64..5000, len in 1usize..6) {
            let all = [Kind::Transfer, Kind::Wrap, Kind::Associate, Kind::MixerDeposit, Kind::Transfer];
            let kinds = &all[..len.min(4)];
            let total: u64 = [Kind::Transfer, Kind::Wrap, Kind::Associate, Kind::MixerDeposit]
                .iter()
                .map(|k| count_slots(kinds, *k, slots))
                .sum();
            prop_assert_eq!(total, slots);
        }
    }

    #[test]
    fn one_shot_wallets_are_distinct_per_slot_and_per_run() {
        let funder = PrivateKeySigner::from_bytes(&B256::repeat_byte(1)).unwrap();
        let a = one_shot(&funder, 7, 0).unwrap().address();
        assert_eq!(a, one_shot(&funder, 7, 0).unwrap().address());
        assert_ne!(a, one_shot(&funder, 7, 1).unwrap().address());
        assert_ne!(a, one_shot(&funder, 8, 0).unwrap().address());
        assert_ne!(a, crate::wallets::child(&funder, 0).unwrap().address());
        assert_ne!(loadtest_hotkey(funder.address()), B256::ZERO);
    }

    #[test]
    fn deposit_prep_wraps_only_what_is_missing() {
        let tenth = U256::from(100_000_000_000_000_000u128);
        let prep = DepositPrep::of(20, tenth, tenth * U256::from(5), U256::ZERO);
        assert_eq!(prep.wrap, tenth * U256::from(15));
        assert!(prep.approve);
        let ready = DepositPrep::of(20, tenth, tenth * U256::from(30), U256::MAX);
        assert_eq!(ready, DepositPrep::default());
        assert!(ready.transactions(Address::ZERO, Address::ZERO).is_empty());
        let wtao = Address::repeat_byte(1);
        let txs = prep.transactions(wtao, Address::repeat_byte(2));
        assert_eq!(txs.len(), 2);
        assert_eq!(txs[0].value, prep.wrap);
        assert_eq!(&txs[1].input[..4], &WTAO::approveCall::SELECTOR);
    }
}
