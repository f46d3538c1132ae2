//! `taonado keys list|audit|rotate|backup|restore`: the keystores taonado knows, how
//! safely keys and secrets are kept, owner rotation (to an address or a new keystore), and
//! age-encrypted backups of keystores and notes (issue #19's key administration; the
//! multisig is not here yet).

use std::io::{IsTerminal as _, Write};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use clap::{Args, Subcommand};
use taonado_security::keybackup::{self, KeyBackupError, Lock, Unlock};
use taonado_security::rotate::{RotationError, RotationPlan, RotationReport};
use taonado_security::{AuditReport, KeyEntry, KeysPlan, OwnerCheck};

use crate::args::DeploymentsArgs;
use crate::cmd::wallet::WalletReport;
use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Every keystore taonado knows (Foundry's folder and the configured ones): address as
    /// the file records it (never decrypted), roles, age and file mode.
    List(KeysArgs),
    /// Check keys and secrets: file and folder modes, plaintext keys or mnemonics (the
    /// config, .env, the environment, shell history), key age, one key with several roles,
    /// a weak keystore KDF. Exit 1 on any finding, one line each.
    Audit(KeysArgs),
    /// Move ownership of the EvmValidator and every Weights contract from the signing key
    /// to `--to`, reading owner() before and after each step (a rerun resumes), then sweep
    /// the old key's TAO to it. `--new` creates the new owner's keystore first.
    Rotate(Box<RotateArgs>),
    /// `keys backup --to FILE`: an age-encrypted archive (passphrase or `--recipient age1pq1…`)
    /// of every keystore and note file, with a manifest. `keys backup verify FILE` decrypts
    /// it in memory and checks every file and address.
    Backup(KeyBackupArgs),
    /// Restore a key backup into the home folder: never replaces a file; folders 0700,
    /// files 0600.
    Restore(KeyRestoreArgs),
}

/// The role `keys rotate` moves.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Role {
    /// The key that owns the EvmValidator and the Weights contracts.
    Owner,
}

#[derive(Args)]
pub struct RotateArgs {
    /// The role to rotate.
    #[arg(long, value_enum)]
    pub role: Role,
    /// The new owner: an address (another key, or the multisig).
    #[arg(
        long,
        value_name = "ADDRESS",
        required_unless_present = "new",
        conflicts_with = "new"
    )]
    pub to: Option<alloy::primitives::Address>,
    /// Create a new random key in an encrypted keystore (as `wallet new`, the password
    /// checked with zxcvbn) and rotate to it. A run stopped after the keystore was written
    /// resumes with `--to` its address.
    #[arg(long)]
    pub new: bool,
    /// `--new`: the keystore's name in ~/.foundry/keystores [default: owner-<network>-<date>].
    #[arg(long, value_name = "NAME", requires = "new")]
    pub new_account: Option<String>,
    /// `--new`: file whose first line is the new keystore's password [else
    /// $TAONADO_KEYSTORE_PASSWORD, else a prompt].
    #[arg(long, value_name = "FILE", requires = "new")]
    pub new_password_file: Option<PathBuf>,
    /// Leave the old key's TAO where it is.
    #[arg(long)]
    pub no_sweep: bool,
    /// Read owner() of each contract and show the plan; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Required on a live network.
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub signer: crate::signer::SignerOpts,
    #[command(flatten)]
    pub deployments: DeploymentsArgs,
    #[command(flatten)]
    pub multisig: crate::via_multisig::ViaMultisigArgs,
}

#[derive(Args)]
pub struct KeysArgs {
    #[command(flatten)]
    pub deployments: DeploymentsArgs,
    /// A key older than this many days is due for rotation (the manual rotates quarterly).
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    pub rotation_days: u64,
    /// `audit`: also read each owned contract's `owner()` on the selected network and
    /// compare it with `networks.<name>.owner` (else the deployment record's deployer).
    #[arg(long)]
    pub onchain: bool,
}

