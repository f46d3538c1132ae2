//! `taonado db cleanup|compact|backup|check|migrate`: maintenance of the indexer's and the
//! monitor's SQLite database.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use taonado_backup::maint::{
    self, CheckReport, CleanupReport, CompactReport, DbBackupReport, MigrationStatus,
};
use taonado_deployment::unix_now;

use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;
use crate::progress::Spinner;

#[derive(Subcommand)]
pub enum DbCommand {
    /// Delete what the retention policy allows (sent or dead notifications, resolved
    /// alerts, old state snapshots) older than --older-than; shows counts, --yes applies.
    Cleanup(CleanupArgs),
    /// Checkpoint the WAL and VACUUM; shows the bytes before and after.
    Compact(DbArgs),
    /// Copy the database into one consistent file (SQLite's online backup API).
    Backup(DbBackupArgs),
    /// integrity_check, foreign_key_check and the schema version (exit 1 if one fails).
    Check(DbArgs),
    /// Applied and pending migrations (--status), or apply the pending ones.
    Migrate(MigrateArgs),
}

#[derive(Args)]
pub struct DbArgs {
    /// SQLite database [default: data/<network>.db]. A PostgreSQL `--db` is refused: it
    /// has its own tools (pg_dump, VACUUM, pg_amcheck).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

impl DbArgs {
    fn path(&self, context: &Context) -> Result<PathBuf, CliError> {
        let path = match &self.db {
            Some(p) => p.clone(),
            None => {
                let config = context.config()?;
                taonado_store::default_path(&context.network_name(&config))
            }
        };
        taonado_backup::sqlite::sqlite_file(&path)?;
        Ok(path)
    }
}

#[derive(Args)]
pub struct CleanupArgs {
    /// Age of the rows to delete: 30d, 12h, 90m, 3600s.
    #[arg(long, value_name = "AGE")]
    pub older_than: String,
    /// Delete them (otherwise only count).
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Args)]
pub struct DbBackupArgs {
    /// The file to write.
    #[arg(long, value_name = "FILE")]
    pub destination: PathBuf,
    /// Replace the destination if it exists.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Args)]
pub struct MigrateArgs {
    /// Only show applied and pending migrations.
    #[arg(long)]
    pub status: bool,
    #[command(flatten)]
    pub db: DbArgs,
}

impl DbCommand {
    pub fn run(self, context: &Context) -> Result<(), CliError> {
        match self {
            Self::Cleanup(args) => {
                let db = args.db.path(context)?;
                let age = maint::parse_age(&args.older_than).ok_or_else(|| {
                    CliError::usage(anyhow::anyhow!(
                        "--older-than {}: use a number with s, m, h, d or w (30d)",
                        args.older_than
                    ))
                })?;
                let report = maint::cleanup(&db, unix_now().saturating_sub(age), args.yes)?;
                context.output.report(&report)
            }
            Self::Compact(args) => {
                let db = args.path(context)?;
                let spinner = Spinner::for_context(context);
                spinner.set_message("compacting");
                let report = maint::compact(&db)?;
                drop(spinner);
                context.output.report(&report)
            }
            Self::Backup(args) => {
                let db = args.db.path(context)?;
                let report = maint::backup_to(&db, &args.destination, args.force)?;
                context.output.report(&report)
            }
            Self::Check(args) => {
                let db = args.path(context)?;
                let report = maint::check(&db)?;
                if report.ok {
                    context.output.report(&report)
                } else {
                    Err(context.output.report_failed(
                        &report,
                        anyhow::anyhow!("{}: {}", report.db.display(), report.problems.join("; ")),
                    ))
                }
            }
            Self::Migrate(args) => {
                let db = args.db.path(context)?;
                let report = if args.status {
                    maint::migration_status(&db)?
                } else {
                    maint::migrate(&db)?
                };
                context.output.report(&report)
            }
        }
    }
}

impl Report for CleanupReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "{} rows older than {} in {}:",
            if self.applied {
                "deleted"
            } else {
                "would delete"
            },
            taonado_types::iso8601_utc(self.cutoff),
            self.db.display()
        )?;
        let mut table = crate::output::table(&["table", "rows", "policy"]);
        for l in &self.lines {
            table.add_row(vec![
                l.table.to_owned(),
                l.rows.to_string(),
                l.rule.to_owned(),
            ]);
        }
        writeln!(out, "{table}")?;
        if self.applied {
            writeln!(
                out,
                "{} snapshot rows went with their snapshots",
                self.cascaded_rows
            )
        } else {
            writeln!(out, "nothing deleted; pass --yes to apply")
        }
    }
}

impl Report for CompactReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "compacted {}: {} bytes before, {} after",
            self.db.display(),
            self.bytes_before,
            self.bytes_after
        )
    }
}

impl Report for DbBackupReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "{} -> {} ({} bytes, sha256 {}, checkpoint {})",
            self.db.display(),
            self.destination.display(),
            self.bytes,
            self.sha256,
            self.checkpoint
                .map_or_else(|| "-".to_owned(), |c| c.to_string())
        )
    }
}

impl Report for CheckReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(out, "{}", self.db.display())?;
        writeln!(
            out,
            "  integrity: {}",
            self.integrity.as_deref().unwrap_or("ok")
        )?;
        writeln!(
            out,
            "  foreign key violations: {}",
            self.foreign_key_violations
        )?;
        writeln!(
            out,
            "  schema version {} (this binary knows up to {}){}",
            self.schema_version,
            self.known_version,
            if self.pending_migrations.is_empty() {
                String::new()
            } else {
                format!(", pending: {:?}", self.pending_migrations)
            }
        )?;
        writeln!(
            out,
            "  checkpoint {}",
            self.checkpoint
                .map_or_else(|| "-".to_owned(), |c| c.to_string())
        )
    }
}

impl Report for MigrationStatus {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut table = crate::output::table(&["version", "name", "applied"]);
        for m in self.applied.iter().chain(&self.pending) {
            table.add_row(vec![
                m.version.to_string(),
                m.name.clone(),
                m.applied_at
                    .map_or_else(|| "pending".to_owned(), taonado_types::iso8601_utc),
            ]);
        }
        writeln!(
            out,
            "{} (this binary knows up to {})",
            self.db.display(),
            self.known
        )?;
        writeln!(out, "{table}")
    }
}
