//! age recipients and identities as sops uses them: X25519 (`age1…`), post-quantum
//! (`age1pq1…`) and native SSH (`ssh-ed25519 …`, `ssh-rsa …`) recipients, and a set of
//! identities to decrypt with.
//!
//! # Post-quantum age keys
//!
//! `age1pq1…` recipients and `AGE-SECRET-KEY-PQ-1…` identities are age's hybrid ML-KEM-768 +
//! X25519 keys (stanza `mlkem768x25519`), byte-compatible with Go age 1.3+ and therefore with
//! sops 3.12+. rage's `age` crate does not have them yet; aesec implements them on RustCrypto's
//! `ml-kem` and `curve25519-dalek` (see the `pq` submodule), and as far as we found no other Rust tool reads or
//! writes them. Generate one with [`GeneratedIdentity::generate_pq`]. sops encrypts the data key
//! once per recipient, so a file can list post-quantum and X25519 recipients side by side (and
//! is then only as strong as its classic entries); inside one age entry they never mix.
//!
//! # Classic X25519 keys
//!
//! `age1…` recipients and `AGE-SECRET-KEY-1…` identities are parsed by the `age` crate (so the
//! same strings are accepted) but wrap and unwrap with aesec's own stanza code (the `x25519`
//! submodule): the same stanzas, about a third less time per wrap and half per unwrap, and a
//! low-order recipient refused as Go age refuses it instead of the crate's panic.
//!
//! sops ≥ 3.10 accepts both recipient kinds in `.sops.yaml` and in file metadata and stores the
//! recipient text verbatim (an SSH comment included), so [`Recipient`] keeps the text it was
//! parsed from and prints it back unchanged.

use std::fmt;
use std::io::BufRead;
use std::str::FromStr;

use age::secrecy::{ExposeSecret, SecretString};

mod bech32;
mod dh;
mod file_key;
mod pq;
mod ssh;
pub(crate) mod x25519;

/// A recipient a sops data key can be encrypted to.
#[derive(Clone)]
pub struct Recipient {
    text: String,
    kind: RecipientKind,
}

#[derive(Clone)]
enum RecipientKind {
    X25519(x25519::Recipient),
    // Boxed: an ML-KEM-768 key is over 1.5 KB.
    PostQuantum(Box<pq::Recipient>),
    Ssh(ssh::SshRecipient),
}

/// Why a recipient string was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseRecipientError {
    /// An `age1…` string that is not a valid X25519 recipient, or an `age1pq1…` string that is
    /// not a valid post-quantum one.
    #[error("invalid age recipient '{text}': {reason}")]
    InvalidAge {
        /// The recipient as given.
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An `age1<plugin>1…` recipient: plugins are not supported yet.
    #[error("age plugin recipient '{text}' is not supported")]
    Plugin {
        /// The recipient as given.
        text: String,
    },
    /// An `ssh-…` string that age cannot encrypt to.
    #[error("invalid ssh recipient '{text}': {reason}")]
    InvalidSsh {
        /// The recipient as given.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Neither an `age1…` nor an `ssh-…` string.
    #[error("unknown recipient '{text}': expected 'age1…' or an ssh public key")]
    Unknown {
        /// The recipient as given.
        text: String,
    },
}

impl Recipient {
    /// The recipient as age's encryption API wants it.
    pub fn as_age(&self) -> &dyn age::Recipient {
        match &self.kind {
            RecipientKind::X25519(r) => r,
            RecipientKind::PostQuantum(r) => r.as_ref(),
            RecipientKind::Ssh(r) => r,
        }
    }

    /// Whether this is a native SSH recipient rather than an X25519 one.
    pub fn is_ssh(&self) -> bool {
        matches!(self.kind, RecipientKind::Ssh(_))
    }

    /// Parses a comma-separated list as sops does (`--age`, `SOPS_AGE_RECIPIENTS`, `.sops.yaml`
    /// strings): entries trimmed, empty entries dropped.
    ///
    /// ```
    /// use aesec::keys::age::Recipient;
    /// let list = Recipient::parse_list(
    ///     "age1m69ryw24zjg9pmxr033synsftwkt4f8nh7xp7cm07at3n3r67yfswcwm58, ",
    /// )?;
    /// assert_eq!(list.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse_list(list: &str) -> Result<Vec<Self>, ParseRecipientError> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(str::parse)
            .collect()
    }
}

impl FromStr for Recipient {
    type Err = ParseRecipientError;

