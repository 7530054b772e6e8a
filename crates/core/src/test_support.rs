//! Test support shared by the unit tests: where the vectors are, and how peers are found.
//!
//! A peer (Go `age`, `ssh-keygen`, the real `sops`) is looked up in `$SOPS`/`$AGE`-style
//! variables, the project's `.peers/venv/bin` and `PATH`. When it is missing the test fails
//! under `AESEC_REQUIRE_PEERS=1` (as CI runs) and is skipped otherwise.

use std::path::PathBuf;

/// The sops 3.11 vectors (`tests/vectors/sops`).
pub(crate) const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/sops");

/// The vendored real-world corpus (`tests/corpus`).
pub(crate) const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");

/// Finds the peer binary `name`, or panics when peers are required, or returns `None` (skip).
pub(crate) fn peer(name: &str) -> Option<PathBuf> {
    let override_var = name.to_ascii_uppercase().replace('-', "_");
    #[expect(
        clippy::disallowed_methods,
        reason = "tests locate peers from the environment"
    )]
    let explicit = std::env::var_os(&override_var).map(PathBuf::from);
    let venv = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../.peers/venv/bin"
    ))
    .join(name);
    #[expect(
        clippy::disallowed_methods,
        reason = "tests locate peers from the environment"
    )]
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    });
    let found = explicit
        .filter(|p| p.is_file())
        .or_else(|| venv.is_file().then_some(venv))
        .or(on_path);
    if found.is_none() {
        assert!(
            !peers_required(),
            "peer '{name}' not found (set {override_var}, run scripts/setup-peers.sh, or install it) and AESEC_REQUIRE_PEERS=1"
        );
        #[expect(
            clippy::print_stderr,
            reason = "tell the developer why the test did nothing"
        )]
        {
            eprintln!("skipping: peer '{name}' not found");
        }
    }
    found
}

/// Whether `AESEC_REQUIRE_PEERS=1`.
pub(crate) fn peers_required() -> bool {
    #[expect(
        clippy::disallowed_methods,
        reason = "CI asks for peers through the environment"
    )]
    let value = std::env::var_os("AESEC_REQUIRE_PEERS");
    value.is_some_and(|v| v == "1")
}