impl KeysCommand {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        match self {
            Self::Rotate(args) => args.run(context).await,
            Self::Backup(args) => args.run(context),
            Self::Restore(args) => args.run(context),
            Self::List(args) => {
                let keys =
                    taonado_security::inventory(&args.plan(context)?).map_err(CliError::failed)?;
                context.output.report(&KeyList(keys))
            }
            Self::Audit(args) => {
                let plan = args.plan(context)?;
                let onchain = match args.onchain {
                    true => Some(args.owner_check(context).await?),
                    false => None,
                };
                let report = taonado_security::audit_with_owners(&plan, onchain.as_ref())
                    .await
                    .map_err(CliError::failed)?;
                let output = AuditOutput(report);
                if output.0.passed() {
                    return context.output.report(&output);
                }
                let count = output.0.findings.len();
                Err(context
                    .output
                    .report_failed(&output, anyhow::anyhow!("keys audit: {count} finding(s)")))
            }
        }
    }
}

impl KeysArgs {
    /// The selected network's owned contracts and who must own them.
    async fn owner_check(&self, context: &Context) -> Result<OwnerCheck, CliError> {
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let deployment = network.deployment(&self.deployments.deployments_dir)?;
        let owned = deployment.addresses.owned();
        let expected = match (network.owner, &deployment.record) {
            (Some(owner), _) => Some((owner, format!("networks.{}.owner", network.name))),
            (None, Some(record)) => Some((
                record.deployer,
                "the deployment record's deployer".to_owned(),
            )),
            (None, None) => None,
        };
        let provider = taonado_client::connect(&network, &config).await?;
        Ok(OwnerCheck {
            network: network.name.clone(),
            provider,
            owned,
            expected,
        })
    }

    /// Where keys and secrets are, from the home folder, the configuration and the records.
    pub(crate) fn plan(&self, context: &Context) -> Result<KeysPlan, CliError> {
        let home = keys_home(context)?;
        let keystores = taonado_client::foundry_keystores_dir(&home);
        let mut configured = Vec::new();
        let mut known_addresses = Vec::new();
        let mut config_files = vec![
            PathBuf::from("taonado.toml"),
            home.join(".taonado/taonado.toml"),
        ];
        // A config that does not load (one holding a plaintext key among them) is still
        // scanned as text; only the roles it would give are missing then.
        if let Ok(config) = context.config() {
            if let Some(source) = config.source() {
                config_files.insert(0, source.to_path_buf());
            }
            for network in config.networks().unwrap_or_default() {
                let role = format!("signer of {}", network.name);
                if let Some(path) = &network.signer.keystore {
                    configured.push((path.clone(), role.clone()));
                }
                if let Some(account) = &network.signer.account {
                    configured.push((keystores.join(account), role));
                }
                if let Ok(deployment) = network.deployment(&self.deployments.deployments_dir)
                    && let Some(record) = deployment.record
                {
                    known_addresses
                        .push((record.deployer, format!("deployer of {}", network.name)));
                }
            }
        }
        config_files.push(PathBuf::from(".env"));
        Ok(KeysPlan {
            foundry_keystores: keystores,
            configured,
            known_addresses,
            private_dirs: vec![home.join(".taonado/notes")],
            config_files,
            histories: vec![
                home.join(".bash_history"),
                home.join(".zsh_history"),
                home.join(".local/share/fish/fish_history"),
            ],
            rotated_in: taonado_security::rotate::rotated_in(&home.join(".taonado/rotations")),
            environment: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
            rotation: Duration::from_secs(self.rotation_days.saturating_mul(86_400)),
            now: SystemTime::now(),
        })
    }
}

