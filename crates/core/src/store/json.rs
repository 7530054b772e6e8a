//! The json store.
