//! Where a host's files live in the repository: the per-host directory `DIR/NAME/` (taken from
//! the existing per-host rules, else [`DEFAULT_HOST_DIR`]) and the generated host key
//! `DIR/NAME/ssh_host_ed25519_key` with its `.pub` beside it.

use std::path::{Path, PathBuf};

use super::config_file::load_text;
use crate::config::edit::ConfigEditor;
use crate::config::{ConfigError, Member};

/// The file name of a generated host key, as sshd and nixos-anywhere expect it.
pub(crate) const HOST_KEY_FILE_NAME: &str = "ssh_host_ed25519_key";

/// The directory of per-host rules when the config shows none.
pub(crate) const DEFAULT_HOST_DIR: &str = "secrets/";

/// Where `enroll --generate` stores host `name`'s key by default, relative to the config's
/// directory: `DIR/NAME/ssh_host_ed25519_key`.
pub(crate) fn default_host_key_path(host_dir: &str, name: &str) -> String {
    format!("{host_dir}{name}/{HOST_KEY_FILE_NAME}")
}

/// `FILE.pub`.
pub(crate) fn pub_path(private_key_path: &Path) -> PathBuf {
    let mut name = private_key_path.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// The directory of per-host rules: `DIR/` from a rule `^DIR/NAME/` naming a non-admin member
/// `NAME`, else [`DEFAULT_HOST_DIR`].
pub(crate) fn host_dir_prefix(
    editor: &ConfigEditor,
    members: &[Member],
    config_path: &Path,
) -> Result<String, ConfigError> {
    let config = load_text(&editor.to_text(), config_path)?;
    for rule in &config.creation_rules {
        let Some(regex) = &rule.path_regex else {
            continue;
        };
        let Some(inner) = regex.as_str().strip_prefix('^') else {
            continue;
        };
        for member in members.iter().filter(|m| !m.is_admin) {
            let tail = format!("{}/", regex::escape(&member.name));
            if let Some(prefix) = inner.strip_suffix(&tail)
                && is_literal_dir(prefix)
            {
                return Ok(prefix.to_owned());
            }
        }
    }
    Ok(DEFAULT_HOST_DIR.to_owned())
}

/// Whether a regex prefix is a plain relative directory (`hosts/`, `secrets/hosts/`) or empty.
fn is_literal_dir(prefix: &str) -> bool {
    prefix.is_empty()
        || (prefix.ends_with('/')
            && !prefix.starts_with('/')
            && prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_dir_defaults_to_secrets() {
        let editor = ConfigEditor::parse(
            "keys:\n  - &admin_a age1a\ncreation_rules:\n  - age: [*admin_a]\n",
        )
        .unwrap();
        let members = editor.members();
        assert_eq!(
            host_dir_prefix(&editor, &members, Path::new("/r/.sops.yaml")).unwrap(),
            DEFAULT_HOST_DIR
        );
        assert!(is_literal_dir("hosts/"));
        assert!(!is_literal_dir("(a|b)/"));
        assert!(!is_literal_dir("/abs/"));
    }
}
