//! The way back: a KV secret into a sops file, either a new file encrypted under its creation
//! rule or a subtree of an existing file (other values keep their ciphertext).
//!
//! Values stay strings; keys marked `aesec.encoding.<key>: base64` in the version's custom
//! metadata are decoded back to their bytes. Flattened keys (`db.password`) stay flat, so
//! publishing a pulled file again gives the same fingerprint: nothing to write.

use std::path::Path;

use base64::Engine;

use aesec::config::Config;
use aesec::file::{ChangeOptions, FileError, RuleOverrides, creation_recipients};
use aesec::sops::{Document, KeyDecryptor, TreePath};
use aesec::store::{EmitOptions, Format};
use aesec::{Item, Text, Tree, Value};

use crate::client::Client;
use crate::publish::{ENCODING_PREFIX, PublishError};

/// Where [`pull`] puts a secret.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct PullTarget<'a> {
    /// The sops file (its extension gives the format; its path picks the creation rule).
    pub file: &'a Path,
    /// The file's current bytes, when it exists.
    pub existing: Option<&'a [u8]>,
    /// Where in the file the secret's map goes; `None` makes it the whole document (a new file
    /// only).
    pub keys: Option<&'a TreePath>,
    /// `.sops.yaml`, for a new file's creation rule.
    pub config: Option<&'a Config>,
    /// The directory relative paths are resolved against.
    pub cwd: &'a Path,
    /// What opens an existing file.
    pub decryptors: &'a [&'a dyn KeyDecryptor],
}

impl<'a> PullTarget<'a> {
    /// A target with no existing file, no subtree, no `.sops.yaml` and no decryptors.
    pub fn new(file: &'a Path, cwd: &'a Path) -> Self {
        Self {
            file,
            existing: None,
            keys: None,
            config: None,
            cwd,
            decryptors: &[],
        }
    }
}

/// Reads `mount/path` (latest version) and returns the new bytes of the target file, or `None`
/// when an existing file already holds exactly these values. The caller writes the bytes
/// (atomically: `aesec::fs::write_atomic`).
///
/// ```no_run
/// use std::path::Path;
///
/// use aesec::config::Config;
/// use aesec_bao_bridge::publish::{PullTarget, pull};
/// use aesec_bao_bridge::{Client, Config as BaoConfig};
///
/// let client = Client::new(BaoConfig::from_env_with(|name| std::env::var(name).ok())?)?;
/// let config = Config::load(".sops.yaml")?;
/// let file = Path::new("k8s/grafana.yaml");
/// let mut target = PullTarget::new(file, Path::new("."));
/// target.config = Some(&config);
/// if let Some(bytes) = pull(&client, "kv-k8s", "homelab/monitoring/grafana-admin", &target)? {
///     std::fs::write(file, bytes)?; // a new sops file, encrypted under its creation rule
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn pull(
    client: &Client,
    mount: &str,
    path: &str,
    target: &PullTarget<'_>,
) -> Result<Option<Vec<u8>>, PublishError> {
    let secret = client
        .kv2(mount)
        .read(path)
        .map_err(|source| PublishError::Bao {
            mount: mount.to_owned(),
            path: path.to_owned(),
            source: Box::new(source),
        })?;
    let mut branch = Vec::new();
    for (key, value) in secret.data.expose() {
        let serde_json::Value::String(text) = value else {
            return Err(PublishError::NotAString {
                mount: mount.to_owned(),
                path: path.to_owned(),
                key: key.clone(),
            });
        };
        let binary = secret
            .metadata
            .custom_metadata
            .get(&format!("{ENCODING_PREFIX}{key}"))
            .is_some_and(|encoding| encoding == "base64");
        let bytes = match binary {
            true => base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|_| PublishError::NotAString {
                    mount: mount.to_owned(),
                    path: path.to_owned(),
                    key: key.clone(),
                })?,
            false => text.as_bytes().to_vec(),
        };
        branch.push(Item::Entry {
            key: key.clone(),
            value: Value::Str(Text::new(bytes)),
        });
    }
    let failed = |source: FileError| PublishError::Open {
        file: target.file.to_owned(),
        source,
    };
    let format = Format::from_path(target.file);
    if let Some(existing) = target.existing {
        let Some(keys) = target.keys else {
            return Err(PublishError::NoSubtree {
                file: target.file.to_owned(),
            });
        };
        let mut options = ChangeOptions::new(format);
        options.idempotent = true;
        return aesec::file::set(
            existing,
            target.decryptors,
            keys,
            Value::Map(branch),
            &options,
        )
        .map_err(failed);
    }
    let top = match target.keys {
        Some(keys) => {
            let mut top = Vec::new();
            keys.set(&mut top, Value::Map(branch))
                .map_err(|error| failed(error.into()))?;
            top
        }
        None => branch,
    };
    let (recipients, rules) = creation_recipients(
        target.config,
        target.file,
        target.cwd,
        &RuleOverrides::default(),
        target.decryptors,
    )
    .map_err(failed)?;
    let mut document = Document::from_plaintext(b"{}", Format::Json, &rules)
        .map_err(|error| failed(error.into()))?;
    document.replace_tree(Tree::single(top));
    document
        .rewrap(&recipients)
        .map_err(|error| failed(error.into()))?;
    document
        .seal_as(format, &EmitOptions::default())
        .map(Some)
        .map_err(|error| failed(error.into()))
}
