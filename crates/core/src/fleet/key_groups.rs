//! The key groups a file should end up with ([`DesiredGroups`], computed by the plan from
//! the creation rule), the master keys they become, and how two group lists compare.

use super::error::FleetFileError;
use crate::file::FileError;
use crate::sops::{KeyDecryptor, KeySpec, MasterKey, Recipients, resolve_master_key};

/// The key groups a file should end up with.
#[derive(Clone, Debug)]
pub(crate) struct DesiredGroups {
    /// Key identifiers per group: age recipients and `hc_vault` transit URIs.
    pub(crate) groups: Vec<Vec<String>>,
    /// The threshold to store.
    pub(crate) threshold: Option<usize>,
}

impl DesiredGroups {
    pub(crate) fn recipients(
        &self,
        backends: &[&dyn KeyDecryptor],
    ) -> Result<Recipients, FleetFileError> {
        let mut groups = Vec::new();
        for group in &self.groups {
            let keys = group
                .iter()
                .map(|identifier| master_key(identifier, backends))
                .collect::<Result<Vec<_>, _>>()?;
            groups.push(keys);
        }
        Ok(Recipients::groups(groups, self.threshold))
    }
}

/// The master key a key group's identifier stands for: an age recipient, or an `hc_vault`
/// transit key built by one of `backends` (the plan marks files naming other kinds
/// unsupported).
pub(crate) fn master_key(
    identifier: &str,
    backends: &[&dyn KeyDecryptor],
) -> Result<Box<dyn MasterKey>, FleetFileError> {
    let spec = KeySpec::from_identifier(identifier).map_err(FileError::from)?;
    resolve_master_key(&spec, backends).map_err(|error| FileError::from(error).into())
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
}
