//! Removal: a member leaves `.sops.yaml`, and every file it could read gets a **new data key**
//! (DESIGN §3).
//!
//! [`remove`] deletes the member's anchor and every alias (and literal copy) of it, refusing
//! to leave a rule without a recipient or without an admin, and refusing to remove the last
//! admin. It then re-encrypts the files whose recipients change with the fleet engine, which
//! rotates the data key whenever a recipient goes: unlike sops' `updatekeys`, a removed host
//! that kept the old data key cannot read later edits.
//!
//! Values already in git history stay readable by the removed key. The outcome lists, per file,
//! the key paths of the encrypted values the member could read (never the values) so that they
//! can be changed.

use std::path::{Path, PathBuf};

use super::apply::{ApplyOptions, Report};
use super::config_file::{config_base, load_text};
use super::error::FleetError;
use super::plan::{Action, PlanOptions};
use crate::config::edit::{ConfigEditor, EditError};
use crate::config::{ConfigError, admin_recipients, read_text};
use crate::fs::{FsError, WriteOptions};
use crate::progress::Observer;
use crate::sops::KeyDecryptor;
use crate::sops::envelope;
use crate::store::Format;
use crate::tree::{Item, Value};

/// Options of [`remove`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RemoveOptions {
    /// Only edit `.sops.yaml`; leave the files (still readable by the member) for a later
    /// `updatekeys`.
    pub no_updatekeys: bool,
}

/// A file the removed member could read, and what it holds.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ReadableFile {
    /// The file.
    pub path: PathBuf,
    /// The key paths of its encrypted values, as `--extract` writes them (`["db"]["password"]`).
    pub values: Vec<String>,
}

/// What [`remove`] did (serializable for `--json`).
#[derive(Clone, Debug, serde::Serialize)]
#[non_exhaustive]
pub struct RemoveOutcome {
    /// The member.
    pub name: String,
    /// Its recipient.
    pub recipient: String,
    /// The rules (0-based, in the old `.sops.yaml`) that named it.
    pub rules: Vec<usize>,
    /// The files it could read: change these values, since old copies stay readable.
    pub readable: Vec<ReadableFile>,
    /// What `updatekeys` did; `None` when skipped ([`RemoveOptions::no_updatekeys`]).
    pub updatekeys: Option<Report>,
}

/// Why a removal failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoveError {
    /// `.sops.yaml` could not be read or written.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// `.sops.yaml` does not load.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `.sops.yaml` cannot be edited safely, or the edit was refused (it would leave a key
    /// group without a key, or a rule without an admin).
    #[error("cannot edit '{}'", path.display())]
    Edit {
        /// The config file.
        path: PathBuf,
        /// Why.
        #[source]
        source: EditError,
    },
    /// No member has that name.
    #[error("no member named '{name}' in keys")]
    UnknownMember {
        /// The name.
        name: String,
    },
    /// The member is the last admin.
    #[error("'{name}' is the last admin: enroll another admin ('admin_…') first")]
    LastAdmin {
        /// The member.
        name: String,
    },
    /// A rule that named an admin would name none.
    #[error("removing '{name}' would leave creation rule {rule} without an admin")]
    RuleWithoutAdmin {
        /// The member.
        name: String,
        /// The rule.
        rule: usize,
    },
    /// The files could not be planned; nothing was written.
    #[error("cannot plan the re-encryption, nothing written")]
    Plan {
        /// Why.
        #[source]
        source: FleetError,
    },
    /// `.sops.yaml` was written, but the files could not be re-encrypted.
    #[error("'{}' was updated, but its files were not (run 'aesec updatekeys')", config.display())]
    UpdateKeys {
        /// The config file.
        config: PathBuf,
        /// Why.
        #[source]
        source: FleetError,
    },
}

