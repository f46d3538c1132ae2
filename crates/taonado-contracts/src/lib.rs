//! taonado-contracts
