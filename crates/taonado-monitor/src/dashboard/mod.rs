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
    /// Host names answered besides `localhost` and IP addresses (a reverse proxy's name).
    pub allowed_hosts: Arc<Vec<String>>,
}

/// The whole dashboard.
pub fn router(state: DashboardState) -> Router {
    let allowed_hosts = state.allowed_hosts.clone();
    Router::new()
        .merge(pages::router())
        .merge(api::router())
        .layer(axum::middleware::from_fn_with_state(
            allowed_hosts,
            host_guard,
        ))
        .with_state(state)
}

/// A page on another site must not read the dashboard through a rebound DNS name: only
/// `localhost`, IP literals and the listed names are answered.
async fn host_guard(
    axum::extract::State(allowed): axum::extract::State<Arc<Vec<String>>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let refused = request
        .headers()
        .get(axum::http::header::HOST)
        .is_some_and(|host| {
            !host
                .to_str()
                .is_ok_and(|h| taonado_types::is_allowed_local_host(h, &allowed))
        });
    if refused {
        return (
            axum::http::StatusCode::FORBIDDEN,
            "this Host is not served; pass --allow-host NAME to answer it",
        )
            .into_response();
    }
    next.run(request).await
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
