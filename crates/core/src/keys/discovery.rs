//! sops' age key discovery: where decryption identities come from, in sops 3.11's order, applied
//! to sources the caller passes in.
//!
//! sops 3.11 (`age/keysource.go`, `loadIdentities`) loads and merges **all** of these, in order:
//! `SOPS_AGE_SSH_PRIVATE_KEY_FILE`; `~/.ssh/id_ed25519` and `~/.ssh/id_rsa` if they exist (also
//! when the variable is set); `SOPS_AGE_KEY` (identity text); `SOPS_AGE_KEY_FILE`;
//! `SOPS_AGE_KEY_CMD` (split like a shell would, run without one, stdout read as identities);
//! and `$XDG_CONFIG_HOME/sops/age/keys.txt` (else `~/.config/sops/age/keys.txt`). aesec puts its
//! own `--identity FILE`s (age identity files or OpenSSH private keys) first.
//!
//! Core never reads the environment: the CLI fills [`Sources`] from it. SSH keys are added both
//! natively and converted (see [`add_ssh_identity`]), so a host key also decrypts files encrypted
//! to its ssh-to-age recipient. sops records a failing source and goes on with the others, and
//! only reports the failures if no identity decrypts; [`discover_all`] does the same, while
//! [`discover`] fails on the first broken source.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use age::secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::fs::FsError;
use crate::keys::age::{Identities, ParseIdentityError};
use crate::keys::ssh::{PassphrasePrompt, SshToAgeError, add_ssh_identity, is_ssh_private_key};

mod command;

use command::run_key_command;
pub use command::{CommandLineError, split_command_line};

/// Where identities may come from. Each field mirrors one sops environment variable or default;
/// the CLI fills it, core never reads the environment.
///
/// ```
/// use aesec::keys::discovery::Sources;
/// let sources = Sources::new()
///     .identity_file("/run/keys/admin.txt")
///     .ssh_private_key_file("/etc/ssh/ssh_host_ed25519_key")
///     .home_dir("/home/alice")
///     .age_key_file("/home/alice/keys.txt")
///     .age_key_cmd("pass show age-key")
///     .config_dir("/home/alice/.config");
/// assert_eq!(sources.identity_files.len(), 1);
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Sources {
    /// aesec's `--identity FILE`s: age identity files or OpenSSH private keys (detected).
    pub identity_files: Vec<PathBuf>,
    /// `SOPS_AGE_SSH_PRIVATE_KEY_FILE`: an OpenSSH private key.
    pub ssh_private_key_file: Option<PathBuf>,
    /// The user's home directory, for `~/.ssh/id_ed25519`, `~/.ssh/id_rsa` and (without
    /// [`config_dir`](Self::config_dir)) `~/.config`.
    pub home_dir: Option<PathBuf>,
    /// `SOPS_AGE_KEY`: identity file text.
    pub age_key: Option<SecretString>,
    /// `SOPS_AGE_KEY_FILE`: an age identity file.
    pub age_key_file: Option<PathBuf>,
    /// `SOPS_AGE_KEY_CMD`: a command whose stdout is identity file text.
    pub age_key_cmd: Option<String>,
    /// The user configuration directory (`$XDG_CONFIG_HOME`; on macOS sops uses
    /// `~/Library/Application Support` when it is unset); `sops/age/keys.txt` is read from it.
    pub config_dir: Option<PathBuf>,
}

