//! Custom secret paths: symlinks into the live generation, and the record of them that lets a
//! later install remove the links of secrets that disappeared.

use std::path::PathBuf;

use super::Entry;
use super::error::InstallError;
use super::generation;
use super::manifest::Manifest;

/// The file in the mount point recording the custom-path symlinks of the live generation.
const LINKS_FILE: &str = ".aesec-links.json";

/// Points each custom `path` at `<symlinkPath>/<name>` and removes the links recorded for the
/// previous generation that no entry claims any more.
pub(super) fn link_custom_paths(
    manifest: &Manifest,
    entries: &[Entry<'_>],
) -> Result<(), InstallError> {
    let symlink = &manifest.symlink_path;
    let mut links = Vec::new();
    for entry in entries {
        let target = symlink.join(&entry.relative);
        if entry.path.as_os_str().is_empty() || entry.path == target {
            continue;
        }
        if let Some(parent) = entry.path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| InstallError::Io {
                path: parent.to_owned(),
                action: "create parent of",
                source,
            })?;
        }
        let ownership = entry.ownership.filter(|_| !manifest.user_mode);
        if std::fs::read_link(entry.path).ok().as_deref() != Some(target.as_path()) {
            generation::swap_symlink(&target, entry.path, ownership)?;
        }
        links.push(entry.path.to_path_buf());
    }
    let record = manifest.secrets_mount_point.join(LINKS_FILE);
    let previous: Vec<PathBuf> = std::fs::read(&record)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    for old in previous.iter().filter(|old| !links.contains(old)) {
        let ours = std::fs::read_link(old).is_ok_and(|target| target.starts_with(symlink));
        if ours {
            std::fs::remove_file(old).map_err(|source| InstallError::Io {
                path: old.clone(),
                action: "remove stale symlink",
                source,
            })?;
        }
    }
    let json = serde_json::to_vec(&links).map_err(|error| InstallError::Io {
        path: record.clone(),
        action: "record links in",
        source: error.into(),
    })?;
    crate::fs::write_atomic(&record, &json, crate::fs::WriteOptions::with_mode(0o600))?;
    Ok(())
}
