//! `taonado zk …`: the withdraw circuit's keys. `ceremony` runs a multi-party Groth16
//! phase 2 (init, contribute, verify, export); `key-info` says where a verifying key came
//! from, so a local development key is never mistaken for a ceremony's.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde::Serialize;
use taonado_zk::CircuitShape;
use taonado_zk::ceremony::{Ceremony, VerifiedCeremony};
use taonado_zk::keys::{self, KeyProvenance, LOCAL_DEV_SETUP};

use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;

/// The verifying key `key-info` reads when `--vk` is not given.
const DEFAULT_VERIFYING_KEY: &str = "keys/local/withdraw.vk.json";

#[derive(Subcommand)]
pub enum ZkCommand {
    /// Multi-party Groth16 phase-2 ceremony for the withdraw circuit.
    #[command(subcommand)]
    Ceremony(CeremonyCommand),
    /// Say which setup a verifying key came from (local-dev-insecure or a ceremony).
    KeyInfo(KeyInfoArgs),
}

impl ZkCommand {
    pub fn run(self, context: &Context) -> Result<(), CliError> {
        match self {
            Self::Ceremony(command) => command.run(context),
            Self::KeyInfo(args) => args.run(context),
        }
    }
}

#[derive(Subcommand)]
pub enum CeremonyCommand {
    /// Start a ceremony file from the circuit and phase 1 (currently a local, INSECURE phase 1).
    Init(InitArgs),
    /// Add your contribution: a fresh secret re-randomises delta, then is forgotten.
    Contribute(ContributeArgs),
    /// Check every contribution, the transcript chain and the circuit binding.
    Verify(VerifyArgs),
    /// Verify, then write withdraw.pk.bin and withdraw.vk.json (setup "ceremony:<name>").
    Export(ExportArgs),
}

impl CeremonyCommand {
    pub fn run(self, context: &Context) -> Result<(), CliError> {
        match self {
            Self::Init(args) => args.run(context),
            Self::Contribute(args) => args.run(context),
            Self::Verify(args) => args.run(context),
            Self::Export(args) => args.run(context),
        }
    }
}

fn zk_error(error: taonado_zk::ZkError) -> CliError {
    match error {
        taonado_zk::ZkError::Io { .. } | taonado_zk::ZkError::BadKeyFile { .. } => {
            CliError::usage(error)
        }
        other => CliError::failed(other),
    }
}

fn shape() -> Result<CircuitShape, CliError> {
    CircuitShape::withdraw().map_err(CliError::failed)
}

/// The phase-1 warning every ceremony report carries while phase 1 is local.
fn phase1_warning(insecure: bool) -> Option<&'static str> {
    insecure.then_some(
        "phase 1 is a LOCAL, INSECURE powers of tau (its tau, alpha and beta are public): keys from this ceremony can be forged and must not guard real funds",
    )
}

#[derive(Args)]
pub struct InitArgs {
    /// Ceremony name; keys will say `ceremony:<NAME>`.
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// Ceremony file to create.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Replace an existing file.
    #[arg(long)]
    pub force: bool,
}

/// The state of a ceremony file after a step.
#[derive(Serialize)]
pub struct CeremonyReport {
    pub file: PathBuf,
    pub name: String,
    pub circuit_hash: String,
    pub phase1: String,
    pub contributions: usize,
    /// What the last contributor publishes, so anyone can find their place in the chain.
    pub transcript_hash: String,
    pub warning: Option<&'static str>,
}

impl CeremonyReport {
    fn new(file: &Path, ceremony: &Ceremony) -> Self {
        Self {
            file: file.to_owned(),
            name: ceremony.name().to_owned(),
            circuit_hash: ceremony.circuit_hash().to_string(),
            phase1: ceremony.phase1().label().to_owned(),
            contributions: ceremony.contributions().len(),
            transcript_hash: ceremony.transcript_hash().to_string(),
            warning: phase1_warning(ceremony.phase1().is_insecure()),
        }
    }
}

impl Report for CeremonyReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut table = super::table(&["field", "value"]);
        table.add_row(vec!["file".to_owned(), self.file.display().to_string()]);
        table.add_row(vec!["ceremony".to_owned(), self.name.clone()]);
        table.add_row(vec!["circuit hash".to_owned(), self.circuit_hash.clone()]);
        table.add_row(vec!["phase 1".to_owned(), self.phase1.clone()]);
        table.add_row(vec![
            "contributions".to_owned(),
            self.contributions.to_string(),
        ]);
        table.add_row(vec![
            "transcript hash".to_owned(),
            self.transcript_hash.clone(),
        ]);
        writeln!(out, "{table}")?;
        if let Some(warning) = self.warning {
            writeln!(out, "WARNING: {warning}")?;
        }
        Ok(())
    }
}

