//! Scratch target (crypto helper): builds tests/it/crypto.rs until tests/it/main.rs exists.
#[path = "it/crypto.rs"]
mod crypto;
