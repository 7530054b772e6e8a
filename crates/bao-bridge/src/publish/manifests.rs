//! `aesec bao manifests`: what carries published secrets to Pods (research §4.1). On the
//! Kubernetes side, one `ClusterSecretStore` (`external-secrets.io/v1`, the Vault provider
//! with Kubernetes auth) per KV mount and one `ExternalSecret` per published path
//! ([`manifests`]); on the OpenBao side, the read-only policy and the Kubernetes auth role
//! External Secrets logs in with ([`OpenBaoSetup`]).
//!
//! The YAML is written by hand, and every scalar that comes from the mapping is written as a
//! JSON string, which YAML reads as a double-quoted scalar: no path or name can break the
//! documents. The OpenBao side follows as comments (the `bao` commands that apply it), so the
//! whole output can go to `kubectl apply -f -` as it is.

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::client::Client;
use crate::error::Error;
use crate::publish::Mapping;

/// The OpenBao objects External Secrets needs: a policy that may read exactly the published
/// paths (data and metadata) and a Kubernetes auth role bound to its service account.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OpenBaoSetup {
    /// The policy's name (`<role>-read`).
    pub policy_name: String,
    /// The policy (HCL).
    pub policy: String,
    /// The role's API path (`auth/<mount>/role/<role>`).
    pub role_path: String,
    /// The role's settings, as written to `role_path`.
    pub role: serde_json::Value,
}

impl OpenBaoSetup {
    /// The policy and role for `mapping`.
    ///
    /// ```
    /// use aesec_bao_bridge::publish::{Mapping, OpenBaoSetup};
    ///
    /// let mapping = Mapping::from_yaml(
    ///     b"bao:\n  kv_mount: kv-k8s\n  publish:\n    - {file: m.yaml, path: homelab/monitoring/grafana}\n",
    ///     "/repo/.aesec.yaml",
    /// )?;
    /// let setup = OpenBaoSetup::new(&mapping);
    /// assert!(setup.policy.contains(r#"path "kv-k8s/data/homelab/monitoring/grafana""#));
    /// assert_eq!(setup.role_path, "auth/kubernetes/role/eso");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(mapping: &Mapping) -> Self {
        let settings = &mapping.manifests;
        let mut policy = String::new();
        for entry in &mapping.publish {
            let mount = entry.mount(mapping);
            // Mounts and paths are checked when the mapping is read: no quote can occur.
            for section in ["data", "metadata"] {
                let _ = writeln!(
                    policy,
                    "path \"{mount}/{section}/{}\" {{\n  capabilities = [\"read\"]\n}}",
                    entry.path
                );
            }
        }
        let policy_name = format!("{}-read", settings.role);
        Self {
            role: serde_json::json!({
                "bound_service_account_names": [settings.service_account],
                "bound_service_account_namespaces": [settings.service_account_namespace],
                "audience": settings.audience,
                "token_policies": [policy_name],
                "token_ttl": "1h",
            }),
            role_path: format!("auth/{}/role/{}", settings.auth_mount, settings.role),
            policy_name,
            policy,
        }
    }

    /// Writes the policy and the role (the Kubernetes auth method must be enabled at
    /// [`ManifestSettings::auth_mount`](crate::publish::ManifestSettings::auth_mount)).
    pub fn apply(&self, client: &Client) -> Result<(), Error> {
        client.write(
            &format!("sys/policies/acl/{}", self.policy_name),
            &serde_json::json!({ "policy": self.policy }),
        )?;
        client.write(&self.role_path, &self.role)?;
        Ok(())
    }

    /// The `bao` commands that apply this setup, one per line.
    fn commands(&self) -> String {
        let mut text = format!(
            "bao policy write {} - <<'EOF'\n{}EOF\nbao write {}",
            self.policy_name, self.policy, self.role_path
        );
        if let serde_json::Value::Object(fields) = &self.role {
            for (key, value) in fields {
                let value = match value {
                    serde_json::Value::Array(items) => items
                        .iter()
                        .filter_map(serde_json::Value::as_str)
                        .collect::<Vec<_>>()
                        .join(","),
                    serde_json::Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                let _ = write!(text, " \\\n    {key}={value}");
            }
        }
        text.push('\n');
        text
    }
}

