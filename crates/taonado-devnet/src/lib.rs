//! taonado-devnet
