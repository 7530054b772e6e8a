//! Test support shared by the unit tests, in one place: where the vectors are, how peers are
//! found, temporary directories, and the `sops` block of vector files.
//!
//! A peer (Go `age`, `ssh-keygen`, the real `sops`) is found by the peer harness of the
//! `aesec-tests` package (`tests/src/lib.rs`), the one lookup every test uses. When it is
//! missing the test fails under `AESEC_REQUIRE_PEERS=1` (as CI runs) and is skipped otherwise.

use std::fs;
use std::path::{Path, PathBuf};

use crate::tree::{Branch, Item, Tree, Value};

pub(crate) mod store_vectors;

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

// ---- temporary directories --------------------------------------------------------------------

/// A fresh directory under the system temp dir (symlinks resolved), removed on drop.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    /// Creates `aesec-<label>-<random>`.
    pub(crate) fn new(label: &str) -> Self {
        let mut suffix = [0u8; 8];
        getrandom::getrandom(&mut suffix).unwrap();
        let suffix: String = suffix.iter().map(|byte| format!("{byte:02x}")).collect();
        let dir = std::env::temp_dir().join(format!("aesec-{label}-{suffix}"));
        fs::create_dir_all(&dir).unwrap();
        Self(fs::canonicalize(&dir).unwrap())
    }

    /// The path of `relative` inside the directory.
    pub(crate) fn join(&self, relative: impl AsRef<Path>) -> PathBuf {
        self.0.join(relative)
    }

    /// Writes `contents` to `relative` (creating its parent directories) and returns its path.
    pub(crate) fn write(&self, relative: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(relative);
        let parent = path.parent().unwrap();
        fs::create_dir_all(parent)
            .unwrap_or_else(|error| panic!("cannot create {}: {error}", parent.display()));
        fs::write(&path, contents)
            .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
        path
    }

    /// The sorted names in the directory.
    pub(crate) fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.0)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

// ---- the `sops` block of vector files, read with the real stores -----------------------------

/// The first document of a YAML file.
pub(crate) fn yaml_tree(text: &str) -> Tree {
    crate::store::yaml::parse(text.as_bytes()).expect("vector YAML parses")
}

/// The `sops` map of a tree's first document.
pub(crate) fn sops_of(tree: &Tree) -> Branch {
    match crate::tree::get(&tree.branches[0], "sops") {
        Some(Value::Map(b)) => b.clone(),
        _ => panic!("no sops map in document"),
    }
}

/// Replaces the `sops` map of a tree's first document.
pub(crate) fn set_sops(tree: &mut Tree, block: Branch) {
    for item in &mut tree.branches[0] {
        if let Item::Entry { key, value } = item
            && key == "sops"
        {
            *value = Value::Map(block);
            return;
        }
    }
    panic!("no sops map in document");
}

/// The `sops` map of a YAML document.
pub(crate) fn sops_block(text: &str) -> Branch {
    sops_of(&yaml_tree(text))
}

/// The `sops` map of a JSON document (numbers are floats, as in sops 3.11's JSON store).
pub(crate) fn sops_block_json(text: &str) -> Branch {
    sops_of(&crate::store::json::parse(text.as_bytes()).expect("vector JSON parses"))
}

/// The `sops_*` lines of a dotenv file, `\n` unescaped, in file order.
pub(crate) fn dotenv_sops_pairs(text: &str) -> Vec<(String, String)> {
    text.split('\n')
        .filter(|line| line.starts_with("sops_"))
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.replace("\\n", "\n")))
        .collect()
}
