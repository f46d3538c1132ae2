//! Column conversions: BLOB addresses and hashes, decimal TEXT amounts, integers.

use crate::sql::Row;
use alloy_primitives::{Address, B256, U256};

use crate::error::{Result, StoreError};

pub(crate) fn address(row: &Row, idx: usize) -> crate::sql::SqlResult<Address> {
    let bytes: Vec<u8> = row.get(idx)?;
    if bytes.len() != 20 {
        return Err(blob_len_error(idx, bytes.len(), 20));
    }
    Ok(Address::from_slice(&bytes))
}

pub(crate) fn b256(row: &Row, idx: usize) -> crate::sql::SqlResult<B256> {
    let bytes: Vec<u8> = row.get(idx)?;
    if bytes.len() != 32 {
        return Err(blob_len_error(idx, bytes.len(), 32));
    }
    Ok(B256::from_slice(&bytes))
}

pub(crate) fn opt_b256(row: &Row, idx: usize) -> crate::sql::SqlResult<Option<B256>> {
    let bytes: Option<Vec<u8>> = row.get(idx)?;
    match bytes {
        None => Ok(None),
        Some(b) if b.len() == 32 => Ok(Some(B256::from_slice(&b))),
        Some(b) => Err(blob_len_error(idx, b.len(), 32)),
    }
}

pub(crate) fn u256(row: &Row, idx: usize) -> crate::sql::SqlResult<U256> {
    let text: String = row.get(idx)?;
    text.parse::<U256>()
        .map_err(|e| crate::sql::SqlError::conversion(idx, Box::new(e)))
}

pub(crate) fn u64_col(row: &Row, idx: usize) -> crate::sql::SqlResult<u64> {
    let v: i64 = row.get(idx)?;
    u64::try_from(v).map_err(|e| crate::sql::SqlError::conversion(idx, Box::new(e)))
}

fn blob_len_error(idx: usize, got: usize, want: usize) -> crate::sql::SqlError {
    crate::sql::SqlError::conversion(
        idx,
        format!("blob of {got} bytes where {want} were expected"),
    )
}

/// An unsigned number as SQLite's signed 64-bit INTEGER.
pub(crate) fn int(what: &'static str, v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt {
        what,
        detail: format!("{v} does not fit a 64-bit integer"),
    })
}

/// Gas prices beyond i64 (9.2 TAO per gas) are clamped: no real chain charges that.
pub(crate) fn gas_price(v: u128) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
