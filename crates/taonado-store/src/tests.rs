//! Store behaviour on synthetic chains: batches, duplicates, rollbacks, queries.

use alloy_primitives::{Address, B256, U256};
use proptest::prelude::*;
use serde_json::json;

use super::*;

fn hash(number: u64, branch: u8) -> B256 {
    let mut bytes = [branch; 32];
    bytes[..8].copy_from_slice(&number.to_be_bytes());
    B256::from(bytes)
}

fn block(number: u64, branch: u8, parent_branch: u8, protocol: bool) -> BlockRecord {
    BlockRecord {
        number,
        hash: hash(number, branch),
        parent_hash: if number == 0 {
            B256::ZERO
        } else {
            hash(number - 1, parent_branch)
        },
        timestamp: 1_700_000_000 + number * 12,
        base_fee_per_gas: Some(20),
        protocol,
    }
}

fn tx(
    number: u64,
    index: u64,
    contract: ContractKind,
    function: &str,
    success: bool,
    price: u128,
) -> TxRecord {
    TxRecord {
        hash: B256::from(U256::from(number * 1000 + index)),
        block_number: number,
        tx_index: index,
        from: Address::repeat_byte(0xaa),
        to: Address::repeat_byte(0xbb),
        contract,
        function: function.into(),
        input: vec![1, 2, 3],
        value: U256::ZERO,
        success,
        gas_limit: 100_000,
        gas_used: 50_000,
        effective_gas_price: price,
    }
}

fn event(
    number: u64,
    log_index: u64,
    contract: ContractKind,
    name: &str,
    decoded: serde_json::Value,
) -> EventRecord {
    EventRecord {
        block_number: number,
        log_index,
        block_hash: hash(number, 0),
        tx_hash: B256::from(U256::from(number * 1000)),
        tx_index: 0,
        address: Address::repeat_byte(0xcc),
        contract,
        name: name.into(),
        topics: vec![B256::repeat_byte(1), B256::repeat_byte(2)],
        data: vec![9; 64],
        decoded,
    }
}

fn chain(range: std::ops::RangeInclusive<u64>, branch: u8) -> BlockBatch {
    BlockBatch {
        blocks: range
            .map(|n| block(n, branch, if n == 0 { 0 } else { branch }, false))
            .collect(),
        ..BlockBatch::default()
    }
}

fn store() -> Store {
    let store = Store::open_in_memory().unwrap();
    store.init_chain(42).unwrap();
    store
}

#[test]
fn batches_move_the_checkpoint_and_must_extend_it() {
    crate::testing::on_each_backend("batches_move_the_checkpoint_and_must_extend_it", |store| {
        store.init_chain(42).unwrap();
        assert_eq!(store.checkpoint().unwrap(), None);
        store.write_batch(&chain(0..=4, 0), None).unwrap();
        assert_eq!(
            store.checkpoint().unwrap().map(|c| (c.number, c.hash)),
            Some((4, hash(4, 0)))
        );
        // A batch that skips a block or forks from the checkpoint is refused, nothing written.
        let gap = store.write_batch(&chain(6..=7, 0), None).unwrap_err();
        assert!(
            matches!(gap, StoreError::Corrupt { what: "batch", .. }),
            "{gap}"
        );
        let fork = store.write_batch(&chain(5..=6, 9), None).unwrap_err();
        assert!(matches!(fork, StoreError::Corrupt { .. }), "{fork}");
        assert_eq!(store.checkpoint().unwrap().map(|c| c.number), Some(4));
        assert_eq!(store.block_hashes(0, 10).unwrap().len(), 5);
    });
}

