//! `taonado mixer …`: the privacy mixer. `inspect` checks a note offline; `deposit`,
//! `withdraw`, `sync`, `stats` and `compliance` talk to the deployed pools through
//! taonado-ops' [`Mixer`]. Notes are printed exactly once (by `deposit`) and never logged.

use std::io::{Read, Write};
use std::path::PathBuf;

use alloy::primitives::{Address, U256};
use clap::{Args, Subcommand};
use serde::Serialize;
use taonado_ops::OpsError;
use taonado_ops::mixer::{
    ComplianceReport, DepositReport, DepositRequest, Mixer, MixerError, MixerProgress, MixerStage,
    StatsReport, SyncReport, WithdrawDryRun, WithdrawKeys, WithdrawReport, WithdrawRequest,
};
use taonado_relayer::client::{RelayedRequest, RelayedWithdrawal, withdraw_via_relayer};
use taonado_zk::keys::{KeyProvenance, LOCAL_DEV_SETUP};
use taonado_zk::{Note, fr_to_b256};

use crate::args::{MonitorFiles, SignerOpts};
use crate::context::{Context, home_subdir};
use crate::error::CliError;
use crate::output::Report;
use crate::progress::Spinner;
use taonado_monitor::compliance::{PrivacyQuery, PrivacyReport};

#[derive(Subcommand)]
pub enum MixerCommand {
    /// Show a note's pool, chain, commitment and nullifier hash (no network, nothing spent).
    Inspect(InspectArgs),
    /// Deposit into a pool: approve WTAO, back the note up, deposit, print the note once.
    Deposit(DepositArgs),
    /// Withdraw a note to a recipient: sync the event cache, prove, submit.
    Withdraw(WithdrawArgs),
    /// Per pool: deposits, withdrawals, anonymity set and balance.
    Stats(StatsArgs),
    /// Bring the local Deposit- and Withdrawal-event caches up to the chain head.
    Sync(SyncArgs),
    /// Disclose a note's deposit and withdrawal (block, time, addresses, transactions, fee).
    Compliance(ComplianceArgs),
    /// Before withdrawing: run the compliance rules on your own note's deposit (found by its
    /// commitment in the indexed database) and an intended withdrawal, and say what would
    /// link the two. Offline; the note is never printed.
    Privacy(PrivacyArgs),
}

impl MixerCommand {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        match self {
            Self::Inspect(args) => args.run(context),
            Self::Deposit(args) => args.run(context).await,
            Self::Withdraw(args) => args.run(context).await,
            Self::Stats(args) => args.run(context).await,
            Self::Sync(args) => args.run(context).await,
            Self::Compliance(args) => args.run(context).await,
            Self::Privacy(args) => args.run(context),
        }
    }
}

