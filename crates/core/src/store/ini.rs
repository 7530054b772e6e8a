//! The ini store.