#[test]
fn a_duplicate_row_aborts_the_whole_batch() {
    crate::testing::on_each_backend("a_duplicate_row_aborts_the_whole_batch", |store| {
        store.init_chain(42).unwrap();
        store.write_batch(&chain(0..=1, 0), None).unwrap();
        let mut batch = chain(2..=3, 0);
        batch.events = vec![
            event(2, 0, ContractKind::Wtao, "Deposit", json!({})),
            event(2, 0, ContractKind::Wtao, "Deposit", json!({})),
        ];
        let err = store.write_batch(&batch, None).unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Duplicate {
                    what: "event",
                    block: 2
                }
            ),
            "{err}"
        );
        assert_eq!(store.checkpoint().unwrap().map(|c| c.number), Some(1));
        assert!(store.events(&EventFilter::default()).unwrap().is_empty());
    });
}

#[test]
fn chain_id_is_bound_once() {
    crate::testing::on_each_backend("chain_id_is_bound_once", |store| {
        store.init_chain(42).unwrap();
        store.init_chain(42).unwrap();
        let err = store.init_chain(43).unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::ChainMismatch {
                    stored: 42,
                    requested: 43
                }
            ),
            "{err}"
        );
        assert_eq!(store.chain_id().unwrap(), Some(42));
    });
}

#[test]
fn rollback_removes_everything_above_the_ancestor() {
    crate::testing::on_each_backend("rollback_removes_everything_above_the_ancestor", |store| {
        store.init_chain(42).unwrap();
        let mut batch = chain(0..=5, 0);
        batch.blocks[4].protocol = true;
        batch.transactions = vec![tx(4, 0, ContractKind::Wtao, "deposit", true, 10)];
        batch.events = vec![event(4, 0, ContractKind::Wtao, "Deposit", json!({}))];
        batch.associations = vec![Association {
            address: Address::repeat_byte(7),
            hotkey: B256::repeat_byte(8),
            block_number: 5,
            tx_hash: B256::repeat_byte(9),
            source: AssociationSource::Calldata,
        }];
        store.write_batch(&batch, None).unwrap();
        assert_eq!(store.rollback_to(Some((3, hash(3, 0)))).unwrap(), 2);
        assert_eq!(store.checkpoint().unwrap().map(|c| c.number), Some(3));
        assert!(store.recent_transactions(10).unwrap().is_empty());
        assert!(store.events(&EventFilter::default()).unwrap().is_empty());
        assert!(store.associations().unwrap().is_empty());
        // The other branch now extends the ancestor.
        let mut other = chain(4..=6, 1);
        other.blocks[0].parent_hash = hash(3, 0);
        store.write_batch(&other, None).unwrap();
        assert_eq!(
            store.checkpoint().unwrap().map(|c| c.hash),
            Some(hash(6, 1))
        );
        assert_eq!(store.rollback_to(None).unwrap(), 7);
        assert_eq!(store.checkpoint().unwrap(), None);
    });
}

#[test]
fn pruning_keeps_protocol_blocks_and_the_reorg_window() {
    crate::testing::on_each_backend(
        "pruning_keeps_protocol_blocks_and_the_reorg_window",
        |store| {
            store.init_chain(42).unwrap();
            let mut batch = chain(0..=9, 0);
            batch.blocks[2].protocol = true;
            store.write_batch(&batch, Some(7)).unwrap();
            let kept: Vec<u64> = store
                .block_hashes(0, 9)
                .unwrap()
                .into_iter()
                .map(|(n, _)| n)
                .collect();
            assert_eq!(kept, vec![9, 8, 7, 2]);
        },
    );
}

