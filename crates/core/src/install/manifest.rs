//! The manifest: sops-nix's `manifest.json`, read exactly as `sops-install-secrets` reads it.
//!
//! The Nix module (`modules/sops/manifest-for.nix`) writes it with `builtins.toJSON`, and the Go
//! tests write it from the Go structs, so every field follows Go's `encoding/json` zero values: a
//! missing field or `null` is the zero value (`""`, `0`, `false`, an empty list), `format: ""`
//! means YAML, and fields Go does not know (`neededForUsers`, `sopsFileHash`, …) are ignored.
//! aesec is stricter than Go in one place: an unknown `format` is refused here, where Go would
//! silently treat it as YAML.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};

use crate::store::Format;

/// The mode a secret gets when its manifest entry has none (sops-nix's option default).
pub const DEFAULT_MODE: u32 = 0o400;

/// A parsed manifest (sops-nix's Go `manifest` struct).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Manifest {
    /// The secrets to install.
    #[serde(default, deserialize_with = "go_zero")]
    pub secrets: Vec<Secret>,
    /// The templates to render.
    #[serde(default, deserialize_with = "go_zero")]
    pub templates: Vec<Template>,
    /// The placeholder string standing for each secret inside templates.
    #[serde(default, deserialize_with = "go_zero")]
    pub placeholder_by_secret_name: BTreeMap<String, String>,
    /// Where the RAM file system is mounted (`/run/secrets.d`).
    #[serde(default, deserialize_with = "go_zero")]
    pub secrets_mount_point: PathBuf,
    /// The symlink to the live generation (`/run/secrets`).
    #[serde(default, deserialize_with = "go_zero")]
    pub symlink_path: PathBuf,
    /// How many generations to keep; `0` keeps them all.
    #[serde(default, deserialize_with = "go_zero")]
    pub keep_generations: i64,
    /// SSH keys to import into GnuPG (refused: aesec has no PGP).
    #[serde(default, deserialize_with = "go_zero")]
    pub ssh_key_paths: Vec<PathBuf>,
    /// A GnuPG home (refused: aesec has no PGP).
    #[serde(default, deserialize_with = "go_zero")]
    pub gnupg_home: String,
    /// An age identity file.
    #[serde(default, deserialize_with = "go_zero")]
    pub age_key_file: String,
    /// SSH Ed25519 private keys, converted to age identities in memory.
    #[serde(default, deserialize_with = "go_zero")]
    pub age_ssh_key_paths: Vec<PathBuf>,
    /// Mount a tmpfs (`noswap`) rather than a ramfs.
    #[serde(default, deserialize_with = "go_zero")]
    pub use_tmpfs: bool,
    /// home-manager mode: no mount, no ownership changes, no restart lists.
    #[serde(default, deserialize_with = "go_zero")]
    pub user_mode: bool,
    /// What to log.
    #[serde(default, deserialize_with = "go_zero")]
    pub logging: Logging,
}

/// The manifest's `logging` object.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Logging {
    /// Report the identities imported.
    #[serde(default, deserialize_with = "go_zero")]
    pub key_import: bool,
    /// Report added, changed and removed secrets.
    #[serde(default, deserialize_with = "go_zero")]
    pub secret_changes: bool,
}

/// One secret of the manifest.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Secret {
    /// File name under the generation directory; `/` makes directories.
    #[serde(default, deserialize_with = "go_zero")]
    pub name: String,
    /// `/`-separated path inside the document; `""` is the whole file.
    #[serde(default, deserialize_with = "go_zero")]
    pub key: String,
    /// Where the secret is reachable; a symlink when it is not `<symlinkPath>/<name>`.
    #[serde(default, deserialize_with = "go_zero")]
    pub path: PathBuf,
    /// Owner by name; `uid` is used when absent.
    #[serde(default)]
    pub owner: Option<String>,
    /// Owner by number, when `owner` is absent.
    #[serde(default, deserialize_with = "go_zero")]
    pub uid: u32,
    /// Group by name; `gid` is used when absent.
    #[serde(default)]
    pub group: Option<String>,
    /// Group by number, when `group` is absent.
    #[serde(default, deserialize_with = "go_zero")]
    pub gid: u32,
    /// The encrypted file.
    #[serde(default, deserialize_with = "go_zero")]
    pub sops_file: PathBuf,
    /// The store of the encrypted file (`""` is YAML).
    #[serde(default, deserialize_with = "go_zero")]
    pub format: String,
    /// Octal permission bits (`"0400"`).
    #[serde(default, deserialize_with = "go_zero")]
    pub mode: String,
    /// Units to restart when the secret changes.
    #[serde(default, deserialize_with = "go_zero")]
    pub restart_units: Vec<String>,
    /// Units to reload when the secret changes.
    #[serde(default, deserialize_with = "go_zero")]
    pub reload_units: Vec<String>,
}

