//! `taonado mixer …`: the privacy mixer. `inspect` checks a note offline, without spending
//! it; the deposit/withdraw flows come with the mixer issue.

use std::io::{Read, Write};

use clap::{Args, Subcommand};
use serde::Serialize;
use taonado_zk::{Note, fr_to_b256};

use crate::context::Context;
use crate::error::CliError;
use crate::output::Report;

#[derive(Subcommand)]
pub enum MixerCommand {
    /// Show a note's pool, chain, commitment and nullifier hash (no network, nothing spent).
    Inspect(InspectArgs),
}

impl MixerCommand {
    pub fn run(self, context: &Context) -> Result<(), CliError> {
        match self {
            Self::Inspect(args) => args.run(context),
        }
    }
}

#[derive(Args)]
pub struct InspectArgs {
    /// The note (`taonado-<currency>-<amount>-<chainId>-0x…`), or `-` to read it from stdin,
    /// which keeps it out of shell history and the process list.
    #[arg(long, value_name = "NOTE")]
    pub note: String,
}

/// What a note commits to. Never the nullifier or the secret themselves.
#[derive(Serialize)]
pub struct InspectReport {
    pub currency: String,
    pub amount: String,
    pub chain_id: u64,
    /// The deployed client's fixed `taonado-wtao-1-964-` form.
    pub legacy_format: bool,
    pub commitment: String,
    pub nullifier_hash: String,
}

impl InspectReport {
    fn new(note: &Note) -> Self {
        Self {
            currency: note.currency().to_owned(),
            amount: note.amount().to_owned(),
            chain_id: note.chain_id(),
            legacy_format: note.is_legacy(),
            commitment: fr_to_b256(note.commitment()).to_string(),
            nullifier_hash: fr_to_b256(note.nullifier_hash()).to_string(),
        }
    }
}

impl Report for InspectReport {
    fn render(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut table = super::table(&["field", "value"]);
        table.add_row(vec![
            "pool".to_owned(),
            format!("{} {}", self.amount, self.currency.to_uppercase()),
        ]);
        table.add_row(vec!["chain id".to_owned(), self.chain_id.to_string()]);
        table.add_row(vec![
            "format".to_owned(),
            if self.legacy_format {
                "legacy (taonado-wtao-1-964-)"
            } else {
                "current"
            }
            .to_owned(),
        ]);
        table.add_row(vec!["commitment".to_owned(), self.commitment.clone()]);
        table.add_row(vec![
            "nullifier hash".to_owned(),
            self.nullifier_hash.clone(),
        ]);
        writeln!(out, "{table}")
    }
}

impl InspectArgs {
    pub fn run(self, context: &Context) -> Result<(), CliError> {
        let text = if self.note == "-" {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map_err(|e| {
                CliError::usage(anyhow::anyhow!("reading the note from stdin: {e}"))
            })?;
            text
        } else {
            self.note
        };
        // The parse error names what is wrong and never echoes the secret part.
        let note = Note::parse(&text).map_err(|e| CliError::usage(anyhow::anyhow!("{e}")))?;
        context.output.report(&InspectReport::new(&note))
    }
}
