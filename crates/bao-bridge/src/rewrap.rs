//! `hc_vault` entries re-wrapped to their Transit key's latest version after a key rotation
//! (`transit/keys/<k>/rotate`). Transit's `rewrap` runs inside OpenBao, so no data key ever
//! leaves it in clear, and a file changes in its `enc` strings only: they are outside the MAC,
//! so sops opens the file as before. A plan first ([`TransitBackend::stale_entries`]), then one
//! file at a time ([`TransitBackend::rewrap_file`]).

use aesec::file::{FileError, read_metadata, replace_key_groups};
use aesec::sops::{KeyEntry, Metadata};
use aesec::store::{EmitOptions, Format};
use serde::Serialize;

use crate::error::{ConfigError, Error};
use crate::transit::ciphertext_version;
use crate::transit_key::{TransitBackend, transit_parts};

/// An `hc_vault` entry wrapped with an older version of its Transit key than the latest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StaleEntry {
    /// The key's sops URI.
    pub key: String,
    /// The key version the entry is wrapped with.
    pub version: u64,
    /// The key's latest version, which [`TransitBackend::rewrap_file`] wraps with.
    pub latest: u64,
}

/// Why a file's `hc_vault` entries could not be checked or re-wrapped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RewrapError {
    /// The file is not a sops file, or cannot be written back.
    #[error(transparent)]
    File(#[from] FileError),
    /// The settings do not give a working client.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// OpenBao refused or failed a request about the key.
    #[error("Transit key '{key}'")]
    Transit {
        /// The key's sops URI.
        key: String,
        /// The request's error.
        #[source]
        source: Error,
    },
    /// An entry's `enc` is not a Transit ciphertext (`vault:vN:…`).
    #[error("the entry of Transit key '{key}' is not a Transit ciphertext (vault:vN:...)")]
    NotTransitCiphertext {
        /// The key's sops URI.
        key: String,
    },
}

impl TransitBackend {
    /// The `hc_vault` entries of `metadata` wrapped with an older key version than the latest
    /// (one key read per entry; reads only, nothing is decrypted).
    ///
    /// # Errors
    ///
    /// [`RewrapError`] when a key cannot be read or an entry is not a Transit ciphertext.
    pub fn stale_entries(&self, metadata: &Metadata) -> Result<Vec<StaleEntry>, RewrapError> {
        let mut stale = Vec::new();
        for entry in metadata.key_groups.iter().flatten() {
            let Some([address, engine_path, key_name, enc]) = transit_parts(entry) else {
                continue;
            };
            let key = entry.identifier();
            let version = ciphertext_version(enc)
                .ok_or_else(|| RewrapError::NotTransitCiphertext { key: key.clone() })?;
            let latest = self
                .client(address)?
                .transit(engine_path)
                .read_key(key_name)
                .map_err(|source| RewrapError::Transit {
                    key: key.clone(),
                    source,
                })?
                .latest_version;
            if version < latest {
                stale.push(StaleEntry {
                    key,
                    version,
                    latest,
                });
            }
        }
        Ok(stale)
    }

    /// `encrypted` with every stale `hc_vault` entry re-wrapped by Transit to the key's latest
    /// version (its `created_at` kept: the data key is the same), everything else unchanged;
    /// `None` when no entry is stale.
    ///
    /// ```no_run
    /// use aesec::store::{EmitOptions, Format};
    /// use aesec_bao_bridge::{Config, TransitBackend};
    /// let transit = TransitBackend::new(Config::from_env_with(|name| std::env::var(name).ok())?);
    /// let encrypted = std::fs::read("secrets.yaml")?;
    /// if let Some(rewrapped) =
    ///     transit.rewrap_file(&encrypted, Format::Yaml, &EmitOptions::default())?
    /// {
    ///     std::fs::write("secrets.yaml", rewrapped)?;
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`RewrapError`] when the file cannot be read or written back, or Transit fails.
    pub fn rewrap_file(
        &self,
        encrypted: &[u8],
        format: Format,
        emit: &EmitOptions,
    ) -> Result<Option<Vec<u8>>, RewrapError> {
        let metadata = read_metadata(encrypted, format)?;
        let stale = self.stale_entries(&metadata)?;
        if stale.is_empty() {
            return Ok(None);
        }
        let mut groups = metadata.key_groups;
        for entry in groups.iter_mut().flatten() {
            let key = entry.identifier();
            if !stale.iter().any(|s| s.key == key) {
                continue;
            }
            let KeyEntry::HcVault {
                vault_address,
                engine_path,
                key_name,
                enc,
                ..
            } = entry
            else {
                continue;
            };
            let rewrapped = self
                .client(vault_address)?
                .transit(engine_path)
                .rewrap(key_name, enc)
                .map_err(|source| RewrapError::Transit { key, source })?;
            *enc = rewrapped.into_string();
        }
        Ok(Some(replace_key_groups(encrypted, format, groups, emit)?))
    }
}
