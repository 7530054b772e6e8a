//! The `sops` metadata block: key groups, the encrypted data key of every master key, the MAC,
//! the crypt rule and the version, as sops 3.11 stores them (`stores/stores.go` `Metadata`).
//!
//! [`Metadata::to_branch`] writes the map in sops' field order (research/sops-format.md §6.1) so
//! that every store emits what sops emits; [`Metadata::from_branch`] reads what any sops version
//! wrote (§6.2, §19): legacy empty key lists, JSON floats, dotenv/INI strings, quoted or unquoted
//! timestamps, top-level keys or `key_groups`. Entries of key types aesec does not implement
//! (PGP, AWS KMS, GCP KMS, Azure Key Vault) are kept verbatim so that a rewrite preserves them.
//! The dotenv and INI stores carry the block as flattened keys: see [`flatten`] and [`unflatten`].
//!
//! This file holds the types; writing (`metadata/write.rs`), reading (`metadata/read.rs`) and
//! flattening (`metadata/flat.rs`) have files of their own.

mod flat;
mod read;
mod write;

use crate::sops::rules::CryptRule;

pub(crate) use flat::{
    DOTENV_PREFIX, INI_SECTION, flatten, flatten_dotenv, flatten_ini, is_dotenv_metadata_key,
    unflatten, unflatten_dotenv, unflatten_ini,
};

/// The metadata key under which sops stores the block in every document.
pub(crate) const METADATA_KEY: &str = "sops";

/// The `version` aesec writes: a semver that sops 3.11 accepts (§6.3).
pub const SOPS_VERSION: &str = "3.11.0";

/// The most key entries (all groups together) one file's metadata may list. A sops file holds
/// one entry per recipient; a fleet's largest rule names some hundreds. Each entry may cost
/// every identity a Diffie-Hellman (or a request to OpenBao) when it is tried, so a file
/// written by someone holding no key cannot make opening it cost more than this many.
pub const MAX_KEY_ENTRIES: usize = 4096;

/// One key group: master-key entries, any one of which can recover the group's secret (the
/// data key with one group, a Shamir share with several).
pub type KeyGroup = Vec<KeyEntry>;

/// One master key's entry in the metadata: which key it is and the data key (or share) it
/// encrypted. Field names follow sops; every field is kept as the text found in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyEntry {
    /// An age recipient (`age1…`, `ssh-ed25519 …`, `ssh-rsa …`) and the armored age file.
    Age {
        /// The recipient text, verbatim (an SSH comment included).
        recipient: String,
        /// The armored age file holding the data key or share.
        enc: String,
    },
    /// A HashiCorp Vault / OpenBao transit key.
    HcVault {
        /// `scheme://host[:port]`.
        vault_address: String,
        /// The transit engine's mount path (may contain `/`).
        engine_path: String,
        /// The transit key's name.
        key_name: String,
        /// RFC 3339 creation time.
        created_at: String,
        /// The transit ciphertext (`vault:v1:…`).
        enc: String,
    },
    /// A PGP key (kept verbatim; aesec does not decrypt it).
    Pgp {
        /// RFC 3339 creation time.
        created_at: String,
        /// The armored PGP message.
        enc: String,
        /// The key fingerprint.
        fp: String,
    },
    /// An AWS KMS key (kept verbatim).
    Kms {
        /// The key ARN.
        arn: String,
        /// The IAM role to assume (omitted when empty).
        role: String,
        /// The encryption context, in file order (omitted when empty).
        context: Vec<(String, String)>,
        /// RFC 3339 creation time.
        created_at: String,
        /// The KMS ciphertext.
        enc: String,
        /// The AWS profile (always written, may be empty).
        aws_profile: String,
    },
    /// A GCP KMS key (kept verbatim).
    GcpKms {
        /// The key's resource ID.
        resource_id: String,
        /// RFC 3339 creation time.
        created_at: String,
        /// The KMS ciphertext.
        enc: String,
    },
    /// An Azure Key Vault key (kept verbatim).
    AzureKv {
        /// The vault URL.
        vault_url: String,
        /// The key name.
        name: String,
        /// The key version.
        version: String,
        /// RFC 3339 creation time.
        created_at: String,
        /// The wrapped key.
        enc: String,
    },
}

