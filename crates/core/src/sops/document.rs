//! A sops document held open: decrypted tree, metadata and data key, ready to read, change and
//! seal again.
//!
//! This is the one place where the pieces meet: a store parses the file, the metadata names the
//! master keys, a [`KeyDecryptor`] recovers the data key, the tree is decrypted and its MAC
//! checked. Sealing reverses it with the same data key, reusing each unchanged value's IV so
//! that unchanged values keep their ciphertext (sops' IV stash), and writes a fresh
//! `lastmodified` and MAC. [`Document::rotate`] swaps in a new data key.

use std::fmt;

use zeroize::Zeroizing;

use crate::sops::crypt::{
    self, DecryptError as TreeDecryptError, EncryptError as TreeEncryptError,
};
use crate::sops::envelope;
use crate::sops::mac::{self, MacError, MacScope};
use crate::sops::master_key::{self, DataKeyError, KeyDecryptor, MasterKey, MasterKeyError};
use crate::sops::metadata::{Metadata, MetadataError, SOPS_VERSION};
use crate::sops::rules::CryptRule;
use crate::sops::value::{Cipher, DataKey, IvStash, RandomError};
use crate::store::{EmitOptions, Format, StoreError};
use crate::tree::Tree;

/// An open sops document.
pub struct Document {
    format: Format,
    tree: Tree,
    metadata: Metadata,
    data_key: DataKey,
    stash: IvStash,
}

/// Options for [`Document::open`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct OpenOptions {
    /// Skip the MAC check (sops' `--ignore-mac`): for recovering hand-edited files only.
    pub ignore_mac: bool,
    /// Read files without a `version` (written by rops and other tools; sops refuses them).
    pub accept_missing_version: bool,
    /// The document will only be read, not sealed again: skip recording each value's IV (a
    /// later seal still works, but re-encrypts unchanged values with new IVs).
    pub read_only: bool,
}

/// What a new document is encrypted with (sops' creation rule, resolved).
#[non_exhaustive]
pub struct Recipients {
    /// Key groups: one group means every key can decrypt alone; more use Shamir.
    pub key_groups: Vec<Vec<Box<dyn MasterKey>>>,
    /// Groups needed to decrypt when there are several (default: all).
    pub shamir_threshold: Option<usize>,
}

impl Recipients {
    /// One key group holding `keys`.
    pub fn single_group(keys: Vec<Box<dyn MasterKey>>) -> Self {
        Self {
            key_groups: vec![keys],
            shamir_threshold: None,
        }
    }

    /// Several key groups, `threshold` of which are needed.
    pub fn groups(
        key_groups: Vec<Vec<Box<dyn MasterKey>>>,
        shamir_threshold: Option<usize>,
    ) -> Self {
        Self {
            key_groups,
            shamir_threshold,
        }
    }
}

/// Which values a new document encrypts.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct EncryptionRules {
    /// The crypt rule (default: leave keys ending in `_unencrypted` in clear).
    pub crypt_rule: Option<CryptRule>,
    /// Compute the MAC over encrypted values only.
    pub mac_only_encrypted: bool,
}

impl EncryptionRules {
    /// Rules with the given crypt rule.
    pub fn with_crypt_rule(crypt_rule: Option<CryptRule>, mac_only_encrypted: bool) -> Self {
        Self {
            crypt_rule,
            mac_only_encrypted,
        }
    }
}

/// Why a document could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The file is not valid in its format.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The file has no sops metadata: it is not encrypted.
    #[error("sops metadata not found: the file is not sops-encrypted")]
    NotEncrypted,
    /// The metadata is malformed.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// No available key could decrypt the data key.
    #[error(transparent)]
    DataKey(#[from] DataKeyError),
    /// A value failed to decrypt (tampered, or moved to another key).
    #[error(transparent)]
    Value(#[from] TreeDecryptError),
    /// The stored MAC could not be decrypted (tampered MAC or `lastmodified`).
    #[error(
        "the MAC could not be checked: the file was modified outside sops (MAC or lastmodified edited)"
    )]
    MacUndecryptable(#[source] MacError),
    /// The MAC does not match the content.
    #[error(
        "MAC mismatch: the file was modified outside sops (values added, removed, reordered or edited)"
    )]
    MacMismatch,
}

