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
//! (members named `admin_…`, see [`crate::config::edit`]) and the host.
//!
//! **Generated keys** (`enroll --generate`, for a host not installed yet) are stored at
//! `DIR/NAME/ssh_host_ed25519_key` by default: a sops binary file encrypted to the admins only
//! (a rule `^…/ssh_host_ed25519_key$` naming the admins is inserted ahead of the per-host rule
//! when needed), with the `.pub` beside it in clear. [`bootstrap`](fn@super::bootstrap) turns it
//! into the tree `nixos-anywhere --extra-files` expects.

mod source;
mod trust;

use std::path::{Component, Path, PathBuf};

use super::apply::{ApplyOptions, Report};
use super::error::FleetError;
use super::plan::PlanOptions;
use crate::config::edit::{ConfigEditor, EditError, Member};
use crate::config::{Config, ConfigError, CreationRule};
use crate::file::{EncryptOptions, FileError};
use crate::fs::{FsError, WriteOptions};
use crate::keys::age::ParseRecipientError;
use crate::keys::ssh::SshToAgeError;
use crate::progress::Observer;
use crate::sops::KeyDecryptor;
use crate::store::Format;

use source::{HostKey, recorded_fingerprint};
pub use source::{KEYSCAN_TIMEOUT_SECONDS, KeySource};
pub use trust::{ConfirmHostKey, KeyscanTrust, KnownHosts, ScannedKey, Verified};

/// The file name of a generated host key, as sshd and nixos-anywhere expect it.
pub const HOST_KEY_FILE_NAME: &str = "ssh_host_ed25519_key";

/// The directory of per-host rules when the config shows none.
pub const DEFAULT_HOST_DIR: &str = "secrets/";

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

