//! `taonado recovery challenge|verify-hotkey|assist`: the manual's fund recovery (issue
//! #19). The library is `taonado_security::recovery`; challenges and every attempt are kept
//! in the network's database (`--db`, default `data/<network>.db`).

use std::io::Write;
use std::path::PathBuf;

use clap::{ArgGroup, Args, Subcommand};
use serde::Serialize;
use taonado_security::recovery::{self, Assistance, RecoveryError, Signed, Verified};
use taonado_store::Store;
use taonado_store::recovery::RecoveryChallenge;
use taonado_types::Hotkey;

use crate::args::{DeploymentsArgs, resolve_addresses};
use crate::context::Context;
use crate::error::{CliError, store_error};
use crate::output::Report;

#[derive(Subcommand)]
pub enum RecoveryCommand {
    /// Issue a challenge (chain, hotkey, date, random nonce) for the hotkey's owner to sign.
    Challenge(ChallengeArgs),
    /// Check an sr25519 signature by the hotkey over a challenge or a message (raw or
    /// `<Bytes>`-wrapped, as polkadot.js and btcli sign). Exit 1 when it does not verify,
    /// or the challenge expired or was used.
    VerifyHotkey(VerifyArgs),
    /// Everything tied to a hotkey (associated EVM addresses, their WTAO, lifetime pool
    /// deposits, uid, weight, incentive, emission) and the steps open to its owner. Mixer
    /// notes cannot be recovered: asked about one, it says so (and never records it).
    Assist(AssistArgs),
}

impl RecoveryCommand {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        match self {
            Self::Challenge(args) => args.run(context),
            Self::VerifyHotkey(args) => args.run(context),
            Self::Assist(args) => args.run(context).await,
        }
    }
}

/// The database the records go to.
#[derive(Args)]
pub struct DbArgs {
    /// SQLite database, or `postgres://…` (a shared deployment's) [default:
    /// data/<network>.db].
    #[arg(long, value_name = "FILE|URL")]
    pub db: Option<PathBuf>,
}

impl DbArgs {
    fn open(&self, network: &str) -> Result<Store, CliError> {
        let path = self
            .db
            .clone()
            .unwrap_or_else(|| taonado_store::default_path(network));
        Store::connect_path(&path).map_err(store_error)
    }
}

#[derive(Args)]
pub struct ChallengeArgs {
    /// The hotkey (SS58, or 0x + 32-byte public key).
    #[arg(long, value_name = "SS58")]
    pub hotkey: Hotkey,
    /// How long the challenge may be answered, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub valid_for: u64,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Args)]
#[command(group(ArgGroup::new("signed").required(true).args(["challenge", "message"])))]
pub struct VerifyArgs {
    /// The hotkey that signed (SS58, or 0x + 32-byte public key).
    #[arg(long, value_name = "SS58")]
    pub hotkey: Hotkey,
    /// The sr25519 signature: 0x + 128 hex digits.
    #[arg(long, value_name = "HEX")]
    pub signature: String,
    /// A challenge issued by `recovery challenge` (used once verified).
    #[arg(long, value_name = "ID")]
    pub challenge: Option<String>,
    /// A message signed as is (no expiry, no single use).
    #[arg(long, value_name = "TEXT")]
    pub message: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Args)]
#[command(group(ArgGroup::new("about").required(true).args(["hotkey", "note"])))]
pub struct AssistArgs {
    /// The hotkey (SS58, or 0x + 32-byte public key).
    #[arg(long, value_name = "SS58")]
    pub hotkey: Option<String>,
    /// Ask about a lost or damaged mixer note (the note itself is not needed, and never
    /// recorded).
    #[arg(long, value_name = "NOTE", num_args = 0..=1, default_missing_value = "")]
    pub note: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub deployments: DeploymentsArgs,
}

impl ChallengeArgs {
    fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, false)?;
        let store = self.db.open(&network.name)?;
        let chain = format!("{} (chain id {})", network.name, network.chain_id);
        let challenge = recovery::issue_challenge(
            &store,
            &chain,
            &self.hotkey,
            taonado_deployment::unix_now(),
            self.valid_for,
        )
        .map_err(recovery_error)?;
        context.output.report(&ChallengeOutput(challenge))
    }
}

