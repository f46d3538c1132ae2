//! WTAO's wrapped total (Σ `Deposit.wad` − Σ `Withdrawal.wad`) kept as running sums, so an
//! evaluation reads only the events indexed since the previous one instead of WTAO's
//! whole history. The sums remember the block (and its hash) they cover; the store
//! extends them only while it still holds that block with that hash, so a rollback of
//! the indexer below it makes the next read start again from genesis.

use std::sync::Mutex;

use alloy::primitives::{B256, U256};
use taonado_store::Store;

use crate::error::Result;

/// The sums up to one stored block.
#[derive(Clone, Copy, Debug)]
struct Covered {
    block: u64,
    hash: B256,
    deposited: U256,
    withdrawn: U256,
}

/// The running sums, shared by the evaluations of one [`Monitor`](crate::Monitor).
#[derive(Debug, Default)]
pub struct WrappedTotals {
    covered: Mutex<Option<Covered>>,
}

/// One read of the wrapped total.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrappedRead {
    pub total: U256,
    /// WTAO `Deposit`/`Withdrawal` events read for it.
    pub events_read: u64,
    /// It extended the previous sums; false when it summed from genesis.
    pub extended: bool,
}

impl WrappedTotals {
    /// The wrapped total of WTAO's indexed events up to `block`.
    pub fn read(&self, store: &Store, block: u64) -> Result<WrappedRead> {
        // The sums are replaced only after a successful read, so a panic elsewhere while
        // the lock was held cannot leave them half updated.
        let mut covered = self.covered.lock().unwrap_or_else(|p| p.into_inner());
        let flows = store.wtao_flows(covered.map(|c| (c.block, c.hash)), block)?;
        let base = covered.filter(|_| flows.after.is_some());
        let deposited = base
            .map_or(U256::ZERO, |c| c.deposited)
            .saturating_add(flows.deposited);
        let withdrawn = base
            .map_or(U256::ZERO, |c| c.withdrawn)
            .saturating_add(flows.withdrawn);
        *covered = flows.to_hash.map(|hash| Covered {
            block,
            hash,
            deposited,
            withdrawn,
        });
        Ok(WrappedRead {
            total: deposited.saturating_sub(withdrawn),
            events_read: flows.events,
            extended: base.is_some(),
        })
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Address, B256, U256};
    use proptest::prelude::*;
    use serde_json::json;
    use taonado_store::{BlockBatch, BlockRecord, ContractKind, EventFilter, EventRecord, Store};

    use super::*;

    fn hash(number: u64, branch: u8) -> B256 {
        let mut bytes = [branch; 32];
        bytes[..8].copy_from_slice(&number.to_be_bytes());
        B256::from(bytes)
    }

    /// Blocks `from..=to` of `branch`, the first one's parent on `parent_branch`, with a
    /// WTAO event `(block, name, wad)` for each entry of `flows`.
    fn batch(
        from: u64,
        to: u64,
        branch: u8,
        parent_branch: u8,
        flows: &[(u64, &str, u64)],
    ) -> BlockBatch {
        let blocks = (from..=to)
            .map(|n| BlockRecord {
                number: n,
                hash: hash(n, branch),
                parent_hash: match n {
                    0 => B256::ZERO,
                    n if n == from => hash(n - 1, parent_branch),
                    n => hash(n - 1, branch),
                },
                timestamp: 1_700_000_000 + n * 12,
                base_fee_per_gas: Some(1),
                protocol: flows.iter().any(|f| f.0 == n),
            })
            .collect();
        let events = flows
            .iter()
            .enumerate()
            .map(|(i, &(block, name, wad))| EventRecord {
                block_number: block,
                log_index: i as u64,
                block_hash: hash(block, branch),
                tx_hash: B256::from(U256::from(block * 1000 + i as u64)),
                tx_index: 0,
                address: Address::repeat_byte(0x77),
                contract: ContractKind::Wtao,
                name: name.into(),
                topics: vec![],
                data: vec![],
                decoded: json!({ "dst": Address::ZERO, "wad": wad.to_string() }),
            })
            .collect();
        BlockBatch {
            blocks,
            events,
            ..BlockBatch::default()
        }
    }

    fn store() -> Store {
        let store = Store::open_in_memory().unwrap();
        store.init_chain(1).unwrap();
        store
    }

    /// The reference: every WTAO flow event up to `block`, through the generic event query.
    fn from_scratch(store: &Store, block: u64) -> U256 {
        let sum = |name: &str| {
            store
                .events(&EventFilter {
                    contract: Some(ContractKind::Wtao),
                    name: Some(name.into()),
                    to_block: Some(block),
                    ..EventFilter::default()
                })
                .unwrap()
                .iter()
                .map(|e| e.decoded["wad"].as_str().unwrap().parse::<U256>().unwrap())
                .fold(U256::ZERO, |a, b| a + b)
        };
        sum("Deposit").saturating_sub(sum("Withdrawal"))
    }

