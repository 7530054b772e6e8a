//! Test support shared by the unit tests: where the vectors are, and how peers are found.
//!
//! A peer (Go `age`, `ssh-keygen`, the real `sops`) is found by the peer harness of the
//! `aesec-tests` package (`tests/src/lib.rs`), the one lookup every test uses. When it is
//! missing the test fails under `AESEC_REQUIRE_PEERS=1` (as CI runs) and is skipped otherwise.

use std::path::PathBuf;

/// The sops 3.11 vectors (`tests/vectors/sops`).
pub(crate) const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/sops");

/// The vendored real-world corpus (`tests/corpus`).
pub(crate) const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");

/// Finds the peer binary `name` through the one version-checked lookup of the peer harness
/// (`aesec_tests::Peer::require`: `$SOPS` only when set, sops 3.11.0, age 1.1.x), or panics
/// when peers are required, or returns `None` (skip).
pub(crate) fn peer(name: &str) -> Option<PathBuf> {
    let peer = aesec_tests::Peer::ALL
        .into_iter()
        .find(|peer| peer.program() == name)
        .unwrap_or_else(|| panic!("'{name}' is not a peer of aesec_tests::Peer"));
    peer.require()
}
