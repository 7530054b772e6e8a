//! File operations as the sops command line does them: encrypt for a creation rule, decrypt
//! (whole file or `--extract`), set, unset, rotate, filestatus, edit ([`EditSession`]), and
//! the environment of `exec-env`.
//!
//! Each function takes bytes and returns bytes; reading and writing files (atomically) is the
//! caller's choice, so an embedding tool can keep everything in memory. Key material comes in
//! through [`KeyDecryptor`]s (for opening) and [`Recipients`] (for encrypting).

mod edit;
mod environment;
mod key_entries;
mod key_groups;
mod recipients;

use zeroize::Zeroizing;

use crate::config::ConfigError;
use crate::keys::age::ParseRecipientError;
use crate::sops::envelope;
use crate::sops::{
    Document, EncryptionRules, KeyDecryptor, OpenError, OpenOptions, PathError, Recipients,
    SealError, TreePath,
};
use crate::store::{EmitOptions, Format, StoreError, json, yaml};
use crate::tree::{Branch, Item, Tree, Value};

pub use edit::{EditError, EditSession, example_document};
pub use environment::{EnvVar, EnvironmentError, environment};
pub use key_entries::{read_metadata, replace_key_groups};
pub use key_groups::{add_key_group, delete_key_group};
pub use recipients::{
    KeyChanges, RuleOverrides, creation_recipients, group_specs, metadata_recipients,
    rule_recipients,
};

/// Why a file operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The encrypted file could not be opened (format, keys, tampering).
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The document could not be encrypted or written.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// A tree path is invalid or does not exist.
    #[error(transparent)]
    Path(#[from] PathError),
    /// `.sops.yaml` could not be used.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A recipient string is invalid.
    #[error(transparent)]
    Recipient(#[from] ParseRecipientError),
    /// The document cannot be written in the requested format.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A master key could not be built (no backend for its kind, or the backend failed).
    #[error(transparent)]
    MasterKey(#[from] crate::sops::MasterKeyError),
    /// A key type that aesec cannot use yet (PGP, cloud KMS).
    #[error("key type '{kind}' is not supported by aesec: re-encrypt the file to age recipients")]
    UnsupportedKeyType {
        /// The metadata or config key name, like `pgp`.
        kind: &'static str,
    },
    /// Neither `.sops.yaml` nor the options name any recipient.
    #[error(
        "no recipients: no creation rule in .sops.yaml gives keys for this file, and none were given with --age"
    )]
    NoRecipients,
    /// The creation rule that matches names no key, or has a key group without keys (sops'
    /// message, which scripts match on, opens the text).
    #[error(
        "Could not generate data key: [empty key group provided]: creation rule {rule} (counted \
         from 0) of .sops.yaml matches this file but has no keys in a key group"
    )]
    EmptyKeyGroup {
        /// The rule's index in `creation_rules`.
        rule: usize,
    },
    /// `rotate` was asked to remove every key of a key group.
    #[error(
        "Could not generate data key: [empty key group provided]: the keys removed leave key \
         group {group} (counted from 0) of the file with no keys"
    )]
    EmptiedKeyGroup {
        /// The group's index in the file's `key_groups`.
        group: usize,
    },
    /// More than one crypt-rule option was given (sops exit code 8).
    #[error(
        "only one of the unencrypted/encrypted suffix, regex and comment-regex options may be given"
    )]
    ConflictingCryptRules,
    /// A `set` value is not valid JSON.
    #[error("the value is not valid JSON")]
    Json(#[from] serde_json::Error),
    /// `groups delete` names a key group the file does not have.
    #[error("there is no key group {index}: the file has {groups} (numbered from 0)")]
    NoSuchKeyGroup {
        /// The index given.
        index: usize,
        /// How many key groups the file has.
        groups: usize,
    },
    /// The Shamir threshold would exceed the number of key groups, so no one could decrypt.
    #[error(
        "the Shamir threshold would be {threshold}, but the file would have only {groups} key \
         group(s): nobody could decrypt it"
    )]
    ShamirThresholdUnsatisfiable {
        /// The threshold the file would have.
        threshold: usize,
        /// How many key groups the file would have.
        groups: usize,
    },
}

/// Options for [`decrypt`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DecryptOptions {
    /// Format of the encrypted input.
    pub input: Format,
    /// Format of the plaintext output.
    pub output: Format,
    /// Output only this value (`--extract`).
    pub extract: Option<TreePath>,
    /// Skip the MAC check.
    pub ignore_mac: bool,
    /// Read files that have no `version` (sops refuses them; rops writes them).
    pub accept_missing_version: bool,
    /// Output layout.
    pub emit: EmitOptions,
}

