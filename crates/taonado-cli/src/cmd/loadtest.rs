//! `taonado loadtest`: parse → `taonado_loadtest::LoadTest::run` → render (table, `--json`,
//! `--report FILE.md`). Refuses mainnet without `--i-understand-this-costs-tao` and other
//! live chains without `--yes`; `--dry-run` prints the plan and sends nothing.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::providers::Provider;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use taonado_loadtest::{
    LoadReport, LoadTest, LoadTestError, MAINNET_CHAIN_ID, Plan, PoolTarget, Progress, Scenario,
    Snapshot, WeightsPlan, WeightsReport,
};
use taonado_types::{Hotkey, format_tao};

use crate::context::Context;
use crate::error::CliError;
use crate::output::{Report, table};
use crate::signer::SignerOpts;

/// Without `--transactions`, a `--duration` run stops at this many calls…
const DURATION_CALLS_CAP: u64 = 10_000_000;
/// …or transactions (the child wallets are funded for this many).
const DURATION_TXS_CAP: u64 = 10_000;

#[derive(Args)]
pub struct LoadtestArgs {
    /// What to send: `calls` (read-only eth_blockNumber/eth_getBalance/eth_call),
    /// `transfer` (1 wei native transfers), `wrap` (WTAO.deposit of 1 wei), `associate`
    /// (DepositTracker.associate, each from a fresh one-shot wallet), `mixer-deposit` (a
    /// pool deposit of a fresh note; the notes are backed up first), `mixed` (those four in
    /// rotation) or `weights` (transfers and wraps while the validator loop sets weights
    /// from its own funded child wallet: the report adds the interval's drift and the
    /// EvmValidator's bounty balance over time; fails if the loop manages no round).
    #[arg(long, default_value = "transfer", value_parser = parse_scenario)]
    pub scenario: Scenario,
    /// At most this many transactions (calls under `calls`) [default: 1000; with
    /// --duration: as many as fit].
    #[arg(long, value_name = "N")]
    pub transactions: Option<u64>,
    /// Workers sending at once; under a transaction scenario also the number of child
    /// wallets, funded from the signer.
    #[arg(long, value_name = "C", default_value_t = 10)]
    pub concurrent: usize,
    /// Stop sending after this long (`30`, `30s`, `2m`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// At most this many sends per second, all workers together.
    #[arg(long, value_name = "PER_SEC")]
    pub rate: Option<f64>,
    /// Hard bound on sending (funding and the wait for inclusion add at most
    /// --inclusion-timeout each).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub time_limit: Duration,
    /// How long to wait for inclusion after the last send.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub inclusion_timeout: Duration,
    /// Per child wallet, at most this many transactions sent and not yet in a block.
    /// Nonces always reach the node in order; 1 (wait for each inclusion) is what a chain
    /// that mines on arrival needs (anvil's automine leaves later nonces pending when a
    /// sender runs ahead of its blocks). A sender whose window stays full for
    /// --inclusion-timeout stops, and the run fails.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub window: u64,
    /// WTAO for `wrap`, `mixer-deposit`, `mixed` and `weights` [default: the network's, from config or
    /// deployments/<network>.json].
    #[arg(long, value_name = "ADDRESS")]
    pub wtao: Option<Address>,
    /// The DepositTracker for `associate` [default: the network's].
    #[arg(long, value_name = "ADDRESS")]
    pub tracker: Option<Address>,
    /// The pool `mixer-deposit` deposits into, by its amount (`0.1`, `1`, …) [default:
    /// the network's smallest].
    #[arg(long, value_name = "AMOUNT")]
    pub pool: Option<String>,
    /// The file the deposit notes are appended to before the first deposit (0600)
    /// [default: ~/.taonado/notes/<network>-loadtest.txt].
    #[arg(long, value_name = "FILE")]
    pub notes: Option<PathBuf>,
    /// Fund each child for at most this many transactions at a time; the funder tops it up
    /// during the run when it runs low.
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub fund_ahead: u64,
    /// EvmValidator for `--scenario weights` [default: the network's, from config or
    /// deployments/<network>.json].
    #[arg(long, value_name = "ADDRESS")]
    pub evm_validator: Option<Address>,
    /// `--scenario weights`: the hotkey (SS58) the validator loop names in setWeights, so
    /// its uid gets the contract's boost [default: none].
    #[arg(long, value_name = "SS58")]
    pub boost_hotkey: Option<Hotkey>,
    /// `--scenario weights`: how often the validator loop looks at the chain while it
    /// waits for the interval, and the EvmValidator's balance is sampled.
    #[arg(long, value_name = "DURATION", default_value = "100ms", value_parser = parse_duration)]
    pub validator_poll: Duration,
    /// Directory of deployment records (`<network>.json`).
    #[arg(long, value_name = "DIR", default_value = "deployments")]
    pub deployments_dir: PathBuf,
    /// Also write the report as markdown to FILE.md and as HTML with plots (latency over
    /// time, transactions per block and per second) beside it (FILE.html).
    #[arg(long, value_name = "FILE.md")]
    pub report: Option<PathBuf>,
    /// Print the plan and the estimated spend; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Run against a live chain other than mainnet (testnet) without asking: otherwise the
    /// plan and its estimated spend are shown and confirmation is asked on a terminal.
    #[arg(long)]
    pub yes: bool,
    /// Run transactions against mainnet (chain 964), which spends real TAO on fees.
    #[arg(long)]
    pub i_understand_this_costs_tao: bool,
    #[command(flatten)]
    pub signer: SignerOpts,
}

