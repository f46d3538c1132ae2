//! Integration tests for taonado-ops: deployments against the taonado devnet and a real anvil,
//! an interrupted deploy that resumes, the verifier-family refusal, and the `up` simulation.

mod anvil;
mod common;
mod devnet;
mod mining;
mod mixer;
mod mixer_cache;
mod multisig;
mod preflight;
mod probe;
mod resume;
mod revert;
mod simulation;
mod upgrade;