impl DecryptOptions {
    /// Decrypt from `input` format to `output` format with default layout.
    pub fn new(input: Format, output: Format) -> Self {
        Self {
            input,
            output,
            extract: None,
            ignore_mac: false,
            accept_missing_version: false,
            emit: EmitOptions::default(),
        }
    }
}

/// Decrypts a sops file and returns what `sops decrypt` prints.
///
/// ```
/// use aesec::file::{decrypt, DecryptOptions};
/// use aesec::keys::age::Identities;
/// use aesec::sops::AgeDecryptor;
/// use aesec::store::Format;
///
/// # let dir = env!("CARGO_MANIFEST_DIR");
/// let encrypted = std::fs::read(format!("{dir}/tests/vectors/sops/vec.enc.yaml"))?;
/// let mut identities = Identities::new();
/// identities.add_identity_file_text(&std::fs::read_to_string(format!("{dir}/tests/vectors/sops/vec.key"))?, "vec.key")?;
/// let plaintext = decrypt(&encrypted, &[&AgeDecryptor::new(&identities)], &DecryptOptions::new(Format::Yaml, Format::Yaml))?;
/// assert!(String::from_utf8(plaintext.to_vec())?.contains("user: alice"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decrypt(
    encrypted: &[u8],
    decryptors: &[&dyn KeyDecryptor],
    options: &DecryptOptions,
) -> Result<Zeroizing<Vec<u8>>, FileError> {
    let open = OpenOptions {
        ignore_mac: options.ignore_mac,
        accept_missing_version: options.accept_missing_version,
        read_only: true,
    };
    let document = Document::open(encrypted, options.input, decryptors, &open)?;
    let Some(path) = &options.extract else {
        let plaintext = document.to_plaintext(options.output, &options.emit)?;
        document.drop_in_parallel();
        return Ok(plaintext);
    };
    let first = document
        .tree()
        .branches
        .first()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let value = path.get(first)?;
    Ok(emit_extracted(value, options)?)
}

/// `--extract` output: a string raw (no newline), a map as a whole document, anything else as
/// the store prints a single value.
fn emit_extracted(
    value: &Value,
    options: &DecryptOptions,
) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    match value {
        Value::Str(text) | Value::Bytes(text) => Ok(Zeroizing::new(text.as_bytes().to_vec())),
        Value::Map(items) => {
            envelope::emit_plain(options.output, &Tree::single(items.clone()), &options.emit)
        }
        other => match options.output {
            Format::Json => json::emit_value(other, options.emit.json_indent),
            _ => yaml::emit_value(other, options.emit.yaml_indent),
        },
    }
}

/// Options for [`encrypt`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EncryptOptions {
    /// Format of the plaintext input.
    pub input: Format,
    /// Format of the encrypted output.
    pub output: Format,
    /// Which values are encrypted and how the MAC is computed.
    pub rules: EncryptionRules,
    /// Output layout.
    pub emit: EmitOptions,
}

impl EncryptOptions {
    /// Encrypt from `input` format to `output` format with default rules and layout.
    pub fn new(input: Format, output: Format) -> Self {
        Self {
            input,
            output,
            rules: EncryptionRules::default(),
            emit: EmitOptions::default(),
        }
    }
}

/// Encrypts a plaintext file with a fresh data key for `recipients` (`sops encrypt`).
///
/// ```
/// use aesec::file::{encrypt, EncryptOptions};
/// use aesec::sops::{AgeMasterKey, Recipients};
/// use aesec::store::Format;
///
/// let recipient = "age1m69ryw24zjg9pmxr033synsftwkt4f8nh7xp7cm07at3n3r67yfswcwm58".parse()?;
/// let recipients = Recipients::single_group(vec![Box::new(AgeMasterKey::new(recipient))]);
/// let encrypted = encrypt(b"{\"token\": \"abc\"}", &recipients, &EncryptOptions::new(Format::Json, Format::Json))?;
/// assert!(String::from_utf8(encrypted)?.contains("\"token\": \"ENC[AES256_GCM,"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encrypt(
    plaintext: &[u8],
    recipients: &Recipients,
    options: &EncryptOptions,
) -> Result<Vec<u8>, FileError> {
    let mut document = Document::from_plaintext(plaintext, options.input, &options.rules)?;
    document.rewrap(recipients)?;
    Ok(document.into_sealed(options.output, &options.emit)?)
}