fn quoted(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

/// The manifests of `mapping` as multi-document YAML: the `ClusterSecretStore`s, one
/// `ExternalSecret` per published path, then the OpenBao side as comments. `server` is
/// OpenBao's address when
/// [`ManifestSettings::server`](crate::publish::ManifestSettings::server) is not set.
///
/// ```
/// use aesec_bao_bridge::publish::{Mapping, manifests};
///
/// let mapping = Mapping::from_yaml(
///     b"bao:\n  kv_mount: kv-k8s\n  publish:\n    - {file: m.yaml, path: homelab/monitoring/grafana}\n",
///     "/repo/.aesec.yaml",
/// )?;
/// let yaml = manifests(&mapping, "https://bao.example:8200");
/// assert!(yaml.contains("kind: ExternalSecret"));
/// assert!(yaml.contains(r#"key: "homelab/monitoring/grafana""#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn manifests(mapping: &Mapping, server: &str) -> String {
    let settings = &mapping.manifests;
    let server = settings.server.as_deref().unwrap_or(server);
    // One store per mount; the default mount's store has the configured name.
    let store_for = |mount: &str| {
        if mount == mapping.kv_mount {
            settings.store.clone()
        } else {
            format!("{}-{}", settings.store, mount.replace('/', "-"))
        }
    };
    let mounts: BTreeSet<&str> = std::iter::once(mapping.kv_mount.as_str())
        .chain(mapping.publish.iter().map(|entry| entry.mount(mapping)))
        .collect();
    let mut out = String::new();
    for mount in mounts {
        // `write!` to a String cannot fail.
        let _ = write!(
            out,
            "---\n\
             apiVersion: external-secrets.io/v1\n\
             kind: ClusterSecretStore\n\
             metadata:\n  \
               name: {name}\n  \
               labels:\n    \
                 app.kubernetes.io/managed-by: aesec\n\
             spec:\n  \
               provider:\n    \
                 vault:\n      \
                   server: {server}\n      \
                   path: {mount}\n      \
                   version: v2\n      \
                   auth:\n        \
                     kubernetes:\n          \
                       mountPath: {auth}\n          \
                       role: {role}\n          \
                       serviceAccountRef:\n            \
                         name: {account}\n            \
                         namespace: {account_namespace}\n            \
                         audiences: [{audience}]\n",
            name = quoted(&store_for(mount)),
            server = quoted(server),
            mount = quoted(mount),
            auth = quoted(&settings.auth_mount),
            role = quoted(&settings.role),
            account = quoted(&settings.service_account),
            account_namespace = quoted(&settings.service_account_namespace),
            audience = quoted(&settings.audience),
        );
    }
    for entry in &mapping.publish {
        let _ = write!(
            out,
            "---\n\
             apiVersion: external-secrets.io/v1\n\
             kind: ExternalSecret\n\
             metadata:\n  \
               name: {name}\n  \
               namespace: {namespace}\n  \
               labels:\n    \
                 app.kubernetes.io/managed-by: aesec\n  \
               annotations:\n    \
                 aesec.dev/source: {source}\n\
             spec:\n  \
               refreshInterval: 1h\n  \
               secretStoreRef:\n    \
                 name: {store}\n    \
                 kind: ClusterSecretStore\n  \
               target:\n    \
                 name: {name}\n    \
                 creationPolicy: Owner\n    \
                 deletionPolicy: Retain\n  \
               dataFrom:\n    \
                 - extract:\n        \
                     key: {path}\n",
            name = quoted(entry.secret_name()),
            namespace = quoted(entry.secret_namespace()),
            source = quoted(&format!(
                "{}{}",
                entry.file.display(),
                entry.keys.as_deref().unwrap_or("")
            )),
            store = quoted(&store_for(entry.mount(mapping))),
            path = quoted(&entry.path),
        );
    }
    out.push_str(
        "---\n# OpenBao side: the policy and the Kubernetes auth role External Secrets uses.\n",
    );
    for line in OpenBaoSetup::new(mapping).commands().lines() {
        let _ = writeln!(out, "# {line}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_store_per_mount_one_external_secret_per_path() {
        let mapping = Mapping::from_yaml(
            b"bao:\n  kv_mount: kv-k8s\n  publish:\n    - {file: m.yaml, keys: '[\"g\"]', path: homelab/monitoring/grafana}\n    - {file: d.yaml, path: homelab/apps/db, mount: team/kv}\n  manifests:\n    server: https://bao.internal:8200\n",
            "/repo/.aesec.yaml",
        )
        .unwrap();
        let yaml = manifests(&mapping, "http://127.0.0.1:8200");
        assert_eq!(yaml.matches("\nkind: ClusterSecretStore\n").count(), 2);
        assert_eq!(yaml.matches("\nkind: ExternalSecret\n").count(), 2);
        for expected in [
            r#"name: "openbao-team-kv""#,
            r#"path: "team/kv""#,
            r#"server: "https://bao.internal:8200""#,
            r#"namespace: "monitoring""#,
            r#"aesec.dev/source: "m.yaml[\"g\"]""#,
            "# bao write auth/kubernetes/role/eso \\",
            r#"#   capabilities = ["read"]"#,
        ] {
            assert!(yaml.contains(expected), "{expected} in:\n{yaml}");
        }
        // Each document parses as YAML with aesec's own store, but the last, which is only
        // comments (so that `kubectl apply` skips it).
        let documents: Vec<&str> = yaml.split("---\n").filter(|d| !d.is_empty()).collect();
        let (openbao, kubernetes) = documents.split_last().unwrap();
        assert_eq!(kubernetes.len(), 4);
        for document in kubernetes {
            assert!(
                aesec::store::yaml::parse(document.as_bytes()).is_ok(),
                "{document}"
            );
        }
        assert!(
            openbao.lines().all(|line| line.starts_with('#')),
            "{openbao}"
        );
    }
}