impl RotateArgs {
    async fn run(self, context: &Context) -> Result<(), CliError> {
        let Role::Owner = self.role;
        let config = context.config()?;
        let network = context.network(&config, true)?;
        if !network.dev_chain && !self.yes && !self.dry_run && !self.multisig.via_multisig {
            return Err(CliError::usage(anyhow::anyhow!(
                "network {} is live: rotating moves ownership of the protocol; pass --yes (or --dry-run to see the plan)",
                network.name
            )));
        }
        let deployment = network.deployment(&self.deployments.deployments_dir)?;
        let owned = deployment.addresses.owned();
        if owned.is_empty() {
            return Err(CliError::usage(anyhow::anyhow!(
                "network {} has no EvmValidator or Weights address; deploy first or pass --deployments-dir",
                network.name
            )));
        }
        let (to, new_keystore) = match self.to {
            Some(to) => (to, None),
            None => self.new_key(context, &network.name)?,
        };
        if self.multisig.via_multisig {
            // The Safe owns the contracts: it proposes the transfers (one MultiSend batch when
            // several), and there is no key of its own to sweep.
            let dir = &self.deployments.deployments_dir;
            let safe = crate::via_multisig::safe_address(&network, dir, self.multisig.safe)?;
            let provider = taonado_client::connect(&network, &config).await?;
            let calls = taonado_ops::multisig::ownership_transfer_calls(
                &provider,
                safe,
                &owned,
                to,
                "keys rotate --via-multisig",
            )
            .await?;
            return crate::via_multisig::propose(
                context,
                &provider,
                &network,
                dir,
                &self.multisig,
                calls,
                None,
            )
            .await;
        }
        let signer = self.signer.signer_or_dev_account(context, &network)?;
        let from = signer.address();
        let provider = taonado_client::connect_with_signer(&network, &config, signer).await?;
        let plan = RotationPlan {
            network: network.name.clone(),
            owned,
            from,
            to,
            sweep: !self.no_sweep,
            dry_run: self.dry_run,
            record: context
                .data_subdir(&["rotations"])?
                .join(format!("{}.json", network.name)),
            now: taonado_deployment::unix_now(),
        };
        let report = taonado_security::rotate::rotate(&provider, &plan)
            .await
            .map_err(|error| match error {
                RotationError::SameOwner(_) => CliError::usage(error),
                RotationError::Ops(ops) => CliError::from(*ops),
                other => CliError::failed(other),
            })?;
        context.output.report(&RotationOutput {
            rotation: report,
            new_keystore,
        })
    }

    /// `--new`: a random key, written to its keystore unless this is a dry run.
    fn new_key(
        &self,
        context: &Context,
        network: &str,
    ) -> Result<(alloy::primitives::Address, Option<WalletReport>), CliError> {
        let signer = alloy::signers::local::PrivateKeySigner::random();
        if self.dry_run {
            return Ok((signer.address(), None));
        }
        let name = self.new_account.clone().unwrap_or_else(|| {
            let date = taonado_types::iso8601_utc(taonado_deployment::unix_now());
            format!("owner-{network}-{}", date.get(..10).unwrap_or("new"))
        });
        let path = crate::cmd::wallet::account_keystore_path(context, &name)?;
        let report = crate::cmd::wallet::write_new_keystore(
            path,
            Some(name),
            self.new_password_file.as_deref(),
            &signer,
            true,
        )?;
        Ok((report.address, Some(report)))
    }
}

#[derive(serde::Serialize)]
pub struct RotationOutput {
    #[serde(flatten)]
    rotation: RotationReport,
    /// The keystore `--new` wrote.
    #[serde(skip_serializing_if = "Option::is_none")]
    new_keystore: Option<WalletReport>,
}

