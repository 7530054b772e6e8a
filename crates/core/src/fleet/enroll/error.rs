//! Why an enrollment failed: every refusal and failure of [`enroll`](super::enroll), from the
//! key source (keyscan, trust, parsing) through the `.sops.yaml` edit to the file updates.

use std::path::PathBuf;

use crate::config::ConfigError;
use crate::config::edit::EditError;
use crate::file::FileError;
use crate::fleet::error::FleetError;
use crate::fs::FsError;
use crate::keys::age::ParseRecipientError;
use crate::keys::ssh::SshToAgeError;

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
    /// `ssh-keyscan` could not be run, failed or ran past its time limit.
    #[error("cannot scan {host}:{port} with ssh-keyscan")]
    KeyscanFailed {
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// What happened.
        #[source]
        source: crate::process::ProcessError,
    },
    /// `ssh-keyscan` ran but printed no ed25519 key (host down, no such key type, timeout).
    #[error("ssh-keyscan found no ed25519 host key on {host}:{port}{}", if stderr.is_empty() { String::new() } else { format!(": {stderr}") })]
    NoScannedKey {
        /// The host.
        host: String,
        /// The port.
        port: u16,
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
    /// The member exists with a different key; refused unless [`EnrollOptions::replace`](super::EnrollOptions::replace).
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
    /// The generated key's file exists; refused unless [`EnrollOptions::replace`](super::EnrollOptions::replace).
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
