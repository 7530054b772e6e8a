//! Enrollment: a host (or any member) gets an anchor in `.sops.yaml`, the rules it should read
//! get its alias, and the files under those rules are re-wrapped for it (DESIGN §3).
//!
//! [`enroll`] takes exactly one [`KeySource`] (a live keyscan, a key given as text, or a key
//! generated now) and one [`Targets`]. Trust is explicit: enrolling the same key again changes
//! nothing, and a **different** key for a known name is refused with both fingerprints
//! ([`EnrollError::KeyChanged`]) unless [`EnrollOptions::replace`] is set; a changed host key is
//! an alarm, not an update. The anchor's comment records the SSH key and where it came from:
//!
//! ```yaml
//! keys:
//!   - &trinity age1… # ssh-ed25519 AAAA… (enrolled 2026-11-22, keyscan trinity:22)
//! ```
//!
//! The new `.sops.yaml` is written atomically (after the lossless editor has checked that it
//! reads as intended), then, unless [`EnrollOptions::no_updatekeys`], the files whose rules
//! changed are brought in line with the fleet engine: adding a recipient only re-wraps each
//! file's data key; replacing a key removes the old recipient, so those files get a new data
//! key.
//!
//! **Per-host rules.** The default target is the rule `^DIR/NAME/`, where `DIR/` is taken from
//! the existing per-host rules when one is obvious (a rule `^hosts/trinity/` for member
//! `trinity` gives `hosts/`), else `secrets/`. It is created when missing, naming the admins
//! (members named `admin_…`, see [`crate::config::is_admin_name`]) and the host.
//!
//! **Generated keys** (`enroll --generate`, for a host not installed yet) are stored at
//! `DIR/NAME/ssh_host_ed25519_key` by default: a sops binary file encrypted to the admins only
//! (a rule `^…/ssh_host_ed25519_key$` naming the admins is inserted ahead of the per-host rule
//! when needed), with the `.pub` beside it in clear. [`bootstrap`](fn@super::bootstrap) turns it
//! into the tree `nixos-anywhere --extra-files` expects.

mod error;
mod grant;
mod source;
mod trust;

use std::path::{Path, PathBuf};

use super::apply::{ApplyOptions, Report};
use super::config_file::{config_base, load_text, relative_to};
use super::error::FleetError;
use super::host_paths::{default_host_key_path, host_dir_prefix, pub_path};
use super::plan::PlanOptions;
use crate::config::edit::{ConfigEditor, EditError};
use crate::config::{Config, Member, read_text};
use crate::file::EncryptOptions;
use crate::fs::WriteOptions;
use crate::progress::Observer;
use crate::sops::KeyDecryptor;
use crate::store::Format;

pub use error::EnrollError;
pub use source::KeySource;
use source::{GeneratedHostKey, HostKey, recorded_fingerprint};
pub use trust::{ConfirmHostKey, KeyscanTrust, KnownHosts, ScannedKey, Verified};

/// Which rules a new member is added to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Targets {
    /// The rule governing each path gets the member (relative paths are relative to the
    /// config's directory). A path governed by no rule, or only by a catch-all, gets a rule of
    /// its own: the per-host rule when it is under the host's directory, else a rule for that
    /// path naming the catch-all's members (or the admins) and the host.
    Paths(Vec<PathBuf>),
    /// Every rule (and key group) that names this other member.
    Like(String),
    /// The per-host rule `^DIR/NAME/`, created when missing.
    #[default]
    Default,
}

/// What to enroll.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EnrollRequest {
    /// The member's name: the anchor in `keys:` (letters, digits, `_`, `-`, `.`).
    pub name: String,
    /// Where its key comes from.
    pub source: KeySource,
    /// Which rules it joins.
    pub targets: Targets,
}

impl EnrollRequest {
    /// A request to enroll `name` with the key from `source` into `targets`.
    pub fn new(name: impl Into<String>, source: KeySource, targets: Targets) -> Self {
        Self {
            name: name.into(),
            source,
            targets,
        }
    }
}

/// Options of [`enroll`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct EnrollOptions {
    /// Accept a different key for a member that exists (and overwrite an existing generated
    /// key file).
    pub replace: bool,
    /// Only edit `.sops.yaml` (and store a generated key); leave the files for a later
    /// `updatekeys`.
    pub no_updatekeys: bool,
    /// The date written in the anchor's comment; `None`: today (UTC).
    pub enrolled_on: Option<jiff::civil::Date>,
}

