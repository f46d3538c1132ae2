//! `taonado wtao wrap|unwrap|balance|transfer`: WTAO for an EVM account, and native TAO to
//! a substrate account through the 0x800 balance-transfer precompile.

use std::io::Write;
use std::path::PathBuf;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::DynProvider;
use clap::{Args, Subcommand};
use serde::Serialize;
use taonado_config::{Config, NetworkConfig};
use taonado_ops::wtao::{self, WtaoBalance, WtaoTransfer};
use taonado_types::{AccountId32, format_tao, parse_tao};

use crate::args::SignerOpts;
use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;

#[derive(Subcommand)]
pub enum WtaoCommand {
    /// Wrap native TAO into WTAO (WTAO.deposit).
    Wrap(AmountArgs),
    /// Unwrap WTAO back into native TAO (WTAO.withdraw).
    Unwrap(AmountArgs),
    /// Native TAO and WTAO balances of an EVM address [default: the signer's].
    Balance(BalanceArgs),
    /// Send WTAO to an EVM address (0x + 40 hex digits), or native TAO to a substrate
    /// account (SS58 or 0x + 64 hex digits) through the 0x800 balance-transfer precompile.
    Transfer(TransferArgs),
}

impl WtaoCommand {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        match self {
            Self::Wrap(args) => args.run(context, Action::Wrap).await,
            Self::Unwrap(args) => args.run(context, Action::Unwrap).await,
            Self::Balance(args) => args.run(context).await,
            Self::Transfer(args) => args.run(context).await,
        }
    }
}

/// Where WTAO is.
#[derive(Args, Clone)]
pub struct WtaoLocation {
    /// WTAO contract [default: the network's, from config or deployments/<network>.json].
    #[arg(long, value_name = "ADDRESS")]
    pub wtao: Option<Address>,
    /// Directory of deployment records (`<network>.json`).
    #[arg(long, value_name = "DIR", default_value = "deployments")]
    pub deployments_dir: PathBuf,
}

#[derive(Args)]
pub struct AmountArgs {
    /// Amount in TAO, e.g. `1.5` (up to 18 decimals).
    #[arg(value_name = "TAO", value_parser = parse_amount)]
    pub amount: U256,
    #[command(flatten)]
    pub location: WtaoLocation,
    #[command(flatten)]
    pub signer: SignerOpts,
}

#[derive(Args)]
pub struct BalanceArgs {
    /// The EVM address [default: the signer's address; on a dev chain dev account 0].
    #[arg(value_name = "ADDRESS")]
    pub address: Option<Address>,
    #[command(flatten)]
    pub location: WtaoLocation,
    #[command(flatten)]
    pub signer: SignerOpts,
}

#[derive(Args)]
pub struct TransferArgs {
    /// Recipient: an EVM address gets WTAO; an SS58 account (or 0x + 64 hex digits) gets
    /// native TAO through 0x800.
    #[arg(value_name = "H160|SS58", value_parser = parse_recipient)]
    pub to: Recipient,
    /// Amount in TAO, e.g. `1.5`; to an SS58 account at most 9 decimals (rao).
    #[arg(value_name = "TAO", value_parser = parse_amount)]
    pub amount: U256,
    #[command(flatten)]
    pub location: WtaoLocation,
    #[command(flatten)]
    pub signer: SignerOpts,
}

/// Who receives a transfer.
#[derive(Clone, Copy, Debug)]
pub enum Recipient {
    Evm(Address),
    Native(AccountId32),
}

fn parse_amount(input: &str) -> Result<U256, String> {
    let wei = parse_tao(input).map_err(|e| e.to_string())?;
    if wei.is_zero() {
        return Err("the amount must be positive".into());
    }
    Ok(wei)
}

fn parse_recipient(input: &str) -> Result<Recipient, String> {
    let trimmed = input.trim();
    let is_h160 = trimmed
        .strip_prefix("0x")
        .or_else(|| trimmed.strip_prefix("0X"))
        .is_some_and(|d| d.len() == 40);
    if is_h160 {
        return trimmed
            .parse()
            .map(Recipient::Evm)
            .map_err(|e| format!("`{trimmed}` is not an EVM address: {e}"));
    }
    trimmed
        .parse::<AccountId32>()
        .map(Recipient::Native)
        .map_err(|e| e.to_string())
}

