//! User and group names resolved to numbers from `passwd` and `group` files, as Go's pure
//! `os/user` does (no NSS): the first line whose name matches wins.

use std::path::Path;

use super::InstallError;

/// The account databases, read once per install.
pub(crate) struct Accounts {
    users: Vec<(String, u32)>,
    groups: Vec<(String, u32)>,
}

impl Accounts {
    /// Reads `passwd` and `group` (`name:x:id:…` lines).
    pub(crate) fn read(passwd: &Path, group: &Path) -> Result<Self, InstallError> {
        Ok(Self {
            users: read_table(passwd)?,
            groups: read_table(group)?,
        })
    }

    /// The uid of `name`.
    pub(crate) fn user(&self, name: &str) -> Option<u32> {
        lookup(&self.users, name)
    }

    /// The gid of `name`.
    pub(crate) fn group(&self, name: &str) -> Option<u32> {
        lookup(&self.groups, name)
    }
}

fn lookup(table: &[(String, u32)], name: &str) -> Option<u32> {
    table
        .iter()
        .find(|(entry, _)| entry == name)
        .map(|(_, id)| *id)
}

fn read_table(path: &Path) -> Result<Vec<(String, u32)>, InstallError> {
    let text = std::fs::read_to_string(path).map_err(|source| InstallError::Io {
        path: path.to_owned(),
        action: "read",
        source,
    })?;
    Ok(text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let id = fields.nth(1)?.parse().ok()?;
            Some((name.to_owned(), id))
        })
        .collect())
}