impl Sources {
    /// No sources.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an `--identity FILE`.
    pub fn identity_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.identity_files.push(path.into());
        self
    }

    /// Sets `SOPS_AGE_SSH_PRIVATE_KEY_FILE`.
    pub fn ssh_private_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ssh_private_key_file = Some(path.into());
        self
    }

    /// Sets the home directory.
    pub fn home_dir(mut self, path: impl Into<PathBuf>) -> Self {
        self.home_dir = Some(path.into());
        self
    }

    /// Sets `SOPS_AGE_KEY`.
    pub fn age_key(mut self, text: SecretString) -> Self {
        self.age_key = Some(text);
        self
    }

    /// Sets `SOPS_AGE_KEY_FILE`.
    pub fn age_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.age_key_file = Some(path.into());
        self
    }

    /// Sets `SOPS_AGE_KEY_CMD`.
    pub fn age_key_cmd(mut self, command: impl Into<String>) -> Self {
        self.age_key_cmd = Some(command.into());
        self
    }

    /// Sets the user configuration directory.
    pub fn config_dir(mut self, path: impl Into<PathBuf>) -> Self {
        self.config_dir = Some(path.into());
        self
    }

    /// The default `sops/age/keys.txt`, if a configuration or home directory is known.
    fn default_key_file(&self) -> Option<PathBuf> {
        let config = match (&self.config_dir, &self.home_dir) {
            (Some(config), _) => config.clone(),
            (None, Some(home)) => home.join(".config"),
            (None, None) => return None,
        };
        Some(config.join("sops").join("age").join("keys.txt"))
    }

    /// Every place identities are looked for, in order.
    fn locations(&self) -> Vec<Location> {
        let mut out: Vec<Location> = self
            .identity_files
            .iter()
            .map(|path| Location::IdentityFile(path.clone()))
            .collect();
        out.push(Location::SshKeyFile(self.ssh_private_key_file.clone()));
        if let Some(home) = &self.home_dir {
            let ssh = home.join(".ssh");
            out.push(Location::DefaultSshKey(ssh.join("id_ed25519")));
            out.push(Location::DefaultSshKey(ssh.join("id_rsa")));
        }
        out.push(Location::AgeKey(self.age_key.is_some()));
        out.push(Location::AgeKeyFile(self.age_key_file.clone()));
        out.push(Location::AgeKeyCmd(self.age_key_cmd.is_some()));
        if let Some(path) = self.default_key_file() {
            out.push(Location::DefaultKeyFile(path));
        }
        out
    }
}

/// One place identities are looked for.
enum Location {
    IdentityFile(PathBuf),
    SshKeyFile(Option<PathBuf>),
    DefaultSshKey(PathBuf),
    AgeKey(bool),
    AgeKeyFile(Option<PathBuf>),
    AgeKeyCmd(bool),
    DefaultKeyFile(PathBuf),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unset = |f: &mut fmt::Formatter<'_>, name: &str| write!(f, "{name} (not set)");
        match self {
            Self::IdentityFile(path) => write!(f, "--identity '{}'", path.display()),
            Self::SshKeyFile(Some(path)) => {
                write!(f, "SOPS_AGE_SSH_PRIVATE_KEY_FILE '{}'", path.display())
            }
            Self::SshKeyFile(None) => unset(f, "SOPS_AGE_SSH_PRIVATE_KEY_FILE"),
            Self::DefaultSshKey(path) | Self::DefaultKeyFile(path) => {
                write!(f, "'{}'", path.display())
            }
            Self::AgeKey(true) => f.write_str("SOPS_AGE_KEY"),
            Self::AgeKey(false) => unset(f, "SOPS_AGE_KEY"),
            Self::AgeKeyFile(Some(path)) => write!(f, "SOPS_AGE_KEY_FILE '{}'", path.display()),
            Self::AgeKeyFile(None) => unset(f, "SOPS_AGE_KEY_FILE"),
            Self::AgeKeyCmd(true) => f.write_str("SOPS_AGE_KEY_CMD"),
            Self::AgeKeyCmd(false) => unset(f, "SOPS_AGE_KEY_CMD"),
        }
    }
}

/// Why a source of identities could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// A file named explicitly (or a default file that exists) could not be read.
    #[error("cannot read {source_name}")]
    Read {
        /// The source, e.g. `SOPS_AGE_KEY_FILE '/path'`.
        source_name: String,
        /// The cause.
        #[source]
        source: FsError,
    },
    /// The source is not a valid age identity file; sops refuses the whole source.
    #[error("cannot use the identities from {source_name}")]
    Identities {
        /// The source.
        source_name: String,
        /// The cause.
        #[source]
        source: ParseIdentityError,
    },
    /// An SSH private key could not be used (malformed, unsupported type, passphrase missing
    /// or wrong).
    #[error("cannot use the ssh key {source_name}")]
    SshKey {
        /// The source.
        source_name: String,
        /// The cause.
        #[source]
        source: SshToAgeError,
    },
    /// A passphrase-protected (`age -p`) identity file could not be decrypted.
    #[error("cannot decrypt the passphrase-protected identity file {source_name}: {reason}")]
    EncryptedIdentityFile {
        /// The source.
        source_name: String,
        /// What went wrong.
        reason: String,
    },
    /// `SOPS_AGE_KEY_CMD` could not be split into words (it is not echoed: it may hold secrets).
    #[error("cannot split SOPS_AGE_KEY_CMD into words: {reason}")]
    KeyCommandSyntax {
        /// What is wrong.
        reason: &'static str,
    },
    /// The key command could not be started, or exited unsuccessfully (its status and
    /// standard error are in the source).
    #[error("the SOPS_AGE_KEY_CMD program did not give an identity")]
    KeyCommand {
        /// What happened.
        #[source]
        source: crate::process::ProcessError,
    },
}

