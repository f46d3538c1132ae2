//! A store with three days of scripted protocol activity (2026-11-02 to 2026-11-04 UTC),
//! for the reports' tests and the CLI's: blocks every 10 minutes, WTAO wraps, pool
//! deposits by associated addresses, weight settings with bounties, failures, one gas price
//! spike and one gas used spike, metagraph snapshots every 6 hours, an alert that fires and
//! resolves, and the monitor's minutes with a 30-minute network outage.

use std::collections::BTreeSet;

use alloy::primitives::{Address, B256, U256};
use serde_json::json;
use taonado_store::alerts::{ActiveAlert, Severity};
use taonado_store::{
    Association, AssociationSource, BlockBatch, BlockRecord, ContractKind, EventRecord, NeuronRow,
    Snapshot, Store, StoreError, TxRecord,
};

/// 2026-11-02 00:00:00 UTC, a Monday.
pub const START: u64 = 1_793_577_600;
/// Blocks, one every 10 minutes for three days.
pub const BLOCKS: u64 = 3 * 144;
/// The gas price of every transaction but the spike (1 gwei).
pub const PRICE: u128 = 1_000_000_000;
/// The block whose `deposit` paid 10x the gas price.
pub const PRICE_SPIKE_BLOCK: u64 = 200;
/// The block whose `associate` used 5x the gas.
pub const GAS_SPIKE_BLOCK: u64 = 250;

fn hash(tag: u8, n: u64) -> B256 {
    let mut bytes = [tag; 32];
    bytes[24..].copy_from_slice(&n.to_be_bytes());
    B256::from(bytes)
}

/// The hotkey of uid `uid`.
pub fn hotkey(uid: u16) -> B256 {
    B256::repeat_byte(0x10 + uid as u8)
}

/// The EVM address `i` of the miners (0 and 1 belong to uid 1, 2 to uid 2).
pub fn miner_address(i: u8) -> Address {
    Address::repeat_byte(0xa0 + i)
}

const POOL: Address = Address::repeat_byte(0x50);
const WTAO: Address = Address::repeat_byte(0x57);
const TRACKER: Address = Address::repeat_byte(0x7a);
const VALIDATOR: Address = Address::repeat_byte(0x7f);