fn parse_scenario(s: &str) -> Result<Scenario, String> {
    s.parse()
}

/// Seconds (`30`, `1.5`), or with a unit: `500ms`, `30s`, `2m`, `1h`.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (e.g. 30s, 2m)"))?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1e3,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (ms, s, m, h)")),
    };
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("`{s}` is not a positive duration"))
}

fn loadtest_error(error: LoadTestError) -> CliError {
    if error.is_usage() {
        CliError::usage(error)
    } else {
        CliError::failed(error)
    }
}

/// What `--dry-run` prints, and what a refusal is based on.
#[derive(Debug, Serialize)]
pub struct PlanView {
    pub network: String,
    pub chain_id: u64,
    pub dev_chain: bool,
    pub rpc_url: String,
    pub scenario: String,
    pub transactions: u64,
    pub concurrent: usize,
    pub duration_secs: Option<f64>,
    pub rate: Option<f64>,
    pub funder: Address,
    /// Fees at most, at twice the node's gas price (`None` for `calls`).
    pub estimated_spend_wei: Option<String>,
    pub estimated_spend_tao: Option<String>,
    /// WTAO deposited into a mixer pool (withdrawable with the backed-up notes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deposited_tao: Option<String>,
    /// TAO the validator loop's wallet holds under `weights` (refunded round by round).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_capital_tao: Option<String>,
}

impl Report for PlanView {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "plan: {} × {} on {} (chain {}, {}) with {} workers",
            self.transactions,
            self.scenario,
            self.network,
            self.chain_id,
            self.rpc_url,
            self.concurrent
        )?;
        if let Some(d) = self.duration_secs {
            writeln!(out, "  for at most {d} s")?;
        }
        if let Some(r) = self.rate {
            writeln!(out, "  at most {r} per second")?;
        }
        writeln!(out, "  funder {}", self.funder)?;
        self.render_spend(out)?;
        writeln!(out, "dry run: nothing sent")
    }
}

impl PlanView {
    fn render_spend(&self, out: &mut dyn Write) -> std::io::Result<()> {
        if let Some(tao) = &self.estimated_spend_tao {
            writeln!(out, "  estimated spend: at most {tao} TAO in fees")?;
        }
        if let Some(tao) = &self.working_capital_tao {
            writeln!(
                out,
                "  working capital: {tao} TAO in the validator loop's wallet (each round is refunded its gas)"
            )?;
        }
        if let Some(tao) = &self.deposited_tao {
            writeln!(
                out,
                "  deposited: {tao} WTAO into the mixer pool (withdrawable with the notes the run backs up)"
            )?;
        }
        Ok(())
    }
}

/// The final report.
#[derive(Serialize)]
#[serde(transparent)]
pub struct LoadView(LoadReport);

fn ms(p: &Option<taonado_loadtest::Percentiles>) -> [String; 4] {
    match p {
        Some(p) => [p.p50_ms, p.p95_ms, p.p99_ms, p.max_ms].map(|v| format!("{v:.2}")),
        None => std::array::from_fn(|_| "-".to_owned()),
    }
}