/// Where the deployment record and the event caches live.
#[derive(Args, Clone)]
pub struct MixerPaths {
    /// Directory of deployment records (`<network>.json`).
    #[arg(long, value_name = "DIR", default_value = "deployments")]
    pub deployments_dir: PathBuf,
    /// Deposit-event cache directory [default: ~/.taonado/cache/<network>].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

/// Connects (with a signer when `signer` is given), loads the record and opens the mixer.
async fn open(
    context: &Context,
    paths: &MixerPaths,
    signer: Option<&SignerOpts>,
) -> Result<(Mixer, Option<Address>), CliError> {
    let config = context.config()?;
    let network = context.network(&config, true)?;
    // The record, or on a network whose configuration names the pools (the live presets),
    // those addresses: a note of the live pool withdraws without a record of ours.
    let deployment = network.deployment(&paths.deployments_dir)?;
    let record = deployment
        .record_or_configured(network.netuid)?
        .ok_or_else(|| {
            CliError::usage(anyhow::anyhow!(
                "no deployment record at {} and network {} configures no pools; run `taonado deploy` first or pass --deployments-dir",
                deployment.record_path.display(),
                network.name
            ))
        })?;
    let cache_dir = match &paths.cache_dir {
        Some(dir) => dir.clone(),
        None => home_subdir(context.home.as_deref(), &["cache", &network.name])?,
    };
    let (provider, sender) = match signer {
        Some(opts) => {
            let signer = opts.signer_or_dev_account(context, &network)?;
            let sender = signer.address();
            let provider = taonado_client::connect_with_signer(&network, &config, signer).await?;
            (provider, Some(sender))
        }
        None => (taonado_client::connect(&network, &config).await?, None),
    };
    let mixer = Mixer::new(provider, record, &cache_dir)
        .await
        .map_err(CliError::from)?;
    Ok((mixer, sender))
}

/// The note from `--note`, or from stdin for `-`.
fn read_note_text(arg: &str) -> Result<String, CliError> {
    if arg != "-" {
        return Ok(arg.to_owned());
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| CliError::usage(anyhow::anyhow!("reading the note from stdin: {e}")))?;
    Ok(text)
}

fn parse_note(arg: &str) -> Result<Note, CliError> {
    // The parse error names what is wrong and never echoes the secret part.
    Note::parse(&read_note_text(arg)?)
        .map_err(|e| CliError::usage(anyhow::anyhow!("note rejected: {e}")))
}

/// Parsed here rather than by clap, so a bad address is one line like every other error.
fn parse_address(flag: &str, text: &str) -> Result<Address, CliError> {
    text.trim().parse().map_err(|_| {
        CliError::usage(anyhow::anyhow!(
            "{flag} {text:?} is not an address; pass 0x followed by 40 hex digits"
        ))
    })
}

fn parse_amount(flag: &str, text: &str) -> Result<U256, CliError> {
    taonado_types::parse_tao(text)
        .map_err(|e| CliError::usage(anyhow::anyhow!("{flag} {text:?}: {e}")))
}

/// A spinner on stderr for sync, proving and sending; hidden under --json and -q.
struct MixerBar {
    bar: Spinner,
}

impl MixerBar {
    fn new(context: &Context) -> Self {
        Self {
            bar: Spinner::for_context(context),
        }
    }
}

impl MixerProgress for MixerBar {
    fn stage(&self, stage: MixerStage) {
        let message = match stage {
            MixerStage::Syncing {
                amount,
                block,
                head,
                leaves,
            } => format!("syncing the {amount} WTAO pool: block {block}/{head}, {leaves} deposits"),
            MixerStage::Resyncing { amount, reason } => {
                // A plain message, also when stderr is not a terminal.
                self.bar.suspend(|| {
                    tracing::warn!("the {amount} WTAO pool's event cache is rebuilt: {reason}");
                });
                format!("rebuilding the {amount} WTAO pool's event cache")
            }
            MixerStage::LoadingKey => "loading the proving key".to_owned(),
            MixerStage::Proving => "proving the withdrawal".to_owned(),
            MixerStage::Sending { action } => format!("sending {action}"),
        };
        self.bar.set_message(message);
    }
}

// ---------------------------------------------------------------------------------------
// inspect

#[derive(Args)]
pub struct InspectArgs {
    /// The note (`taonado-<currency>-<amount>-<chainId>-0x…`), or `-` to read it from stdin,
    /// which keeps it out of shell history and the process list.
    #[arg(long, value_name = "NOTE")]
    pub note: String,
}

/// What a note commits to. Never the nullifier or the secret themselves.
#[derive(Serialize)]
pub struct InspectReport {
    pub currency: String,
    pub amount: String,
    pub chain_id: u64,
    /// The deployed client's fixed `taonado-wtao-1-964-` form.
    pub legacy_format: bool,
    pub commitment: String,
    pub nullifier_hash: String,
}

impl InspectReport {
    fn new(note: &Note) -> Self {
        Self {
            currency: note.currency().to_owned(),
            amount: note.amount().to_owned(),
            chain_id: note.chain_id(),
            legacy_format: note.is_legacy(),
            commitment: fr_to_b256(note.commitment()).to_string(),
            nullifier_hash: fr_to_b256(note.nullifier_hash()).to_string(),
        }
    }
}

impl Report for InspectReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut table = crate::output::table(&["field", "value"]);
        table.add_row(vec![
            "pool".to_owned(),
            format!("{} {}", self.amount, self.currency.to_uppercase()),
        ]);
        table.add_row(vec!["chain id".to_owned(), self.chain_id.to_string()]);
        table.add_row(vec![
            "format".to_owned(),
            if self.legacy_format {
                "legacy (taonado-wtao-1-964-)"
            } else {
                "current"
            }
            .to_owned(),
        ]);
        table.add_row(vec!["commitment".to_owned(), self.commitment.clone()]);
        table.add_row(vec![
            "nullifier hash".to_owned(),
            self.nullifier_hash.clone(),
        ]);
        writeln!(out, "{table}")
    }
}

