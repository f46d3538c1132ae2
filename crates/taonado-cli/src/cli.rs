//! The argument tree: `Cli` = global flags + one command. Each command's arguments live
//! next to its code in `cmd/`.

use clap::{Parser, Subcommand};

use crate::cmd;
use crate::context::{Context, GlobalArgs};
use crate::error::CliError;

/// Taonado (Bittensor subnet 113): dev chain, deployment and operations in one binary.
#[derive(Parser)]
#[command(name = "taonado", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the embedded Bittensor-EVM dev chain (JSON-RPC, subtensor precompiles, dev accounts).
    Devnet(cmd::devnet::DevnetArgs),
    /// Deploy the protocol to a network (idempotent, resumable; recorded in deployments/<network>.json).
    Deploy(Box<cmd::deploy::DeployArgs>),
    /// Dev chain + deployment + live mining simulation, in one process.
    Up(cmd::up::UpArgs),
    /// Gas used per contract function, from the receipts of a block range.
    GasReport(cmd::gas::GasReportArgs),
    /// The privacy mixer: deposit, withdraw, stats, sync, compliance disclosure and note
    /// inspection.
    #[command(subcommand)]
    Mixer(cmd::mixer::MixerCommand),
    /// List the configured networks.
    Networks(cmd::networks::NetworksArgs),
    /// EvmValidator UUPS upgrade: layout check, dry run, rehearsal on a fork, execute, verify.
    #[command(subcommand)]
    Upgrade(cmd::upgrade::UpgradeCommand),
    /// Migrate the EvmValidator to a new weights contract, and verify the migration.
    #[command(subcommand)]
    Migrate(cmd::migrate::MigrateCommand),
    /// Owner-only settings of the EvmValidator and the Weights contracts: bounty, interval,
    /// boost, version key, weights contract, deposit goal, rescue of the funds.
    #[command(subcommand)]
    Admin(cmd::admin::AdminCommand),
    /// Inspect the resolved configuration.
    #[command(subcommand)]
    Config(cmd::config::ConfigCommand),
    /// Convert an account between SS58, public key hex and EVM address (mirror).
    Address(cmd::address::AddressArgs),
    /// EVM keys in Foundry-compatible encrypted keystores.
    #[command(subcommand)]
    Wallet(cmd::wallet::WalletCommand),
    /// Key administration: `keys list`, `keys audit` (file modes, plaintext secrets, age, KDF).
    #[command(subcommand)]
    Keys(cmd::keys::KeysCommand),
    /// A Safe multisig that owns the protocol: setup, take-ownership, propose, sign, execute.
    #[command(subcommand)]
    Multisig(cmd::multisig::MultisigCommand),
    /// Fund recovery: prove control of a hotkey (challenge, sr25519 signature), see what is
    /// tied to it and the steps open to its owner.
    #[command(subcommand)]
    Recovery(cmd::recovery::RecoveryCommand),
    /// Wrap, unwrap, check and transfer WTAO; send native TAO to SS58 accounts.
    #[command(subcommand)]
    Wtao(cmd::wtao::WtaoCommand),
    /// Mining: wrap TAO and associate a hotkey, or show a miner's status.
    #[command(subcommand)]
    Miner(cmd::miner::MinerCommand),
    /// Set the subnet's weights through the EvmValidator (once or in a loop).
    #[command(subcommand)]
    Validator(cmd::validator::ValidatorCommand),
    /// The weights the EvmValidator reads (WeightsV3, or V4 after a migration): on chain next
    /// to an off-chain recomputation.
    #[command(subcommand)]
    Weights(cmd::weights::WeightsCommand),
    /// Withdraw-circuit keys: phase-2 ceremony, key provenance.
    #[command(subcommand)]
    Zk(cmd::zk::ZkCommand),
    /// Submit the deployed contracts' sources to the explorer (Etherscan/Blockscout API); `verify report` renders the result.
    Verify(cmd::verify::VerifyArgs),
    /// Network connectivity: `net check`.
    #[command(subcommand)]
    Net(cmd::net::NetCommand),
    /// Follow the chain into the local database (blocks, transactions, events, snapshots).
    Index(cmd::index::IndexArgs),
    /// Index the chain, evaluate alert rules, deliver notifications, serve the dashboard and /metrics.
    Monitor(cmd::monitor::MonitorArgs),
    /// Load against a chain: read-only calls or real transactions from funded child
    /// wallets; throughput, latency percentiles, gas per block.
    Loadtest(Box<cmd::loadtest::LoadtestArgs>),
    /// Each stage of the protocol's flows timed on its own (RPC, gas, fees, nonces, event
    /// sync, Merkle tree, proof, inclusion, indexer writes), ranked with advice.
    Bottleneck(Box<cmd::bottleneck::BottleneckArgs>),
    /// Alerts: `alerts test` through the configured channels, `alerts list` firing and recent.
    #[command(subcommand)]
    Alerts(cmd::alerts::AlertsCommand),
    /// Compliance: transaction monitoring (`compliance monitor`), the mixer heuristics'
    /// flags in a monthly report (`compliance report`), and the retention policy and purge
    /// (`compliance retention`, `compliance purge`).
    #[command(subcommand)]
    Compliance(cmd::compliance::ComplianceCommand),
    /// Incidents with P0–P3 response targets: open, list, show, assess, notify, mitigate,
    /// ack, resolve, report, postmortem.
    #[command(subcommand)]
    Incident(cmd::incident::IncidentCommand),
    /// One-shot health check for cron: network, contracts, gas, patterns (exit 0 healthy, 1 not).
    Health(cmd::health::HealthArgs),
    /// The relayer for private withdrawals: an HTTP API that sends withdrawals for a fee, so
    /// the recipient needs no TAO for gas.
    Relayer(Box<cmd::relayer::RelayerArgs>),
    /// The Grafana dashboard for the monitor's metrics: `dashboard export`.
    #[command(subcommand)]
    Dashboard(cmd::dashboard::DashboardCommand),
    /// Backup sets (config, deployment records, database, contract state): create, verify,
    /// list, restore, prune, schedule.
    #[command(subcommand)]
    Backup(cmd::backup::BackupCommand),
    /// Recover from the backup set of a date (everything, or one --component).
    Recover(cmd::backup::RecoverArgs),
    /// Recovery drill on a throwaway dev chain: break, recover, measure RTO and RPO.
    Drill(cmd::drill::DrillArgs),
    /// Database maintenance: cleanup, compact, backup, check, migrate.
    #[command(subcommand)]
    Db(cmd::db::DbCommand),
    /// Critical issues: `emergency stop` (every registered taonado process), `assess`,
    /// `notify`.
    #[command(subcommand)]
    Emergency(cmd::emergency::EmergencyCommand),
    /// Audits: `audit package` (sources, artifacts, deployed code hashes, dependencies,
    /// known defects, SHA-256 manifest).
    #[command(subcommand)]
    Audit(cmd::audit::AuditCommand),
    /// Reports from the monitor's database: daily, weekly, monthly, gas, mining, ops
    /// (markdown, HTML with SVG plots, or --json).
    #[command(subcommand)]
    Report(cmd::report::ReportCommand),
}

