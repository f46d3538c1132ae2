//! Fork mode: the chain's state falls through to a remote node at a pinned block.
//!
//! [`ForkDb`] is the database under the chain's `CacheDB`. Without a remote it is empty (a
//! fresh chain). With one, every account, code and storage slot the chain has not written
//! itself is fetched over JSON-RPC (`eth_getBalance`, `eth_getTransactionCount`, `eth_getCode`,
//! `eth_getStorageAt`, `eth_getBlockByNumber`) at the fork block, on first touch, and cached:
//! the remote is asked about each item once, whatever reads it later (calls run on the read
//! lock, which cannot fill the `CacheDB`, hence a cache here). Writes never reach the remote.
//!
//! revm's database is synchronous while the server is async, so the fetching runs on one
//! dedicated thread with its own small runtime; a lookup sends it a request and waits.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
        mpsc,
    },
};

use alloy::{
    eips::BlockId,
    providers::{Provider, ProviderBuilder, RootProvider},
};
use alloy_primitives::{Address, B256, U256};
use parking_lot::RwLock;
use revm::{
    bytecode::Bytecode,
    database_interface::{DBErrorMarker, DatabaseRef},
    state::AccountInfo,
};

use crate::error::{DevnetError, Result};

/// Upper bound of one request to the forked chain. (This is the one provider outside
/// taonado-client: it is the chain's own backend, below every crate that connects to it.)
const UPSTREAM_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

impl DBErrorMarker for DevnetError {}

/// How many items were fetched from the remote (each once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ForkStats {
    pub accounts: u64,
    pub storage_slots: u64,
    pub block_hashes: u64,
}

enum Request {
    Account(Address, mpsc::Sender<Result<AccountInfo>>),
    Storage(Address, U256, mpsc::Sender<Result<U256>>),
    BlockHash(u64, mpsc::Sender<Result<B256>>),
}

struct Remote {
    url: String,
    block: u64,
    requests: parking_lot::Mutex<mpsc::Sender<Request>>,
    accounts: RwLock<HashMap<Address, AccountInfo>>,
    codes: RwLock<HashMap<B256, Bytecode>>,
    storage: RwLock<HashMap<(Address, U256), U256>>,
    hashes: RwLock<HashMap<u64, B256>>,
    fetched_accounts: AtomicU64,
    fetched_slots: AtomicU64,
    fetched_hashes: AtomicU64,
}

/// The database under the chain's cache: empty, or a remote chain at a pinned block.
#[derive(Clone, Default)]
pub struct ForkDb {
    remote: Option<Arc<Remote>>,
}

impl std::fmt::Debug for ForkDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.remote {
            None => f.write_str("ForkDb(empty)"),
            Some(r) => write!(f, "ForkDb({} at block {})", r.url, r.block),
        }
    }
}

// The fork is never persisted (a forked devnet refuses --state-dir): it serializes as nothing
// and deserializes as an empty database, which keeps `CacheDB<ForkDb>` serializable.
impl serde::Serialize for ForkDb {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_unit()
    }
}

impl<'de> serde::Deserialize<'de> for ForkDb {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        <()>::deserialize(d)?;
        Ok(Self::default())
    }
}

impl ForkDb {
    /// Connects to `url` and pins `block` (`None`: the remote's latest). Returns the database
    /// and the remote's chain id and pinned block.
    pub fn connect(url: &str, block: Option<u64>) -> Result<(Self, u64, u64)> {
        let parsed: alloy::transports::http::reqwest::Url = url
            .parse()
            .map_err(|e| fork_error("parse the fork url", url, e))?;
        let (tx, rx) = mpsc::channel::<Request>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(u64, u64)>>();
        let url_owned = url.to_owned();
        std::thread::Builder::new()
            .name("devnet-fork".into())
            .spawn(move || serve(parsed, url_owned, block, rx, ready_tx))
            .map_err(|e| fork_error("start the fork thread", url, e))?;
        let (chain_id, block) = ready_rx
            .recv()
            .map_err(|e| fork_error("start the fork thread", url, e))??;
        let remote = Remote {
            url: url.to_owned(),
            block,
            requests: parking_lot::Mutex::new(tx),
            accounts: RwLock::default(),
            codes: RwLock::default(),
            storage: RwLock::default(),
            hashes: RwLock::default(),
            fetched_accounts: AtomicU64::new(0),
            fetched_slots: AtomicU64::new(0),
            fetched_hashes: AtomicU64::new(0),
        };
        Ok((
            Self {
                remote: Some(Arc::new(remote)),
            },
            chain_id,
            block,
        ))
    }

    /// The remote url and pinned block, when forked.
    pub fn fork(&self) -> Option<(&str, u64)> {
        self.remote.as_ref().map(|r| (r.url.as_str(), r.block))
    }

    /// What has been fetched so far.
    pub fn stats(&self) -> ForkStats {
        self.remote
            .as_ref()
            .map_or_else(ForkStats::default, |r| ForkStats {
                accounts: r.fetched_accounts.load(Ordering::Relaxed),
                storage_slots: r.fetched_slots.load(Ordering::Relaxed),
                block_hashes: r.fetched_hashes.load(Ordering::Relaxed),
            })
    }
}

