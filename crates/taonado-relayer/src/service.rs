//! [`Relayer`]: the long-running service. `start` checks the chain, reads each pool's
//! verifying key, opens the job database and binds the API; `run(shutdown)` serves the API
//! and runs the job loop until the flag turns true.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, U256, keccak256};
use alloy::providers::{DynProvider, Provider};
use alloy::signers::local::PrivateKeySigner;
use serde::Serialize;
use taonado_deployment::DeploymentRecord;
use tokio::sync::{Notify, watch};

use crate::alerts::BalanceAlerts;
use crate::api::{FeePolicyView, Health, PoolFeeView, PoolInfo, QuoteView, StatusView};
use crate::check::{PoolEntry, pool_key};
use crate::error::{Refusal, RelayerError, Result};
use crate::fee::{FeePolicy, PoolFee, Quote};
use crate::metrics::Metrics;
use crate::store::JobStore;

/// What the relayer serves and how.
#[derive(Clone, Debug)]
pub struct RelayerPlan {
    pub network: String,
    pub record: DeploymentRecord,
    pub listen: SocketAddr,
    /// The job database (`relayer.db`).
    pub db_path: PathBuf,
    /// A ceremony's exported keys, for pools whose verifier has that key.
    pub keys_dir: Option<PathBuf>,
    /// More verifying keys a pool's verifier may have (the one `taonado up` deployed).
    pub verifying_keys: Vec<taonado_ops::VerifyingKeyFile>,
    pub policy: FeePolicy,
    /// Blocks, the mined one included, before a job is CONFIRMED.
    pub confirmations: u64,
    /// A transaction not mined after this long is replaced with a bumped gas price.
    pub stuck_after: Duration,
    /// How often the job loop looks at the chain when nothing wakes it.
    pub poll: Duration,
    /// Accept and queue jobs, send nothing (maintenance); a run without it sends them.
    pub paused: bool,
    /// Withdrawal requests per minute from one IP address.
    pub rate_limit_per_minute: u32,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    pub alerts: BalanceAlerts,
    /// Tests only: end the process right after a transaction is recorded and before it is
    /// broadcast, the worst moment for a kill.
    pub abort_after_record: bool,
}

impl RelayerPlan {
    pub const DEFAULT_GAS_LIMIT: u64 = 600_000;
    pub const DEFAULT_RATE_LIMIT: u32 = 30;
    pub const DEFAULT_MAX_BODY: usize = 8 * 1024;

    /// A plan with the defaults: 0.05 % service fee, 20 % gas margin, 1000 gwei maximum,
    /// quotes valid 2 minutes, replacement after 60 s.
    pub fn new(
        network: String,
        record: DeploymentRecord,
        listen: SocketAddr,
        db_path: PathBuf,
    ) -> Self {
        Self {
            network,
            record,
            listen,
            db_path,
            keys_dir: None,
            verifying_keys: Vec::new(),
            policy: FeePolicy {
                gas_limit: Self::DEFAULT_GAS_LIMIT,
                gas_margin_percent: 20,
                service_fee_bps: 5,
                max_gas_price: 1_000_000_000_000,
                quote_ttl_secs: 120,
            },
            confirmations: 1,
            stuck_after: Duration::from_secs(60),
            poll: Duration::from_millis(250),
            paused: false,
            rate_limit_per_minute: Self::DEFAULT_RATE_LIMIT,
            max_body_bytes: Self::DEFAULT_MAX_BODY,
            alerts: BalanceAlerts {
                warn_below: taonado_types::WEI_PER_TAO,
                critical_below: taonado_types::WEI_PER_TAO / U256::from(10u64),
                notifiers: Vec::new(),
            },
            abort_after_record: false,
        }
    }
}

/// Requests per IP in the current minute.
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    window: HashMap<IpAddr, (Instant, u32)>,
}

impl RateLimiter {
    /// Whether one more request from `ip` is allowed under `limit` per minute.
    pub fn allow(&mut self, ip: IpAddr, limit: u32, now: Instant) -> bool {
        if self.window.len() > 10_000 {
            self.window
                .retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
        }
        let entry = self.window.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= Duration::from_secs(60) {
            *entry = (now, 0);
        }
        if entry.1 >= limit {
            return false;
        }
        entry.1 += 1;
        true
    }
}

