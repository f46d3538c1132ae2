//! State at an earlier block, read through the undo log instead of kept copies.
//!
//! Every commit appends the previous values of what it changed to the undo log, and every
//! block remembers the log's length before its transactions (`undo_mark`). So the state at
//! the end of block N is the current state with, for each account or slot, the previous
//! value of its first change at or after block N + 1's mark. A lookup scans the entries
//! after that mark: linear in the changes made since block N, and no copy of any state.

use alloy_primitives::{Address, B256, U256};
use revm::{
    DatabaseRef,
    database::AccountState,
    state::{AccountInfo, Bytecode},
};

use super::{chain::UndoEntry, exec::StateDb};
use crate::error::DevnetError;

/// An account's previous value in the undo log: itself (None: not in the state then) and
/// the previous values of the slots that changed.
type Prior<'e> = (&'e Option<(AccountInfo, AccountState)>, &'e [(U256, U256)]);

/// The state as it was before the undo entries `later` were made.
pub(crate) struct StateAt<'a> {
    pub db: &'a StateDb,
    pub later: &'a [UndoEntry],
}

impl StateAt<'_> {
    /// Previous values recorded for `address`, oldest first.
    fn entries(&self, address: Address) -> impl Iterator<Item = Prior<'_>> {
        self.later.iter().filter_map(move |entry| {
            let UndoEntry::Account {
                address: changed,
                prior,
                slots,
            } = entry;
            (*changed == address).then_some((prior, slots.as_slice()))
        })
    }
}

impl DatabaseRef for StateAt<'_> {
    type Error = DevnetError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, DevnetError> {
        match self.entries(address).next() {
            // Not in the state then (a fork's remote still has what it had).
            Some((None, _)) => self.db.db.basic_ref(address),
            Some((Some((_, AccountState::NotExisting)), _)) => Ok(None),
            Some((Some((info, _)), _)) => Ok(Some(info.clone())),
            None => self.db.basic_ref(address),
        }
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, DevnetError> {
        // Code is never deleted from the code table, so older code is still there.
        self.db.code_by_hash_ref(code_hash)
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, DevnetError> {
        for (prior, slots) in self.entries(address) {
            if prior.is_none() {
                // Not in the state then (a fork's remote still has what it had).
                return self.db.db.storage_ref(address, index);
            }
            if let Some((_, value)) = slots.iter().find(|(key, _)| *key == index) {
                return Ok(*value);
            }
        }
        self.db.storage_ref(address, index)
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, DevnetError> {
        self.db.block_hash_ref(number)
    }
}
