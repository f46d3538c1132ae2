//! `taonado relayer` and `mixer withdraw --relayer-url` against a devnet child: a
//! withdrawal to a fresh address through the relayer, every bad job refused without the
//! relayer sending anything, and a relayer killed (SIGKILL) after accepting a job, or
//! after sending it, that sends it exactly once after a restart.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::mixer::{MixerChain, fresh_address};
use crate::support::{DEV1, cast, envelope, run_with_stdin};

/// Dev account 2 (a public test key): the relayer's account in these tests.
const RELAYER_KEY: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
const RELAYER: &str = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc";

/// A `taonado relayer` child; SIGTERM on drop unless killed.
struct RelayerChild {
    child: Option<Child>,
    _stdout: BufReader<ChildStdout>,
    addr: String,
    url: String,
}

impl RelayerChild {
    fn start(chain: &MixerChain, db: &Path, extra: &[&str]) -> Self {
        let mut child = chain
            .sandbox
            .taonado()
            .args(["--json", "-q", "--rpc-url", &chain.devnet.url, "relayer"])
            .args(["--listen", "127.0.0.1:0", "--private-key", RELAYER_KEY])
            .arg("--jobs-db")
            .arg(db)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn taonado relayer");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        // Printed once the API listens.
        stdout.read_line(&mut line).expect("read the ready line");
        let ready: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("not the ready envelope ({e}): {line:?}"));
        assert_eq!(ready["ok"], true, "{ready}");
        assert_eq!(ready["data"]["address"], RELAYER, "{ready}");
        let url = ready["data"]["relayer_url"]
            .as_str()
            .expect("url")
            .to_owned();
        let addr = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        Self {
            child: Some(child),
            _stdout: stdout,
            addr,
            url,
        }
    }

    /// SIGKILL: nothing is flushed or closed.
    fn kill(mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().expect("SIGKILL");
        let _ = child.wait();
    }

    fn get(&self, path: &str) -> (u16, Value) {
        http(&self.addr, "GET", path, None)
    }

    fn post(&self, body: &Value) -> (u16, Value) {
        http(&self.addr, "POST", "/v1/tornadoWithdraw", Some(body))
    }

    /// Polls the job until it is in a final state (a bounded wait: the chain automines).
    fn final_state(&self, id: &str) -> Value {
        let started = Instant::now();
        loop {
            let (code, job) = self.get(&format!("/v1/jobs/{id}"));
            assert_eq!(code, 200, "{job}");
            if job["status"] == "CONFIRMED" || job["status"] == "FAILED" {
                return job;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "job {id} still {job}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Polls the job until its status is `status`.
    fn wait_for(&self, id: &str, status: &str) -> Value {
        let started = Instant::now();
        loop {
            let (_, job) = self.get(&format!("/v1/jobs/{id}"));
            if job["status"] == status {
                return job;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "job {id} never {status}: {job}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for RelayerChild {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}

/// One HTTP/1.1 request; (status, JSON body).
fn http(addr: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let body = body.map(ToString::to_string).unwrap_or_default();
    let mut stream = TcpStream::connect(addr).expect("connect to the relayer");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write the request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read the answer");
    let status: u16 = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {response}"));
    let (_, payload) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no body: {response}"));
    let value = serde_json::from_str(payload).unwrap_or(Value::String(payload.to_owned()));
    (status, value)
}

fn nonce(chain: &MixerChain, account: &str) -> u64 {
    cast(&chain.devnet.url, &["nonce", account])
        .parse()
        .expect("a nonce")
}

fn tao_balance(chain: &MixerChain, account: &str) -> String {
    cast(&chain.devnet.url, &["balance", account])
}

fn deposit_note(chain: &MixerChain) -> String {
    chain.deposit("1")["note"]
        .as_str()
        .expect("note")
        .to_owned()
}

/// A job body made with `mixer withdraw --dry-run`: a proof for `relayer` and `fee` (WTAO).
fn job_body(chain: &MixerChain, note: &str, recipient: &str, relayer: &str, fee: &str) -> Value {
    let (code, stdout, stderr) = chain.mixer_with_stdin(
        &[
            "withdraw",
            "--note",
            "-",
            "--recipient",
            recipient,
            "--relayer",
            relayer,
            "--fee",
            fee,
            "--dry-run",
        ],
        Some(note),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let data = envelope(&stdout)["data"].clone();
    let proof: String = data["proof"]
        .as_array()
        .expect("proof words")
        .iter()
        .map(|w| w.as_str().expect("hex").trim_start_matches("0x").to_owned())
        .collect();
    json!({
        "contract": data["pool"]["address"],
        "proof": format!("0x{proof}"),
        "args": data["public_inputs"],
    })
}

fn jobs_db(chain: &MixerChain) -> PathBuf {
    chain.sandbox.path().join("relayer.db")
}

fn refused(relayer: &RelayerChild, body: &Value, status: u16, code: &str) {
    let (actual, answer) = relayer.post(body);
    assert_eq!(actual, status, "{answer}");
    assert_eq!(answer["code"], code, "{answer}");
    assert!(
        answer["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{answer}"
    );
}

#[test]
fn a_withdrawal_through_the_relayer_reaches_a_fresh_address_and_bad_jobs_cost_nothing() {
    let chain = MixerChain::start();
    let notes: Vec<String> = (0..3).map(|_| deposit_note(&chain)).collect();
    let relayer = RelayerChild::start(&chain, &jobs_db(&chain), &[]);
    let (code, status) = relayer.get("/v1/status");
    assert_eq!(code, 200, "{status}");
    assert_eq!(status["rewardAccount"], RELAYER);
    assert_eq!(status["chainId"], 42);
    assert_eq!(status["health"]["status"], true, "{status}");

    // Every bad job is refused with its code, and the relayer sends nothing.
    let before = nonce(&chain, RELAYER);
    let recipient = fresh_address(0xb1);
    let too_low = job_body(&chain, &notes[1], &recipient, RELAYER, "0.000001");
    refused(&relayer, &too_low, 400, "FEE_TOO_LOW");
    let other = job_body(&chain, &notes[1], &recipient, DEV1, "0.1");
    refused(&relayer, &other, 400, "RELAYER_MISMATCH");
    let good = job_body(&chain, &notes[1], &recipient, RELAYER, "0.1");
    let mut bad_proof = good.clone();
    // a and c swapped: points on the curve, a proof that does not verify.
    let proof = good["proof"].as_str().expect("hex")[2..].to_owned();
    bad_proof["proof"] = json!(format!(
        "0x{}{}{}",
        &proof[384..512],
        &proof[128..384],
        &proof[..128]
    ));
    refused(&relayer, &bad_proof, 400, "INVALID_PROOF");
    let mut unknown_pool = good.clone();
    unknown_pool["contract"] = json!(fresh_address(0x77));
    refused(&relayer, &unknown_pool, 400, "UNKNOWN_POOL");
    // A note withdrawn without the relayer after its job was proved: spent.
    let spent = job_body(&chain, &notes[2], &fresh_address(0xb2), RELAYER, "0.1");
    chain.withdraw(&notes[2], &fresh_address(0xb3));
    refused(&relayer, &spent, 409, "NULLIFIER_SPENT");
    refused(&relayer, &json!({"contract": 1}), 422, "MALFORMED_REQUEST");
    let oversized = json!({"contract": "x".repeat(20_000), "proof": "", "args": []});
    refused(&relayer, &oversized, 413, "BODY_TOO_LARGE");
    assert_eq!(
        nonce(&chain, RELAYER),
        before,
        "a refused job sent a transaction"
    );

    // The good job goes through; its replay is refused and sends nothing more.
    let (code, accepted) = relayer.post(&good);
    assert_eq!(code, 202, "{accepted}");
    let id = accepted["id"].as_str().expect("job id");
    let job = relayer.final_state(id);
    assert_eq!(job["status"], "CONFIRMED", "{job}");
    assert_eq!(nonce(&chain, RELAYER), before + 1);
    refused(&relayer, &good, 409, "DUPLICATE_JOB");
    assert_eq!(
        nonce(&chain, RELAYER),
        before + 1,
        "the replay sent a transaction"
    );
    assert_eq!(chain.wtao_balance(&recipient), "900000000000000000");

    // The client: a fresh address with no TAO and no WTAO gets the note less the quoted fee.
    let fresh = fresh_address(0xb4);
    assert_eq!(tao_balance(&chain, &fresh), "0");
    assert_eq!(chain.wtao_balance(&fresh), "0");
    let relayer_wtao: u128 = chain.wtao_balance(RELAYER).parse().expect("wei");
    let mut cmd = chain.sandbox.taonado();
    cmd.args([
        "--json",
        "--rpc-url",
        &chain.devnet.url,
        "mixer",
        "withdraw",
    ])
    .args([
        "--note",
        "-",
        "--recipient",
        &fresh,
        "--relayer-url",
        &relayer.url,
    ]);
    let (code, stdout, stderr) = run_with_stdin(&mut cmd, Some(&notes[0]));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let data = envelope(&stdout)["data"].clone();
    assert_eq!(data["status"], "CONFIRMED", "{data}");
    assert_eq!(data["relayer"], RELAYER);
    let fee = u128::from_str_radix(
        data["fee"].as_str().expect("fee").trim_start_matches("0x"),
        16,
    )
    .expect("hex fee");
    assert!(fee > 0, "{data}");
    let denomination = 1_000_000_000_000_000_000u128;
    assert_eq!(
        chain.wtao_balance(&fresh),
        (denomination - fee).to_string(),
        "the recipient gets the denomination less the fee"
    );
    assert_eq!(
        tao_balance(&chain, &fresh),
        "0",
        "the recipient paid no gas"
    );
    assert_eq!(
        chain.wtao_balance(RELAYER),
        (relayer_wtao + fee).to_string(),
        "the relayer gets the fee"
    );
    assert_eq!(nonce(&chain, RELAYER), before + 2);

    let (_, metrics) = http(&relayer.addr, "GET", "/metrics", None);
    let metrics = metrics.as_str().expect("text").to_owned();
    assert!(
        metrics.contains("taonado_relayer_jobs_confirmed_total 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("taonado_relayer_requests_refused_total{code=\"INVALID_PROOF\"} 1"),
        "{metrics}"
    );

    // The maximum gas price holds for the first send too: under the chain's 20 gwei, no
    // quote is given and jobs are refused before anything is signed.
    drop(relayer);
    let capped = RelayerChild::start(
        &chain,
        &chain.sandbox.path().join("capped.db"),
        &["--max-gas-price-gwei", "10", "--rate-limit", "2"],
    );
    let (_, status) = capped.get("/v1/status");
    assert!(status["quote"].is_null(), "{status}");
    assert_eq!(status["health"]["status"], false, "{status}");
    // (The price is checked before the chain is: the spent note's job shows it too.)
    refused(&capped, &good, 503, "GAS_PRICE_TOO_HIGH");
    // Two requests a minute from one address: the third is turned away unread.
    refused(&capped, &good, 503, "GAS_PRICE_TOO_HIGH");
    refused(&capped, &good, 429, "RATE_LIMITED");
    assert_eq!(nonce(&chain, RELAYER), before + 2);
}

#[test]
fn a_relayer_killed_after_accepting_or_sending_a_job_sends_it_exactly_once_after_restart() {
    let chain = MixerChain::start();
    let notes: Vec<String> = (0..3).map(|_| deposit_note(&chain)).collect();
    let db = jobs_db(&chain);
    let before = nonce(&chain, RELAYER);

    // Accepted, then killed before anything was sent: --paused queues without sending,
    // so the kill lands after the 202 and before any send, without relying on timing.
    let recipient = fresh_address(0xc1);
    let body = job_body(&chain, &notes[0], &recipient, RELAYER, "0.1");
    let relayer = RelayerChild::start(&chain, &db, &["--paused"]);
    let (code, accepted) = relayer.post(&body);
    assert_eq!(code, 202, "{accepted}");
    let id = accepted["id"].as_str().expect("job id").to_owned();
    let (_, job) = relayer.get(&format!("/v1/jobs/{id}"));
    assert_eq!(job["status"], "ACCEPTED", "{job}");
    refused(&relayer, &body, 409, "DUPLICATE_JOB");
    relayer.kill();
    assert_eq!(nonce(&chain, RELAYER), before);

    let relayer = RelayerChild::start(&chain, &db, &[]);
    let job = relayer.final_state(&id);
    assert_eq!(job["status"], "CONFIRMED", "{job}");
    assert_eq!(nonce(&chain, RELAYER), before + 1, "sent exactly once");
    assert_eq!(chain.wtao_balance(&recipient), "900000000000000000");

    // Sent, then killed before it was mined: with automine off the transaction waits in
    // the pool; the restarted relayer finds it recorded, broadcasts the same transaction
    // again (never a new one) and follows it once a block is mined.
    cast(&chain.devnet.url, &["rpc", "evm_setAutomine", "false"]);
    let recipient = fresh_address(0xc2);
    let body = job_body(&chain, &notes[1], &recipient, RELAYER, "0.1");
    let (code, accepted) = relayer.post(&body);
    assert_eq!(code, 202, "{accepted}");
    let id = accepted["id"].as_str().expect("job id").to_owned();
    let sent = relayer.wait_for(&id, "SENT");
    relayer.kill();
    let relayer = RelayerChild::start(&chain, &db, &[]);
    let (_, job) = relayer.get(&format!("/v1/jobs/{id}"));
    assert_eq!(job["status"], "SENT", "{job}");
    assert_eq!(
        job["txHash"], sent["txHash"],
        "no new transaction after the restart"
    );
    cast(&chain.devnet.url, &["rpc", "evm_mine"]);
    let job = relayer.final_state(&id);
    assert_eq!(job["status"], "CONFIRMED", "{job}");
    assert_eq!(job["txHash"], sent["txHash"]);
    assert_eq!(nonce(&chain, RELAYER), before + 2, "sent exactly once");
    assert_eq!(chain.wtao_balance(&recipient), "900000000000000000");

    // Stuck: not mined within --stuck-after, the transaction is replaced by one with the
    // same nonce and a higher gas price; only the replacement is mined.
    relayer.kill();
    let relayer = RelayerChild::start(&chain, &db, &["--stuck-after", "1"]);
    cast(&chain.devnet.url, &["rpc", "evm_setAutomine", "false"]);
    let recipient = fresh_address(0xc3);
    let body = job_body(&chain, &notes[2], &recipient, RELAYER, "0.1");
    let (code, accepted) = relayer.post(&body);
    assert_eq!(code, 202, "{accepted}");
    let id = accepted["id"].as_str().expect("job id").to_owned();
    let first = relayer.wait_for(&id, "SENT");
    let started = Instant::now();
    let replaced = loop {
        let (_, job) = relayer.get(&format!("/v1/jobs/{id}"));
        if job["txHash"] != first["txHash"] {
            break job;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "never replaced: {job}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    cast(&chain.devnet.url, &["rpc", "evm_mine"]);
    let job = relayer.final_state(&id);
    assert_eq!(job["status"], "CONFIRMED", "{job}");
    assert_eq!(
        job["txHash"], replaced["txHash"],
        "the replacement is the one mined"
    );
    assert_eq!(
        nonce(&chain, RELAYER),
        before + 3,
        "one nonce for both transactions"
    );
    assert_eq!(chain.wtao_balance(&recipient), "900000000000000000");
    let (_, metrics) = http(&relayer.addr, "GET", "/metrics", None);
    let metrics = metrics.as_str().expect("text").to_owned();
    assert!(
        !metrics.contains("taonado_relayer_transactions_replaced_total 0"),
        "{metrics}"
    );
}

/// Throughput and latency on the dev chain (automining): notes and proofs are made up
/// front, so only the relayer is measured. Prints the figures; run with
/// `cargo test -p taonado-cli --test it relayer::bench -- --ignored --nocapture`
/// (`TAONADO_RELAYER_BENCH_JOBS`, default 30).
#[test]
#[ignore = "a measurement, not a check"]
fn bench_jobs_per_minute_and_submit_to_confirmed() {
    let jobs: usize = std::env::var("TAONADO_RELAYER_BENCH_JOBS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(30);
    let sequential = 5.min(jobs);
    let chain = MixerChain::start();
    let started = Instant::now();
    let notes: Vec<String> = (0..jobs).map(|_| deposit_note(&chain)).collect();
    let bodies: Vec<Value> = notes
        .iter()
        .enumerate()
        .map(|(i, note)| {
            let recipient = format!("0x{:040x}", 0xbe00 + i);
            job_body(&chain, note, &recipient, RELAYER, "0.1")
        })
        .collect();
    println!(
        "setup: {jobs} deposits and proofs in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let relayer = RelayerChild::start(&chain, &jobs_db(&chain), &["--rate-limit", "100000"]);

    // One at a time: the latency of a job alone.
    let mut latencies = Vec::new();
    for body in &bodies[..sequential] {
        let submitted = Instant::now();
        let (code, accepted) = relayer.post(body);
        assert_eq!(code, 202, "{accepted}");
        let job = relayer.final_state(accepted["id"].as_str().expect("id"));
        assert_eq!(job["status"], "CONFIRMED", "{job}");
        latencies.push(submitted.elapsed().as_secs_f64() * 1000.0);
    }
    // All at once: what the relayer sustains.
    let burst = Instant::now();
    let ids: Vec<String> = bodies[sequential..]
        .iter()
        .map(|body| {
            let (code, accepted) = relayer.post(body);
            assert_eq!(code, 202, "{accepted}");
            accepted["id"].as_str().expect("id").to_owned()
        })
        .collect();
    let submitted_in = burst.elapsed().as_secs_f64();
    let mut in_queue = Vec::new();
    for id in &ids {
        let job = relayer.final_state(id);
        assert_eq!(job["status"], "CONFIRMED", "{job}");
        let accepted = job["acceptedAtMs"].as_u64().expect("ms");
        let confirmed = job["confirmedAtMs"].as_u64().expect("ms");
        in_queue.push((confirmed - accepted) as f64);
    }
    let total = burst.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    in_queue.sort_by(f64::total_cmp);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "alone: {sequential} jobs, submit to CONFIRMED (client side, HTTP included) median {:.0} ms, max {:.0} ms",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );
    if !ids.is_empty() {
        println!(
            "burst: {} jobs submitted in {submitted_in:.2} s, all CONFIRMED after {total:.2} s: {:.0} jobs/min; accepted to CONFIRMED median {:.0} ms, max {:.0} ms",
            ids.len(),
            ids.len() as f64 / total * 60.0,
            in_queue[in_queue.len() / 2],
            in_queue[in_queue.len() - 1]
        );
    }
    println!("load average: {}", load.trim());
}

#[test]
fn relayer_command_lines_that_cannot_work_are_usage_errors() {
    let sandbox = crate::support::Sandbox::new();
    // The relayer takes the fee; --fee and --relayer belong to direct withdrawals.
    let (code, _, stderr) = crate::support::run(sandbox.taonado().args([
        "mixer",
        "withdraw",
        "--note",
        "-",
        "--recipient",
        RELAYER,
        "--relayer-url",
        "http://127.0.0.1:1/",
        "--fee",
        "0.1",
    ]));
    assert_eq!(code, 2, "{stderr}");
    // A live network: the relayer would spend real TAO on gas.
    let (code, _, stderr) =
        crate::support::run(
            sandbox
                .taonado()
                .args(["-q", "--network", "testnet", "relayer"]),
        );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--yes"), "{stderr}");
}

#[test]
fn a_low_balance_is_a_critical_alert_through_the_monitors_channels() {
    let chain = MixerChain::start();
    let (hook, seen) = crate::monitor::receiver();
    std::fs::write(
        chain.sandbox.path().join("relayer-alerts.toml"),
        format!(
            "[[channels]]\nname = \"ops\"\nkind = \"webhook\"\nurl = \"{hook}\"\nsecret_env = \"HOOK_SECRET\"\n"
        ),
    )
    .expect("write the channels");
    // --dry-run checks everything, says where it would listen, and stops.
    let (code, stdout, stderr) = crate::support::run(
        chain
            .sandbox
            .taonado()
            .args(["--json", "-q", "--rpc-url", &chain.devnet.url, "relayer"])
            .args([
                "--listen",
                "127.0.0.1:0",
                "--private-key",
                RELAYER_KEY,
                "--dry-run",
            ])
            .arg("--jobs-db")
            .arg(jobs_db(&chain)),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let ready = envelope(&stdout);
    assert_eq!(ready["data"]["dry_run"], true, "{ready}");
    assert_eq!(ready["data"]["address"], RELAYER, "{ready}");

    // The dev account holds 10,000 TAO: under a 50,000 TAO critical level.
    let child = chain
        .sandbox
        .taonado()
        .env("HOOK_SECRET", crate::monitor::SECRET)
        .args(["--json", "-q", "--rpc-url", &chain.devnet.url, "relayer"])
        .args(["--listen", "127.0.0.1:0", "--private-key", RELAYER_KEY])
        .args(["--balance-warn", "100000", "--balance-critical", "50000"])
        .arg("--alerts-config")
        .arg(chain.sandbox.path().join("relayer-alerts.toml"))
        .arg("--jobs-db")
        .arg(jobs_db(&chain))
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn taonado relayer");
    let started = Instant::now();
    let body: Value = loop {
        if let Some(request) = seen.lock().expect("lock").first() {
            assert!(
                request.signed(),
                "the webhook is signed with the channel's secret"
            );
            break serde_json::from_slice(&request.body).expect("JSON");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no alert was delivered"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    // SIGTERM: a clean stop, exit 0, and the report as a second envelope line.
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let output = child.wait_with_output().expect("the relayer stops");
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(envelope(lines[1])["data"]["queue"], 0, "{stdout}");
    assert_eq!(body["alert"]["rule"], "relayer_balance", "{body}");
    assert_eq!(body["alert"]["severity"], "critical", "{body}");
    assert_eq!(body["transition"], "fired", "{body}");
    assert_eq!(
        seen.lock().expect("lock").len(),
        1,
        "one transition, one message"
    );
}

#[test]
fn a_relayer_dead_between_recording_and_broadcasting_sends_the_recorded_transaction_once() {
    let chain = MixerChain::start();
    let note = deposit_note(&chain);
    let db = jobs_db(&chain);
    let before = nonce(&chain, RELAYER);
    let recipient = fresh_address(0xd1);
    let body = job_body(&chain, &note, &recipient, RELAYER, "0.1");
    // The relayer aborts (as a kill would stop it) right after writing the signed
    // transaction and before broadcasting it.
    let mut child = chain
        .sandbox
        .taonado()
        .env("TAONADO_RELAYER_TEST_ABORT_AFTER_RECORD", "1")
        .args(["--json", "-q", "--rpc-url", &chain.devnet.url, "relayer"])
        .args(["--listen", "127.0.0.1:0", "--private-key", RELAYER_KEY])
        .arg("--jobs-db")
        .arg(&db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn taonado relayer");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("the ready line");
    let ready: Value = serde_json::from_str(&line).expect("JSON");
    let url = ready["data"]["relayer_url"].as_str().expect("url");
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let (code, accepted) = http(addr, "POST", "/v1/tornadoWithdraw", Some(&body));
    assert_eq!(code, 202, "{accepted}");
    let id = accepted["id"].as_str().expect("job id").to_owned();
    let status = child.wait().expect("the relayer ends");
    assert!(!status.success(), "it aborted");
    assert_eq!(nonce(&chain, RELAYER), before, "nothing reached the chain");

    let relayer = RelayerChild::start(&chain, &db, &[]);
    let job = relayer.final_state(&id);
    assert_eq!(job["status"], "CONFIRMED", "{job}");
    assert_eq!(nonce(&chain, RELAYER), before + 1, "sent exactly once");
    assert_eq!(chain.wtao_balance(&recipient), "900000000000000000");
}
