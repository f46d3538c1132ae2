//! taonado-devnet: an in-process Bittensor-EVM dev chain.
//!
//! revm 43 executes transactions with subtensor's precompile numbering (0x6 dispatch,
//! 0x9 bn256 add, 0x400–0x403, and the emulated 0x800/0x802/0x804 pallet precompiles);
//! axum serves Ethereum JSON-RPC plus anvil's dev methods. Start it with [`spawn`].
//!
//! Layout: `backend/` (state, execution, blocks, persistence; no HTTP), `rpc/` (method
//! dispatch and the single `DevnetError` → JSON-RPC mapping), `server.rs` (axum),
//! `subtensor/` (the emulated pallet, written against `subtensor::EvmHost`).

mod backend;
pub mod config;
pub mod error;
mod rpc;
mod server;
pub mod subtensor;
mod ws;

use std::{net::SocketAddr, sync::Arc, time::Duration};

use tokio::{
    sync::{oneshot, watch},
    task::JoinHandle,
};

/// The deepest reorg (`taonado_reorg`), and so the least history `--prune-history` keeps.
pub use crate::backend::chain::SUBTENSOR_HISTORY;
use crate::backend::{Backend, chain::Chain, exec::ChainRules, persist};
pub use crate::{
    config::{DEV_ACCOUNTS, DevAccount, DevnetConfig, RpcLimits},
    error::{DevnetError, Result},
    rpc::error::RpcError,
    server::Access,
};

/// A running devnet. Dropping it stops nothing; call [`DevnetHandle::shutdown`].
#[derive(Debug)]
pub struct DevnetHandle {
    local_addr: SocketAddr,
    chain_id: u64,
    dev_accounts: Vec<DevAccount>,
    backend: Arc<Backend>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    miner: JoinHandle<()>,
    stopped: watch::Receiver<bool>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("chain_id", &self.chain_id)
            .finish_non_exhaustive()
    }
}

impl DevnetHandle {
    /// `http://host:port`.
    pub fn rpc_url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// The bound address (with the real port when the config asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// In fork mode, what has been fetched from the remote so far (each item once).
    pub fn fork_stats(&self) -> Option<backend::fork::ForkStats> {
        let chain = self.backend.chain.read();
        chain.db.db.fork().map(|_| chain.db.db.stats())
    }

    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The prefunded, unlocked dev accounts.
    pub fn dev_accounts(&self) -> &[DevAccount] {
        &self.dev_accounts
    }

    /// Latest block number (handy for callers that embed the chain).
    pub fn block_number(&self) -> u64 {
        self.backend.chain.read().latest_number()
    }

    /// Stop serving, then flush the state dir.
    pub async fn shutdown(mut self) -> Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        self.miner.abort();
        let _ = (&mut self.miner).await;
        let backend = self.backend.clone();
        tokio::task::spawn_blocking(move || backend.flush())
            .await
            .map_err(|e| DevnetError::Internal(e.to_string()))?
    }

    /// Resolves when the server has stopped (after shutdown or a fatal error).
    pub async fn stopped(&self) {
        let mut stopped = self.stopped.clone();
        let _ = stopped.wait_for(|s| *s).await;
    }
}

