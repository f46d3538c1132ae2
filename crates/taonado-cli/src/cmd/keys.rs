//! `taonado keys list|audit`: the keystores taonado knows and how safely keys and secrets
//! are kept (issue #19's key administration; rotation, backups and the multisig are not
//! here yet).

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use clap::{Args, Subcommand};
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
        let a = &deployment.addresses;
        let owned: Vec<(String, alloy::primitives::Address)> = [
            ("EvmValidator", a.evm_validator),
            ("WeightsV2", a.weights_v2),
            ("WeightsV3", a.weights_v3),
            ("WeightsV4", a.weights_v4),
        ]
        .into_iter()
        .filter_map(|(name, address)| address.map(|address| (name.to_owned(), address)))
        .collect();
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
    fn plan(&self, context: &Context) -> Result<KeysPlan, CliError> {
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
        config_files.dedup();
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
