//! Integration tests for taonado-ops.
