//! taonado-ops
