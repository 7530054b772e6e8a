//! Which rules a new member joins ([`Targets`]): the per-host rule, the rules of another
//! member (`--like`), the rule governing a path, and the admins-only rule of a generated host
//! key. Rules that enrollment creates name the admins ([`crate::config::admin_names`]) beside
//! the host, so that whoever runs the fleet can always re-encrypt.

use std::path::{Path, PathBuf};

use super::{EnrollError, Targets, edit_error, outside};
use crate::config::edit::ConfigEditor;
use crate::config::{ConfigError, CreationRule, admin_names, admin_recipients};
use crate::fleet::config_file::{config_base, load_text, relative_to};
use crate::sops::KeyDecryptor;

/// Adds `name` to the rules `targets` asks for, creating rules where needed; the indices of
/// created rules go to `created`.
pub(super) fn grant_targets(
    editor: &mut ConfigEditor,
    config_path: &Path,
    name: &str,
    host_dir: &str,
    targets: &Targets,
    created: &mut Vec<usize>,
) -> Result<(), EnrollError> {
    match targets {
        Targets::Default => ensure_host_rule(editor, config_path, name, host_dir, created),
        Targets::Like(other) => grant_like(editor, config_path, name, other),
        Targets::Paths(paths) => {
            let base = config_base(config_path);
            for path in paths {
                let relative: PathBuf =
                    relative_to(&base, path).ok_or_else(|| outside(path, config_path))?;
                grant_path(editor, config_path, name, host_dir, &relative, created)?;
            }
            Ok(())
        }
    }
}

/// Whether a rule governs every path (no `path_regex`, or one matching anything).
fn is_catch_all(rule: &CreationRule) -> bool {
    rule.path_regex.as_ref().is_none_or(|regex| {
        ["", "a", "secrets/host/file.yaml", "/abs/x.json"]
            .iter()
            .all(|sample| regex.is_match(sample))
    })
}

/// Adds `name` to the per-host rule, creating it (admins + host) when missing.
fn ensure_host_rule(
    editor: &mut ConfigEditor,
    config_path: &Path,
    name: &str,
    host_dir: &str,
    created: &mut Vec<usize>,
) -> Result<(), EnrollError> {
    let pattern = format!("^{}{}/", host_dir, regex::escape(name));
    let config = load_text(&editor.to_text(), config_path)?;
    let existing = config.creation_rules.iter().find(|rule| {
        rule.path_regex
            .as_ref()
            .is_some_and(|r| r.as_str() == pattern)
    });
    if let Some(rule) = existing {
        return editor
            .add_alias_to_rule(rule.index, 0, name)
            .map_err(|e| edit_error(config_path, e));
    }
    let mut aliases = admin_names(&editor.members());
    if aliases.is_empty() {
        return Err(EnrollError::NoAdmins);
    }
    aliases.push(name.to_owned());
    let refs: Vec<&str> = aliases.iter().map(String::as_str).collect();
    let index = editor
        .insert_rule(&pattern, &refs)
        .map_err(|e| edit_error(config_path, e))?;
    shift_created(created, index);
    created.push(index);
    Ok(())
}

/// Records that a rule was inserted at `index`: rules created before it move down.
fn shift_created(created: &mut [usize], index: usize) {
    for rule in created.iter_mut() {
        if *rule >= index {
            *rule += 1;
        }
    }
}

/// Adds `name` to every key group naming `other`.
fn grant_like(
    editor: &mut ConfigEditor,
    config_path: &Path,
    name: &str,
    other: &str,
) -> Result<(), EnrollError> {
    let members = editor.members();
    let Some(other_member) = members.iter().find(|m| m.name == other) else {
        return Err(EnrollError::UnknownMember {
            name: other.to_owned(),
        });
    };
    let config = load_text(&editor.to_text(), config_path)?;
    let mut granted = false;
    for rule in &config.creation_rules {
        for (group, spec) in rule.key_groups.iter().enumerate() {
            if spec.age.contains(&other_member.recipient) {
                editor
                    .add_alias_to_rule(rule.index, group, name)
                    .map_err(|e| edit_error(config_path, e))?;
                granted = true;
            }
        }
    }
    if granted {
        Ok(())
    } else {
        Err(EnrollError::NoRulesNaming {
            name: other.to_owned(),
        })
    }
}

