//! Trust in a scanned host key: a pinned `SHA256:` fingerprint, a matching `known_hosts` entry,
//! or a person who looked at the fingerprint and said yes.
//!
//! `ssh-keyscan` asks the network, and anyone on the path can answer. [`KeyscanTrust`] says how
//! the answer is checked before anything is written; a scan with no way to trust its key is
//! refused ([`EnrollError::UntrustedHostKey`]), so an unattended run never takes the network's
//! word. The caller gives the `known_hosts` text: the library reads no file by itself.
//!
//! `known_hosts` lines follow sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT": comma-separated host
//! patterns (`*` and `?` wildcards, `!` negation, `[host]:port` for a port other than 22),
//! hashed names `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`, and the markers `@revoked` (a
//! key that must never be accepted) and `@cert-authority` (a CA key, not a host key: ignored).

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use super::EnrollError;
use super::source::HostKey;
use crate::keys::ssh::public_key_to_age;

/// The SSH port, written without brackets in `known_hosts`.
const DEFAULT_SSH_PORT: u16 = 22;

/// The prefix of a hashed host name in `known_hosts`.
const HASHED_PREFIX: &str = "|1|";

/// The question asked before a scanned key is enrolled; `true` accepts it.
pub type ConfirmHostKey = Arc<dyn Fn(&ScannedKey) -> bool + Send + Sync>;

/// How a key from `ssh-keyscan` is trusted. At least one way must accept it; every given check
/// must pass.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct KeyscanTrust {
    /// The expected fingerprint, `SHA256:…` as `ssh-keygen -l` prints it; a different key is
    /// refused ([`EnrollError::FingerprintMismatch`]).
    pub fingerprint: Option<String>,
    /// `known_hosts` text: a matching entry trusts the key, an entry with a different key for
    /// the host or an `@revoked` entry for this key refuses it.
    pub known_hosts: Option<KnownHosts>,
    /// Asked after the checks above (with their verdict in [`ScannedKey::verified`]); `false`
    /// refuses ([`EnrollError::NotConfirmed`]). Without it, an unverified key is refused.
    pub confirm: Option<ConfirmHostKey>,
}

impl fmt::Debug for KeyscanTrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyscanTrust")
            .field("fingerprint", &self.fingerprint)
            .field("known_hosts", &self.known_hosts)
            .field("confirm", &self.confirm.is_some())
            .finish()
    }
}

impl KeyscanTrust {
    /// Trusts exactly the key with this fingerprint (`SHA256:…`).
    pub fn pinned(fingerprint: impl Into<String>) -> Self {
        Self {
            fingerprint: Some(fingerprint.into()),
            ..Self::default()
        }
    }

    /// Trusts a key that `known_hosts` lists for the host.
    pub fn known_hosts(known_hosts: KnownHosts) -> Self {
        Self {
            known_hosts: Some(known_hosts),
            ..Self::default()
        }
    }

    /// Asks `confirm`, showing the key.
    pub fn confirm(confirm: impl Fn(&ScannedKey) -> bool + Send + Sync + 'static) -> Self {
        Self {
            confirm: Some(Arc::new(confirm)),
            ..Self::default()
        }
    }
}

/// The text of a `known_hosts` file, as given by the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KnownHosts {
    /// The file's content.
    pub text: String,
    /// Where it came from (a path), for messages.
    pub origin: String,
}

impl KnownHosts {
    /// `text`, read from `origin`.
    pub fn new(text: impl Into<String>, origin: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            origin: origin.into(),
        }
    }
}

/// A scanned host key, as shown to [`KeyscanTrust::confirm`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScannedKey {
    /// The host as scanned.
    pub host: String,
    /// The SSH port.
    pub port: u16,
    /// `ssh-ed25519 AAAA…`.
    pub ssh_key: String,
    /// `SHA256:…`, as `ssh-keygen -l` prints it.
    pub fingerprint: String,
    /// The age recipient that will be recorded.
    pub recipient: String,
    /// What already vouches for the key, if anything.
    pub verified: Option<Verified>,
}

/// What vouched for a scanned key.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verified {
    /// It has the pinned fingerprint.
    Pinned,
    /// A `known_hosts` entry lists it for the host.
    KnownHosts {
        /// The file.
        origin: String,
        /// The entry's 1-based line.
        line: usize,
    },
}

/// What a `known_hosts` text says about a host and a key.
#[derive(Debug, PartialEq, Eq)]
enum Listing {
    /// An entry for the host has this key (1-based line).
    Match(usize),
    /// An `@revoked` entry has this key (1-based line).
    Revoked(usize),
    /// Entries for the host have other ed25519 keys (their fingerprints).
    Changed(Vec<String>),
    /// No ed25519 entry for the host.
    Absent,
}