    /// Parses `age1…` or an SSH public key line; surrounding white space is ignored and the
    /// rest is kept verbatim for [`Display`](fmt::Display).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim().to_owned();
        if text.starts_with(pq::RECIPIENT_PREFIX) {
            match pq::Recipient::from_str(&text) {
                Ok(r) => Ok(Self {
                    text,
                    kind: RecipientKind::PostQuantum(Box::new(r)),
                }),
                Err(reason) => Err(ParseRecipientError::InvalidAge { text, reason }),
            }
        } else if let Some(rest) = text.strip_prefix("age1") {
            if rest.contains('1') {
                return Err(ParseRecipientError::Plugin { text });
            }
            match x25519::Recipient::from_str(&text) {
                Ok(r) => Ok(Self {
                    text,
                    kind: RecipientKind::X25519(r),
                }),
                Err(reason) => Err(ParseRecipientError::InvalidAge { text, reason }),
            }
        } else if text.starts_with("ssh-") {
            match age::ssh::Recipient::from_str(&text) {
                Ok(r) => Ok(Self {
                    kind: RecipientKind::Ssh(ssh::SshRecipient::new(r, &text)),
                    text,
                }),
                Err(e) => {
                    let reason = match e {
                        age::ssh::ParseRecipientKeyError::Invalid(why) => why.to_owned(),
                        age::ssh::ParseRecipientKeyError::Unsupported(kind) => {
                            format!("key type '{kind}' is not supported")
                        }
                        age::ssh::ParseRecipientKeyError::RsaModulusTooLarge => {
                            "RSA modulus too large".to_owned()
                        }
                        age::ssh::ParseRecipientKeyError::RsaModulusTooSmall => {
                            "RSA modulus smaller than 2048 bits".to_owned()
                        }
                        _ => "unsupported ssh key".to_owned(),
                    };
                    Err(ParseRecipientError::InvalidSsh { text, reason })
                }
            }
        } else {
            Err(ParseRecipientError::Unknown { text })
        }
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recipient({})", self.text)
    }
}

impl PartialEq for Recipient {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Recipient {}

/// A set of age identities to try when decrypting a data key, each with the name of the source
/// it came from (for error messages).
#[derive(Default)]
pub struct Identities {
    entries: Vec<(Box<dyn age::Identity + Send + Sync>, String)>,
    /// The recipients of the identities whose stanzas name no recipient (X25519 and
    /// post-quantum), as sops writes them in an entry's `recipient`: the entries to try first.
    recipients: Vec<String>,
}

/// Why identities could not be read from a source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseIdentityError {
    /// The text is not an age identity file.
    #[error("{source_name}: not a valid age identity file: {reason}")]
    Invalid {
        /// Where the text came from (a path, an environment variable name).
        source_name: String,
        /// What is wrong.
        reason: String,
    },
}

impl Identities {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one identity from `source_name`.
    pub fn push(&mut self, identity: Box<dyn age::Identity + Send + Sync>, source_name: &str) {
        self.entries.push((identity, source_name.to_owned()));
    }

    /// Adds one classic age identity from `source_name`, remembering its recipient.
    pub(crate) fn push_x25519(&mut self, identity: x25519::Identity, source_name: &str) {
        let recipient = identity.to_public().to_string();
        self.push_labelled(Box::new(identity), recipient, source_name);
    }

    /// Adds one identity whose stanzas name no recipient, with the recipient sops labels its
    /// entries with.
    fn push_labelled(
        &mut self,
        identity: Box<dyn age::Identity + Send + Sync>,
        recipient: String,
        source_name: &str,
    ) {
        self.recipients.push(recipient);
        self.push(identity, source_name);
    }

    /// Moves every identity of `other` into this set.
    pub fn extend(&mut self, other: Self) {
        self.entries.extend(other.entries);
        self.recipients.extend(other.recipients);
    }

    /// Whether `recipient` is the recipient of one of the X25519 or post-quantum identities: a
    /// sops entry labelled with it is the one to try first. The label is the file's word, not
    /// a proof, so the other entries are still tried after it.
    pub(crate) fn has_recipient(&self, recipient: &str) -> bool {
        self.recipients.iter().any(|own| own == recipient)
    }