/// What the API handlers and the job loop share.
pub(crate) struct Shared {
    pub provider: DynProvider,
    pub wallet: EthereumWallet,
    pub address: Address,
    pub chain_id: u64,
    pub network: String,
    pub pools: BTreeMap<Address, PoolEntry>,
    pub policy: FeePolicy,
    pub confirmations: u64,
    pub stuck_after: Duration,
    pub poll: Duration,
    pub paused: bool,
    pub rate_limit_per_minute: u32,
    pub max_body_bytes: usize,
    pub store: JobStore,
    pub metrics: Metrics,
    pub alerts: BalanceAlerts,
    pub quotes: Mutex<HashMap<String, Quote>>,
    pub limiter: Mutex<RateLimiter>,
    /// Wakes the job loop when a job is accepted.
    pub wake: Notify,
    pub balance: Mutex<Option<U256>>,
    pub last_error: Mutex<Option<String>>,
    pub abort_after_record: bool,
}

impl Shared {
    pub async fn gas_price(&self) -> Result<u128, Refusal> {
        let price = self
            .provider
            .get_gas_price()
            .await
            .map_err(|e| Refusal::Unavailable(format!("reading the gas price: {e}")))?;
        self.metrics.set_gas_price(price);
        Ok(price)
    }

    /// A fresh quote at the network's gas price; `None` while it is above the maximum.
    pub async fn quote(&self) -> Result<Option<Quote>, Refusal> {
        let gas_price = self.gas_price().await?;
        if gas_price > self.policy.max_gas_price {
            return Ok(None);
        }
        let expires_at = taonado_deployment::unix_now() + self.policy.quote_ttl_secs;
        let fees: Vec<PoolFee> = self
            .pools
            .values()
            .map(|p| PoolFee {
                pool: p.info.address,
                denomination: p.info.denomination,
                fee: self.policy.fee(gas_price, p.info.denomination),
            })
            .collect();
        let mut seed = gas_price.to_be_bytes().to_vec();
        seed.extend_from_slice(&expires_at.to_be_bytes());
        seed.extend_from_slice(self.address.as_slice());
        seed.extend_from_slice(&crate::store::now_ms().to_be_bytes());
        let quote = Quote {
            id: hex::encode(&keccak256(&seed)[..10]),
            gas_price,
            expires_at,
            fees,
        };
        let mut quotes = self.quotes.lock().unwrap_or_else(|p| p.into_inner());
        let now = taonado_deployment::unix_now();
        quotes.retain(|_, q| q.expires_at > now);
        if quotes.len() < 100_000 {
            quotes.insert(quote.id.clone(), quote.clone());
        }
        Ok(Some(quote))
    }

    /// Whether `fee` pays for a withdrawal from `pool` now (see [`fee_covers`]).
    pub async fn check_fee(
        &self,
        pool: Address,
        denomination: U256,
        fee: U256,
        quote: Option<&str>,
    ) -> Result<(), Refusal> {
        let quoted = quote.and_then(|id| {
            let quotes = self.quotes.lock().unwrap_or_else(|p| p.into_inner());
            quotes.get(id).cloned()
        });
        let gas_price = self.gas_price().await?;
        fee_covers(
            &self.policy,
            FeeCheck {
                pool,
                denomination,
                fee,
                quote_id: quote,
                quote: quoted.as_ref(),
                now: taonado_deployment::unix_now(),
                gas_price,
            },
        )
    }

    pub async fn status(&self) -> StatusView {
        let (quote, quote_error) = match self.quote().await {
            Ok(Some(q)) => (Some(q), None),
            Ok(None) => (
                None,
                Some("the network's gas price is above the relayer's maximum".to_owned()),
            ),
            Err(e) => (None, Some(e.to_string())),
        };
        let balance = *self.balance.lock().unwrap_or_else(|p| p.into_inner());
        let queue = self.store.queue_len().unwrap_or_default();
        let last_error = self
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let error = quote_error
            .or(last_error)
            .or_else(|| {
                balance
                    .filter(|b| *b < self.alerts.critical_below)
                    .map(|_| "the relayer's balance is below the critical level".to_owned())
            })
            .unwrap_or_default();
        StatusView {
            reward_account: self.address,
            chain_id: self.chain_id,
            network: self.network.clone(),
            pools: self.pools.values().map(|p| p.info.clone()).collect(),
            fee_policy: FeePolicyView {
                gas_limit: self.policy.gas_limit,
                gas_margin_percent: self.policy.gas_margin_percent,
                service_fee_bps: self.policy.service_fee_bps,
                max_gas_price: self.policy.max_gas_price.to_string(),
                quote_ttl_secs: self.policy.quote_ttl_secs,
            },
            quote: quote.map(|q| QuoteView {
                id: q.id,
                gas_price: q.gas_price.to_string(),
                expires_at: q.expires_at,
                fees: q
                    .fees
                    .iter()
                    .map(|f| PoolFeeView {
                        pool: f.pool,
                        fee: f.fee.to_string(),
                    })
                    .collect(),
            }),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            health: Health {
                status: error.is_empty(),
                error,
            },
            balance: balance.unwrap_or_default().to_string(),
            current_queue: queue,
            confirmations: self.confirmations,
            paused: self.paused,
        }
    }
}

