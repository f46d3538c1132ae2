//! taonado-config
