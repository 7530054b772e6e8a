//! `.aesec.yaml`'s `bao:` section: which sops file (or subtree) is published to which KV v2
//! path, and the settings of the External Secrets manifests.
//!
//! ```yaml
//! bao:
//!   kv_mount: kv-k8s                # the default KV v2 mount
//!   vars:                           # optional: `{name}` in a path is replaced by its value
//!     cluster: homelab
//!   publish:
//!     - file: k8s/monitoring.yaml   # a sops file, relative to .aesec.yaml
//!       keys: '["grafana"]'         # optional subtree (sops path syntax); default the whole file
//!       path: '{cluster}/monitoring/grafana-admin'   # <cluster>/<namespace>/<secret>
//!       mount: kv-other             # optional: another KV v2 mount for this entry
//!       name: grafana-admin         # optional: the Kubernetes Secret's name (default: last segment)
//!       namespace: monitoring       # optional: its namespace (default: the segment before)
//!   manifests:                      # optional, every field has a default
//!     store: openbao                # ClusterSecretStore name
//!     server: https://bao.example:8200
//!     auth_mount: kubernetes        # OpenBao Kubernetes auth mount
//!     role: eso                     # its role for External Secrets
//!     service_account: external-secrets
//!     service_account_namespace: external-secrets
//!     audience: openbao
//! ```
//!
//! sops never reads this file. It is parsed with aesec's YAML store (one document); unknown
//! keys are ignored, as `.sops.yaml`'s are. Paths are checked so that External Secrets reads
//! them as written (segments of `[A-Za-z0-9._-]`, no `data` or `metadata` segment, not
//! starting with the mount's name), and the Kubernetes names they give must be valid (a
//! DNS-1123 subdomain for the Secret, a label for the namespace; set `name` or `namespace`
//! otherwise).

use std::path::{Path, PathBuf};

use aesec::store::yaml;
use aesec::{Item, Value};

use crate::publish::PublishError;

/// The file name of aesec's own settings, beside `.sops.yaml`.
pub const MAPPING_FILE: &str = ".aesec.yaml";

/// The `bao:` section of `.aesec.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Mapping {
    /// The directory `file` entries are relative to (the one holding `.aesec.yaml`).
    pub root: PathBuf,
    /// The default KV v2 mount.
    pub kv_mount: String,
    /// What is published where, in file order.
    pub publish: Vec<Entry>,
    /// Settings of `aesec bao manifests`.
    pub manifests: ManifestSettings,
}

/// One published secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Entry {
    /// The sops file, relative to [`Mapping::root`].
    pub file: PathBuf,
    /// The subtree published (sops path syntax, `["grafana"]`); `None` for the whole file.
    pub keys: Option<String>,
    /// The KV path under the mount: `<cluster>/<namespace>/<secret>`.
    pub path: String,
    /// The KV v2 mount of this entry, when not [`Mapping::kv_mount`].
    pub mount: Option<String>,
    /// The Kubernetes Secret's name (default: the path's last segment).
    pub name: Option<String>,
    /// The Kubernetes Secret's namespace (default: the segment before the name).
    pub namespace: Option<String>,
}

/// How `aesec bao manifests` connects External Secrets to OpenBao.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ManifestSettings {
    /// The ClusterSecretStore's name.
    pub store: String,
    /// OpenBao's address as the cluster reaches it (default: the client's address).
    pub server: Option<String>,
    /// The Kubernetes auth mount in OpenBao.
    pub auth_mount: String,
    /// The Kubernetes auth role External Secrets logs in with.
    pub role: String,
    /// External Secrets' service account.
    pub service_account: String,
    /// Its namespace.
    pub service_account_namespace: String,
    /// The audience of its projected token.
    pub audience: String,
}

impl Default for ManifestSettings {
    fn default() -> Self {
        Self {
            store: "openbao".to_owned(),
            server: None,
            auth_mount: "kubernetes".to_owned(),
            role: "eso".to_owned(),
            service_account: "external-secrets".to_owned(),
            service_account_namespace: "external-secrets".to_owned(),
            audience: "openbao".to_owned(),
        }
    }
}