/// Start a devnet: load or create the chain, bind the socket (before returning, so callers
/// can connect at once), serve JSON-RPC, and mine on an interval when configured.
pub async fn spawn(config: DevnetConfig) -> Result<DevnetHandle> {
    if config.accounts > DEV_ACCOUNTS.len() {
        return Err(DevnetError::TooManyAccounts {
            requested: config.accounts,
            available: DEV_ACCOUNTS.len(),
        });
    }
    if let Some(block_time) = config.block_time
        && block_time < config::MIN_BLOCK_TIME
    {
        return Err(DevnetError::BlockTimeTooShort(block_time));
    }
    let dev_accounts = DEV_ACCOUNTS[..config.accounts].to_vec();
    let mut config = config;
    let fork = match &config.fork_url {
        Some(_) if config.state_dir.is_some() => return Err(DevnetError::ForkWithStateDir),
        Some(url) => {
            let (db, chain_id, block) = backend::fork::ForkDb::connect(url, config.fork_block)?;
            tracing::info!(%url, block, chain_id, "forking");
            config.chain_id = chain_id;
            Some(db)
        }
        None => None,
    };
    let rules = ChainRules {
        chain_id: config.chain_id,
        gas_limit: config.gas_limit,
        base_fee: config.base_fee,
    };
    let loaded = match &config.state_dir {
        Some(dir) => persist::load(dir, rules, dev_accounts.clone())?,
        None => None,
    };
    let fresh = loaded.is_none();
    let compact = loaded.as_ref().is_some_and(|l| l.compact);
    let chain = match (loaded, fork) {
        (Some(loaded), _) => loaded.chain,
        (None, None) => Chain::genesis_on(
            rules,
            subtensor::Subtensor::new(config.subtensor.clone(), 0),
            dev_accounts.clone(),
            config.balance_wei,
            Default::default(),
        ),
        // Genesis reads the dev accounts from the remote: blocking work, kept off the
        // async workers for the same reason as the fork's requests (see `server`).
        (None, Some(fork)) => {
            let subtensor = subtensor::Subtensor::new(config.subtensor.clone(), 0);
            let accounts = dev_accounts.clone();
            let balance = config.balance_wei;
            tokio::task::spawn_blocking(move || {
                Chain::genesis_on(rules, subtensor, accounts, balance, fork)
            })
            .await
            .map_err(|e| DevnetError::Internal(format!("fork genesis stopped: {e}")))?
        }
    };
    let mut chain = chain;
    chain.automine = config.block_time.is_none();
    chain.keep_history = config.prune_history;
    if let Some(dir) = &config.state_dir {
        if fresh || compact {
            // A base snapshot always exists, so the write-ahead log has something to extend.
            persist::save(&mut chain, dir)?;
        }
        chain.wal = Some(persist::Wal::open(dir, &chain)?);
    }
    let mut backend = Backend::new(chain, config.state_dir.clone(), config.block_time);
    if let Some(cap) = config.limits.call_gas_cap {
        backend.call_gas_cap = cap.min(config.gas_limit);
    }
    let backend = Arc::new(backend);

    let addr = SocketAddr::new(config.host, config.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| DevnetError::Bind { addr, source })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| DevnetError::Bind { addr, source })?;

    let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
    let (stopped_tx, stopped_rx) = watch::channel(false);
    if !config.host.is_loopback() {
        tracing::warn!(
            %local_addr,
            "the devnet listens beyond this machine and its dev accounts are UNLOCKED: anyone who can reach {local_addr} can send transactions from them"
        );
    }
    let app = server::router(
        backend.clone(),
        config.access.clone(),
        config.limits.clone(),
    );
    let limits = config.limits.clone();
    let server = tokio::spawn(async move {
        server::serve(listener, app, limits, shutdown_rx).await;
        let _ = stopped_tx.send(true);
    });
    let miner = tokio::spawn(interval_miner(backend.clone()));
    tracing::info!(%local_addr, chain_id = config.chain_id, "devnet listening");

    Ok(DevnetHandle {
        local_addr,
        chain_id: config.chain_id,
        dev_accounts,
        backend,
        shutdown: Some(shutdown_tx),
        server: Some(server),
        miner,
        stopped: stopped_rx,
    })
}

/// Mines a block every interval while interval mining is on; follows changes made by
/// `evm_setIntervalMining` / `anvil_setAutomine`.
async fn interval_miner(backend: Arc<Backend>) {
    let mut period_rx = backend.interval.subscribe();
    loop {
        let period: Option<Duration> = *period_rx.borrow_and_update();
        match period {
            None => {
                if period_rx.changed().await.is_err() {
                    return;
                }
            }
            Some(period) => {
                tokio::select! {
                    _ = tokio::time::sleep(period) => {
                        match backend.chain.write().mine_pool_block() {
                            Ok(number) => tracing::debug!(number, "interval block mined"),
                            // The pool is kept; the next tick tries again.
                            Err(error) => tracing::error!(%error, "cannot mine an interval block"),
                        }
                    }
                    changed = period_rx.changed() => {
                        if changed.is_err() {
                            return;
                        }
                    }
                }
            }
        }
    }
}
