//! A node that caps `eth_getLogs` ranges, as hosted RPC providers do: the indexer splits
//! the range until the node accepts it and still stores exactly the chain's events.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use alloy::transports::http::reqwest;
use anyhow::Result;
use axum::{Json, Router, routing::post};
use serde_json::{Value, json};
use taonado_indexer::Indexer;
use taonado_store::Store;

use crate::support::*;

fn block_of(filter: &Value, key: &str) -> Option<u64> {
    let hex = filter.get(key)?.as_str()?;
    u64::from_str_radix(hex.trim_start_matches("0x"), 16).ok()
}

/// Forwards JSON-RPC to `upstream`, refusing `eth_getLogs` over more than `max_range`
/// blocks the way providers do. Returns its URL and the count of refusals.
async fn capped_proxy(upstream: String, max_range: u64) -> Result<(url::Url, Arc<AtomicU64>)> {
    let refused = Arc::new(AtomicU64::new(0));
    let counter = refused.clone();
    let client = reqwest::Client::new();
    let app = Router::new().route(
        "/",
        post(move |Json(request): Json<Value>| {
            let client = client.clone();
            let upstream = upstream.clone();
            let counter = counter.clone();
            async move {
                if request["method"] == "eth_getLogs" {
                    let filter = &request["params"][0];
                    if let (Some(from), Some(to)) = (block_of(filter, "fromBlock"), block_of(filter, "toBlock"))
                        && to + 1 - from > max_range
                    {
                        counter.fetch_add(1, Ordering::Relaxed);
                        return Json(json!({
                            "jsonrpc": "2.0",
                            "id": request["id"],
                            "error": { "code": -32005, "message": format!("block range too large, max {max_range}") }
                        }));
                    }
                }
                let forwarded = async {
                    client.post(&upstream).json(&request).send().await?.json::<Value>().await
                };
                Json(forwarded.await.unwrap_or_else(|e| {
                    json!({ "jsonrpc": "2.0", "id": request["id"], "error": { "code": -32603, "message": e.to_string() } })
                }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?).parse()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, refused))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_ranges_a_node_refuses_are_split_until_accepted() -> Result<()> {
    let d = deployed().await?;
    miner(&d, 1, 20).await?;
    operator_set_weights(&d).await?;
    let head = d.head().await?;
    let (proxy, refused) = capped_proxy(d.url.clone(), 2).await?;
    let store = Store::open_in_memory()?;
    let indexer = Indexer::new(d.config(vec![proxy])?, store.clone()).await?;
    let report = indexer.sync_once().await?;
    assert_eq!(report.checkpoint, Some(head));
    assert!(
        refused.load(Ordering::Relaxed) > 0,
        "the batches (7 blocks) exceed the cap"
    );
    assert_eq!(stored_logs(&store)?, chain_logs(&d, head).await?);
    Ok(())
}