impl InitArgs {
    pub fn run(self, context: &Context) -> Result<(), CliError> {
        if self.out.exists() && !self.force {
            return Err(CliError::usage(anyhow::anyhow!(
                "{} already exists; pass --force to replace it",
                self.out.display()
            )));
        }
        context.output.line(
            "running the phase-1 setup of the withdraw circuit (seconds in release builds)…",
        )?;
        let ceremony = Ceremony::init_withdraw(&self.name, &shape()?).map_err(zk_error)?;
        ceremony.write(&self.out).map_err(zk_error)?;
        context
            .output
            .report(&CeremonyReport::new(&self.out, &ceremony))
    }
}

#[derive(Args)]
pub struct ContributeArgs {
    /// The ceremony file to extend.
    pub file: PathBuf,
    /// Your name in the transcript (public, not authenticated).
    #[arg(long, value_name = "NAME")]
    pub contributor: String,
    /// Where to write the extended ceremony [default: FILE itself].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Extra entropy mixed with the operating system's randomness.
    #[arg(long, value_name = "TEXT")]
    pub entropy: Option<String>,
}

impl ContributeArgs {
    pub fn run(self, context: &Context) -> Result<(), CliError> {
        let mut ceremony = Ceremony::read(&self.file).map_err(zk_error)?;
        let entropy = self.entropy.unwrap_or_default();
        ceremony
            .contribute_with_entropy(&self.contributor, entropy.as_bytes())
            .map_err(zk_error)?;
        let out = self.out.unwrap_or(self.file);
        ceremony.write(&out).map_err(zk_error)?;
        context.output.report(&CeremonyReport::new(&out, &ceremony))
    }
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The ceremony file to check.
    pub file: PathBuf,
}

/// A verified transcript.
#[derive(Serialize)]
pub struct VerifyReport {
    pub file: PathBuf,
    #[serde(flatten)]
    pub verified: VerifiedCeremony,
    pub warning: Option<&'static str>,
}

impl Report for VerifyReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "ceremony {} verified: {} contribution(s), circuit {}",
            self.verified.name,
            self.verified.contributions.len(),
            self.verified.circuit_hash
        )?;
        let mut table = super::table(&["#", "contributor", "transcript hash"]);
        for (index, (name, hash)) in self.verified.contributions.iter().enumerate() {
            table.add_row(vec![
                (index + 1).to_string(),
                name.clone(),
                hash.to_string(),
            ]);
        }
        writeln!(out, "{table}")?;
        if let Some(warning) = self.warning {
            writeln!(out, "WARNING: {warning}")?;
        }
        Ok(())
    }
}

impl VerifyArgs {
    pub fn run(self, context: &Context) -> Result<(), CliError> {
        let ceremony = Ceremony::read(&self.file).map_err(zk_error)?;
        let verified = ceremony.verify_withdraw(&shape()?).map_err(zk_error)?;
        let warning = phase1_warning(verified.phase1_insecure);
        context.output.report(&VerifyReport {
            file: self.file,
            verified,
            warning,
        })
    }
}

#[derive(Args)]
pub struct ExportArgs {
    /// The ceremony file to export.
    pub file: PathBuf,
    /// Directory for withdraw.pk.bin and withdraw.vk.json.
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
}

/// Where the keys went.
#[derive(Serialize)]
pub struct ExportReport {
    pub proving_key: PathBuf,
    pub verifying_key: PathBuf,
    pub setup: String,
    #[serde(flatten)]
    pub verified: VerifiedCeremony,
    pub warning: Option<&'static str>,
}

impl Report for ExportReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "verified {} contribution(s); wrote {} and {} (setup {})",
            self.verified.contributions.len(),
            self.proving_key.display(),
            self.verifying_key.display(),
            self.setup
        )?;
        if let Some(warning) = self.warning {
            writeln!(out, "WARNING: {warning}")?;
        }
        Ok(())
    }
}

impl ExportArgs {
    pub fn run(self, context: &Context) -> Result<(), CliError> {
        let ceremony = Ceremony::read(&self.file).map_err(zk_error)?;
        let setup = ceremony.setup_label();
        let (verified, paths) = ceremony.export(shape()?, &self.out_dir).map_err(zk_error)?;
        let warning = phase1_warning(verified.phase1_insecure);
        context.output.report(&ExportReport {
            proving_key: paths.proving_key,
            verifying_key: paths.verifying_key,
            setup,
            verified,
            warning,
        })
    }
}

