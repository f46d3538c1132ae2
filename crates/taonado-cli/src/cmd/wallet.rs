//! `taonado wallet new|import|list|address`: EVM keys in Foundry-compatible encrypted
//! keystores (what `cast wallet` writes and `--keystore`/`--account` read). Keys are never
//! printed or logged; files are mode 0600.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use clap::{ArgGroup, Args, Subcommand};
use serde::Serialize;
use taonado_client::{
    ClientError, KeystoreEntry, KeystoreError, Secret, foundry_keystores_dir, list_keystores,
    parse_private_key, write_keystore,
};

use crate::args::SignerOpts;
use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;

/// Environment variable holding the password of a new keystore (automation).
const PASSWORD_ENV: &str = "TAONADO_KEYSTORE_PASSWORD";

#[derive(Subcommand)]
pub enum WalletCommand {
    /// Create a random EVM key in a new encrypted keystore.
    New(NewArgs),
    /// Encrypt an existing private key into a new keystore (the key is read from
    /// --private-key-file, TAONADO_PRIVATE_KEY or a hidden prompt, never from a flag).
    Import(ImportArgs),
    /// List the keystores in ~/.foundry/keystores (the names --account accepts).
    List(ListArgs),
    /// Decrypt a keystore and show its address (checks the password).
    Address(AddressArgs),
}

impl WalletCommand {
    pub fn run(self, context: &Context) -> Result<(), CliError> {
        match self {
            Self::New(args) => args.run(context),
            Self::Import(args) => args.run(context),
            Self::List(args) => args.run(context),
            Self::Address(args) => args.run(context),
        }
    }
}

/// Where a new keystore goes and how its password is given.
#[derive(Args)]
#[command(group(ArgGroup::new("target").required(true).args(["account", "keystore"])))]
pub struct NewKeystore {
    /// Name of the keystore in ~/.foundry/keystores (then usable as --account NAME).
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
    /// Keystore file to create.
    #[arg(long, value_name = "FILE")]
    pub keystore: Option<PathBuf>,
    /// File whose first line is the new password [else $TAONADO_KEYSTORE_PASSWORD, else a
    /// prompt].
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

#[derive(Args)]
pub struct NewArgs {
    #[command(flatten)]
    pub target: NewKeystore,
}

#[derive(Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub target: NewKeystore,
    /// File whose first line is the private key (hex) [else $TAONADO_PRIVATE_KEY, else a
    /// hidden prompt].
    #[arg(long, value_name = "FILE")]
    pub private_key_file: Option<PathBuf>,
}

#[derive(Args)]
pub struct ListArgs {}

#[derive(Args)]
pub struct AddressArgs {
    #[command(flatten)]
    pub signer: SignerOpts,
}

/// A keystore that was written.
#[derive(Debug, Serialize)]
pub struct WalletReport {
    pub address: Address,
    pub keystore: PathBuf,
    /// The `--account` name, when the keystore is in ~/.foundry/keystores.
    pub account: Option<String>,
    pub created: bool,
}

impl Report for WalletReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let verb = if self.created { "created" } else { "imported" };
        writeln!(
            out,
            "{verb} {} in {}",
            self.address,
            self.keystore.display()
        )?;
        match &self.account {
            Some(name) => writeln!(out, "use it with --account {name}"),
            None => writeln!(out, "use it with --keystore {}", self.keystore.display()),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ListReport {
    pub dir: PathBuf,
    pub keystores: Vec<KeystoreEntry>,
}

impl Report for ListReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        if self.keystores.is_empty() {
            return writeln!(
                out,
                "no keystores in {}; create one with `taonado wallet new --account NAME`",
                self.dir.display()
            );
        }
        let mut table = crate::output::table(&["account", "address", "path"]);
        for entry in &self.keystores {
            table.add_row(vec![
                entry.name.clone(),
                entry
                    .address
                    .map_or_else(|| "(not recorded)".to_owned(), |a| a.to_string()),
                entry.path.display().to_string(),
            ]);
        }
        writeln!(out, "{table}")
    }
}

#[derive(Debug, Serialize)]
pub struct AddressReport {
    pub address: Address,
}

impl Report for AddressReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(out, "{}", self.address)
    }
}

impl NewArgs {
    fn run(self, context: &Context) -> Result<(), CliError> {
        let signer = PrivateKeySigner::random();
        self.target.write(context, &signer, true)
    }
}

impl ImportArgs {
    fn run(self, context: &Context) -> Result<(), CliError> {
        let key = read_private_key(self.private_key_file.as_deref())?;
        let signer = parse_private_key(key.expose())?;
        self.target.write(context, &signer, false)
    }
}

impl ListArgs {
    fn run(self, context: &Context) -> Result<(), CliError> {
        let dir = foundry_keystores_dir(&home(context)?);
        let keystores = list_keystores(&dir).map_err(ClientError::from)?;
        context.output.report(&ListReport { dir, keystores })
    }
}

impl AddressArgs {
    fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, false)?;
        let source = self
            .signer
            .source(&network, context.home.as_deref())?
            .ok_or_else(|| {
                CliError::usage(anyhow::anyhow!(
                    "no keystore given; pass --account NAME or --keystore FILE"
                ))
            })?;
        let signer = crate::signer::load(&source)?;
        context.output.report(&AddressReport {
            address: signer.address(),
        })
    }
}