#[derive(Clone, Copy)]
enum Action {
    Wrap,
    Unwrap,
}

/// Balances as decimal wei and TAO strings.
#[derive(Debug, Serialize)]
pub struct BalanceView {
    pub address: Address,
    pub wtao_contract: Address,
    pub native_wei: String,
    pub native_tao: String,
    pub wtao_wei: String,
    pub wtao_tao: String,
}

impl From<&WtaoBalance> for BalanceView {
    fn from(b: &WtaoBalance) -> Self {
        Self {
            address: b.address,
            wtao_contract: b.wtao,
            native_wei: b.native_wei.to_string(),
            native_tao: format_tao(b.native_wei),
            wtao_wei: b.wtao_wei.to_string(),
            wtao_tao: format_tao(b.wtao_wei),
        }
    }
}

impl Report for BalanceView {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(out, "{}", self.address)?;
        writeln!(out, "  TAO:  {}", self.native_tao)?;
        writeln!(
            out,
            "  WTAO: {}  (WTAO at {})",
            self.wtao_tao, self.wtao_contract
        )
    }
}

/// A sent transaction.
#[derive(Debug, Serialize)]
pub struct TransferView {
    pub action: &'static str,
    pub from: Address,
    /// The EVM recipient, or the contract or precompile called.
    pub to: Address,
    /// The substrate recipient of a native transfer, in SS58.
    pub native_dest: Option<AccountId32>,
    pub amount_wei: String,
    pub amount_tao: String,
    pub amount_rao: Option<u64>,
    pub tx: B256,
    pub block: Option<u64>,
    pub gas_used: u64,
    pub fee_tao: String,
    pub balance: BalanceView,
}

impl From<&WtaoTransfer> for TransferView {
    fn from(t: &WtaoTransfer) -> Self {
        Self {
            action: t.action,
            from: t.from,
            to: t.to,
            native_dest: t.native_dest,
            amount_wei: t.amount_wei.to_string(),
            amount_tao: format_tao(t.amount_wei),
            amount_rao: t.amount_rao,
            tx: t.tx,
            block: t.block,
            gas_used: t.gas_used,
            fee_tao: format_tao(t.fee_wei),
            balance: BalanceView::from(&t.after),
        }
    }
}

impl Report for TransferView {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let amount = &self.amount_tao;
        match (self.action, &self.native_dest) {
            ("wrap", _) => writeln!(out, "wrapped {amount} TAO into WTAO")?,
            ("unwrap", _) => writeln!(out, "unwrapped {amount} WTAO into TAO")?,
            (_, Some(dest)) => writeln!(
                out,
                "sent {amount} TAO ({} rao) to {dest} through the 0x800 precompile",
                self.amount_rao.unwrap_or_default()
            )?,
            _ => writeln!(out, "sent {amount} WTAO to {}", self.to)?,
        }
        writeln!(
            out,
            "tx {} (block {}, gas {}, fee {} TAO)",
            self.tx,
            self.block.map_or_else(|| "?".to_owned(), |b| b.to_string()),
            self.gas_used,
            self.fee_tao
        )?;
        self.balance.render(out)
    }
}

/// The network, its WTAO address and, when `signer` is set, a signing provider.
struct Session {
    provider: DynProvider,
    wtao: Address,
    sender: Option<Address>,
}

impl Session {
    async fn open(
        context: &Context,
        location: &WtaoLocation,
        signer_opts: Option<&SignerOpts>,
        need_signer: bool,
    ) -> Result<Self, CliError> {
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let wtao = wtao_address(&network, location)?;
        let source = match signer_opts {
            Some(opts) => opts.source(&network, context.home.as_deref())?,
            None => None,
        };
        let signer = match source {
            Some(source) => Some(crate::signer::load(&source)?),
            None if network.dev_chain && signer_opts.is_some() => {
                Some(crate::signer::dev_account_signer(0)?)
            }
            None if need_signer => {
                return Err(taonado_client::ClientError::NoSigner {
                    network: network.name.clone(),
                }
                .into());
            }
            None => None,
        };
        let sender = signer.as_ref().map(|s| s.address());
        let provider = connect(&network, &config, signer).await?;
        Ok(Self {
            provider,
            wtao,
            sender,
        })
    }

