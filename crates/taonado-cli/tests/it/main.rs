//! End-to-end tests: the real `taonado` binary against its own devnet on port 0, driven
//! with Foundry's `cast`. Readiness is read from the child's first stdout line (the
//! `--json` envelope), never waited for with sleeps.

mod backup;
mod cli;
mod compliance;
mod deploy;
mod devnet;
mod devnet_kill;
mod emergency;
mod envelope;
mod ethers_ws;
mod exit_codes;
mod health;
mod incident;
mod index;
mod keys;
mod keys_audit;
mod leader;
mod loadtest;
mod loadtest_weights;
mod mining;
mod mixer;
mod mixer_keys;
mod monitor;
mod multisig;
mod outside_checkout;
mod recovery;
mod relayer;
mod report;
mod support;
mod tornado;
mod up;
mod upgrade;
mod verify;
mod wtao;
mod zk;
