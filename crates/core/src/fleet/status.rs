//! The who-reads-what matrix: [`status`] shows, for every file and every member, whether the
//! file holds a key entry for the member and whether that agrees with the file's creation rule.
//!
//! Like [`check`](super::check()) it reads only what a file shows without its key. Members are
//! named by the caller, usually from [`read_members`](crate::config::read_members); recipients
//! no name is given for become unnamed columns. [`access`] answers the same question for one
//! member and one file's bytes, counting key groups against the file's threshold (a deploy
//! asks it before switching a host).

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::error::FleetFileError;
use super::keyless::{metadata_groups, read_metadata};
use super::plan::{effective, spec_identifiers};
use crate::config::Config;
use crate::store::Format;

/// A column of the [`StatusMatrix`]: one recipient, named when the caller knows the name.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct StatusColumn {
    /// The member's name (a `.sops.yaml` anchor), when given.
    pub name: Option<String>,
    /// The recipient.
    pub recipient: String,
}

/// One cell: whether a member holds a key entry in a file, and whether that agrees with the
/// rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusCell {
    /// Neither the file nor its rule names the member.
    None,
    /// The file has an entry for the member, as its rule says.
    Reads,
    /// The rule names the member but the file has no entry (drift: run updatekeys).
    Missing,
    /// The file has an entry the rule does not name (drift or tampering).
    Extra,
}

/// One row of the [`StatusMatrix`].
#[derive(Clone, Debug, serde::Serialize)]
#[non_exhaustive]
pub struct StatusRow {
    /// The file.
    pub path: PathBuf,
    /// One cell per member, in [`StatusMatrix::members`] order.
    pub cells: Vec<StatusCell>,
    /// Whether any cell is [`StatusCell::Missing`] or [`StatusCell::Extra`], or the file could
    /// not be compared.
    pub drift: bool,
    /// Why the file could not be read or matched, if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// Files × members: who holds a key entry in what (serializable for `--json`).
///
/// With several key groups a member's entry holds a Shamir share: [`StatusCell::Reads`] then
/// means "takes part", not "can decrypt alone".
#[derive(Clone, Debug, Default, serde::Serialize)]
#[non_exhaustive]
pub struct StatusMatrix {
    /// The columns: the named members first, then every other recipient seen.
    pub members: Vec<StatusColumn>,
    /// One row per file.
    pub rows: Vec<StatusRow>,
}

/// Builds the status matrix of `files` (as [`discover`](super::discover()) returns them)
/// against `config`. `names` labels recipients, as `(name, recipient)` pairs.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("aesec-doc-status-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// std::fs::write(dir.join(".sops.yaml"), "creation_rules:\n  - age: age1alice\n")?;
/// let config = aesec::config::Config::load(dir.join(".sops.yaml"))?;
/// let names = [("alice".to_owned(), "age1alice".to_owned())];
/// let matrix = aesec::fleet::status(&config, &[], &dir, &names);
/// assert_eq!(matrix.members[0].name.as_deref(), Some("alice"));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn status(
    config: &Config,
    files: &[PathBuf],
    cwd: &Path,
    names: &[(String, String)],
) -> StatusMatrix {
    let mut matrix = StatusMatrix {
        members: names
            .iter()
            .map(|(name, recipient)| StatusColumn {
                name: Some(name.clone()),
                recipient: recipient.clone(),
            })
            .collect(),
        rows: Vec::new(),
    };
    // Reading and parsing each file is independent: done on every core, in file order.
    let found: Vec<_> = files
        .par_iter()
        .map(|path| file_recipients(config, path, cwd))
        .collect();
    let mut sets = Vec::new();
    for (path, (has, wants, problem)) in files.iter().zip(found) {
        for recipient in has.iter().chain(&wants) {
            if !matrix.members.iter().any(|m| &m.recipient == recipient) {
                matrix.members.push(StatusColumn {
                    name: None,
                    recipient: recipient.clone(),
                });
            }
        }
        sets.push((path.clone(), has, wants, problem));
    }
    for (path, has, wants, problem) in sets {
        let cells: Vec<StatusCell> = matrix
            .members
            .iter()
            .map(|member| {
                match (
                    has.contains(&member.recipient),
                    wants.contains(&member.recipient),
                ) {
                    (true, true) => StatusCell::Reads,
                    (true, false) => StatusCell::Extra,
                    (false, true) => StatusCell::Missing,
                    (false, false) => StatusCell::None,
                }
            })
            .collect();
        let drift = problem.is_some()
            || cells
                .iter()
                .any(|c| matches!(c, StatusCell::Missing | StatusCell::Extra));
        matrix.rows.push(StatusRow {
            path,
            cells,
            drift,
            problem,
        });
    }
    matrix
}

/// What one recipient holds in one sops file: key entries in how many of the groups, and how
/// many groups the file needs to decrypt (serializable for `--json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Access {
    /// The key groups holding an entry for the recipient.
    pub groups_holding: usize,
    /// The key groups needed to decrypt (the Shamir threshold, or every group).
    pub groups_needed: usize,
}

impl Access {
    /// Whether the recipient alone can decrypt the file.
    pub fn can_decrypt(&self) -> bool {
        self.groups_holding >= self.groups_needed
    }
}

/// What `recipient` holds in the sops file `bytes` (in `format`), read from the metadata alone:
/// no key is needed.
///
/// ```
/// # let vectors = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/sops");
/// use aesec::store::Format;
/// let bytes = std::fs::read(format!("{vectors}/vec.enc.json"))?;
/// let owner = "age1m69ryw24zjg9pmxr033synsftwkt4f8nh7xp7cm07at3n3r67yfswcwm58";
/// let access = aesec::fleet::access(&bytes, Format::Json, owner)?;
/// assert_eq!((access.groups_holding, access.groups_needed), (1, 1));
/// assert!(access.can_decrypt());
/// let stranger = aesec::fleet::access(&bytes, Format::Json, "age1stranger")?;
/// assert!(!stranger.can_decrypt());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`FleetFileError::NotEncrypted`] for a file without sops metadata, or why the metadata does
/// not parse.
pub fn access(bytes: &[u8], format: Format, recipient: &str) -> Result<Access, FleetFileError> {
    let metadata = read_metadata(bytes, format)?;
    let groups = metadata_groups(&metadata);
    Ok(Access {
        groups_holding: groups
            .iter()
            .filter(|group| group.iter().any(|entry| entry == recipient))
            .count(),
        groups_needed: effective(metadata.shamir_threshold, groups.len()),
    })
}

/// The recipients a file has, those its rule wants, and why they could not be found.
fn file_recipients(
    config: &Config,
    path: &Path,
    cwd: &Path,
) -> (Vec<String>, Vec<String>, Option<String>) {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let has = match crate::fs::read(&absolute)
        .map_err(FleetFileError::from)
        .and_then(|bytes| read_metadata(&bytes, Format::from_path(path)))
    {
        Ok(metadata) => metadata_groups(&metadata).concat(),
        Err(error) => return (Vec::new(), Vec::new(), Some(error.to_string())),
    };
    match config.rule_for(path, cwd) {
        Ok(rule) => (
            has,
            rule.key_groups.iter().flat_map(spec_identifiers).collect(),
            None,
        ),
        Err(error) => (has, Vec::new(), Some(error.to_string())),
    }
}
