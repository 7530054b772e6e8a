//! aesec: sops-compatible secrets and key lifecycle for NixOS fleets.

pub mod config;
pub mod file;
pub mod fs;
#[doc(hidden)]
pub mod fuzzing;
pub mod keys;
pub mod progress;
pub mod sops;
pub mod store;

/// The age crate, re-exported so embedders use the same version as aesec.
pub use age;
/// The secrecy crate (as re-exported by age).
pub use age::secrecy;
pub use sops::rules::CryptRule;
pub use sops::tree::{Branch, Item, Text, Tree, Value};