impl Entry {
    /// The mount this entry is published to.
    pub fn mount<'m>(&'m self, mapping: &'m Mapping) -> &'m str {
        self.mount.as_deref().unwrap_or(&mapping.kv_mount)
    }

    /// The Kubernetes Secret's name.
    pub fn secret_name(&self) -> &str {
        self.name
            .as_deref()
            .or_else(|| self.path.rsplit('/').next())
            .unwrap_or(&self.path)
    }

    /// The Kubernetes Secret's namespace.
    pub fn secret_namespace(&self) -> &str {
        self.namespace
            .as_deref()
            .or_else(|| self.path.rsplit('/').nth(1))
            .unwrap_or("default")
    }
}

impl Mapping {
    /// Reads the `bao:` section of `.aesec.yaml` text; `file` names it in errors and its
    /// directory becomes [`Mapping::root`].
    ///
    /// ```
    /// use aesec_bao_bridge::publish::Mapping;
    ///
    /// let mapping = Mapping::from_yaml(
    ///     b"bao:\n  kv_mount: kv-k8s\n  publish:\n    - file: k8s/mon.yaml\n      path: homelab/monitoring/grafana\n",
    ///     "/repo/.aesec.yaml",
    /// )?;
    /// assert_eq!(mapping.publish[0].secret_namespace(), "monitoring");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_yaml(bytes: &[u8], file: impl AsRef<Path>) -> Result<Self, PublishError> {
        let file = file.as_ref();
        let invalid = |reason: String| PublishError::Mapping {
            file: file.to_owned(),
            reason,
        };
        let tree = yaml::parse(bytes).map_err(|error| invalid(error.to_string()))?;
        let top = tree.branches.first().map(Vec::as_slice).unwrap_or_default();
        let Some(Value::Map(bao)) = field(top, "bao") else {
            return Err(invalid("no 'bao' section".to_owned()));
        };
        let kv_mount = text(bao, "kv_mount", &invalid)?
            .ok_or_else(|| invalid("'bao.kv_mount' is missing".to_owned()))?
            .trim_matches('/')
            .to_owned();
        check_mount(&kv_mount).map_err(|reason| invalid(format!("bao.kv_mount: {reason}")))?;
        let vars = match field(bao, "vars") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Map(items)) => items
                .iter()
                .filter_map(|item| match item {
                    Item::Entry { key, .. } => Some(key.as_str()),
                    _ => None,
                })
                .map(|key| {
                    let at = |reason: String| invalid(format!("bao.vars: {reason}"));
                    Ok((key.to_owned(), text(items, key, &at)?.unwrap_or_default()))
                })
                .collect::<Result<Vec<_>, PublishError>>()?,
            Some(_) => return Err(invalid("'bao.vars' is not a map".to_owned())),
        };
        let mut publish = Vec::new();
        match field(bao, "publish") {
            None | Some(Value::Null) => {}
            Some(Value::List(items)) => {
                for (index, item) in items.iter().enumerate() {
                    let at = |reason: String| invalid(format!("bao.publish[{index}]: {reason}"));
                    let Value::Map(item) = item else {
                        if matches!(item, Value::Comment(_)) {
                            continue;
                        }
                        return Err(at("not a map".to_owned()));
                    };
                    let required = |key: &str| {
                        text(item, key, &at)?.ok_or_else(|| at(format!("'{key}' is missing")))
                    };
                    let path = expand(&required("path")?, &vars).map_err(&at)?;
                    let path = path.trim_matches('/').to_owned();
                    check_path(&path).map_err(|reason| at(reason.to_owned()))?;
                    let mount =
                        text(item, "mount", &at)?.map(|mount| mount.trim_matches('/').to_owned());
                    if let Some(mount) = &mount {
                        check_mount(mount).map_err(|reason| at(format!("'mount': {reason}")))?;
                    }
                    let entry = Entry {
                        file: PathBuf::from(required("file")?),
                        keys: text(item, "keys", &at)?,
                        path,
                        mount,
                        name: text(item, "name", &at)?,
                        namespace: text(item, "namespace", &at)?,
                    };
                    check_kubernetes_names(&entry).map_err(&at)?;
                    publish.push(entry);
                }
            }
            Some(_) => return Err(invalid("'bao.publish' is not a list".to_owned())),
        }
        let mut manifests = ManifestSettings::default();
        if let Some(Value::Map(settings)) = field(bao, "manifests") {
            let at = |reason: String| invalid(format!("bao.manifests: {reason}"));
            let take = |key: &str, slot: &mut String| -> Result<(), PublishError> {
                if let Some(value) = text(settings, key, &at)? {
                    *slot = value;
                }
                Ok(())
            };
            take("store", &mut manifests.store)?;
            take("auth_mount", &mut manifests.auth_mount)?;
            take("role", &mut manifests.role)?;
            take("service_account", &mut manifests.service_account)?;
            take(
                "service_account_namespace",
                &mut manifests.service_account_namespace,
            )?;
            take("audience", &mut manifests.audience)?;
            manifests.server = text(settings, "server", &at)?;
        }
        let mut seen = std::collections::BTreeSet::new();
        for entry in &publish {
            let mount = entry.mount.as_deref().unwrap_or(&kv_mount);
            if entry.path.split('/').next() == Some(mount) {
                return Err(invalid(format!(
                    "path '{}' starts with its mount's name, which External Secrets misreads",
                    entry.path
                )));
            }
            if !seen.insert((mount, &entry.path)) {
                return Err(invalid(format!("path '{}' is published twice", entry.path)));
            }
        }
        Ok(Self {
            root: file.parent().map(Path::to_owned).unwrap_or_default(),
            kv_mount,
            publish,
            manifests,
        })
    }
}

