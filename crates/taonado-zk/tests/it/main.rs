//! Integration tests of taonado-zk: shared vectors, notes, tree, circuit and Groth16.

mod ceremony;
mod circuit;
mod groth16;
mod notes;
mod ptau;
mod tornado;
mod vectors;

use serde_json::Value;
use taonado_zk::{Fr, parse_fr};

/// The vectors file committed beside the tests (a copy of shared/vectors/tornado-crypto.json).
pub fn vectors() -> &'static Value {
    static VECTORS: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    VECTORS.get_or_init(|| {
        let text = include_str!("../vectors/tornado-crypto.json");
        serde_json::from_str(text).expect("the committed vectors file is valid JSON")
    })
}

/// A field element from a vectors entry (decimal or 0x-hex string).
pub fn fr(value: &Value) -> Fr {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("expected a number string, got {value}"));
    parse_fr(text).unwrap_or_else(|e| panic!("bad vector {text}: {e}"))
}

/// Whether heavy tests (Groth16 setup and proving) should run; they are slow in debug builds.
pub fn slow_tests_enabled() -> bool {
    std::env::var("TAONADO_SLOW_TESTS").is_ok_and(|v| v == "1")
}
