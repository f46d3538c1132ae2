//! The dashboard rendered by headless Chromium: the page's own JS must fetch the API and
//! draw cards, charts and tables. Requires chromium when TAONADO_BROWSER_TESTS=1 (CI);
//! otherwise skips with a message if no chromium is installed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use alloy::primitives::{Address, U256};
use taonado_deployment::ProtocolContracts;
use taonado_monitor::miners::{AddressView, MinerView, MinersView};
use taonado_monitor::observe::{ContractStatus, Observation, PoolObservation, WtaoObservation};
use taonado_monitor::{DashboardState, Metrics};
use taonado_store::Store;
use taonado_store::alerts::{ActiveAlert, Severity};

fn chromium() -> Option<PathBuf> {
    let required = std::env::var("TAONADO_BROWSER_TESTS").is_ok_and(|v| v == "1");
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| {
            std::env::var_os("PATH")
                .into_iter()
                .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
                .map(move |dir| dir.join(name))
        })
        .find(|p| p.is_file());
    match found {
        Some(path) => Some(path),
        None if required => {
            panic!("TAONADO_BROWSER_TESTS=1 but no chromium on PATH; apt-get install chromium")
        }
        None => {
            eprintln!(
                "skipping the browser test: no chromium on PATH (set TAONADO_BROWSER_TESTS=1 to require it)"
            );
            None
        }
    }
}

fn observation(at: u64, block: u64, gas_gwei: f64, miners: u64) -> Observation {
    let tao = U256::from(10u64).pow(U256::from(18u64));
    Observation {
        at_unix: at,
        head_block: Some(block),
        checkpoint_block: Some(block),
        gas_price_now_wei: Some((gas_gwei * 1e9) as u128),
        tx: Some(taonado_store::TxStats {
            total: 10,
            succeeded: 9,
            failed: 1,
            success_rate: Some(0.9),
            avg_gas_price_wei: Some(gas_gwei * 1e9),
            max_gas_price_wei: None,
            total_gas_used: 0,
        }),
        active_miners: Some(miners),
        last_weight_set_block: Some(block - 3),
        pools_observed: true,
        pools: vec![PoolObservation {
            address: Address::repeat_byte(0xbb),
            denomination: tao,
            balance: tao * U256::from(4u64),
            deposits: 5,
            withdrawals: 1,
        }],
        validator_balance: Some(tao * U256::from(7u64)),
        wtao: Some(WtaoObservation {
            address: Address::repeat_byte(0xaa),
            supply: tao * U256::from(20 + block),
            native_balance: tao * U256::from(20 + block),
            wrapped: Some(tao * U256::from(20 + block)),
        }),
        contracts: vec![ContractStatus {
            name: "WTAO".into(),
            address: Address::repeat_byte(0xaa),
            has_code: true,
            responsive: true,
            error: None,
        }],
        ..Observation::default()
    }
}

async fn run(chromium: &Path, args: &[String]) -> String {
    let out = tokio::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--virtual-time-budget=4000",
        ])
        .args(args)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// SQLite only: Chromium costs seconds and this tests the page; the dashboard's queries run