impl Command {
    /// Runs the command: each arm is one module's entry point.
    pub async fn run(self, context: &Context) -> Result<(), CliError> {
        match self {
            Command::Devnet(args) => args.run(context).await,
            Command::Deploy(args) => args.run(context).await,
            Command::Up(args) => args.run(context).await,
            Command::GasReport(args) => args.run(context).await,
            Command::Mixer(command) => command.run(context).await,
            Command::Networks(args) => args.run(context),
            Command::Config(command) => command.run(context),
            Command::Upgrade(command) => command.run(context).await,
            Command::Admin(command) => command.run(context).await,
            Command::Migrate(command) => command.run(context).await,
            Command::Address(args) => args.run(context),
            Command::Wallet(command) => command.run(context),
            Command::Wtao(command) => command.run(context).await,
            Command::Zk(command) => command.run(context),
            Command::Miner(command) => command.run(context).await,
            Command::Validator(command) => command.run(context).await,
            Command::Weights(command) => command.run(context).await,
            Command::Verify(args) => args.run(context).await,
            Command::Net(command) => command.run(context).await,
            Command::Index(args) => args.run(context).await,
            Command::Monitor(args) => args.run(context).await,
            Command::Alerts(command) => command.run(context).await,
            Command::Compliance(command) => command.run(context),
            Command::Incident(command) => command.run(context).await,
            Command::Health(args) => args.run(context).await,
            Command::Dashboard(command) => command.run(context),
            Command::Backup(command) => command.run(context).await,
            Command::Recover(args) => args.run(context).await,
            Command::Drill(args) => args.run(context).await,
            Command::Db(command) => command.run(context),
            Command::Relayer(args) => args.run(context).await,
            Command::Keys(command) => command.run(context).await,
            Command::Multisig(command) => command.run(context).await,
            Command::Recovery(command) => command.run(context).await,
            Command::Loadtest(args) => args.run(context).await,
            Command::Emergency(command) => command.run(context).await,
            Command::Audit(command) => command.run(context).await,
            Command::Report(command) => command.run(context).await,
            Command::Bottleneck(args) => args.run(context).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn argument_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    /// Every argument of `command` and its subcommands, as `path --flag`, with the command.
    fn walk(command: &clap::Command, path: &str, out: &mut Vec<(String, clap::Arg)>) {
        for arg in command.get_arguments() {
            out.push((format!("{path} --{}", arg.get_id()), arg.clone()));
        }
        for sub in command.get_subcommands() {
            walk(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }

    #[test]
    fn no_help_text_states_a_default_clap_already_shows() {
        let mut args = Vec::new();
        walk(&Cli::command(), "taonado", &mut args);
        let doubled: Vec<String> = args
            .iter()
            .filter(|(_, arg)| {
                !arg.get_default_values().is_empty()
                    && !arg.is_hide_default_value_set()
                    && [arg.get_help(), arg.get_long_help()]
                        .into_iter()
                        .flatten()
                        .any(|help| help.to_string().contains("[default:"))
            })
            .map(|(path, _)| path.clone())
            .collect();
        assert!(doubled.is_empty(), "{doubled:?}");
    }

    #[test]
    fn the_mixer_summary_names_every_subcommand() {
        let cli = Cli::command();
        let mixer = cli.find_subcommand("mixer").expect("mixer");
        let about = mixer.get_about().expect("an about").to_string();
        for sub in mixer.get_subcommands() {
            let name = sub.get_name();
            let word = if name == "inspect" {
                "inspection"
            } else {
                name
            };
            assert!(about.contains(word), "{about:?} does not name {name}");
        }
    }
}