impl Report for RotationOutput {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        if let Some(new) = &self.new_keystore {
            writeln!(
                out,
                "new owner key {} written to {}",
                new.address,
                new.keystore.display()
            )?;
        }
        let r = &self.rotation;
        for step in &r.steps {
            let tx = step.tx.map_or_else(String::new, |tx| format!(" (tx {tx})"));
            writeln!(
                out,
                "{} {}: {}{tx}; owner() {}",
                step.contract, step.address, step.outcome, step.owner_after
            )?;
        }
        match &r.swept {
            Some((wei, tx)) => writeln!(
                out,
                "swept {} TAO from {} to {} (tx {tx})",
                taonado_types::format_tao(*wei),
                r.from,
                r.to
            )?,
            None if r.dry_run => {}
            None => writeln!(out, "nothing to sweep from {}", r.from)?,
        }
        writeln!(
            out,
            "{}: owner of {} on {} is {}",
            if r.dry_run {
                "dry run, nothing sent"
            } else {
                "rotated"
            },
            r.steps.len(),
            r.network,
            if r.dry_run { r.from } else { r.to }
        )
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
pub struct KeyList(Vec<KeyEntry>);

impl Report for KeyList {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        if self.0.is_empty() {
            return writeln!(
                out,
                "no keystores found; create one with `taonado wallet new --account NAME`"
            );
        }
        let mut table = crate::output::table(&["name", "address", "roles", "age", "mode", "kdf"]);
        for key in &self.0 {
            table.add_row(vec![
                key.name.clone(),
                key.address
                    .map_or_else(|| "(not recorded)".to_owned(), |a| a.to_string()),
                if key.roles.is_empty() {
                    "-".to_owned()
                } else {
                    key.roles.join(", ")
                },
                key.age_days
                    .map_or_else(|| "?".to_owned(), |d| format!("{d} d")),
                key.mode
                    .map_or_else(|| "?".to_owned(), |m| format!("{:04o}", m & 0o7777)),
                key.kdf.as_ref().map_or_else(
                    || "?".to_owned(),
                    |k| match k {
                        taonado_security::KeystoreKdf::Scrypt { n, .. } => format!("scrypt n={n}"),
                        taonado_security::KeystoreKdf::Pbkdf2 { c } => format!("pbkdf2 c={c}"),
                        taonado_security::KeystoreKdf::Other { name } => name.clone(),
                    },
                ),
            ]);
        }
        writeln!(out, "{table}")
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
pub struct AuditOutput(AuditReport);

impl Report for AuditOutput {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for finding in &self.0.findings {
            writeln!(out, "{}", finding.message)?;
        }
        writeln!(
            out,
            "{}: {} finding(s); checked {}",
            if self.0.passed() { "passed" } else { "FAILED" },
            self.0.findings.len(),
            self.0.checked.join(", ")
        )
    }
}

/// Environment variable holding a key backup's passphrase (automation).
const BACKUP_PASSPHRASE_ENV: &str = "TAONADO_BACKUP_PASSPHRASE";

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct KeyBackupArgs {
    #[command(subcommand)]
    pub action: Option<KeyBackupAction>,
    /// The age file to write (never replaced).
    #[arg(long, value_name = "FILE", required = true)]
    pub to: Option<PathBuf>,
    /// Encrypt to this age post-quantum recipient (`age1pq1…`) instead of a passphrase
    /// [passphrase: $TAONADO_BACKUP_PASSPHRASE, else a prompt].
    #[arg(long, value_name = "AGE1PQ1…")]
    pub recipient: Option<String>,
    #[command(flatten)]
    pub deployments: DeploymentsArgs,
}

#[derive(Subcommand)]
pub enum KeyBackupAction {
    /// Decrypt a key backup in memory and check every file's hash and every keystore's
    /// address against the manifest (no keystore password needed). Exit 1 on a mismatch.
    Verify(KeyUnlockArgs),
}

#[derive(Args)]
pub struct KeyUnlockArgs {
    /// The key backup.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// An age identity file, for a backup made with --recipient [else the passphrase:
    /// $TAONADO_BACKUP_PASSPHRASE, else a prompt].
    #[arg(long, value_name = "FILE")]
    pub identity: Option<PathBuf>,
}

#[derive(Args)]
pub struct KeyRestoreArgs {
    /// The key backup.
    #[arg(long = "from", value_name = "FILE")]
    pub from: PathBuf,
    /// An age identity file, for a backup made with --recipient.
    #[arg(long, value_name = "FILE")]
    pub identity: Option<PathBuf>,
}

fn backup_passphrase(what: &str, new: bool) -> Result<keybackup::SecretString, CliError> {
    if let Some(passphrase) = std::env::var(BACKUP_PASSPHRASE_ENV)
        .ok()
        .filter(|p| !p.is_empty())
    {
        return Ok(passphrase.into());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage(anyhow::anyhow!(
            "{what} needs a passphrase and stdin is not a terminal; set {BACKUP_PASSPHRASE_ENV} (or use --recipient / --identity)"
        )));
    }
    let prompt = |text: &str| {
        rpassword::prompt_password(text)
            .map_err(|e| CliError::usage(anyhow::Error::new(e).context("reading the passphrase")))
    };
    let first = prompt("Backup passphrase: ")?;
    if new && prompt("Repeat the passphrase: ")? != first {
        return Err(CliError::usage(anyhow::anyhow!(
            "the passphrases do not match; nothing was written"
        )));
    }
    Ok(first.into())
}

