//! WTAO for an EVM account: wrap, unwrap, balances, WTAO transfers to an EVM address and
//! native TAO transfers to a substrate account through the 0x800 balance-transfer
//! precompile. Every sending procedure checks the balance (amount and gas at the current
//! fee) first and sends nothing when it does not cover it.

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use serde::Serialize;
use taonado_contracts::bindings::WTAO;
use taonado_types::{AccountId32, Rao, format_tao, wei_to_rao};

use crate::error::{OpsError, Result};
use crate::tx;

pub use crate::error::wtao::WtaoError;

/// The subtensor balance-transfer precompile (spec/subtensor.md).
pub const BALANCE_TRANSFER: Address = Address::new([
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00,
]);

alloy::sol! {
    /// The balance-transfer precompile at 0x…0800: moves `msg.value`, converted to rao, to
    /// a native account.
    interface IBalanceTransfer {
        function transfer(bytes32 data) external payable;
    }
}

/// Native and wrapped balances of an EVM account.
#[derive(Clone, Debug, Serialize)]
pub struct WtaoBalance {
    pub address: Address,
    pub wtao: Address,
    /// Native TAO in wei (pays gas).
    pub native_wei: U256,
    /// WTAO in wei.
    pub wtao_wei: U256,
}

/// What a sending procedure did.
#[derive(Clone, Debug, Serialize)]
pub struct WtaoTransfer {
    /// `wrap`, `unwrap`, `transfer-wtao` or `transfer-native`.
    pub action: &'static str,
    pub from: Address,
    /// The EVM recipient (WTAO transfers) or the contract/precompile called.
    pub to: Address,
    /// The native recipient of a 0x800 transfer.
    pub native_dest: Option<AccountId32>,
    pub amount_wei: U256,
    /// The amount in rao for a native transfer.
    pub amount_rao: Option<u64>,
    pub tx: B256,
    pub block: Option<u64>,
    pub gas_used: u64,
    /// Gas cost paid, in wei.
    pub fee_wei: U256,
    /// Balances after the transaction.
    pub after: WtaoBalance,
}

/// Balances of `owner`.
pub async fn balance(provider: &DynProvider, wtao: Address, owner: Address) -> Result<WtaoBalance> {
    let native_wei = provider
        .get_balance(owner)
        .await
        .map_err(OpsError::rpc("reading the TAO balance"))?;
    let wtao_wei = WTAO::new(wtao, provider)
        .balanceOf(owner)
        .call()
        .await
        .map_err(OpsError::contract("reading the WTAO balance"))?;
    Ok(WtaoBalance {
        address: owner,
        wtao,
        native_wei,
        wtao_wei,
    })
}

/// Wrap `amount` wei of TAO from `from` into WTAO (`WTAO.deposit`).
pub async fn wrap(
    provider: &DynProvider,
    wtao: Address,
    from: Address,
    amount: U256,
) -> Result<WtaoTransfer> {
    let call = WTAO::depositCall {}.abi_encode();
    let request = request(from, wtao, call, amount);
    send_checked(provider, wtao, request, Spend::native(amount), "wrap", None).await
}

/// Unwrap `amount` wei of WTAO back to TAO (`WTAO.withdraw`).
pub async fn unwrap(
    provider: &DynProvider,
    wtao: Address,
    from: Address,
    amount: U256,
) -> Result<WtaoTransfer> {
    let call = WTAO::withdrawCall { wad: amount }.abi_encode();
    let request = request(from, wtao, call, U256::ZERO);
    send_checked(provider, wtao, request, Spend::wtao(amount), "unwrap", None).await
}

/// Send `amount` wei of WTAO to the EVM address `to` (`WTAO.transfer`).
pub async fn transfer_wtao(
    provider: &DynProvider,
    wtao: Address,
    from: Address,
    to: Address,
    amount: U256,
) -> Result<WtaoTransfer> {
    let call = WTAO::transferCall {
        dst: to,
        wad: amount,
    }
    .abi_encode();
    let request = request(from, wtao, call, U256::ZERO);
    let mut report = send_checked(
        provider,
        wtao,
        request,
        Spend::wtao(amount),
        "transfer-wtao",
        None,
    )
    .await?;
    report.to = to;
    Ok(report)
}

/// Send `amount` wei of native TAO to the substrate account `dest` through the 0x800
/// precompile. The amount must be a whole number of rao: the chain keeps the sub-rao dust
/// at the precompile, so it would be lost.
pub async fn transfer_native(
    provider: &DynProvider,
    wtao: Address,
    from: Address,
    dest: AccountId32,
    amount: U256,
) -> Result<WtaoTransfer> {
    let rao = native_amount(amount)?;
    let call = IBalanceTransfer::transferCall {
        data: dest.to_b256(),
    }
    .abi_encode();
    let request = request(from, BALANCE_TRANSFER, call, amount);
    let mut report = send_checked(
        provider,
        wtao,
        request,
        Spend::native(amount),
        "transfer-native",
        Some(dest),
    )
    .await?;
    report.amount_rao = Some(rao.0);
    Ok(report)
}