impl InspectArgs {
    pub fn run(self, context: &Context) -> Result<(), CliError> {
        let note = parse_note(&self.note)?;
        context.output.report(&InspectReport::new(&note))
    }
}

// ---------------------------------------------------------------------------------------
// deposit

#[derive(Args)]
pub struct DepositArgs {
    /// Pool amount in WTAO: 0.1, 1, 10, 100 or 1000.
    #[arg(long, value_name = "AMOUNT")]
    pub pool: String,
    /// Wrap the missing TAO into WTAO first (otherwise a short balance is an error).
    #[arg(long)]
    pub wrap: bool,
    /// File the note is appended to (mode 0600) before the deposit is sent
    /// [default: ~/.taonado/notes/<network>.txt].
    #[arg(long, value_name = "FILE")]
    pub backup: Option<PathBuf>,
    /// Gas price of the deposit transaction in wei (a legacy price) [default: the node's
    /// estimate]. A rare price links the deposit to a withdrawal paying the same.
    #[arg(long, value_name = "WEI")]
    pub gas_price: Option<u128>,
    #[command(flatten)]
    pub paths: MixerPaths,
    #[command(flatten)]
    pub signer: SignerOpts,
}

/// The deposit, plus the note: printed once, here, and nowhere else.
#[derive(Serialize)]
pub struct DepositOutput {
    pub note: String,
    #[serde(flatten)]
    pub deposit: DepositReport,
}

impl Report for DepositOutput {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let d = &self.deposit;
        writeln!(
            out,
            "deposited {} WTAO into pool {} (leaf {}, tx {}, block {})",
            d.pool.amount, d.pool.address, d.leaf_index, d.tx_hash, d.block
        )?;
        writeln!(out, "commitment {}", d.commitment)?;
        writeln!(out, "note backed up to {}", d.backup_path.display())?;
        writeln!(
            out,
            "your note (keep it secret, it is the only way to withdraw):"
        )?;
        writeln!(out, "{}", self.note)
    }
}

impl DepositArgs {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        let (mixer, sender) = open(context, &self.paths, Some(&self.signer)).await?;
        let sender =
            sender.ok_or_else(|| CliError::failed(anyhow::anyhow!("no sender was resolved")))?;
        let backup = match self.backup {
            Some(path) => path,
            None => home_subdir(
                context.home.as_deref(),
                &["notes", &format!("{}.txt", mixer.record().network)],
            )?,
        };
        let request = DepositRequest {
            amount: self.pool,
            sender,
            backup,
            wrap: self.wrap,
            gas_price: self.gas_price,
        };
        let bar = MixerBar::new(context);
        let report = mixer
            .deposit(&request, &bar)
            .await
            .map_err(CliError::from)?;
        drop(bar);
        context.output.report(&DepositOutput {
            note: report.note.to_string(),
            deposit: report,
        })
    }
}

// ---------------------------------------------------------------------------------------
// withdraw

#[derive(Args)]
pub struct WithdrawArgs {
    /// The note, or `-` to read it from stdin (keeps it out of shell history).
    #[arg(long, value_name = "NOTE")]
    pub note: String,
    /// Who receives the WTAO.
    #[arg(long, value_name = "ADDR")]
    pub recipient: String,
    /// Who receives the fee.
    #[arg(long, value_name = "ADDR")]
    pub relayer: Option<String>,
    /// Relayer fee, in WTAO, taken from the pool amount.
    #[arg(long, value_name = "WTAO", default_value = "0")]
    pub fee: String,
    /// TAO sent along to the recipient (paid by the sender).
    #[arg(long, value_name = "TAO", default_value = "0")]
    pub refund: String,
    /// Directory holding withdraw.pk.bin and withdraw.vk.json of the setup the pools were
    /// deployed with (a ceremony's `taonado zk ceremony export` directory) [default: the
    /// local dev keys built into the binary, for pools deployed with them]. Not read for a
    /// pool whose verifier has Tornado's key: that one proves with the keys of
    /// `taonado zk keys fetch --setup tornado` (~/.taonado/keys/tornado-ceremony).
    #[arg(long, value_name = "DIR")]
    pub keys_dir: Option<PathBuf>,
    /// Prove and verify the withdrawal, print the proof and its public inputs, send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Withdraw through this relayer (`taonado relayer`'s URL): it sends the transaction,
    /// pays the gas and takes its quoted fee, so the recipient needs no TAO. No signer.
    #[arg(long, value_name = "URL", conflicts_with_all = ["relayer", "fee", "refund", "dry_run", "gas_price"])]
    pub relayer_url: Option<url::Url>,
    /// Gas price of the withdrawal transaction in wei (a legacy price) [default: the node's
    /// estimate].
    #[arg(long, value_name = "WEI")]
    pub gas_price: Option<u128>,
    /// How long to follow the relayer's job to CONFIRMED, in seconds.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 300,
        requires = "relayer_url"
    )]
    pub relayer_timeout: u64,
    #[command(flatten)]
    pub paths: MixerPaths,
    #[command(flatten)]
    pub signer: SignerOpts,
}

