//! Why a protocol transaction failed: its call trace and revert reason, read with
//! `debug_traceTransaction` and geth's `callTracer` (which `taonado devnet`, geth, reth and
//! anvil serve), for the failed-transaction alert. A node without the debug API gives no
//! trace; the alert then says so instead of failing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use alloy::primitives::{Address, B256, Bytes};
use alloy::providers::{DynProvider, Provider};
use alloy::sol_types::{Revert, SolError};
use serde::Serialize;
use serde_json::Value;
use taonado_deployment::{ProtocolContracts, pool_name};

/// Calls shown of one trace (depth-first), so a pathological trace stays a readable alert.
const MAX_CALLS: usize = 24;
/// Traces kept between evaluations: a failed transaction stays in the rule window for many
/// evaluations, and its trace is read once.
const MAX_CACHED: usize = 512;
/// Traces read from the node in one evaluation, so a burst of failures cannot stall it.
const MAX_READS: usize = 20;

/// A failed transaction's call trace, summarised.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FailureTrace {
    /// The revert reason of the frame that failed first (`Error(string)`, or the halt).
    pub reason: Option<String>,
    /// One line per call, indented by depth: `CALL Pool 1 WTAO deposit 0xb214faa5 → reverted: …`.
    pub calls: Vec<String>,
    /// Why there is no trace (the node has no debug API…), when there is none.
    pub unavailable: Option<String>,
}

/// Names of the protocol's contracts and of Bittensor's precompiles, for trace lines.
pub fn contract_names(contracts: &ProtocolContracts) -> HashMap<Address, String> {
    let mut names = HashMap::new();
    let mut add = |address: Option<Address>, name: &str| {
        if let Some(address) = address {
            names.insert(address, name.to_owned());
        }
    };
    add(contracts.wtao, "WTAO");
    add(contracts.deposit_tracker, "DepositTracker");
    add(
        contracts.weights,
        contracts.weights_name.unwrap_or("Weights"),
    );
    add(contracts.evm_validator, "EvmValidator");
    for (amount, address) in &contracts.pools {
        names.insert(*address, pool_name(amount));
    }
    for (n, name) in [
        (0x800u64, "balance-transfer precompile"),
        (0x802, "metagraph precompile"),
        (0x804, "neuron precompile"),
    ] {
        names.insert(
            Address::left_padding_from(&n.to_be_bytes()),
            name.to_owned(),
        );
    }
    names
}

/// Reads each trace once and keeps it (bounded) for later evaluations.
#[derive(Debug, Default)]
pub struct FailureTraces {
    cache: Mutex<HashMap<B256, FailureTrace>>,
}