/// Refuses KV paths that External Secrets or OpenBao would misread (research §4.1, §4.5).
fn check_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("'path' is empty");
    }
    for segment in path.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err("'path' has an empty, '.' or '..' segment");
        }
        if segment == "data" || segment == "metadata" {
            return Err("'path' has a 'data' or 'metadata' segment");
        }
        if !segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return Err("'path' segments may hold only letters, digits, '.', '_' and '-'");
        }
    }
    Ok(())
}

/// Refuses mount names that would break a path or a policy.
fn check_mount(mount: &str) -> Result<(), &'static str> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"._-/".contains(&b);
    if mount.is_empty() || !mount.bytes().all(allowed) || mount.split('/').any(str::is_empty) {
        return Err(
            "a mount is one or more '/'-separated segments of letters, digits, '.', '_' and '-'",
        );
    }
    Ok(())
}

/// Replaces each `{name}` of `template` by its value in `vars`.
fn expand(template: &str, vars: &[(String, String)]) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            return Err(format!("'{template}' has a '{{' without '}}'"));
        };
        let name = &rest[open + 1..open + close];
        let value = vars
            .iter()
            .find_map(|(key, value)| (key == name).then_some(value))
            .ok_or_else(|| {
                format!("'{template}' uses '{{{name}}}', which 'bao.vars' does not set")
            })?;
        out.push_str(value);
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Checks the Secret name (a DNS-1123 subdomain) and namespace (a DNS-1123 label) an entry
/// gives, so that its manifests apply.
fn check_kubernetes_names(entry: &Entry) -> Result<(), String> {
    let label = |text: &str| {
        (1..=63).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !text.starts_with('-')
            && !text.ends_with('-')
    };
    let name = entry.secret_name();
    if name.len() > 253 || !name.split('.').all(label) {
        return Err(format!(
            "'{name}' is not a Kubernetes Secret name (lowercase letters, digits, '-', '.'): set 'name'"
        ));
    }
    let namespace = entry.secret_namespace();
    if !label(namespace) {
        return Err(format!(
            "'{namespace}' is not a Kubernetes namespace (lowercase letters, digits, '-'): set 'namespace'"
        ));
    }
    Ok(())
}