/// Gives a file a new data key for its own recipients, with `changes` applied, and
/// re-encrypts every value (`sops rotate [--add-age R] [--rm-age R]`).
///
/// The recipients come from the file's metadata, which its MAC does not cover: whoever could
/// write the file chose them. Fleet code rotates to `.sops.yaml`'s rules instead
/// ([`fleet::rotate_older_than`](crate::fleet::rotate_older_than)).
///
/// ```
/// use aesec::file::{KeyChanges, rotate};
/// use aesec::keys::age::{GeneratedIdentity, Identities};
/// use aesec::sops::{AgeDecryptor, AgeMasterKey};
/// use aesec::store::{EmitOptions, Format};
///
/// # let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/sops");
/// let encrypted = std::fs::read(format!("{dir}/vec.enc.yaml"))?;
/// let mut identities = Identities::new();
/// identities.add_identity_file_text(&std::fs::read_to_string(format!("{dir}/vec.key"))?, "vec.key")?;
/// let newcomer = GeneratedIdentity::generate();
/// let mut changes = KeyChanges::default();
/// changes.add.push(Box::new(AgeMasterKey::new(newcomer.recipient())));
/// let decryptor = AgeDecryptor::new(&identities);
/// let rotated = rotate(&encrypted, Format::Yaml, &[&decryptor], changes, &EmitOptions::default())?;
/// assert!(String::from_utf8(rotated)?.contains(&newcomer.recipient().to_string()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn rotate(
    encrypted: &[u8],
    format: Format,
    decryptors: &[&dyn KeyDecryptor],
    changes: KeyChanges,
    emit: &EmitOptions,
) -> Result<Vec<u8>, FileError> {
    let mut document = Document::open(encrypted, format, decryptors, &OpenOptions::default())?;
    let mut recipients = metadata_recipients(&document, decryptors)?;
    changes.apply(&mut recipients)?;
    document.rotate(&recipients)?;
    Ok(document.seal(emit)?)
}

/// How [`set`] and [`unset`] read the file and write it back.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ChangeOptions {
    /// The file's format.
    pub input: Format,
    /// The format written back (`--output-type`; sops rewrites a JSON file as YAML then).
    pub output: Format,
    /// `--idempotent`: no new file when [`set`]'s value is already there or [`unset`]'s path is
    /// not (sops otherwise seals the file again, with a new `lastmodified` and MAC).
    pub idempotent: bool,
    /// Skip the MAC check when opening (`--ignore-mac`).
    pub ignore_mac: bool,
    /// Layout of the written file.
    pub emit: EmitOptions,
}

impl ChangeOptions {
    /// Reads and writes `format`, not idempotent, MAC checked, default layout.
    pub fn new(format: Format) -> Self {
        Self {
            input: format,
            output: format,
            idempotent: false,
            ignore_mac: false,
            emit: EmitOptions::default(),
        }
    }
}

/// Opens `encrypted` for a change of one value; `Err` also when the document is empty.
fn open_for_change(
    encrypted: &[u8],
    decryptors: &[&dyn KeyDecryptor],
    options: &ChangeOptions,
) -> Result<Document, FileError> {
    let open = OpenOptions {
        ignore_mac: options.ignore_mac,
        ..OpenOptions::default()
    };
    let document = Document::open(encrypted, options.input, decryptors, &open)?;
    if document.tree().branches.is_empty() {
        return Err(FileError::Store(StoreError::Empty {
            format: options.input.name(),
        }));
    }
    Ok(document)
}

/// Sets one value (`sops set`) and returns the new file, or `None` when the value was already
/// there and [`ChangeOptions::idempotent`] is set. Every other value keeps its ciphertext.
///
/// ```
/// use aesec::file::{ChangeOptions, set, value_from_json};
/// use aesec::keys::age::Identities;
/// use aesec::sops::AgeDecryptor;
/// use aesec::store::Format;
///
/// # let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/sops");
/// let encrypted = std::fs::read(format!("{dir}/vec.enc.json"))?;
/// let mut identities = Identities::new();
/// identities.add_identity_file_text(&std::fs::read_to_string(format!("{dir}/vec.key"))?, "vec.key")?;
/// let decryptors = [&AgeDecryptor::new(&identities) as _];
/// let path = r#"["user"]"#.parse()?;
/// let options = ChangeOptions::new(Format::Json);
/// let changed = set(&encrypted, &decryptors, &path, value_from_json(b"\"bob\"")?, &options)?
///     .expect("a new value gives a new file");
/// // Write `changed` back (atomically: aesec::fs::write_atomic); here, read it again.
/// let plaintext = aesec::file::decrypt(&changed, &decryptors, &aesec::file::DecryptOptions::new(Format::Json, Format::Json))?;
/// assert!(std::str::from_utf8(&plaintext)?.contains(r#""user": "bob""#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn set(
    encrypted: &[u8],
    decryptors: &[&dyn KeyDecryptor],
    path: &TreePath,
    value: Value,
    options: &ChangeOptions,
) -> Result<Option<Vec<u8>>, FileError> {
    let mut document = open_for_change(encrypted, decryptors, options)?;
    let changed = match document.tree_mut().branches.first_mut() {
        Some(branch) => path.set(branch, value)?,
        None => false,
    };
    if !changed && options.idempotent {
        return Ok(None);
    }
    Ok(Some(document.seal_as(options.output, &options.emit)?))
}