impl Report for LoadView {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let r = &self.0;
        let unit = if r.scenario == "calls" { "calls" } else { "tx" };
        writeln!(
            out,
            "loadtest {}: {} sent, {} included ({} reverted), {} failed, {} in flight in {:.2} s: {:.1} {unit}/s ({} workers, chain {})",
            r.scenario,
            r.sent,
            r.included,
            r.reverted,
            r.failed,
            r.in_flight,
            r.elapsed_secs,
            r.per_sec,
            r.concurrency,
            r.chain_id
        )?;
        let mut latency = table(&["latency (ms)", "count", "p50", "p95", "p99", "max"]);
        let mut row = |name: &str, p: &Option<taonado_loadtest::Percentiles>| {
            let count = p.as_ref().map_or(0, |p| p.count).to_string();
            let [p50, p95, p99, max] = ms(p);
            latency.add_row(vec![name.to_owned(), count, p50, p95, p99, max]);
        };
        if r.methods.is_empty() {
            row("submission", &r.submission);
            row("inclusion", &r.inclusion);
        } else {
            for m in &r.methods {
                row(&m.method, &m.latency);
            }
            row("all calls", &r.submission);
        }
        writeln!(out, "{latency}")?;
        if let Some(b) = &r.blocks {
            writeln!(
                out,
                "blocks: {} with our transactions, gas/block mean {:.0}, max {}; txs/block max {}",
                b.blocks, b.gas_per_block_mean, b.gas_per_block_max, b.txs_per_block_max
            )?;
        }
        if let Some(w) = &r.wallets {
            writeln!(
                out,
                "wallets: {} children ({} wallets topped up with {} TAO), {} nonce resyncs, {} nonce gaps",
                w.children,
                w.funded,
                w.funding_wei
                    .parse::<U256>()
                    .map_or_else(|_| w.funding_wei.clone(), format_tao),
                w.resyncs,
                w.nonce_gaps
            )?;
            if w.one_shot_wallets + w.topped_up_during_run + w.wtao_refills > 0 {
                writeln!(
                    out,
                    "more wallets: {} one-shot (one association each; {} swept back to the funder, {} left holding funds), {} top-ups and {} WTAO refills during the run",
                    w.one_shot_wallets,
                    w.one_shot_swept,
                    w.one_shot_left,
                    w.topped_up_during_run,
                    w.wtao_refills
                )?;
            }
            if w.leftover_nonces_cleared + w.dropped + w.replaced > 0 {
                writeln!(
                    out,
                    "stuck: {} nonces left by an earlier run cleared, {} dropped and resent, {} replaced at a bumped fee",
                    w.leftover_nonces_cleared, w.dropped, w.replaced
                )?;
            }
        }
        if let Some(notes) = &r.notes {
            writeln!(
                out,
                "notes: {} deposited with notes backed up to {} (withdraw with `taonado mixer withdraw`){}",
                notes.deposited,
                notes.path,
                if notes.notes > notes.deposited {
                    format!(
                        "; {} more notes there were never deposited (the run ended first)",
                        notes.notes - notes.deposited
                    )
                } else {
                    String::new()
                }
            )?;
        }
        if let Some(w) = &r.weights {
            render_weights(out, w)?;
        }
        for (reason, count) in &r.errors {
            writeln!(out, "error ×{count}: {reason}")?;
        }
        if r.interrupted {
            writeln!(out, "interrupted: the counts are partial")?;
        }
        Ok(())
    }
}

/// The live progress bar on stderr (hidden under `--json` and `-q`).
struct Bar(ProgressBar);

impl Bar {
    fn new(visible: bool, total: u64) -> Self {
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(total), target);
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} {elapsed:>4} [{bar:30}] {pos}/{len} {per_sec} {msg}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(Duration::from_millis(120));
        Self(bar)
    }
}

impl Progress for Bar {
    fn phase(&self, phase: &str) {
        self.0.set_message(phase.to_owned());
        self.0.reset_elapsed();
        self.0.set_position(0);
    }