fn unlock(identity: Option<&std::path::Path>, what: &str) -> Result<Unlock, CliError> {
    Ok(match identity {
        Some(path) => Unlock::IdentityFile(path.to_path_buf()),
        None => Unlock::Passphrase(backup_passphrase(what, false)?),
    })
}

pub(crate) fn key_backup_error(error: KeyBackupError) -> CliError {
    if error.is_usage() {
        CliError::usage(error)
    } else {
        CliError::failed(error)
    }
}

fn read_backup(path: &std::path::Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| {
        CliError::usage(anyhow::Error::new(e).context(format!(
            "cannot read the key backup {}; check the path",
            path.display()
        )))
    })
}

impl KeyBackupArgs {
    fn run(self, context: &Context) -> Result<(), CliError> {
        if let Some(KeyBackupAction::Verify(args)) = self.action {
            let encrypted = read_backup(&args.file)?;
            let unlock = unlock(args.identity.as_deref(), "the key backup")?;
            let (_, report) =
                keybackup::open(&args.file, &encrypted, &unlock).map_err(key_backup_error)?;
            let output = BackupVerifyOutput(report);
            if output.0.passed() {
                return context.output.report(&output);
            }
            return Err(context.output.report_failed(
                &output,
                anyhow::anyhow!(
                    "key backup {} does not match its manifest",
                    args.file.display()
                ),
            ));
        }
        let Some(to) = self.to.clone() else {
            return Err(CliError::usage(anyhow::anyhow!(
                "pass --to FILE (or `keys backup verify FILE`)"
            )));
        };
        if to.exists() {
            return Err(CliError::usage(anyhow::anyhow!(
                "{} already exists; a key backup never replaces a file, choose another --to",
                to.display()
            )));
        }
        let lock = key_backup_lock(self.recipient.as_deref())?;
        let sources = key_sources(context, &self.deployments)?;
        let (encrypted, manifest) =
            keybackup::create(&sources, &lock, taonado_deployment::unix_now())
                .map_err(key_backup_error)?;
        taonado_deployment::fs::write_private(&to, &encrypted).map_err(CliError::failed)?;
        context.output.report(&BackupOutput {
            file: to,
            encrypted_to: match lock {
                Lock::Passphrase(_) => "passphrase".to_owned(),
                Lock::Recipient(r) => r,
            },
            manifest,
        })
    }
}

/// How a new key backup is locked: to `recipient`, else to a new passphrase
/// ($TAONADO_BACKUP_PASSPHRASE or a prompt) that zxcvbn finds strong enough.
pub(crate) fn key_backup_lock(recipient: Option<&str>) -> Result<Lock, CliError> {
    if let Some(recipient) = recipient {
        return Ok(Lock::Recipient(recipient.to_owned()));
    }
    let passphrase = backup_passphrase("a key backup", true)?;
    {
        use keybackup::ExposeSecret as _;
        taonado_security::password::check_new_password(
            passphrase.expose_secret(),
            &["taonado", "backup"],
        )
        .map_err(CliError::usage)?;
    }
    Ok(Lock::Passphrase(passphrase))
}