/// Removes one value (`sops unset`) and returns the new file, or `None` when the path does not
/// exist and [`ChangeOptions::idempotent`] is set.
pub fn unset(
    encrypted: &[u8],
    decryptors: &[&dyn KeyDecryptor],
    path: &TreePath,
    options: &ChangeOptions,
) -> Result<Option<Vec<u8>>, FileError> {
    let mut document = open_for_change(encrypted, decryptors, options)?;
    if let Some(branch) = document.tree_mut().branches.first_mut() {
        match path.unset(branch) {
            Ok(()) => {}
            Err(PathError::NotFound { .. }) if options.idempotent => return Ok(None),
            Err(error) => return Err(error.into()),
        }
    }
    Ok(Some(document.seal_as(options.output, &options.emit)?))
}

/// Whether a file is sops-encrypted as `sops filestatus` judges it: metadata with a non-empty
/// `version` and `mac`.
///
/// ```
/// use aesec::store::Format;
/// assert!(!aesec::file::is_encrypted(b"a: 1\n", Format::Yaml));
/// ```
pub fn is_encrypted(bytes: &[u8], format: Format) -> bool {
    encryption_status(bytes, format).unwrap_or(false)
}

/// As [`is_encrypted`], but a file that does not parse in `format` is an error rather than
/// "not encrypted", so that a caller can report it (`check` on a hostile file).
///
/// ```
/// use aesec::store::Format;
/// assert!(!aesec::file::encryption_status(b"a: 1\n", Format::Yaml)?);
/// assert!(aesec::file::encryption_status(b"a: [", Format::Yaml).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// The [`StoreError`] of a file that does not parse in `format`.
pub fn encryption_status(bytes: &[u8], format: Format) -> Result<bool, StoreError> {
    let split = envelope::parse_encrypted(format, bytes)?;
    Ok(split
        .metadata
        .is_some_and(|metadata| metadata.is_sops_metadata()))
}

/// Parses a `sops set` value: JSON, with every number a float as sops 3.11 reads it.
///
/// ```
/// use aesec::Value;
/// assert_eq!(aesec::file::value_from_json(b"5")?, Value::Float(5.0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn value_from_json(json: &[u8]) -> Result<Value, FileError> {
    let parsed: serde_json::Value = serde_json::from_slice(json)?;
    Ok(json_value(parsed))
}

fn json_value(value: serde_json::Value) -> Value {
    match value {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(s) => Value::Str(s.into()),
        serde_json::Value::Array(values) => {
            Value::List(values.into_iter().map(json_value).collect())
        }
        serde_json::Value::Object(map) => Value::Map(
            map.into_iter()
                .map(|(key, value)| Item::Entry {
                    key,
                    value: json_value(value),
                })
                .collect::<Branch>(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// sops reads a `set` value with Go's exact float parsing. These inputs hold more digits than
    /// a double; serde_json's default (fast, inexact) parsing put each one a unit off. The
    /// expected values are what sops 3.11 stored for them.
    #[test]
    fn set_values_parse_floats_exactly() {
        let parsed = value_from_json(
            br#"{"x": 7.26735524029091085600010e4, "y": 2.312032187027559502e19, "z": 1.88726666916620308e-82}"#,
        )
        .unwrap();
        let Value::Map(entries) = parsed else {
            panic!("a map")
        };
        let floats: Vec<f64> = entries
            .iter()
            .filter_map(|item| match item {
                Item::Entry {
                    value: Value::Float(f),
                    ..
                } => Some(*f),
                _ => None,
            })
            .collect();
        assert_eq!(
            floats,
            [
                72673.5524029091,
                2.3120321870275596e19,
                1.887266669166203e-82
            ]
        );
    }
}
