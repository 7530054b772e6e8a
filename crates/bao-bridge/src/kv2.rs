//! KV version 2: the primitives of aesec's publish protocol (research §4.5): metadata read,
//! check-and-set write, metadata merge-patch of `custom_metadata`, soft delete, read, list.
//!
//! Paths are relative to the mount: `kv.read("homelab/monitoring/grafana")` reads
//! `<mount>/data/homelab/monitoring/grafana`. Secret values come back in [`SecretData`],
//! whose `Debug` shows only the key names.

use std::collections::BTreeMap;
use std::fmt;

use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};

use crate::client::{Client, Idempotent, Request};
use crate::error::Error;

/// A KV v2 mount, borrowed from a [`Client`] (see [`Client::kv2`]).
#[derive(Debug, Clone)]
pub struct Kv2<'c> {
    client: &'c Client,
    mount: String,
}

/// The values of a KV secret. `Debug` lists the keys, never the values.
#[derive(Clone, Default, PartialEq)]
pub struct SecretData(serde_json::Map<String, serde_json::Value>);

impl SecretData {
    /// Wraps a map of values.
    pub fn new(values: serde_json::Map<String, serde_json::Value>) -> Self {
        Self(values)
    }

    /// The values.
    pub fn expose(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.0
    }

    /// The value of `key` when it is a string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(serde_json::Value::as_str)
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for SecretData {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(key, value)| (key.into(), serde_json::Value::String(value.into())))
                .collect(),
        )
    }
}

impl fmt::Debug for SecretData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// One version's metadata, as a read or a write returns it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct VersionMetadata {
    /// The version number (from 1).
    pub version: u64,
    /// When it was written (RFC 3339).
    #[serde(default)]
    pub created_time: String,
    /// When it was soft-deleted; empty when it was not.
    #[serde(default)]
    pub deletion_time: String,
    /// Whether it was destroyed.
    #[serde(default)]
    pub destroyed: bool,
    /// The secret's custom metadata (string to string).
    #[serde(default, deserialize_with = "null_as_default")]
    pub custom_metadata: BTreeMap<String, String>,
}

/// A secret read at one version.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct KvSecret {
    /// The values.
    pub data: SecretData,
    /// The version's metadata.
    pub metadata: VersionMetadata,
}

/// The metadata of a secret across its versions (`<mount>/metadata/<path>`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metadata {
    /// The latest version (0 when only metadata exists).
    #[serde(default)]
    pub current_version: u64,
    /// The oldest version kept.
    #[serde(default)]
    pub oldest_version: u64,
    /// How many versions are kept (0 = the mount's setting).
    #[serde(default)]
    pub max_versions: u64,
    /// Whether every write must carry `cas`.
    #[serde(default)]
    pub cas_required: bool,
    /// The custom metadata (string to string): aesec's ownership marker lives here.
    #[serde(default, deserialize_with = "null_as_default")]
    pub custom_metadata: BTreeMap<String, String>,
    /// OpenBao ≥2.4: the metadata's own version, for `metadata_cas`.
    #[serde(default)]
    pub current_metadata_version: Option<u64>,
    /// OpenBao ≥2.4: whether metadata writes must carry `metadata_cas`.
    #[serde(default)]
    pub metadata_cas_required: bool,
    /// Every kept version by number.
    #[serde(default, deserialize_with = "null_as_default")]
    pub versions: BTreeMap<String, VersionState>,
}

/// The state of one version in [`Metadata::versions`].
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct VersionState {
    /// When it was written.
    #[serde(default)]
    pub created_time: String,
    /// When it was soft-deleted; empty when it was not.
    #[serde(default)]
    pub deletion_time: String,
    /// Whether it was destroyed.
    #[serde(default)]
    pub destroyed: bool,
}

/// The check-and-set condition of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cas {
    /// Only if the secret does not exist yet (`cas: 0`).
    Absent,
    /// Only if the current version is this one.
    Version(u64),
}

impl Cas {
    fn number(self) -> u64 {
        match self {
            Self::Absent => 0,
            Self::Version(version) => version,
        }
    }
}

/// A merge-patch of a secret's metadata: `Some` sets a custom-metadata key, `None` removes it;
/// keys not named are kept (unlike a metadata `POST`, which replaces them all).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetadataPatch {
    /// Custom-metadata keys to set (`Some`) or remove (`None`).
    pub custom_metadata: BTreeMap<String, Option<String>>,
    /// A new `max_versions`.
    pub max_versions: Option<u64>,
    /// `metadata_cas`: apply only if the metadata version is this one.
    pub metadata_cas: Option<u64>,
}

impl MetadataPatch {
    /// A patch that sets these custom-metadata keys.
    pub fn set<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self {
            custom_metadata: pairs
                .into_iter()
                .map(|(key, value)| (key.into(), Some(value.into())))
                .collect(),
            ..Self::default()
        }
    }
}

fn null_as_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

impl Client {
    /// The KV v2 mount `mount` (`secret`, `kv-k8s`).
    pub fn kv2(&self, mount: &str) -> Kv2<'_> {
        Kv2 {
            client: self,
            mount: mount.trim_matches('/').to_owned(),
        }
    }
}