/// on both backends in `dashboard::tests::api_feeds_summary_series_and_alerts`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_renders_the_dashboard_with_data() {
    let Some(chromium) = chromium() else { return };
    let store = Store::open_in_memory().unwrap();
    let rules: BTreeSet<String> = ["pool_balance_discrepancy".to_owned()].into();
    store
        .apply_alerts(
            &[ActiveAlert {
                dedup_key: "pool_balance_discrepancy:0xbb".into(),
                rule: "pool_balance_discrepancy".into(),
                severity: Severity::Critical,
                summary: "pool holds 4.5 TAO but events imply 4 TAO".into(),
                details: serde_json::json!({}),
                block: Some(12),
            }],
            &rules,
            1_700_000_000,
        )
        .unwrap();
    let state = DashboardState {
        network: "local".into(),
        chain_id: 31337,
        contracts: ProtocolContracts::default(),
        store,
        metrics: Arc::new(Metrics::new()),
        live: Default::default(),
        allowed_hosts: Default::default(),
    };
    {
        let mut live = state.live.lock().unwrap();
        for i in 0..6u64 {
            let obs = observation(1_700_000_000 + i * 12, 10 + i, 10.0 + i as f64, 2 + i % 2);
            live.history.push_back(obs.sample());
            live.latest = Some(obs);
        }
        live.ready = true;
        live.miners = Some(MinersView {
            block: 15,
            weights_contract: "WeightsV3 0x8a791620dd6260079bf849dc5567adc3f2fdc318".into(),
            deposit_goal_tao: "1000".into(),
            mismatches: 0,
            miners: vec![
                MinerView {
                    uid: 0,
                    hotkey: "5C4hrfjw9DjXZTzV3MwzrrAr9P1MJhSrvWGWqi1eSuyUpnhM".into(),
                    burn: true,
                    association_count: 0,
                    addresses: Vec::new(),
                    wtao_tao: "0".into(),
                    lifetime_deposits_tao: "0".into(),
                    weight_onchain: Some(65_403),
                    weight_recomputed: Some(65_403),
                    incentive: 0,
                    emission_tao: "0".into(),
                },
                MinerView {
                    uid: 1,
                    hotkey: "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty".into(),
                    burn: false,
                    association_count: 1,
                    addresses: vec![AddressView {
                        address: "0xcccccccccccccccccccccccccccccccccccccccc".into(),
                        wtao_tao: "2".into(),
                        lifetime_deposits_tao: "1".into(),
                    }],
                    wtao_tao: "2".into(),
                    lifetime_deposits_tao: "1".into(),
                    weight_onchain: Some(196),
                    weight_recomputed: Some(196),
                    incentive: 65_535,
                    emission_tao: "0.41".into(),
                },
            ],
        });
    }
    let listener = taonado_monitor::dashboard::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(taonado_monitor::dashboard::serve(
        listener,
        taonado_monitor::router(state),
        async {
            let _ = stopped.await;
        },
    ));

    let dom = run(&chromium, &["--dump-dom".into(), url.clone()]).await;
    assert!(
        dom.contains("data-loaded=\"true\""),
        "the page's script did not finish: {dom}"
    );
    assert!(dom.contains("local (chain 31337)"), "{dom}");
    assert!(
        dom.contains("pool holds 4.5 TAO but events imply 4 TAO"),
        "firing alert shown"
    );
    assert!(
        dom.contains("0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"),
        "pool row shown"
    );
    assert!(dom.contains("data-metric=\"active_miners\""), "{dom}");
    assert!(dom.contains("<polyline"), "charts drawn");
    assert!(
        dom.contains("data-points=\"6\""),
        "a chart has the six samples"
    );
    // Rates are percentages, charts have a UTC time axis and values with units on hover.
    assert!(
        dom.contains(">90.0 %<"),
        "the success rate as a percentage: {dom}"
    );
    assert!(dom.contains("data-x-axis=\"utc\""), "{dom}");
    // The per-miner view: uid, hotkey, addresses with WTAO and lifetime deposits, the
    // weight on chain and recomputed, the last epoch's incentive and emission.
    for shown in [
        "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty",
        "0xcccccccccccccccccccccccccccccccccccccccc (2 WTAO, 1 deposited)",
        ">0.30 %<",
        ">100.00 %<",
        ">0.41 TAO<",
        "burn uid: associations never count",
        "block 15, WeightsV3 0x8a79",
    ] {
        assert!(dom.contains(shown), "the miners table shows {shown}: {dom}");
    }
    assert!(
        dom.contains("22:13:20") && dom.contains("22:14:20 UTC"),
        "{dom}"
    );
    assert!(
        dom.contains("<title>2023-11-14T22:13:20Z: 10 gwei</title>"),
        "hover shows time and unit: {dom}"
    );

    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("taonado-dashboard.png");
    let _ = std::fs::remove_file(&shot);
    run(
        &chromium,
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,1800".into(),
            url,
        ],
    )
    .await;
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "screenshot at {}",
        shot.display()
    );
    eprintln!("dashboard screenshot: {}", shot.display());

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