/// What [`fee_covers`] decides on.
pub(crate) struct FeeCheck<'a> {
    pub pool: Address,
    pub denomination: U256,
    pub fee: U256,
    /// The quote the request names, and what this relayer knows of it.
    pub quote_id: Option<&'a str>,
    pub quote: Option<&'a Quote>,
    /// Unix seconds.
    pub now: u64,
    /// The network's gas price now.
    pub gas_price: u128,
}

/// Whether the fee pays for the withdrawal: at the gas price of a live quote the request
/// names (the quote binds its price until it expires, even if the network's rose), else at
/// the network's current price; never while the network's price is above the maximum.
pub(crate) fn fee_covers(policy: &FeePolicy, check: FeeCheck<'_>) -> Result<(), Refusal> {
    let FeeCheck {
        pool,
        denomination,
        fee,
        quote_id,
        quote,
        now,
        gas_price,
    } = check;
    // The maximum is a hard cap: a job accepted above it could not be sent.
    if gas_price > policy.max_gas_price {
        return Err(Refusal::GasPriceTooHigh {
            gas_price,
            max: policy.max_gas_price,
        });
    }
    if let Some(q) = quote
        && q.expires_at > now
        && let Some(required) = q.fee_for(pool)
    {
        if fee >= required {
            return Ok(());
        }
        return Err(Refusal::FeeTooLow {
            fee,
            required,
            why: format!("quote {} at {} wei per gas", q.id, q.gas_price),
        });
    }
    let required = policy.fee(gas_price, denomination);
    if fee >= required {
        return Ok(());
    }
    let why = match (quote_id, quote) {
        (Some(id), Some(_)) => format!("quote {id} expired; now {gas_price} wei per gas"),
        (Some(id), None) => format!("quote {id} is unknown; now {gas_price} wei per gas"),
        (None, _) => format!("{gas_price} wei per gas"),
    };
    Err(Refusal::FeeTooLow { fee, required, why })
}

/// The relayer, bound and ready to run.
pub struct Relayer {
    shared: std::sync::Arc<Shared>,
    listener: tokio::net::TcpListener,
    url: String,
}

/// What a run did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RelayerReport {
    pub address: Address,
    pub url: String,
    pub jobs_confirmed: u64,
    pub jobs_failed: u64,
    /// Jobs still queued at the stop; the next run carries them on.
    pub queue: u64,
}

impl Relayer {
    /// Checks that `provider` serves the record's chain, reads each pool's verifying key
    /// from its verifier's code, opens the job database and binds `plan.listen`.
    /// `provider` does not sign: the relayer signs its transactions itself with `signer`,
    /// so each one is recorded before it is broadcast.
    pub async fn start(
        plan: RelayerPlan,
        provider: DynProvider,
        signer: PrivateKeySigner,
    ) -> Result<Self> {
        let chain_id = provider
            .get_chain_id()
            .await
            .map_err(|e| RelayerError::Rpc {
                action: "reading the chain id".into(),
                message: e.to_string(),
            })?;
        if chain_id != plan.record.chain_id {
            return Err(RelayerError::Config(format!(
                "the deployment record is for chain {}, the node serves chain {chain_id}",
                plan.record.chain_id
            )));
        }
        if plan.confirmations == 0 {
            return Err(RelayerError::Config(
                "--confirmations must be at least 1".into(),
            ));
        }
        if plan.rate_limit_per_minute == 0 {
            return Err(RelayerError::Config(
                "--rate-limit must be at least 1 request per minute".into(),
            ));
        }
        if plan.record.pools.is_empty() {
            return Err(RelayerError::NoPools);
        }
        let mut pools = BTreeMap::new();
        for p in &plan.record.pools {
            let address = p.contract.address;
            let key = pool_key(
                &provider,
                address,
                plan.keys_dir.as_deref(),
                &plan.verifying_keys,
            )
            .await?;
            pools.insert(
                address,
                PoolEntry {
                    info: PoolInfo {
                        address,
                        denomination: p.denomination,
                        amount: taonado_types::format_tao(p.denomination),
                    },
                    key,
                },
            );
        }
        let store = JobStore::open(&plan.db_path)?;
        let listener = tokio::net::TcpListener::bind(plan.listen)
            .await
            .map_err(|source| RelayerError::Bind {
                addr: plan.listen,
                source,
            })?;
        let local = listener.local_addr().map_err(|source| RelayerError::Bind {
            addr: plan.listen,
            source,
        })?;
        let address = signer.address();
        let shared = Shared {
            provider,
            wallet: EthereumWallet::from(signer),
            address,
            chain_id,
            network: plan.network,
            pools,
            policy: plan.policy,
            confirmations: plan.confirmations,
            stuck_after: plan.stuck_after,
            poll: plan.poll,
            paused: plan.paused,
            rate_limit_per_minute: plan.rate_limit_per_minute,
            max_body_bytes: plan.max_body_bytes,
            store,
            metrics: Metrics::new(),
            alerts: plan.alerts,
            quotes: Mutex::new(HashMap::new()),
            limiter: Mutex::new(RateLimiter::default()),
            wake: Notify::new(),
            balance: Mutex::new(None),
            last_error: Mutex::new(None),
            abort_after_record: plan.abort_after_record,
        };
        Ok(Self {
            shared: std::sync::Arc::new(shared),
            listener,
            url: format!("http://{local}/"),
        })
    }