impl Kv2<'_> {
    fn at(&self, section: &str, path: &str) -> String {
        format!("{}/{section}/{}", self.mount, path.trim_matches('/'))
    }

    /// Reads the latest version.
    ///
    /// Fails with [`Error::NotFound`] when the path never existed, [`Error::SoftDeleted`] when
    /// the latest version was deleted, [`Error::Destroyed`] when it was destroyed.
    ///
    /// ```no_run
    /// # let client = aesec_bao_bridge::Client::new(aesec_bao_bridge::Config::new("http://127.0.0.1:8200"))?;
    /// let secret = client.kv2("kv-k8s").read("homelab/monitoring/grafana-admin")?;
    /// println!("version {} has keys {:?}", secret.metadata.version, secret.data);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read(&self, path: &str) -> Result<KvSecret, Error> {
        self.read_at(path, None)
    }

    /// Reads one version.
    pub fn read_version(&self, path: &str, version: u64) -> Result<KvSecret, Error> {
        self.read_at(path, Some(version))
    }

    fn read_at(&self, path: &str, version: Option<u64>) -> Result<KvSecret, Error> {
        #[derive(Deserialize)]
        struct Read {
            #[serde(default, deserialize_with = "null_as_default")]
            data: serde_json::Map<String, serde_json::Value>,
            metadata: VersionMetadata,
        }
        let full = self.at("data", path);
        let mut request = Request::new(Method::GET, &full);
        if let Some(version) = version {
            request.query.push(("version", version.to_string()));
        }
        let read: Read = self.client.send(request)?.data_as(&full)?;
        Ok(KvSecret {
            data: SecretData(read.data),
            metadata: read.metadata,
        })
    }

    /// Reads the metadata; `None` when nothing was ever written at `path`. One request, and
    /// no secret value crosses the wire: the first step of a publish.
    pub fn read_metadata(&self, path: &str) -> Result<Option<Metadata>, Error> {
        let full = self.at("metadata", path);
        match self.client.read(&full) {
            Ok(response) => response.data_as(&full).map(Some),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Writes a new version if `cas` holds; returns the new version's metadata.
    ///
    /// A conflict fails with [`Error::CasMismatch`] and writes nothing. Being conditional, the
    /// write is safe to retry after a lost answer: a duplicate fails the CAS check.
    ///
    /// ```no_run
    /// use aesec_bao_bridge::{Cas, SecretData};
    /// # let client = aesec_bao_bridge::Client::new(aesec_bao_bridge::Config::new("http://127.0.0.1:8200"))?;
    /// let kv = client.kv2("kv-k8s");
    /// let data: SecretData = [("admin-password", "hunter2")].into_iter().collect();
    /// let current = kv.read_metadata("homelab/monitoring/grafana-admin")?;
    /// let cas = current.map_or(Cas::Absent, |meta| Cas::Version(meta.current_version));
    /// let written = kv.write("homelab/monitoring/grafana-admin", &data, cas)?;
    /// println!("wrote version {}", written.version);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write(&self, path: &str, data: &SecretData, cas: Cas) -> Result<VersionMetadata, Error> {
        #[derive(Serialize)]
        struct Options {
            cas: u64,
        }
        #[derive(Serialize)]
        struct Write<'a> {
            data: &'a serde_json::Map<String, serde_json::Value>,
            options: Options,
        }
        let full = self.at("data", path);
        self.client
            .send(
                Request::new(Method::POST, &full)
                    .json(&Write {
                        data: &data.0,
                        options: Options { cas: cas.number() },
                    })
                    .idempotent(Idempotent::Yes),
            )?
            .data_as(&full)
    }

    /// Merge-patches the metadata (`PATCH`, `application/merge-patch+json`): other tools'
    /// custom-metadata keys survive. The secret must exist ([`Error::NotFound`] otherwise).
    pub fn patch_metadata(&self, path: &str, patch: &MetadataPatch) -> Result<(), Error> {
        let mut body = serde_json::Map::new();
        if !patch.custom_metadata.is_empty() {
            body.insert(
                "custom_metadata".to_owned(),
                serde_json::to_value(&patch.custom_metadata)
                    .expect("a map of optional strings is JSON"),
            );
        }
        if let Some(max_versions) = patch.max_versions {
            body.insert("max_versions".to_owned(), max_versions.into());
        }
        if let Some(metadata_cas) = patch.metadata_cas {
            body.insert("metadata_cas".to_owned(), metadata_cas.into());
        }
        let full = self.at("metadata", path);
        let mut request = Request::new(Method::PATCH, &full)
            .json(&serde_json::Value::Object(body))
            .idempotent(Idempotent::Yes);
        request.merge_patch = true;
        self.client.send(request)?;
        Ok(())
    }

    /// Soft-deletes the latest version (reversible with `undelete`); the next write makes a
    /// new version. Reading it then fails with [`Error::SoftDeleted`].
    pub fn soft_delete(&self, path: &str) -> Result<(), Error> {
        self.client.delete(&self.at("data", path))?;
        Ok(())
    }

    /// Deletes every version and the metadata: the path is gone for good.
    pub fn delete_all(&self, path: &str) -> Result<(), Error> {
        self.client.delete(&self.at("metadata", path))?;
        Ok(())
    }

    /// The keys under a folder (`""` for the mount's root), folders ending in `/`.
    pub fn list(&self, folder: &str) -> Result<Vec<String>, Error> {
        let mut full = self.at("metadata", folder);
        if !full.ends_with('/') {
            full.push('/');
        }
        self.client.list(&full)
    }
}
