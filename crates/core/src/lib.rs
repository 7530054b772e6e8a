//! aesec: sops-compatible secrets and key lifecycle for NixOS fleets.
//!
//! aesec reads and writes [sops] files — YAML, JSON, dotenv, INI and binary — exactly as sops
//! 3.11 does, so that real `sops`, sops-nix and aesec can share one repository and one
//! `.sops.yaml`. It converts SSH host keys to age keys byte for byte as `ssh-to-age` does.
//!
//! # Compatibility promise
//!
//! - Files aesec writes decrypt with `sops` 3.11, and files sops writes decrypt with aesec,
//!   for every store and for age X25519, native `ssh-ed25519`/`ssh-rsa` recipients and key
//!   groups with Shamir thresholds.
//! - YAML and JSON output is byte-identical to sops' (go-yaml v3 layout, Go's JSON escaping);
//!   values that did not change keep their ciphertext across `set`, `unset` and edits.
//! - Tampering is refused: a value moved or altered fails authentication, a reordered or
//!   edited document fails the MAC.
//!
//! # Map of the crate
//!
//! | module | what it holds |
//! |---|---|
//! | [`file`](mod@file) | the sops command-line operations on bytes: [`file::encrypt`], [`file::decrypt`], [`file::set`], [`file::unset`], [`file::rotate`], and edits ([`file::EditSession`]) |
//! | [`deploy`] | `nix build`, the keyless check that the host can decrypt its sops files, `nix copy`, the profile, `switch-to-configuration` with magic rollback; several hosts at once |
//! | [`install`] | activation-time install from sops-nix's manifest: generations, owners, templates, restart lists |
//! | [`sops`] | the format: [`sops::Document`], master keys ([`sops::MasterKey`], [`sops::AgeMasterKey`]), key groups, [`sops::Metadata`], key paths ([`sops::TreePath`]) |
//! | [`store`] | the five file formats, each a parse/emit pair |
//! | [`keys`] | age recipients and identities, SSH → age conversion, sops' key discovery |
//! | [`fleet`] | the whole repository at once: [`fleet::plan`], [`fleet::update_keys`], [`fleet::enroll`], [`fleet::remove`], [`fleet::rotate_older_than`], [`fleet::check`], [`fleet::status`] (example: enroll a host and bring the tree in line) |
//! | [`config`] | `.sops.yaml`: lookup, creation rules, store settings, members and admins ([`config::read_members`]), lossless edits ([`config::edit`]) |
//! | [`fs`] | atomic writes with explicit modes |
//! | [`progress`] | the observer long operations report to |
//! | [`process`] | running an external program: time limit, wiped output, typed failures |
//!
//! The library never reads environment variables, prints or prompts: callers resolve those
//! into explicit options (see [`keys::discovery::Sources`]) and pass callbacks.
//!
//! # Encrypt a document
//!
//! ```
//! use aesec::file::{encrypt, EncryptOptions};
//! use aesec::keys::age::Recipient;
//! use aesec::sops::{AgeMasterKey, Recipients};
//! use aesec::store::Format;
//!
//! let recipient: Recipient = "age1m69ryw24zjg9pmxr033synsftwkt4f8nh7xp7cm07at3n3r67yfswcwm58".parse()?;
//! let recipients = Recipients::single_group(vec![Box::new(AgeMasterKey::new(recipient))]);
//! let options = EncryptOptions::new(Format::Yaml, Format::Yaml);
//! let encrypted = encrypt(b"db:\n    password: hunter2\n", &recipients, &options)?;
//! let text = String::from_utf8(encrypted)?;
//! assert!(text.contains("password: ENC[AES256_GCM,"));
//! assert!(text.contains("version: 3.11.0"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Decrypt a file
//!
//! ```
//! use aesec::file::{decrypt, DecryptOptions};
//! use aesec::keys::age::Identities;
//! use aesec::sops::AgeDecryptor;
//! use aesec::store::Format;
//!
//! # let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/sops");
//! let encrypted = std::fs::read(format!("{dir}/vec.enc.json"))?;
//! let mut identities = Identities::new();
//! identities.add_identity_file_text(&std::fs::read_to_string(format!("{dir}/vec.key"))?, "vec.key")?;
//! let options = DecryptOptions::new(Format::Json, Format::Json);
//! let plaintext = decrypt(&encrypted, &[&AgeDecryptor::new(&identities)], &options)?;
//! assert!(std::str::from_utf8(&plaintext)?.contains("\"user\": \"alice\""));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Change a value in an encrypted file
//!
//! [`file::EditSession`] is `sops edit` without the editor: it hands out the plaintext and
//! takes the changed text back. The MAC is checked on the way in; on the way out the file is
//! sealed with the same data key, and values that did not change keep their ciphertext.
//!
//! ```
//! use aesec::file::EditSession;
//! use aesec::fs::{write_atomic, WriteOptions};
//! use aesec::keys::age::Identities;
//! use aesec::sops::AgeDecryptor;
//! use aesec::store::{EmitOptions, Format};
//!
//! # let vectors = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/sops");
//! # let dir = std::env::temp_dir().join(format!("aesec-doc-change-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! # std::fs::copy(format!("{vectors}/vec.enc.json"), dir.join("vec.enc.json"))?;
//! let path = dir.join("vec.enc.json");
//! let mut identities = Identities::new();
//! identities.add_identity_file_text(&std::fs::read_to_string(format!("{vectors}/vec.key"))?, "vec.key")?;
//! let decryptor = AgeDecryptor::new(&identities);
//!
//! let encrypted = std::fs::read(&path)?;
//! let mut session = EditSession::open(&encrypted, Format::Json, &[&decryptor], &EmitOptions::default())?;
//! let changed = std::str::from_utf8(session.plaintext())?.replace("\"alice\"", "\"bob\"");
//! if let Some(sealed) = session.finish(changed.as_bytes())? {
//!     write_atomic(&path, &sealed, WriteOptions::keep_mode_or(0o644))?;
//! }
//!
//! let reopened = EditSession::open(&std::fs::read(&path)?, Format::Json, &[&decryptor], &EmitOptions::default())?;
//! assert!(std::str::from_utf8(reopened.plaintext())?.contains("\"user\": \"bob\""));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Convert an SSH host key to age
//!
//! ```
//! let line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOHz+U0YtjINc54dZiJNclfmEFifF7RXCFlNlTbuZBji joerg@turingmachine";
//! let converted = aesec::keys::ssh::public_key_to_age(line)?;
//! assert_eq!(converted.recipient.to_string(), "age17044m9wgakla6pzftf4srtl3h5mcsr85jysgt5fg23zpnta8sfdqhzn452");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [sops]: https://github.com/getsops/sops

#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]
#![cfg_attr(not(test), deny(clippy::print_stdout, clippy::print_stderr))]

pub mod config;
pub mod deploy;
pub mod file;
pub mod fleet;
pub mod fs;
// Test-only entry points of the fuzz targets: built by the fuzz crate (feature `fuzzing`) and
// by the unit tests, never into a normal build.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod gofmt;
pub mod install;
pub mod keys;
pub mod process;
pub mod progress;
mod secret;
pub mod sops;
pub mod store;
#[cfg(test)]
mod test_support;
pub(crate) mod tree;

/// The age crate, re-exported so embedders use the same version as aesec.
pub use age;
/// The secrecy crate (as re-exported by age), for passphrases and secret strings.
pub use age::secrecy;
pub use sops::rules::CryptRule;
pub use tree::{Branch, Item, Text, Tree, Value};
