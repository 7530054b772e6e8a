//! Discovery: which files of a repository are sops files to work on, and the temporary files
//! an interrupted run left beside them.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::error::FleetError;
use crate::config::{CONFIG_FILE_NAME, Config};
use crate::store::Format;

/// Finds the sops files to work on: every sops-encrypted file under each directory of `roots`
/// (every file under the config's directory when `roots` is empty), plus each file of `roots`
/// as given. `.git` directories and the config file are skipped; symlinked directories are not
/// followed, and a symlinked file is kept only when it points inside the config's directory.
/// Relative roots are relative to `cwd`. The result is sorted.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("aesec-doc-discover-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// std::fs::write(dir.join(".sops.yaml"), "creation_rules: []\n")?;
/// std::fs::write(dir.join("plain.yaml"), "a: 1\n")?;
/// let config = aesec::config::Config::load(dir.join(".sops.yaml"))?;
/// assert!(aesec::fleet::discover(&config, &[], &dir)?.is_empty());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn discover(
    config: &Config,
    roots: &[PathBuf],
    cwd: &Path,
) -> Result<Vec<PathBuf>, FleetError> {
    // Reading and parsing each file is independent: done on every core.
    let mut found: Vec<PathBuf> = walk(config, roots, cwd)?
        .into_par_iter()
        .filter_map(|candidate| match candidate {
            Candidate::Given(path) => Some(path),
            Candidate::Walked(path) => crate::fs::read(&path)
                .is_ok_and(|bytes| crate::file::is_encrypted(&bytes, Format::from_path(&path)))
                .then_some(path),
        })
        .collect();
    found.sort();
    found.dedup();
    Ok(found)
}

/// A file to consider: named by the caller, or found in a directory.
pub(crate) enum Candidate {
    /// Given as an argument.
    Given(PathBuf),
    /// Found while walking a directory.
    Walked(PathBuf),
}

/// The config's directory, absolute.
pub(crate) fn config_dir(config: &Config, cwd: &Path) -> PathBuf {
    let dir = match config.path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if dir.is_absolute() {
        dir
    } else {
        cwd.join(dir)
    }
}

/// Every regular file under `roots` (or the config's directory), as [`discover`] walks.
pub(crate) fn walk(
    config: &Config,
    roots: &[PathBuf],
    cwd: &Path,
) -> Result<Vec<Candidate>, FleetError> {
    let base = config_dir(config, cwd);
    let canonical_base = std::fs::canonicalize(&base).unwrap_or_else(|_| base.clone());
    let config_file = std::fs::canonicalize(config_dir(config, cwd).join(CONFIG_FILE_NAME)).ok();
    let roots: Vec<PathBuf> = if roots.is_empty() {
        vec![base]
    } else {
        roots
            .iter()
            .map(|root| {
                if root.is_absolute() {
                    root.clone()
                } else {
                    cwd.join(root)
                }
            })
            .collect()
    };
    let mut out = Vec::new();
    for root in roots {
        let meta = std::fs::metadata(&root).map_err(|source| FleetError::Walk {
            path: root.clone(),
            source,
        })?;
        if !meta.is_dir() {
            out.push(Candidate::Given(root));
            continue;
        }
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            let entries = std::fs::read_dir(&dir).map_err(|source| FleetError::Walk {
                path: dir.clone(),
                source,
            })?;
            for entry in entries {
                let entry = entry.map_err(|source| FleetError::Walk {
                    path: dir.clone(),
                    source,
                })?;
                let path = entry.path();
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                if kind.is_dir() {
                    if entry.file_name() != ".git" {
                        stack.push(path);
                    }
                    continue;
                }
                if kind.is_symlink() {
                    // Only a link can lead to the config file under another name.
                    let inside = std::fs::canonicalize(&path).is_ok_and(|target| {
                        target.starts_with(&canonical_base)
                            && target.is_file()
                            && config_file.as_ref() != Some(&target)
                    });
                    if !inside {
                        continue;
                    }
                } else if !kind.is_file() {
                    continue;
                }
                if entry.file_name() == CONFIG_FILE_NAME
                    || temp_target(&entry.file_name()).is_some()
                {
                    continue;
                }
                out.push(Candidate::Walked(path));
            }
        }
    }
    Ok(out)
}

