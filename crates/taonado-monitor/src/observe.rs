//! One observation of the protocol: indexed history from the store plus state read from
//! the chain at the indexer's checkpoint block, so that balances and the event counts they
//! are compared with describe the same block.

use alloy::eips::BlockId;
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider};
use serde::Serialize;
use taonado_contracts::bindings::{DepositTracker, ERC20Taonado, EvmValidator, WTAO};
use taonado_deployment::ProtocolContracts;
use taonado_store::{SelfWithdrawal, Store, TxRow, TxStats, Window};

use crate::config::RuleSettings;
use crate::error::{MonitorError, Result};
use crate::units::{gwei, tao_f64};
use crate::wrapped::WrappedTotals;

/// WTAO's supply next to the native TAO it holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WtaoObservation {
    pub address: Address,
    pub supply: U256,
    pub native_balance: U256,
    /// Σ `Deposit.wad` − Σ `Withdrawal.wad` from the indexed events: what was wrapped.
    /// WETH9-style `totalSupply()` *is* the native balance, so TAO forced in without a
    /// deposit (selfdestruct, genesis) only shows against this. `None` when the index does
    /// not cover WTAO's whole history ([`ProtocolContracts::wtao_fully_indexed`]).
    pub wrapped: Option<U256>,
}

/// One mixer pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PoolObservation {
    pub address: Address,
    pub denomination: U256,
    /// Tokens the pool holds.
    pub balance: U256,
    pub deposits: u64,
    pub withdrawals: u64,
}

impl PoolObservation {
    /// `denomination × (deposits − withdrawals)`, `None` if withdrawals exceed deposits.
    pub fn expected_balance(&self) -> Option<U256> {
        let open = self.deposits.checked_sub(self.withdrawals)?;
        Some(self.denomination.saturating_mul(U256::from(open)))
    }

    /// Notes deposited: the set a withdrawal hides in.
    pub fn anonymity_set(&self) -> u64 {
        self.deposits
    }
}

/// Whether a contract answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ContractStatus {
    pub name: String,
    pub address: Address,
    pub has_code: bool,
    /// Its key view call answered.
    pub responsive: bool,
    pub error: Option<String>,
}

/// Everything the rules, metrics and dashboard look at, taken at one moment.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Observation {
    pub at_unix: u64,
    pub head_block: Option<u64>,
    pub checkpoint_block: Option<u64>,
    pub gas_price_now_wei: Option<u128>,
    /// Protocol transactions in the rule window; `None` before anything is indexed.
    pub tx: Option<TxStats>,
    pub failed_txs: Vec<TxRow>,
    /// Call trace and revert reason of each failed transaction, by hash (read by the
    /// engine after the observation, see [`crate::trace`]).
    pub failure_traces:
        std::collections::BTreeMap<alloy::primitives::B256, crate::trace::FailureTrace>,
    /// Transactions in the window (newest first), for the gas-use rule.
    pub recent_txs: Vec<TxRow>,
    pub weight_sets_in_window: u64,
    pub last_weight_set_block: Option<u64>,
    pub active_miners: Option<u64>,
    pub wtao: Option<WtaoObservation>,
    /// False when a pool read failed (the pool rule then keeps its state).
    pub pools_observed: bool,
    pub pools: Vec<PoolObservation>,
    pub validator_balance: Option<U256>,
    pub self_withdrawals: Vec<SelfWithdrawal>,
    pub contracts: Vec<ContractStatus>,
    /// Chain reads that failed, for the dashboard.
    pub errors: Vec<String>,
}

/// Numbers of one observation, for gauges and charts.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Sample {
    pub at_unix: u64,
    pub block: Option<u64>,
    pub checkpoint_lag: Option<u64>,
    pub active_miners: Option<u64>,
    pub wtao_supply_tao: Option<f64>,
    pub pools_total_tao: f64,
    pub validator_balance_tao: Option<f64>,
    pub avg_gas_price_gwei: Option<f64>,
    pub gas_price_now_gwei: Option<f64>,
    pub tx_total: u64,
    pub tx_failed: u64,
    pub tx_success_rate: Option<f64>,
    pub tx_error_rate: Option<f64>,
    pub weight_sets: u64,
    pub blocks_since_weight_set: Option<u64>,
}

impl Observation {
    pub fn checkpoint_lag(&self) -> Option<u64> {
        Some(self.head_block?.saturating_sub(self.checkpoint_block?))
    }