/// One template of the manifest.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Template {
    /// File name under `<generation>/rendered/`.
    #[serde(default, deserialize_with = "go_zero")]
    pub name: String,
    /// The text with placeholders (used when not empty).
    #[serde(default, deserialize_with = "go_zero")]
    pub content: String,
    /// A file holding the text, used when `content` is empty.
    #[serde(default, deserialize_with = "go_zero")]
    pub file: PathBuf,
    /// Where the rendered file is reachable; a symlink when it is not the default.
    #[serde(default, deserialize_with = "go_zero")]
    pub path: PathBuf,
    /// Octal permission bits.
    #[serde(default, deserialize_with = "go_zero")]
    pub mode: String,
    /// Owner by name; `uid` is used when absent.
    #[serde(default)]
    pub owner: Option<String>,
    /// Owner by number.
    #[serde(default, deserialize_with = "go_zero")]
    pub uid: u32,
    /// Group by name; `gid` is used when absent.
    #[serde(default)]
    pub group: Option<String>,
    /// Group by number.
    #[serde(default, deserialize_with = "go_zero")]
    pub gid: u32,
    /// Units to restart when the rendered file changes.
    #[serde(default, deserialize_with = "go_zero")]
    pub restart_units: Vec<String>,
    /// Units to reload when the rendered file changes.
    #[serde(default, deserialize_with = "go_zero")]
    pub reload_units: Vec<String>,
}

/// Why a manifest could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The manifest file could not be read.
    #[error("cannot read manifest '{}'", path.display())]
    Read {
        /// The manifest.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The text is not a manifest (bad JSON, or a field of the wrong type).
    #[error("invalid manifest: {source}")]
    Json {
        /// The cause (with line and column).
        #[source]
        source: serde_json::Error,
    },
    /// A secret or template field holds a value aesec does not accept.
    #[error("{kind} '{name}': invalid {field} '{value}': {reason}")]
    Field {
        /// `secret` or `template`.
        kind: &'static str,
        /// The entry's name.
        name: String,
        /// The manifest field (`mode`, `format`, `name`, …).
        field: &'static str,
        /// The value found (never a secret).
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
}

impl Manifest {
    /// Parses manifest JSON.
    ///
    /// ```
    /// let manifest = aesec::install::Manifest::from_json(br#"{
    ///   "secrets": [{"name": "db", "key": "db/password", "sopsFile": "/nix/store/x-s.yaml",
    ///                "format": "", "mode": "0400", "owner": null, "uid": 0, "restartUnits": null}],
    ///   "templates": null, "secretsMountPoint": "/run/secrets.d", "symlinkPath": "/run/secrets",
    ///   "keepGenerations": 0, "ageKeyFile": "/var/lib/sops-nix/key.txt", "neededForUsers": false
    /// }"#)?;
    /// assert_eq!(manifest.secrets[0].format()?, aesec::store::Format::Yaml);
    /// assert!(manifest.templates.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_json(bytes: &[u8]) -> Result<Self, ManifestError> {
        serde_json::from_slice(bytes).map_err(|source| ManifestError::Json { source })
    }

    /// Reads and parses a manifest file.
    pub fn read(path: &Path) -> Result<Self, ManifestError> {
        let bytes = std::fs::read(path).map_err(|source| ManifestError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json(&bytes)
    }

    /// User mode: replaces `%r` with `runtime_dir` (`$XDG_RUNTIME_DIR`) and `%%` with `%` in the
    /// mount point, the symlink path and every secret's and template's path, as sops-nix does.
    ///
    /// ```
    /// let mut manifest = aesec::install::Manifest::from_json(
    ///     br#"{"secretsMountPoint": "%r/secrets.d", "symlinkPath": "/home/a/100%%/secrets"}"#,
    /// )?;
    /// manifest.resolve_runtime_dir("/run/user/1000");
    /// assert_eq!(manifest.secrets_mount_point, std::path::Path::new("/run/user/1000/secrets.d"));
    /// assert_eq!(manifest.symlink_path, std::path::Path::new("/home/a/100%/secrets"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resolve_runtime_dir(&mut self, runtime_dir: &str) {
        let replace = |path: &mut PathBuf| {
            let text = path.to_string_lossy();
            let resolved: Vec<String> = text
                .split("%%")
                .map(|part| part.replace("%r", runtime_dir))
                .collect();
            *path = PathBuf::from(resolved.join("%"));
        };
        replace(&mut self.secrets_mount_point);
        replace(&mut self.symlink_path);
        self.secrets
            .iter_mut()
            .for_each(|secret| replace(&mut secret.path));
        self.templates
            .iter_mut()
            .for_each(|template| replace(&mut template.path));
    }
}