impl Report for RelayedWithdrawal {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "withdrew {} WTAO from the {} WTAO pool to {} through the relayer {} (job {}, tx {}, block {}, {} confirmation(s))",
            taonado_types::format_tao(self.amount),
            self.pool.amount,
            self.recipient,
            self.relayer_url,
            self.job,
            self.tx_hash,
            self.block,
            self.confirmations
        )?;
        writeln!(
            out,
            "fee {} WTAO to relayer {}; proved in {} ms, submitted to confirmed in {} ms",
            taonado_types::format_tao(self.fee),
            self.relayer,
            self.prove_ms,
            self.submit_to_confirmed_ms
        )
    }
}

impl Report for WithdrawReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        if let Some(reason) = &self.cache_resynced {
            writeln!(out, "event cache rebuilt: {reason}")?;
        }
        writeln!(
            out,
            "withdrew {} WTAO from the {} WTAO pool to {} (tx {}, block {})",
            taonado_types::format_tao(self.amount),
            self.pool.amount,
            self.recipient,
            self.tx_hash,
            self.block
        )?;
        if !self.fee.is_zero() {
            writeln!(
                out,
                "fee {} WTAO to relayer {}",
                taonado_types::format_tao(self.fee),
                self.relayer
            )?;
        }
        writeln!(
            out,
            "proof over {} deposits (leaf {}), setup {}, proved in {} ms, gas {} of limit {}",
            self.tree_size,
            self.leaf_index,
            self.setup,
            self.prove_ms,
            self.gas_used,
            self.gas_limit
        )?;
        writeln!(
            out,
            "proving key: {} from {}",
            key_origin(&self.proving_key),
            self.keys_dir.as_ref().map_or_else(
                || taonado_zk::keys::EMBEDDED_LOCAL_KEYS.to_owned(),
                |dir| dir.display().to_string()
            )
        )
    }
}

impl Report for WithdrawDryRun {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "dry run: proved and verified a withdrawal of the {} WTAO pool to {} (setup {}, {} deposits, leaf {}, {} ms); nothing was sent",
            self.pool.amount,
            self.recipient,
            self.setup,
            self.tree_size,
            self.leaf_index,
            self.prove_ms
        )?;
        let join = |words: &[alloy::primitives::B256]| {
            words
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        };
        writeln!(out, "proof: {}", join(&self.proof))?;
        writeln!(out, "public inputs: {}", join(&self.public_inputs))
    }
}

/// Which setup a proving key came from, in words.
fn key_origin(key: &KeyProvenance) -> String {
    if key.setup == LOCAL_DEV_SETUP {
        return format!("setup {LOCAL_DEV_SETUP} (the INSECURE local development key)");
    }
    let mut details = Vec::new();
    if let Some(count) = key.contributions {
        details.push(format!("{count} contribution(s)"));
    }
    if let Some(phase1) = &key.phase1 {
        details.push(format!("phase 1 {phase1}"));
    }
    if let Some(hash) = &key.transcript_hash {
        details.push(format!("transcript {hash}"));
    }
    if details.is_empty() {
        format!("setup {}", key.setup)
    } else {
        format!("setup {} ({})", key.setup, details.join(", "))
    }
}