#[test]
fn queries_compute_the_monitor_metrics() {
    crate::testing::on_each_backend("queries_compute_the_monitor_metrics", |store| {
        store.init_chain(42).unwrap();
        let mut batch = chain(0..=9, 0);
        for b in &mut batch.blocks {
            b.protocol = true;
        }
        batch.transactions = vec![
            tx(1, 0, ContractKind::Wtao, "deposit", true, 10),
            tx(2, 0, ContractKind::DepositTracker, "associate", false, 30),
            tx(
                3,
                0,
                ContractKind::EvmValidator,
                "operatorSetWeights",
                true,
                20,
            ),
            tx(8, 0, ContractKind::EvmValidator, "setWeights", true, 40),
            tx(9, 0, ContractKind::EvmValidator, "setWeights", false, 40),
        ];
        let user = Address::repeat_byte(0x42);
        batch.events = vec![
            event(
                4,
                0,
                ContractKind::Pool,
                "Deposit",
                json!({"user": user.to_checksum(None)}),
            ),
            event(
                5,
                0,
                ContractKind::Pool,
                "Deposit",
                json!({"user": Address::repeat_byte(1).to_checksum(None)}),
            ),
            event(
                6,
                3,
                ContractKind::Pool,
                "Withdrawal",
                json!({"to": user.to_checksum(None)}),
            ),
            event(
                7,
                0,
                ContractKind::Pool,
                "Withdrawal",
                json!({"to": Address::repeat_byte(2).to_checksum(None)}),
            ),
            {
                let mut e = event(
                    8,
                    1,
                    ContractKind::EvmValidator,
                    "BountyPaid",
                    json!({"weiRefunded": "12345"}),
                );
                e.tx_hash = B256::from(U256::from(8000));
                e
            },
        ];
        store.write_batch(&batch, None).unwrap();

        let all = store.tx_stats(Window::All, None).unwrap();
        assert_eq!((all.total, all.succeeded, all.failed), (5, 3, 2));
        assert_eq!(all.success_rate, Some(0.6));
        assert_eq!(all.avg_gas_price_wei, Some(28.0));
        assert_eq!(all.max_gas_price_wei, Some(40));
        let recent = store.tx_stats(Window::LastBlocks(2), None).unwrap();
        assert_eq!(recent.total, 2, "blocks 8 and 9");
        let since = store
            .tx_stats(
                Window::SinceUnix(1_700_000_000 + 3 * 12),
                Some(ContractKind::EvmValidator),
            )
            .unwrap();
        assert_eq!(since.total, 3);
        assert_eq!(
            store
                .tx_stats(Window::LastBlocks(0), None)
                .unwrap()
                .success_rate,
            None
        );

        let failed = store.failed_transactions(Window::All, 10).unwrap();
        assert_eq!(
            failed.iter().map(|t| t.block_number).collect::<Vec<_>>(),
            vec![9, 2]
        );

        let sets = store.weight_sets(Window::All).unwrap();
        assert_eq!(
            sets.iter()
                .map(|s| (s.block, s.operator))
                .collect::<Vec<_>>(),
            vec![(3, true), (8, false)]
        );
        assert_eq!(sets[1].bounty_wei, Some(U256::from(12345)));
        assert_eq!(store.last_weight_set().unwrap().map(|s| s.block), Some(8));

        let pools = store.pool_activity(Window::All).unwrap();
        assert_eq!(
            pools
                .iter()
                .map(|p| (p.deposits, p.withdrawals))
                .collect::<Vec<_>>(),
            vec![(2, 2)]
        );
        let selfish = store.self_withdrawals(Window::All).unwrap();
        assert_eq!(selfish.len(), 1);
        assert_eq!(
            (
                selfish[0].address,
                selfish[0].deposit_block,
                selfish[0].withdrawal_block
            ),
            (user, 4, 6)
        );

        let buckets = store.gas_price_buckets(Window::All, 60).unwrap();
        assert_eq!(buckets.iter().map(|b| b.txs).sum::<u64>(), 5);

        let filtered = store
            .events(&EventFilter {
                contract: Some(ContractKind::Pool),
                name: Some("Deposit".into()),
                ..EventFilter::default()
            })
            .unwrap();
        assert_eq!(filtered.len(), 2);
        assert_eq!(filtered[0].decoded["user"], user.to_checksum(None));
    });
}