/// Removes member `name` from the `.sops.yaml` at `config_path` and re-encrypts the files it
/// could read with new data keys (see the module docs).
///
/// `decryptors` must open those files (an admin's identity).
///
/// ```
/// use aesec::fleet::{RemoveError, RemoveOptions, remove};
/// use aesec::progress::NoProgress;
///
/// # let dir = std::env::temp_dir().join(format!("aesec-doc-remove-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let config = dir.join(".sops.yaml");
/// std::fs::write(&config, "keys:\n  - &admin_alice age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n\
///     \x20 - &web age17044m9wgakla6pzftf4srtl3h5mcsr85jysgt5fg23zpnta8sfdqhzn452\n\
///     creation_rules:\n  - age: [*admin_alice, *web]\n")?;
/// let error = remove(&config, "admin_alice", &[], &RemoveOptions::default(), &NoProgress).unwrap_err();
/// assert!(matches!(error, RemoveError::LastAdmin { .. }));
///
/// let outcome = remove(&config, "web", &[], &RemoveOptions::default(), &NoProgress)?;
/// assert_eq!(outcome.rules, [0]);
/// assert!(outcome.readable.is_empty()); // no sops files yet
/// assert!(!std::fs::read_to_string(&config)?.contains("web"));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`RemoveError::UnknownMember`], [`RemoveError::LastAdmin`],
/// [`RemoveError::RuleWithoutAdmin`] and [`RemoveError::Edit`] refuse before anything is
/// written; [`RemoveError::Plan`] too; [`RemoveError::UpdateKeys`] comes after `.sops.yaml` was
/// written.
pub fn remove(
    config_path: &Path,
    name: &str,
    decryptors: &[&dyn KeyDecryptor],
    options: &RemoveOptions,
    observer: &dyn Observer,
) -> Result<RemoveOutcome, RemoveError> {
    let edit_error = |source| RemoveError::Edit {
        path: config_path.to_path_buf(),
        source,
    };
    let original = read_text(config_path)?;
    let mut editor = ConfigEditor::parse(&original).map_err(edit_error)?;
    let members = editor.members();
    let Some(member) = members.iter().find(|m| m.name == name) else {
        return Err(RemoveError::UnknownMember {
            name: name.to_owned(),
        });
    };
    if member.is_admin && members.iter().filter(|m| m.is_admin).count() == 1 {
        return Err(RemoveError::LastAdmin {
            name: name.to_owned(),
        });
    }
    let admin_recipients = admin_recipients(&members, Some(name));
    let before = load_text(&original, config_path)?;
    let rules = editor.rules_naming(name);
    editor.remove_member(name).map_err(edit_error)?;
    let text = editor.to_text();
    let after = load_text(&text, config_path)?;

    // A rule that named an admin keeps one (the editor checks this too).
    for (old, new) in before.creation_rules.iter().zip(&after.creation_rules) {
        let names_admin = |rule: &crate::config::CreationRule, admins: &[&String]| {
            rule.key_groups
                .iter()
                .flat_map(|g| &g.age)
                .any(|key| admins.contains(&key))
        };
        let mut all_admins = admin_recipients.clone();
        if member.is_admin {
            all_admins.push(&member.recipient);
        }
        if names_admin(old, &all_admins) && !names_admin(new, &admin_recipients) {
            return Err(RemoveError::RuleWithoutAdmin {
                name: name.to_owned(),
                rule: old.index,
            });
        }
    }

    // Which files change, planned before anything is written.
    let base = config_base(config_path);
    let files = super::discover::discover(&after, &[], &base)
        .map_err(|source| RemoveError::Plan { source })?;
    let mut plan = super::plan::plan(&after, &files, &base, &PlanOptions::default())
        .map_err(|source| RemoveError::Plan { source })?;
    plan.files.retain(|file| {
        file.changes
            .iter()
            .any(|change| change.removed.contains(&member.recipient))
    });
    let readable = plan
        .files
        .iter()
        .map(|file| ReadableFile {
            path: file.path.clone(),
            values: crate::fs::read(&file.path)
                .ok()
                .map(|bytes| encrypted_value_paths(&bytes, file.format))
                .unwrap_or_default(),
        })
        .collect();

    crate::fs::write_atomic(
        config_path,
        text.as_bytes(),
        WriteOptions::keep_mode_or(0o644),
    )?;
    let updatekeys = if options.no_updatekeys || plan.is_empty() {
        (!options.no_updatekeys).then(Report::default)
    } else {
        debug_assert!(plan.changed().all(|file| file.action == Action::Rotate));
        Some(
            super::updatekeys::update_keys(
                &plan,
                decryptors,
                &ApplyOptions::with_emit(after.stores),
                observer,
            )
            .map_err(|source| RemoveError::UpdateKeys {
                config: config_path.to_path_buf(),
                source,
            })?,
        )
    };
    Ok(RemoveOutcome {
        name: name.to_owned(),
        recipient: member.recipient.clone(),
        rules,
        readable,
        updatekeys,
    })
}

/// The key paths of the `ENC[…]` values of an encrypted file (nothing is decrypted).
pub(crate) fn encrypted_value_paths(bytes: &[u8], format: Format) -> Vec<String> {
    let Ok(split) = envelope::parse_encrypted(format, bytes) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let documents = split.tree.branches.len();
    for (index, branch) in split.tree.branches.iter().enumerate() {
        let prefix = if documents > 1 {
            format!("(document {}) ", index + 1)
        } else {
            String::new()
        };
        walk_branch(branch, &prefix, &mut out);
    }
    out
}

fn walk_branch(branch: &[Item], path: &str, out: &mut Vec<String>) {
    for item in branch {
        if let Item::Entry { key, value } = item {
            let escaped = key.replace('\\', "\\\\").replace('"', "\\\"");
            walk_value(value, &format!("{path}[\"{escaped}\"]"), out);
        }
    }
}

fn walk_value(value: &Value, path: &str, out: &mut Vec<String>) {
    match value {
        Value::Str(text) if text.as_bytes().starts_with(b"ENC[") => out.push(path.to_owned()),
        Value::Map(branch) => walk_branch(branch, path, out),
        Value::List(items) => {
            for (index, item) in items
                .iter()
                .filter(|item| !matches!(item, Value::Comment(_)))
                .enumerate()
            {
                walk_value(item, &format!("{path}[{index}]"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_encrypted_paths_only() {
        let yaml = b"db:\n    password: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\n    host_unencrypted: db.local\nlist:\n    - ENC[AES256_GCM,data:x,iv:y,tag:z,type:int]\n    - plain\n";
        assert_eq!(
            encrypted_value_paths(yaml, Format::Yaml),
            ["[\"db\"][\"password\"]", "[\"list\"][0]"]
        );
        assert!(encrypted_value_paths(b"{not json", Format::Json).is_empty());
    }
}
