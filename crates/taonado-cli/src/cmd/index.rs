//! `taonado index`: follow a chain into the local SQLite database (protocol blocks,
//! transactions, events, associations, state snapshots). Catches up in batches, resumes
//! from the checkpoint after any stop, and follows reorgs up to `--reorg-depth`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use serde::Serialize;
use taonado_indexer::{Indexer, IndexerConfig, IndexerError, IndexerTuning, SyncReport};
use taonado_store::Store;
use url::Url;

use crate::context::Context;
use crate::error::CliError;
use crate::error::store_error;
use crate::output::Report;

#[derive(Args)]
pub struct IndexArgs {
    /// SQLite database [default: data/<network>.db, shared with `taonado monitor`], or a
    /// `postgres://` URL.
    #[arg(long, value_name = "PATH|URL")]
    pub db: Option<PathBuf>,
    /// First block on an empty database [default: the deployment's first block, else 0].
    /// An existing database always resumes from its checkpoint.
    #[arg(long, value_name = "B")]
    pub from_block: Option<u64>,
    /// Catch up with the head, then exit (otherwise follow until SIGINT/SIGTERM).
    #[arg(long)]
    pub once: bool,
    /// More endpoints of the same chain, tried in order when the current one fails.
    #[arg(long = "fallback-rpc-url", value_name = "URL")]
    pub fallback_rpc_urls: Vec<Url>,
    /// Blocks fetched and committed per database transaction.
    #[arg(long, value_name = "N", default_value_t = IndexerTuning::BATCH_BLOCKS)]
    pub batch_blocks: u64,
    /// Blocks fetched in parallel.
    #[arg(long, value_name = "N", default_value_t = IndexerTuning::CONCURRENCY)]
    pub concurrency: usize,
    /// Deepest reorg followed (recent block hashes kept for comparison).
    #[arg(long, value_name = "BLOCKS", default_value_t = IndexerTuning::REORG_DEPTH)]
    pub reorg_depth: u64,
    /// Blocks between state snapshots once caught up (0: no snapshots).
    #[arg(long, value_name = "BLOCKS", default_value_t = IndexerTuning::SNAPSHOT_INTERVAL)]
    pub snapshot_every: u64,
    /// Seconds between head polls when following.
    #[arg(long, value_name = "SECS", default_value_t = IndexerTuning::POLL_INTERVAL.as_secs_f64())]
    pub poll_interval: f64,
    /// Directory of deployment records (`<network>.json`).
    #[arg(long, value_name = "DIR", default_value = "deployments")]
    pub deployments_dir: PathBuf,
}

#[derive(Serialize)]
pub struct IndexReport {
    pub network: String,
    pub chain_id: u64,
    pub db: PathBuf,
    pub endpoint: String,
    pub checkpoint: Option<u64>,
    pub head: u64,
    /// Totals of this run.
    pub run: SyncReport,
    /// Rows in the database, by table.
    pub rows: Vec<TableRows>,
}

#[derive(Serialize)]
pub struct TableRows {
    pub table: &'static str,
    pub rows: u64,
}

impl Report for IndexReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "indexed {} (chain {}) into {} up to block {} (head {})",
            self.network,
            self.chain_id,
            self.db.display(),
            self.checkpoint
                .map_or_else(|| "-".into(), |b| b.to_string()),
            self.head
        )?;
        writeln!(
            out,
            "this run: {} blocks in {} batches, {} transactions, {} events, {} associations, {} reorged blocks, {} snapshots",
            self.run.blocks,
            self.run.batches,
            self.run.transactions,
            self.run.events,
            self.run.associations,
            self.run.reorged_blocks,
            self.run.snapshots
        )?;
        let mut table = crate::output::table(&["table", "rows"]);
        for t in &self.rows {
            table.add_row(vec![t.table.to_owned(), t.rows.to_string()]);
        }
        writeln!(out, "{table}")
    }
}