#[derive(Args)]
pub struct KeyInfoArgs {
    /// Verifying key (snarkjs verification_key.json) [default: keys/local/withdraw.vk.json].
    #[arg(long, value_name = "FILE")]
    pub vk: Option<PathBuf>,
}

/// Where a verifying key came from and whether it may guard real funds.
#[derive(Serialize)]
pub struct KeyInfoReport {
    pub file: PathBuf,
    #[serde(flatten)]
    pub provenance: KeyProvenance,
    /// Whether the recorded circuit hash is this build's withdraw circuit.
    pub matches_this_circuit: bool,
    /// Whether the key's points are the local development key's, whatever its label says.
    pub is_local_dev_key: bool,
    /// Only ceremony keys with a real phase 1 that are not the local dev key.
    pub safe_for_live_network: bool,
    pub verdict: String,
}

impl Report for KeyInfoReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut table = super::table(&["field", "value"]);
        table.add_row(vec!["file".to_owned(), self.file.display().to_string()]);
        table.add_row(vec!["setup".to_owned(), self.provenance.setup.clone()]);
        let optional = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".to_owned());
        table.add_row(vec![
            "circuit".to_owned(),
            optional(&self.provenance.circuit),
        ]);
        table.add_row(vec![
            "circuit hash".to_owned(),
            format!(
                "{} ({})",
                optional(&self.provenance.circuit_hash),
                if self.matches_this_circuit {
                    "this build's circuit"
                } else {
                    "NOT this build's circuit"
                }
            ),
        ]);
        table.add_row(vec![
            "phase 1".to_owned(),
            optional(&self.provenance.phase1),
        ]);
        table.add_row(vec![
            "contributions".to_owned(),
            self.provenance
                .contributions
                .map_or_else(|| "-".to_owned(), |n| n.to_string()),
        ]);
        table.add_row(vec![
            "transcript hash".to_owned(),
            optional(&self.provenance.transcript_hash),
        ]);
        writeln!(out, "{table}")?;
        writeln!(out, "{}", self.verdict)
    }
}

impl KeyInfoArgs {
    pub fn run(self, context: &Context) -> Result<(), CliError> {
        let file = self
            .vk
            .unwrap_or_else(|| PathBuf::from(DEFAULT_VERIFYING_KEY));
        let text = std::fs::read_to_string(&file).map_err(|e| {
            CliError::usage(
                anyhow::Error::new(e).context(format!("reading verifying key {}", file.display())),
            )
        })?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            CliError::usage(anyhow::anyhow!(
                "verifying key {} is not JSON: {e}",
                file.display()
            ))
        })?;
        let provenance = KeyProvenance::from_json(&value);
        let shape = shape()?;
        let matches_this_circuit = provenance
            .circuit_hash
            .as_deref()
            .and_then(|hash| hash.parse::<alloy::primitives::B256>().ok())
            == Some(shape.hash());
        // Parsing against the recorded hash (not ours) still checks every point.
        let recorded = provenance
            .circuit_hash
            .as_deref()
            .and_then(|hash| hash.parse().ok())
            .unwrap_or(shape.hash());
        let vk = keys::verifying_key_from_json(&file, &value, recorded).map_err(zk_error)?;
        let is_local_dev_key = keys::is_local_dev_verifying_key(&vk);
        let ceremony = provenance.setup.starts_with("ceremony:");
        // Only a phase 1 that is not the local one counts as real; none exists yet.
        let phase1_insecure = provenance
            .phase1
            .as_deref()
            .is_none_or(|label| label == taonado_zk::ceremony::Phase1::LOCAL_INSECURE_LABEL);
        let safe_for_live_network =
            ceremony && !phase1_insecure && !is_local_dev_key && matches_this_circuit;
        let verdict = if is_local_dev_key {
            format!(
                "LOCAL DEVELOPMENT KEY ({LOCAL_DEV_SETUP}{}): anyone can forge proofs for it; never deploy it to a live network",
                if provenance.setup == LOCAL_DEV_SETUP {
                    String::new()
                } else {
                    format!(", although the file says {:?}", provenance.setup)
                }
            )
        } else if ceremony && phase1_insecure {
            format!(
                "{}: phase-2 ceremony over a LOCAL, INSECURE phase 1 ({}); proofs can be forged, not for real funds",
                provenance.setup,
                provenance.phase1.as_deref().unwrap_or("unknown phase 1")
            )
        } else if ceremony {
            format!("{}: multi-party ceremony key", provenance.setup)
        } else {
            format!(
                "setup {:?}: not a ceremony key; treat it as insecure",
                provenance.setup
            )
        };
        context.output.report(&KeyInfoReport {
            file,
            provenance,
            matches_this_circuit,
            is_local_dev_key,
            safe_for_live_network,
            verdict,
        })
    }
}
