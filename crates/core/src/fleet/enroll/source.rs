//! Where an enrolled member's key comes from: a live `ssh-keyscan`, a key given as text, or an
//! ed25519 host key generated now for a host that is not installed yet.
//!
//! Every source ends as a [`HostKey`]: the age recipient to record, and (for SSH keys) the
//! `ssh-ed25519 AAAA…` public key and its `SHA256:` fingerprint, which the anchor's comment
//! keeps so that a later key change can be shown and checked.

use crate::process::{RunOptions, run};
use std::path::PathBuf;

use ssh_key::private::{Ed25519Keypair, KeypairData};
use ssh_key::{LineEnding, PrivateKey};
use zeroize::Zeroizing;

use super::EnrollError;
use super::trust::KeyscanTrust;
use crate::keys::age::Recipient;
use crate::keys::ssh::{Converted, SshToAgeError, public_key_to_age, public_keys_to_age};

/// How long `ssh-keyscan` waits for the host, in seconds (`-T`).
pub(crate) const KEYSCAN_TIMEOUT_SECONDS: u32 = 5;

/// The SSH key type enrolled hosts must have.
const ED25519: &str = "ssh-ed25519";

/// Where the member's key comes from (exactly one source per enrollment).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum KeySource {
    /// Ask the host's sshd for its ed25519 host key with OpenSSH's `ssh-keyscan -t ed25519 -p
    /// PORT -T 5 HOST`; the answer is checked with `trust` before anything is written.
    Keyscan {
        /// The `ssh-keyscan` program (a path, or a name looked up in `PATH`).
        program: PathBuf,
        /// The host name or address.
        host: String,
        /// The SSH port.
        port: u16,
        /// How the scanned key is trusted (a scan nothing vouches for is refused).
        trust: KeyscanTrust,
    },
    /// A key given as text: a `.pub`, `authorized_keys` or `known_hosts` line with an
    /// `ssh-ed25519` key, or an `age1…` recipient.
    Key {
        /// The text (the first usable key line is taken).
        text: String,
        /// Where the text came from, for the anchor's comment (`file trinity.pub`, `stdin`).
        origin: String,
    },
    /// Generate an ed25519 host key now; its private half is stored in the repository as a sops
    /// binary file encrypted to the admins only, its public half beside it in clear.
    Generate {
        /// Where to store the encrypted private key, relative to the config's directory;
        /// `None`: `<host dir>/NAME/ssh_host_ed25519_key` (see [`enroll`](fn@super::enroll)).
        private_key_path: Option<PathBuf>,
    },
}

impl KeySource {
    /// A keyscan of `host:port` with `program`, whose key `trust` must accept.
    pub fn keyscan(
        program: impl Into<PathBuf>,
        host: impl Into<String>,
        port: u16,
        trust: KeyscanTrust,
    ) -> Self {
        Self::Keyscan {
            program: program.into(),
            host: host.into(),
            port,
            trust,
        }
    }

    /// A key given as `text`, which came from `origin`.
    pub fn key(text: impl Into<String>, origin: impl Into<String>) -> Self {
        Self::Key {
            text: text.into(),
            origin: origin.into(),
        }
    }

    /// A key generated now, stored at `private_key_path` (or the default path).
    pub fn generate(private_key_path: Option<PathBuf>) -> Self {
        Self::Generate { private_key_path }
    }
}

/// A member's key, whatever its source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HostKey {
    /// The recipient recorded in `.sops.yaml`.
    pub(crate) recipient: Recipient,
    /// `ssh-ed25519 AAAA…` (type and base64, no host or comment), for SSH keys.
    pub(crate) ssh_key: Option<String>,
    /// The SSH fingerprint (`SHA256:…`), or the recipient itself for a bare age key.
    pub(crate) fingerprint: String,
    /// Where the key came from, for the anchor's comment.
    pub(crate) origin: String,
}

