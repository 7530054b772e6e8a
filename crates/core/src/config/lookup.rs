//! Finding `.sops.yaml`: [`find_config`] walks up from a directory the way sops does.

use std::path::{Path, PathBuf};

use super::CONFIG_FILE_NAME;

/// The file name sops ignores (with a warning) although users often write it.
pub(crate) const IGNORED_CONFIG_FILE_NAME: &str = ".sops.yml";

/// How many directories [`find_config`] tries, the start directory included (sops' `maxDepth`).
pub(crate) const MAX_LOOKUP_DEPTH: usize = 100;

/// What [`find_config`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigLookup {
    /// The `.sops.yaml` to use, if any. Parent steps are joined as `..` components (as sops does,
    /// so symlinked directories are walked the way the OS resolves `..`).
    pub path: Option<PathBuf>,
    /// The first `.sops.yml` seen on the way (in a directory no further up than `path`'s), which
    /// sops ignores; the CLI should warn about it.
    pub ignored: Option<PathBuf>,
}

/// Looks for `.sops.yaml` in `start_dir`, then in its parents, as sops does (at most
/// 100 directories, sops' `maxDepth`; `.sops.yml` is not used but reported).
///
/// sops starts at the current directory, not at the file's: pass the working directory.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("aesec-doc-find-{}", std::process::id()));
/// # std::fs::create_dir_all(dir.join("secrets/host"))?;
/// std::fs::write(dir.join(".sops.yaml"), "creation_rules: []\n")?;
/// let lookup = aesec::config::find_config(&dir.join("secrets/host"));
/// let found = lookup.path.expect("found");
/// assert_eq!(std::fs::canonicalize(&found)?, std::fs::canonicalize(dir.join(".sops.yaml"))?);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn find_config(start_dir: &Path) -> ConfigLookup {
    let mut dir = start_dir.to_path_buf();
    let mut ignored = None;
    for _ in 0..directories_up_to_root(start_dir) {
        let candidate = dir.join(CONFIG_FILE_NAME);
        if std::fs::metadata(&candidate).is_ok() {
            return ConfigLookup {
                path: Some(candidate),
                ignored,
            };
        }
        if ignored.is_none() {
            let alternative = dir.join(IGNORED_CONFIG_FILE_NAME);
            if std::fs::metadata(&alternative).is_ok() {
                ignored = Some(alternative);
            }
        }
        dir.push("..");
    }
    ConfigLookup {
        path: None,
        ignored,
    }
}

/// How many directories the walk from `start_dir` can reach: the directory itself and each
/// parent up to the root, at most [`MAX_LOOKUP_DEPTH`]. Past the root `..` is the root again,
/// so sops' remaining steps would only look at the same two files once more (about 200 `stat`
/// calls saved per command from a shallow directory). [`MAX_LOOKUP_DEPTH`] when `start_dir`
/// cannot be resolved, so the walk is then sops' own.
pub(super) fn directories_up_to_root(start_dir: &Path) -> usize {
    std::fs::canonicalize(start_dir).map_or(MAX_LOOKUP_DEPTH, |resolved| {
        resolved.components().count().min(MAX_LOOKUP_DEPTH)
    })
}