impl WithdrawArgs {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        // Everything local is checked before the network is touched.
        let recipient = parse_address("--recipient", &self.recipient)?;
        let relayer = match &self.relayer {
            Some(text) => parse_address("--relayer", text)?,
            None => Address::ZERO,
        };
        let fee = parse_amount("--fee", &self.fee)?;
        let refund = parse_amount("--refund", &self.refund)?;
        let note = parse_note(&self.note)?;
        let keys = WithdrawKeys {
            keys_dir: self.keys_dir,
            tornado_dir: context.tornado_keys_dir()?,
        };
        let request = WithdrawRequest {
            note,
            recipient,
            relayer,
            fee,
            refund,
            gas_price: self.gas_price,
        };
        if let Some(relayer_url) = self.relayer_url {
            // The relayer signs and pays: no signer is needed.
            let (mixer, _) = open(context, &self.paths, None).await?;
            let relayed = RelayedRequest {
                note: request.note,
                recipient,
                relayer_url,
                timeout: std::time::Duration::from_secs(self.relayer_timeout),
                poll: std::time::Duration::from_millis(250),
            };
            let bar = MixerBar::new(context);
            let report = withdraw_via_relayer(&mixer, &relayed, &keys, &bar).await?;
            drop(bar);
            return context.output.report(&report);
        }
        if self.dry_run {
            // Nothing is signed: no signer is needed.
            let (mixer, _) = open(context, &self.paths, None).await?;
            let bar = MixerBar::new(context);
            let report = mixer
                .withdraw_dry_run(&request, &keys, &bar)
                .await
                .map_err(CliError::from)?;
            drop(bar);
            return context.output.report(&report);
        }
        let (mixer, _) = open(context, &self.paths, Some(&self.signer)).await?;
        let bar = MixerBar::new(context);
        let report = mixer
            .withdraw(&request, &keys, &bar)
            .await
            .map_err(CliError::from)?;
        drop(bar);
        context.output.report(&report)
    }
}

// ---------------------------------------------------------------------------------------
// stats

#[derive(Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub paths: MixerPaths,
}

impl Report for StatsReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut table = crate::output::table(&[
            "pool",
            "address",
            "deposits",
            "withdrawals",
            "anonymity set",
            "balance (WTAO)",
        ]);
        for p in &self.pools {
            table.add_row(vec![
                format!("{} WTAO", p.pool.amount),
                p.pool.address.to_string(),
                p.deposits.to_string(),
                p.withdrawals.to_string(),
                p.anonymity_set.to_string(),
                taonado_types::format_tao(p.balance),
            ]);
        }
        writeln!(out, "{table}")?;
        for p in &self.pools {
            if let Some(reason) = &p.cache_resynced {
                writeln!(out, "{} WTAO pool: cache rebuilt: {reason}", p.pool.amount)?;
            }
        }
        let blocks = self.pools.iter().map(|p| p.blocks_scanned).max();
        let requests: u64 = self.pools.iter().map(|p| p.log_requests).sum();
        match blocks {
            Some(blocks) if blocks > 0 => writeln!(
                out,
                "chain {} at block {}; fetched the events of up to {blocks} uncached blocks in {requests} log request(s)",
                self.chain_id, self.head
            ),
            _ => writeln!(
                out,
                "chain {} at block {}; every event cache was already at this block",
                self.chain_id, self.head
            ),
        }
    }
}

impl StatsArgs {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        let (mixer, _) = open(context, &self.paths, None).await?;
        let bar = MixerBar::new(context);
        let report = mixer.stats_with(&bar).await.map_err(CliError::from)?;
        drop(bar);
        context.output.report(&report)
    }
}

// ---------------------------------------------------------------------------------------
// sync

#[derive(Args)]
pub struct SyncArgs {
    /// Only this pool (amount in WTAO) [default: every pool].
    #[arg(long, value_name = "AMOUNT")]
    pub pool: Option<String>,
    /// Drop the caches and fetch every event again.
    #[arg(long)]
    pub rebuild: bool,
    #[command(flatten)]
    pub paths: MixerPaths,
}

