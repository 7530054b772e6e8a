//! The `sops` metadata block: key groups, the encrypted data key of every master key, the MAC,
//! the crypt rule and the version, as sops 3.11 stores them (`stores/stores.go` `Metadata`).
//!
//! [`Metadata::to_branch`] writes the map in sops' field order (research/sops-format.md §6.1) so
//! that every store emits what sops emits; [`Metadata::from_branch`] reads what any sops version
//! wrote (§6.2, §19): legacy empty key lists, JSON floats, dotenv/INI strings, quoted or unquoted
//! timestamps, top-level keys or `key_groups`. Entries of key types aesec does not implement
//! (PGP, AWS KMS, GCP KMS, Azure Key Vault) are kept verbatim so that a rewrite preserves them.
//! The dotenv and INI stores carry the block as flattened keys: see [`flatten`] and [`unflatten`].

mod flat;

use crate::sops::rules::CryptRule;
use crate::tree::{Branch, Item, Text, Value};

pub(crate) use flat::{
    DOTENV_PREFIX, INI_SECTION, flatten, flatten_dotenv, flatten_ini, is_dotenv_metadata_key,
    unflatten, unflatten_dotenv, unflatten_ini,
};

/// The metadata key under which sops stores the block in every document.
pub(crate) const METADATA_KEY: &str = "sops";

/// The `version` aesec writes: a semver that sops 3.11 accepts (§6.3).
pub const SOPS_VERSION: &str = "3.11.0";

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

/// Makes a crypt rule from its text.
type MakeRule = fn(String) -> CryptRule;

/// The crypt rule fields, in sops' output order, with their constructors.
const RULE_FIELDS: [(&str, MakeRule); 6] = [
    ("unencrypted_suffix", CryptRule::UnencryptedSuffix),
    ("encrypted_suffix", CryptRule::EncryptedSuffix),
    ("unencrypted_regex", CryptRule::UnencryptedRegex),
    ("encrypted_regex", CryptRule::EncryptedRegex),
    (
        "unencrypted_comment_regex",
        CryptRule::UnencryptedCommentRegex,
    ),
    ("encrypted_comment_regex", CryptRule::EncryptedCommentRegex),
];

fn rule_field(rule: &CryptRule) -> (&'static str, &str) {
    match rule {
        CryptRule::UnencryptedSuffix(s) => ("unencrypted_suffix", s),
        CryptRule::EncryptedSuffix(s) => ("encrypted_suffix", s),
        CryptRule::UnencryptedRegex(s) => ("unencrypted_regex", s),
        CryptRule::EncryptedRegex(s) => ("encrypted_regex", s),
        CryptRule::UnencryptedCommentRegex(s) => ("unencrypted_comment_regex", s),
        CryptRule::EncryptedCommentRegex(s) => ("encrypted_comment_regex", s),
    }
}

fn str_value(text: &str) -> Value {
    Value::Str(Text::from(text))
}

fn push(branch: &mut Branch, key: &str, value: Value) {
    branch.push(Item::Entry {
        key: key.to_owned(),
        value,
    });
}

fn entry_branch(entry: &KeyEntry) -> Branch {
    let mut b = Branch::new();
    match entry {
        KeyEntry::Age { recipient, enc } => {
            push(&mut b, "recipient", str_value(recipient));
            push(&mut b, "enc", str_value(enc));
        }
        KeyEntry::HcVault {
            vault_address,
            engine_path,
            key_name,
            created_at,
            enc,
        } => {
            push(&mut b, "vault_address", str_value(vault_address));
            push(&mut b, "engine_path", str_value(engine_path));
            push(&mut b, "key_name", str_value(key_name));
            push(&mut b, "created_at", str_value(created_at));
            push(&mut b, "enc", str_value(enc));
        }
        KeyEntry::Pgp {
            created_at,
            enc,
            fp,
        } => {
            push(&mut b, "created_at", str_value(created_at));
            push(&mut b, "enc", str_value(enc));
            push(&mut b, "fp", str_value(fp));
        }
        KeyEntry::Kms {
            arn,
            role,
            context,
            created_at,
            enc,
            aws_profile,
        } => {
            push(&mut b, "arn", str_value(arn));
            if !role.is_empty() {
                push(&mut b, "role", str_value(role));
            }
            if !context.is_empty() {
                let mut ctx = Branch::new();
                for (k, v) in context {
                    push(&mut ctx, k, str_value(v));
                }
                push(&mut b, "context", Value::Map(ctx));
            }
            push(&mut b, "created_at", str_value(created_at));
            push(&mut b, "enc", str_value(enc));
            push(&mut b, "aws_profile", str_value(aws_profile));
        }
        KeyEntry::GcpKms {
            resource_id,
            created_at,
            enc,
        } => {
            push(&mut b, "resource_id", str_value(resource_id));
            push(&mut b, "created_at", str_value(created_at));
            push(&mut b, "enc", str_value(enc));
        }
        KeyEntry::AzureKv {
            vault_url,
            name,
            version,
            created_at,
            enc,
        } => {
            push(&mut b, "vault_url", str_value(vault_url));
            push(&mut b, "name", str_value(name));
            push(&mut b, "version", str_value(version));
            push(&mut b, "created_at", str_value(created_at));
            push(&mut b, "enc", str_value(enc));
        }
    }
    b
}

