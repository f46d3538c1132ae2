//! `backup restore` and `recover`: the set is checked whole first (seal, hashes, network,
//! schema, the database restored into a temporary file), every target is checked next, and
//! only then is anything written. A file that exists is replaced only with `force`, and a
//! copy of it is kept next to it (`<name>.pre-restore-<time>`) first.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{BackupError, Result};
use crate::manifest::{self, Component, DATABASE_FILE, Manifest};
use crate::set::{self, Expected};
use crate::sqlite;

/// Where each component goes back to.
#[derive(Clone, Debug)]
pub struct RestorePlan {
    pub set: PathBuf,
    pub expected: Expected,
    /// `None`: every file component the set has (contract state is restored only into a
    /// dev chain, by [`crate::state::restore_local`]).
    pub component: Option<Component>,
    /// The live database.
    pub database: PathBuf,
    /// Where `taonado.toml` goes.
    pub config_file: PathBuf,
    /// Where deployment records go.
    pub deployments_dir: PathBuf,
    pub dry_run: bool,
    pub force: bool,
    pub now: u64,
}

/// One file a restore writes.
#[derive(Clone, Debug, Serialize)]
pub struct RestoredFile {
    pub component: Component,
    pub from: String,
    pub to: PathBuf,
    /// The target existed (and, unless a dry run, was copied to `kept` first).
    pub replaced: bool,
    pub kept: Option<PathBuf>,
}

/// What a restore did (or, in a dry run, would do).
#[derive(Clone, Debug, Serialize)]
pub struct RestoreReport {
    pub set: PathBuf,
    pub network: String,
    pub created_at: u64,
    pub dry_run: bool,
    pub files: Vec<RestoredFile>,
    /// The restored database's checkpoint (block), if it has one.
    pub checkpoint: Option<u64>,
}

/// Restores the file components of a set (database, config and deployment records).
/// A WAL replica (`backup continuous --wal`) restores its database the same way
/// ([`crate::wal::restore_database`]).
pub fn restore(plan: &RestorePlan) -> Result<RestoreReport> {
    if matches!(plan.component, None | Some(Component::Database)) {
        sqlite::sqlite_file(&plan.database)?;
    }
    if crate::wal::is_replica(&plan.set) {
        return crate::wal::restore_database(plan);
    }
    let manifest = set::check(&plan.set, &plan.expected)?;
    let components: Vec<Component> = match plan.component {
        // The contract state goes to a chain and the keys need their passphrase: both are
        // restored by the caller (`taonado backup restore`), not copied here.
        Some(Component::ContractState | Component::Keys) => Vec::new(),
        Some(c) => {
            if !manifest.has(c) {
                return Err(BackupError::NoComponent {
                    path: plan.set.clone(),
                    component: c.as_str(),
                });
            }
            vec![c]
        }
        None => vec![Component::Database, Component::Config],
    };
    let files = targets(plan, &manifest, &components);
    // Every refusal before the first write.
    if !plan.force
        && !plan.dry_run
        && let Some(existing) = files.iter().find(|f| f.replaced)
    {
        return Err(BackupError::Exists {
            path: existing.to.clone(),
        });
    }
    let mut done = Vec::new();
    for mut file in files {
        if !plan.dry_run {
            if file.replaced {
                let kept = kept_path(&file.to, plan.now);
                if file.component == Component::Database {
                    // A consistent copy even if a monitor still has the database open.
                    sqlite::online_copy(&file.to, &kept)?;
                } else {
                    std::fs::copy(&file.to, &kept)
                        .map_err(BackupError::io("keeping a copy of", &file.to))?;
                }
                file.kept = Some(kept);
            }
            let src = manifest::join(&plan.set, &file.from);
            if let Some(dir) = file.to.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(BackupError::io("creating", dir))?;
            }
            if file.component == Component::Database {
                if file.replaced {
                    sqlite::restore_into(&src, &file.to)?;
                } else {
                    sqlite::online_copy(&src, &file.to)?;
                }
            } else {
                let bytes = std::fs::read(&src).map_err(BackupError::io("reading", &src))?;
                taonado_deployment::fs::write_atomic(&file.to, &bytes)?;
            }
        }
        done.push(file);
    }
    let checkpoint = manifest
        .database
        .as_ref()
        .and_then(|d| d.checkpoint.as_ref())
        .map(|c| c.0)
        .filter(|_| components.contains(&Component::Database));
    Ok(RestoreReport {
        set: plan.set.clone(),
        network: manifest.network,
        created_at: manifest.created_at,
        dry_run: plan.dry_run,
        files: done,
        checkpoint,
    })
}

fn targets(plan: &RestorePlan, manifest: &Manifest, components: &[Component]) -> Vec<RestoredFile> {
    let mut out = Vec::new();
    for file in &manifest.files {
        if !components.contains(&file.component) {
            continue;
        }
        let to = match file.component {
            Component::Database if file.path == DATABASE_FILE => plan.database.clone(),
            Component::Config if file.path == manifest::CONFIG_FILE => plan.config_file.clone(),
            Component::Config => match file
                .path
                .strip_prefix(&format!("{}/", manifest::DEPLOYMENTS_DIR))
            {
                Some(name) => plan.deployments_dir.join(name),
                None => continue,
            },
            _ => continue,
        };
        out.push(RestoredFile {
            component: file.component,
            from: file.path.clone(),
            replaced: to.exists(),
            to,
            kept: None,
        });
    }
    out
}

/// `<file>.pre-restore-<YYYYMMDDTHHMMSSZ>`, not yet taken.
pub(crate) fn kept_path(file: &Path, now: u64) -> PathBuf {
    let stamp = set::compact_stamp(now);
    let mut n = 1;
    loop {
        let mut name = file.as_os_str().to_owned();
        name.push(format!(".pre-restore-{stamp}"));
        if n > 1 {
            name.push(format!("-{n}"));
        }
        let path = PathBuf::from(name);
        if !path.exists() {
            return path;
        }
        n += 1;
    }
}

/// `recover --backup-date D`: the newest set of `network` of that day (or `latest`) under
/// `dest`, restored by [`restore`] (the plan's `set` is replaced by the one found).
pub fn recover(dest: &Path, date: &str, mut plan: RestorePlan) -> Result<RestoreReport> {
    let found = set::find(dest, &plan.expected.network, date)?;
    plan.set = found.path;
    restore(&plan)
}