#[test]
fn snapshots_round_trip_and_count_active_miners() {
    crate::testing::on_each_backend("snapshots_round_trip_and_count_active_miners", |store| {
        store.init_chain(42).unwrap();
        store.write_batch(&chain(0..=3, 0), None).unwrap();
        let snapshot = Snapshot {
            block: 1,
            timestamp: 1_700_000_012,
            wtao_supply: U256::from(1000),
            validator_balance: U256::from(5),
            balances: vec![
                SnapshotBalance {
                    kind: "pool".into(),
                    holder: Address::repeat_byte(3),
                    amount: U256::from(100),
                },
                SnapshotBalance {
                    kind: "wtao".into(),
                    holder: Address::repeat_byte(4),
                    amount: U256::from(900),
                },
            ],
            weights: vec![(0, 100), (1, 0), (2, 65000), (3, 435)],
            neurons: vec![NeuronRow {
                uid: 2,
                hotkey: B256::repeat_byte(5),
                coldkey: B256::repeat_byte(6),
                stake_rao: 10,
                emission_rao: 20,
                incentive: 30,
                is_active: true,
                validator_permit: false,
                last_update: 7,
            }],
        };
        assert!(store.write_snapshot(&snapshot).unwrap());
        assert!(
            !store.write_snapshot(&snapshot).unwrap(),
            "one snapshot per block"
        );
        assert_eq!(store.latest_snapshot().unwrap(), Some(snapshot.clone()));
        assert_eq!(
            store.active_miners().unwrap(),
            Some(ActiveMiners { block: 1, count: 2 })
        );
        let series = store.snapshot_series(Window::All).unwrap();
        assert_eq!(series[0].pools_total, U256::from(100));
        // The snapshot's block was pruned-eligible but is kept because a snapshot needs it.
        store.write_batch(&chain(4..=9, 0), Some(9)).unwrap();
        assert_eq!(store.last_snapshot_block().unwrap(), Some(1));
        // A rollback below it deletes it.
        store.rollback_to(None).unwrap();
        assert_eq!(store.latest_snapshot().unwrap(), None);
    });
}

#[test]
fn file_database_reopens_and_refuses_a_newer_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.sqlite");
    {
        let store = Store::open(&path).unwrap();
        store.init_chain(42).unwrap();
        store.write_batch(&chain(0..=2, 0), None).unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.checkpoint().unwrap().map(|c| c.number), Some(2));
    assert_eq!(
        store.schema_version().unwrap(),
        migrations::latest_version(MIGRATIONS)
    );
    drop(store);
    let mut newer = MIGRATIONS.to_vec();
    newer.push(Migration {
        version: 999,
        name: "future",
        sql: "CREATE TABLE future (x INTEGER);",
    });
    drop(Store::open_with(&path, &newer).unwrap());
    let err = Store::open(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::SchemaTooNew { found: 999, .. }),
        "{err}"
    );
}

proptest! {
    /// Any sequence of batches and rollbacks keeps the invariant the crash test relies on:
    /// stored blocks are exactly start..=checkpoint (within the kept window), each links to
    /// its parent, and no block is stored twice.
    #[test]
    fn batches_and_rollbacks_keep_a_linked_chain(ops in proptest::collection::vec((any::<bool>(), 1u64..6), 1..30)) {
        let store = store();
        // branch per height, so a rollback followed by new blocks builds a different fork.
        let mut branch_of: Vec<u8> = Vec::new();
        for (i, (advance, n)) in ops.into_iter().enumerate() {
            let top = store.checkpoint().unwrap().map(|c| c.number);
            if advance {
                let start = top.map_or(0, |t| t + 1);
                let fork = (i % 200) as u8 + 1;
                let parent = top.map(|t| branch_of[t as usize]).unwrap_or(fork);
                let mut blocks = Vec::new();
                for number in start..start + n {
                    let parent_branch = if number == start { parent } else { fork };
                    blocks.push(block(number, fork, parent_branch, false));
                    branch_of.truncate(number as usize);
                    branch_of.push(fork);
                }
                store.write_batch(&BlockBatch { blocks, ..BlockBatch::default() }, None).unwrap();
            } else if let Some(t) = top {
                let target = t.checked_sub(n);
                let ancestor = target.map(|a| (a, hash(a, branch_of[a as usize])));
                store.rollback_to(ancestor).unwrap();
            }
            let stored = store.block_hashes(0, u64::MAX >> 2).unwrap();
            let top = store.checkpoint().unwrap().map(|c| c.number);
            prop_assert_eq!(stored.len() as u64, top.map_or(0, |t| t + 1));
            for pair in stored.windows(2) {
                prop_assert_eq!(pair[0].0, pair[1].0 + 1);
            }
            for (number, h) in &stored {
                prop_assert_eq!(*h, hash(*number, branch_of[*number as usize]));
            }
        }
    }
}