/// What happened to the member's anchor.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
#[non_exhaustive]
pub enum Membership {
    /// A new anchor was added.
    Added,
    /// The member already had this key: nothing changed in `keys:`.
    Unchanged,
    /// The member's key was replaced ([`EnrollOptions::replace`]).
    Replaced {
        /// The recipient it had.
        old_recipient: String,
        /// The old key's fingerprint.
        old_fingerprint: String,
    },
}

/// A rule the member now belongs to.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct RuleGrant {
    /// The rule's 0-based index in the new `.sops.yaml`.
    pub rule: usize,
    /// Its `path_regex`, if any.
    pub path_regex: Option<String>,
    /// Whether the rule was created by this enrollment.
    pub created: bool,
}

/// Where a generated host key was stored.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct GeneratedKey {
    /// The sops-encrypted private key (binary store), encrypted to the admins only.
    pub private_key_path: PathBuf,
    /// The OpenSSH public key, in clear.
    pub public_key_path: PathBuf,
}

/// What [`enroll`] did (serializable for `--json`).
#[derive(Clone, Debug, serde::Serialize)]
#[non_exhaustive]
pub struct EnrollOutcome {
    /// The member.
    pub name: String,
    /// Its age recipient, as recorded.
    pub recipient: String,
    /// `ssh-ed25519 AAAA…`, when the key is an SSH key.
    pub ssh_key: Option<String>,
    /// The key's fingerprint (`SHA256:…`), or the recipient for a bare age key.
    pub fingerprint: String,
    /// What happened to the anchor.
    pub membership: Membership,
    /// The rules the member was added to by this run (or already in).
    pub rules: Vec<RuleGrant>,
    /// Whether `.sops.yaml` was rewritten.
    pub config_changed: bool,
    /// The stored key, for [`KeySource::Generate`].
    pub generated: Option<GeneratedKey>,
    /// What `updatekeys` did; `None` when skipped ([`EnrollOptions::no_updatekeys`]).
    pub updatekeys: Option<Report>,
}

/// Enrolls `request.name` into the `.sops.yaml` at `config_path`, then brings the files of the
/// rules it joined in line (see the module docs).
///
/// `decryptors` must open those files (an admin's identity); `observer` sees the file
/// updates.
///
/// ```
/// use aesec::fleet::{EnrollOptions, EnrollRequest, KeySource, Membership, Targets, enroll};
/// use aesec::progress::NoProgress;
///
/// # let dir = std::env::temp_dir().join(format!("aesec-doc-enroll-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let config = dir.join(".sops.yaml");
/// std::fs::write(&config, "keys:\n  - &admin_alice age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n\
///     creation_rules:\n  - path_regex: ^secrets/\n    age: [*admin_alice]\n")?;
/// let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOHz+U0YtjINc54dZiJNclfmEFifF7RXCFlNlTbuZBji web";
/// let request = EnrollRequest::new("web", KeySource::key(key, "web.pub"), Targets::Default);
/// let mut options = EnrollOptions::default();
/// options.enrolled_on = Some("2026-11-22".parse()?);
/// let outcome = enroll(&config, &request, &[], &options, &NoProgress)?;
/// assert_eq!(outcome.membership, Membership::Added);
/// assert_eq!(outcome.recipient, "age17044m9wgakla6pzftf4srtl3h5mcsr85jysgt5fg23zpnta8sfdqhzn452");
/// let text = std::fs::read_to_string(&config)?;
/// assert!(text.contains("&web age17044m9"));
/// assert!(text.contains("(enrolled 2026-11-22, web.pub)"));
/// assert!(text.contains("path_regex: ^secrets/web/"));
///
/// // The same key again changes nothing.
/// let again = enroll(&config, &request, &[], &options, &NoProgress)?;
/// assert_eq!(again.membership, Membership::Unchanged);
/// assert!(!again.config_changed);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`EnrollError::KeyChanged`] for a different key without `replace`; key-source errors
/// ([`EnrollError::KeyscanFailed`], [`EnrollError::NoScannedKey`],
/// [`EnrollError::InvalidKey`], …); [`EnrollError::Edit`] when `.sops.yaml` cannot be edited
/// safely (nothing is written then);
/// [`EnrollError::UpdateKeys`] when the config was written but its files could not be updated.
pub fn enroll(
    config_path: &Path,
    request: &EnrollRequest,
    decryptors: &[&dyn KeyDecryptor],
    options: &EnrollOptions,
    observer: &dyn Observer,
) -> Result<EnrollOutcome, EnrollError> {
    let name = request.name.as_str();
    let original = read_text(config_path)?;
    let mut editor = ConfigEditor::parse(&original).map_err(|e| edit_error(config_path, e))?;
    let base = config_base(config_path);
    let members = editor.members();
    let host_dir = host_dir_prefix(&editor, &members, config_path)?;

    let (key, generated) = obtain_key(request, &base, config_path, &host_dir, options)?;
    let new_recipient = key.recipient.to_string();
    let membership = set_anchor(&mut editor, config_path, &members, name, &key, options)?;
    let mut created = Vec::new();
    grant::grant_targets(
        &mut editor,
        config_path,
        name,
        &host_dir,
        &request.targets,
        &mut created,
    )?;
    let generated_key = match &generated {
        Some((relative, made)) => Some(store_generated_key(
            &mut editor,
            config_path,
            relative,
            made,
            &mut created,
            decryptors,
        )?),
        None => None,
    };

    let text = editor.to_text();
    let config_changed = text != original;
    if config_changed {
        crate::fs::write_atomic(
            config_path,
            text.as_bytes(),
            WriteOptions::keep_mode_or(0o644),
        )?;
    }
    let config = load_text(&text, config_path)?;
    let rules = rules_granted(&config, &new_recipient, &created);

    let updatekeys = if options.no_updatekeys {
        None
    } else {
        let touched: Vec<String> = match &membership {
            Membership::Replaced { old_recipient, .. } => {
                vec![new_recipient.clone(), old_recipient.clone()]
            }
            _ => vec![new_recipient.clone()],
        };
        Some(
            update_files(&config, &base, &touched, decryptors, observer).map_err(|source| {
                EnrollError::UpdateKeys {
                    config: config_path.to_path_buf(),
                    source,
                }
            })?,
        )
    };

    Ok(EnrollOutcome {
        name: name.to_owned(),
        recipient: new_recipient,
        ssh_key: key.ssh_key,
        fingerprint: key.fingerprint,
        membership,
        rules,
        config_changed,
        generated: generated_key,
        updatekeys,
    })
}