impl Secret {
    /// The store of `sopsFile`: `""` is YAML, as in sops-nix.
    pub fn format(&self) -> Result<Format, ManifestError> {
        match self.format.as_str() {
            "" | "yaml" => Ok(Format::Yaml),
            "json" => Ok(Format::Json),
            "binary" => Ok(Format::Binary),
            "dotenv" => Ok(Format::Dotenv),
            "ini" => Ok(Format::Ini),
            other => Err(field_error(
                "secret",
                &self.name,
                "format",
                other,
                "not one of yaml, json, binary, dotenv, ini",
            )),
        }
    }

    /// The permission bits.
    pub fn mode(&self) -> Result<u32, ManifestError> {
        parse_mode("secret", &self.name, &self.mode)
    }
}

impl Template {
    /// The permission bits.
    pub fn mode(&self) -> Result<u32, ManifestError> {
        parse_mode("template", &self.name, &self.mode)
    }
}

/// Octal permission bits as Go's `strconv.ParseUint(mode, 8, 16)` reads them; empty is 0400.
fn parse_mode(kind: &'static str, name: &str, mode: &str) -> Result<u32, ManifestError> {
    if mode.is_empty() {
        return Ok(DEFAULT_MODE);
    }
    let bits = u32::from_str_radix(mode, 8)
        .map_err(|_| field_error(kind, name, "mode", mode, "not an octal number"))?;
    if bits > 0o7777 {
        return Err(field_error(kind, name, "mode", mode, "more than 0o7777"));
    }
    Ok(bits)
}

pub(crate) fn field_error(
    kind: &'static str,
    name: &str,
    field: &'static str,
    value: &str,
    reason: &'static str,
) -> ManifestError {
    ManifestError::Field {
        kind,
        name: name.to_owned(),
        field,
        value: value.to_owned(),
        reason,
    }
}

/// Go's decoding: `null` leaves the zero value.
fn go_zero<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_values_follow_go() {
        let manifest = Manifest::from_json(
            br#"{"secrets":[{"name":"a","format":"","mode":"0440","restartUnits":null,
                "reloadUnits":null,"owner":null,"group":"keys","sopsFileHash":"x"}],
                "templates":null,"sshKeyPaths":null,"gnupgHome":null,"keepGenerations":0}"#,
        )
        .unwrap();
        let secret = &manifest.secrets[0];
        assert_eq!(secret.format().unwrap(), Format::Yaml);
        assert_eq!(secret.mode().unwrap(), 0o440);
        assert!(secret.restart_units.is_empty() && secret.owner.is_none());
        assert_eq!(secret.group.as_deref(), Some("keys"));
        assert_eq!(manifest.keep_generations, 0);
        assert!(!manifest.logging.key_import);
        let empty = Manifest::from_json(b"{}").unwrap();
        assert!(empty.secrets.is_empty() && empty.gnupg_home.is_empty());
    }

    #[test]
    fn bad_fields_are_named() {
        let manifest =
            Manifest::from_json(br#"{"secrets":[{"name":"a","format":"toml","mode":"9"}]}"#)
                .unwrap();
        let secret = &manifest.secrets[0];
        assert!(matches!(
            secret.format(),
            Err(ManifestError::Field {
                field: "format",
                ..
            })
        ));
        assert!(matches!(
            secret.mode(),
            Err(ManifestError::Field { field: "mode", .. })
        ));
        assert!(matches!(
            Manifest::from_json(br#"{"keepGenerations":"1"}"#),
            Err(ManifestError::Json { .. })
        ));
    }
}
