//! The dashboard: an axum [`Router`] serving the page (HTML/JS/CSS embedded, no CDN), the
//! JSON API that feeds it, `/metrics`, `/healthz` and `/readyz`. Building the router is
//! separate from serving it, so tests drive it with `Router::oneshot`.

mod api;
mod pages;

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use taonado_store::Store;

use crate::engine::Live;
use crate::metrics::Metrics;
use taonado_deployment::ProtocolContracts;

/// What the handlers share; cheap to clone.
#[derive(Clone, Debug)]
pub struct DashboardState {
    pub network: String,
    pub chain_id: u64,
    pub contracts: ProtocolContracts,
    pub store: Store,
    pub metrics: Arc<Metrics>,
    pub live: Live,
}

/// The whole dashboard.
pub fn router(state: DashboardState) -> Router {
    Router::new()
        .merge(pages::router())
        .merge(api::router())
        .with_state(state)
}

/// The one error shape of the API: `{"error": ...}`; store details are logged, not sent.
#[derive(Debug)]
pub(crate) enum ApiError {
    Store(taonado_store::StoreError),
}

impl From<taonado_store::StoreError> for ApiError {
    fn from(e: taonado_store::StoreError) -> Self {
        Self::Store(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Store(e) => {
                tracing::error!(error = %e, "dashboard query failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    axum::Json(
                        serde_json::json!({"error": "database error; see the monitor's log"}),
                    ),
                )
                    .into_response()
            }
        }
    }
}

/// Binds the dashboard's socket. Separate from [`serve`] so the caller can announce the
/// bound address (port 0 resolved) before serving, and clients can connect at once.
pub async fn bind(addr: std::net::SocketAddr) -> crate::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| crate::MonitorError::Bind { addr, source })
}

/// Serves on a bound listener until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> crate::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(crate::MonitorError::Serve)
}

#[cfg(test)]
mod tests;