    fn update(&self, s: Snapshot) {
        self.0.set_position(s.included + s.failed);
        self.0.set_message(format!(
            "sent {} included {} failed {}",
            s.sent, s.included, s.failed
        ));
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

impl LoadtestArgs {
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        let config = context.config()?;
        let network = context.network(&config, true)?;
        let transactions = match (self.transactions, self.duration) {
            (Some(n), _) => n,
            (None, None) => 1000,
            (None, Some(_)) if self.scenario.sends_transactions() => DURATION_TXS_CAP,
            (None, Some(_)) => DURATION_CALLS_CAP,
        };
        let funder = match self.signer.signer_or_dev_account(context, &network) {
            Ok(signer) => signer,
            // Calls only read: any address does.
            Err(_) if !self.scenario.sends_transactions() => crate::signer::dev_account_signer(0)?,
            Err(error) => return Err(error),
        };
        let needs_deployment = self.scenario.needs_wtao()
            || self.scenario.needs_tracker()
            || self.scenario.needs_pool()
            || self.scenario == Scenario::Weights;
        let deployment = if needs_deployment {
            Some(network.deployment(&self.deployments_dir)?)
        } else {
            None
        };
        let addresses = deployment.as_ref().map(|d| &d.addresses);
        let wtao = self
            .wtao
            .or_else(|| addresses.and_then(|a| a.wtao))
            .filter(|_| self.scenario.needs_wtao());
        let deposit_tracker = self
            .tracker
            .or_else(|| addresses.and_then(|a| a.deposit_tracker))
            .filter(|_| self.scenario.needs_tracker());
        let pool = match addresses.filter(|_| self.scenario.needs_pool()) {
            Some(addresses) => Some(pick_pool(addresses, self.pool.as_deref())?),
            None => None,
        };
        let notes = match (&self.notes, self.scenario.needs_pool()) {
            (Some(path), _) => Some(path.clone()),
            (None, true) => Some(crate::context::home_subdir(
                context.home.as_deref(),
                &["notes", &format!("{}-loadtest.txt", network.name)],
            )?),
            (None, false) => None,
        };
        let weights = if self.scenario == Scenario::Weights {
            // The deployment record read above, not a second read.
            let validator = self
                .evm_validator
                .or_else(|| addresses.and_then(|a| a.evm_validator))
                .ok_or_else(|| {
                    CliError::usage(anyhow::anyhow!(
                        "network {} has no EvmValidator: run `taonado deploy` or pass --evm-validator ADDRESS",
                        network.name
                    ))
                })?;
            Some(WeightsPlan {
                validator,
                boost_hotkey: self.boost_hotkey,
                poll: self.validator_poll,
            })
        } else {
            None
        };
        let plan = Plan {
            rpc_url: network.rpc_url.to_string(),
            chain_id: network.chain_id,
            scenario: self.scenario,
            transactions,
            concurrency: self.concurrent,
            duration: self.duration,
            rate: self.rate,
            time_limit: self.time_limit,
            inclusion_timeout: self.inclusion_timeout,
            request_timeout: Duration::from_secs(30),
            funder,
            wtao,
            deposit_tracker,
            pool,
            notes,
            fund_ahead: self.fund_ahead,
            window: self.window,
            weights,
        };
        plan.validate().map_err(loadtest_error)?;
        // Checks the endpoint's chain id against the network's.
        let provider = taonado_client::connect(&network, &config).await?;
        let estimate = if self.scenario.sends_transactions() {
            let price = provider
                .get_gas_price()
                .await
                .map_err(|e| CliError::failed(anyhow::anyhow!("eth_gasPrice failed: {e}")))?;
            Some(LoadTest::estimated_spend(&plan, price.saturating_mul(2)))
        } else {
            None
        };
        let view = PlanView {
            network: network.name.clone(),
            chain_id: network.chain_id,
            dev_chain: network.dev_chain,
            rpc_url: taonado_client::endpoint_label(&network.rpc_url),
            scenario: self.scenario.name().to_owned(),
            transactions,
            concurrent: self.concurrent,
            duration_secs: self.duration.map(|d| d.as_secs_f64()),
            rate: self.rate,
            funder: plan.funder.address(),
            estimated_spend_wei: estimate.map(|s| s.fees.to_string()),
            estimated_spend_tao: estimate.map(|s| format_tao(s.fees)),
            deposited_tao: estimate
                .filter(|s| !s.deposited.is_zero())
                .map(|s| format_tao(s.deposited)),
            working_capital_tao: estimate
                .filter(|s| !s.working_capital.is_zero())
                .map(|s| format_tao(s.working_capital)),
        };
        if self.dry_run {
            return context.output.report(&view);
        }
        let confirmed_here = !view.dev_chain
            && !self.yes
            && view.chain_id != MAINNET_CHAIN_ID
            && confirm_on_terminal(&view)?;
        refuse_live_chain(
            &view,
            self.yes || confirmed_here,
            self.i_understand_this_costs_tao,
        )?;

        let shutdown = crate::shutdown::StopSignals::install()?.into_watch();
        let _registration = context.register_run("loadtest", Some(&network.name));
        let visible = !context.output.is_json() && !context.global.quiet;
        let bar = Arc::new(Bar::new(visible, transactions));
        let mut report = LoadTest::run(plan, shutdown, bar.clone())
            .await
            .map_err(loadtest_error)?;
        // A live endpoint's URL may carry an API key: reports name it by its label.
        report.rpc_url = view.rpc_url.clone();
        drop(bar);
        if let Some(path) = &self.report {
            write_report(path, &report.to_document())?;
        }
        let succeeded =
            report.succeeded() && report.wallets.as_ref().is_none_or(|w| w.nonce_gaps == 0);
        let view = LoadView(report);
        if succeeded {
            context.output.report(&view)
        } else {
            let r = &view.0;
            let no_round = r.weights.as_ref().is_some_and(|w| !w.managed_a_round());
            let error = anyhow::anyhow!(
                "the load test did not fully succeed: {} failed, {} reverted, {} in flight{}{}",
                r.failed,
                r.reverted,
                r.in_flight,
                if r.interrupted { ", interrupted" } else { "" },
                if no_round {
                    ", the validator loop managed no round"
                } else {
                    ""
                }
            );
            Err(context.output.report_failed(&view, error))
        }
    }
}

/// `--scenario weights`: the interval's drift, the loop, the bounty balance, each set.
fn render_weights(out: &mut dyn Write, w: &WeightsReport) -> std::io::Result<()> {
    writeln!(out, "weight setting under load:")?;
    for (what, value) in w.summary() {
        writeln!(out, "  {what}: {value}")?;
    }
    let mut sets = table(&WeightsReport::SET_COLUMNS);
    for row in w.set_rows() {
        sets.add_row(row);
    }
    writeln!(out, "{sets}")?;
    for (reason, count) in &w.validator_loop.failed {
        writeln!(out, "loop failure ×{count}: {reason}")?;
    }
    for note in &w.notes {
        writeln!(out, "note: {note}")?;
    }
    Ok(())
}

/// `doc` as markdown to `path` and as HTML beside it (same name, `.html`).
pub(crate) fn write_report(
    path: &std::path::Path,
    doc: &taonado_report::Document,
) -> Result<(), CliError> {
    let html = path.with_extension("html");
    for (file, text) in [(path, doc.to_markdown()), (html.as_path(), doc.to_html())] {
        std::fs::write(file, text).map_err(|e| {
            CliError::failed(anyhow::Error::new(e).context(format!("writing {}", file.display())))
        })?;
    }
    Ok(())
}

/// The pool of `amount` in the deployment, or its smallest.
fn pick_pool(
    addresses: &taonado_deployment::ProtocolAddresses,
    amount: Option<&str>,
) -> Result<PoolTarget, CliError> {
    let pools = addresses
        .pools_by_denomination()
        .map_err(|e| CliError::usage(anyhow::Error::new(e).context("reading the pools")))?;
    let available = || {
        let names: Vec<String> = pools.iter().map(|(d, _)| format_tao(*d)).collect();
        if names.is_empty() {
            "none: deploy the mixer first".to_owned()
        } else {
            names.join(", ")
        }
    };
    let chosen = match amount {
        None => pools.first().copied(),
        Some(amount) => {
            let wanted = taonado_types::parse_tao(amount).map_err(|_| {
                CliError::usage(anyhow::anyhow!(
                    "--pool {amount} is not an amount of WTAO (pools: {})",
                    available()
                ))
            })?;
            pools.iter().copied().find(|(d, _)| *d == wanted)
        }
    };
    let (denomination, address) = chosen.ok_or_else(|| {
        CliError::usage(anyhow::anyhow!(
            "no mixer pool{} on this network (pools: {})",
            amount.map_or_else(String::new, |a| format!(" of {a} WTAO")),
            available()
        ))
    })?;
    Ok(PoolTarget {
        address,
        denomination,
        amount: format_tao(denomination),
    })
}

/// On a terminal, shows the plan and its estimated spend on stderr and asks; true when the
/// operator answers yes. Without a terminal it asks nothing (false: `--yes` is needed).
fn confirm_on_terminal(plan: &PlanView) -> Result<bool, CliError> {
    use std::io::{BufRead, IsTerminal};
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    let mut err = std::io::stderr().lock();
    let asked = (|| {
        writeln!(
            err,
            "{} (chain {}) is a live chain: {} × {} with {} workers from {}",
            plan.network,
            plan.chain_id,
            plan.transactions,
            plan.scenario,
            plan.concurrent,
            plan.funder
        )?;
        plan.render_spend(&mut err)?;
        write!(err, "Run the load test there? [y/N] ")?;
        err.flush()
    })();
    asked
        .map_err(|e| CliError::failed(anyhow::Error::new(e).context("asking for confirmation")))?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::failed(anyhow::Error::new(e).context("reading the answer")))?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(true)
    } else {
        Err(CliError::failed(anyhow::anyhow!(
            "not confirmed: nothing was sent"
        )))
    }
}

