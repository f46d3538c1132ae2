//! An EVM address and its SS58 mirror are one account on Bittensor, so TAO sent to the
//! mirror through 0x800 is that address's EVM balance at once, for the BALANCE opcode too.
//!
//! The mirror is a hash (`blake2_256("evm:" ‖ h160)`), so a transfer to the mirror of an
//! address the chain has not seen lands in the subtensor's native ledger (see
//! `subtensor`). [`MirrorCredits`] closes the gap for every execution: it wraps the state
//! an execution reads, and whenever the EVM loads an account whose mirror holds native
//! rao, it adds them to the balance it reports. After a transaction, the chain removes
//! from the ledger what a committed (touched) account now holds
//! ([`MirrorCredits::claimed`]); an account that was only read keeps its credit pending,
//! so nothing is counted twice.

use std::cell::RefCell;
use std::collections::BTreeMap;

use alloy_primitives::{Address, B256, U256};
use revm::{
    DatabaseRef,
    state::{AccountInfo, Bytecode},
};
use taonado_types::{AccountId32, evm_mirror, rao_to_wei};

use crate::error::DevnetError;

/// The native ledger of an execution: rao by account.
pub(crate) type NativeLedger = BTreeMap<AccountId32, u64>;

/// `db`, with the native rao of each account's mirror added to its balance.
pub(crate) struct MirrorCredits<'a, DB> {
    db: &'a DB,
    ledger: &'a NativeLedger,
    claimed: RefCell<Vec<(Address, AccountId32)>>,
}

impl<'a, DB> MirrorCredits<'a, DB> {
    pub(crate) fn new(db: &'a DB, ledger: &'a NativeLedger) -> Self {
        Self {
            db,
            ledger,
            claimed: RefCell::new(Vec::new()),
        }
    }

    /// The accounts whose balance included their mirror's rao, with that mirror.
    pub(crate) fn claimed(self) -> Vec<(Address, AccountId32)> {
        self.claimed.into_inner()
    }
}

impl<DB: DatabaseRef<Error = DevnetError>> DatabaseRef for MirrorCredits<'_, DB> {
    type Error = DevnetError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, DevnetError> {
        let info = self.db.basic_ref(address)?;
        // Most executions see an empty ledger: no hash at all then.
        if self.ledger.is_empty() {
            return Ok(info);
        }
        let mirror = evm_mirror(address);
        let Some(&rao) = self.ledger.get(&mirror).filter(|rao| **rao > 0) else {
            return Ok(info);
        };
        self.claimed.borrow_mut().push((address, mirror));
        let mut info = info.unwrap_or_default();
        info.balance = info
            .balance
            .saturating_add(rao_to_wei(taonado_types::Rao(rao)));
        Ok(Some(info))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, DevnetError> {
        self.db.code_by_hash_ref(code_hash)
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, DevnetError> {
        self.db.storage_ref(address, index)
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, DevnetError> {
        self.db.block_hash_ref(number)
    }
}
