//! `taonado bottleneck`: each stage of the protocol's flows timed on its own, several
//! times, and ranked by its share of the end-to-end time (the sum of the stages' medians),
//! with what to do about the largest.
//!
//! Stages: JSON-RPC latency per method, gas estimation, the fee and nonce look-ups, the
//! event sync (`eth_getLogs` of the pool's deposits from block 0, what `mixer sync` reads),
//! the Merkle tree update (one insert) and rebuild (from every leaf), proof generation
//! (the local dev keys), transaction inclusion (a 0-value transfer to its receipt) and the
//! indexer's database writes (a batch of blocks and events into a fresh SQLite store).

use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::signers::local::PrivateKeySigner;
use serde::Serialize;
use serde_json::json;
use taonado_report::{Document, fmt_fixed, fmt_percent};
use taonado_store::{BlockBatch, BlockRecord, ContractKind, EventRecord, Store};
use taonado_zk::{MerkleTree, Note, WithdrawPublicInputs, WithdrawWitness, splitmix_leaves};

use crate::LoadTestError;
use crate::report::Percentiles;
use crate::rpc::{Rpc, parse_quantity};
use crate::wallets::{self, TxTemplate};

/// `Deposit(bytes32 indexed commitment, uint32 leafIndex, uint256 timestamp)`.
const DEPOSIT_TOPIC: &str = "0xa945e51eec50ab98c161376f0db4cf2aeba3ec92755fe2fcd388bdbbb80ff196";

/// What to time.
#[derive(Clone, Debug)]
pub struct BottleneckPlan {
    pub rpc_url: String,
    pub chain_id: u64,
    /// Timings per stage (the proof and the rebuild are capped at 3).
    pub rounds: u32,
    /// Sends the inclusion stage's 0-value self-transfers.
    pub funder: PrivateKeySigner,
    /// A mixer pool, for the event sync (without it, the logs of every address).
    pub pool: Option<Address>,
    /// Leaves in the tree the Merkle stages work on (at least the pool's deposits).
    pub tree_leaves: usize,
    pub request_timeout: Duration,
    /// How long one inclusion may take.
    pub inclusion_timeout: Duration,
}

/// One stage, timed `samples` times.
#[derive(Clone, Debug, Serialize)]
pub struct Stage {
    pub name: String,
    /// What a flow does with it (e.g. `withdraw: 1 proof`).
    pub flow: String,
    pub latency: Percentiles,
    /// The median's share of the sum of all stages' medians.
    pub share: f64,
    pub advice: String,
}

/// The ranked stages.
#[derive(Clone, Debug, Serialize)]
pub struct BottleneckReport {
    pub rpc_url: String,
    pub chain_id: u64,
    pub rounds: u32,
    /// Sum of the stages' medians, in ms.
    pub end_to_end_ms: f64,
    /// Largest share first.
    pub stages: Vec<Stage>,
}

impl BottleneckReport {
    /// Ranked table and advice as a document.
    pub fn to_document(&self) -> Document {
        let mut doc = Document::new(
            "taonado bottleneck",
            format!(
                "bottleneck against {} (chain {}), {} rounds per stage",
                self.rpc_url, self.chain_id, self.rounds
            ),
        );
        doc.section("Stages, largest share first").table(
            [
                "rank", "stage", "flow", "count", "p50 ms", "p95 ms", "max ms", "share",
            ],
            self.stages.iter().enumerate().map(|(i, s)| {
                vec![
                    (i + 1).to_string(),
                    s.name.clone(),
                    s.flow.clone(),
                    s.latency.count.to_string(),
                    fmt_fixed(s.latency.p50_ms, 3),
                    fmt_fixed(s.latency.p95_ms, 3),
                    fmt_fixed(s.latency.max_ms, 3),
                    fmt_percent(s.share, 1.0),
                ]
            }),
        );
        doc.section("Advice").list(
            self.stages
                .iter()
                .take(3)
                .map(|s| format!("{} ({}): {}", s.name, fmt_percent(s.share, 1.0), s.advice)),
        );
        doc
    }
}

/// Times `f` `rounds` times.
async fn time<F, Fut, T>(rounds: u32, mut f: F) -> Result<Vec<Duration>, LoadTestError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, LoadTestError>>,
{
    let mut samples = Vec::with_capacity(rounds as usize);
    for _ in 0..rounds {
        let start = Instant::now();
        f().await?;
        samples.push(start.elapsed());
    }
    Ok(samples)
}

