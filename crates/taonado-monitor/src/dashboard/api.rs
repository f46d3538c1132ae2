//! JSON endpoints feeding the page: `/api/summary`, `/api/series`, `/api/alerts`,
//! `/api/miners`.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use taonado_store::alerts::AlertRecord;
use taonado_store::outbox::OutboxCounts;

use super::{ApiError, DashboardState};
use crate::observe::{ContractStatus, Sample};
use crate::units::{tao, tao_f64};

pub(super) fn router() -> Router<DashboardState> {
    Router::new()
        .route("/api/summary", get(summary))
        .route("/api/series", get(series))
        .route("/api/alerts", get(alerts))
        .route("/api/miners", get(miners))
}

#[derive(Serialize)]
struct Miners {
    view: Option<crate::miners::MinersView>,
    error: Option<String>,
}

async fn miners(State(state): State<DashboardState>) -> Json<Miners> {
    let live = state.live.lock().unwrap_or_else(|p| p.into_inner());
    Json(Miners {
        view: live.miners.clone(),
        error: live.miners_error.clone(),
    })
}

#[derive(Serialize)]
struct PoolView {
    address: String,
    denomination_tao: String,
    balance_tao: f64,
    anonymity_set: u64,
    deposits: u64,
    withdrawals: u64,
    consistent: bool,
}

#[derive(Serialize)]
struct Summary {
    network: String,
    chain_id: u64,
    ready: bool,
    last_error: Option<String>,
    head_block: Option<u64>,
    sample: Option<Sample>,
    pools: Vec<PoolView>,
    contracts: Vec<ContractStatus>,
    errors: Vec<String>,
    firing: usize,
    outbox: OutboxCounts,
}

async fn summary(State(state): State<DashboardState>) -> Result<Json<Summary>, ApiError> {
    let firing = state.store.firing_alerts()?.len();
    let outbox = state.store.outbox_counts()?;
    let live = state.live.lock().unwrap_or_else(|p| p.into_inner());
    let latest = live.latest.as_ref();
    Ok(Json(Summary {
        network: state.network.clone(),
        chain_id: state.chain_id,
        ready: live.is_ready(),
        last_error: live.current_error(),
        head_block: latest.and_then(|o| o.head_block),
        sample: latest.map(|o| o.sample()),
        pools: latest.map_or_else(Vec::new, |o| {
            o.pools
                .iter()
                .map(|p| PoolView {
                    address: format!("{:#x}", p.address),
                    denomination_tao: tao(p.denomination),
                    balance_tao: tao_f64(p.balance),
                    anonymity_set: p.anonymity_set(),
                    deposits: p.deposits,
                    withdrawals: p.withdrawals,
                    consistent: p.expected_balance() == Some(p.balance),
                })
                .collect()
        }),
        contracts: latest.map_or_else(Vec::new, |o| o.contracts.clone()),
        errors: latest.map_or_else(Vec::new, |o| o.errors.clone()),
        firing,
        outbox,
    }))
}

#[derive(Serialize)]
struct Series {
    samples: Vec<Sample>,
}

async fn series(State(state): State<DashboardState>) -> Json<Series> {
    let live = state.live.lock().unwrap_or_else(|p| p.into_inner());
    Json(Series {
        samples: live.history.iter().cloned().collect(),
    })
}

#[derive(Deserialize)]
struct AlertsQuery {
    limit: Option<usize>,
}

#[derive(Serialize)]
struct Alerts {
    firing: Vec<AlertRecord>,
    recent: Vec<AlertRecord>,
}

async fn alerts(
    State(state): State<DashboardState>,
    Query(query): Query<AlertsQuery>,
) -> Result<Json<Alerts>, ApiError> {
    Ok(Json(Alerts {
        firing: state.store.firing_alerts()?,
        recent: state
            .store
            .recent_alerts(query.limit.unwrap_or(50).min(500))?,
    }))
}
