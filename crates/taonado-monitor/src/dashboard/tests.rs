use std::collections::BTreeSet;

use alloy::primitives::{Address, U256};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt as _;
use taonado_store::alerts::{ActiveAlert, Severity};
use tower::ServiceExt as _;

use super::*;
use taonado_deployment::ProtocolContracts;

use crate::engine::LiveState;
use crate::observe::{Observation, PoolObservation};

fn state() -> DashboardState {
    state_on(Store::open_in_memory().unwrap())
}

fn state_on(store: Store) -> DashboardState {
    DashboardState {
        network: "local".into(),
        chain_id: 31337,
        contracts: ProtocolContracts::default(),
        store,
        metrics: Arc::new(Metrics::new()),
        live: crate::engine::Live::default(),
        allowed_hosts: Default::default(),
    }
}

fn observed(state: &DashboardState) {
    let obs = Observation {
        at_unix: 1_700_000_000,
        head_block: Some(42),
        checkpoint_block: Some(40),
        active_miners: Some(3),
        pools_observed: true,
        pools: vec![PoolObservation {
            address: Address::repeat_byte(0xbb),
            denomination: U256::from(10u64).pow(U256::from(18u64)),
            balance: U256::from(10u64).pow(U256::from(18u64)),
            deposits: 1,
            withdrawals: 0,
        }],
        ..Observation::default()
    };
    state.metrics.update(&obs);
    let mut live = state.live.lock().unwrap();
    live.history.push_back(obs.sample());
    live.latest = Some(obs);
    live.ready = true;
}

async fn get(state: &DashboardState, uri: &str) -> (StatusCode, String, String) {
    let response = router(state.clone())
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

#[tokio::test]
async fn page_and_assets_are_embedded_and_load_nothing_remote() {
    let s = state();
    let (status, ct, html) = get(&s, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/html"));
    assert!(html.contains("<script src=\"/assets/app.js\">"));
    for asset in ["/assets/app.js", "/assets/app.css"] {
        let (status, _, body) = get(&s, asset).await;
        assert_eq!(status, StatusCode::OK, "{asset}");
        assert!(!body.is_empty());
    }
    for text in [
        html,
        get(&s, "/assets/app.js").await.2,
        get(&s, "/assets/app.css").await.2,
    ] {
        assert!(
            !text.contains("https://") && !text.contains("//cdn"),
            "no remote resources"
        );
    }
}

#[tokio::test]
async fn health_and_readiness() {
    let s = state();
    assert_eq!(get(&s, "/healthz").await.0, StatusCode::OK);
    assert_eq!(get(&s, "/readyz").await.0, StatusCode::SERVICE_UNAVAILABLE);
    observed(&s);
    assert_eq!(get(&s, "/readyz").await.0, StatusCode::OK);
}

#[tokio::test]
async fn metrics_are_prometheus_text() {
    let s = state();
    observed(&s);
    let (status, ct, body) = get(&s, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("application/openmetrics-text"));
    assert!(body.contains("taonado_active_miners 3.0"), "{body}");
    assert!(body.contains("taonado_checkpoint_lag_blocks 2.0"), "{body}");
    assert!(body.ends_with("# EOF\n"));
}

#[tokio::test]
async fn api_feeds_summary_series_and_alerts() {
    for store in taonado_store::testing::each_backend("api_feeds_summary_series_and_alerts") {
        let s = state_on(store);
        let (status, _, body) = get(&s, "/api/summary").await;
        assert_eq!(status, StatusCode::OK);
        let empty: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(empty["ready"], false);
        assert!(empty["sample"].is_null());

        observed(&s);
        let rules: BTreeSet<String> = ["gas_price".to_owned()].into();
        let alert = ActiveAlert {
            dedup_key: "gas_price:average".into(),
            rule: "gas_price".into(),
            severity: Severity::Warning,
            summary: "average gas price 60 gwei".into(),
            details: serde_json::json!({}),
            block: Some(40),
        };
        s.store.apply_alerts(&[alert], &rules, 5).unwrap();

        let summary: serde_json::Value =
            serde_json::from_str(&get(&s, "/api/summary").await.2).unwrap();
        assert_eq!(summary["ready"], true);
        assert_eq!(summary["firing"], 1);
        assert_eq!(summary["sample"]["active_miners"], 3);
        assert_eq!(summary["pools"][0]["anonymity_set"], 1);
        assert_eq!(summary["pools"][0]["consistent"], true);
        let series: serde_json::Value =
            serde_json::from_str(&get(&s, "/api/series").await.2).unwrap();
        assert_eq!(series["samples"].as_array().unwrap().len(), 1);
        let alerts: serde_json::Value =
            serde_json::from_str(&get(&s, "/api/alerts").await.2).unwrap();
        assert_eq!(alerts["firing"][0]["rule"], "gas_price");
        assert_eq!(alerts["firing"][0]["severity"], "warning");
        assert_eq!(alerts["recent"].as_array().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn unknown_paths_are_404() {
    assert_eq!(get(&state(), "/nope").await.0, StatusCode::NOT_FOUND);
}

#[test]
fn live_state_starts_empty() {
    let live = LiveState::default();
    assert!(!live.ready && live.latest.is_none());
}

/// A rebound DNS name is refused; localhost, IP literals and listed names are served.
#[tokio::test]
async fn only_local_and_listed_hosts_are_served() {
    let mut state = state();
    state.allowed_hosts = Arc::new(vec!["monitor.example.org".to_owned()]);
    let app = router(state);
    for (host, status) in [
        ("evil.example", StatusCode::FORBIDDEN),
        ("127.0.0.1:9464", StatusCode::OK),
        ("localhost:9464", StatusCode::OK),
        ("monitor.example.org", StatusCode::OK),
    ] {
        let response = app
            .clone()
            .oneshot(
                Request::builder()
                    .uri("/healthz")
                    .header("host", host)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{host}");
    }
}
