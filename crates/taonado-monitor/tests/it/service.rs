//! The monitor as one service (`MonitorService::run(plan, shutdown)`) on a dev chain: it
//! indexes, evaluates and serves the dashboard, stops itself at the plan's block limit and
//! stops cleanly when the shutdown flag turns true.

use std::time::Duration;

use taonado_indexer::IndexerTuning;
use taonado_monitor::{MonitorFile, MonitorPlan, MonitorService, MonitorTuning};
use tokio::sync::watch;

use crate::stack::Stack;

fn plan(stack: &Stack, db: std::path::PathBuf, exit_after_blocks: Option<u64>) -> MonitorPlan {
    MonitorPlan {
        network: "local".into(),
        chain_id: stack.devnet.chain_id(),
        netuid: 2,
        rpc_url: stack.devnet.rpc_url().parse().unwrap(),
        contracts: stack.contracts.clone(),
        start_block: 0,
        db,
        listen: "127.0.0.1:0".parse().unwrap(),
        file: MonitorFile::empty(),
        notifiers: Vec::new(),
        exit_after_blocks,
        tuning: MonitorTuning {
            indexer: IndexerTuning {
                poll_interval: Duration::from_millis(100),
                ..MonitorTuning::indexer_defaults()
            },
            ..MonitorTuning::default()
        },
        allowed_hosts: Vec::new(),
    }
}

async fn status(url: &str) -> Option<u16> {
    reqwest::get(url).await.ok().map(|r| r.status().as_u16())
}

#[tokio::test]
async fn the_service_runs_on_a_dev_chain_and_stops_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    for db in taonado_store::testing::each_database(
        "the_service_runs_on_a_dev_chain_and_stops_on_shutdown",
        &dir.path().join("data"),
    ) {
        let stack = Stack::start().await;

        // A block limit: the service stops by itself once an evaluation covers it.
        let service =
            MonitorService::start(plan(&stack, db.clone(), Some(3)), stack.provider.clone())
                .await
                .unwrap();
        let (_keep, shutdown) = watch::channel(false);
        let running = tokio::spawn(service.run(shutdown));
        stack.mine(5).await;
        let report = tokio::time::timeout(Duration::from_secs(60), running)
            .await
            .expect("the service stops at its block limit")
            .unwrap()
            .unwrap();
        assert!(report.evaluations >= 1, "{report:?}");
        assert!(report.checkpoint.is_some(), "{report:?}");
        assert_eq!(report.db, db);

        // No limit: it serves until the shutdown flag turns true, resuming the same database.
        let service = MonitorService::start(plan(&stack, db.clone(), None), stack.provider.clone())
            .await
            .unwrap();
        let url = service.dashboard_url().to_owned();
        let (stop, shutdown) = watch::channel(false);
        let running = tokio::spawn(service.run(shutdown));
        assert_eq!(status(&format!("{url}healthz")).await, Some(200));
        stack.mine(2).await;
        let ready = async {
            while status(&format!("{url}readyz")).await != Some(200) {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(60), ready)
            .await
            .expect("an evaluation makes the service ready");
        assert!(!running.is_finished());
        stop.send(true).unwrap();
        let report = tokio::time::timeout(Duration::from_secs(30), running)
            .await
            .expect("the service stops on shutdown")
            .unwrap()
            .unwrap();
        assert!(report.evaluations >= 1, "{report:?}");
        assert_eq!(report.dashboard_url, url);
        // The dashboard stopped with it.
        assert_eq!(status(&format!("{url}healthz")).await, None);
    }
}

/// An RPC outage shows while no block arrives: `/readyz` turns 503 with the reason, the
/// summary's `last_error` names it, `taonado_rpc_up` is 0 and the per-contract series are
/// gone (they would claim contracts up that nobody can see).
///
/// SQLite only (it waits seconds for the indexer's rounds to fail; the service's queries run
/// on both backends in the test above, the uptime report's in `reports::tests`).
#[tokio::test]
async fn an_rpc_outage_makes_the_service_not_ready_and_says_why() {
    let stack = Stack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let service = MonitorService::start(
        plan(&stack, dir.path().join("outage.db"), None),
        stack.provider.clone(),
    )
    .await
    .unwrap();
    let url = service.dashboard_url().to_owned();
    let (stop, shutdown) = watch::channel(false);
    let running = tokio::spawn(service.run(shutdown));
    stack.mine(2).await;
    let wait_for = |path: &'static str, want: u16| {
        let url = url.clone();
        async move {
            while status(&format!("{url}{path}")).await != Some(want) {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), wait_for("readyz", 200))
        .await
        .expect("ready while the chain answers");
    // a round that reached the chain is recorded for the uptime report
    let checks = taonado_store::Store::open(&dir.path().join("outage.db")).unwrap();
    let reached = async {
        while checks
            .check_minutes(0, i64::MAX as u64)
            .unwrap()
            .iter()
            .all(|m| m.ok_rounds == 0)
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), reached)
        .await
        .expect("a reached round recorded");

    let Stack { devnet, .. } = stack;
    devnet.shutdown().await.unwrap();
    tokio::time::timeout(Duration::from_secs(60), wait_for("readyz", 503))
        .await
        .expect("not ready once the indexer's rounds fail");
    let readyz = reqwest::get(format!("{url}readyz")).await.unwrap();
    let why = readyz.text().await.unwrap();
    assert!(why.contains("RPC endpoint fails"), "{why}");
    let summary: serde_json::Value = reqwest::get(format!("{url}api/summary"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(summary["ready"], false);
    assert!(
        summary["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("RPC endpoint fails")),
        "{summary}"
    );
    let metrics = reqwest::get(format!("{url}metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("taonado_rpc_up 0.0"), "{metrics}");
    assert!(!metrics.contains("taonado_contract_up{"), "{metrics}");
    stop.send(true).unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(30), running).await;

    // The rounds are recorded per minute, reached and failed: the operations report's
    // uptime shows the network less than fully available.
    let store = checks;
    let minutes = store.check_minutes(0, i64::MAX as u64).unwrap();
    assert!(minutes.iter().all(|m| m.network == "local"), "{minutes:?}");
    assert!(
        minutes.iter().map(|m| m.ok_rounds).sum::<u64>() > 0,
        "{minutes:?}"
    );
    assert!(
        minutes.iter().map(|m| m.failed_rounds).sum::<u64>() > 0,
        "{minutes:?}"
    );
    let request = taonado_monitor::reports::ReportRequest {
        kind: taonado_monitor::reports::ReportKind::Ops,
        period: Default::default(),
        source: "outage.db".into(),
    };
    let ops = taonado_monitor::reports::build(&store, &request, taonado_deployment::unix_now())
        .unwrap()
        .to_markdown();
    assert!(ops.contains("| network | minutes checked | minutes reachable | availability |\n|---|---|---|---|\n| local |"), "{ops}");
}
