//! taonado-client