    /// Reads an age identity file's text (`AGE-SECRET-KEY-1…` and `AGE-SECRET-KEY-PQ-1…` lines,
    /// `#` comments, blank lines) as sops does; any other line makes the whole source fail.
    /// Returns how many were added.
    ///
    /// ```
    /// use aesec::keys::age::Identities;
    /// let mut identities = Identities::new();
    /// let n = identities.add_identity_file_text(
    ///     "# public key: age1m69ryw24zjg9pmxr033synsftwkt4f8nh7xp7cm07at3n3r67yfswcwm58\n\
    ///      AGE-SECRET-KEY-170T7N4UDWW0YHCXDX55SHH7WS780Y2E63GMNLMFAKZ2FMJXVQS7QK3VKNT\n",
    ///     "keys.txt",
    /// )?;
    /// assert_eq!(n, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_identity_file_text(
        &mut self,
        text: &str,
        source_name: &str,
    ) -> Result<usize, ParseIdentityError> {
        let invalid = |reason: String| ParseIdentityError::Invalid {
            source_name: source_name.to_owned(),
            reason,
        };
        // As the age crate reads an identity file (without plugins): blank lines and `#`
        // comments skipped, every other line an identity, exactly as written (Go does not trim
        // them either); the classic ones become aesec's faster X25519 identities.
        let mut parsed: Vec<(Box<dyn age::Identity + Send + Sync>, String)> = Vec::new();
        for (index, line) in text.lines().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line.starts_with(pq::IDENTITY_PREFIX) {
                let identity = line.parse::<pq::Identity>().map_err(|reason| {
                    invalid(format!(
                        "post-quantum identity on line {}: {reason}",
                        index + 1
                    ))
                })?;
                let recipient = identity.to_public().to_string();
                parsed.push((Box::new(identity), recipient));
            } else {
                // The age crate's words, which name the line and not its secret content.
                let identity = line.parse::<x25519::Identity>().map_err(|_| {
                    invalid(format!(
                        "identity file contains non-identity data on line {}",
                        index + 1
                    ))
                })?;
                let recipient = identity.to_public().to_string();
                parsed.push((Box::new(identity), recipient));
            }
        }
        let count = parsed.len();
        for (identity, recipient) in parsed {
            self.push_labelled(identity, recipient, source_name);
        }
        Ok(count)
    }

    /// Reads identities from a reader holding an identity file.
    pub fn add_identity_file(
        &mut self,
        reader: impl BufRead,
        source_name: &str,
    ) -> Result<usize, ParseIdentityError> {
        let invalid = |reason: String| ParseIdentityError::Invalid {
            source_name: source_name.to_owned(),
            reason,
        };
        let bytes = super::read_secret(reader).map_err(|e| invalid(e.to_string()))?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| invalid("stream did not contain valid UTF-8".to_owned()))?;
        self.add_identity_file_text(text, source_name)
    }

    /// The identities, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = &dyn age::Identity> {
        self.entries
            .iter()
            .map(|(identity, _)| identity.as_ref() as &dyn age::Identity)
    }

    /// The names of the sources the identities came from, in order, without duplicates.
    pub fn source_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for (_, name) in &self.entries {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
        names
    }

    /// How many identities there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl fmt::Debug for Identities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identities")
            .field("sources", &self.source_names())
            .finish_non_exhaustive()
    }
}

/// A freshly generated X25519 or post-quantum identity, as `age-keygen` (`-pq`) makes one.
pub struct GeneratedIdentity {
    identity: GeneratedKind,
}

enum GeneratedKind {
    X25519(x25519::Identity),
    // Boxed: the expanded ML-KEM-768 keys are several KB.
    PostQuantum(Box<pq::Identity>),
}

impl GeneratedIdentity {
    /// Generates a new X25519 identity from the operating system's random source.
    pub fn generate() -> Self {
        Self {
            identity: GeneratedKind::X25519(x25519::Identity::from(
                &age::x25519::Identity::generate(),
            )),
        }
    }

    /// Generates a new post-quantum identity (`AGE-SECRET-KEY-PQ-1…`, recipient `age1pq1…`)
    /// from the operating system's random source, as `age-keygen -pq` does.
    ///
    /// ```
    /// use aesec::keys::age::GeneratedIdentity;
    /// let key = GeneratedIdentity::generate_pq()?;
    /// assert!(key.recipient().to_string().starts_with("age1pq1"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// When the operating system's random source fails.
    pub fn generate_pq() -> Result<Self, getrandom::Error> {
        Ok(Self {
            identity: GeneratedKind::PostQuantum(Box::new(pq::Identity::generate()?)),
        })
    }

    /// The public recipient.
    pub fn recipient(&self) -> Recipient {
        let kind = match &self.identity {
            GeneratedKind::X25519(identity) => RecipientKind::X25519(identity.to_public()),
            GeneratedKind::PostQuantum(identity) => {
                RecipientKind::PostQuantum(Box::new(identity.to_public()))
            }
        };
        let text = match &kind {
            RecipientKind::X25519(r) => r.to_string(),
            RecipientKind::PostQuantum(r) => r.to_string(),
            RecipientKind::Ssh(r) => r.to_string(),
        };
        Recipient { text, kind }
    }

