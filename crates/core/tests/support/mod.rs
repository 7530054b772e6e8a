//! Helpers shared by the library's integration tests: fixture paths and age identities.
//!
//! Every helper panics with the path it was working on, so a failing test names its fixture.

use std::path::{Path, PathBuf};

use aesec::keys::age::Identities;

/// The absolute path of `relative`, a path under `crates/core/tests/`.
pub(crate) fn test_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(relative)
}

/// The bytes of `crates/core/tests/<relative>`.
pub(crate) fn read(relative: &str) -> Vec<u8> {
    let path = test_path(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The age identities of the identity file `crates/core/tests/<relative>`.
pub(crate) fn identities(relative: &str) -> Identities {
    let text = String::from_utf8(read(relative))
        .unwrap_or_else(|e| panic!("identity file {relative} is not UTF-8: {e}"));
    let mut identities = Identities::new();
    let count = identities
        .add_identity_file_text(&text, relative)
        .unwrap_or_else(|e| panic!("cannot read identity file {relative}: {e}"));
    assert!(count > 0, "identity file {relative} holds no identity");
    identities
}