/// Fills `store` (empty, chain id set here) with the scripted activity.
pub fn fill(store: &Store) -> Result<(), StoreError> {
    store.init_chain(31337)?;
    let mut batch = BlockBatch::default();
    for n in 0..BLOCKS {
        let timestamp = START + n * 600;
        batch.blocks.push(BlockRecord {
            number: n,
            hash: hash(0xb0, n),
            parent_hash: if n == 0 {
                B256::ZERO
            } else {
                hash(0xb0, n - 1)
            },
            timestamp,
            base_fee_per_gas: Some(1),
            protocol: true,
        });
        // one transaction per block, rotating through the functions
        let (to, contract, function, gas) = match n % 4 {
            0 => (WTAO, ContractKind::Wtao, "deposit", 45_000 + n % 7 * 100),
            1 => (
                POOL,
                ContractKind::Pool,
                "deposit",
                1_100_000 + n % 5 * 1_000,
            ),
            2 => (
                TRACKER,
                ContractKind::DepositTracker,
                "associate",
                70_000 + n % 3 * 500,
            ),
            _ => (
                VALIDATOR,
                ContractKind::EvmValidator,
                "setWeights",
                200_000 + n % 11 * 100,
            ),
        };
        let gas = if n == GAS_SPIKE_BLOCK { gas * 5 } else { gas };
        let success = n % 37 != 5;
        let tx_hash = hash(0xc0, n);
        let from = miner_address((n % 3) as u8);
        batch.transactions.push(TxRecord {
            hash: tx_hash,
            block_number: n,
            tx_index: 0,
            from,
            to,
            contract,
            function: function.into(),
            input: Vec::new(),
            value: U256::ZERO,
            success,
            gas_limit: gas * 2,
            gas_used: gas,
            effective_gas_price: if n == PRICE_SPIKE_BLOCK {
                PRICE * 10
            } else {
                PRICE + u128::from(n % 3) * 10_000_000
            },
        });
        if !success {
            continue;
        }
        let event = |name: &str,
                     address: Address,
                     contract: ContractKind,
                     decoded: serde_json::Value| EventRecord {
            block_number: n,
            log_index: 0,
            block_hash: hash(0xb0, n),
            tx_hash,
            tx_index: 0,
            address,
            contract,
            name: name.into(),
            topics: Vec::new(),
            data: Vec::new(),
            decoded,
        };
        match n % 4 {
            0 => batch.events.push(event("Deposit", WTAO, ContractKind::Wtao, json!({ "dst": from, "wad": "1000000000000000000" }))),
            1 => batch.events.push(event(
                "Deposit",
                POOL,
                ContractKind::Pool,
                json!({ "commitment": hash(0xd0, n), "leafIndex": (n / 4).to_string(), "timestamp": timestamp.to_string(), "user": from }),
            )),
            3 => batch.events.push(event(
                "BountyPaid",
                VALIDATOR,
                ContractKind::EvmValidator,
                json!({ "who": from, "gasUsedByCall": "150000", "weiRefunded": "300000000000000", "gasUsedByBookkeeping": "20000" }),
            )),
            _ => {}
        }
    }
    // three associations: two addresses of uid 1 (day 1 and day 2), one of uid 2 (day 3)
    for (address, uid, block) in [(0u8, 1u16, 2u64), (1, 1, 150), (2, 2, 290)] {
        batch.associations.push(Association {
            address: miner_address(address),
            hotkey: hotkey(uid),
            block_number: block,
            tx_hash: hash(0xc0, block),
            source: AssociationSource::Event,
        });
    }
    store.write_batch(&batch, None)?;
    // metagraph snapshots every 6 hours: uid 0 (burn), 1, 2, 3; uid 2 rises after day 2
    for n in (0..BLOCKS).step_by(36) {
        let late = n >= 288;
        let weights = vec![
            (0, 30_000),
            (1, if late { 20_000 } else { 35_535 }),
            (2, if late { 15_535 } else { 0 }),
            (3, 0),
        ];
        store.write_snapshot(&Snapshot {
            block: n,
            timestamp: START + n * 600,
            wtao_supply: U256::from(n) * U256::from(10u64).pow(U256::from(18u64)),
            validator_balance: U256::from(5u64) * U256::from(10u64).pow(U256::from(18u64)),
            balances: Vec::new(),
            weights: weights.clone(),
            neurons: weights
                .iter()
                .map(|&(uid, w)| NeuronRow {
                    uid,
                    hotkey: hotkey(uid),
                    coldkey: B256::repeat_byte(0xee),
                    stake_rao: 1_000_000_000,
                    emission_rao: u64::from(w) * 10_000,
                    incentive: w,
                    is_active: true,
                    validator_permit: uid == 0,
                    last_update: n,
                })
                .collect(),
        })?;
    }
    // an alert on day 2 at 10:00, resolved at 10:45
    let rules: BTreeSet<String> = ["gas_price".to_owned()].into();
    let alert = ActiveAlert {
        dedup_key: "gas_price".into(),
        rule: "gas_price".into(),
        severity: Severity::Warning,
        summary: "gas price 10 gwei is above the 5 gwei threshold".into(),
        details: json!({}),
        block: Some(PRICE_SPIKE_BLOCK),
    };
    let day2 = START + 86_400;
    store.apply_alerts(&[alert], &rules, day2 + 36_000)?;
    store.apply_alerts(&[], &rules, day2 + 36_000 + 2_700)?;
    // the monitor ran from day 1 06:00 to day 3 18:00, one round every 20 s; the chain
    // did not answer on day 2 from 12:00 to 12:30
    let rounds = ((START + 6 * 3600)..(START + 2 * 86_400 + 18 * 3600))
        .step_by(20)
        .map(|at| {
            let down = (day2 + 12 * 3600..day2 + 12 * 3600 + 1800).contains(&at);
            (at, !down)
        });
    store.record_checks("local", rounds)?;
    Ok(())
}
