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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::age::GeneratedIdentity;

    const URI: &str = "https://bao.example:8200/v1/team-a/transit/keys/sops";

    #[test]
    fn identifiers_name_their_kind() {
        let recipient = GeneratedIdentity::generate().recipient();
        let age = KeySpec::from_identifier(&recipient.to_string()).unwrap();
        assert_eq!(
            (age.kind(), age.identifier()),
            ("age", recipient.to_string())
        );
        let transit = KeySpec::from_identifier(URI).unwrap();
        assert_eq!(
            (transit.kind(), transit.identifier()),
            ("hc_vault", URI.to_owned())
        );
        assert!(KeySpec::from_identifier("not-a-key").is_err());
    }

    #[test]
    fn an_entry_names_the_spec_that_made_it() {
        let entry = KeyEntry::HcVault {
            vault_address: "https://bao.example:8200".into(),
            engine_path: "team-a/transit".into(),
            key_name: "sops".into(),
            created_at: "2026-12-06T04:00:00Z".into(),
            enc: "vault:v1:abc".into(),
        };
        let spec = KeySpec::from_entry(&entry).unwrap().unwrap();
        assert_eq!(spec.identifier(), URI);
        assert_eq!(spec.identifier(), entry.identifier());
        let pgp = KeyEntry::Pgp {
            fp: "85D77543B3D624B63CEA9E6DBC17301B491B3F21".into(),
            created_at: String::new(),
            enc: String::new(),
        };
        assert!(KeySpec::from_entry(&pgp).unwrap().is_none());
    }

    #[test]
    fn a_backend_that_does_not_handle_a_kind_is_skipped() {
        let recipient = GeneratedIdentity::generate().recipient();
        let identities = crate::keys::age::Identities::default();
        let age = crate::sops::AgeDecryptor::new(&identities);
        let backends: [&dyn KeyDecryptor; 1] = [&age];
        let spec = KeySpec::HcVaultTransit(URI.into());
        match resolve_master_key(&spec, &backends) {
            Err(MasterKeyError::NoBackend { kind, identifier }) => {
                assert_eq!((kind, identifier.as_str()), ("hc_vault", URI));
            }
            other => panic!(
                "expected NoBackend, got {:?}",
                other.map(|k| k.identifier())
            ),
        }
        let key = resolve_master_key(&KeySpec::Age(recipient.clone()), &backends).unwrap();
        assert_eq!(key.identifier(), recipient.to_string());
    }
}