impl Remote {
    fn ask<T>(&self, make: impl FnOnce(mpsc::Sender<Result<T>>) -> Request) -> Result<T> {
        let (tx, rx) = mpsc::channel();
        self.requests
            .lock()
            .send(make(tx))
            .map_err(|e| fork_error("reach the fork thread", &self.url, e))?;
        rx.recv()
            .map_err(|e| fork_error("reach the fork thread", &self.url, e))?
    }
}

impl DatabaseRef for ForkDb {
    type Error = DevnetError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>> {
        let Some(remote) = &self.remote else {
            return Ok(None);
        };
        if let Some(info) = remote.accounts.read().get(&address) {
            return Ok(Some(info.clone()));
        }
        let info = remote.ask(|tx| Request::Account(address, tx))?;
        remote.fetched_accounts.fetch_add(1, Ordering::Relaxed);
        if let Some(code) = &info.code {
            remote.codes.write().insert(info.code_hash, code.clone());
        }
        remote.accounts.write().insert(address, info.clone());
        Ok(Some(info))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode> {
        // Code is fetched with its account, so a hash is known once its account was read.
        Ok(self
            .remote
            .as_ref()
            .and_then(|r| r.codes.read().get(&code_hash).cloned())
            .unwrap_or_default())
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256> {
        let Some(remote) = &self.remote else {
            return Ok(U256::ZERO);
        };
        if let Some(value) = remote.storage.read().get(&(address, index)) {
            return Ok(*value);
        }
        let value = remote.ask(|tx| Request::Storage(address, index, tx))?;
        remote.fetched_slots.fetch_add(1, Ordering::Relaxed);
        remote.storage.write().insert((address, index), value);
        Ok(value)
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256> {
        let Some(remote) = &self.remote else {
            return Ok(B256::ZERO);
        };
        if number > remote.block {
            return Ok(B256::ZERO);
        }
        if let Some(hash) = remote.hashes.read().get(&number) {
            return Ok(*hash);
        }
        let hash = remote.ask(|tx| Request::BlockHash(number, tx))?;
        remote.fetched_hashes.fetch_add(1, Ordering::Relaxed);
        remote.hashes.write().insert(number, hash);
        Ok(hash)
    }
}

fn fork_error(what: &str, url: &str, reason: impl std::fmt::Display) -> DevnetError {
    DevnetError::Fork {
        what: what.to_owned(),
        url: url.to_owned(),
        reason: reason.to_string(),
    }
}

/// The fork thread: answers requests one by one with a provider at the pinned block.
fn serve(
    url: alloy::transports::http::reqwest::Url,
    url_text: String,
    block: Option<u64>,
    requests: mpsc::Receiver<Request>,
    ready: mpsc::Sender<Result<(u64, u64)>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = ready.send(Err(fork_error("start the fork runtime", &url_text, e)));
            return;
        }
    };
    runtime.block_on(async move {
        // A hung upstream must fail the fetch (and the request that needed it), not stall
        // the chain: every request to it is bounded.
        let http = match alloy::transports::http::reqwest::Client::builder()
            .timeout(UPSTREAM_REQUEST_TIMEOUT)
            .build()
        {
            Ok(http) => http,
            Err(e) => {
                let _ = ready.send(Err(fork_error("build the HTTP client", &url_text, e)));
                return;
            }
        };
        let provider: RootProvider = ProviderBuilder::default().connect_client(
            alloy::rpc::client::RpcClient::new_http_with_client(http, url),
        );
        let err = |what: &str| {
            let url = url_text.clone();
            let what = what.to_owned();
            move |e: alloy::transports::TransportError| fork_error(&what, &url, e)
        };
        let pinned = async {
            let chain_id = provider
                .get_chain_id()
                .await
                .map_err(err("read the chain id"))?;
            let block = match block {
                Some(n) => n,
                None => provider
                    .get_block_number()
                    .await
                    .map_err(err("read the block number"))?,
            };
            Ok::<_, DevnetError>((chain_id, block))
        }
        .await;
        let block = match pinned {
            Ok((chain_id, block)) => {
                let _ = ready.send(Ok((chain_id, block)));
                block
            }
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        let at = BlockId::number(block);
        // Blocking receive: this runtime serves only this thread, and a request is awaited to
        // completion before the next one is taken.
        while let Ok(request) = requests.recv() {
            match request {
                Request::Account(address, reply) => {
                    let result = async {
                        let (balance, nonce, code) = tokio::try_join!(
                            provider.get_balance(address).block_id(at),
                            provider.get_transaction_count(address).block_id(at),
                            provider.get_code_at(address).block_id(at),
                        )
                        .map_err(err(&format!("fetch account {address}")))?;
                        let info = AccountInfo::default()
                            .with_balance(balance)
                            .with_nonce(nonce);
                        Ok(if code.is_empty() {
                            info
                        } else {
                            info.with_code(Bytecode::new_raw(code))
                        })
                    }
                    .await;
                    let _ = reply.send(result);
                }
                Request::Storage(address, slot, reply) => {
                    let result = provider
                        .get_storage_at(address, slot)
                        .block_id(at)
                        .await
                        .map_err(err(&format!("fetch storage {slot} of {address}")));
                    let _ = reply.send(result);
                }
                Request::BlockHash(number, reply) => {
                    let result = provider
                        .get_block_by_number(number.into())
                        .await
                        .map_err(err(&format!("fetch block {number}")))
                        .map(|b| b.map(|b| b.header.hash).unwrap_or_default());
                    let _ = reply.send(result);
                }
            }
        }
    });
}