/// The entries of `group` of one kind, as a list value, or `None` when there are none.
fn kind_list(group: &[KeyEntry], kind: &str) -> Option<Value> {
    let list: Vec<Value> = group
        .iter()
        .filter(|e| e.kind() == kind)
        .map(|e| Value::Map(entry_branch(e)))
        .collect();
    (!list.is_empty()).then_some(Value::List(list))
}

fn group_branch(group: &[KeyEntry], style: NullStyle) -> Branch {
    let mut b = Branch::new();
    for kind in ["pgp", "kms", "gcp_kms", "azure_kv"] {
        if let Some(list) = kind_list(group, kind) {
            push(&mut b, kind, list);
        }
    }
    for kind in ["hc_vault", "age"] {
        let list = kind_list(group, kind).unwrap_or(match style {
            NullStyle::Yaml => Value::List(Vec::new()),
            NullStyle::Json => Value::Null,
        });
        push(&mut b, kind, list);
    }
    b
}

impl Metadata {
    /// The `sops` map in sops' field order (§6.1): one group as flat top-level lists, several
    /// as `key_groups` plus `shamir_threshold`; `style` decides how empty lists inside groups
    /// look. Values are typed so that the stores print what sops prints.
    ///
    /// ```
    /// use aesec::sops::{KeyEntry, Metadata, NullStyle};
    /// let metadata = Metadata {
    ///     key_groups: vec![vec![KeyEntry::Age { recipient: "age1…".into(), enc: "…".into() }]],
    ///     shamir_threshold: None,
    ///     last_modified: "2026-11-22T03:22:16Z".into(),
    ///     mac: String::new(),
    ///     crypt_rule: None,
    ///     mac_only_encrypted: false,
    ///     version: "3.11.0".into(),
    /// };
    /// let branch = metadata.to_branch(NullStyle::Yaml);
    /// assert_eq!(Metadata::from_branch(&branch)?, metadata);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_branch(&self, style: NullStyle) -> Branch {
        let mut b = Branch::new();
        if let Some(threshold) = self.shamir_threshold.filter(|t| *t > 0) {
            let threshold = i64::try_from(threshold).unwrap_or(i64::MAX);
            push(&mut b, "shamir_threshold", Value::Int(threshold));
        }
        let single = match self.key_groups.as_slice() {
            [group] => Some(group),
            [] => None,
            groups => {
                let list = groups
                    .iter()
                    .map(|g| Value::Map(group_branch(g, style)))
                    .collect();
                push(&mut b, "key_groups", Value::List(list));
                None
            }
        };
        if let Some(group) = single {
            for kind in ["kms", "gcp_kms", "azure_kv", "hc_vault", "age"] {
                if let Some(list) = kind_list(group, kind) {
                    push(&mut b, kind, list);
                }
            }
        }
        push(&mut b, "lastmodified", str_value(&self.last_modified));
        push(&mut b, "mac", str_value(&self.mac));
        if let Some(list) = single.and_then(|group| kind_list(group, "pgp")) {
            push(&mut b, "pgp", list);
        }
        if let Some(rule) = &self.crypt_rule {
            let (field, text) = rule_field(rule);
            if !text.is_empty() {
                push(&mut b, field, str_value(text));
            }
        }
        if self.mac_only_encrypted {
            push(&mut b, "mac_only_encrypted", Value::Bool(true));
        }
        push(&mut b, "version", str_value(&self.version));
        b
    }

    /// Reads a `sops` map written by any sops version (or by a store's unflattening).
    ///
    /// # Errors
    ///
    /// [`MetadataError::MissingVersion`] (carrying the rest of the metadata) when `version` is
    /// missing or empty, [`MetadataError::NoKeys`] when no key list is non-empty, and the other
    /// variants, naming the field, for values of the wrong kind.
    pub fn from_branch(branch: &Branch) -> Result<Self, MetadataError> {
        let top_group = read_group(branch, "")?;
        let key_groups = if !top_group.is_empty() {
            vec![top_group]
        } else {
            match lookup(branch, "key_groups") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::List(groups)) => groups
                    .iter()
                    .filter(|g| !matches!(g, Value::Null | Value::Comment(_)))
                    .enumerate()
                    .map(|(i, g)| {
                        let field = format!("key_groups[{i}]");
                        match g {
                            Value::Map(group) => read_group(group, &field),
                            other => Err(invalid(field, "a map", other)),
                        }
                    })
                    .collect::<Result<_, _>>()?,
                Some(other) => return Err(invalid("key_groups".into(), "a list", other)),
            }
        };
        if key_groups.is_empty() {
            return Err(MetadataError::NoKeys);
        }
        let shamir_threshold = match lookup(branch, "shamir_threshold") {
            None | Some(Value::Null) => None,
            Some(value) => Some(read_count(value, "shamir_threshold")?).filter(|t| *t > 0),
        };
        let last_modified = match lookup(branch, "lastmodified") {
            None | Some(Value::Null) => {
                return Err(MetadataError::MissingField {
                    field: "lastmodified".into(),
                });
            }
            Some(value) => read_text(value, "lastmodified")?,
        };
        let mac = optional_text(branch, "mac", "mac")?;
        let mut crypt_rule: Option<(&'static str, CryptRule)> = None;
        for (field, make) in RULE_FIELDS {
            let text = optional_text(branch, field, field)?;
            if text.is_empty() {
                continue;
            }
            if let Some((first, _)) = crypt_rule {
                return Err(MetadataError::ConflictingCryptRules {
                    first,
                    second: field,
                });
            }
            crypt_rule = Some((field, make(text)));
        }
        let mac_only_encrypted = match lookup(branch, "mac_only_encrypted") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            // sops' DecodeNonStrings: any string other than "true" is false.
            Some(Value::Str(text)) => text.as_bytes() == b"true",
            Some(other) => return Err(invalid("mac_only_encrypted".into(), "a bool", other)),
        };
        let version = optional_text(branch, "version", "version")?;
        let metadata = Self {
            key_groups,
            shamir_threshold,
            last_modified,
            mac,
            crypt_rule: crypt_rule.map(|(_, rule)| rule),
            mac_only_encrypted,
            version,
        };
        if metadata.version.is_empty() {
            return Err(MetadataError::MissingVersion {
                metadata: Box::new(metadata),
            });
        }
        Ok(metadata)
    }

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