/// The file a temporary name of [`crate::fs::write_atomic`] stands for: `a.yaml` for
/// `.a.yaml.0123456789abcdef.tmp` (16 lowercase hex digits), `None` for any other name.
///
/// A run killed between creating its temporary file and renaming it leaves one behind;
/// discovery never treats such a file as a sops file, and [`update_keys`](super::update_keys) and
/// [`rotate_older_than`](super::rotate_older_than) remove the ones beside the files they work on.
pub(crate) fn temp_target(name: &std::ffi::OsStr) -> Option<&str> {
    const SUFFIX_HEX_DIGITS: usize = 16;
    let rest = name.to_str()?.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (target, suffix) = rest.rsplit_once('.')?;
    let is_suffix = suffix.len() == SUFFIX_HEX_DIGITS
        && suffix
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    (is_suffix && !target.is_empty()).then_some(target)
}

/// Removes the temporary files an interrupted run left beside `files` (see [`temp_target`])
/// and returns their paths. Each directory is listed once; failures to list or remove are
/// ignored (a leftover is harmless: discovery skips it).
pub(crate) fn remove_stale_temps<'a>(files: impl IntoIterator<Item = &'a Path>) -> Vec<PathBuf> {
    let mut by_dir: std::collections::BTreeMap<PathBuf, std::collections::BTreeSet<String>> =
        std::collections::BTreeMap::new();
    for file in files {
        let (Some(dir), Some(name)) = (file.parent(), file.file_name().and_then(|n| n.to_str()))
        else {
            continue;
        };
        by_dir
            .entry(dir.to_path_buf())
            .or_default()
            .insert(name.to_owned());
    }
    let mut removed = Vec::new();
    for (dir, names) in by_dir {
        let listing = if dir.as_os_str().is_empty() {
            std::fs::read_dir(".")
        } else {
            std::fs::read_dir(&dir)
        };
        let Ok(entries) = listing else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if temp_target(&name).is_some_and(|target| names.contains(target))
                && entry.file_type().is_ok_and(|kind| kind.is_file())
                && std::fs::remove_file(entry.path()).is_ok()
            {
                removed.push(entry.path());
            }
        }
    }
    removed.sort();
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_of_write_atomic_are_recognised() {
        use std::ffi::OsStr;
        assert_eq!(
            temp_target(OsStr::new(".a.yaml.0123456789abcdef.tmp")),
            Some("a.yaml")
        );
        assert_eq!(temp_target(OsStr::new("a.yaml")), None);
        assert_eq!(temp_target(OsStr::new(".a.yaml.0123.tmp")), None);
        assert_eq!(
            temp_target(OsStr::new(".a.yaml.0123456789ABCDEF.tmp")),
            None
        );
        assert_eq!(temp_target(OsStr::new("..0123456789abcdef.tmp")), None);
    }

    #[test]
    fn stale_temps_beside_the_files_are_removed_and_others_kept() {
        let dir = crate::test_support::TempDir::new("stale-temps");
        let file = dir.0.join("a.yaml");
        std::fs::write(&file, "x").unwrap();
        let stale = dir.0.join(".a.yaml.0123456789abcdef.tmp");
        let other = dir.0.join(".b.yaml.0123456789abcdef.tmp");
        std::fs::write(&stale, "x").unwrap();
        std::fs::write(&other, "x").unwrap();
        let removed = remove_stale_temps([file.as_path()]);
        assert_eq!(removed.len(), 1);
        assert_eq!(removed[0], stale);
        assert!(!stale.exists());
        assert!(other.exists());
        assert!(file.exists());
    }

    #[test]
    fn discovery_skips_temp_files() {
        let dir = crate::test_support::TempDir::new("discover-temps");
        std::fs::write(dir.0.join(".sops.yaml"), "creation_rules: []\n").unwrap();
        let envelope = "{\"data\": \"x\", \"sops\": {\"version\": \"3.11.0\", \"mac\": \"x\"}}";
        std::fs::write(dir.0.join(".a.json.0123456789abcdef.tmp"), envelope).unwrap();
        let config = crate::config::Config::load(dir.0.join(".sops.yaml")).unwrap();
        let walked = walk(&config, &[], &dir.0).unwrap();
        assert!(walked.is_empty());
    }
}