fn indexer_error(e: IndexerError) -> CliError {
    match e {
        IndexerError::Store(e) => store_error(e),
        IndexerError::ChainIdMismatch { .. } | IndexerError::NoEndpoints => CliError::usage(e),
        e => CliError::failed(e),
    }
}

impl IndexArgs {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, true)?;
        if self.batch_blocks == 0 || self.concurrency == 0 {
            return Err(CliError::usage(anyhow::anyhow!(
                "--batch-blocks and --concurrency must be at least 1"
            )));
        }
        let poll_interval = Duration::try_from_secs_f64(self.poll_interval).map_err(|e| {
            CliError::usage(anyhow::anyhow!(
                "--poll-interval {}: {e}",
                self.poll_interval
            ))
        })?;
        let dir = &self.deployments_dir;
        let deployment = network.deployment(dir)?;
        let contracts = deployment.watched(network.wtao_owned);
        if contracts.named().is_empty() {
            return Err(CliError::usage(anyhow::anyhow!(
                "no protocol addresses known for {}; deploy first or set them in taonado.toml",
                network.name
            )));
        }
        let start_block = match self.from_block {
            Some(b) => b,
            None => deployment.first_block().unwrap_or_else(|| {
                tracing::warn!(
                    "no deployment block known: indexing from block 0 (set --from-block)"
                );
                0
            }),
        };
        let db = self
            .db
            .clone()
            .unwrap_or_else(|| taonado_store::default_path(&network.name));
        let store = Store::connect_path(&db).map_err(store_error)?;
        if let (Some(from), Some(checkpoint)) =
            (self.from_block, store.checkpoint().map_err(store_error)?)
        {
            tracing::warn!(
                from,
                checkpoint = checkpoint.number,
                "the database resumes from its checkpoint; --from-block applies to an empty database only"
            );
        }
        let mut endpoints = vec![network.rpc_url.clone()];
        endpoints.extend(self.fallback_rpc_urls.iter().cloned());
        let mut indexer_config = IndexerConfig::new(
            network.chain_id,
            endpoints,
            contracts,
            network.netuid,
            start_block,
        );
        indexer_config.tuning.batch_blocks = self.batch_blocks;
        indexer_config.tuning.concurrency = self.concurrency;
        indexer_config.tuning.reorg_depth = self.reorg_depth;
        indexer_config.tuning.snapshot_interval =
            (self.snapshot_every > 0).then_some(self.snapshot_every);
        indexer_config.tuning.poll_interval = poll_interval;
        let indexer = Indexer::new(indexer_config, store.clone())
            .await
            .map_err(indexer_error)?;
        // Signal handlers first, so a stop right after start is never lost.
        let shutdown = crate::shutdown::StopSignals::install()?.into_watch();
        let _registration = context.register_run("index", Some(&network.name));
        let mut progress = indexer.subscribe();
        let log_progress = async move {
            while progress.changed().await.is_ok() {
                let p = *progress.borrow_and_update();
                tracing::info!(checkpoint = ?p.checkpoint, head = p.head, lag = p.lag, "indexed");
            }
        };
        // A stop request ends either after the batch in flight (batches are committed
        // whole); following reports no totals.
        let run = tokio::select! {
            r = async {
                if self.once {
                    indexer.catch_up(shutdown).await
                } else {
                    indexer.run(shutdown).await.map(|()| SyncReport::default())
                }
            } => r.map_err(indexer_error)?,
            () = log_progress => SyncReport::default(),
        };
        let checkpoint = store.checkpoint().map_err(store_error)?.map(|c| c.number);
        let rows = store
            .row_counts()
            .map_err(store_error)?
            .into_iter()
            .map(|(table, rows)| TableRows { table, rows })
            .collect();
        context.output.report(&IndexReport {
            network: network.name,
            chain_id: network.chain_id,
            db: PathBuf::from(taonado_store::redact_url(&db.display().to_string())),
            endpoint: indexer.endpoint().to_string(),
            checkpoint,
            head: indexer.subscribe().borrow().head,
            run,
            rows,
        })
    }
}