/// Everything discovery found: identities from every usable source, the failures of the others,
/// and notes about sources that were skipped.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Discovery {
    /// The identities, in source order.
    pub identities: Identities,
    /// Sources that exist but could not be used.
    pub errors: Vec<DiscoveryError>,
    /// Default sources that were skipped (missing, or encrypted with no passphrase given).
    pub skipped: Vec<String>,
}

/// Where discovery looks, in order, for the "no key could decrypt" message (sops' exit 128).
///
/// ```
/// use aesec::keys::discovery::{describe, Sources};
/// let places = describe(&Sources::new().home_dir("/home/alice"));
/// assert!(places.contains(&"'/home/alice/.ssh/id_ed25519'".to_owned()));
/// assert!(places.contains(&"'/home/alice/.config/sops/age/keys.txt'".to_owned()));
/// assert!(places.contains(&"SOPS_AGE_KEY (not set)".to_owned()));
/// ```
pub fn describe(sources: &Sources) -> Vec<String> {
    sources
        .locations()
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// Loads identities from every source, failing on the first source that exists but cannot be
/// used. Missing default files are skipped; missing named files are errors.
///
/// ```
/// use aesec::keys::discovery::{discover, Sources};
/// use aesec::keys::ssh::NoPrompt;
/// use aesec::secrecy::SecretString;
/// let sources = Sources::new().age_key(SecretString::from(
///     "AGE-SECRET-KEY-170T7N4UDWW0YHCXDX55SHH7WS780Y2E63GMNLMFAKZ2FMJXVQS7QK3VKNT".to_owned(),
/// ));
/// let identities = discover(&sources, &NoPrompt)?;
/// assert_eq!(identities.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn discover(
    sources: &Sources,
    prompt: &dyn PassphrasePrompt,
) -> Result<Identities, DiscoveryError> {
    let discovery = discover_all(sources, prompt);
    match discovery.errors.into_iter().next() {
        Some(error) => Err(error),
        None => Ok(discovery.identities),
    }
}

/// Loads identities from every source as sops does: a source that fails is recorded in
/// [`Discovery::errors`] and the others are still used.
///
/// ```
/// use aesec::keys::discovery::{discover_all, Sources};
/// use aesec::keys::ssh::NoPrompt;
/// let found = discover_all(&Sources::new().age_key_file("/nonexistent/keys.txt"), &NoPrompt);
/// assert!(found.identities.is_empty());
/// assert_eq!(found.errors.len(), 1);
/// ```
pub fn discover_all(sources: &Sources, prompt: &dyn PassphrasePrompt) -> Discovery {
    let mut found = Discovery::default();
    for location in sources.locations() {
        let name = location.to_string();
        match &location {
            Location::IdentityFile(path) => {
                if let Some(bytes) = read_file(path, &name, Need::Required, &mut found) {
                    if is_ssh_private_key(&bytes) {
                        add_ssh_key(&bytes, &name, Need::Required, prompt, &mut found);
                    } else {
                        add_identity_text(&bytes, &name, prompt, &mut found);
                    }
                }
            }
            Location::SshKeyFile(Some(path)) => {
                if let Some(bytes) = read_file(path, &name, Need::Required, &mut found) {
                    add_ssh_key(&bytes, &name, Need::Required, prompt, &mut found);
                }
            }
            Location::DefaultSshKey(path) => {
                if let Some(bytes) = read_file(path, &name, Need::Optional, &mut found) {
                    add_ssh_key(&bytes, &name, Need::Optional, prompt, &mut found);
                }
            }
            Location::AgeKey(true) => {
                if let Some(text) = &sources.age_key {
                    add_identity_text(text.expose_secret().as_bytes(), &name, prompt, &mut found);
                }
            }
            Location::AgeKeyFile(Some(path)) => {
                if let Some(bytes) = read_file(path, &name, Need::Required, &mut found) {
                    add_identity_text(&bytes, &name, prompt, &mut found);
                }
            }
            Location::AgeKeyCmd(true) => {
                if let Some(command) = &sources.age_key_cmd {
                    match run_key_command(command) {
                        Ok(stdout) => add_identity_text(&stdout, &name, prompt, &mut found),
                        Err(error) => found.errors.push(error),
                    }
                }
            }
            Location::DefaultKeyFile(path) => {
                if let Some(bytes) = read_file(path, &name, Need::Optional, &mut found) {
                    add_identity_text(&bytes, &name, prompt, &mut found);
                }
            }
            Location::SshKeyFile(None)
            | Location::AgeKey(false)
            | Location::AgeKeyFile(None)
            | Location::AgeKeyCmd(false) => {}
        }
    }
    found
}