    /// The identity file text `age-keygen` writes: `# created: …`, `# public key: …`, the key.
    ///
    /// ```
    /// use aesec::age::secrecy::ExposeSecret;
    /// use aesec::keys::age::GeneratedIdentity;
    /// let key = GeneratedIdentity::generate();
    /// let text = key.to_identity_file("2026-11-22T00:00:00Z");
    /// assert!(text.expose_secret().contains("AGE-SECRET-KEY-1"));
    /// ```
    pub fn to_identity_file(&self, created: &str) -> SecretString {
        let secret = match &self.identity {
            GeneratedKind::X25519(identity) => identity.to_secret_string(),
            GeneratedKind::PostQuantum(identity) => identity.to_secret_string(),
        };
        SecretString::from(format!(
            "# created: {created}\n# public key: {}\n{}\n",
            self.recipient(),
            secret.expose_secret()
        ))
    }
}

impl fmt::Debug for GeneratedIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedIdentity")
            .field("recipient", &self.recipient().to_string())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VEC_RECIPIENT: &str = "age1m69ryw24zjg9pmxr033synsftwkt4f8nh7xp7cm07at3n3r67yfswcwm58";
    const VEC_KEY: &str =
        "AGE-SECRET-KEY-170T7N4UDWW0YHCXDX55SHH7WS780Y2E63GMNLMFAKZ2FMJXVQS7QK3VKNT";

    #[test]
    fn recipients_keep_their_text() {
        let ssh = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOHz+U0YtjINc54dZiJNclfmEFifF7RXCFlNlTbuZBji joerg@turingmachine";
        let r: Recipient = ssh.parse().unwrap();
        assert!(r.is_ssh());
        assert_eq!(r.to_string(), ssh);
        let r: Recipient = format!("  {VEC_RECIPIENT} ").parse().unwrap();
        assert_eq!(r.to_string(), VEC_RECIPIENT);
        assert!(!r.is_ssh());
    }

    #[test]
    fn bad_recipients_are_refused() {
        assert!(matches!(
            "age1xyz".parse::<Recipient>(),
            Err(ParseRecipientError::InvalidAge { .. })
        ));
        assert!(matches!(
            "age1yubikey1qwerty".parse::<Recipient>(),
            Err(ParseRecipientError::Plugin { .. })
        ));
        assert!(matches!(
            "ssh-ed25519 AAAA".parse::<Recipient>(),
            Err(ParseRecipientError::InvalidSsh { .. })
        ));
        assert!(matches!(
            "pgp:1234".parse::<Recipient>(),
            Err(ParseRecipientError::Unknown { .. })
        ));
    }

    #[test]
    fn identity_files_parse_and_refuse_junk() {
        let mut ids = Identities::new();
        assert_eq!(
            ids.add_identity_file_text(&format!("# c\n\n{VEC_KEY}\n"), "k")
                .unwrap(),
            1
        );
        assert_eq!(ids.len(), 1);
        assert!(matches!(
            ids.add_identity_file_text("not a key\n", "bad"),
            Err(ParseIdentityError::Invalid { .. })
        ));
        let shown = format!("{ids:?}");
        assert!(!shown.contains("SECRET"));
    }

    #[test]
    fn post_quantum_keys_dispatch_before_the_plugin_rule() {
        let key = GeneratedIdentity::generate_pq().unwrap();
        let recipient = key.recipient().to_string();
        let parsed: Recipient = recipient.parse().unwrap();
        assert!(!parsed.is_ssh());
        assert_eq!(parsed.to_string(), recipient);
        // An `age1pq1…` string is never taken for a plugin named "pq".
        assert!(matches!(
            "age1pq1xyz".parse::<Recipient>(),
            Err(ParseRecipientError::InvalidAge { .. })
        ));

        let file = key.to_identity_file("now");
        let pq_line = file.expose_secret().lines().nth(2).unwrap().to_owned();
        let mut ids = Identities::new();
        let mixed = format!("# c\n{VEC_KEY}\n{pq_line}\r\n");
        assert_eq!(ids.add_identity_file_text(&mixed, "k").unwrap(), 2);
        // Go does not trim identity lines, nor accept lower case.
        for bad in [format!("{pq_line} "), pq_line.to_lowercase()] {
            assert!(matches!(
                Identities::new().add_identity_file_text(&bad, "bad"),
                Err(ParseIdentityError::Invalid { .. })
            ));
        }
        assert!(!format!("{key:?} {ids:?}").contains("SECRET"));
    }

    #[test]
    fn generated_identity_round_trips() {
        let key = GeneratedIdentity::generate();
        let text = key.to_identity_file("now");
        let mut ids = Identities::new();
        ids.add_identity_file_text(text.expose_secret(), "gen")
            .unwrap();
        assert_eq!(ids.len(), 1);
        assert!(!format!("{key:?}").contains("SECRET"));
    }
}
