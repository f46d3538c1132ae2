//! taonado-types
