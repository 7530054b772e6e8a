//! Why an install fails: one typed error naming the secret, the file or the field.

use std::path::PathBuf;

use super::manifest::ManifestError;
use crate::keys::age::ParseIdentityError;
use crate::sops::{OpenError, PathError};
use crate::store::{Format, StoreError};

/// Why an install failed. The live generation and `symlinkPath` are untouched unless the
/// variant says otherwise.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstallError {
    /// The manifest is invalid.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A PGP field is set; aesec has no PGP.
    #[error(
        "'{field}' is set in the manifest: PGP keys are not supported by aesec; use age keys (ageKeyFile, ageSshKeyPaths)"
    )]
    Pgp {
        /// `sshKeyPaths` or `gnupgHome`.
        field: &'static str,
    },
    /// A system-mode install (not `userMode`) was started by a user other than root: it could
    /// not mount, nor give files their owners.
    #[error(
        "installing system secrets needs root (uid 0), running as uid {uid}; home-manager manifests set userMode"
    )]
    NotRoot {
        /// The effective uid.
        uid: u32,
    },
    /// The manifest names no identity.
    #[error("no age identity: the manifest sets neither ageKeyFile nor ageSshKeyPaths")]
    NoIdentities,
    /// `ageKeyFile` could not be read.
    #[error("cannot read ageKeyFile '{}'", path.display())]
    AgeKeyFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `ageKeyFile` is not an identity file.
    #[error("ageKeyFile: {source}")]
    AgeKeyFileInvalid {
        /// The cause (names the file).
        #[source]
        source: ParseIdentityError,
    },
    /// An owner name is not in the user database.
    #[error("{kind} '{name}': unknown user '{user}'")]
    UnknownUser {
        /// `secret` or `template`.
        kind: &'static str,
        /// The entry.
        name: String,
        /// The user name.
        user: String,
    },
    /// A group name is not in the group database.
    #[error("{kind} '{name}': unknown group '{group}'")]
    UnknownGroup {
        /// `secret` or `template`.
        kind: &'static str,
        /// The entry.
        name: String,
        /// The group name.
        group: String,
    },
    /// Templates exist but a secret has no placeholder.
    #[error("secret '{secret}': no placeholder in placeholderBySecretName")]
    MissingPlaceholder {
        /// The secret.
        secret: String,
    },
    /// A template has neither `content` nor `file`.
    #[error("template '{template}': neither content nor file is given")]
    EmptyTemplate {
        /// The template.
        template: String,
    },
    /// Two entries of the generation need one path, or one needs another's as its directory.
    #[error(
        "'{name}' cannot be written: '{other}' is already a secret or template of the generation (each needs a path of its own, not inside another's)"
    )]
    NameConflict {
        /// The entry (secret name, or `rendered/<template>`) that cannot be written.
        name: String,
        /// The entry whose path it needs.
        other: String,
    },
    /// Two secrets read one sops file in different formats (sops-nix refuses this too).
    #[error("secret '{secret}': '{}' is read as {format:?} here but as {other:?} by secret '{first}'", file.display())]
    FormatConflict {
        /// The secret naming the second format.
        secret: String,
        /// The first secret using the file.
        first: String,
        /// The file.
        file: PathBuf,
        /// This secret's format.
        format: Format,
        /// The first secret's format.
        other: Format,
    },
    /// A sops file could not be read.
    #[error("secret '{secret}': cannot read '{}'", file.display())]
    ReadSopsFile {
        /// The first secret using the file.
        secret: String,
        /// The file.
        file: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A sops file could not be decrypted (no matching key, MAC mismatch, clear value where
    /// the file's rule demands ciphertext, …).
    #[error("secret '{secret}': cannot decrypt '{}'", file.display())]
    Decrypt {
        /// The first secret using the file.
        secret: String,
        /// The file.
        file: PathBuf,
        /// The cause.
        #[source]
        source: OpenError,
    },
    /// A sops file does not parse as its format (check mode).
    #[error("secret '{secret}': cannot parse '{}'", file.display())]
    Parse {
        /// The first secret using the file.
        secret: String,
        /// The file.
        file: PathBuf,
        /// The cause.
        #[source]
        source: StoreError,
    },
    /// A whole-file secret could not be written out in its format.
    #[error("secret '{secret}': cannot emit '{}'", file.display())]
    Emit {
        /// The secret.
        secret: String,
        /// The file.
        file: PathBuf,
        /// The cause.
        #[source]
        source: StoreError,
    },
    /// The secret's key is not in its file.
    #[error("secret '{secret}': key '{key}' not found in '{}'", file.display())]
    MissingKey {
        /// The secret.
        secret: String,
        /// The file.
        file: PathBuf,
        /// The `/`-separated key.
        key: String,
        /// Where the walk stopped.
        #[source]
        source: Box<PathError>,
    },
    /// The secret's key holds a map, list or non-string scalar.
    #[error("secret '{secret}': the value of key '{key}' in '{}' is not a string", file.display())]
    NotString {
        /// The secret.
        secret: String,
        /// The file.
        file: PathBuf,
        /// The key.
        key: String,
    },
    /// The RAM file system could not be mounted.
    #[error("cannot mount {kind} at '{}'", path.display())]
    Mount {
        /// The mount point.
        path: PathBuf,
        /// `ramfs` or `tmpfs`.
        kind: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The record of custom-path links could not be written.
    #[error(transparent)]
    Fs(#[from] crate::fs::FsError),
    /// `systemctl` could not queue the restarts or reloads (the new generation is live).
    #[error("secrets installed, but `systemctl {verb}` of {} failed", units.join(", "))]
    Systemctl {
        /// `try-restart` or `try-reload-or-restart`.
        verb: &'static str,
        /// The units.
        units: Vec<String>,
        /// What happened.
        #[source]
        source: crate::process::ProcessError,
    },
    /// A file operation failed.
    #[error("cannot {action} '{}'", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}