/// The member's key from its source; for [`KeySource::Generate`] also the new key and where it
/// goes, relative to the config's directory (refused when the file exists, unless
/// [`EnrollOptions::replace`]).
fn obtain_key(
    request: &EnrollRequest,
    base: &Path,
    config_path: &Path,
    host_dir: &str,
    options: &EnrollOptions,
) -> Result<(HostKey, Option<(PathBuf, GeneratedHostKey)>), EnrollError> {
    match &request.source {
        KeySource::Keyscan {
            program,
            host,
            port,
            trust,
        } => {
            let key = source::keyscan(program, host, *port)?;
            trust::check(trust, host, *port, &key)?;
            Ok((key, None))
        }
        KeySource::Key { text, origin } => Ok((source::parse_key_text(text, origin)?, None)),
        KeySource::Generate { private_key_path } => {
            let relative = match private_key_path {
                Some(path) => relative_to(base, path).ok_or_else(|| outside(path, config_path))?,
                None => PathBuf::from(default_host_key_path(host_dir, &request.name)),
            };
            let absolute = base.join(&relative);
            if absolute.exists() && !options.replace {
                return Err(EnrollError::KeyFileExists { path: absolute });
            }
            let made = source::generate(&request.name)?;
            let key = made.key.clone();
            Ok((key, Some((relative, made))))
        }
    }
}

/// The error for a target path outside the config's directory.
fn outside(path: &Path, config_path: &Path) -> EnrollError {
    EnrollError::PathOutsideRepository {
        path: path.to_path_buf(),
        config: config_path.to_path_buf(),
    }
}