/// Whether a source was named by the user (missing → error) or is a default (missing → skip).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    Required,
    Optional,
}

fn read_file(
    path: &Path,
    name: &str,
    need: Need,
    found: &mut Discovery,
) -> Option<Zeroizing<Vec<u8>>> {
    match crate::fs::read(path) {
        Ok(bytes) => Some(Zeroizing::new(bytes)),
        Err(FsError::Io { source, .. })
            if need == Need::Optional && source.kind() == io::ErrorKind::NotFound =>
        {
            found.skipped.push(format!("{name}: not found"));
            None
        }
        Err(source) => {
            found.errors.push(DiscoveryError::Read {
                source_name: name.to_owned(),
                source,
            });
            None
        }
    }
}

fn add_ssh_key(
    pem: &[u8],
    name: &str,
    need: Need,
    prompt: &dyn PassphrasePrompt,
    found: &mut Discovery,
) {
    let result = match add_ssh_identity(&mut found.identities, pem, None, name) {
        Err(SshToAgeError::PassphraseRequired) => match prompt.passphrase(name) {
            Some(passphrase) => {
                add_ssh_identity(&mut found.identities, pem, Some(&passphrase), name)
            }
            None if need == Need::Optional => {
                found.skipped.push(format!(
                    "{name}: passphrase-protected and no passphrase given"
                ));
                Ok(())
            }
            None => Err(SshToAgeError::PassphraseRequired),
        },
        other => other,
    };
    if let Err(source) = result {
        found.errors.push(DiscoveryError::SshKey {
            source_name: name.to_owned(),
            source,
        });
    }
}

/// Whether the bytes are an age-encrypted file (a passphrase-protected identity file).
fn is_age_encrypted(bytes: &[u8]) -> bool {
    let start = bytes.trim_ascii_start();
    start.starts_with(b"age-encryption.org/") || start.starts_with(b"-----BEGIN AGE ENCRYPTED")
}

fn add_identity_text(
    bytes: &[u8],
    name: &str,
    prompt: &dyn PassphrasePrompt,
    found: &mut Discovery,
) {
    if is_age_encrypted(bytes) {
        match decrypt_identity_file(bytes, name, prompt) {
            Ok(plain) => add_identity_text(&plain, name, prompt, found),
            Err(error) => found.errors.push(error),
        }
        return;
    }
    if let Err(source) = found.identities.add_identity_file(bytes, name) {
        found.errors.push(DiscoveryError::Identities {
            source_name: name.to_owned(),
            source,
        });
    }
}

/// Decrypts an `age -p` identity file with a passphrase from `prompt`.
fn decrypt_identity_file(
    bytes: &[u8],
    name: &str,
    prompt: &dyn PassphrasePrompt,
) -> Result<Zeroizing<Vec<u8>>, DiscoveryError> {
    let failed = |reason: String| DiscoveryError::EncryptedIdentityFile {
        source_name: name.to_owned(),
        reason,
    };
    let passphrase = prompt
        .passphrase(name)
        .ok_or_else(|| failed("no passphrase given".to_owned()))?;
    let identity = age::scrypt::Identity::new(passphrase);
    let reader = age::armor::ArmoredReader::new(bytes.trim_ascii_start());
    let decryptor = age::Decryptor::new(reader).map_err(|e| failed(e.to_string()))?;
    let stream = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| failed(e.to_string()))?;
    super::read_secret(stream).map_err(|e| failed(e.to_string()))
}

#[cfg(test)]
mod tests;