/// Mainnet needs the flag that names the cost; other live chains need `--yes`.
pub(crate) fn refuse_live_chain(
    plan: &PlanView,
    yes: bool,
    costs_tao: bool,
) -> Result<(), CliError> {
    let spend = plan
        .estimated_spend_tao
        .as_deref()
        .map_or_else(String::new, |tao| {
            format!(" (estimated spend: up to {tao} TAO in fees)")
        });
    let sends = plan.estimated_spend_wei.is_some();
    if plan.chain_id == MAINNET_CHAIN_ID && sends && !costs_tao {
        return Err(CliError::usage(anyhow::anyhow!(
            "refusing to load-test mainnet (chain {MAINNET_CHAIN_ID}){spend}: this spends real TAO; pass --i-understand-this-costs-tao, or --dry-run to see the plan"
        )));
    }
    let confirmed = yes || (plan.chain_id == MAINNET_CHAIN_ID && costs_tao);
    if !plan.dev_chain && !confirmed {
        return Err(CliError::usage(anyhow::anyhow!(
            "{} (chain {}) is a live chain{spend}: pass --yes to run the load test there, or --dry-run to see the plan",
            plan.network,
            plan.chain_id
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(chain_id: u64, dev_chain: bool, sends: bool) -> PlanView {
        PlanView {
            network: "n".into(),
            chain_id,
            dev_chain,
            rpc_url: "http://x".into(),
            scenario: "transfer".into(),
            transactions: 10,
            concurrent: 2,
            duration_secs: None,
            rate: None,
            funder: Address::ZERO,
            estimated_spend_wei: sends.then(|| "1".into()),
            estimated_spend_tao: sends.then(|| "0.000000000000000001".into()),
            deposited_tao: None,
            working_capital_tao: None,
        }
    }

    #[test]
    fn mainnet_needs_the_flag_that_names_the_cost() {
        let mainnet = plan(964, false, true);
        let refused = refuse_live_chain(&mainnet, true, false).unwrap_err();
        assert_eq!(refused.exit_code(), 2);
        assert!(refused.message().contains("--i-understand-this-costs-tao"));
        assert!(refused.message().contains("estimated spend"));
        assert!(refuse_live_chain(&mainnet, false, true).is_ok());
    }

    #[test]
    fn testnet_needs_yes_and_dev_chains_nothing() {
        let testnet = plan(945, false, true);
        assert_eq!(
            refuse_live_chain(&testnet, false, false)
                .unwrap_err()
                .exit_code(),
            2
        );
        assert!(refuse_live_chain(&testnet, true, false).is_ok());
        assert!(refuse_live_chain(&plan(42, true, true), false, false).is_ok());
        // Read-only load on mainnet costs nothing, but it is still a live endpoint.
        assert!(refuse_live_chain(&plan(964, false, false), false, false).is_err());
        assert!(refuse_live_chain(&plan(964, false, false), true, false).is_ok());
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("3 days").is_err());
        assert!(parse_duration("-1").is_err());
    }
}
