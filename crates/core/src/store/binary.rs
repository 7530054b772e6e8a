//! The binary store.