/// What a key backup takes: Foundry's keystores, the notes, the configured keystores.
pub(crate) fn key_sources(
    context: &Context,
    deployments: &DeploymentsArgs,
) -> Result<keybackup::BackupSources, CliError> {
    let plan = KeysArgs {
        deployments: DeploymentsArgs {
            deployments_dir: deployments.deployments_dir.clone(),
        },
        rotation_days: 90,
        onchain: false,
    }
    .plan(context)?;
    let home = keys_home(context)?;
    Ok(keybackup::BackupSources {
        home,
        extra_keystores: plan.configured.into_iter().map(|(p, _)| p).collect(),
    })
}

/// The home folder, where keys live (`~/.foundry`, `~/.taonado`) and are restored.
pub(crate) fn keys_home(context: &Context) -> Result<PathBuf, CliError> {
    context.home.clone().ok_or_else(|| {
        CliError::usage(anyhow::anyhow!(
            "cannot find the home directory (set HOME): keys live under ~/.foundry and ~/.taonado"
        ))
    })
}

/// Unlocks a key backup: `identity`, else the passphrase.
pub(crate) fn key_backup_unlock(identity: Option<&std::path::Path>) -> Result<Unlock, CliError> {
    unlock(identity, "the key backup")
}

impl KeyRestoreArgs {
    fn run(self, context: &Context) -> Result<(), CliError> {
        let home = keys_home(context)?;
        let encrypted = read_backup(&self.from)?;
        let unlock = unlock(self.identity.as_deref(), "the key backup")?;
        let report =
            keybackup::restore(&self.from, &encrypted, &unlock, &home).map_err(key_backup_error)?;
        context.output.report(&RestoreOutput(report))
    }
}

#[derive(serde::Serialize)]
pub struct BackupOutput {
    file: PathBuf,
    /// `passphrase`, or the age recipient.
    encrypted_to: String,
    manifest: Vec<keybackup::ManifestEntry>,
}

impl Report for BackupOutput {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for entry in &self.manifest {
            let address = entry.address.map_or_else(String::new, |a| format!(" {a}"));
            writeln!(out, "{:?} {}{address}", entry.kind, entry.path)?;
        }
        writeln!(
            out,
            "key backup {} written ({} file(s), encrypted to {}); check it with `taonado keys backup verify {}`",
            self.file.display(),
            self.manifest.len(),
            self.encrypted_to,
            self.file.display()
        )
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
pub struct BackupVerifyOutput(keybackup::VerifyReport);

impl Report for BackupVerifyOutput {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let r = &self.0;
        for e in &r.entries {
            let state = match (e.sha256_ok, e.address_ok) {
                (false, _) => "HASH MISMATCH",
                (true, Some(false)) => "ADDRESS MISMATCH",
                _ => "ok",
            };
            let address = e.address.map_or_else(String::new, |a| format!(" {a}"));
            writeln!(out, "{state}: {}{address}", e.path)?;
        }
        writeln!(
            out,
            "{}: {} keystore(s), {} note file(s) in {}",
            if r.passed() { "verified" } else { "FAILED" },
            r.keystores,
            r.notes,
            r.file.display()
        )
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
pub struct RestoreOutput(keybackup::RestoreReport);

impl Report for RestoreOutput {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let r = &self.0;
        for path in &r.restored {
            writeln!(out, "restored {}", path.display())?;
        }
        for path in &r.present {
            writeln!(out, "already present {}", path.display())?;
        }
        writeln!(
            out,
            "restored {} file(s) from {} ({} already present)",
            r.restored.len(),
            r.file.display(),
            r.present.len()
        )
    }
}