impl NewKeystore {
    fn write(
        &self,
        context: &Context,
        signer: &PrivateKeySigner,
        created: bool,
    ) -> Result<(), CliError> {
        let (path, account) = match (&self.keystore, &self.account) {
            (Some(path), _) => (path.clone(), None),
            (None, Some(name)) => (account_keystore_path(context, name)?, Some(name.clone())),
            // clap's required group makes this unreachable; still a usage error, not a panic.
            (None, None) => {
                return Err(CliError::usage(anyhow::anyhow!(
                    "pass --account NAME or --keystore FILE"
                )));
            }
        };
        let report = write_new_keystore(
            path,
            account,
            self.password_file.as_deref(),
            signer,
            created,
        )?;
        context.output.report(&report)
    }
}

/// The keystore path of `--account NAME` (`~/.foundry/keystores/NAME`), the name checked.
pub(crate) fn account_keystore_path(context: &Context, name: &str) -> Result<PathBuf, CliError> {
    check_account_name(name)?;
    Ok(foundry_keystores_dir(&home(context)?).join(name))
}

/// Encrypts `signer` into a new keystore at `path` (never replacing a file) with a new
/// password from `password_file`, `TAONADO_KEYSTORE_PASSWORD` or a prompt, checked with
/// zxcvbn: what `wallet new` and `keys rotate --new` write.
pub(crate) fn write_new_keystore(
    path: PathBuf,
    account: Option<String>,
    password_file: Option<&Path>,
    signer: &PrivateKeySigner,
    created: bool,
) -> Result<WalletReport, CliError> {
    if path.exists() {
        return Err(ClientError::from(KeystoreError::Exists { path }).into());
    }
    let password = new_password(password_file, &path)?;
    // What an attacker tries first: the account's and the file's names.
    let file_name = path
        .file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let words = [
        file_name.as_str(),
        account.as_deref().unwrap_or(""),
        "taonado",
    ];
    taonado_security::password::check_new_password(password.expose(), &words)
        .map_err(CliError::usage)?;
    let address = write_keystore(&path, signer, &password).map_err(ClientError::from)?;
    tracing::info!(%address, path = %path.display(), "keystore written");
    Ok(WalletReport {
        address,
        keystore: path,
        account,
        created,
    })
}

fn home(context: &Context) -> Result<PathBuf, CliError> {
    context.home.clone().ok_or_else(|| {
        CliError::usage(anyhow::anyhow!(
            "cannot find the home directory for ~/.foundry/keystores; pass --keystore FILE"
        ))
    })
}

/// An account name is a file name in the keystores directory, never a path.
fn check_account_name(name: &str) -> Result<(), CliError> {
    let valid = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err(CliError::usage(anyhow::anyhow!(
            "account name `{name}` must be letters, digits, `-`, `_` or `.` (not starting with `.`); use --keystore FILE for a path"
        )))
    }
}

/// The first line of `path`, which must not be empty.
fn first_line(path: &Path, what: &str) -> Result<Secret, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::usage(
            anyhow::Error::new(e).context(format!("reading {what} file {}", path.display())),
        )
    })?;
    let line = text
        .lines()
        .next()
        .unwrap_or_default()
        .trim_end_matches('\r');
    if line.is_empty() {
        return Err(CliError::usage(anyhow::anyhow!(
            "{what} file {} is empty; put the {what} on its first line",
            path.display()
        )));
    }
    Ok(Secret::new(line))
}

fn new_password(file: Option<&Path>, keystore: &Path) -> Result<Secret, CliError> {
    if let Some(file) = file {
        return first_line(file, "password");
    }
    if let Some(password) = std::env::var(PASSWORD_ENV).ok().filter(|p| !p.is_empty()) {
        return Ok(Secret::new(password));
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage(anyhow::anyhow!(
            "keystore {} needs a password and stdin is not a terminal; pass --password-file FILE or set {PASSWORD_ENV}",
            keystore.display()
        )));
    }
    let prompt = |text: String| {
        rpassword::prompt_password(text)
            .map_err(|e| CliError::usage(anyhow::Error::new(e).context("reading the password")))
    };
    let first = prompt(format!("New password for {}: ", keystore.display()))?;
    let again = prompt("Repeat the password: ".to_owned())?;
    if first != again {
        return Err(CliError::usage(anyhow::anyhow!(
            "the passwords do not match; nothing was written"
        )));
    }
    Ok(Secret::new(first))
}

fn read_private_key(file: Option<&Path>) -> Result<Secret, CliError> {
    if let Some(file) = file {
        return first_line(file, "private key");
    }
    if let Some(key) = std::env::var("TAONADO_PRIVATE_KEY")
        .ok()
        .filter(|k| !k.is_empty())
    {
        return Ok(Secret::new(key));
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage(anyhow::anyhow!(
            "no private key to import and stdin is not a terminal; pass --private-key-file FILE or set TAONADO_PRIVATE_KEY"
        )));
    }
    rpassword::prompt_password("Private key (hex, hidden): ")
        .map(Secret::new)
        .map_err(|e| CliError::usage(anyhow::Error::new(e).context("reading the private key")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_names_are_file_names() {
        for good in ["deployer", "miner-1", "a_b.c"] {
            assert!(check_account_name(good).is_ok(), "{good}");
        }
        for bad in ["", ".hidden", "../x", "a/b", "sp ace"] {
            assert!(check_account_name(bad).is_err(), "{bad}");
        }
    }
}