/// Why an enrollment failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnrollError {
    /// `.sops.yaml` (or a key file) could not be read or written.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// `.sops.yaml` does not load, or a path matches no rule where one is needed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `.sops.yaml` cannot be edited safely, or the edit was refused.
    #[error("cannot edit '{}'", path.display())]
    Edit {
        /// The config file.
        path: PathBuf,
        /// Why.
        #[source]
        source: EditError,
    },
    /// `ssh-keyscan` could not be started.
    #[error("cannot run '{}'", program.display())]
    KeyscanStart {
        /// The program.
        program: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `ssh-keyscan` found no ed25519 key (host down, no such key type, timeout).
    #[error("ssh-keyscan found no ed25519 host key on {host}:{port} (exit {}): {stderr}", status.map_or_else(|| "by signal".to_owned(), |code| code.to_string()))]
    KeyscanFailed {
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// Its exit code.
        status: Option<i32>,
        /// What it said on stderr.
        stderr: String,
    },
    /// The scanned key does not have the pinned fingerprint.
    #[error("the host key of {host}:{port} is {scanned}, but {expected} was expected")]
    FingerprintMismatch {
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// The pinned fingerprint.
        expected: String,
        /// The scanned key's fingerprint.
        scanned: String,
    },
    /// `known_hosts` lists other keys for the host (the key changed, or someone is in between).
    #[error("the host key of {host}:{port} is {scanned}, but '{origin}' lists {known} for it")]
    KnownHostsMismatch {
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// The `known_hosts` file.
        origin: String,
        /// The fingerprints listed for the host.
        known: String,
        /// The scanned key's fingerprint.
        scanned: String,
    },
    /// `known_hosts` marks the scanned key `@revoked`.
    #[error("the scanned host key {fingerprint} is marked @revoked in '{origin}' line {line}")]
    HostKeyRevoked {
        /// The scanned key's fingerprint.
        fingerprint: String,
        /// The `known_hosts` file.
        origin: String,
        /// The 1-based line.
        line: usize,
    },
    /// Nothing vouches for the scanned key (no pin, no `known_hosts` entry) and nobody was asked.
    #[error(
        "nothing vouches for the host key {fingerprint} of {host}:{port}: no pinned fingerprint and no known_hosts entry"
    )]
    UntrustedHostKey {
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// The scanned key's fingerprint.
        fingerprint: String,
    },
    /// The scanned key was shown and declined.
    #[error("the host key {fingerprint} was not accepted")]
    NotConfirmed {
        /// The scanned key's fingerprint.
        fingerprint: String,
    },
    /// The key text holds no usable ed25519 key.
    #[error("no ssh-ed25519 key or age recipient in {origin}")]
    NoEd25519Key {
        /// Where the text came from.
        origin: String,
    },
    /// The key text holds a key that cannot be converted.
    #[error("unusable key in {origin}")]
    InvalidKey {
        /// Where the text came from.
        origin: String,
        /// Why.
        #[source]
        source: SshToAgeError,
    },
    /// The `age1…` recipient is invalid.
    #[error("invalid age recipient in {origin}")]
    InvalidRecipient {
        /// Where the text came from.
        origin: String,
        /// Why.
        #[source]
        source: ParseRecipientError,
    },
    /// The member exists with a different key; refused unless [`EnrollOptions::replace`].
    #[error(
        "member '{name}' is enrolled with a different key: recorded {old_fingerprint}, offered {new_fingerprint}"
    )]
    KeyChanged {
        /// The member.
        name: String,
        /// The recorded key's fingerprint.
        old_fingerprint: String,
        /// The offered key's fingerprint.
        new_fingerprint: String,
    },
    /// Another member already has this key.
    #[error("this key is already enrolled as member '{member}'")]
    RecipientInUse {
        /// The member holding it.
        member: String,
    },
    /// `--like` names no member.
    #[error("no member named '{name}' in keys")]
    UnknownMember {
        /// The name.
        name: String,
    },
    /// `--like` names a member that no rule names.
    #[error("no creation rule names member '{name}'")]
    NoRulesNaming {
        /// The name.
        name: String,
    },
    /// A rule must be made, or a key stored, for the admins, and no member is an admin.
    #[error("no admin in keys (admins are members named 'admin_…')")]
    NoAdmins,
    /// A target path is outside the config's directory.
    #[error("'{}' is outside the directory of '{}'", path.display(), config.display())]
    PathOutsideRepository {
        /// The path.
        path: PathBuf,
        /// The config file.
        config: PathBuf,
    },
    /// A new rule for a path governed by a catch-all cannot keep the catch-all's readers,
    /// because it names recipients that are not members or has several key groups.
    #[error(
        "'{}' is governed by catch-all rule {rule}, whose readers cannot be copied to a new rule (recipients that are not members, or several key groups)",
        path.display()
    )]
    CatchAllShape {
        /// The path.
        path: PathBuf,
        /// The catch-all rule.
        rule: usize,
    },
    /// The generated key's file exists; refused unless [`EnrollOptions::replace`].
    #[error("'{}' exists", path.display())]
    KeyFileExists {
        /// The file.
        path: PathBuf,
    },
    /// A directory for the generated key could not be created.
    #[error("cannot create directory '{}'", path.display())]
    CreateDirectory {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The system's random number generator failed.
    #[error("cannot get random bytes for a new host key")]
    Random {
        /// The cause.
        #[source]
        source: getrandom::Error,
    },
    /// The new host key could not be encoded.
    #[error("cannot encode the new host key")]
    GenerateKey {
        /// The cause.
        #[source]
        source: ssh_key::Error,
    },
    /// The generated private key could not be encrypted.
    #[error("cannot encrypt the new host key to the admins")]
    EncryptKey {
        /// The cause.
        #[source]
        source: FileError,
    },
    /// `.sops.yaml` was written, but the files could not be brought in line: nothing of them was
    /// written when the error is about planning, opening or re-encrypting.
    #[error("'{}' was updated, but its files were not (run 'aesec updatekeys')", config.display())]
    UpdateKeys {
        /// The config file.
        config: PathBuf,
        /// Why.
        #[source]
        source: FleetError,
    },
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
/// ([`EnrollError::KeyscanFailed`], [`EnrollError::InvalidKey`], …); [`EnrollError::Edit`]
/// when `.sops.yaml` cannot be edited safely (nothing is written then);
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

    let mut generated = None;
    let key = match &request.source {
        KeySource::Keyscan {
            program,
            host,
            port,
            trust,
        } => {
            let key = source::keyscan(program, host, *port)?;
            trust::check(trust, host, *port, &key)?;
            key
        }
        KeySource::Key { text, origin } => source::parse_key_text(text, origin)?,
        KeySource::Generate { private_key_path } => {
            let relative = match private_key_path {
                Some(path) => relative_to(&base, path, config_path)?,
                None => PathBuf::from(format!("{host_dir}{name}/{HOST_KEY_FILE_NAME}")),
            };
            let absolute = base.join(&relative);
            if absolute.exists() && !options.replace {
                return Err(EnrollError::KeyFileExists { path: absolute });
            }
            let made = source::generate(name)?;
            let key = made.key.clone();
            generated = Some((relative, made));
            key
        }
    };

    // The anchor.
    let new_recipient = key.recipient.to_string();
    if let Some(other) = members
        .iter()
        .find(|m| m.name != name && m.recipient == new_recipient)
    {
        return Err(EnrollError::RecipientInUse {
            member: other.name.clone(),
        });
    }
    let comment = anchor_comment(&key, options.enrolled_on);
    let membership = match members.iter().find(|m| m.name == name) {
        None => {
            editor
                .add_member(name, &new_recipient, Some(&comment))
                .map_err(|e| edit_error(config_path, e))?;
            Membership::Added
        }
        Some(member) if member.recipient == new_recipient => Membership::Unchanged,
        Some(member) => {
            let old_fingerprint =
                recorded_fingerprint(&member.recipient, member.comment.as_deref());
            if !options.replace {
                return Err(EnrollError::KeyChanged {
                    name: name.to_owned(),
                    old_fingerprint,
                    new_fingerprint: key.fingerprint,
                });
            }
            editor
                .replace_member(name, &new_recipient, Some(&comment))
                .map_err(|e| edit_error(config_path, e))?;
            Membership::Replaced {
                old_recipient: member.recipient.clone(),
                old_fingerprint,
            }
        }
    };

    // The rules.
    let mut created = Vec::new();
    match &request.targets {
        Targets::Default => {
            ensure_host_rule(&mut editor, config_path, name, &host_dir, &mut created)?;
        }
        Targets::Like(other) => grant_like(&mut editor, config_path, name, other)?,
        Targets::Paths(paths) => {
            for path in paths {
                let relative = relative_to(&base, path, config_path)?;
                grant_path(
                    &mut editor,
                    config_path,
                    name,
                    &host_dir,
                    &relative,
                    &mut created,
                )?;
            }
        }
    }

    // The generated key: encrypted to the admins only, under a rule that says so.
    let mut generated_key = None;
    if let Some((relative, made)) = &generated {
        let recipients = admin_rule_for(&mut editor, config_path, relative, &mut created)?;
        let config = load_text(&editor.to_text(), config_path)?;
        let mut encrypt_options = EncryptOptions::new(Format::Binary, Format::Binary);
        encrypt_options.emit = config.stores;
        let encrypted =
            crate::file::encrypt(made.private_pem.as_bytes(), &recipients, &encrypt_options)
                .map_err(|source| EnrollError::EncryptKey { source })?;
        let private_key_path = base.join(relative);
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
        generated_key = Some(GeneratedKey {
            private_key_path,
            public_key_path,
        });
    }

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
    let rules = config
        .creation_rules
        .iter()
        .filter(|rule| {
            rule.key_groups
                .iter()
                .any(|group| group.age.contains(&new_recipient))
        })
        .map(|rule| RuleGrant {
            rule: rule.index,
            path_regex: rule.path_regex.as_ref().map(|r| r.as_str().to_owned()),
            created: created.contains(&rule.index),
        })
        .collect();

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

/// Reads the config as text (invalid UTF-8 is a YAML error for the editor).
pub(crate) fn read_text(path: &Path) -> Result<String, FsError> {
    let bytes = crate::fs::read(path)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Loads the config from edited text, as if it were at `path`.
pub(crate) fn load_text(text: &str, path: &Path) -> Result<Config, ConfigError> {
    Config::from_yaml(text.as_bytes(), path)
}

/// The config's directory, absolute when possible.
pub(crate) fn config_base(config_path: &Path) -> PathBuf {
    let dir = match config_path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::canonicalize(&dir)
        .or_else(|_| std::path::absolute(&dir))
        .unwrap_or(dir)
}

/// `path` with symlinks and `..` resolved as far as it exists (the rest kept as written).
fn resolve(path: &Path) -> PathBuf {
    if let Ok(resolved) = std::fs::canonicalize(path) {
        return resolved;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) if !parent.as_os_str().is_empty() => resolve(parent).join(name),
        _ => path.to_path_buf(),
    }
}

/// `path` relative to `base` (a relative `path` is taken as relative to `base` already).
fn relative_to(base: &Path, path: &Path, config: &Path) -> Result<PathBuf, EnrollError> {
    let outside = || EnrollError::PathOutsideRepository {
        path: path.to_path_buf(),
        config: config.to_path_buf(),
    };
    let relative = if path.is_absolute() {
        resolve(path)
            .strip_prefix(base)
            .map_err(|_| outside())?
            .to_path_buf()
    } else {
        path.to_path_buf()
    };
    let mut clean = PathBuf::new();
    for component in relative.components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            _ => return Err(outside()),
        }
    }
    if clean.as_os_str().is_empty() {
        return Err(outside());
    }
    Ok(clean)
}

