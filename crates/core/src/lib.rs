//! aesec: sops-compatible secrets and key lifecycle for NixOS fleets.

pub mod config;
pub mod fs;
pub mod keys;
pub mod progress;
pub mod sops;
pub mod store;

pub use sops::rules::CryptRule;
pub use sops::tree::{Branch, Item, Text, Tree, Value};
