//! Reports printed by more than one command: a deployment (`deploy`, `up`) and a listening
//! dev chain (`devnet`, `up`).

use std::io::Write;
use std::path::PathBuf;

use alloy::primitives::{Address, B256};
use serde::Serialize;
use taonado_devnet::DevnetHandle;
use taonado_ops::DeploymentRecord;

use crate::output::Report;
use crate::progress::StepCounts;

/// What `taonado deploy` prints.
#[derive(Serialize)]
pub struct DeployReport {
    pub network: String,
    pub chain_id: u64,
    pub netuid: u16,
    pub deployer: Address,
    pub record_path: PathBuf,
    /// Steps that sent something in this run (0 when everything was already in place).
    pub sent: usize,
    /// Steps found already in place.
    pub skipped: usize,
    pub verifier_family: Option<String>,
    pub verifier_key_setup: Option<String>,
    pub contracts: Vec<ContractRow>,
    /// The full `deployments/<network>.json` record, as written.
    pub record: DeploymentRecord,
}

#[derive(Serialize)]
pub struct ContractRow {
    pub name: String,
    pub address: Address,
    pub artifact: String,
    pub tx_hash: Option<B256>,
}

impl DeployReport {
    pub fn new(record: &DeploymentRecord, record_path: PathBuf, counts: StepCounts) -> Self {
        let mut contracts: Vec<ContractRow> = record
            .contracts
            .iter()
            .map(|(name, c)| ContractRow {
                name: name.clone(),
                address: c.address,
                artifact: c.artifact.clone(),
                tx_hash: c.tx_hash,
            })
            .collect();
        contracts.extend(record.pools.iter().map(|p| ContractRow {
            name: format!("Pool {} WTAO", taonado_types::format_tao(p.denomination)),
            address: p.contract.address,
            artifact: p.contract.artifact.clone(),
            tx_hash: p.contract.tx_hash,
        }));
        Self {
            network: record.network.clone(),
            chain_id: record.chain_id,
            netuid: record.netuid,
            deployer: record.deployer,
            record_path,
            sent: counts.sent,
            skipped: counts.skipped,
            verifier_family: record.verifier.as_ref().map(|v| v.family.clone()),
            verifier_key_setup: record.verifier.as_ref().map(|v| v.key_setup.clone()),
            contracts,
            record: record.clone(),
        }
    }

    pub fn render_contracts(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut table = crate::output::table(&["contract", "address", "artifact"]);
        for c in &self.contracts {
            table.add_row(vec![
                c.name.clone(),
                c.address.to_string(),
                c.artifact.clone(),
            ]);
        }
        writeln!(out, "{table}")
    }
}

impl Report for DeployReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "network {} (chain {}, netuid {}), deployer {}",
            self.network, self.chain_id, self.netuid, self.deployer
        )?;
        self.render_contracts(out)?;
        if let (Some(family), Some(setup)) = (&self.verifier_family, &self.verifier_key_setup) {
            writeln!(out, "verifier: {family} family, key setup {setup}")?;
        }
        let what = if self.sent == 0 {
            "nothing to do: everything was already deployed".to_owned()
        } else {
            format!(
                "{} step(s) sent, {} already in place",
                self.sent, self.skipped
            )
        };
        writeln!(out, "{what}; record: {}", self.record_path.display())
    }
}

/// What `taonado devnet` prints once it is listening (anvil prints the same facts). The
/// keys are the public, well-known dev keys: printing them is the point.
#[derive(Serialize)]
pub struct ReadyReport {
    pub rpc_url: String,
    pub chain_id: u64,
    pub accounts: Vec<DevAccountRow>,
    pub state_dir: Option<PathBuf>,
}

#[derive(Serialize)]
pub struct DevAccountRow {
    pub address: Address,
    pub private_key: B256,
}

impl ReadyReport {
    pub fn new(handle: &DevnetHandle, state_dir: Option<PathBuf>) -> Self {
        Self {
            rpc_url: handle.rpc_url(),
            chain_id: handle.chain_id(),
            accounts: handle
                .dev_accounts()
                .iter()
                .map(|a| DevAccountRow {
                    address: a.address,
                    private_key: a.private_key,
                })
                .collect(),
            state_dir,
        }
    }

    /// The account list in anvil's layout.
    pub fn render_accounts(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "Available accounts (public dev keys: never use them on a real network)"
        )?;
        for (i, a) in self.accounts.iter().enumerate() {
            writeln!(out, "({i}) {}", a.address)?;
        }
        writeln!(out)?;
        writeln!(out, "Private keys")?;
        for (i, a) in self.accounts.iter().enumerate() {
            writeln!(out, "({i}) {}", a.private_key)?;
        }
        writeln!(out)
    }
}

impl Report for ReadyReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        self.render_accounts(out)?;
        writeln!(out, "Chain id: {}", self.chain_id)?;
        if let Some(dir) = &self.state_dir {
            writeln!(out, "State:    {}", dir.display())?;
        }
        writeln!(out, "Listening on {}", self.rpc_url)?;
        writeln!(out, "Press Ctrl-C to stop.")
    }
}
