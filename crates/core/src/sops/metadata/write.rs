//! Writing the `sops` block: [`Metadata::to_branch`] in sops' field order (research/sops-format.md
//! §6.1), typed so that every store prints what sops prints.

use crate::sops::rules::CryptRule;
use crate::tree::{Branch, Item, Text, Value};

use super::{KeyEntry, Metadata, NullStyle};

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
}

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