/// Checks a scanned `key` of `host:port` against `trust`, asking its confirmation last.
pub(crate) fn check(
    trust: &KeyscanTrust,
    host: &str,
    port: u16,
    key: &HostKey,
) -> Result<(), EnrollError> {
    let ssh_key = key.ssh_key.clone().unwrap_or_default();
    let mut verified = None;
    if let Some(expected) = &trust.fingerprint {
        if !same_fingerprint(expected, &key.fingerprint) {
            return Err(EnrollError::FingerprintMismatch {
                host: host.to_owned(),
                port,
                expected: expected.clone(),
                scanned: key.fingerprint.clone(),
            });
        }
        verified = Some(Verified::Pinned);
    }
    if let Some(known) = &trust.known_hosts {
        match listing(&known.text, host, port, &ssh_key) {
            Listing::Match(line) => {
                verified.get_or_insert(Verified::KnownHosts {
                    origin: known.origin.clone(),
                    line,
                });
            }
            Listing::Revoked(line) => {
                return Err(EnrollError::HostKeyRevoked {
                    fingerprint: key.fingerprint.clone(),
                    origin: known.origin.clone(),
                    line,
                });
            }
            Listing::Changed(known_fingerprints) => {
                return Err(EnrollError::KnownHostsMismatch {
                    host: host.to_owned(),
                    port,
                    origin: known.origin.clone(),
                    known: known_fingerprints.join(", "),
                    scanned: key.fingerprint.clone(),
                });
            }
            Listing::Absent => {}
        }
    }
    let scanned = ScannedKey {
        host: host.to_owned(),
        port,
        ssh_key,
        fingerprint: key.fingerprint.clone(),
        recipient: key.recipient.to_string(),
        verified,
    };
    match &trust.confirm {
        Some(confirm) if confirm(&scanned) => Ok(()),
        Some(_) => Err(EnrollError::NotConfirmed {
            fingerprint: scanned.fingerprint,
        }),
        None if scanned.verified.is_some() => Ok(()),
        None => Err(EnrollError::UntrustedHostKey {
            host: host.to_owned(),
            port,
            fingerprint: scanned.fingerprint,
        }),
    }
}

/// Whether two `SHA256:` fingerprints are the same (base64 padding, if any, ignored).
fn same_fingerprint(expected: &str, actual: &str) -> bool {
    expected.trim().trim_end_matches('=') == actual.trim_end_matches('=')
}

/// The name `known_hosts` uses for `host:port`.
fn host_name(host: &str, port: u16) -> String {
    if port == DEFAULT_SSH_PORT {
        host.to_owned()
    } else {
        format!("[{host}]:{port}")
    }
}

/// Looks up `ssh_key` (`ssh-ed25519 AAAA…`) for `host:port` in `text`.
fn listing(text: &str, host: &str, port: u16, ssh_key: &str) -> Listing {
    let name = host_name(host, port).to_ascii_lowercase();
    let mut key_words = ssh_key.split_whitespace();
    let (Some(key_type), Some(blob)) = (key_words.next(), key_words.next()) else {
        return Listing::Absent;
    };
    let mut found = None;
    let mut others = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        let Some(first) = words.next() else {
            continue;
        };
        let (marker, hosts) = if first.starts_with('@') {
            let Some(hosts) = words.next() else {
                continue;
            };
            (Some(first), hosts)
        } else {
            (None, first)
        };
        let (Some(entry_type), Some(entry_blob)) = (words.next(), words.next()) else {
            continue;
        };
        let same_key = entry_type == key_type && entry_blob == blob;
        match marker {
            // A revoked key is refused whatever host it is listed for.
            Some("@revoked") if same_key => return Listing::Revoked(number),
            Some(_) => continue,
            None => {}
        }
        if entry_type != key_type || !hosts_match(hosts, &name) {
            continue;
        }
        if same_key {
            found.get_or_insert(number);
        } else if let Ok(converted) = public_key_to_age(&format!("{entry_type} {entry_blob}")) {
            others.push(converted.fingerprint);
        } else {
            others.push(format!("unreadable key on line {number}"));
        }
    }
    match found {
        Some(line) => Listing::Match(line),
        None if !others.is_empty() => Listing::Changed(others),
        None => Listing::Absent,
    }
}

