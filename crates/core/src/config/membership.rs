//! Who a member of the fleet is, and which members are admins: the one place that decides
//! both (DESIGN §3).
//!
//! A **member** is an anchored recipient in the `keys:` list of `.sops.yaml`
//! (`- &trinity age1…`); the creation rules name members by alias (`*trinity`), and what a
//! member may read is the set of rules that name it
//! ([`ConfigEditor::rules_naming`](super::edit::ConfigEditor::rules_naming)). An **admin** is a
//! member whose anchor name starts with [`ADMIN_PREFIX`] (`admin_`), the convention of sops-nix
//! and clan configurations (`&admin_alice`). Admins read every generated host key and every
//! rule enrollment creates, and the editor and `remove` refuse to leave a rule that named an
//! admin without one, or the fleet without any.
//!
//! ```
//! # let dir = std::env::temp_dir().join(format!("aesec-doc-members-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let config = dir.join(".sops.yaml");
//! std::fs::write(&config, "keys:\n  - &admin_alice age1alice\n  - &web age1web # host\n")?;
//! let members = aesec::config::read_members(&config)?;
//! assert_eq!(members.len(), 2);
//! assert!(members[0].is_admin && !members[1].is_admin);
//! assert_eq!(aesec::config::admin_names(&members), ["admin_alice"]);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::{Path, PathBuf};

use super::edit::{ConfigEditor, EditError};
use crate::fs::FsError;

/// Anchor names starting with this prefix mark admins (`&admin_alice`).
pub const ADMIN_PREFIX: &str = "admin_";

/// A member: an anchored recipient in `keys:`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Member {
    /// The anchor name (`trinity` for `&trinity`).
    pub name: String,
    /// The recipient, as YAML reads it (`age1…` or `ssh-ed25519 AAAA…`).
    pub recipient: String,
    /// The comment on the member's line, without `#` and surrounding blanks.
    pub comment: Option<String>,
    /// The 1-based line of the member.
    pub line: usize,
    /// Whether the member is an admin ([`is_admin_name`]).
    pub is_admin: bool,
}

/// Whether a member named `name` is an admin: its name starts with [`ADMIN_PREFIX`].
///
/// ```
/// assert!(aesec::config::is_admin_name("admin_alice"));
/// assert!(!aesec::config::is_admin_name("alice_admin"));
/// ```
pub fn is_admin_name(name: &str) -> bool {
    name.starts_with(ADMIN_PREFIX)
}

/// The names of the admins among `members`, in file order.
///
/// ```
/// let editor = aesec::config::edit::ConfigEditor::parse("keys:\n  - &a age1a\n  - &admin_b age1b\n")?;
/// assert_eq!(aesec::config::admin_names(&editor.members()), ["admin_b"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn admin_names(members: &[Member]) -> Vec<String> {
    members
        .iter()
        .filter(|m| m.is_admin)
        .map(|m| m.name.clone())
        .collect()
}

/// The recipients of the admins among `members`, leaving out the member named `except`.
pub(crate) fn admin_recipients<'a>(members: &'a [Member], except: Option<&str>) -> Vec<&'a String> {
    members
        .iter()
        .filter(|m| m.is_admin && Some(m.name.as_str()) != except)
        .map(|m| &m.recipient)
        .collect()
}

/// Why the members of a `.sops.yaml` could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadMembersError {
    /// The file could not be read.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// The file is not in the shape the lossless editor reads (see [`ConfigEditor::parse`]).
    #[error("cannot read the members of '{}'", path.display())]
    Edit {
        /// The config file.
        path: PathBuf,
        /// Why.
        #[source]
        source: EditError,
    },
}

/// The members of the `.sops.yaml` at `path`, in file order (invalid UTF-8 reads as
/// replacement characters, as the lossless editor reads it).
///
/// # Errors
///
/// [`ReadMembersError::Fs`] when the file cannot be read, [`ReadMembersError::Edit`] when the
/// lossless editor refuses it.
pub fn read_members(path: &Path) -> Result<Vec<Member>, ReadMembersError> {
    let text = read_text(path)?;
    ConfigEditor::parse(&text)
        .map(|editor| editor.members())
        .map_err(|source| ReadMembersError::Edit {
            path: path.to_path_buf(),
            source,
        })
}

/// Reads a config as text (invalid UTF-8 becomes a YAML error for the editor, or replacement
/// characters).
pub(crate) fn read_text(path: &Path) -> Result<String, FsError> {
    let bytes = crate::fs::read(path)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
