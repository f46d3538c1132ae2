//! The relayer for private withdrawals: someone withdraws to a fresh address that holds no
//! TAO for gas; the relayer sends the withdrawal, pays the gas and takes a fee out of the
//! note. Modelled on tornado-relayer (API shape, job states, fee policy), with what its
//! users miss: the maximum gas price holds for the first send too, quotes bind a gas price
//! until they expire, every refusal has a typed code, and jobs are durable (SQLite) and
//! sent exactly once across kills.
//!
//! - [`Relayer`] (`service`): `start(plan, provider, signer)` then `run(shutdown)`;
//! - `check`: everything verified before a job is accepted (none of it costs gas);
//! - `sender`: the job loop (nonces, recording before broadcasting, replacement, depth);
//! - [`store::JobStore`]: the job database, `relayer.db`;
//! - [`client`]: `mixer withdraw --relayer-url`'s side.

pub mod alerts;
pub mod api;
mod check;
pub mod client;
mod error;
pub mod fee;
mod http;
pub mod metrics;
mod sender;
mod service;
pub mod store;

pub use error::{FailReason, Refusal, RelayerError, Result};
pub use fee::{FeePolicy, Quote};
pub use service::{Relayer, RelayerPlan, RelayerReport};