impl Report for SyncReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut table = crate::output::table(&[
            "pool",
            "deposits",
            "new",
            "withdrawals",
            "new",
            "root known",
            "cache",
        ]);
        for p in &self.pools {
            table.add_row(vec![
                format!("{} WTAO", p.pool.amount),
                p.leaves.to_string(),
                p.new_leaves.to_string(),
                p.withdrawals.to_string(),
                p.new_withdrawals.to_string(),
                if p.root_known { "yes" } else { "NO" }.to_owned(),
                p.cache_path.display().to_string(),
            ]);
        }
        writeln!(out, "{table}")?;
        for p in &self.pools {
            if let Some(reason) = &p.resynced {
                writeln!(out, "{} WTAO pool: cache rebuilt: {reason}", p.pool.amount)?;
            }
        }
        writeln!(
            out,
            "synced to block {} of chain {}",
            self.head, self.chain_id
        )
    }
}

impl SyncArgs {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        let (mixer, _) = open(context, &self.paths, None).await?;
        let pools = match &self.pool {
            Some(amount) => vec![mixer.pool(amount).map_err(CliError::from)?],
            None => Vec::new(),
        };
        let bar = MixerBar::new(context);
        let report = mixer
            .sync(&pools, self.rebuild, &bar)
            .await
            .map_err(CliError::from)?;
        drop(bar);
        if let Some(stale) = report.pools.iter().find(|p| !p.root_known) {
            return Err(CliError::from(OpsError::from(MixerError::CacheStale {
                path: stale.cache_path.clone(),
                reason: format!(
                    "its rebuilt root {} is not a known root of the pool",
                    stale.root
                ),
            })));
        }
        context.output.report(&report)
    }
}

// ---------------------------------------------------------------------------------------
// compliance

#[derive(Args)]
pub struct ComplianceArgs {
    /// The note, or `-` to read it from stdin.
    #[arg(long, value_name = "NOTE")]
    pub note: String,
    #[command(flatten)]
    pub paths: MixerPaths,
}

impl Report for ComplianceReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let d = &self.deposit;
        let or_unknown =
            |a: Option<Address>| a.map_or_else(|| "unknown".to_owned(), |a| a.to_string());
        writeln!(
            out,
            "{} WTAO pool {} on chain {}",
            self.pool.amount, self.pool.address, self.chain_id
        )?;
        writeln!(
            out,
            "deposit: block {}, time {} (unix {}), by {}, sender {}, tx {}, leaf {}, commitment {}",
            d.block,
            d.time_utc,
            d.timestamp,
            or_unknown(d.user),
            or_unknown(d.sender),
            d.tx_hash
                .map_or_else(|| "unknown".to_owned(), |t| t.to_string()),
            d.leaf_index,
            d.commitment
        )?;
        match &self.withdrawal {
            Some(w) => writeln!(
                out,
                "withdrawal: block {}, time {}, to {}, relayer {}, fee {} WTAO, sender {}, tx {}",
                w.block,
                match (&w.time_utc, w.timestamp) {
                    (Some(utc), Some(unix)) => format!("{utc} (unix {unix})"),
                    _ => "unknown".to_owned(),
                },
                w.recipient,
                w.relayer,
                taonado_types::format_tao(w.fee),
                or_unknown(w.sender),
                w.tx_hash
                    .map_or_else(|| "unknown".to_owned(), |t| t.to_string()),
            ),
            None if self.spent => writeln!(out, "withdrawal: spent, but its event was not found"),
            None => writeln!(out, "withdrawal: none, the note is unspent"),
        }
    }
}

impl ComplianceArgs {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        let note = parse_note(&self.note)?;
        let (mixer, _) = open(context, &self.paths, None).await?;
        let report = mixer.compliance(&note).await.map_err(CliError::from)?;
        context.output.report(&report)
    }
}

// ---------------------------------------------------------------------------------------
// privacy

#[derive(Args)]
pub struct PrivacyArgs {
    /// The note, or `-` to read it from stdin. Never printed.
    #[arg(long, value_name = "NOTE")]
    pub note: String,
    /// Who the withdrawal would pay.
    #[arg(long, value_name = "ADDR")]
    pub recipient: String,
    /// The relayer that would send it [default: you send it yourself, from --sender].
    #[arg(long, value_name = "ADDR")]
    pub relayer: Option<String>,
    /// The account that would send it without a relayer [default: not checked].
    #[arg(long, value_name = "ADDR", conflicts_with = "relayer")]
    pub sender: Option<String>,
    /// The gas price the withdrawal would pay, in wei.
    #[arg(long, value_name = "WEI")]
    pub gas_price: Option<u128>,
    /// The database, `[rules.compliance]` of the monitor config (the thresholds) and the
    /// deployment records.
    #[command(flatten)]
    pub files: MonitorFiles,
}