#[test]
fn associations_from_storage_are_added_once() {
    crate::testing::on_each_backend("associations_from_storage_are_added_once", |store| {
        store.init_chain(42).unwrap();
        store.write_batch(&chain(0..=2, 0), None).unwrap();
        let hotkey = B256::repeat_byte(3);
        let found = |byte: u8, source| Association {
            address: Address::repeat_byte(byte),
            hotkey,
            block_number: 2,
            tx_hash: B256::ZERO,
            source,
        };
        assert_eq!(store.association_count(hotkey).unwrap(), 0);
        let added = store
            .add_associations(&[
                found(1, AssociationSource::State),
                found(2, AssociationSource::State),
            ])
            .unwrap();
        assert_eq!(added, 2);
        // Known addresses keep their first source.
        assert_eq!(
            store
                .add_associations(&[found(1, AssociationSource::Event)])
                .unwrap(),
            0
        );
        assert_eq!(store.association_count(hotkey).unwrap(), 2);
        assert!(
            store
                .associations()
                .unwrap()
                .iter()
                .all(|a| a.source == AssociationSource::State)
        );
    });
}

#[test]
fn wtao_flows_sum_after_a_matching_anchor_else_from_genesis() {
    crate::testing::on_each_backend(
        "wtao_flows_sum_after_a_matching_anchor_else_from_genesis",
        |store| {
            store.init_chain(42).unwrap();
            let mut batch = chain(0..=5, 0);
            batch.events = vec![
                event(2, 0, ContractKind::Wtao, "Deposit", json!({"wad": "100"})),
                // Same names on another contract are not WTAO's flows.
                event(2, 1, ContractKind::Pool, "Deposit", json!({"wad": "1000"})),
                event(3, 0, ContractKind::Wtao, "Withdrawal", json!({"wad": "30"})),
                event(3, 1, ContractKind::Wtao, "Transfer", json!({"wad": "5000"})),
                event(5, 0, ContractKind::Wtao, "Deposit", json!({"wad": "7"})),
            ];
            store.write_batch(&batch, None).unwrap();
            let sums = |f: WtaoFlows| (f.after, f.deposited, f.withdrawn, f.events);
            let everything = (None, U256::from(107), U256::from(30), 3);

            let full = store.wtao_flows(None, 5).unwrap();
            assert_eq!(sums(full), everything);
            assert_eq!(full.to_hash, Some(hash(5, 0)));
            let tail = store.wtao_flows(Some((3, hash(3, 0))), 5).unwrap();
            assert_eq!(sums(tail), (Some(3), U256::from(7), U256::ZERO, 1));
            // An anchor the store no longer agrees with, or one above `to`, is not trusted.
            let forked = store.wtao_flows(Some((3, hash(3, 9))), 5).unwrap();
            assert_eq!(sums(forked), everything);
            let ahead = store.wtao_flows(Some((5, hash(5, 0))), 3).unwrap();
            assert_eq!(sums(ahead), (None, U256::from(100), U256::from(30), 2));
            assert_eq!(ahead.to_hash, Some(hash(3, 0)));
            assert_eq!(store.wtao_flows(None, 9).unwrap().to_hash, None);
        },
    );
}

