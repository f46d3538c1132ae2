//! Writes (or confirms) the local development keys: `withdraw.pk.bin` and the
//! snarkjs-format `withdraw.vk.json`, from the fixed, public local setup seed.
//!
//! `cargo run --release -p taonado-zk --example local-keys [-- <dir>]` (default `keys/local`).

use std::{path::PathBuf, process::ExitCode};

fn main() -> ExitCode {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("keys/local"));
    match taonado_zk::keys::load_or_create_local(&dir) {
        Ok((prover, created)) => {
            let action = if created { "wrote" } else { "found up-to-date" };
            println!(
                "{action} local keys in {} (circuit {}, {} constraints)",
                dir.display(),
                prover.shape().hash(),
                prover.shape().num_constraints()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