    #[test]
    fn extending_reads_only_the_new_events_and_matches_a_full_sum() {
        taonado_store::testing::on_each_backend(
            "extending_reads_only_the_new_events_and_matches_a_full_sum",
            |store| {
                store.init_chain(1).unwrap();
                let totals = WrappedTotals::default();
                store
                    .write_batch(
                        &batch(0, 4, 0, 0, &[(1, "Deposit", 500), (3, "Withdrawal", 120)]),
                        None,
                    )
                    .unwrap();
                let first = totals.read(&store, 4).unwrap();
                assert_eq!((first.total, first.events_read), (U256::from(380), 2));
                assert!(!first.extended);
                assert_eq!(first.total, from_scratch(&store, 4));

                store
                    .write_batch(
                        &batch(
                            5,
                            8,
                            0,
                            0,
                            &[
                                (5, "Deposit", 40),
                                (7, "Deposit", 9),
                                (8, "Withdrawal", 400),
                            ],
                        ),
                        None,
                    )
                    .unwrap();
                let next = totals.read(&store, 8).unwrap();
                assert_eq!((next.events_read, next.extended), (3, true));
                assert_eq!(next.total, from_scratch(&store, 8));
                assert_eq!(next.total, U256::from(29));
                // Nothing new: nothing read.
                let again = totals.read(&store, 8).unwrap();
                assert_eq!(
                    (again.total, again.events_read, again.extended),
                    (next.total, 0, true)
                );
            },
        );
    }

    #[test]
    fn a_rollback_below_the_covered_block_makes_it_sum_from_genesis() {
        taonado_store::testing::on_each_backend(
            "a_rollback_below_the_covered_block_makes_it_sum_from_genesis",
            |store| {
                store.init_chain(1).unwrap();
                let totals = WrappedTotals::default();
                store
                    .write_batch(
                        &batch(0, 6, 0, 0, &[(2, "Deposit", 1000), (5, "Deposit", 300)]),
                        None,
                    )
                    .unwrap();
                assert_eq!(totals.read(&store, 6).unwrap().total, U256::from(1300));

                // A reorg from block 4: the indexer rolls back to 3 and indexes another branch
                // that is as high, so only the hash of block 6 tells the sums are stale.
                store.rollback_to(Some((3, hash(3, 0)))).unwrap();
                store
                    .write_batch(&batch(4, 6, 1, 0, &[(4, "Withdrawal", 250)]), None)
                    .unwrap();
                let after_reorg = totals.read(&store, 6).unwrap();
                assert!(!after_reorg.extended);
                assert_eq!(after_reorg.events_read, 2);
                assert_eq!(after_reorg.total, from_scratch(&store, 6));
                assert_eq!(after_reorg.total, U256::from(750));

                // The new branch's sums extend again.
                store
                    .write_batch(&batch(7, 7, 1, 1, &[(7, "Deposit", 5)]), None)
                    .unwrap();
                let extended = totals.read(&store, 7).unwrap();
                assert_eq!((extended.events_read, extended.extended), (1, true));
                assert_eq!(extended.total, from_scratch(&store, 7));
            },
        );
    }

    #[test]
    fn a_block_below_the_covered_one_is_summed_from_genesis() {
        taonado_store::testing::on_each_backend(
            "a_block_below_the_covered_one_is_summed_from_genesis",
            |store| {
                store.init_chain(1).unwrap();
                let totals = WrappedTotals::default();
                store
                    .write_batch(
                        &batch(0, 5, 0, 0, &[(1, "Deposit", 70), (4, "Deposit", 30)]),
                        None,
                    )
                    .unwrap();
                assert_eq!(totals.read(&store, 5).unwrap().total, U256::from(100));
                let lower = totals.read(&store, 2).unwrap();
                assert!(!lower.extended);
                assert_eq!(lower.total, from_scratch(&store, 2));
                assert_eq!(lower.total, U256::from(70));
            },
        );
    }

    // SQLite only: a fresh PostgreSQL schema per case would cost seconds of CI, and the
    // queries it runs are those of the tests above, which run on both backends.
    proptest! {
        /// Any sequence of indexed batches (with random flows) and rollbacks: the running
        /// total at each checkpoint equals the full sum.
        #[test]
        fn the_running_total_always_equals_the_full_sum(
            ops in proptest::collection::vec(
                (any::<bool>(), 1u64..5, proptest::collection::vec((any::<bool>(), 1u64..1000), 0..5)),
                1..25,
            )
        ) {
            let store = store();
            let totals = WrappedTotals::default();
            // The branch of each stored height; each advance forks a new one so that a
            // rollback followed by an advance writes different hashes at the same heights.
            let mut branch_of: Vec<u8> = Vec::new();
            for (i, (advance, n, flows)) in ops.into_iter().enumerate() {
                let top = store.checkpoint().unwrap().map(|c| c.number);
                if advance {
                    let from = top.map_or(0, |t| t + 1);
                    let to = from + n - 1;
                    let fork = i as u8 + 1;
                    let parent = top.map_or(fork, |t| branch_of[t as usize]);
                    let flows: Vec<(u64, &str, u64)> = flows
                        .iter()
                        .enumerate()
                        .map(|(j, &(deposit, wad))| {
                            let block = from + j as u64 % n;
                            // Withdrawals stay small so totals rarely saturate at zero.
                            if deposit { (block, "Deposit", wad * 10) } else { (block, "Withdrawal", wad) }
                        })
                        .collect();
                    store.write_batch(&batch(from, to, fork, parent, &flows), None).unwrap();
                    branch_of.truncate(from as usize);
                    branch_of.extend(std::iter::repeat_n(fork, n as usize));
                } else if let Some(t) = top {
                    let ancestor = t.checked_sub(n).map(|a| (a, hash(a, branch_of[a as usize])));
                    store.rollback_to(ancestor).unwrap();
                }
                if let Some(checkpoint) = store.checkpoint().unwrap() {
                    let read = totals.read(&store, checkpoint.number).unwrap();
                    prop_assert_eq!(read.total, from_scratch(&store, checkpoint.number));
                }
            }
        }
    }
}
