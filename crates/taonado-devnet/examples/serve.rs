//! Serve a devnet until Ctrl-C (manual smoke tests and the RPC benchmark; the real entry
//! point is `taonado devnet`). Usage: `cargo run --release -p taonado-devnet --example serve
//! -- [port] [block_time_ms] [state_dir]`.

use std::time::Duration;

use taonado_devnet::{DevnetConfig, spawn};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut config = DevnetConfig::local();
    if let Some(port) = args.next() {
        config.port = port.parse()?;
    }
    if let Some(ms) = args.next().filter(|ms| ms != "0") {
        config.block_time = Some(Duration::from_millis(ms.parse()?));
    }
    config.state_dir = args.next().map(Into::into);
    let handle = spawn(config).await?;
    println!(
        "devnet listening on {} (chain id {})",
        handle.rpc_url(),
        handle.chain_id()
    );
    tokio::signal::ctrl_c().await?;
    handle.shutdown().await?;
    Ok(())
}