/// Why a document could not be sealed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// A value could not be encrypted.
    #[error(transparent)]
    Value(#[from] TreeEncryptError),
    /// The data key could not be wrapped for a master key.
    #[error(transparent)]
    MasterKey(#[from] MasterKeyError),
    /// The document cannot be written in the format.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The MAC could not be computed or encrypted.
    #[error(transparent)]
    Mac(#[from] MacError),
    /// The operating system's random source failed.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// The file already carries sops metadata (sops exit code 203).
    #[error("the file is already encrypted (it has a sops metadata section)")]
    AlreadyEncrypted,
}

impl Document {
    /// Parses a plaintext file and prepares it for encryption with a fresh data key.
    ///
    /// ```
    /// use aesec::keys::age::Recipient;
    /// use aesec::sops::{AgeMasterKey, Document, EncryptionRules, Recipients};
    /// use aesec::store::{EmitOptions, Format};
    ///
    /// let recipient: Recipient = "age1m69ryw24zjg9pmxr033synsftwkt4f8nh7xp7cm07at3n3r67yfswcwm58".parse()?;
    /// let recipients = Recipients::single_group(vec![Box::new(AgeMasterKey::new(recipient))]);
    /// let mut doc = Document::from_plaintext(b"password: hunter2\n", Format::Yaml, &EncryptionRules::default())?;
    /// let encrypted = doc.seal_new(&recipients, &EmitOptions::default())?;
    /// assert!(String::from_utf8(encrypted)?.contains("ENC[AES256_GCM,"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_plaintext(
        plaintext: &[u8],
        format: Format,
        rules: &EncryptionRules,
    ) -> Result<Self, SealError> {
        let split = envelope::parse_plain(format, plaintext)?;
        if split.metadata.is_some() {
            return Err(SealError::AlreadyEncrypted);
        }
        let crypt_rule = match format {
            Format::Binary => None,
            _ => Some(rules.crypt_rule.clone().unwrap_or_default()),
        };
        let metadata = Metadata {
            key_groups: Vec::new(),
            shamir_threshold: None,
            last_modified: String::new(),
            mac: String::new(),
            crypt_rule,
            mac_only_encrypted: rules.mac_only_encrypted,
            version: SOPS_VERSION.to_owned(),
        };
        Ok(Self {
            format,
            tree: split.tree,
            metadata,
            data_key: DataKey::generate()?,
            stash: IvStash::new(),
        })
    }

    /// Opens an encrypted file: recovers the data key with `decryptors`, decrypts every value and
    /// checks the MAC.
    pub fn open(
        encrypted: &[u8],
        format: Format,
        decryptors: &[&dyn KeyDecryptor],
        options: &OpenOptions,
    ) -> Result<Self, OpenError> {
        let split = envelope::parse_encrypted(format, encrypted)?;
        Self::open_split(split, format, decryptors, options)
    }

    /// As [`Document::open`], for a file already parsed (the fleet keeps the encrypted tree
    /// of a re-wrapped file instead of parsing it twice).
    pub(crate) fn open_split(
        split: envelope::Split,
        format: Format,
        decryptors: &[&dyn KeyDecryptor],
        options: &OpenOptions,
    ) -> Result<Self, OpenError> {
        let raw = split.metadata.ok_or(OpenError::NotEncrypted)?;
        let mut metadata = match Metadata::from_branch(&raw.into_branch()?) {
            Ok(metadata) => metadata,
            Err(MetadataError::MissingVersion { metadata }) if options.accept_missing_version => {
                *metadata
            }
            Err(error) => return Err(error.into()),
        };
        // sops reads a block without a crypt rule as `unencrypted_suffix: _unencrypted` and
        // writes that rule on every later save (updatekeys, rotate, set, edit), binary files
        // included (whose `encrypt` writes none); so do we.
        metadata.crypt_rule.get_or_insert_with(CryptRule::default);
        let data_key = master_key::decrypt_data_key(&metadata, decryptors)?;
        let mut tree = split.tree;
        let mut stash = IvStash::new();
        let scope = MacScope::from_mac_only_encrypted(metadata.mac_only_encrypted);
        let rule = decryption_rule(format, &metadata);
        let keep_ivs = (!options.read_only).then_some(&mut stash);
        let computed = crypt::decrypt_tree(&mut tree, &data_key, rule.as_ref(), scope, keep_ivs)?;
        if !options.ignore_mac {
            let cipher = Cipher::new(&data_key);
            mac::verify_mac(&cipher, &metadata.mac, &metadata.last_modified, &computed).map_err(
                |error| match error {
                    MacError::Mismatch => OpenError::MacMismatch,
                    other => OpenError::MacUndecryptable(other),
                },
            )?;
        }
        Ok(Self {
            format,
            tree,
            metadata,
            data_key,
            stash,
        })
    }

    /// The decrypted document.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// The decrypted document, to change before [`Document::seal`].
    pub fn tree_mut(&mut self) -> &mut Tree {
        &mut self.tree
    }

    /// Replaces the decrypted document (after an edit).
    pub fn replace_tree(&mut self, tree: Tree) {
        self.tree = tree;
    }

    /// The metadata as read (or as it will be written).
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The format the document was read in.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The plaintext in `format` (sops `decrypt` output).
    pub fn to_plaintext(
        &self,
        format: Format,
        options: &EmitOptions,
    ) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        envelope::emit_plain(format, &self.tree, options)
    }

    /// Encrypts a new document to `recipients` and returns the file's bytes.
    pub fn seal_new(
        &mut self,
        recipients: &Recipients,
        options: &EmitOptions,
    ) -> Result<Vec<u8>, SealError> {
        self.wrap_data_key(recipients)?;
        self.seal(options)
    }

    /// Re-encrypts the document with its data key (unchanged values keep their ciphertext),
    /// with a new `lastmodified` and MAC, and returns the file's bytes.
    pub fn seal(&mut self, options: &EmitOptions) -> Result<Vec<u8>, SealError> {
        self.seal_as(self.format, options)
    }

    /// As [`Document::seal`], writing in another format.
    pub fn seal_as(&mut self, format: Format, options: &EmitOptions) -> Result<Vec<u8>, SealError> {
        let plaintext = self.tree.clone();
        self.seal_tree(plaintext, format, options)
    }

    /// As [`Document::seal_as`], for the last use of the document: its tree is encrypted in
    /// place rather than in a copy (what a one-shot `encrypt` needs).
    ///
    /// ```
    /// use aesec::keys::age::GeneratedIdentity;
    /// use aesec::sops::{AgeMasterKey, Document, EncryptionRules, Recipients};
    /// use aesec::store::{EmitOptions, Format};
    ///
    /// let identity = GeneratedIdentity::generate();
    /// let recipients = Recipients::single_group(AgeMasterKey::group([identity.recipient()]));
    /// let mut document =
    ///     Document::from_plaintext(b"token: s3cr3t\n", Format::Yaml, &EncryptionRules::default())?;
    /// document.rewrap(&recipients)?;
    /// let sealed = String::from_utf8(document.into_sealed(Format::Yaml, &EmitOptions::default())?)?;
    /// assert!(sealed.starts_with("token: ENC[AES256_GCM,"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_sealed(
        mut self,
        format: Format,
        options: &EmitOptions,
    ) -> Result<Vec<u8>, SealError> {
        let plaintext = std::mem::take(&mut self.tree);
        self.seal_tree(plaintext, format, options)
    }

    /// Drops the document, its tree spread over the cores ([`Tree::drop_in_parallel`]).
    pub(crate) fn drop_in_parallel(self) {
        self.tree.drop_in_parallel();
    }

    /// Encrypts `plaintext` (the document's tree or a copy) with the data key, sets a new
    /// `lastmodified` and MAC, and returns the file's bytes in `format`.
    fn seal_tree(
        &mut self,
        mut encrypted: Tree,
        format: Format,
        options: &EmitOptions,
    ) -> Result<Vec<u8>, SealError> {
        let rule = decryption_rule(format, &self.metadata);
        let scope = MacScope::from_mac_only_encrypted(self.metadata.mac_only_encrypted);
        let mac = crypt::encrypt_tree(
            &mut encrypted,
            &self.data_key,
            rule.as_ref(),
            scope,
            &self.stash,
        )?;
        self.metadata.last_modified = mac::now_lastmodified();
        self.metadata.mac = mac::encrypt_mac(
            &Cipher::new(&self.data_key),
            &mac,
            &self.metadata.last_modified,
        )?;
        if version_is_older(&self.metadata.version, SOPS_VERSION) {
            SOPS_VERSION.clone_into(&mut self.metadata.version);
        }
        Ok(envelope::emit_encrypted(
            format,
            encrypted,
            &self.metadata,
            options,
        )?)
    }

    /// Parses `plaintext` in `format` and makes it the document (after an edit).
    pub fn replace_plaintext(&mut self, plaintext: &[u8], format: Format) -> Result<(), SealError> {
        let split = envelope::parse_plain(format, plaintext)?;
        if split.metadata.is_some() {
            return Err(SealError::AlreadyEncrypted);
        }
        self.tree = split.tree;
        Ok(())
    }

    /// Gives the document a new data key wrapped for `recipients` (sops `rotate`); call
    /// [`Document::seal`] afterwards to re-encrypt every value with it.
    pub fn rotate(&mut self, recipients: &Recipients) -> Result<(), SealError> {
        self.data_key = DataKey::generate()?;
        self.stash = IvStash::new();
        self.wrap_data_key(recipients)
    }

    /// Re-wraps the current data key for `recipients` without touching values (sops
    /// `updatekeys`).
    pub fn rewrap(&mut self, recipients: &Recipients) -> Result<(), SealError> {
        self.wrap_data_key(recipients)
    }

    /// Writes the document's metadata (key groups and threshold as set by
    /// [`Document::rewrap`]) into `original`, the encrypted bytes the document was opened from,
    /// leaving every value, `lastmodified`, the MAC and `version` as they are: what sops
    /// `updatekeys` writes.
    pub fn seal_metadata_only(
        &self,
        original: &[u8],
        options: &EmitOptions,
    ) -> Result<Vec<u8>, SealError> {
        let split = envelope::parse_encrypted(self.format, original)?;
        Ok(envelope::emit_encrypted(
            self.format,
            split.tree,
            &self.metadata,
            options,
        )?)
    }

    /// Checks `encrypted`, bytes this document was just sealed to, before they replace a file:
    /// every value decrypts with this document's data key and the MAC matches. No master key
    /// is unwrapped, so no identity is needed; returns the metadata read back.
    pub fn verify_sealed(&self, encrypted: &[u8]) -> Result<Metadata, OpenError> {
        let split = envelope::parse_encrypted(self.format, encrypted)?;
        let raw = split.metadata.ok_or(OpenError::NotEncrypted)?;
        let metadata = Metadata::from_branch(&raw.into_branch()?)?;
        let mut tree = split.tree;
        let scope = MacScope::from_mac_only_encrypted(metadata.mac_only_encrypted);
        let rule = decryption_rule(self.format, &metadata);
        let computed = crypt::decrypt_tree(&mut tree, &self.data_key, rule.as_ref(), scope, None)?;
        mac::verify_mac(
            &Cipher::new(&self.data_key),
            &metadata.mac,
            &metadata.last_modified,
            &computed,
        )
        .map_err(|error| match error {
            MacError::Mismatch => OpenError::MacMismatch,
            other => OpenError::MacUndecryptable(other),
        })?;
        Ok(metadata)
    }

    /// The data key (fleet operations compare it with what the wrapped entries give back).
    pub(crate) fn data_key(&self) -> &DataKey {
        &self.data_key
    }

    fn wrap_data_key(&mut self, recipients: &Recipients) -> Result<(), SealError> {
        let (groups, threshold) = master_key::encrypt_data_key(
            &recipients.key_groups,
            recipients.shamir_threshold,
            &self.data_key,
        )?;
        self.metadata.key_groups = groups;
        self.metadata.shamir_threshold = threshold;
        Ok(())
    }
}

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Document")
            .field("format", &self.format)
            .field("metadata", &self.metadata)
            .finish_non_exhaustive()
    }
}

/// The crypt rule that says which values of a file in `format` are encrypted: none for the
/// binary store (every value is; sops 3.11 ignores stored rules there, #1927), else the
/// metadata's.
pub(crate) fn decryption_rule(format: Format, metadata: &Metadata) -> Option<CryptRule> {
    match format {
        Format::Binary => None,
        _ => Some(metadata.effective_crypt_rule()),
    }
}

/// Whether semver `version` is older than `than` (unparseable versions count as older).
fn version_is_older(version: &str, than: &str) -> bool {
    let parse = |text: &str| -> Option<(u64, u64, u64)> {
        let core = text.trim_start_matches('v').split(['+', '-']).next()?;
        let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
        Some((
            parts.next()??,
            parts.next().flatten().unwrap_or(0),
            parts.next().flatten().unwrap_or(0),
        ))
    };
    match (parse(version), parse(than)) {
        (Some(a), Some(b)) => a < b,
        _ => true,
    }
}