fn blocking<T>(
    rounds: u32,
    mut f: impl FnMut() -> Result<T, LoadTestError>,
) -> Result<Vec<Duration>, LoadTestError> {
    let mut samples = Vec::with_capacity(rounds as usize);
    for _ in 0..rounds {
        let start = Instant::now();
        f()?;
        samples.push(start.elapsed());
    }
    Ok(samples)
}

fn zk(e: impl std::fmt::Display) -> LoadTestError {
    LoadTestError::Stage(format!("zk: {e}"))
}

fn store(e: impl std::fmt::Display) -> LoadTestError {
    LoadTestError::Stage(format!("store: {e}"))
}

/// Runs every stage and ranks them.
pub async fn run(plan: &BottleneckPlan) -> Result<BottleneckReport, LoadTestError> {
    if plan.rounds == 0 || plan.rounds > 1000 {
        return Err(LoadTestError::InvalidPlan(
            "--rounds must be between 1 and 1000".into(),
        ));
    }
    if plan.tree_leaves > 100_000 {
        return Err(LoadTestError::InvalidPlan(
            "--tree-leaves is at most 100000".into(),
        ));
    }
    let rounds = plan.rounds;
    let rpc = Rpc::new(&plan.rpc_url, plan.request_timeout)?;
    let funder = plan.funder.address();
    let mut stages: Vec<(String, String, Vec<Duration>, &str)> = Vec::new();

    for (method, params, flow) in [
        ("eth_blockNumber", json!([]), "every flow: head"),
        (
            "eth_getBalance",
            json!([funder, "latest"]),
            "every flow: balance checks",
        ),
        (
            "eth_call",
            json!([{"to": funder, "data": "0x"}, "latest"]),
            "every flow: contract reads",
        ),
        ("eth_chainId", json!([]), "every flow: connect"),
    ] {
        let samples = time(rounds, || rpc.must(method, params.clone())).await?;
        stages.push((format!("rpc {method}"), flow.into(), samples, ADVICE_RPC));
    }
    let transfer = TxTemplate {
        to: funder,
        value: U256::ZERO,
        input: Bytes::new(),
        gas_limit: 21_000,
        kind: "transfer",
    };
    let samples = time(rounds, || {
        rpc.must(
            "eth_estimateGas",
            json!([{"from": funder, "to": funder, "value": "0x0"}]),
        )
    })
    .await?;
    stages.push((
        "gas estimation".into(),
        "every send: eth_estimateGas".into(),
        samples,
        ADVICE_ESTIMATE,
    ));
    let samples = time(rounds, || rpc.must("eth_gasPrice", json!([]))).await?;
    stages.push((
        "fee look-up".into(),
        "every send: eth_gasPrice".into(),
        samples,
        ADVICE_FEE,
    ));
    let samples = time(rounds, || {
        rpc.must("eth_getTransactionCount", json!([funder, "pending"]))
    })
    .await?;
    stages.push((
        "nonce look-up".into(),
        "every send: eth_getTransactionCount".into(),
        samples,
        ADVICE_NONCE,
    ));

    // The event sync: what `mixer sync` reads before a withdrawal.
    let head = rpc.quantity("eth_blockNumber", json!([])).await?;
    let mut filter =
        json!({"fromBlock": "0x0", "toBlock": format!("0x{head:x}"), "topics": [DEPOSIT_TOPIC]});
    if let Some(pool) = plan.pool {
        filter["address"] = json!(pool);
    }
    let mut deposits = 0;
    let mut samples = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        let logs = rpc.must("eth_getLogs", json!([filter.clone()])).await?;
        samples.push(start.elapsed());
        deposits = logs.as_array().map_or(0, Vec::len);
    }
    stages.push((
        format!("event sync ({deposits} deposits, blocks 0..{head})"),
        "withdraw: 1 sync".into(),
        samples,
        ADVICE_SYNC,
    ));

    // The Merkle tree: one insert, and a rebuild from every leaf.
    let leaves = splitmix_leaves(plan.tree_leaves.max(deposits).max(1), 113);
    let base = MerkleTree::from_leaves(&leaves[..leaves.len() - 1]).map_err(zk)?;
    let last = leaves[leaves.len() - 1];
    // The clone is not the stage: time only the insert.
    let insert_samples: Vec<Duration> = {
        let mut v = Vec::new();
        for _ in 0..rounds {
            let mut tree = base.clone();
            let start = Instant::now();
            tree.insert(last).map_err(zk)?;
            v.push(start.elapsed());
        }
        v
    };
    stages.push((
        "merkle tree update (1 insert)".into(),
        "deposit and withdraw: 1 insert".into(),
        insert_samples,
        ADVICE_MERKLE,
    ));
    let rebuilds = rounds.min(3);
    let samples = blocking(rebuilds, || MerkleTree::from_leaves(&leaves).map_err(zk))?;
    stages.push((
        format!("merkle tree rebuild ({} leaves)", leaves.len()),
        "withdraw after a restart: 1 rebuild".into(),
        samples,
        ADVICE_REBUILD,
    ));

    // Proof generation with the local dev keys: a note at leaf 0 of a fresh tree.
    let (prover, _) = taonado_zk::keys::local_dev_keys().map_err(zk)?;
    let mut rng = rand::rng();
    let note = Note::generate("wtao", "1", plan.chain_id, &mut rng).map_err(zk)?;
    let mut tree = MerkleTree::new();
    let index = tree.insert(note.commitment()).map_err(zk)?;
    let path = tree.path(index).map_err(zk)?;
    let public = WithdrawPublicInputs::from_evm(
        taonado_zk::fr_to_b256(tree.root()),
        taonado_zk::fr_to_b256(note.nullifier_hash()),
        funder,
        Address::ZERO,
        U256::ZERO,
        U256::ZERO,
    )
    .map_err(zk)?;
    let witness = WithdrawWitness::new(&note, path);
    let samples = blocking(rounds.min(3), || {
        prover.prove(&public, &witness, &mut rng).map_err(zk)
    })?;
    stages.push((
        "proof generation".into(),
        "withdraw: 1 proof".into(),
        samples,
        ADVICE_PROOF,
    ));

    // Inclusion: a 0-value self-transfer, from sending to its receipt.
    let gas_price = rpc
        .quantity("eth_gasPrice", json!([]))
        .await?
        .saturating_mul(2)
        .max(1);
    let mut nonce = rpc
        .quantity("eth_getTransactionCount", json!([funder, "pending"]))
        .await? as u64;
    let mut samples = Vec::new();
    for _ in 0..rounds.min(20) {
        let (hash, raw) = wallets::sign(&plan.funder, plan.chain_id, nonce, gas_price, &transfer)?;
        nonce += 1;
        let start = Instant::now();
        rpc.must("eth_sendRawTransaction", json!([raw])).await?;
        loop {
            let receipt = rpc.must("eth_getTransactionReceipt", json!([hash])).await?;
            if !receipt.is_null() {
                if receipt.get("status").and_then(parse_quantity) != Some(1) {
                    return Err(LoadTestError::Stage(format!(
                        "the transfer {hash} reverted"
                    )));
                }
                break;
            }
            if start.elapsed() > plan.inclusion_timeout {
                return Err(LoadTestError::Stage(format!(
                    "the transfer {hash} was not included within {} s",
                    plan.inclusion_timeout.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        samples.push(start.elapsed());
    }
    stages.push((
        "transaction inclusion".into(),
        "every send: 1 receipt".into(),
        samples,
        ADVICE_INCLUSION,
    ));

    // The indexer's database writes: batches of 100 blocks with one event each.
    let dir = tempfile::tempdir().map_err(store)?;
    let db = Store::open_creating(&dir.path().join("bottleneck.db")).map_err(store)?;
    db.init_chain(plan.chain_id).map_err(store)?;
    let mut next = 1u64;
    let mut parent = B256::ZERO;
    let samples = blocking(rounds, || {
        let batch = synthetic_batch(&mut next, &mut parent);
        db.write_batch(&batch, None).map_err(store)
    })?;
    stages.push((
        "indexer database write (100 blocks, 100 events)".into(),
        "index: 1 batch per 100 blocks".into(),
        samples,
        ADVICE_STORE,
    ));

    Ok(rank(plan, stages))
}

fn synthetic_batch(next: &mut u64, parent: &mut B256) -> BlockBatch {
    let mut batch = BlockBatch::default();
    for _ in 0..100 {
        let number = *next;
        let hash = alloy::primitives::keccak256(number.to_be_bytes());
        batch.blocks.push(BlockRecord {
            number,
            hash,
            parent_hash: *parent,
            timestamp: number,
            base_fee_per_gas: Some(1),
            protocol: true,
        });
        batch.events.push(EventRecord {
            block_number: number,
            log_index: 0,
            block_hash: hash,
            tx_hash: hash,
            tx_index: 0,
            address: Address::repeat_byte(0x11),
            contract: ContractKind::Pool,
            name: "Deposit".into(),
            topics: vec![hash],
            data: vec![0; 64],
            decoded: json!({"leafIndex": number.to_string()}),
        });
        *parent = hash;
        *next += 1;
    }
    batch
}

fn rank(
    plan: &BottleneckPlan,
    stages: Vec<(String, String, Vec<Duration>, &str)>,
) -> BottleneckReport {
    let mut ranked: Vec<Stage> = stages
        .into_iter()
        .filter_map(|(name, flow, mut samples, advice)| {
            Some(Stage {
                name,
                flow,
                latency: Percentiles::of(&mut samples)?,
                share: 0.0,
                advice: advice.to_owned(),
            })
        })
        .collect();
    let total: f64 = ranked.iter().map(|s| s.latency.p50_ms).sum();
    for stage in &mut ranked {
        stage.share = if total > 0.0 {
            stage.latency.p50_ms / total
        } else {
            0.0
        };
    }
    ranked.sort_by(|a, b| b.share.total_cmp(&a.share));
    BottleneckReport {
        rpc_url: plan.rpc_url.clone(),
        chain_id: plan.chain_id,
        rounds: plan.rounds,
        end_to_end_ms: total,
        stages: ranked,
    }
}

const ADVICE_RPC: &str = "keep one keep-alive connection per worker and batch reads (JSON-RPC batches, Multicall); move the client next to the node";
const ADVICE_ESTIMATE: &str = "estimate once per kind of call and reuse the gas limit with headroom instead of estimating every send";
const ADVICE_FEE: &str =
    "read the gas price once per block (or from newHeads) rather than per transaction";
const ADVICE_NONCE: &str =
    "count nonces locally and resync only after a failed send (loadtest's NonceTracker)";
const ADVICE_SYNC: &str = "sync incrementally from the cached checkpoint (mixer sync keeps one) and split eth_getLogs into block ranges the node serves fast";
const ADVICE_MERKLE: &str =
    "insert incrementally into the cached tree; an insert is 20 MiMC hashes";
const ADVICE_REBUILD: &str =
    "persist the tree (or its frontier) so a restart does not rebuild from every leaf";
const ADVICE_PROOF: &str = "build a release binary (the prover is CPU-bound), keep the proving key loaded between withdrawals, and run proofs off the request path (the relayer's job queue)";
const ADVICE_INCLUSION: &str = "bounded by block production: pipeline sends (several nonces in flight per sender) instead of waiting for each receipt";
const ADVICE_STORE: &str = "write larger batches per SQLite transaction and keep WAL mode; prune blocks without protocol data";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_are_ranked_by_share_of_the_sum_of_medians() {
        let plan = BottleneckPlan {
            rpc_url: "http://x".into(),
            chain_id: 42,
            rounds: 3,
            funder: PrivateKeySigner::from_bytes(&B256::repeat_byte(1)).unwrap(),
            pool: None,
            tree_leaves: 10,
            request_timeout: Duration::from_secs(1),
            inclusion_timeout: Duration::from_secs(1),
        };
        let ms = |v: u64| vec![Duration::from_millis(v); 3];
        let report = rank(
            &plan,
            vec![
                ("a".into(), "f".into(), ms(10), ADVICE_RPC),
                ("b".into(), "f".into(), ms(30), ADVICE_PROOF),
                ("none".into(), "f".into(), Vec::new(), ADVICE_FEE),
            ],
        );
        assert_eq!(report.stages.len(), 2);
        assert_eq!(report.stages[0].name, "b");
        assert!((report.stages[0].share - 0.75).abs() < 1e-9);
        assert!((report.end_to_end_ms - 40.0).abs() < 1e-9);
        let md = report.to_document().to_markdown();
        assert!(md.contains("| 1 | b |"), "{md}");
        assert!(md.contains("75.0%"), "{md}");
    }

    #[test]
    fn synthetic_batches_chain_on() {
        let (mut next, mut parent) = (1, B256::ZERO);
        let a = synthetic_batch(&mut next, &mut parent);
        let b = synthetic_batch(&mut next, &mut parent);
        assert_eq!(b.blocks[0].parent_hash, a.blocks[99].hash);
        assert_eq!(b.blocks[0].number, 101);
    }
}