/// `amount` in rao, refusing zero and sub-rao dust.
pub fn native_amount(amount: U256) -> Result<Rao> {
    if amount.is_zero() {
        return Err(WtaoError::ZeroAmount.into());
    }
    let (rao, dust) = wei_to_rao(amount).map_err(|_| WtaoError::RaoOverflow { amount })?;
    if !dust.is_zero() {
        return Err(WtaoError::SubRaoAmount { amount, dust }.into());
    }
    Ok(rao)
}

fn request(from: Address, to: Address, input: Vec<u8>, value: U256) -> TransactionRequest {
    TransactionRequest::default()
        .with_from(from)
        .with_to(to)
        .with_input(input)
        .with_value(value)
}

/// What a transaction spends besides gas.
struct Spend {
    native: U256,
    wtao: U256,
}

impl Spend {
    fn native(amount: U256) -> Self {
        Self {
            native: amount,
            wtao: U256::ZERO,
        }
    }

    fn wtao(amount: U256) -> Self {
        Self {
            native: U256::ZERO,
            wtao: amount,
        }
    }
}

async fn send_checked(
    provider: &DynProvider,
    wtao: Address,
    request: TransactionRequest,
    spend: Spend,
    action: &'static str,
    native_dest: Option<AccountId32>,
) -> Result<WtaoTransfer> {
    let amount = spend.native.max(spend.wtao);
    if amount.is_zero() {
        return Err(WtaoError::ZeroAmount.into());
    }
    let from = request.from.unwrap_or_default();
    let to = request.to.and_then(|t| t.to().copied()).unwrap_or_default();
    let before = balance(provider, wtao, from).await?;
    // WTAO first: estimating a transfer the balance cannot cover would only revert.
    if before.wtao_wei < spend.wtao {
        return Err(WtaoError::InsufficientBalance {
            address: from,
            asset: "WTAO",
            balance: before.wtao_wei,
            needed: spend.wtao,
            what: "the amount",
        }
        .into());
    }
    if before.native_wei < spend.native {
        return Err(WtaoError::InsufficientBalance {
            address: from,
            asset: "TAO",
            balance: before.native_wei,
            needed: spend.native,
            what: "the amount, before gas",
        }
        .into());
    }
    let gas = provider
        .estimate_gas(request.clone())
        .await
        .map_err(OpsError::rpc(format!("estimating gas for {action}")))?;
    let fees = provider
        .estimate_eip1559_fees()
        .await
        .map_err(OpsError::rpc("estimating gas fees"))?;
    let needed = spend.native + U256::from(gas) * U256::from(fees.max_fee_per_gas);
    if before.native_wei < needed {
        return Err(WtaoError::InsufficientBalance {
            address: from,
            asset: "TAO",
            balance: before.native_wei,
            needed,
            what: "the amount plus gas at the current fee",
        }
        .into());
    }
    let request = request
        .with_gas_limit(gas)
        .with_max_fee_per_gas(fees.max_fee_per_gas)
        .with_max_priority_fee_per_gas(fees.max_priority_fee_per_gas);
    tracing::info!(%from, %to, amount = %format_tao(amount), action, "sending");
    let receipt = tx::send_and_confirm(provider, request, action).await?;
    let after = balance(provider, wtao, from).await?;
    Ok(WtaoTransfer {
        action,
        from,
        to,
        native_dest,
        amount_wei: amount,
        amount_rao: None,
        tx: receipt.transaction_hash,
        block: receipt.block_number,
        gas_used: receipt.gas_used,
        fee_wei: U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price),
        after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precompile_selector_matches_subtensor() {
        assert_eq!(
            IBalanceTransfer::transferCall::SELECTOR,
            [0xcd, 0x6f, 0x4e, 0xb1]
        );
        assert_eq!(
            BALANCE_TRANSFER,
            "0x0000000000000000000000000000000000000800"
                .parse::<Address>()
                .unwrap()
        );
    }

    #[test]
    fn native_amounts_must_be_whole_rao() {
        let one_tao = taonado_types::parse_tao("1.000000001").unwrap();
        assert_eq!(native_amount(one_tao).unwrap(), Rao(1_000_000_001));
        let dusty = taonado_types::parse_tao("1.0000000001").unwrap();
        assert!(matches!(
            native_amount(dusty),
            Err(OpsError::Wtao(WtaoError::SubRaoAmount { .. }))
        ));
        assert!(matches!(
            native_amount(U256::ZERO),
            Err(OpsError::Wtao(WtaoError::ZeroAmount))
        ));
    }
}