#[test]
fn a_wtao_flow_without_a_decimal_wad_is_corrupt() {
    crate::testing::on_each_backend("a_wtao_flow_without_a_decimal_wad_is_corrupt", |store| {
        store.init_chain(42).unwrap();
        let mut batch = chain(0..=1, 0);
        batch.events = vec![event(
            1,
            0,
            ContractKind::Wtao,
            "Withdrawal",
            json!({"wad": 5}),
        )];
        store.write_batch(&batch, None).unwrap();
        let err = store.wtao_flows(None, 1).unwrap_err();
        assert!(
            matches!(err, StoreError::Corrupt { what: "WTAO event", ref detail } if detail.contains("block 1")),
            "{err}"
        );
    });
}

/// Keys of every outbox message, oldest first.
fn outbox_keys(store: &Store) -> Vec<String> {
    let mut messages = store.recent_messages(100).unwrap();
    messages.sort_by_key(|m| m.id);
    messages.into_iter().map(|m| m.idempotency_key).collect()
}

fn alert(dedup_key: &str, rule: &str) -> crate::alerts::ActiveAlert {
    crate::alerts::ActiveAlert {
        dedup_key: dedup_key.into(),
        rule: rule.into(),
        severity: crate::alerts::Severity::Critical,
        summary: "wrong".into(),
        details: json!({}),
        block: Some(4),
    }
}

/// A rebuilt database (or a second monitor) numbers its alerts from 1 again; a key made of
/// the row id would then name two different alerts, and a receiver that deduplicates would
/// drop the second. Keys come from the alert's identity instead.
#[test]
fn idempotency_keys_name_the_alert_not_the_row() {
    let channels = vec!["hook".to_owned()];
    let rules: std::collections::BTreeSet<String> =
        ["gas", "balance"].iter().map(|r| (*r).to_owned()).collect();
    let first = store();
    first.write_batch(&chain(0..=4, 0), None).unwrap();
    first
        .apply_alerts(&[alert("gas:avg", "gas")], &rules, 100)
        .unwrap();
    first
        .flush_alert_groups(&crate::groups::Grouping::per_alert(), &channels, 100)
        .unwrap();
    // A rebuilt database: another alert is row 1 again, on another branch of blocks.
    let rebuilt = store();
    rebuilt.write_batch(&chain(0..=4, 1), None).unwrap();
    rebuilt
        .apply_alerts(&[alert("balance:low", "balance")], &rules, 100)
        .unwrap();
    rebuilt
        .flush_alert_groups(&crate::groups::Grouping::per_alert(), &channels, 100)
        .unwrap();
    // The same alert at another block and time is another episode: another key.
    let later = store();
    later.write_batch(&chain(0..=6, 0), None).unwrap();
    later
        .apply_alerts(&[alert("gas:avg", "gas")], &rules, 200)
        .unwrap();
    later
        .flush_alert_groups(&crate::groups::Grouping::per_alert(), &channels, 200)
        .unwrap();
    let keys: Vec<String> = [&first, &rebuilt, &later]
        .iter()
        .flat_map(|s| outbox_keys(s))
        .collect();
    let unique: std::collections::BTreeSet<&String> = keys.iter().collect();
    assert_eq!(unique.len(), 3, "{keys:?}");

    // The same alert at the same block, time and chain: the same key (a resend dedups).
    let replay = store();
    replay.write_batch(&chain(0..=4, 0), None).unwrap();
    replay
        .apply_alerts(&[alert("gas:avg", "gas")], &rules, 100)
        .unwrap();
    replay
        .flush_alert_groups(&crate::groups::Grouping::per_alert(), &channels, 100)
        .unwrap();
    assert_eq!(outbox_keys(&replay), outbox_keys(&first));

    // Firing and resolving get different keys, and both stay after a restart of the rules.
    first.apply_alerts(&[], &rules, 101).unwrap();
    first
        .flush_alert_groups(&crate::groups::Grouping::per_alert(), &channels, 101)
        .unwrap();
    let both = outbox_keys(&first);
    assert_eq!(both.len(), 2);
    assert_ne!(both[0], both[1]);
    assert!(
        both.iter()
            .all(|k| k.starts_with("alert-") && k.len() == 38),
        "{both:?}"
    );
}