/// Adds `name` to the rule governing `relative`, or makes one (see [`Targets::Paths`]).
fn grant_path(
    editor: &mut ConfigEditor,
    config_path: &Path,
    name: &str,
    host_dir: &str,
    relative: &Path,
    created: &mut Vec<usize>,
) -> Result<(), EnrollError> {
    let config = load_text(&editor.to_text(), config_path)?;
    let base = config_base(config_path);
    let governing = match config.rule_for(&base.join(relative), &base) {
        Ok(rule) => Some(rule),
        Err(ConfigError::NoMatchingRule { .. } | ConfigError::NoCreationRules { .. }) => None,
        Err(error) => return Err(error.into()),
    };
    if let Some(rule) = governing.filter(|rule| !is_catch_all(rule)) {
        return editor
            .add_alias_to_rule(rule.index, 0, name)
            .map_err(|e| edit_error(config_path, e));
    }
    let text = relative.to_string_lossy().replace('\\', "/");
    if text.starts_with(&format!("{host_dir}{name}/")) || text == format!("{host_dir}{name}") {
        return ensure_host_rule(editor, config_path, name, host_dir, created);
    }
    // A rule of its own, keeping the catch-all's readers (or the admins when none governs).
    let mut aliases = match governing {
        Some(rule) => {
            let members = editor.members();
            let [group] = rule.key_groups.as_slice() else {
                return Err(EnrollError::CatchAllShape {
                    path: relative.to_path_buf(),
                    rule: rule.index,
                });
            };
            let mut names = Vec::new();
            for recipient in &group.age {
                let Some(member) = members.iter().find(|m| &m.recipient == recipient) else {
                    return Err(EnrollError::CatchAllShape {
                        path: relative.to_path_buf(),
                        rule: rule.index,
                    });
                };
                names.push(member.name.clone());
            }
            if !(group.pgp.is_empty()
                && group.hc_vault.is_empty()
                && group.kms.is_empty()
                && group.gcp_kms.is_empty()
                && group.azure_keyvault.is_empty())
            {
                return Err(EnrollError::CatchAllShape {
                    path: relative.to_path_buf(),
                    rule: rule.index,
                });
            }
            names
        }
        None => admin_names(&editor.members()),
    };
    if aliases.is_empty() {
        return Err(EnrollError::NoAdmins);
    }
    if !aliases.iter().any(|a| a == name) {
        aliases.push(name.to_owned());
    }
    let pattern = if base.join(relative).is_dir() {
        format!("^{}/", regex::escape(&text))
    } else {
        format!("^{}$", regex::escape(&text))
    };
    let refs: Vec<&str> = aliases.iter().map(String::as_str).collect();
    let index = editor
        .insert_rule(&pattern, &refs)
        .map_err(|e| edit_error(config_path, e))?;
    shift_created(created, index);
    created.push(index);
    Ok(())
}

/// Makes sure the rule governing `relative` names exactly the admins (inserting
/// `^relative$` with the admins when it does not) and returns the recipients to encrypt to
/// (master keys of kinds other than age, such as a Transit key beside the admins, come from
/// `backends`).
pub(super) fn admin_rule_for(
    editor: &mut ConfigEditor,
    config_path: &Path,
    relative: &Path,
    created: &mut Vec<usize>,
    backends: &[&dyn KeyDecryptor],
) -> Result<crate::sops::Recipients, EnrollError> {
    let members = editor.members();
    let admin_recipients = admin_recipients(&members, None);
    if admin_recipients.is_empty() {
        return Err(EnrollError::NoAdmins);
    }
    let base = config_base(config_path);
    let absolute = base.join(relative);
    let admins_only = |rule: &CreationRule| {
        let mut keys: Vec<&String> = rule.key_groups.iter().flat_map(|g| &g.age).collect();
        keys.sort();
        keys.dedup();
        let mut wanted = admin_recipients.clone();
        wanted.sort();
        wanted.dedup();
        keys == wanted && rule.key_groups.iter().all(|g| g.pgp.is_empty())
    };
    let config = load_text(&editor.to_text(), config_path)?;
    let fits = config.rule_for(&absolute, &base).is_ok_and(admins_only);
    if !fits {
        let text = relative.to_string_lossy().replace('\\', "/");
        let pattern = format!("^{}$", regex::escape(&text));
        let names = admin_names(&editor.members());
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let index = editor
            .insert_rule(&pattern, &refs)
            .map_err(|e| edit_error(config_path, e))?;
        shift_created(created, index);
        created.push(index);
    }
    let config = load_text(&editor.to_text(), config_path)?;
    let rule = config.rule_for(&absolute, &base)?;
    crate::file::rule_recipients(rule, None, backends)
        .map_err(|source| EnrollError::EncryptKey { source })
}
