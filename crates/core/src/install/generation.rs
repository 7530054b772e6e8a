//! Generation directories: numbered `1`, `2`, … under the mount point, the atomic symlink swap,
//! custom-path symlinks, ownership and pruning, as `sops-install-secrets` lays them out.
//!
//! A new generation is built beside the live one and becomes live only by one `rename(2)` of a
//! temporary symlink over `symlinkPath`, so a reader sees the old set or the new set, never a mix.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt, lchown};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::InstallError;

/// Directories (mount point, generations, nested names) are `0751`: traversable, not listable.
pub(crate) const DIR_MODE: u32 = 0o751;

/// Owner and group numbers, or `None` to leave ownership alone (user mode).
pub(crate) type Ownership = Option<(u32, u32)>;

fn io_error(path: &Path, action: &'static str) -> impl FnOnce(io::Error) -> InstallError {
    let path = path.to_owned();
    move |source| InstallError::Io {
        path,
        action,
        source,
    }
}

/// The generation number `symlinkPath` points to, if it points into `mount`.
pub(crate) fn live_generation(symlink: &Path, mount: &Path) -> Option<u64> {
    let target = fs::read_link(symlink).ok()?;
    if target.parent() != Some(mount) {
        return None;
    }
    target.file_name()?.to_str()?.parse().ok()
}

/// Creates `dir` with mode 0751 and `ownership` (after removing a stale one of that name).
pub(crate) fn fresh_dir(dir: &Path, ownership: Ownership) -> Result<(), InstallError> {
    if fs::symlink_metadata(dir).is_ok() {
        fs::remove_dir_all(dir).map_err(io_error(dir, "remove stale generation"))?;
    }
    make_dir(dir, ownership)
}

/// Creates one directory with mode 0751 (exactly: the umask is undone) and `ownership`.
pub(crate) fn make_dir(dir: &Path, ownership: Ownership) -> Result<(), InstallError> {
    fs::DirBuilder::new()
        .mode(DIR_MODE)
        .create(dir)
        .map_err(io_error(dir, "create directory"))?;
    make_dir_mode(dir, ownership)
}

/// Sets an existing directory (the mount point) to mode 0751 and `ownership`.
pub(crate) fn make_dir_mode(dir: &Path, ownership: Ownership) -> Result<(), InstallError> {
    fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))
        .map_err(io_error(dir, "set mode of"))?;
    set_owner(dir, ownership)
}

/// Creates `dirs` (under `base`, a new generation directory) and every directory between
/// `base` and them, 0751 with `ownership`: shallowest first, each depth on every core.
pub(crate) fn make_dirs<'a>(
    base: &Path,
    dirs: impl IntoIterator<Item = &'a Path>,
    ownership: Ownership,
) -> Result<(), InstallError> {
    let mut missing: BTreeSet<&Path> = BTreeSet::new();
    for dir in dirs {
        let mut current = dir;
        // Up to `base`, or to a directory already listed (its parents are too).
        while current != base && current.starts_with(base) && missing.insert(current) {
            match current.parent() {
                Some(up) => current = up,
                None => break,
            }
        }
    }
    let mut by_depth: BTreeMap<usize, Vec<&Path>> = BTreeMap::new();
    for dir in missing {
        by_depth
            .entry(dir.components().count())
            .or_default()
            .push(dir);
    }
    for level in by_depth.values() {
        level
            .par_iter()
            .try_for_each(|dir| make_dir(dir, ownership))?;
    }
    Ok(())
}

/// Writes a new file (it must not exist) with `mode` from the start, then sets its owner.
pub(crate) fn write_new(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    ownership: Ownership,
) -> Result<(), InstallError> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(io_error(path, "create"))?;
    file.write_all(bytes).map_err(io_error(path, "write"))?;
    // The umask may have cleared bits of `mode`: set them exactly.
    file.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(io_error(path, "set mode of"))?;
    drop(file);
    set_owner(path, ownership)
}