/// The kinds of [`KeyEntry`], in the order sops loads them into a group (`internalGroupFrom`).
const KIND_ORDER: [&str; 6] = ["kms", "gcp_kms", "azure_kv", "hc_vault", "pgp", "age"];

impl KeyEntry {
    /// The metadata list this entry belongs to: `age`, `hc_vault`, `pgp`, `kms`, `gcp_kms` or
    /// `azure_kv`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Age { .. } => "age",
            Self::HcVault { .. } => "hc_vault",
            Self::Pgp { .. } => "pgp",
            Self::Kms { .. } => "kms",
            Self::GcpKms { .. } => "gcp_kms",
            Self::AzureKv { .. } => "azure_kv",
        }
    }

    /// The key's identity as sops compares keys in `updatekeys`: the age recipient, the vault
    /// URI `addr/v1/engine/keys/name`, the PGP fingerprint, the KMS ARN, the GCP resource ID,
    /// or `vault_url/keys/name/version`.
    ///
    /// ```
    /// use aesec::sops::KeyEntry;
    /// let entry = KeyEntry::Age { recipient: "age1xyz".into(), enc: String::new() };
    /// assert_eq!(entry.identifier(), "age1xyz");
    /// ```
    pub fn identifier(&self) -> String {
        match self {
            Self::Age { recipient, .. } => recipient.clone(),
            Self::HcVault {
                vault_address,
                engine_path,
                key_name,
                ..
            } => vault_identifier(vault_address, engine_path, key_name),
            Self::Pgp { fp, .. } => fp.clone(),
            Self::Kms { arn, .. } => arn.clone(),
            Self::GcpKms { resource_id, .. } => resource_id.clone(),
            Self::AzureKv {
                vault_url,
                name,
                version,
                ..
            } => format!("{vault_url}/keys/{name}/{version}"),
        }
    }

    /// The encrypted data key (or share) as stored.
    pub fn enc(&self) -> &str {
        match self {
            Self::Age { enc, .. }
            | Self::HcVault { enc, .. }
            | Self::Pgp { enc, .. }
            | Self::Kms { enc, .. }
            | Self::GcpKms { enc, .. }
            | Self::AzureKv { enc, .. } => enc,
        }
    }

    fn kind_rank(&self) -> usize {
        let kind = self.kind();
        KIND_ORDER
            .iter()
            .position(|k| *k == kind)
            .expect("every kind is listed in KIND_ORDER")
    }
}

/// The identifier sops gives a vault transit key: `addr/v1/engine/keys/name`.
pub(crate) fn vault_identifier(vault_address: &str, engine_path: &str, key_name: &str) -> String {
    format!("{vault_address}/v1/{engine_path}/keys/{key_name}")
}

/// Puts a group's entries in the order sops loads them (kms, gcp_kms, azure_kv, hc_vault, pgp,
/// age), keeping the order within each kind.
pub(crate) fn sort_group(group: &mut KeyGroup) {
    group.sort_by_key(KeyEntry::kind_rank);
}

/// How empty `hc_vault`/`age` lists inside `key_groups` are written: sops' YAML store prints
/// `[]`, its JSON (and binary, dotenv, INI) stores print `null`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NullStyle {
    /// `hc_vault: []`.
    Yaml,
    /// `"hc_vault": null`.
    Json,
}

