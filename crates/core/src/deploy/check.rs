//! The check before anything is copied: can the host decrypt every sops file its configuration
//! names? The classic outage is a host added to `.sops.yaml` whose files were never
//! re-encrypted (`updatekeys` forgotten): the switch succeeds and the secrets are missing.
//!
//! The files are found in the built closure, the way the target will find them: every aesec
//! manifest in it (`…-aesec-manifest.json` and `…-aesec-manifest-for-users.json`, the names the
//! NixOS module gives them) lists its secrets' `sopsFile`. Each file's metadata is compared
//! with the host's recipient by [`fleet::access`] (the `status` logic: no key is needed, key
//! groups and the Shamir threshold count).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::error::{Denied, DeployError};
use super::{Host, Options, plan};
use crate::fleet;
use crate::install::Manifest;
use crate::store::Format;

/// How the NixOS module names its manifests in the store (after the hash).
const MANIFEST_SUFFIXES: [&str; 2] = ["-aesec-manifest.json", "-aesec-manifest-for-users.json"];

/// Checks `toplevel`'s sops files against the host's recipient; returns how many were checked.
pub(crate) fn check(host: &Host, options: &Options, toplevel: &str) -> Result<usize, DeployError> {
    let files = sops_files(options, toplevel)?;
    if files.is_empty() {
        return Ok(0);
    }
    let recipient = host
        .recipient
        .clone()
        .or_else(|| {
            options
                .members
                .iter()
                .find(|(name, _)| *name == host.name)
                .map(|(_, recipient)| recipient.clone())
        })
        .ok_or_else(|| DeployError::NoRecipient {
            host: host.name.clone(),
            files: files.keys().cloned().collect(),
        })?;
    let mut denied = Vec::new();
    for (path, format) in &files {
        let bytes = read(options, path)?;
        let access =
            fleet::access(&bytes, *format, &recipient).map_err(|source| DeployError::SopsFile {
                path: path.clone(),
                source,
            })?;
        if !access.can_decrypt() {
            denied.push(Denied {
                path: path.clone(),
                access,
            });
        }
    }
    if denied.is_empty() {
        Ok(files.len())
    } else {
        Err(DeployError::CannotDecrypt {
            host: host.name.clone(),
            recipient,
            files: denied,
        })
    }
}

/// The sops files the manifests of the closure name, each with its format.
fn sops_files(options: &Options, toplevel: &str) -> Result<BTreeMap<PathBuf, Format>, DeployError> {
    let listed = plan::closure(options, toplevel)
        .run(None)
        .map_err(|source| DeployError::Store {
            path: toplevel.into(),
            source,
        })?;
    let closure = String::from_utf8_lossy(&listed.stdout).into_owned();
    let mut files = BTreeMap::new();
    for path in closure
        .lines()
        .map(str::trim)
        .filter(|line| is_manifest(line))
    {
        let path = PathBuf::from(path);
        let manifest = Manifest::from_json(&read(options, &path)?).map_err(|source| {
            DeployError::Manifest {
                path: path.clone(),
                source,
            }
        })?;
        for secret in &manifest.secrets {
            let format = secret.format().map_err(|source| DeployError::Manifest {
                path: path.clone(),
                source,
            })?;
            files.entry(secret.sops_file.clone()).or_insert(format);
        }
    }
    Ok(files)
}

fn is_manifest(path: &str) -> bool {
    MANIFEST_SUFFIXES
        .iter()
        .any(|suffix| path.ends_with(suffix))
}

/// A file of the store the toplevel was built in.
fn read(options: &Options, path: &std::path::Path) -> Result<Vec<u8>, DeployError> {
    let command = plan::read(options, &path.to_string_lossy());
    command
        .run(None)
        .map(|finished| finished.stdout.to_vec())
        .map_err(|source| DeployError::Store {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_are_found_by_the_module_names() {
        assert!(is_manifest("/nix/store/abc-aesec-manifest.json"));
        assert!(is_manifest("/nix/store/abc-aesec-manifest-for-users.json"));
        assert!(!is_manifest("/nix/store/abc-manifest.json"));
        assert!(!is_manifest("/nix/store/abc-aesec-manifest.json.drv"));
    }
}
