//! Which units to restart or reload: the entries whose content differs from the live
//! generation, written to the lists `switch-to-configuration` reads, or handed to `systemctl`.

use std::collections::HashSet;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

use rayon::prelude::*;
use zeroize::Zeroizing;

use super::error::InstallError;
use super::{Entry, Report};
use crate::process::{RunOptions, run};

/// Compares each entry with the live generation's file and collects the units to restart or
/// reload. Nothing is listed when no generation is live (first boot).
pub(super) fn diff(
    symlink: &Path,
    entries: &[Entry<'_>],
    values: &[Zeroizing<Vec<u8>>],
    report: &mut Report,
) -> Result<(), InstallError> {
    if std::fs::metadata(symlink).is_err() {
        return Ok(());
    }
    // Each live file read and compared on every core; the lists made in manifest order.
    let changes: Vec<Change> = entries
        .par_iter()
        .zip(values)
        .map(|(entry, value)| {
            match std::fs::read(symlink.join(&entry.relative)).map(Zeroizing::new) {
                Ok(old) if old.as_slice() == value.as_slice() => Change::Same,
                Ok(_) => Change::Modified,
                Err(_) => Change::Added,
            }
        })
        .collect();
    let mut restart = Vec::new();
    let mut reload = Vec::new();
    let mut present = HashSet::new();
    for (entry, change) in entries.iter().zip(changes) {
        present.insert(entry.relative.clone());
        match change {
            Change::Same => continue,
            Change::Modified => report.modified.push(entry.relative.clone()),
            Change::Added => report.added.push(entry.relative.clone()),
        }
        restart.extend(entry.restart_units.iter().cloned());
        reload.extend(entry.reload_units.iter().cloned());
    }
    for old in list_files(symlink, symlink)? {
        if !present.contains(&old) {
            report.removed.push(old);
        }
    }
    report.removed.sort();
    report.restart_units = dedup(restart);
    report.reload_units = dedup(reload);
    Ok(())
}

/// How an entry's new content compares with the live generation's file.
enum Change {
    /// The same bytes.
    Same,
    /// Other bytes.
    Modified,
    /// No such live file.
    Added,
}

fn dedup(mut units: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    units.retain(|unit| seen.insert(unit.clone()));
    units
}

/// Files under `dir` as `/`-joined paths relative to `base`.
fn list_files(base: &Path, dir: &Path) -> Result<Vec<String>, InstallError> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|source| InstallError::Io {
        path: dir.to_owned(),
        action: "list",
        source,
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            files.extend(list_files(base, &path)?);
        } else if let Ok(relative) = path.strip_prefix(base) {
            files.push(relative.to_string_lossy().into_owned());
        }
    }
    Ok(files)
}

/// Appends the units to `<dir>/<prefix>-{restart,reload}-list` when `dir` exists.
pub(super) fn write_unit_lists(
    dir: Option<&Path>,
    prefix: &str,
    report: &Report,
) -> Result<(), InstallError> {
    let Some(dir) = dir.filter(|dir| dir.is_dir()) else {
        return Ok(());
    };
    for (kind, units) in [
        ("restart", &report.restart_units),
        ("reload", &report.reload_units),
    ] {
        if units.is_empty() {
            continue;
        }
        let path = dir.join(format!("{prefix}-{kind}-list"));
        let io = |source| InstallError::Io {
            path: path.clone(),
            action: "append to",
            source,
        };
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o644)
            .open(&path)
            .map_err(io)?;
        let text: String = units.iter().map(|unit| format!("{unit}\n")).collect();
        file.write_all(text.as_bytes()).map_err(io)?;
    }
    Ok(())
}

/// How long one `systemctl --no-block` call may take (it only queues jobs).
const SYSTEMCTL_TIMEOUT: Duration = Duration::from_secs(30);

/// Queues the restarts and reloads with `program --no-block` (sops-nix's systemd mode).
pub(super) fn restart_with_systemctl(program: &Path, report: &Report) -> Result<(), InstallError> {
    for (verb, units) in [
        ("try-restart", &report.restart_units),
        ("try-reload-or-restart", &report.reload_units),
    ] {
        if units.is_empty() {
            continue;
        }
        let args = ["--no-block", verb]
            .into_iter()
            .chain(units.iter().map(String::as_str));
        run(program, args, &RunOptions::with_timeout(SYSTEMCTL_TIMEOUT)).map_err(|source| {
            InstallError::Systemctl {
                verb,
                units: units.clone(),
                source,
            }
        })?;
    }
    Ok(())
}