/// `lchown`s `path` (never following a symlink).
pub(crate) fn set_owner(path: &Path, ownership: Ownership) -> Result<(), InstallError> {
    match ownership {
        Some((uid, gid)) => {
            lchown(path, Some(uid), Some(gid)).map_err(io_error(path, "change owner of"))
        }
        None => Ok(()),
    }
}

/// Points `link` at `target` atomically: a symlink made in a fresh temporary directory beside
/// `link`, owned by `ownership`, then renamed over `link` (a file or symlink there is replaced;
/// a directory is not).
pub(crate) fn swap_symlink(
    target: &Path,
    link: &Path,
    ownership: Ownership,
) -> Result<(), InstallError> {
    let parent = link.parent().unwrap_or(Path::new("/"));
    fs::create_dir_all(parent).map_err(io_error(parent, "create parent of"))?;
    let temp_dir = temp_dir_in(parent)?;
    let temp_link = temp_dir.join("link");
    let result = std::os::unix::fs::symlink(target, &temp_link)
        .map_err(io_error(&temp_link, "create symlink"))
        .and_then(|()| set_owner(&temp_link, ownership))
        .and_then(|()| fs::rename(&temp_link, link).map_err(io_error(link, "rename symlink to")));
    let cleanup = fs::remove_dir_all(&temp_dir);
    result?;
    cleanup.map_err(io_error(&temp_dir, "remove"))
}

/// Removes a real directory at `symlinkPath` (a leftover of an older installer), as sops-nix's
/// `prepareSecretsDir` does; `rename` can replace a file or a symlink but not a directory.
pub(crate) fn clear_directory_at(link: &Path) -> Result<(), InstallError> {
    match fs::symlink_metadata(link) {
        Ok(meta) if meta.is_dir() => {
            fs::remove_dir_all(link).map_err(io_error(link, "remove directory at"))
        }
        _ => Ok(()),
    }
}

fn temp_dir_in(parent: &Path) -> Result<PathBuf, InstallError> {
    let mut last = None;
    for _ in 0..16 {
        let mut random = [0u8; 6];
        getrandom::getrandom(&mut random).map_err(|e| InstallError::Io {
            path: parent.to_owned(),
            action: "pick a temporary name in",
            source: io::Error::other(e.to_string()),
        })?;
        let name: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let dir = parent.join(format!(".aesec-swap-{name}"));
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => last = Some(error),
            Err(error) => return Err(io_error(&dir, "create temporary directory")(error)),
        }
    }
    Err(io_error(parent, "create temporary directory in")(
        last.unwrap_or_else(|| io::Error::other("no free name")),
    ))
}

/// Removes the directory `dir` and everything under it, its entries on every core. Symbolic
/// links are removed, never followed.
fn remove_tree(dir: &Path) -> Result<(), InstallError> {
    let entries: Vec<fs::DirEntry> = fs::read_dir(dir)
        .and_then(Iterator::collect)
        .map_err(io_error(dir, "list"))?;
    entries.par_iter().try_for_each(|entry| {
        let path = entry.path();
        let removed = match entry.file_type() {
            Ok(kind) if kind.is_dir() => fs::remove_dir_all(&path),
            _ => fs::remove_file(&path),
        };
        removed.map_err(io_error(&path, "prune generation"))
    })?;
    fs::remove_dir(dir).map_err(io_error(dir, "prune generation"))
}

/// Removes generation directories `g` with `g <= current - keep` (none when `keep <= 0`).
/// Returns the numbers removed.
pub(crate) fn prune(mount: &Path, current: u64, keep: i64) -> Result<Vec<u64>, InstallError> {
    let Ok(keep) = u64::try_from(keep) else {
        return Ok(Vec::new());
    };
    if keep == 0 {
        return Ok(Vec::new());
    }
    let mut removed = Vec::new();
    let entries = fs::read_dir(mount).map_err(io_error(mount, "list"))?;
    for entry in entries {
        let entry = entry.map_err(io_error(mount, "list"))?;
        let Some(number) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        if number + keep <= current {
            remove_tree(&entry.path())?;
            removed.push(number);
        }
    }
    removed.sort_unstable();
    Ok(removed)
}
