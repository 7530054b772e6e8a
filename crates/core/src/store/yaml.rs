//! The yaml store.
