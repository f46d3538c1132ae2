//! Indexer against the embedded dev chain with the protocol deployed: catch-up, reorgs,
//! resume, failover. Blocks are mined on demand (instant mining), nothing waits on time.

mod limits;
mod support;
mod sync;