/// `alerts requeue`: dead letters go back to pending with a fresh schedule; sent messages
/// and other channels' dead letters stay as they are.
#[test]
fn requeue_revives_dead_letters_only() {
    crate::testing::on_each_backend("requeue_revives_dead_letters_only", |store| {
        store.init_chain(42).unwrap();
        let keys = store
            .enqueue_test_alert(&["a".to_owned(), "b".to_owned(), "c".to_owned()], "t", 0)
            .unwrap();
        assert_eq!(keys.len(), 3);
        let leased = store.lease_due_messages(0, 30, 10).unwrap();
        let id = |channel: &str| leased.iter().find(|m| m.channel == channel).unwrap().id;
        store.mark_failed(id("a"), "gone", None).unwrap();
        store.mark_failed(id("b"), "gone", None).unwrap();
        store.mark_sent(id("c"), 1).unwrap();
        assert_eq!(store.requeue_dead(Some("a"), 50).unwrap(), 1);
        let counts = store.outbox_counts().unwrap();
        assert_eq!((counts.pending, counts.sent, counts.dead), (1, 1, 1));
        assert_eq!(store.requeue_dead(None, 60).unwrap(), 1);
        let due = store.lease_due_messages(60, 30, 10).unwrap();
        assert_eq!(due.len(), 2);
        assert!(
            due.iter().all(|m| m.attempts == 1 && m.created_at >= 50),
            "{due:?}"
        );
        assert_eq!(store.requeue_dead(None, 70).unwrap(), 0);
    });
}

/// The one migration list on PostgreSQL: applied once (also by two processes opening the
/// same empty database at once), a newer database refused, a failing migration rolled
/// back whole.
#[test]
fn migrations_apply_on_postgres_as_on_sqlite() {
    let Some(url) = crate::testing::postgres_url("migrations_apply_on_postgres_as_on_sqlite")
    else {
        return;
    };
    let schema = crate::testing::fresh_schema(&url).unwrap();
    let openers: Vec<_> = (0..2)
        .map(|_| {
            let schema = schema.clone();
            std::thread::spawn(move || Store::open_postgres(&schema).map(|s| s.schema_version()))
        })
        .collect();
    for opener in openers {
        let version = opener.join().unwrap().unwrap().unwrap();
        assert_eq!(version, crate::migrations::latest_version(MIGRATIONS));
    }
    let store = Store::open_postgres(&schema).unwrap();
    let applied = store
        .with_conn(crate::migrations::applied_versions)
        .unwrap();
    assert_eq!(
        applied,
        MIGRATIONS.iter().map(|m| m.version).collect::<Vec<_>>()
    );

    let mut newer = MIGRATIONS.to_vec();
    newer.push(Migration {
        version: 9_999,
        name: "future",
        sql: "CREATE TABLE future (id INTEGER PRIMARY KEY, b BLOB);",
    });
    drop(Store::open_postgres_with(&schema, &newer).unwrap());
    let err = Store::open_postgres(&schema).unwrap_err();
    assert!(
        matches!(err, StoreError::SchemaTooNew { found: 9_999, .. }),
        "{err}"
    );

    let fresh = crate::testing::fresh_schema(&url).unwrap();
    let mut broken = MIGRATIONS.to_vec();
    broken.push(Migration {
        version: 9_999,
        name: "broken",
        sql: "CREATE TABLE ok_part (x INTEGER); THIS IS NOT SQL;",
    });
    let err = Store::open_postgres_with(&fresh, &broken).unwrap_err();
    assert!(
        matches!(err, StoreError::Migration { version: 9_999, .. }),
        "{err}"
    );
    let store = Store::open_postgres(&fresh).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        crate::migrations::latest_version(MIGRATIONS)
    );
    let partial: i64 = store
        .with_conn(|c| {
            c.query_row(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'ok_part' AND table_schema = current_schema()",
                [],
                |r| r.get(0),
            )
            .map_err(|source| StoreError::Sqlite { op: "test", source })
        })
        .unwrap();
    assert_eq!(
        partial, 0,
        "the failed migration's statements were rolled back"
    );
}