    fn sender(&self) -> Result<Address, CliError> {
        self.sender.ok_or_else(|| {
            CliError::usage(anyhow::anyhow!(
                "no address: give one, or a signer (--account, --keystore, --private-key)"
            ))
        })
    }
}

async fn connect(
    network: &NetworkConfig,
    config: &Config,
    signer: Option<alloy::signers::local::PrivateKeySigner>,
) -> Result<DynProvider, CliError> {
    Ok(match signer {
        Some(signer) => taonado_client::connect_with_signer(network, config, signer).await?,
        None => taonado_client::connect(network, config).await?,
    })
}

fn wtao_address(network: &NetworkConfig, location: &WtaoLocation) -> Result<Address, CliError> {
    if let Some(address) = location.wtao {
        return Ok(address);
    }
    network.deployment(&location.deployments_dir)?.addresses
        .wtao
        .ok_or_else(|| {
            CliError::usage(anyhow::anyhow!(
                "no WTAO address for network {}: deploy first (`taonado deploy`), set it in taonado.toml, or pass --wtao ADDRESS",
                network.name
            ))
        })
}

impl AmountArgs {
    async fn run(self, context: &Context, action: Action) -> Result<(), CliError> {
        let session = Session::open(context, &self.location, Some(&self.signer), true).await?;
        let from = session.sender()?;
        let report = match action {
            Action::Wrap => wtao::wrap(&session.provider, session.wtao, from, self.amount).await,
            Action::Unwrap => {
                wtao::unwrap(&session.provider, session.wtao, from, self.amount).await
            }
        }
        .map_err(CliError::from)?;
        context.output.report(&TransferView::from(&report))
    }
}

impl BalanceArgs {
    async fn run(self, context: &Context) -> Result<(), CliError> {
        // Reading needs no key: only resolve a signer when no address is given.
        let signer = self.address.is_none().then_some(&self.signer);
        let session = Session::open(context, &self.location, signer, false).await?;
        let owner = match self.address {
            Some(address) => address,
            None => session.sender()?,
        };
        let balance = wtao::balance(&session.provider, session.wtao, owner)
            .await
            .map_err(CliError::from)?;
        context.output.report(&BalanceView::from(&balance))
    }
}

impl TransferArgs {
    async fn run(self, context: &Context) -> Result<(), CliError> {
        if let Recipient::Native(_) = self.to {
            // Refuse sub-rao amounts before asking for a password or connecting.
            wtao::native_amount(self.amount).map_err(CliError::from)?;
        }
        let session = Session::open(context, &self.location, Some(&self.signer), true).await?;
        let from = session.sender()?;
        let report = match self.to {
            Recipient::Evm(to) => {
                wtao::transfer_wtao(&session.provider, session.wtao, from, to, self.amount).await
            }
            Recipient::Native(dest) => {
                wtao::transfer_native(&session.provider, session.wtao, from, dest, self.amount)
                    .await
            }
        }
        .map_err(CliError::from)?;
        context.output.report(&TransferView::from(&report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_are_told_apart_by_form() {
        assert!(matches!(
            parse_recipient("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"),
            Ok(Recipient::Evm(_))
        ));
        assert!(matches!(
            parse_recipient("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"),
            Ok(Recipient::Native(_))
        ));
        assert!(matches!(
            parse_recipient("0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"),
            Ok(Recipient::Native(_))
        ));
        assert!(parse_recipient("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQR").is_err());
    }

    #[test]
    fn amounts_are_positive_tao() {
        assert_eq!(
            parse_amount("1.5").unwrap(),
            U256::from(1_500_000_000_000_000_000u64)
        );
        assert!(parse_amount("0").is_err());
        assert!(parse_amount("-1").is_err());
        assert!(parse_amount("abc").is_err());
    }
}