impl VerifyArgs {
    fn run(self, context: &Context) -> Result<(), CliError> {
        let network = context.network_name(&context.config()?);
        let store = self.db.open(&network)?;
        let signed = match (&self.challenge, &self.message) {
            (Some(id), _) => Signed::Challenge(id),
            (None, Some(message)) => Signed::Message(message),
            (None, None) => {
                return Err(CliError::usage(anyhow::anyhow!(
                    "pass --challenge ID or --message TEXT"
                )));
            }
        };
        let verified = recovery::verify_hotkey(
            &store,
            &self.hotkey,
            &self.signature,
            signed,
            taonado_deployment::unix_now(),
        )
        .map_err(recovery_error)?;
        context.output.report(&VerifiedOutput(verified))
    }
}

impl AssistArgs {
    async fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network_name = context.network_name(&config);
        // A note pasted as the hotkey is treated as a note question, never echoed.
        let note_asked = self.note.is_some()
            || self
                .hotkey
                .as_deref()
                .is_some_and(recovery::looks_like_note);
        if note_asked {
            let store = self.db.open(&network_name)?;
            let answer = recovery::note_asked(&store).map_err(recovery_error)?;
            let output = NoteOutput { answer };
            return Err(context
                .output
                .report_failed(&output, anyhow::anyhow!("{answer}")));
        }
        let text = self.hotkey.as_deref().unwrap_or_default();
        let hotkey: Hotkey = text.parse().map_err(|e| {
            CliError::usage(anyhow::anyhow!(
                "--hotkey: {e}; pass the hotkey's SS58 address (5…) or 0x + its 32-byte public key"
            ))
        })?;
        let store = self.db.open(&network_name)?;
        let (config, network, addresses) = resolve_addresses(context, &self.deployments)?;
        let provider = taonado_client::connect(&network, &config).await?;
        let assistance = recovery::assist(&store, &provider, &addresses, hotkey)
            .await
            .map_err(recovery_error)?;
        context.output.report(&AssistOutput(assistance))
    }
}

fn recovery_error(error: RecoveryError) -> CliError {
    match error {
        RecoveryError::Ops(ops) => CliError::from(*ops),
        RecoveryError::Store(store) => store_error(store),
        other if other.is_usage() => CliError::usage(other),
        other => CliError::failed(other),
    }
}

#[derive(Serialize)]
#[serde(transparent)]
pub struct ChallengeOutput(RecoveryChallenge);

impl Report for ChallengeOutput {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let c = &self.0;
        writeln!(
            out,
            "challenge {} for {}, valid until {}; sign exactly this text with the hotkey:",
            c.id,
            c.hotkey,
            taonado_types::iso8601_utc(u64::try_from(c.expires_at).unwrap_or(0))
        )?;
        writeln!(out, "{}", c.message)?;
        writeln!(
            out,
            "then: taonado recovery verify-hotkey --hotkey {} --challenge {} --signature 0x…",
            c.hotkey, c.id
        )
    }
}

#[derive(Serialize)]
#[serde(transparent)]
pub struct VerifiedOutput(Verified);

impl Report for VerifiedOutput {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let v = &self.0;
        let over = v
            .challenge_id
            .as_ref()
            .map_or_else(|| "the message".to_owned(), |id| format!("challenge {id}"));
        writeln!(
            out,
            "verified: hotkey {} signed {over} ({} form)",
            v.hotkey, v.form
        )
    }
}

#[derive(Serialize)]
pub struct NoteOutput {
    answer: &'static str,
}

impl Report for NoteOutput {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(out, "{}", self.answer)
    }
}

#[derive(Serialize)]
#[serde(transparent)]
pub struct AssistOutput(Assistance);

impl Report for AssistOutput {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        self.0.status.render(out)?;
        writeln!(out, "steps open to the owner:")?;
        for (i, step) in self.0.steps.iter().enumerate() {
            writeln!(out, "{}. {step}", i + 1)?;
        }
        Ok(())
    }
}