impl FailureTraces {
    /// The traces of `hashes`, read from the node where not yet known.
    pub async fn of(
        &self,
        provider: &DynProvider,
        names: &HashMap<Address, String>,
        hashes: &[B256],
    ) -> BTreeMap<B256, FailureTrace> {
        let mut out = BTreeMap::new();
        let mut reads = 0;
        for &hash in hashes {
            let cached = self.lock().get(&hash).cloned();
            let trace = match cached {
                Some(trace) => trace,
                None if reads >= MAX_READS => FailureTrace {
                    unavailable: Some(format!(
                        "not read: at most {MAX_READS} traces are read per evaluation"
                    )),
                    ..FailureTrace::default()
                },
                None => {
                    reads += 1;
                    let trace = read_trace(provider, hash, names).await;
                    let mut cache = self.lock();
                    if cache.len() >= MAX_CACHED {
                        cache.clear();
                    }
                    cache.insert(hash, trace.clone());
                    trace
                }
            };
            out.insert(hash, trace);
        }
        out
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<B256, FailureTrace>> {
        // The cache holds no invariant a panic could break.
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

async fn read_trace(
    provider: &DynProvider,
    hash: B256,
    names: &HashMap<Address, String>,
) -> FailureTrace {
    let options = serde_json::json!({"tracer": "callTracer"});
    match provider
        .raw_request::<_, Value>("debug_traceTransaction".into(), (hash, options))
        .await
    {
        Ok(frame) => summarize(&frame, names),
        Err(error) => FailureTrace {
            unavailable: Some(format!("debug_traceTransaction failed: {error}")),
            ..FailureTrace::default()
        },
    }
}

/// The summary of a `callTracer` frame (geth's JSON shape).
pub fn summarize(frame: &Value, names: &HashMap<Address, String>) -> FailureTrace {
    let mut trace = FailureTrace::default();
    walk(frame, 0, names, &mut trace);
    if trace.calls.len() > MAX_CALLS {
        let more = trace.calls.len() - MAX_CALLS;
        trace.calls.truncate(MAX_CALLS);
        trace.calls.push(format!("… {more} more calls"));
    }
    trace
}

fn walk(frame: &Value, depth: usize, names: &HashMap<Address, String>, trace: &mut FailureTrace) {
    let kind = frame["type"].as_str().unwrap_or("CALL");
    let to = frame["to"]
        .as_str()
        .and_then(|to| to.parse::<Address>().ok());
    let target = match to {
        Some(address) => names.get(&address).map_or_else(
            || format!("{address}"),
            |name| format!("{name} ({address})"),
        ),
        None => "(new contract)".to_owned(),
    };
    let input = frame["input"].as_str().unwrap_or("0x");
    let selector = input.get(..10).filter(|s| s.len() == 10).unwrap_or("");
    let failure = failure_of(frame);
    let outcome = match &failure {
        Some(reason) => format!(" → {reason}"),
        None => String::new(),
    };
    trace.calls.push(format!(
        "{}{kind} {target} {selector}{outcome}",
        "  ".repeat(depth)
    ));
    // The transaction's own revert reason, or, when it has none (a bare revert, a halt),
    // the first decoded reason of a call below it.
    let decoded = |f: &Option<String>| f.as_deref().is_some_and(|r| r.starts_with("reverted: \""));
    if failure.is_some() && (depth == 0 || (decoded(&failure) && !decoded(&trace.reason))) {
        trace.reason = failure;
    }
    if let Some(calls) = frame["calls"].as_array() {
        for call in calls {
            walk(call, depth + 1, names, trace);
        }
    }
}

/// `reverted: "<reason>"` or the halt (`out of gas`…) of a frame, `None` if it succeeded.
fn failure_of(frame: &Value) -> Option<String> {
    let error = frame["error"].as_str()?;
    let reason = frame["revertReason"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| {
            let output: Bytes = frame["output"].as_str()?.parse().ok()?;
            Revert::abi_decode(&output).ok().map(|r| r.reason)
        });
    Some(match reason {
        Some(reason) => format!("reverted: \"{reason}\""),
        None => error.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nested_revert_is_the_reason_and_every_call_is_a_line() {
        let pool: Address = "0x00000000000000000000000000000000000000aa"
            .parse()
            .unwrap();
        let names = HashMap::from([(pool, "Pool 1 WTAO".to_owned())]);
        let reason = Revert::from("The commitment has been submitted").abi_encode();
        let frame = serde_json::json!({
            "type": "CALL", "from": "0x0000000000000000000000000000000000000001",
            "to": "0x00000000000000000000000000000000000000bb", "input": "0x12345678ffff",
            "error": "execution reverted", "output": Bytes::from(reason.clone()),
            "calls": [{
                "type": "CALL", "to": pool, "input": "0xb214faa5aaaa",
                "error": "execution reverted", "output": Bytes::from(reason),
            }, {
                "type": "STATICCALL", "to": "0x0000000000000000000000000000000000000802",
                "input": "0x1111111100",
            }]
        });
        let trace = summarize(&frame, &names);
        assert_eq!(
            trace.reason.as_deref(),
            Some("reverted: \"The commitment has been submitted\"")
        );
        assert_eq!(trace.calls.len(), 3, "{:?}", trace.calls);
        assert!(
            trace.calls[1].starts_with("  CALL Pool 1 WTAO (0x"),
            "{}",
            trace.calls[1]
        );
        assert!(
            trace.calls[1].contains("0xb214faa5 → reverted"),
            "{}",
            trace.calls[1]
        );
        assert!(!trace.calls[2].contains('→'), "{}", trace.calls[2]);
    }

    #[test]
    fn a_halt_without_output_is_named_and_long_traces_are_cut() {
        let calls: Vec<Value> = (0..40)
            .map(|_| serde_json::json!({"type": "CALL", "to": "0x00000000000000000000000000000000000000cc", "input": "0x"}))
            .collect();
        let frame = serde_json::json!({"type": "CALL", "to": null, "input": "0x", "error": "out of gas", "calls": calls});
        let trace = summarize(&frame, &HashMap::new());
        assert_eq!(trace.reason.as_deref(), Some("out of gas"));
        assert_eq!(trace.calls.len(), MAX_CALLS + 1);
        assert_eq!(
            trace.calls.last().map(String::as_str),
            Some("… 17 more calls")
        );
    }
}