/// Whether a comma-separated pattern list matches `name` (lowercase): some pattern matches and
/// no negated one does.
fn hosts_match(patterns: &str, name: &str) -> bool {
    let mut matched = false;
    for pattern in patterns.split(',') {
        if let Some(negated) = pattern.strip_prefix('!') {
            if wildcard_match(&negated.to_ascii_lowercase(), name) {
                return false;
            }
        } else if let Some(hashed) = pattern.strip_prefix(HASHED_PREFIX) {
            matched |= hashed_match(hashed, name);
        } else {
            matched |= wildcard_match(&pattern.to_ascii_lowercase(), name);
        }
    }
    matched
}

/// Whether `salt|hash` (both base64) is HMAC-SHA1(salt, `name`).
fn hashed_match(salt_and_hash: &str, name: &str) -> bool {
    let Some((salt, hash)) = salt_and_hash.split_once('|') else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (STANDARD.decode(salt), STANDARD.decode(hash)) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(&salt) else {
        return false;
    };
    mac.update(name.as_bytes());
    let computed = mac.finalize().into_bytes();
    computed.len() == hash.len() && bool::from(computed.as_slice().ct_eq(&hash))
}

/// `*` (any run) and `?` (one character) glob matching, as ssh's `match_pattern`.
fn wildcard_match(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    let (mut p, mut n) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some('*') => {
                backtrack = Some((p, n));
                p += 1;
            }
            Some(&c) if c == '?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match backtrack {
                Some((star, at)) => {
                    p = star + 1;
                    n = at + 1;
                    backtrack = Some((star, at + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOHz+U0YtjINc54dZiJNclfmEFifF7RXCFlNlTbuZBji";
    const OTHER: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF/KPU3Z5LSjbBI6hrq25wCcseq2UpqSzUFZRr+ux6LM";

    /// `|1|salt|hash` for `name`, computed here with a fixed salt.
    fn hashed(name: &str) -> String {
        let salt = [7_u8; 20];
        let mut mac = Hmac::<Sha1>::new_from_slice(&salt).unwrap();
        mac.update(name.as_bytes());
        format!(
            "|1|{}|{}",
            STANDARD.encode(salt),
            STANDARD.encode(mac.finalize().into_bytes())
        )
    }

    #[test]
    fn plain_bracketed_and_wildcard_names_match() {
        let text = format!("trinity,10.0.0.1 {KEY}\n[db]:2222 {KEY} comment\n*.lan {KEY}\n");
        assert_eq!(listing(&text, "trinity", 22, KEY), Listing::Match(1));
        assert_eq!(listing(&text, "10.0.0.1", 22, KEY), Listing::Match(1));
        assert_eq!(listing(&text, "db", 2222, KEY), Listing::Match(2));
        assert_eq!(listing(&text, "db", 22, KEY), Listing::Absent);
        assert_eq!(listing(&text, "web.lan", 22, KEY), Listing::Match(3));
        assert_eq!(listing(&text, "trinity", 2222, KEY), Listing::Absent);
    }

    #[test]
    fn hashed_names_match_with_the_port_form() {
        let text = format!(
            "{} {KEY}\n{} {KEY}\n",
            hashed("trinity"),
            hashed("[db]:2222")
        );
        assert_eq!(listing(&text, "trinity", 22, KEY), Listing::Match(1));
        assert_eq!(listing(&text, "db", 2222, KEY), Listing::Match(2));
        assert_eq!(listing(&text, "db", 22, KEY), Listing::Absent);
    }

    #[test]
    fn a_different_key_for_the_host_is_a_change() {
        let text = format!("trinity {OTHER}\n");
        let Listing::Changed(known) = listing(&text, "trinity", 22, KEY) else {
            panic!("not a change");
        };
        assert_eq!(known, [public_key_to_age(OTHER).unwrap().fingerprint]);
    }

    #[test]
    fn revoked_refuses_and_cert_authority_is_ignored() {
        let text = format!("@cert-authority trinity {KEY}\n");
        assert_eq!(listing(&text, "trinity", 22, KEY), Listing::Absent);
        let text = format!("trinity {KEY}\n@revoked * {KEY}\n");
        assert_eq!(listing(&text, "trinity", 22, KEY), Listing::Revoked(2));
    }

    #[test]
    fn negation_excludes() {
        let text = format!("*,!trinity {KEY}\n");
        assert_eq!(listing(&text, "trinity", 22, KEY), Listing::Absent);
        assert_eq!(listing(&text, "neo", 22, KEY), Listing::Match(1));
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*", "anything"));
        assert!(wildcard_match("a?c*", "abcdef"));
        assert!(wildcard_match("*.example.*", "a.example.org"));
        assert!(!wildcard_match("a?c", "ac"));
        assert!(!wildcard_match("*.lan", "lan"));
    }
}
