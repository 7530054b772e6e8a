//! The key groups a file should end up with ([`DesiredGroups`], computed by the plan from
//! the creation rule), the master keys they become ([`MasterKeys`], made once per run), and how
//! two group lists compare.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::error::FleetFileError;
use crate::file::FileError;
use crate::sops::{
    KeyDecryptor, KeyEntry, KeySpec, MasterKey, MasterKeyError, Recipients, resolve_master_key,
};

/// The key groups a file should end up with.
#[derive(Clone, Debug)]
pub(crate) struct DesiredGroups {
    /// Key identifiers per group: age recipients and `hc_vault` transit URIs.
    pub(crate) groups: Vec<Vec<String>>,
    /// The threshold to store.
    pub(crate) threshold: Option<usize>,
}

/// The master keys of one run, each made once from its identifier and shared by every file
/// that names it: a fleet run wraps for the same few recipients in file after file, and making
/// one (parsing the recipient, preparing its curve point) costs about a sixth of a wrap.
/// Failures are not kept, so each file reports its own.
pub(crate) struct MasterKeys<'a> {
    backends: &'a [&'a dyn KeyDecryptor],
    made: Mutex<HashMap<String, Arc<dyn MasterKey>>>,
}

impl<'a> MasterKeys<'a> {
    /// Master keys built with `backends` (for the kinds the core cannot build itself).
    pub(crate) fn new(backends: &'a [&'a dyn KeyDecryptor]) -> Self {
        Self {
            backends,
            made: Mutex::default(),
        }
    }

    /// The master key a key group's identifier stands for: an age recipient, or an
    /// `hc_vault` transit key built by one of the backends (the plan marks files naming other
    /// kinds unsupported).
    pub(crate) fn get(&self, identifier: &str) -> Result<Box<dyn MasterKey>, FleetFileError> {
        let made = self
            .made
            .lock()
            .ok()
            .and_then(|made| made.get(identifier).cloned());
        let key = match made {
            Some(key) => key,
            None => {
                let spec = KeySpec::from_identifier(identifier).map_err(FileError::from)?;
                let key: Arc<dyn MasterKey> = resolve_master_key(&spec, self.backends)
                    .map_err(FileError::from)?
                    .into();
                // A poisoned lock only means the key is made again next time.
                if let Ok(mut made) = self.made.lock() {
                    made.insert(identifier.to_owned(), Arc::clone(&key));
                }
                key
            }
        };
        Ok(Box::new(SharedKey(key)))
    }

    /// The master keys of `target`, group by group, in its order.
    pub(crate) fn recipients(&self, target: &DesiredGroups) -> Result<Recipients, FleetFileError> {
        let groups = target
            .groups
            .iter()
            .map(|group| {
                group
                    .iter()
                    .map(|identifier| self.get(identifier))
                    .collect()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Recipients::groups(groups, target.threshold))
    }
}

/// A master key shared by the files of a run.
struct SharedKey(Arc<dyn MasterKey>);

impl MasterKey for SharedKey {
    fn encrypt(&self, data: &[u8]) -> Result<KeyEntry, MasterKeyError> {
        self.0.encrypt(data)
    }

    fn identifier(&self) -> String {
        self.0.identifier()
    }
}

/// Whether two group lists hold the same recipients per group (order within a group aside).
pub(crate) fn same_groups(a: &[Vec<String>], b: &[Vec<String>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            let mut x: Vec<&String> = x.iter().collect();
            let mut y: Vec<&String> = y.iter().collect();
            x.sort();
            y.sort();
            x == y
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(g: &[&[&str]]) -> Vec<Vec<String>> {
        g.iter()
            .map(|g| g.iter().map(|s| (*s).to_owned()).collect())
            .collect()
    }

    #[test]
    fn same_groups_ignores_order_within_a_group_only() {
        assert!(same_groups(
            &groups(&[&["a", "b"]]),
            &groups(&[&["b", "a"]])
        ));
        assert!(!same_groups(
            &groups(&[&["a"], &["b"]]),
            &groups(&[&["b"], &["a"]])
        ));
        assert!(!same_groups(&groups(&[&["a"]]), &groups(&[&["a"], &[]])));
    }

    #[test]
    fn master_keys_are_made_once_per_identifier_and_failures_are_not_kept() {
        let recipients: Vec<String> = (0..3)
            .map(|_| {
                crate::keys::age::GeneratedIdentity::generate()
                    .recipient()
                    .to_string()
            })
            .collect();
        let keys = MasterKeys::new(&[]);
        let target = DesiredGroups {
            groups: vec![recipients[..2].to_vec(), recipients[2..].to_vec()],
            threshold: Some(2),
        };
        for _ in 0..3 {
            let made = keys.recipients(&target).unwrap();
            let identifiers: Vec<Vec<String>> = made
                .key_groups
                .iter()
                .map(|group| group.iter().map(|key| key.identifier()).collect())
                .collect();
            assert_eq!(identifiers, target.groups);
            assert_eq!(made.shamir_threshold, Some(2));
        }
        assert_eq!(keys.made.lock().unwrap().len(), 3);
        // A transit key with no backend to build it fails each time it is asked for.
        let vault = "https://vault.example:8200/v1/transit/keys/fleet";
        for _ in 0..2 {
            assert!(keys.get(vault).is_err());
        }
        assert_eq!(keys.made.lock().unwrap().len(), 3);
    }
}
