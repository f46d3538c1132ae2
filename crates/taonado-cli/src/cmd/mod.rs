//! One module per command group; each `XxxArgs::run` resolves what it needs from the
//! context, calls the libraries and prints one report.

pub mod address;
pub mod alerts;
pub mod backup;
pub mod bottleneck;
pub mod config;
pub mod dashboard;
pub mod db;
pub mod deploy;
pub mod devnet;
pub mod drill;
pub mod gas;
pub mod health;
pub mod index;
pub mod keys;
pub mod loadtest;
pub mod migrate;
pub mod miner;
pub mod mixer;
pub mod monitor;
pub mod net;
pub mod networks;
pub mod relayer;
pub mod up;
pub mod upgrade;
pub mod validator;
pub mod verify;
pub mod wallet;
pub mod weights;
pub mod wtao;
pub mod zk;
