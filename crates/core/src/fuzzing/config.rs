//! The `.sops.yaml` property: whoever can write to the repository writes the config, so reading
//! it, choosing a rule and every membership edit must answer with a config or an error, never a
//! panic; and an edit that succeeds leaves a text that reads again, both as a config and as an
//! editable one. An edit the editor refuses as [`EditError::Unverified`] is a finding too: its
//! splices wrote something other than what the edit meant (the check caught it, but the edit
//! is wrong).

use std::path::Path;

use crate::config::Config;
use crate::config::edit::{ConfigEditor, EditError};

/// The path the config is read as, and the directory files are matched from.
const CONFIG_PATH: &str = "/repo/.sops.yaml";

/// Paths a rule is chosen for: under the config, outside it, and relative ones.
const FILES: [&str; 4] = [
    "secrets/web/app.yaml",
    "a.json",
    "/elsewhere/x.env",
    "../up.ini",
];

/// A recipient for the members the target adds or swaps in (the test identity's).
const RECIPIENT: &str = "age1m69ryw24zjg9pmxr033synsftwkt4f8nh7xp7cm07at3n3r67yfswcwm58";

/// At most this many rules, groups and members are edited, so that one input stays cheap.
const MAX_EDITED: usize = 6;

/// Reads `data` as a `.sops.yaml`, chooses a rule for a few paths, and, when the text is
/// editable, tries every membership edit on copies of it.
///
/// # Panics
///
/// When reading or editing panics, when an edit is refused as unverified, or when an edited
/// text does not read again.
pub fn config_edits(data: &[u8]) {
    if let Ok(config) = Config::from_yaml(data, CONFIG_PATH) {
        for file in FILES {
            let _rule = config.rule_for(Path::new(file), Path::new("/repo"));
        }
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(editor) = ConfigEditor::parse(text) else {
        return;
    };
    let members: Vec<String> = editor
        .members()
        .into_iter()
        .take(MAX_EDITED)
        .map(|member| member.name)
        .collect();
    for name in &members {
        let _rules = editor.rules_naming(name);
    }

    let mut added = editor.clone();
    if edited(
        &mut added,
        |e| e.add_member("fuzz_new", RECIPIENT, Some("added")),
        text,
    ) {
        for rule in 0..MAX_EDITED {
            for group in 0..3 {
                edited(
                    &mut added.clone(),
                    |e| e.add_alias_to_rule(rule, group, "fuzz_new"),
                    text,
                );
            }
        }
        edited(
            &mut added.clone(),
            |e| e.insert_rule("^secrets/fuzz/", &["fuzz_new"]).map(drop),
            text,
        );
    }
    for name in &members {
        edited(&mut editor.clone(), |e| e.remove_member(name), text);
        edited(
            &mut editor.clone(),
            |e| e.replace_member(name, RECIPIENT, Some("replaced")),
            text,
        );
        for rule in 0..MAX_EDITED {
            edited(
                &mut editor.clone(),
                |e| e.remove_alias_from_rule(rule, name),
                text,
            );
        }
    }
}

/// Runs `edit` on `editor`; whether it succeeded. A success must leave a text that reads again
/// as a config and as an editable one.
///
/// # Panics
///
/// When the edit is refused as unverified, or its text does not read again.
fn edited(
    editor: &mut ConfigEditor,
    edit: impl FnOnce(&mut ConfigEditor) -> Result<(), EditError>,
    original: &str,
) -> bool {
    match edit(editor) {
        Ok(()) => {
            let text = editor.to_text();
            if let Err(error) = Config::from_yaml(text.as_bytes(), CONFIG_PATH) {
                panic!(
                    "edited config does not read: {error}\nbefore: {original:?}\nafter: {text:?}"
                );
            }
            if let Err(error) = ConfigEditor::parse(&text) {
                panic!(
                    "edited config is not editable: {error}\nbefore: {original:?}\nafter: {text:?}"
                );
            }
            true
        }
        Err(error @ EditError::Unverified { .. }) => {
            panic!("{error}\nconfig: {original:?}")
        }
        Err(_) => false,
    }
}