fn field<'a>(branch: &'a [Item], name: &str) -> Option<&'a Value> {
    branch.iter().find_map(|item| match item {
        Item::Entry { key, value } if key == name => Some(value),
        _ => None,
    })
}

fn text(
    branch: &[Item],
    name: &str,
    invalid: &dyn Fn(String) -> PublishError,
) -> Result<Option<String>, PublishError> {
    match field(branch, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Str(text)) => text
            .as_str()
            .map(|text| Some(text.to_owned()))
            .ok_or_else(|| invalid(format!("'{name}' is not UTF-8"))),
        Some(_) => Err(invalid(format!("'{name}' is not a string"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_entries_overrides_and_defaults() {
        let mapping = Mapping::from_yaml(
            b"bao:\n  kv_mount: /kv-k8s/\n  publish:\n    - file: a.yaml\n      keys: '[\"grafana\"]'\n      path: /homelab/monitoring/grafana-admin/\n    - file: b.yaml\n      path: homelab/db\n      mount: other\n      name: db-creds\n  manifests:\n    role: reader\n",
            "/repo/.aesec.yaml",
        )
        .unwrap();
        assert_eq!(mapping.root, Path::new("/repo"));
        assert_eq!(mapping.kv_mount, "kv-k8s");
        let [first, second] = mapping.publish.as_slice() else {
            panic!("two entries expected: {mapping:?}");
        };
        assert_eq!(first.keys.as_deref(), Some("[\"grafana\"]"));
        assert_eq!(first.path, "homelab/monitoring/grafana-admin");
        assert_eq!(first.mount(&mapping), "kv-k8s");
        assert_eq!(
            (first.secret_namespace(), first.secret_name()),
            ("monitoring", "grafana-admin")
        );
        assert_eq!(second.mount(&mapping), "other");
        assert_eq!(
            (second.secret_namespace(), second.secret_name()),
            ("homelab", "db-creds")
        );
        assert_eq!(mapping.manifests.role, "reader");
        let templated = Mapping::from_yaml(
            b"bao:\n  kv_mount: kv\n  vars: {cluster: homelab}\n  publish:\n    - {file: a.yaml, path: '{cluster}/apps/B_c', name: b-c}\n",
            "/repo/.aesec.yaml",
        )
        .unwrap();
        assert_eq!(templated.publish[0].path, "homelab/apps/B_c");
        assert_eq!(templated.publish[0].secret_name(), "b-c");
        assert_eq!(mapping.manifests.store, "openbao");
    }

    #[test]
    fn refuses_bad_paths_duplicates_and_missing_fields() {
        for yaml in [
            "bao:\n  publish: []\n",
            "bao:\n  kv_mount: kv\n  publish:\n    - file: a.yaml\n",
            "bao:\n  kv_mount: kv\n  publish:\n    - file: a.yaml\n      path: a/data/b\n",
            "bao:\n  kv_mount: kv\n  publish:\n    - file: a.yaml\n      path: a/b c\n",
            "bao:\n  kv_mount: kv\n  publish:\n    - {file: a.yaml, path: a/b}\n    - {file: b.yaml, path: a/b}\n",
            "bao:\n  kv_mount: kv\n  publish:\n    - {file: a.yaml, path: kv/a/b}\n",
            "bao:\n  kv_mount: kv\n  publish:\n    - {file: a.yaml, path: a/B_c}\n",
            "bao:\n  kv_mount: kv\n  publish:\n    - {file: a.yaml, path: a/b, mount: 'k\"v'}\n",
            "bao:\n  kv_mount: kv\n  publish:\n    - {file: a.yaml, path: '{cluster}/a/b'}\n",
            "other: 1\n",
        ] {
            let result = Mapping::from_yaml(yaml.as_bytes(), "/r/.aesec.yaml");
            assert!(
                matches!(result, Err(PublishError::Mapping { .. })),
                "{yaml}: {result:?}"
            );
        }
    }
}
