//! Two `taonado monitor`s sharing one PostgreSQL database: one leads (indexes and
//! delivers), the other serves its dashboard and waits; after the leader is killed with
//! SIGKILL the follower takes over, keeps indexing, and nothing is delivered twice.
//! Needs `TAONADO_TEST_POSTGRES` (skipped with a notice without it, failed under CI=true).

use std::fs::File;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::monitor::{SECRET, deployed, receiver, write_config};
use crate::support::{Devnet, Sandbox, cast};

/// Polls `done` until it holds, failing after `limit`.
fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let end = Instant::now() + limit;
    while !done() {
        assert!(
            Instant::now() < end,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

struct Monitor {
    child: Child,
    log: std::path::PathBuf,
}

impl Monitor {
    fn start(sandbox: &Sandbox, devnet: &Devnet, db: &str, name: &str) -> Self {
        let log = sandbox.path().join(format!("{name}.log"));
        let child = sandbox
            .taonado()
            .env("HOOK_SECRET", SECRET)
            .env("RUST_LOG", "info")
            .args(["--json", "monitor", "--rpc-url", &devnet.url, "--db", db])
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .expect("spawn taonado monitor");
        Self { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn leads(&self) -> bool {
        self.log().contains("leader lock taken")
    }

    fn follows(&self) -> bool {
        self.log().contains("another monitor leads")
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_killed_leader_is_replaced_and_nothing_is_delivered_twice() {
    let Some(server) = taonado_store::testing::postgres_url(
        "a_killed_leader_is_replaced_and_nothing_is_delivered_twice",
    ) else {
        return;
    };
    let db = taonado_store::testing::fresh_schema(&server).unwrap();
    let sandbox = Sandbox::new();
    let devnet = deployed(&sandbox);
    let (hook, seen) = receiver();
    // Funded with 10 TAO on a dev chain: a 1000 TAO floor fires at once and stays firing.
    write_config(&sandbox, &hook, "validator_balance_min_tao = \"1000\"");
    let deliveries = || -> Vec<Value> {
        seen.lock()
            .unwrap()
            .iter()
            .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
            .filter(|j| j["alert"]["rule"] == "validator_balance_low")
            .collect()
    };

    let mut first = Monitor::start(&sandbox, &devnet, &db, "first");
    wait_for("the first monitor to lead", Duration::from_secs(60), || {
        first.leads()
    });
    wait_for("the alert's delivery", Duration::from_secs(60), || {
        !deliveries().is_empty()
    });
    let second = Monitor::start(&sandbox, &devnet, &db, "second");
    wait_for(
        "the second monitor to follow",
        Duration::from_secs(60),
        || second.follows(),
    );
    assert!(!second.leads(), "{}", second.log());

    let store = taonado_store::Store::open_postgres(&db).unwrap();
    let before = store
        .checkpoint()
        .unwrap()
        .expect("the leader indexed")
        .number;
    first.child.kill().unwrap(); // SIGKILL: no clean shutdown, the session just ends
    first.child.wait().unwrap();
    let killed_at = Instant::now();
    wait_for("the follower to take over", Duration::from_secs(20), || {
        second.leads()
    });
    let takeover = killed_at.elapsed();
    assert!(
        takeover < Duration::from_secs(5),
        "took over after {takeover:?}"
    );

    // The new leader indexes: a new block reaches the shared checkpoint.
    cast(&devnet.url, &["rpc", "evm_mine"]);
    wait_for(
        "the new leader to index the new block",
        Duration::from_secs(30),
        || {
            store
                .checkpoint()
                .unwrap()
                .is_some_and(|c| c.number > before)
        },
    );
    // ...and evaluates it (the alert is still firing: one episode, no new notification).
    wait_for(
        "the new leader to evaluate the new block",
        Duration::from_secs(30),
        || {
            let firing = store.firing_alerts().unwrap();
            firing.len() == 1 && firing[0].block.is_some_and(|b| b > before)
        },
    );
    let counts = store.outbox_counts().unwrap();
    assert_eq!((counts.pending, counts.dead), (0, 0), "{counts:?}");
    let delivered = deliveries();
    assert_eq!(
        delivered.len(),
        1,
        "delivered once, not again by the new leader: {delivered:?}"
    );
    assert_eq!(store.firing_alerts().unwrap().len(), 1);
    println!("leader takeover after SIGKILL: {takeover:?}");
}
