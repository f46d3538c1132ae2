//! The one deployment model of taonado, low in the graph so that every crate can share it:
//!
//! - [`DeploymentRecord`]: `deployments/<network>.json`, what `taonado deploy` (and
//!   `migrate`, `upgrade`) put on chain, written after every step;
//! - [`ProtocolAddresses`]: the protocol's addresses on one network, from a preset, the
//!   config file or a record, and [`ProtocolContracts`], the subset a watcher (indexer,
//!   monitor) follows;
//! - [`Deployment`]: the configured addresses with the record laid over them, the single
//!   answer to "where is the protocol on this network";
//! - [`fs`]: file access whose errors name the path and whose writes are atomic.
//!
//! No network access: the record says what was sent, the chain says what is there, and
//! the crates above compare the two.

mod addresses;
mod error;
pub mod fs;
mod record;

pub use addresses::{Deployment, ProtocolAddresses, ProtocolContracts, pool_name, record_path};
pub use error::{DeploymentError, Result};
pub use record::{
    ContractRecord, DeploymentRecord, PendingDeployment, PoolRecord, SubnetKind, VerifierRecord,
    names,
};

/// Seconds since the Unix epoch (0 if the clock is before it), the timestamps of records,
/// note backups and store rows.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
