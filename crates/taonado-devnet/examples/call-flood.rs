//! A JSON-RPC `eth_call` load generator that is not the bottleneck (Rust, keep-alive
//! connections, one per worker), for side-by-side runs against any endpoint:
//!
//! `cargo run --release -p taonado-devnet --example call-flood -- URL TO DATA [WORKERS] [SECONDS]`
//!
//! Prints calls/s and the latency percentiles of `eth_call {to, data}` at `latest`.

//!
//! `taonado loadtest --scenario calls` measures the same (per method) from the CLI.

use std::time::{Duration, Instant};

use taonado_loadtest::report::percentile;

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, to, data, rest @ ..] = args.as_slice() else {
        return Err("usage: call-flood URL TO DATA [WORKERS] [SECONDS]".into());
    };
    let workers: usize = rest.first().map_or(Ok(8), |w| w.parse())?;
    let seconds: u64 = rest.get(1).map_or(Ok(10), |s| s.parse())?;
    let body = serde_json::json!({
        "jsonrpc": "2.0", "id": 1, "method": "eth_call",
        "params": [{"to": to, "data": data}, "latest"],
    })
    .to_string();
    // One warm-up call, which also checks that the call succeeds.
    let client = reqwest::Client::new();
    let answer: serde_json::Value = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await?
        .json()
        .await?;
    if answer.get("result").is_none() {
        return Err(format!("the call fails: {answer}").into());
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (url, body) = (url.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()?;
            let mut latencies = Vec::new();
            let mut failures = 0u64;
            while Instant::now() < deadline {
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                match response {
                    Ok(response) if response.status().is_success() => {
                        let _ = response.bytes().await?;
                        latencies.push(sent.elapsed());
                    }
                    _ => failures += 1,
                }
            }
            Ok::<_, reqwest::Error>((latencies, failures))
        }));
    }
    let mut latencies = Vec::new();
    let mut failures = 0;
    for task in tasks {
        let (mut l, f) = task.await??;
        latencies.append(&mut l);
        failures += f;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    println!(
        "{} calls in {elapsed:.1} s: {:.0} calls/s, {failures} failed, {workers} workers; p50 {:?} p95 {:?} p99 {:?} max {:?}",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.95),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default(),
    );
    Ok(())
}