/// `FILE.pub`.
pub(crate) fn pub_path(private_key_path: &Path) -> PathBuf {
    let mut name = private_key_path.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// The directory of per-host rules: `DIR/` from a rule `^DIR/NAME/` naming a non-admin member
/// `NAME`, else [`DEFAULT_HOST_DIR`].
pub(crate) fn host_dir_prefix(
    editor: &ConfigEditor,
    members: &[Member],
    config_path: &Path,
) -> Result<String, ConfigError> {
    let config = load_text(&editor.to_text(), config_path)?;
    for rule in &config.creation_rules {
        let Some(regex) = &rule.path_regex else {
            continue;
        };
        let Some(inner) = regex.as_str().strip_prefix('^') else {
            continue;
        };
        for member in members.iter().filter(|m| !m.is_admin) {
            let tail = format!("{}/", regex::escape(&member.name));
            if let Some(prefix) = inner.strip_suffix(&tail)
                && is_literal_dir(prefix)
            {
                return Ok(prefix.to_owned());
            }
        }
    }
    Ok(DEFAULT_HOST_DIR.to_owned())
}

/// Whether a regex prefix is a plain relative directory (`hosts/`, `secrets/hosts/`) or empty.
fn is_literal_dir(prefix: &str) -> bool {
    prefix.is_empty()
        || (prefix.ends_with('/')
            && !prefix.starts_with('/')
            && prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-')))
}

/// Whether a rule governs every path (no `path_regex`, or one matching anything).
fn is_catch_all(rule: &CreationRule) -> bool {
    rule.path_regex.as_ref().is_none_or(|regex| {
        ["", "a", "secrets/host/file.yaml", "/abs/x.json"]
            .iter()
            .all(|sample| regex.is_match(sample))
    })
}

/// The names of the admins.
fn admins(editor: &ConfigEditor) -> Vec<String> {
    editor
        .members()
        .into_iter()
        .filter(|m| m.is_admin)
        .map(|m| m.name)
        .collect()
}

/// Adds `name` to the per-host rule, creating it (admins + host) when missing.
fn ensure_host_rule(
    editor: &mut ConfigEditor,
    config_path: &Path,
    name: &str,
    host_dir: &str,
    created: &mut Vec<usize>,
) -> Result<(), EnrollError> {
    let pattern = format!("^{}{}/", host_dir, regex::escape(name));
    let config = load_text(&editor.to_text(), config_path)?;
    let existing = config.creation_rules.iter().find(|rule| {
        rule.path_regex
            .as_ref()
            .is_some_and(|r| r.as_str() == pattern)
    });
    if let Some(rule) = existing {
        return editor
            .add_alias_to_rule(rule.index, 0, name)
            .map_err(|e| edit_error(config_path, e));
    }
    let mut aliases = admins(editor);
    if aliases.is_empty() {
        return Err(EnrollError::NoAdmins);
    }
    aliases.push(name.to_owned());
    let refs: Vec<&str> = aliases.iter().map(String::as_str).collect();
    let index = editor
        .insert_rule(&pattern, &refs)
        .map_err(|e| edit_error(config_path, e))?;
    shift_created(created, index);
    created.push(index);
    Ok(())
}

/// Records that a rule was inserted at `index`: rules created before it move down.
fn shift_created(created: &mut [usize], index: usize) {
    for rule in created.iter_mut() {
        if *rule >= index {
            *rule += 1;
        }
    }
}

/// Adds `name` to every key group naming `other`.
fn grant_like(
    editor: &mut ConfigEditor,
    config_path: &Path,
    name: &str,
    other: &str,
) -> Result<(), EnrollError> {
    let members = editor.members();
    let Some(other_member) = members.iter().find(|m| m.name == other) else {
        return Err(EnrollError::UnknownMember {
            name: other.to_owned(),
        });
    };
    let config = load_text(&editor.to_text(), config_path)?;
    let mut granted = false;
    for rule in &config.creation_rules {
        for (group, spec) in rule.key_groups.iter().enumerate() {
            if spec.age.contains(&other_member.recipient) {
                editor
                    .add_alias_to_rule(rule.index, group, name)
                    .map_err(|e| edit_error(config_path, e))?;
                granted = true;
            }
        }
    }
    if granted {
        Ok(())
    } else {
        Err(EnrollError::NoRulesNaming {
            name: other.to_owned(),
        })
    }
}

/// Adds `name` to the rule governing `relative`, or makes one (see [`Targets::Paths`]).
fn grant_path(
    editor: &mut ConfigEditor,
    config_path: &Path,
    name: &str,
    host_dir: &str,
    relative: &Path,
    created: &mut Vec<usize>,
) -> Result<(), EnrollError> {
    let config = load_text(&editor.to_text(), config_path)?;
    let base = config_base(config_path);
    let governing = match config.rule_for(&base.join(relative), &base) {
        Ok(rule) => Some(rule),
        Err(ConfigError::NoMatchingRule { .. } | ConfigError::NoCreationRules { .. }) => None,
        Err(error) => return Err(error.into()),
    };
    if let Some(rule) = governing.filter(|rule| !is_catch_all(rule)) {
        return editor
            .add_alias_to_rule(rule.index, 0, name)
            .map_err(|e| edit_error(config_path, e));
    }
    let text = relative.to_string_lossy().replace('\\', "/");
    if text.starts_with(&format!("{host_dir}{name}/")) || text == format!("{host_dir}{name}") {
        return ensure_host_rule(editor, config_path, name, host_dir, created);
    }
    // A rule of its own, keeping the catch-all's readers (or the admins when none governs).
    let mut aliases = match governing {
        Some(rule) => {
            let members = editor.members();
            let [group] = rule.key_groups.as_slice() else {
                return Err(EnrollError::CatchAllShape {
                    path: relative.to_path_buf(),
                    rule: rule.index,
                });
            };
            let mut names = Vec::new();
            for recipient in &group.age {
                let Some(member) = members.iter().find(|m| &m.recipient == recipient) else {
                    return Err(EnrollError::CatchAllShape {
                        path: relative.to_path_buf(),
                        rule: rule.index,
                    });
                };
                names.push(member.name.clone());
            }
            if !(group.pgp.is_empty()
                && group.hc_vault.is_empty()
                && group.kms.is_empty()
                && group.gcp_kms.is_empty()
                && group.azure_keyvault.is_empty())
            {
                return Err(EnrollError::CatchAllShape {
                    path: relative.to_path_buf(),
                    rule: rule.index,
                });
            }
            names
        }
        None => admins(editor),
    };
    if aliases.is_empty() {
        return Err(EnrollError::NoAdmins);
    }
    if !aliases.iter().any(|a| a == name) {
        aliases.push(name.to_owned());
    }
    let pattern = if base.join(relative).is_dir() {
        format!("^{}/", regex::escape(&text))
    } else {
        format!("^{}$", regex::escape(&text))
    };
    let refs: Vec<&str> = aliases.iter().map(String::as_str).collect();
    let index = editor
        .insert_rule(&pattern, &refs)
        .map_err(|e| edit_error(config_path, e))?;
    shift_created(created, index);
    created.push(index);
    Ok(())
}

/// Makes sure the rule governing `relative` names exactly the admins (inserting
/// `^relative$` with the admins when it does not) and returns the recipients to encrypt to.
fn admin_rule_for(
    editor: &mut ConfigEditor,
    config_path: &Path,
    relative: &Path,
    created: &mut Vec<usize>,
) -> Result<crate::sops::Recipients, EnrollError> {
    let members = editor.members();
    let admin_recipients: Vec<&String> = members
        .iter()
        .filter(|m| m.is_admin)
        .map(|m| &m.recipient)
        .collect();
    if admin_recipients.is_empty() {
        return Err(EnrollError::NoAdmins);
    }
    let base = config_base(config_path);
    let absolute = base.join(relative);
    let admins_only = |rule: &CreationRule| {
        let mut keys: Vec<&String> = rule.key_groups.iter().flat_map(|g| &g.age).collect();
        keys.sort();
        keys.dedup();
        let mut wanted = admin_recipients.clone();
        wanted.sort();
        wanted.dedup();
        keys == wanted && rule.key_groups.iter().all(|g| g.pgp.is_empty())
    };
    let config = load_text(&editor.to_text(), config_path)?;
    let fits = config.rule_for(&absolute, &base).is_ok_and(admins_only);
    if !fits {
        let text = relative.to_string_lossy().replace('\\', "/");
        let pattern = format!("^{}$", regex::escape(&text));
        let names = admins(editor);
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let index = editor
            .insert_rule(&pattern, &refs)
            .map_err(|e| edit_error(config_path, e))?;
        shift_created(created, index);
        created.push(index);
    }
    let config = load_text(&editor.to_text(), config_path)?;
    let rule = config.rule_for(&absolute, &base)?;
    crate::file::rule_recipients(rule, None).map_err(|source| EnrollError::EncryptKey { source })
}

#[cfg(test)]
mod tests;