/// The value under `key`, ignoring comments.
fn lookup<'a>(branch: &'a [Item], key: &str) -> Option<&'a Value> {
    crate::tree::get(branch, key)
}

fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Int(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Str(_) => "a string",
        Value::Time(_) => "a timestamp",
        Value::Bytes(_) => "bytes",
        Value::Map(_) => "a map",
        Value::List(_) => "a list",
        Value::Comment(_) => "a comment",
    }
}

fn invalid(field: String, expected: &'static str, found: &Value) -> MetadataError {
    MetadataError::InvalidType {
        field,
        expected,
        found: kind_name(found),
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// A scalar read as text the way go-yaml fills a string field: strings and timestamps as they
/// are, numbers and bools as their text.
fn read_text(value: &Value, field: &str) -> Result<String, MetadataError> {
    match value {
        Value::Null => Ok(String::new()),
        Value::Str(text) => {
            text.as_str()
                .map(str::to_owned)
                .ok_or_else(|| MetadataError::InvalidType {
                    field: field.to_owned(),
                    expected: "UTF-8 text",
                    found: "invalid UTF-8",
                })
        }
        Value::Time(text) => Ok(text.clone()),
        Value::Int(i) => Ok(i.to_string()),
        Value::Float(f) => Ok(crate::gofmt::format_f(*f)),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(invalid(field.to_owned(), "a string", other)),
    }
}

fn optional_text(branch: &[Item], key: &str, field: &str) -> Result<String, MetadataError> {
    lookup(branch, key).map_or(Ok(String::new()), |v| read_text(v, field))
}

/// A count stored as an integer, a float with no fraction (JSON) or text (dotenv/INI: "2",
/// "2.0").
fn read_count(value: &Value, field: &str) -> Result<usize, MetadataError> {
    let bad = |text: String| MetadataError::InvalidNumber {
        field: field.to_owned(),
        text,
    };
    let from_float = |f: f64, text: String| {
        if f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&f) {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "checked to be a whole number within u32 range"
            )]
            Ok(f as usize)
        } else {
            Err(bad(text))
        }
    };
    match value {
        Value::Int(i) => usize::try_from(*i).map_err(|_| bad(i.to_string())),
        Value::Float(f) => from_float(*f, crate::gofmt::format_f(*f)),
        Value::Str(text) => {
            let text = text.to_string_lossy();
            let trimmed = text.trim();
            if let Ok(n) = trimmed.parse::<usize>() {
                Ok(n)
            } else {
                match trimmed.parse::<f64>() {
                    Ok(f) => from_float(f, text.into_owned()),
                    Err(_) => Err(bad(text.into_owned())),
                }
            }
        }
        other => Err(invalid(field.to_owned(), "an integer", other)),
    }
}