    pub fn blocks_since_weight_set(&self) -> Option<u64> {
        Some(
            self.checkpoint_block?
                .saturating_sub(self.last_weight_set_block.unwrap_or(0)),
        )
    }

    pub fn sample(&self) -> Sample {
        let tx = self.tx.as_ref();
        Sample {
            at_unix: self.at_unix,
            block: self.checkpoint_block,
            checkpoint_lag: self.checkpoint_lag(),
            active_miners: self.active_miners,
            wtao_supply_tao: self.wtao.as_ref().map(|w| tao_f64(w.supply)),
            pools_total_tao: self.pools.iter().map(|p| tao_f64(p.balance)).sum(),
            validator_balance_tao: self.validator_balance.map(tao_f64),
            avg_gas_price_gwei: tx.and_then(|t| t.avg_gas_price_wei).map(gwei),
            gas_price_now_gwei: self.gas_price_now_wei.map(|w| gwei(w as f64)),
            tx_total: tx.map_or(0, |t| t.total),
            tx_failed: tx.map_or(0, |t| t.failed),
            tx_success_rate: tx.and_then(|t| t.success_rate),
            tx_error_rate: tx.and_then(|t| t.success_rate).map(|r| 1.0 - r),
            weight_sets: self.weight_sets_in_window,
            blocks_since_weight_set: self.blocks_since_weight_set(),
        }
    }
}

fn rpc(what: impl Into<String>) -> impl FnOnce(alloy::transports::TransportError) -> MonitorError {
    let what = what.into();
    move |e| MonitorError::Rpc {
        what,
        message: e.to_string(),
    }
}

fn call_err(
    address: Address,
    call: &'static str,
) -> impl FnOnce(alloy::contract::Error) -> MonitorError {
    move |e| MonitorError::Call {
        address,
        call,
        message: e.to_string(),
    }
}

/// Reads one observation. Store failures are errors; chain reads that fail leave their
/// field empty and are listed in `errors`, so one broken contract does not blind the rest.
/// `wrapped_totals` carries WTAO's wrapped total from one call to the next.
pub async fn observe(
    store: &Store,
    provider: &DynProvider,
    contracts: &ProtocolContracts,
    settings: &RuleSettings,
    wrapped_totals: &WrappedTotals,
    now: u64,
) -> Result<Observation> {
    let mut obs = Observation {
        at_unix: now,
        ..Observation::default()
    };
    match provider.get_block_number().await {
        Ok(head) => obs.head_block = Some(head),
        Err(e) => obs.errors.push(rpc("eth_blockNumber")(e).to_string()),
    }
    match provider.get_gas_price().await {
        Ok(price) => obs.gas_price_now_wei = Some(price),
        Err(e) => obs.errors.push(rpc("eth_gasPrice")(e).to_string()),
    }
    read_store(store, settings, &mut obs)?;
    let Some(block) = obs.checkpoint_block else {
        return Ok(obs);
    };
    let at = BlockId::number(block);
    let activity = store.pool_activity(Window::All)?;

    if let Some(address) = contracts.wtao {
        let wtao = WTAO::new(address, provider);
        let read = async {
            let supply = wtao
                .totalSupply()
                .block(at)
                .call()
                .await
                .map_err(call_err(address, "totalSupply()"))?;
            let native_balance = provider
                .get_balance(address)
                .block_id(at)
                .await
                .map_err(rpc("eth_getBalance(WTAO)"))?;
            let wrapped = if contracts.wtao_fully_indexed {
                Some(wrapped_totals.read(store, block)?.total)
            } else {
                None
            };
            Ok::<_, MonitorError>(WtaoObservation {
                address,
                supply,
                native_balance,
                wrapped,
            })
        };
        match read.await {
            Ok(w) => obs.wtao = Some(w),
            Err(e) => obs.errors.push(e.to_string()),
        }
    }
    if let Some(address) = contracts.evm_validator {
        match provider.get_balance(address).block_id(at).await {
            Ok(balance) => obs.validator_balance = Some(balance),
            Err(e) => obs
                .errors
                .push(rpc("eth_getBalance(EvmValidator)")(e).to_string()),
        }
    }
    obs.pools_observed = true;
    for &address in contracts.pools.values() {
        let pool = ERC20Taonado::new(address, provider);
        let read = async {
            let denomination = pool
                .denomination()
                .block(at)
                .call()
                .await
                .map_err(call_err(address, "denomination()"))?;
            let token = pool
                .token()
                .block(at)
                .call()
                .await
                .map_err(call_err(address, "token()"))?;
            let balance = WTAO::new(token, provider)
                .balanceOf(address)
                .block(at)
                .call()
                .await
                .map_err(call_err(token, "balanceOf(pool)"))?;
            Ok::<_, MonitorError>((denomination, balance))
        };
        match read.await {
            Ok((denomination, balance)) => {
                let counts = activity.iter().find(|a| a.pool == address);
                obs.pools.push(PoolObservation {
                    address,
                    denomination,
                    balance,
                    deposits: counts.map_or(0, |c| c.deposits),
                    withdrawals: counts.map_or(0, |c| c.withdrawals),
                });
            }
            Err(e) => {
                obs.pools_observed = false;
                obs.errors.push(e.to_string());
            }
        }
    }
    obs.contracts = contract_statuses(provider, contracts, Some(at)).await;
    Ok(obs)
}

