//! A webhook receiver on a port-0 axum server: records requests, can be stopped and
//! started again on the same port to play an outage.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use tokio::sync::oneshot;

#[derive(Clone, Debug)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// The HMAC check a real receiver does.
    pub fn signature_valid(&self, secret: &[u8]) -> bool {
        let timestamp: u64 = self.header("x-taonado-timestamp").parse().unwrap_or(0);
        taonado_monitor::notify::verify(
            secret,
            timestamp,
            &self.body,
            &self.header("x-taonado-signature"),
        )
    }
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    /// An error status to answer instead of recording (a receiver mid-deploy).
    refuse_with: Mutex<Option<u16>>,
}

pub struct Receiver {
    shared: Arc<Shared>,
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

async fn record(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::http::StatusCode {
    if let Some(status) = *shared.refuse_with.lock().unwrap() {
        return axum::http::StatusCode::from_u16(status).unwrap();
    }
    shared
        .received
        .lock()
        .unwrap()
        .push(Received { headers, body });
    axum::http::StatusCode::OK
}

impl Receiver {
    pub async fn start() -> Self {
        let mut r = Self {
            shared: Arc::default(),
            addr: "127.0.0.1:0".parse().unwrap(),
            stop: None,
            task: None,
        };
        r.listen().await;
        r
    }

    async fn listen(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.addr = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/hook", post(record))
            .with_state(self.shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        self.stop = Some(tx);
        self.task = Some(tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        }));
    }

    pub fn url(&self) -> url::Url {
        format!("http://{}/hook", self.addr).parse().unwrap()
    }

    /// Stops listening (connections are refused until [`Receiver::restart`]).
    pub async fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        self.listen().await;
    }

    /// Answers `status` to every request until called with `None`.
    pub fn refuse_with(&self, status: Option<u16>) {
        *self.shared.refuse_with.lock().unwrap() = status;
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }
}