    /// `http://ADDR/`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The relayer's account: the proofs' relayer field, paid the fees, paying the gas.
    pub fn address(&self) -> Address {
        self.shared.address
    }

    /// Serves the API and runs the job loop until `shutdown` turns true. Jobs still
    /// queued then stay in the database for the next run.
    pub async fn run(self, shutdown: watch::Receiver<bool>) -> Result<RelayerReport> {
        let Self {
            shared,
            listener,
            url,
        } = self;
        let router = crate::http::router(shared.clone());
        let mut server_stop = shutdown.clone();
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = server_stop.wait_for(|s| *s).await;
            })
            .await
        });
        let counts = crate::sender::run(shared.clone(), shutdown).await;
        match server.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(RelayerError::Serve(e)),
            Err(e) => return Err(RelayerError::Serve(std::io::Error::other(e.to_string()))),
        }
        Ok(RelayerReport {
            address: shared.address,
            url,
            jobs_confirmed: counts.confirmed,
            jobs_failed: counts.failed,
            queue: shared.store.queue_len()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> FeePolicy {
        FeePolicy {
            gas_limit: 1_000,
            gas_margin_percent: 0,
            service_fee_bps: 0,
            max_gas_price: 50,
            quote_ttl_secs: 60,
        }
    }

    #[test]
    fn a_live_quote_binds_its_gas_price_and_an_expired_one_falls_back_to_the_current() {
        let pool = Address::repeat_byte(1);
        let quote = Quote {
            id: "q".into(),
            gas_price: 10,
            expires_at: 100,
            fees: vec![PoolFee {
                pool,
                denomination: U256::from(1_000_000u64),
                fee: U256::from(10_000u64),
            }],
        };
        let check = |fee: u64, quote: Option<&Quote>, now: u64, gas_price: u128| {
            fee_covers(
                &policy(),
                FeeCheck {
                    pool,
                    denomination: U256::from(1_000_000u64),
                    fee: U256::from(fee),
                    quote_id: Some("q"),
                    quote,
                    now,
                    gas_price,
                },
            )
        };
        // The network now asks 30 wei per gas; the quote at 10 still holds until 100.
        assert_eq!(check(10_000, Some(&quote), 99, 30), Ok(()));
        // Never above the maximum, quote or not: such a job could not be sent.
        assert!(matches!(
            check(10_000, Some(&quote), 99, 60),
            Err(Refusal::GasPriceTooHigh { .. })
        ));
        assert!(matches!(
            check(9_999, Some(&quote), 99, 30),
            Err(Refusal::FeeTooLow { why, .. }) if why.contains("quote q")
        ));
        // Expired: the current price decides.
        assert!(matches!(
            check(10_000, Some(&quote), 100, 30),
            Err(Refusal::FeeTooLow { required, why, .. })
                if required == U256::from(30_000u64) && why.contains("expired")
        ));
        assert_eq!(check(30_000, Some(&quote), 100, 30), Ok(()));
        // A quote this relayer does not know (made before a restart): the current price.
        assert_eq!(check(30_000, None, 0, 30), Ok(()));
        assert!(matches!(
            check(29_999, None, 0, 30),
            Err(Refusal::FeeTooLow { why, .. }) if why.contains("unknown")
        ));
        assert!(matches!(
            check(1_000_000, None, 0, 60),
            Err(Refusal::GasPriceTooHigh { .. })
        ));
    }

    #[test]
    fn the_rate_limit_counts_per_address_and_minute() {
        let mut limiter = RateLimiter::default();
        let a: IpAddr = "127.0.0.1".parse().expect("ip");
        let b: IpAddr = "127.0.0.2".parse().expect("ip");
        let t = Instant::now();
        assert!(limiter.allow(a, 2, t));
        assert!(limiter.allow(a, 2, t));
        assert!(!limiter.allow(a, 2, t));
        assert!(limiter.allow(b, 2, t));
        assert!(limiter.allow(a, 2, t + Duration::from_secs(61)));
    }
}
