//! Where loading the withdraw keys spends its time, the part of `mixer withdraw` that is
//! not the proof: `cargo run --release -p taonado-zk --example key-load [ROUNDS]`.
//! Times the circuit synthesis that binds a key to this build's circuit, and the whole
//! load of the local dev keys compiled into the binary (hash check, decode, key match).

use std::time::{Duration, Instant};

use taonado_zk::{groth16::CircuitShape, keys};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() -> Result<(), taonado_zk::ZkError> {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|r| r.parse().ok())
        .unwrap_or(5)
        .max(1);
    let mut shape = Vec::new();
    let mut local = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        let _ = CircuitShape::withdraw()?;
        shape.push(start.elapsed());
        let start = Instant::now();
        let _ = keys::local_dev_keys()?;
        local.push(start.elapsed());
    }
    let shape = median(shape);
    let local = median(local);
    println!("circuit synthesis (CircuitShape::withdraw): {shape:?} median of {rounds}");
    println!("local dev keys, whole load:                 {local:?} median of {rounds}");
    println!(
        "  of which decoding and checking the key:   {:?}",
        local.saturating_sub(shape)
    );
    Ok(())
}