/// Adds or replaces the member's anchor (see the module docs on trust), or finds it unchanged.
fn set_anchor(
    editor: &mut ConfigEditor,
    config_path: &Path,
    members: &[Member],
    name: &str,
    key: &HostKey,
    options: &EnrollOptions,
) -> Result<Membership, EnrollError> {
    let new_recipient = key.recipient.to_string();
    if let Some(other) = members
        .iter()
        .find(|m| m.name != name && m.recipient == new_recipient)
    {
        return Err(EnrollError::RecipientInUse {
            member: other.name.clone(),
        });
    }
    let comment = anchor_comment(key, options.enrolled_on);
    match members.iter().find(|m| m.name == name) {
        None => {
            editor
                .add_member(name, &new_recipient, Some(&comment))
                .map_err(|e| edit_error(config_path, e))?;
            Ok(Membership::Added)
        }
        Some(member) if member.recipient == new_recipient => Ok(Membership::Unchanged),
        Some(member) => {
            let old_fingerprint =
                recorded_fingerprint(&member.recipient, member.comment.as_deref());
            if !options.replace {
                return Err(EnrollError::KeyChanged {
                    name: name.to_owned(),
                    old_fingerprint,
                    new_fingerprint: key.fingerprint.clone(),
                });
            }
            editor
                .replace_member(name, &new_recipient, Some(&comment))
                .map_err(|e| edit_error(config_path, e))?;
            Ok(Membership::Replaced {
                old_recipient: member.recipient.clone(),
                old_fingerprint,
            })
        }
    }
}

/// Stores a generated key: the private key encrypted to the admins only, under a rule that
/// says so (made when missing), and the `.pub` in clear beside it.
fn store_generated_key(
    editor: &mut ConfigEditor,
    config_path: &Path,
    relative: &Path,
    made: &GeneratedHostKey,
    created: &mut Vec<usize>,
    decryptors: &[&dyn KeyDecryptor],
) -> Result<GeneratedKey, EnrollError> {
    let recipients = grant::admin_rule_for(editor, config_path, relative, created, decryptors)?;
    let config = load_text(&editor.to_text(), config_path)?;
    let mut encrypt_options = EncryptOptions::new(Format::Binary, Format::Binary);
    encrypt_options.emit = config.stores;
    let encrypted =
        crate::file::encrypt(made.private_pem.as_bytes(), &recipients, &encrypt_options)
            .map_err(|source| EnrollError::EncryptKey { source })?;
    let private_key_path = config_base(config_path).join(relative);
    let public_key_path = pub_path(&private_key_path);
    if let Some(parent) = private_key_path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| EnrollError::CreateDirectory {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    crate::fs::write_atomic(
        &private_key_path,
        &encrypted,
        WriteOptions::with_mode(0o600),
    )?;
    let public = format!("{}\n", made.public_line);
    crate::fs::write_atomic(
        &public_key_path,
        public.as_bytes(),
        WriteOptions::with_mode(0o644),
    )?;
    Ok(GeneratedKey {
        private_key_path,
        public_key_path,
    })
}

/// The rules of the new config that name `recipient`, marked when this run `created` them.
fn rules_granted(config: &Config, recipient: &String, created: &[usize]) -> Vec<RuleGrant> {
    config
        .creation_rules
        .iter()
        .filter(|rule| {
            rule.key_groups
                .iter()
                .any(|group| group.age.contains(recipient))
        })
        .map(|rule| RuleGrant {
            rule: rule.index,
            path_regex: rule.path_regex.as_ref().map(|r| r.as_str().to_owned()),
            created: created.contains(&rule.index),
        })
        .collect()
}

/// Plans the whole tree and applies the part whose changes involve one of `recipients`.
pub(crate) fn update_files(
    config: &Config,
    base: &Path,
    recipients: &[String],
    decryptors: &[&dyn KeyDecryptor],
    observer: &dyn Observer,
) -> Result<Report, FleetError> {
    let files = super::discover::discover(config, &[], base)?;
    let mut plan = super::plan::plan(config, &files, base, &PlanOptions::default())?;
    plan.files.retain(|file| {
        file.changes.iter().any(|change| {
            change
                .added
                .iter()
                .chain(&change.removed)
                .any(|key| recipients.contains(key))
        })
    });
    if plan.is_empty() {
        return Ok(Report::default());
    }
    super::updatekeys::update_keys(
        &plan,
        decryptors,
        &ApplyOptions::with_emit(config.stores),
        observer,
    )
}

/// The anchor's comment: the SSH key (or nothing for a bare age key), the date and the source.
fn anchor_comment(key: &HostKey, enrolled_on: Option<jiff::civil::Date>) -> String {
    let date = enrolled_on.unwrap_or_else(|| {
        jiff::Timestamp::now()
            .to_zoned(jiff::tz::TimeZone::UTC)
            .date()
    });
    let origin = key.origin.replace(['\n', '\r', '#'], " ");
    match &key.ssh_key {
        Some(ssh) => format!("{ssh} (enrolled {date}, {origin})"),
        None => format!("enrolled {date}, {origin}"),
    }
}

pub(crate) fn edit_error(path: &Path, source: EditError) -> EnrollError {
    EnrollError::Edit {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests;