/// The `sops` metadata of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// The key groups; one group is written as flat lists at the top of the block.
    pub key_groups: Vec<KeyGroup>,
    /// How many groups are needed to recover the data key; `None` when absent (then all are).
    pub shamir_threshold: Option<usize>,
    /// `lastmodified`, the raw text as stored (it is the MAC's AAD after re-formatting).
    pub last_modified: String,
    /// `mac`: the `ENC[…]` text of the encrypted MAC; may be empty.
    pub mac: String,
    /// The crypt rule; `None` when absent, which sops treats as `unencrypted_suffix: _unencrypted`.
    pub crypt_rule: Option<CryptRule>,
    /// Whether the MAC covers only encrypted values.
    pub mac_only_encrypted: bool,
    /// `version`: the sops version that wrote the file.
    pub version: String,
}

/// Why a `sops` metadata block could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// The block has no `version`. sops refuses such files; aesec's callers may read them with
    /// a warning by taking the metadata carried here.
    #[error("sops metadata has no 'version'")]
    MissingVersion {
        /// Everything else that was read.
        metadata: Box<Metadata>,
    },
    /// Neither top-level key lists nor `key_groups` hold a key.
    #[error("sops metadata: no keys found in file")]
    NoKeys,
    /// A required field is missing.
    #[error("sops metadata has no '{field}'")]
    MissingField {
        /// The field's path in the block.
        field: String,
    },
    /// A field has a value of the wrong kind.
    #[error("sops metadata field '{field}': expected {expected}, found {found}")]
    InvalidType {
        /// The field's path in the block.
        field: String,
        /// What was expected.
        expected: &'static str,
        /// What was found.
        found: &'static str,
    },
    /// A number field holds text or a value that is not a non-negative integer.
    #[error("sops metadata field '{field}': '{text}' is not a non-negative integer")]
    InvalidNumber {
        /// The field's path in the block.
        field: String,
        /// The value, as text.
        text: String,
    },
    /// More than one crypt rule is set.
    #[error("sops metadata sets both '{first}' and '{second}': a file has at most one crypt rule")]
    ConflictingCryptRules {
        /// The first rule field found.
        first: &'static str,
        /// The second rule field found.
        second: &'static str,
    },
    /// More key entries than [`MAX_KEY_ENTRIES`]: refused before any is tried.
    #[error(
        "sops metadata lists {count} key entries, more than the {MAX_KEY_ENTRIES} aesec reads in one file"
    )]
    TooManyKeyEntries {
        /// How many entries the key groups hold.
        count: usize,
    },
    /// A flattened (dotenv/INI) key cannot be turned back into a path.
    #[error("flattened sops metadata key '{key}' is malformed")]
    InvalidFlattenedKey {
        /// The key.
        key: String,
    },
    /// Two flattened keys need the same place to be a value and a map or list.
    #[error("flattened sops metadata key '{key}' conflicts with another key")]
    FlattenConflict {
        /// The key.
        key: String,
    },
}

impl Metadata {
    /// The crypt rule in force: the stored one, or sops' default `unencrypted_suffix:
    /// _unencrypted` when none is stored.
    pub fn effective_crypt_rule(&self) -> CryptRule {
        self.crypt_rule.clone().unwrap_or_default()
    }

    /// The number of groups needed to recover the data key: the stored threshold, or every
    /// group when none is stored.
    pub fn effective_threshold(&self) -> usize {
        self.shamir_threshold
            .unwrap_or(self.key_groups.len())
            .max(1)
    }

    /// The block as flattened `(key, value)` pairs (no prefix, newlines unescaped), sorted by
    /// key: `flatten` of the JSON-style branch.
    pub fn to_flat(&self) -> Vec<(String, String)> {
        flatten(&self.to_branch(NullStyle::Json))
    }

    /// Reads flattened pairs (no prefix, newlines unescaped), in any order.
    ///
    /// # Errors
    ///
    /// As `unflatten` and [`Metadata::from_branch`].
    pub fn from_flat(pairs: &[(String, String)]) -> Result<Self, MetadataError> {
        Self::from_branch(&unflatten(pairs)?)
    }
}

#[cfg(test)]
mod tests;
