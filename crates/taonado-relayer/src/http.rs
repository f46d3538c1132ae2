//! The API's routes: `GET /v1/status`, `POST /v1/tornadoWithdraw`, `GET /v1/jobs/{id}`,
//! `GET /metrics`. Bodies are limited in size, withdrawal requests per IP per minute.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State, rejection::JsonRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::api::{
    AcceptedView, ErrorView, JOBS_PATH, JobView, STATUS_PATH, WITHDRAW_PATH, WithdrawBody,
};
use crate::error::Refusal;
use crate::service::Shared;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let limit = shared.max_body_bytes;
    Router::new()
        .route(STATUS_PATH, get(status))
        .route(WITHDRAW_PATH, post(withdraw))
        .route(&format!("{JOBS_PATH}/{{id}}"), get(job))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(shared)
}

fn error(status: StatusCode, code: &str, message: String) -> Response {
    (
        status,
        Json(ErrorView {
            code: code.to_owned(),
            error: message,
        }),
    )
        .into_response()
}

fn refused(shared: &Shared, refusal: &Refusal) -> Response {
    shared.metrics.refused(refusal.code());
    tracing::info!(code = refusal.code(), "request refused: {refusal}");
    error(
        StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::BAD_REQUEST),
        refusal.code(),
        refusal.to_string(),
    )
}

async fn status(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.status().await).into_response()
}

async fn withdraw(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Result<Json<WithdrawBody>, JsonRejection>,
) -> Response {
    let allowed = shared
        .limiter
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .allow(peer.ip(), shared.rate_limit_per_minute, Instant::now());
    if !allowed {
        return refused(&shared, &Refusal::RateLimited);
    }
    let body = match body {
        Ok(Json(body)) => body,
        Err(rejection) => {
            let status = rejection.status();
            let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "BODY_TOO_LARGE"
            } else {
                "MALFORMED_REQUEST"
            };
            shared.metrics.refused(code);
            return error(status, code, rejection.body_text());
        }
    };
    let job = match crate::check::check(&shared, &body).await {
        Ok(job) => job,
        Err(refusal) => return refused(&shared, &refusal),
    };
    // Written (and synced) before the 202: an accepted job survives any kill.
    match shared.store.insert(&job) {
        Ok(Ok(())) => {}
        Ok(Err(existing)) => {
            return refused(
                &shared,
                &Refusal::DuplicateJob {
                    nullifier_hash: job.nullifier_hash,
                    job: existing,
                },
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "writing an accepted job failed");
            return refused(&shared, &Refusal::Unavailable("the job database".into()));
        }
    }
    shared.metrics.accepted();
    tracing::info!(job = %job.id, pool = %job.contract, fee = %job.fee, "job accepted");
    shared.wake.notify_one();
    (StatusCode::ACCEPTED, Json(AcceptedView { id: job.id })).into_response()
}

async fn job(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    if id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return error(
            StatusCode::BAD_REQUEST,
            "MALFORMED_REQUEST",
            "a job id is hex".into(),
        );
    }
    let job = match shared.store.get(&id) {
        Ok(Some(job)) => job,
        Ok(None) => return error(StatusCode::NOT_FOUND, "UNKNOWN_JOB", format!("no job {id}")),
        Err(e) => {
            tracing::error!(error = %e, "reading a job failed");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "UNAVAILABLE",
                "the job database".into(),
            );
        }
    };
    let head = crate::sender::head(&shared).await;
    let confirmations = match (job.block, head) {
        (Some(block), Some(head)) if head >= block => head - block + 1,
        _ => 0,
    };
    Json(JobView {
        id: job.id.clone(),
        status: job.state.as_str().to_owned(),
        contract: job.contract,
        nullifier_hash: job.nullifier_hash,
        recipient: job.recipient(),
        fee: job.fee.to_string(),
        tx_hash: job.tx_hash,
        block: job.block,
        confirmations,
        failed_reason: job.failed_reason.map(|r| r.as_str().to_owned()),
        failed_message: job.failed_message.clone(),
        accepted_at_ms: job.accepted_at_ms,
        confirmed_at_ms: job.confirmed_at_ms,
    })
    .into_response()
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        shared.metrics.encode(),
    )
        .into_response()
}
