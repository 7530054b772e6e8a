//! Key specs: which master key a creation rule, a key group or a metadata entry names, typed
//! by kind, and the one function that turns a spec into a [`MasterKey`].
//!
//! age keys are built here. Kinds that need a network service (`hc_vault` transit keys: HTTP
//! to OpenBao or Vault) are supplied by the embedder through the same list of
//! [`KeyDecryptor`]s it decrypts with: a decryptor that handles a kind also answers
//! [`KeyDecryptor::master_key`] for it (`aesec-bao-bridge` does so for `hc_vault`). The core
//! stays free of HTTP and of environment lookups; the list is built once by the caller.

use crate::keys::age::{ParseRecipientError, Recipient};
use crate::sops::age_key::AgeMasterKey;
use crate::sops::master_key::{KeyDecryptor, MasterKey, MasterKeyError};
use crate::sops::metadata::{KeyEntry, vault_identifier};

/// A master key named by a creation rule, a key group or a metadata entry.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum KeySpec {
    /// An age recipient (`age1…`, `ssh-ed25519 …`, `ssh-rsa …`).
    Age(Recipient),
    /// A HashiCorp Vault / OpenBao transit key, as sops' URI
    /// `scheme://host[:port]/v1/<engine path>/keys/<name>`.
    HcVaultTransit(String),
}

impl KeySpec {
    /// The metadata list entries of this key go to: `age` or `hc_vault`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Age(_) => "age",
            Self::HcVaultTransit(_) => "hc_vault",
        }
    }

    /// The key's identity, equal to [`KeyEntry::identifier`] of the entries it makes.
    pub fn identifier(&self) -> String {
        match self {
            Self::Age(recipient) => recipient.to_string(),
            Self::HcVaultTransit(uri) => uri.clone(),
        }
    }

    /// The spec of a key-group identifier as the fleet plan stores it: a transit URI when it
    /// has a scheme (`://`, which no age or SSH recipient contains), else an age recipient.
    ///
    /// # Errors
    ///
    /// [`ParseRecipientError`] when it is neither.
    ///
    /// ```
    /// use aesec::sops::KeySpec;
    /// let spec = KeySpec::from_identifier("http://127.0.0.1:8200/v1/transit/keys/k")?;
    /// assert_eq!(spec.kind(), "hc_vault");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_identifier(identifier: &str) -> Result<Self, ParseRecipientError> {
        if identifier.contains("://") {
            Ok(Self::HcVaultTransit(identifier.to_owned()))
        } else {
            identifier.parse().map(Self::Age)
        }
    }

    /// The spec of the key that made `entry`; `None` for kinds aesec cannot encrypt to (PGP,
    /// cloud KMS).
    ///
    /// # Errors
    ///
    /// [`ParseRecipientError`] for an age entry whose recipient does not parse.
    pub fn from_entry(entry: &KeyEntry) -> Result<Option<Self>, ParseRecipientError> {
        match entry {
            KeyEntry::Age { recipient, .. } => recipient.parse().map(|r| Some(Self::Age(r))),
            KeyEntry::HcVault {
                vault_address,
                engine_path,
                key_name,
                ..
            } => Ok(Some(Self::HcVaultTransit(vault_identifier(
                vault_address,
                engine_path,
                key_name,
            )))),
            _ => Ok(None),
        }
    }
}

/// The master key `spec` names: age built in, other kinds from the first of `backends` that
/// answers [`KeyDecryptor::master_key`] for it.
///
/// # Errors
///
/// [`MasterKeyError::NoBackend`] when no backend handles the kind, or the backend's error.
///
/// ```
/// use aesec::keys::age::GeneratedIdentity;
/// use aesec::sops::{KeySpec, MasterKeyError, resolve_master_key};
/// let age = KeySpec::Age(GeneratedIdentity::generate().recipient());
/// assert_eq!(resolve_master_key(&age, &[])?.identifier(), age.identifier());
/// let transit = KeySpec::HcVaultTransit("http://127.0.0.1:8200/v1/transit/keys/k".into());
/// assert!(matches!(resolve_master_key(&transit, &[]), Err(MasterKeyError::NoBackend { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn resolve_master_key(
    spec: &KeySpec,
    backends: &[&dyn KeyDecryptor],
) -> Result<Box<dyn MasterKey>, MasterKeyError> {
    if let KeySpec::Age(recipient) = spec {
        return Ok(Box::new(AgeMasterKey::new(recipient.clone())));
    }
    backends
        .iter()
        .find_map(|backend| backend.master_key(spec))
        .unwrap_or_else(|| {
            Err(MasterKeyError::NoBackend {
                kind: spec.kind(),
                identifier: spec.identifier(),
            })
        })
}