impl Report for PrivacyReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "deposit at block {} (leaf {}) in pool {}: anonymity set {}, effective {}",
            self.deposit_block,
            self.leaf_index,
            self.pool,
            self.anonymity_set,
            self.effective_anonymity_set
        )?;
        if self.findings.is_empty() {
            return writeln!(out, "no rule would link this withdrawal to the deposit");
        }
        writeln!(
            out,
            "{}:",
            if self.linkable {
                "this withdrawal would be linked to the deposit"
            } else {
                "the deposit itself is flagged"
            }
        )?;
        for f in &self.findings {
            writeln!(
                out,
                "- {} (score {:.2}): {}",
                f.rule, f.score, f.explanation
            )?;
        }
        Ok(())
    }
}

impl PrivacyArgs {
    pub fn run(self, context: &Context) -> Result<(), CliError> {
        let recipient = parse_address("--recipient", &self.recipient)?;
        let relayer = self
            .relayer
            .as_deref()
            .map(|r| parse_address("--relayer", r))
            .transpose()?;
        let sender = self
            .sender
            .as_deref()
            .map(|s| parse_address("--sender", s))
            .transpose()?;
        let note = parse_note(&self.note)?;
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let files = self.files;
        let contracts = network
            .deployment(&files.deployments_dir)?
            .watched(network.wtao_owned);
        let pool = *contracts.pools.get(note.amount()).ok_or_else(|| {
            CliError::usage(anyhow::anyhow!(
                "the note is for a {} WTAO pool, which network {} does not have",
                note.amount(),
                network.name
            ))
        })?;
        let settings = files.load_config()?.rules.compliance;
        let store = files.required_store(&network.name)?;
        let query = PrivacyQuery {
            pool,
            commitment: fr_to_b256(note.commitment()),
            recipient,
            relayer,
            sender,
            gas_price: self.gas_price,
        };
        let report = taonado_monitor::compliance::privacy(
            &store,
            &contracts,
            &settings,
            &query,
            taonado_deployment::unix_now(),
        )
        .map_err(crate::error::monitor_error)?;
        context.output.report(&report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_addresses_and_amounts_are_one_line_usage_errors() {
        let error = parse_address("--recipient", "0x1234").unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert_eq!(error.message().lines().count(), 1);
        assert!(parse_address("--recipient", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8").is_ok());
        assert_eq!(parse_amount("--fee", "-1").unwrap_err().exit_code(), 2);
        assert_eq!(
            parse_amount("--fee", "0.5").unwrap(),
            U256::from(5u64) * U256::from(10u64).pow(U256::from(17u64))
        );
    }

    #[test]
    fn mixer_input_errors_are_usage_and_chain_state_is_a_failed_check() {
        let spent = OpsError::from(MixerError::SpentNote {
            nullifier_hash: Default::default(),
        });
        assert_eq!(CliError::from(spent).exit_code(), 1);
        let poor = OpsError::from(MixerError::NotEnoughWtao {
            account: Default::default(),
            have: "0".into(),
            need: "1".into(),
        });
        assert_eq!(CliError::from(poor).exit_code(), 1);
        assert_eq!(
            CliError::from(OpsError::from(MixerError::ProofRejectedLocally)).exit_code(),
            1
        );
        assert_eq!(
            CliError::from(OpsError::from(MixerError::FeeWithoutRelayer)).exit_code(),
            2
        );
    }

    #[test]
    fn key_origin_names_the_setup() {
        let mut key = KeyProvenance {
            setup: LOCAL_DEV_SETUP.to_owned(),
            circuit: None,
            circuit_hash: None,
            phase1: None,
            contributions: None,
            transcript_hash: None,
        };
        assert!(key_origin(&key).contains("INSECURE local development key"));
        key.setup = "ceremony:e2e".to_owned();
        key.phase1 = Some("local-insecure".to_owned());
        key.contributions = Some(2);
        assert_eq!(
            key_origin(&key),
            "setup ceremony:e2e (2 contribution(s), phase 1 local-insecure)"
        );
    }
}