/// Reads the key lists of one group (the top level of the block or one `key_groups` element)
/// in sops' load order.
fn read_group(branch: &[Item], prefix: &str) -> Result<KeyGroup, MetadataError> {
    let mut group = KeyGroup::new();
    for kind in KIND_ORDER {
        let field = join(prefix, kind);
        let list = match lookup(branch, kind) {
            None | Some(Value::Null) => continue,
            Some(Value::List(list)) => list,
            Some(other) => return Err(invalid(field, "a list", other)),
        };
        for (i, item) in list
            .iter()
            .filter(|v| !matches!(v, Value::Null | Value::Comment(_)))
            .enumerate()
        {
            let field = format!("{field}[{i}]");
            match item {
                Value::Map(map) => group.push(read_entry(kind, map, &field)?),
                other => return Err(invalid(field, "a map", other)),
            }
        }
    }
    Ok(group)
}

fn read_entry(kind: &str, map: &[Item], prefix: &str) -> Result<KeyEntry, MetadataError> {
    let text = |key: &str| optional_text(map, key, &join(prefix, key));
    Ok(match kind {
        "age" => KeyEntry::Age {
            recipient: text("recipient")?,
            enc: text("enc")?,
        },
        "hc_vault" => KeyEntry::HcVault {
            vault_address: text("vault_address")?,
            engine_path: text("engine_path")?,
            key_name: text("key_name")?,
            created_at: text("created_at")?,
            enc: text("enc")?,
        },
        "pgp" => KeyEntry::Pgp {
            created_at: text("created_at")?,
            enc: text("enc")?,
            fp: text("fp")?,
        },
        "kms" => {
            let field = join(prefix, "context");
            let context = match lookup(map, "context") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Map(ctx)) => ctx
                    .iter()
                    .filter_map(|item| match item {
                        Item::Entry { key, value } => Some((key, value)),
                        Item::Comment(_) => None,
                    })
                    .filter(|(_, value)| !matches!(value, Value::Null))
                    .map(|(key, value)| Ok((key.clone(), read_text(value, &field)?)))
                    .collect::<Result<_, MetadataError>>()?,
                Some(other) => return Err(invalid(field, "a map", other)),
            };
            KeyEntry::Kms {
                arn: text("arn")?,
                role: text("role")?,
                context,
                created_at: text("created_at")?,
                enc: text("enc")?,
                aws_profile: text("aws_profile")?,
            }
        }
        "gcp_kms" => KeyEntry::GcpKms {
            resource_id: text("resource_id")?,
            created_at: text("created_at")?,
            enc: text("enc")?,
        },
        _ => KeyEntry::AzureKv {
            vault_url: text("vault_url")?,
            name: text("name")?,
            version: text("version")?,
            created_at: text("created_at")?,
            enc: text("enc")?,
        },
    })
}

#[cfg(test)]
mod tests;
