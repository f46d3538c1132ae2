//! `taonado keys list|audit`: the keystores taonado knows and how safely keys and secrets
//! are kept (issue #19's key administration; rotation, backups and the multisig are not
//! here yet).

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use clap::{Args, Subcommand};
use taonado_security::rotate::{RotationError, RotationPlan, RotationReport};
use taonado_security::{AuditReport, KeyEntry, KeysPlan, OwnerCheck};

use crate::args::DeploymentsArgs;
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
    /// the old key's TAO to it.
    Rotate(Box<RotateArgs>),
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
    #[arg(long, value_name = "ADDRESS")]
    pub to: alloy::primitives::Address,
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
        let home = context.home.clone().ok_or_else(|| {
            CliError::usage(anyhow::anyhow!(
                "cannot find the home directory (set HOME): keys live under ~/.foundry and ~/.taonado"
            ))
        })?;
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
                self.to,
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
            to: self.to,
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
        context.output.report(&RotationOutput(report))
    }
}

#[derive(serde::Serialize)]
#[serde(transparent)]
pub struct RotationOutput(RotationReport);

impl Report for RotationOutput {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let r = &self.0;
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