fn read_store(store: &Store, settings: &RuleSettings, obs: &mut Observation) -> Result<()> {
    let Some(checkpoint) = store.checkpoint()? else {
        return Ok(());
    };
    obs.checkpoint_block = Some(checkpoint.number);
    let window = Window::LastBlocks(settings.window_blocks);
    obs.tx = Some(store.tx_stats(window, None)?);
    obs.failed_txs = store.failed_transactions(window, 100)?;
    let first = (checkpoint.number + 1).saturating_sub(settings.window_blocks);
    obs.recent_txs = store
        .recent_transactions(1000)?
        .into_iter()
        .filter(|t| t.block_number >= first)
        .collect();
    obs.weight_sets_in_window = u64::try_from(store.weight_sets(window)?.len()).unwrap_or(u64::MAX);
    obs.last_weight_set_block = store.last_weight_set()?.map(|w| w.block);
    obs.active_miners = store.active_miners()?.map(|a| a.count);
    obs.self_withdrawals = store.self_withdrawals(window)?;
    Ok(())
}

/// Code present and key view call answering, for each contract (at `at`, else latest).
pub async fn contract_statuses(
    provider: &DynProvider,
    contracts: &ProtocolContracts,
    at: Option<BlockId>,
) -> Vec<ContractStatus> {
    let at = at.unwrap_or(BlockId::latest());
    let mut out = Vec::new();
    for (name, address) in contracts.named() {
        let code = provider.get_code_at(address).block_id(at).await;
        let (has_code, mut error) = match code {
            Ok(code) => (!code.is_empty(), None),
            Err(e) => (false, Some(e.to_string())),
        };
        let call = if !has_code {
            Err(error
                .clone()
                .unwrap_or_else(|| "no code at the address".into()))
        } else if Some(address) == contracts.wtao {
            WTAO::new(address, provider)
                .totalSupply()
                .block(at)
                .call()
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        } else if Some(address) == contracts.evm_validator {
            EvmValidator::new(address, provider)
                .lastSetWeightsBlock()
                .block(at)
                .call()
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        } else if contracts.pools.values().any(|pool| *pool == address) {
            ERC20Taonado::new(address, provider)
                .denomination()
                .block(at)
                .call()
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        } else if Some(address) == contracts.deposit_tracker {
            DepositTracker::new(address, provider)
                .associationSetLength(alloy::primitives::B256::ZERO)
                .block(at)
                .call()
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        } else if let Some(validator) = contracts.evm_validator {
            // The weights contract: the one the EvmValidator reads, or the deployment record
            // is behind the chain (a migration it does not know of) and this is a red line.
            match EvmValidator::new(validator, provider)
                .weights()
                .block(at)
                .call()
                .await
            {
                Ok(reads) if reads == address => Ok(()),
                Ok(reads) => Err(format!(
                    "the EvmValidator reads weights from {reads}, not from this {name}; the deployment record is behind the chain (run `taonado migrate verify`)"
                )),
                Err(e) => Err(format!("reading EvmValidator.weights: {e}")),
            }
        } else {
            // Weights without an EvmValidator to ask: code present is what every version
            // can answer for.
            Ok(())
        };
        if let Err(e) = &call {
            error.get_or_insert_with(|| e.clone());
        }
        out.push(ContractStatus {
            name,
            address,
            has_code,
            responsive: call.is_ok(),
            error,
        });
    }
    out
}