/// A freshly generated host key: its public [`HostKey`] and the OpenSSH private key file text.
pub(crate) struct GeneratedHostKey {
    pub(crate) key: HostKey,
    /// The OpenSSH public key line, `ssh-ed25519 AAAA… NAME`.
    pub(crate) public_line: String,
    /// The OpenSSH private key file (`-----BEGIN OPENSSH PRIVATE KEY-----`).
    pub(crate) private_pem: Zeroizing<String>,
}

/// The `type base64` part of a converted key line.
fn key_part(line: &str, converted: &Converted) -> Option<String> {
    let mut words = line.split_whitespace();
    words.find(|word| *word == converted.key_type)?;
    let blob = words.next()?;
    Some(format!("{} {blob}", converted.key_type))
}

/// Reads an SSH public key or age recipient from `text`.
pub(crate) fn parse_key_text(text: &str, origin: &str) -> Result<HostKey, EnrollError> {
    let trimmed = text.trim();
    if trimmed.starts_with("age1") && !trimmed.contains(char::is_whitespace) {
        let recipient: Recipient =
            trimmed
                .parse()
                .map_err(|source| EnrollError::InvalidRecipient {
                    origin: origin.to_owned(),
                    source,
                })?;
        if recipient.is_ssh() {
            return Err(EnrollError::NoEd25519Key {
                origin: origin.to_owned(),
            });
        }
        return Ok(HostKey {
            fingerprint: recipient.to_string(),
            recipient,
            ssh_key: None,
            origin: origin.to_owned(),
        });
    }
    let lines: Vec<&str> = trimmed
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    let mut first_error: Option<SshToAgeError> = None;
    for (line, result) in lines.iter().zip(public_keys_to_age(trimmed)) {
        match result {
            Ok(converted) if converted.marker.is_none() && converted.key_type == ED25519 => {
                let ssh_key = key_part(line, &converted);
                return Ok(HostKey {
                    recipient: converted.recipient,
                    ssh_key,
                    fingerprint: converted.fingerprint,
                    origin: origin.to_owned(),
                });
            }
            Ok(_) => {}
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    match first_error {
        Some(source) => Err(EnrollError::InvalidKey {
            origin: origin.to_owned(),
            source,
        }),
        None => Err(EnrollError::NoEd25519Key {
            origin: origin.to_owned(),
        }),
    }
}

/// Runs `ssh-keyscan` and reads the host's ed25519 key from its output. ssh-keyscan's own
/// `-T` bounds each connection; the whole run is bounded too (a resolver can hang longer).
pub(crate) fn keyscan(program: &PathBuf, host: &str, port: u16) -> Result<HostKey, EnrollError> {
    let origin = format!("keyscan {host}:{port}");
    let timeout = std::time::Duration::from_secs(u64::from(KEYSCAN_TIMEOUT_SECONDS) * 4);
    let port_text = port.to_string();
    let timeout_text = KEYSCAN_TIMEOUT_SECONDS.to_string();
    let finished = run(
        program,
        [
            "-t",
            ED25519,
            "-p",
            &port_text,
            "-T",
            &timeout_text,
            "--",
            host,
        ],
        &RunOptions::with_timeout(timeout),
    )
    .map_err(|source| EnrollError::KeyscanFailed {
        host: host.to_owned(),
        port,
        source,
    })?;
    let stdout = String::from_utf8_lossy(&finished.stdout);
    if stdout.trim().is_empty() {
        return Err(EnrollError::NoScannedKey {
            host: host.to_owned(),
            port,
            stderr: finished.stderr,
        });
    }
    parse_key_text(&stdout, &origin)
}

/// Generates an ed25519 host key for `name` (the comment of its public line).
pub(crate) fn generate(name: &str) -> Result<GeneratedHostKey, EnrollError> {
    let mut seed = Zeroizing::new([0_u8; 32]);
    getrandom::getrandom(seed.as_mut_slice()).map_err(|source| EnrollError::Random { source })?;
    let keypair = Ed25519Keypair::from_seed(&seed);
    let private = PrivateKey::new(KeypairData::Ed25519(keypair), name)
        .map_err(|source| EnrollError::GenerateKey { source })?;
    let private_pem = private
        .to_openssh(LineEnding::LF)
        .map_err(|source| EnrollError::GenerateKey { source })?;
    let public_line = private
        .public_key()
        .to_openssh()
        .map_err(|source| EnrollError::GenerateKey { source })?;
    let converted = public_key_to_age(&public_line).map_err(|source| EnrollError::InvalidKey {
        origin: "generated".to_owned(),
        source,
    })?;
    let key = HostKey {
        ssh_key: key_part(&public_line, &converted),
        recipient: converted.recipient,
        fingerprint: converted.fingerprint,
        origin: "generated".to_owned(),
    };
    Ok(GeneratedHostKey {
        key,
        public_line,
        private_pem: Zeroizing::new(private_pem.to_string()),
    })
}

/// The SSH key recorded in a member's comment or recipient, with its fingerprint.
pub(crate) fn recorded_fingerprint(recipient: &str, comment: Option<&str>) -> String {
    let from = |text: &str| -> Option<String> {
        let start = text.find(ED25519)?;
        public_key_to_age(text.get(start..)?)
            .ok()
            .map(|converted| converted.fingerprint)
    };
    from(recipient)
        .or_else(|| comment.and_then(from))
        .unwrap_or_else(|| recipient.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOHz+U0YtjINc54dZiJNclfmEFifF7RXCFlNlTbuZBji";
    const AGE: &str = "age17044m9wgakla6pzftf4srtl3h5mcsr85jysgt5fg23zpnta8sfdqhzn452";

    #[test]
    fn reads_pub_and_known_hosts_lines() {
        for text in [
            format!("{KEY} joerg@turingmachine\n"),
            format!("# 127.0.0.1:22 SSH-2.0\n[127.0.0.1]:2222 {KEY}\n"),
        ] {
            let key = parse_key_text(&text, "test").unwrap();
            assert_eq!(key.recipient.to_string(), AGE);
            assert_eq!(key.ssh_key.as_deref(), Some(KEY));
            assert!(key.fingerprint.starts_with("SHA256:"));
        }
    }

    #[test]
    fn reads_an_age_recipient() {
        let key = parse_key_text(&format!("{AGE}\n"), "stdin").unwrap();
        assert_eq!(key.recipient.to_string(), AGE);
        assert_eq!(key.ssh_key, None);
        assert_eq!(key.fingerprint, AGE);
    }

    #[test]
    fn refuses_rsa_and_garbage() {
        let error =
            parse_key_text("host ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7\n", "x").unwrap_err();
        assert!(matches!(error, EnrollError::InvalidKey { .. }));
        let error = parse_key_text("", "x").unwrap_err();
        assert!(matches!(error, EnrollError::NoEd25519Key { .. }));
        let error = parse_key_text("age1notarecipient", "x").unwrap_err();
        assert!(matches!(error, EnrollError::InvalidRecipient { .. }));
    }

    #[test]
    fn generated_keys_convert_and_round_trip() {
        let generated = generate("web").unwrap();
        assert!(generated.public_line.starts_with("ssh-ed25519 AAAA"));
        assert!(generated.public_line.ends_with(" web"));
        let (_, recipient) =
            crate::keys::ssh::private_key_to_age(generated.private_pem.as_bytes(), None).unwrap();
        assert_eq!(recipient, generated.key.recipient);
        assert_ne!(generate("web").unwrap().key, generated.key);
    }

    #[test]
    fn fingerprint_comes_from_the_comment() {
        let converted = public_key_to_age(KEY).unwrap();
        let comment = format!("{KEY} (enrolled 2026-11-22, keyscan trinity:22)");
        assert_eq!(
            recorded_fingerprint(AGE, Some(&comment)),
            converted.fingerprint
        );
        assert_eq!(recorded_fingerprint(AGE, Some("admin")), AGE);
    }

    #[test]
    fn keyscan_reports_a_missing_program() {
        let error = keyscan(&PathBuf::from("/nonexistent/ssh-keyscan"), "h", 22).unwrap_err();
        assert!(matches!(
            error,
            EnrollError::KeyscanFailed {
                source: crate::process::ProcessError::Spawn { .. },
                ..
            }
        ));
    }
}
