//! Tests of the `.sops.yaml` editor: the vector corpus (diff locality, semantics, real sops),
//! refusals, and random edit sequences.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::verify::RuleMeaning;
use super::*;
use crate::config::ConfigError;
use crate::test_support::TempDir;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/sops-config");

/// The recipient given to the member the tests add.
const NEW_RECIPIENT: &str = "age1sr8kqnprc3rz4dyvhd9x2g7kkt3hqt6jvwmpyr6v208sww4ef9gsa656qq";
const NEW_NAME: &str = "newhost";

/// Per vector: the member to remove, and the rule and key group that gets the new member.
const CASES: [(&str, &str, usize, usize); 14] = [
    ("01-design.yaml", "oracle", 0, 0),
    ("02-sops-nix-admins-servers.yaml", "server_oracle", 0, 0),
    ("03-flat-comma-strings.yaml", "trinity", 0, 0),
    ("04-block-flat-4space.yaml", "neo", 1, 0),
    ("05-flow-flat.yaml", "oracle", 2, 0),
    ("06-key-groups-shamir.yaml", "oracle", 0, 1),
    ("07-pgp-mixed.yaml", "oracle", 2, 0),
    ("08-catch-all.yaml", "oracle", 1, 0),
    ("09-crlf.yaml", "oracle", 1, 0),
    ("10-four-space-groups.yaml", "neo", 0, 0),
    ("11-quoted.yaml", "oracle", 0, 0),
    ("12-comments-stores.yaml", "oracle", 0, 0),
    ("13-no-trailing-newline.yaml", "trinity", 1, 0),
    ("14-indentless.yaml", "oracle", 0, 0),
];

/// Paths tried when looking for a file that a rule governs.
const PROBE_PATHS: [&str; 14] = [
    "secrets/newhost/a.yaml",
    "secrets/trinity/a.yaml",
    "secrets/oracle/a.yaml",
    "secrets/web/a.yaml",
    "secrets/neo/a.yaml",
    "secrets/common.yaml",
    "secrets/shared/a.yaml",
    "secrets/ops/a.yaml",
    "secrets/legacy/a.yaml",
    "secrets/x.json",
    "hosts/morpheus/a.yaml",
    "hosts/neo/a.yaml",
    "hosts/common/a.yaml",
    "k8s/app.yaml",
];

fn vector(name: &str) -> String {
    let path = Path::new(VECTORS).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn rules_of(text: &str) -> Vec<RuleMeaning> {
    meaning(&load(text).unwrap())
}

/// Old lines deleted and new lines inserted, by a plain LCS over lines (line endings kept).
/// When `old` has no final line ending, its last line gaining one is not counted.
fn line_diff(old: &str, new: &str) -> (Vec<usize>, Vec<usize>) {
    let (mut deleted, mut inserted) = lcs_diff(old, new);
    if !old.is_empty() && !old.ends_with('\n') {
        let last = old.split_inclusive('\n').count() - 1;
        let with_eol = format!("{}\n", line(old, last));
        if deleted.contains(&last) && inserted.iter().any(|&i| line(new, i) == with_eol) {
            deleted.retain(|&index| index != last);
            let position = inserted
                .iter()
                .position(|&i| line(new, i) == with_eol)
                .unwrap();
            inserted.remove(position);
        }
    }
    (deleted, inserted)
}

fn lcs_diff(old: &str, new: &str) -> (Vec<usize>, Vec<usize>) {
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let (mut deleted, mut inserted) = (Vec::new(), Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            inserted.push(j);
            j += 1;
        } else {
            deleted.push(i);
            i += 1;
        }
    }
    (deleted, inserted)
}

fn line(text: &str, index: usize) -> &str {
    text.split_inclusive('\n').nth(index).unwrap()
}

/// The real sops, or `None` (skip) when it is missing and not required.
fn sops() -> Option<PathBuf> {
    crate::test_support::peer("sops")
}

/// Checks that the real sops picks, for one file per rule (rules with PGP keys skipped), the
/// recipients [`Config`] reads from `text`.
fn assert_sops_agrees(sops: &Path, label: &str, text: &str) {
    let dir = TempDir::new("config-edit-sops");
    std::fs::write(dir.0.join(".sops.yaml"), text).unwrap();
    let config = load(text).unwrap();
    let mut checked = 0;
    for rule in &config.creation_rules {
        if rule.key_groups.iter().any(|group| !group.pgp.is_empty()) {
            continue;
        }
        let Some(path) = PROBE_PATHS.iter().find(|path| {
            config
                .rule_for(Path::new(path), &dir.0)
                .is_ok_and(|found| found.index == rule.index)
        }) else {
            continue;
        };
        let file = dir.0.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        let content = if path.ends_with(".json") {
            "{\"a\": \"b\"}\n"
        } else {
            "a: b\n"
        };
        std::fs::write(&file, content).unwrap();
        let output = Command::new(sops)
            .args(["encrypt", path])
            .current_dir(&dir.0)
            .env("HOME", &dir.0)
            .env_remove("SOPS_AGE_RECIPIENTS")
            .env_remove("SOPS_CONFIG")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{label}: sops failed on {path}: {}\n{text}",
            String::from_utf8_lossy(&output.stderr)
        );
        let mut chosen: Vec<String> = stdout
            .lines()
            .filter_map(|line| {
                let line = line.trim().trim_start_matches("- ");
                line.strip_prefix("recipient: ").or_else(|| {
                    line.strip_prefix("\"recipient\": \"")
                        .map(|rest| rest.trim_end_matches(['"', ',']))
                })
            })
            .map(str::to_owned)
            .collect();
        let mut wanted: Vec<String> = rule
            .key_groups
            .iter()
            .flat_map(|group| group.age.clone())
            .collect();
        chosen.sort();
        wanted.sort();
        assert_eq!(chosen, wanted, "{label}: rule {} for {path}", rule.index);
        checked += 1;
    }
    assert!(checked > 0, "{label}: no rule was checked with sops");
}

#[test]
fn vectors_round_trip_unchanged() {
    for (file, ..) in CASES {
        let text = vector(file);
        let editor = ConfigEditor::parse(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(editor.to_text(), text, "{file}");
        assert!(editor.members().len() >= 3, "{file}");
    }
}

#[test]
fn vectors_add_member_and_alias() {
    let sops = sops();
    for (file, _, rule, group) in CASES {
        let old = vector(file);
        let mut editor = ConfigEditor::parse(&old).unwrap();
        editor
            .add_member(
                NEW_NAME,
                NEW_RECIPIENT,
                Some("ssh-ed25519 AAAAC3Nz newhost"),
            )
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        editor
            .add_alias_to_rule(rule, group, NEW_NAME)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let new = editor.to_text();

        // (a) Only the member line and the one age field changed.
        let (deleted, inserted) = line_diff(&old, &new);
        assert!(deleted.len() <= 1, "{file}: deleted {deleted:?}\n{new}");
        assert!(
            (1..=2).contains(&inserted.len()),
            "{file}: inserted {inserted:?}\n{new}"
        );
        for &index in &inserted {
            assert!(line(&new, index).contains(NEW_NAME), "{file}:\n{new}");
        }
        if old.contains("\r\n") {
            assert_eq!(new.matches('\n').count(), new.matches("\r\n").count());
        }
        assert_eq!(old.ends_with('\n'), new.ends_with('\n'), "{file}");

        // (b) The rule gained exactly the new recipient.
        let mut expected = rules_of(&old);
        expected[rule].key_groups[group]
            .age
            .push(NEW_RECIPIENT.to_owned());
        assert_eq!(rules_of(&new), expected, "{file}");
        let member = editor
            .members()
            .into_iter()
            .find(|m| m.name == NEW_NAME)
            .unwrap();
        assert_eq!(member.recipient, NEW_RECIPIENT);
        assert_eq!(
            member.comment.as_deref(),
            Some("ssh-ed25519 AAAAC3Nz newhost"),
            "{file}\n{new}"
        );
        assert!(editor.rules_naming(NEW_NAME).contains(&rule));

        // Adding again is a no-op.
        editor.add_alias_to_rule(rule, group, NEW_NAME).unwrap();
        assert_eq!(editor.to_text(), new);

        // (c) The real sops reads the same recipients.
        if let Some(sops) = &sops {
            assert_sops_agrees(sops, file, &new);
        }
    }
}

#[test]
fn vectors_remove_member() {
    let sops = sops();
    for (file, name, ..) in CASES {
        let old = vector(file);
        let mut editor = ConfigEditor::parse(&old).unwrap();
        let recipient = editor
            .members()
            .into_iter()
            .find(|m| m.name == name)
            .unwrap()
            .recipient;
        editor
            .remove_member(name)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let new = editor.to_text();

        // (a) Only lines naming the member changed, and what replaced them does not name it.
        let (deleted, inserted) = line_diff(&old, &new);
        assert!(!deleted.is_empty(), "{file}");
        assert!(inserted.len() <= deleted.len(), "{file}");
        for &index in &deleted {
            let text = line(&old, index);
            assert!(
                text.contains(&format!("*{name}"))
                    || text.contains(&format!("&{name} "))
                    || text.contains(&recipient),
                "{file}: line {} changed: {text:?}",
                index + 1
            );
        }
        for &index in &inserted {
            let text = line(&new, index);
            assert!(
                !text.contains(&format!("*{name}")) && !text.contains(&recipient),
                "{file}: {text:?}"
            );
        }
        assert!(!new.contains(&format!("&{name} ")), "{file}");

        // (b) Every rule lost exactly that recipient.
        let mut expected = rules_of(&old);
        for rule in &mut expected {
            for group in &mut rule.key_groups {
                group.age.retain(|key| *key != recipient);
            }
        }
        assert_eq!(rules_of(&new), expected, "{file}");
        assert!(editor.members().iter().all(|m| m.name != name));

        // (c)
        if let Some(sops) = &sops {
            assert_sops_agrees(sops, file, &new);
        }
    }
}

#[test]
fn vectors_insert_rule() {
    let sops = sops();
    for (file, ..) in CASES {
        let old = vector(file);
        let mut editor = ConfigEditor::parse(&old).unwrap();
        let members = editor.members();
        let names: Vec<&str> = members.iter().take(2).map(|m| m.name.as_str()).collect();
        let index = editor
            .insert_rule("^secrets/newhost/", &names)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let new = editor.to_text();

        // (a) Three new contiguous lines, nothing else.
        let (deleted, inserted) = line_diff(&old, &new);
        assert!(deleted.is_empty(), "{file}: {deleted:?}\n{new}");
        assert_eq!(inserted.len(), 3, "{file}\n{new}");
        assert_eq!(inserted[2] - inserted[0], 2, "{file}");
        assert!(line(&new, inserted[0]).contains("path_regex: ^secrets/newhost/"));
        assert!(
            line(&new, inserted[1]).trim() == "key_groups:",
            "{file}\n{new}"
        );

        // (b) The rule is where it should be, with those recipients, and governs its files.
        let config = load(&new).unwrap();
        let mut expected = rules_of(&old);
        // The first rule that governed the new rule's files (a catch-all or a wider rule).
        let shadowing = load(&old)
            .unwrap()
            .rule_for(
                Path::new("/repo/secrets/newhost/a.yaml"),
                Path::new("/repo"),
            )
            .map(|rule| rule.index)
            .ok();
        assert_eq!(index, shadowing.unwrap_or(expected.len()), "{file}");
        expected.insert(
            index,
            RuleMeaning {
                path_regex: Some("^secrets/newhost/".to_owned()),
                key_groups: vec![KeyGroupSpec {
                    age: members
                        .iter()
                        .take(2)
                        .map(|m| m.recipient.clone())
                        .collect(),
                    ..KeyGroupSpec::default()
                }],
                shamir_threshold: None,
                crypt_rule: None,
                mac_only_encrypted: false,
            },
        );
        assert_eq!(meaning(&config), expected, "{file}");
        let rule = config
            .rule_for(
                Path::new("/repo/secrets/newhost/a.yaml"),
                Path::new("/repo"),
            )
            .unwrap();
        assert_eq!(rule.index, index, "{file}");

        // (c)
        if let Some(sops) = &sops {
            assert_sops_agrees(sops, file, &new);
        }
    }
}

#[test]
fn replace_member_rewrites_the_anchor_and_literal_copies() {
    let old = vector("03-flat-comma-strings.yaml");
    let mut editor = ConfigEditor::parse(&old).unwrap();
    let trinity = editor.members()[1].recipient.clone();
    editor
        .replace_member("trinity", NEW_RECIPIENT, Some("rekeyed"))
        .unwrap();
    let new = editor.to_text();
    assert!(!new.contains(&trinity));
    let (deleted, inserted) = line_diff(&old, &new);
    assert_eq!(deleted.len(), 3);
    assert_eq!(inserted.len(), 3);
    let mut expected = rules_of(&old);
    for rule in &mut expected {
        for key in &mut rule.key_groups[0].age {
            if *key == trinity {
                NEW_RECIPIENT.clone_into(key);
            }
        }
    }
    assert_eq!(rules_of(&new), expected);
    assert_eq!(editor.members()[1].comment.as_deref(), Some("rekeyed"));
}

#[test]
fn remove_alias_from_rule_keeps_other_rules() {
    let old = vector("05-flow-flat.yaml");
    let mut editor = ConfigEditor::parse(&old).unwrap();
    editor.remove_alias_from_rule(3, "oracle").unwrap();
    let new = editor.to_text();
    assert!(new.contains("    age: [*admin_alice, *trinity, *neo]\n"));
    assert_eq!(line_diff(&old, &new).0.len(), 1);
    // Not named: nothing happens.
    editor.remove_alias_from_rule(0, "oracle").unwrap();
    assert_eq!(editor.to_text(), new);
    assert_eq!(editor.rules_naming("oracle"), [1, 2]);
}

#[test]
fn keys_section_is_created_when_missing() {
    let mut editor = ConfigEditor::parse("# top\n---\ncreation_rules:\n- age: age1x\n").unwrap();
    editor.add_member("a", "age1a", None).unwrap();
    assert_eq!(
        editor.to_text(),
        "# top\n---\nkeys:\n- &a age1a\ncreation_rules:\n- age: age1x\n"
    );
    let mut editor = ConfigEditor::parse("").unwrap();
    editor.add_member("a", "age1a", Some("c")).unwrap();
    assert_eq!(editor.to_text(), "keys:\n  - &a age1a # c\n");
    let mut editor = ConfigEditor::parse("keys: []  # none yet\n").unwrap();
    editor.add_member("a", "age1a", None).unwrap();
    assert_eq!(editor.to_text(), "keys:  # none yet\n  - &a age1a\n");
    let index = editor.insert_rule("^a/", &["a"]).unwrap();
    assert_eq!(index, 0);
    assert_eq!(
        editor.to_text(),
        "keys:  # none yet\n  - &a age1a\ncreation_rules:\n  - path_regex: ^a/\n    key_groups:\n      - age: [*a]\n"
    );
}

#[test]
fn recipients_are_quoted_when_yaml_would_misread_them() {
    let mut editor = ConfigEditor::parse("keys:\n  - &a age1a\n").unwrap();
    for (name, recipient) in [
        ("b", "ssh-ed25519 AAAA host #1"),
        ("c", "key: value"),
        ("d", "true"),
        ("e", "it's"),
        ("f", "*star"),
    ] {
        editor.add_member(name, recipient, None).unwrap();
    }
    let members = editor.members();
    let values: Vec<&str> = members.iter().map(|m| m.recipient.as_str()).collect();
    assert_eq!(
        values,
        [
            "age1a",
            "ssh-ed25519 AAAA host #1",
            "key: value",
            "true",
            "it's",
            "*star"
        ]
    );
    assert!(editor.to_text().contains("- &e 'it''s'\n"));
}

#[test]
fn unsupported_constructs_are_refused() {
    type Check = fn(&EditError) -> bool;
    let cases: [(&str, Check); 10] = [
        ("keys: [&a age1a]\n", |e| {
            matches!(e, EditError::FlowKeys { line: 1 })
        }),
        ("keys:\n  - &a [age1a]\n", |e| {
            matches!(e, EditError::AnchorOnCollection { line: 2 })
        }),
        ("a: 1\n---\nb: 2\n", |e| {
            matches!(e, EditError::MultipleDocuments { line: 2 })
        }),
        ("keys:\n  - &a !!str age1a\n", |e| {
            matches!(e, EditError::Tag { line: 2 })
        }),
        ("{keys: []}\n", |e| {
            matches!(e, EditError::FlowMapping { line: 1, .. })
        }),
        ("creation_rules:\n  - {age: age1a}\n", |e| {
            matches!(e, EditError::FlowMapping { line: 2, .. })
        }),
        ("keys:\n  - &a\n    age1a\n", |e| {
            matches!(e, EditError::UnsupportedMember { line: 2 })
        }),
        ("keys:\n  - &a age1a\n  - &a age1b\n", |e| {
            matches!(e, EditError::DuplicateAnchor { line: 3, .. })
        }),
        ("keys: [\n", |e| matches!(e, EditError::Syntax { .. })),
        ("creation_rules:\n  - path_regex: '('\n", |e| {
            matches!(e, EditError::Config(ConfigError::InvalidRegex { .. }))
        }),
    ];
    for (text, check) in cases {
        let error = ConfigEditor::parse(text).unwrap_err();
        assert!(check(&error), "{text:?}: {error:?}");
    }
}

#[test]
fn unsafe_edits_are_refused() {
    let text = concat!(
        "keys:\n  - &admin_a age1a\n  - &admin_b age1b\n  - &h age1h\n",
        "creation_rules:\n  - path_regex: ^h/\n    key_groups:\n      - age: [*admin_a, *h]\n",
        "      - age: [*h]\n  - age: [*admin_b, *h]\n",
    );
    let mut editor = ConfigEditor::parse(text).unwrap();
    let error = editor.remove_member("h").unwrap_err();
    assert!(matches!(
        error,
        EditError::LastRecipient {
            rule: 0,
            group: 1,
            ..
        }
    ));
    let error = editor.remove_member("admin_a").unwrap_err();
    assert!(matches!(error, EditError::LastAdmin { rule: 0, .. }));
    let error = editor.remove_alias_from_rule(1, "admin_b").unwrap_err();
    assert!(matches!(error, EditError::LastAdmin { rule: 1, .. }));
    let error = editor.add_member("h", "age1z", None).unwrap_err();
    assert!(matches!(error, EditError::MemberExists { line: 4, .. }));
    let error = editor.add_member("bad name", "age1z", None).unwrap_err();
    assert!(matches!(error, EditError::InvalidName { .. }));
    let error = editor.add_member("z", "age1\nz", None).unwrap_err();
    assert!(matches!(error, EditError::InvalidRecipient { .. }));
    let error = editor.add_member("z", "age1z", Some("a\nb")).unwrap_err();
    assert!(matches!(error, EditError::InvalidComment { .. }));
    let error = editor.remove_member("nobody").unwrap_err();
    assert!(matches!(error, EditError::NoSuchMember { .. }));
    let error = editor.add_alias_to_rule(5, 0, "h").unwrap_err();
    assert!(matches!(error, EditError::NoSuchRule { rule: 5, rules: 2 }));
    let error = editor.add_alias_to_rule(0, 2, "h").unwrap_err();
    assert!(matches!(error, EditError::NoSuchGroup { groups: 2, .. }));
    let error = editor.insert_rule("(", &["h"]).unwrap_err();
    assert!(matches!(error, EditError::InvalidPathRegex { .. }));
    let error = editor.insert_rule("^x/", &[]).unwrap_err();
    assert!(matches!(error, EditError::EmptyRule));
    assert_eq!(editor.to_text(), text);

    // The last recipient of a flat rule.
    let mut editor =
        ConfigEditor::parse("keys:\n  - &a age1a\ncreation_rules:\n  - age: [*a]\n").unwrap();
    let error = editor.remove_member("a").unwrap_err();
    assert!(matches!(
        error,
        EditError::LastRecipient {
            rule: 0,
            group: 0,
            ..
        }
    ));

    // An alias outside age fields cannot be removed.
    let mut editor = ConfigEditor::parse(
        "keys:\n  - &a age1a\n  - &b age1b\ncreation_rules:\n  - age: [*a, *b]\nnote: *b\n",
    )
    .unwrap();
    let error = editor.remove_member("b").unwrap_err();
    assert!(matches!(
        error,
        EditError::AliasOutsideRules { line: 6, .. }
    ));

    // A block scalar holding the recipient.
    let mut editor = ConfigEditor::parse(
        "keys:\n  - &a age1a\n  - &b age1b\ncreation_rules:\n  - age: >-\n      age1a,\n      age1b\n",
    )
    .unwrap();
    let error = editor.remove_member("b").unwrap_err();
    assert!(matches!(
        error,
        EditError::UnsupportedAgeField { rule: 0, line: 5 }
    ));

    // The recipient inside another anchor's value.
    let mut editor = ConfigEditor::parse(
        "keys:\n  - &a age1a\n  - &b age1b\nteam: &team age1a,age1b\ncreation_rules:\n  - age: [*a, *team]\n",
    )
    .unwrap();
    let error = editor.remove_member("b").unwrap_err();
    assert!(matches!(error, EditError::SharedAnchor { .. }));
}

#[test]
fn merged_groups_and_missing_age_fields() {
    let text = "keys:\n  - &a age1a\n  - &b age1b\n  - &c age1c\ncreation_rules:\n  - key_groups:\n      - merge:\n          - age: [*a, *c]\n        pgp: [FP]\n";
    let mut editor = ConfigEditor::parse(text).unwrap();
    editor.add_alias_to_rule(0, 0, "b").unwrap();
    assert!(
        editor
            .to_text()
            .ends_with("        pgp: [FP]\n        age: [*b]\n")
    );
    editor.remove_member("c").unwrap();
    let config = load(&editor.to_text()).unwrap();
    assert_eq!(
        config.creation_rules[0].key_groups[0].age,
        ["age1a", "age1b"]
    );
    assert_eq!(editor.rules_naming("a"), [0]);
}

fn name_strategy() -> impl proptest::strategy::Strategy<Value = usize> {
    0usize..6
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(64))]

    /// Random add/remove sequences on a generated config keep it loadable, and its rules name
    /// exactly the members the model says.
    #[test]
    fn random_edits_match_a_model(
        indent in 1usize..5,
        flow in proptest::bool::ANY,
        crlf in proptest::bool::ANY,
        ops in proptest::collection::vec((0u8..4, name_strategy(), 0usize..3), 1..25),
    ) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let pad = " ".repeat(indent);
        let recipient = |i: usize| format!("age1member{i}");
        // Rules 0..3 each start with the admin (member 0, never removed) and member 1+rule.
        let mut text = format!("# fleet{eol}keys:{eol}");
        for i in 0..4 {
            text.push_str(&format!("{pad}- &{} {}  # m{i}{eol}", name(i), recipient(i)));
        }
        text.push_str(&format!("creation_rules:{eol}"));
        let mut model: Vec<Vec<usize>> = Vec::new();
        for rule in 0..3 {
            let inner = " ".repeat(indent + 2);
            text.push_str(&format!("{pad}- path_regex: ^r{rule}/{eol}"));
            if flow {
                text.push_str(&format!("{inner}age: [*{}, *{}]{eol}", name(0), name(1 + rule)));
            } else {
                text.push_str(&format!("{inner}key_groups:{eol}{inner}{pad}- age:{eol}"));
                let item = " ".repeat(indent + 2 + indent + 4);
                text.push_str(&format!("{item}- *{}{eol}{item}- *{}{eol}", name(0), name(1 + rule)));
            }
            model.push(vec![0, 1 + rule]);
        }
        let mut members: Vec<usize> = (0..4).collect();
        let mut editor = ConfigEditor::parse(&text).unwrap();
        for (op, who, rule) in ops {
            let member_name = name(who);
            match op {
                0 => {
                    let result = editor.add_member(&member_name, &recipient(who), Some("new"));
                    if members.contains(&who) {
                        proptest::prop_assert!(matches!(result, Err(EditError::MemberExists { .. })), "{:?}", result);
                    } else {
                        result.unwrap();
                        members.push(who);
                    }
                }
                1 => {
                    let result = editor.add_alias_to_rule(rule, 0, &member_name);
                    if members.contains(&who) {
                        result.unwrap();
                        if !model[rule].contains(&who) {
                            model[rule].push(who);
                        }
                    } else {
                        proptest::prop_assert!(matches!(result, Err(EditError::NoSuchMember { .. })), "{:?}", result);
                    }
                }
                2 if who != 0 => {
                    let result = editor.remove_member(&member_name);
                    if !members.contains(&who) {
                        proptest::prop_assert!(matches!(result, Err(EditError::NoSuchMember { .. })), "{:?}", result);
                    } else if model.iter().any(|rule| rule == &vec![who]) {
                        proptest::prop_assert!(matches!(result, Err(EditError::LastRecipient { .. })), "{:?}", result);
                    } else {
                        result.unwrap();
                        members.retain(|m| *m != who);
                        model.iter_mut().for_each(|rule| rule.retain(|m| *m != who));
                    }
                }
                _ if who != 0 && members.contains(&who) => {
                    let result = editor.remove_alias_from_rule(rule, &member_name);
                    if model[rule] == vec![who] {
                        proptest::prop_assert!(matches!(result, Err(EditError::LastRecipient { .. })), "{:?}", result);
                    } else {
                        result.unwrap();
                        model[rule].retain(|m| *m != who);
                    }
                }
                _ => {}
            }
            let edited = editor.to_text();
            let config = load(&edited).unwrap();
            for (index, rule) in config.creation_rules.iter().enumerate() {
                let wanted: Vec<String> = model[index].iter().map(|m| recipient(*m)).collect();
                proptest::prop_assert_eq!(&rule.key_groups[0].age, &wanted);
            }
            let mut names: Vec<String> = editor.members().into_iter().map(|m| m.name).collect();
            names.sort();
            let mut wanted: Vec<String> = members.iter().map(|m| name(*m)).collect();
            wanted.sort();
            proptest::prop_assert_eq!(names, wanted);
            proptest::prop_assert!(edited.starts_with("# fleet"));
            if crlf {
                proptest::prop_assert_eq!(edited.matches('\n').count(), edited.matches("\r\n").count());
            }
        }
    }
}

fn name(i: usize) -> String {
    if i == 0 {
        "admin_root".to_owned()
    } else {
        format!("host{i}")
    }
}

/// A rule whose `age:` is an anchored scalar that other rules alias (as in kustomize-controller's
/// test config): a new alias keeps the anchor on its value, so the other rules keep theirs, and
/// sops reads every rule as aesec does; a change to the anchored value itself is refused, since
/// the aliases would change with it. Found by the config fuzz target (the edit was refused as
/// unverified before).
#[test]
fn anchored_age_value_aliased_by_other_rules() {
    let text = format!(
        "keys:\n  - &web {NEW_RECIPIENT}\ncreation_rules:\n  - path_regex: ^secrets/x\\.json$\n    age: &fleet age1l44xcng8dqj32nlv6d930qvvrny05hglzcv9qpc7kxjc6902ma4qufys29, age1m69ryw24zjg9pmxr033synsftwkt4f8nh7xp7cm07at3n3r67yfswcwm58\n  - path_regex: ^secrets/\n    age: *fleet\n"
    );
    let mut editor = ConfigEditor::parse(&text).unwrap();
    editor.add_alias_to_rule(0, 0, "web").unwrap();
    let edited = editor.to_text();
    assert!(
        edited.contains("    age: [&fleet 'age1l44xcng8dqj32nlv6d930qvvrny05hglzcv9qpc7kxjc6902ma4qufys29, age1m69ryw24zjg9pmxr033synsftwkt4f8nh7xp7cm07at3n3r67yfswcwm58', *web]\n"),
        "{edited}"
    );
    let rules = rules_of(&edited);
    assert_eq!(rules[0].key_groups[0].age.len(), 3);
    assert_eq!(
        rules[1].key_groups[0].age,
        rules_of(&text)[1].key_groups[0].age
    );
    if let Some(sops) = sops() {
        assert_sops_agrees(&sops, "anchored age value", &edited);
    }

    // Removing a recipient of the anchored value would remove it from the aliasing rule too.
    let with_member = text.replace(
        &format!("&web {NEW_RECIPIENT}"),
        "&web age1l44xcng8dqj32nlv6d930qvvrny05hglzcv9qpc7kxjc6902ma4qufys29",
    );
    let mut editor = ConfigEditor::parse(&with_member).unwrap();
    let error = editor.remove_alias_from_rule(0, "web").unwrap_err();
    assert!(
        matches!(&error, EditError::SharedAnchor { anchor, line: 7 } if anchor == "fleet"),
        "{error:?}"
    );
    assert_eq!(editor.to_text(), with_member);
}

/// A member named in a `pgp:` list cannot be given a new value: the PGP key would change with
/// it. Found by the config fuzz target on the `07-pgp-mixed.yaml` vector.
#[test]
fn replace_member_named_outside_age_fields_is_refused() {
    let text = vector("07-pgp-mixed.yaml");
    let mut editor = ConfigEditor::parse(&text).unwrap();
    let error = editor
        .replace_member("pgp_ops", NEW_RECIPIENT, None)
        .unwrap_err();
    assert!(
        matches!(&error, EditError::AliasOutsideRules { name, .. } if name == "pgp_ops"),
        "{error:?}"
    );
    assert_eq!(editor.to_text(), text);
}

/// A config whose root map is indented gets its new `keys:` and `creation_rules:` in the
/// root's column. Found by the config fuzz target (the edits were refused as unverified).
#[test]
fn edits_of_an_indented_root_map() {
    let text = "# fleet\n  creation_rules:\n    - age: age1a\n";
    let mut editor = ConfigEditor::parse(text).unwrap();
    editor.add_member("web", NEW_RECIPIENT, None).unwrap();
    assert_eq!(
        editor.to_text(),
        format!(
            "# fleet\n  keys:\n    - &web {NEW_RECIPIENT}\n  creation_rules:\n    - age: age1a\n"
        )
    );

    let mut editor = ConfigEditor::parse("  stores:\n    json:\n").unwrap();
    editor.add_member("web", NEW_RECIPIENT, None).unwrap();
    editor.insert_rule("^secrets/web/", &["web"]).unwrap();
    assert_eq!(
        editor.to_text(),
        format!(
            "  keys:\n    - &web {NEW_RECIPIENT}\n  stores:\n    json:\n  creation_rules:\n    \
             - path_regex: ^secrets/web/\n      key_groups:\n        - age: [*web]\n"
        )
    );
}

/// A new member after an empty item of `keys:` (`-` or `- # c`) takes that item's indentation
/// and a `- ` of its own. Found by the config fuzz target (the edit was refused as unverified).
#[test]
fn add_member_after_an_empty_keys_item() {
    for item in ["-", "- # c", "-   # c"] {
        let text = format!("keys:\n  - &a age1a\n  {item}\ncreation_rules:\n  - age: [*a]\n");
        let mut editor = ConfigEditor::parse(&text).unwrap();
        editor.add_member("web", NEW_RECIPIENT, None).unwrap();
        assert_eq!(
            editor.to_text(),
            text.replace(
                &format!("  {item}\n"),
                &format!("  {item}\n  - &web {NEW_RECIPIENT}\n")
            )
        );
    }
}

/// A member whose value is a comma-separated list is several keys to sops: the editor refuses
/// to change it (it changes one recipient per member) and to write one. Found by the config
/// fuzz target (removing it was refused as unverified).
#[test]
fn a_member_holding_several_recipients_is_not_edited() {
    let text =
        "keys:\n  - &team age1a, age1b\n  - &c age1c\ncreation_rules:\n  - age: [*team, *c]\n";
    let several = |error: EditError| {
        assert!(
            matches!(&error, EditError::SeveralRecipients { name, line: 2 } if name == "team"),
            "{error:?}"
        );
    };
    let mut editor = ConfigEditor::parse(text).unwrap();
    several(editor.remove_member("team").unwrap_err());
    several(editor.replace_member("team", "age1d", None).unwrap_err());
    several(editor.remove_alias_from_rule(0, "team").unwrap_err());
    several(editor.insert_rule("^x/", &["team"]).unwrap_err());
    assert!(matches!(
        editor.add_member("d", "age1d, age1e", None).unwrap_err(),
        EditError::InvalidRecipient { .. }
    ));
    assert_eq!(editor.to_text(), text);
    // The other member is edited as before.
    editor.remove_alias_from_rule(0, "c").unwrap();
    assert!(editor.to_text().ends_with("  - age: [*team]\n"));
}

/// A config without rules whose document ends with `...` gets its first rule inside the
/// document, after the root map's last entry. Found by the config fuzz target (the rule went
/// after the marker, into a second document, and the edit was refused as unverified).
#[test]
fn first_rule_of_a_document_ended_by_a_marker() {
    let text = format!("keys:\n  - &web {NEW_RECIPIENT} # web\n... # end\n");
    let mut editor = ConfigEditor::parse(&text).unwrap();
    assert_eq!(editor.insert_rule("^secrets/web/", &["web"]).unwrap(), 0);
    assert_eq!(
        editor.to_text(),
        format!(
            "keys:\n  - &web {NEW_RECIPIENT} # web\ncreation_rules:\n  - path_regex: ^secrets/web/\n    \
             key_groups:\n      - age: [*web]\n... # end\n"
        )
    );
}

/// Each text is refused by [`ConfigEditor::parse`] with an error that `line_of` reads a line
/// from, at that line.
fn assert_refused_at(cases: &[(&str, usize)], line_of: fn(&EditError) -> Option<usize>) {
    for &(text, line) in cases {
        let error = ConfigEditor::parse(text).unwrap_err();
        assert_eq!(line_of(&error), Some(line), "{text:?}: {error:?}");
    }
}

/// A tab in a line's indentation is refused with its line: YAML indents with spaces, go-yaml
/// refuses a tab at the start of a line, and new lines copy the file's indentation. Found by
/// the config fuzz target (`\ts:` read, and the edit refused as unverified).
#[test]
fn tab_indentation_is_refused() {
    assert_refused_at(
        &[
            ("\ts:\n", 1),
            ("keys:\n  - &a age1a\n \t\ncreation_rules: []\n", 3),
            ("keys:\n\t- &a age1a\n", 2),
        ],
        |error| match error {
            EditError::TabIndentation { line } => Some(*line),
            _ => None,
        },
    );
    // A tab after the content is no indentation.
    ConfigEditor::parse("keys:\n  - &a age1a\t# a\n").unwrap();
}

/// Members defined after the rules cannot be named by them (YAML defines an anchor before its
/// aliases): adding an alias or a rule says so. Found by the config fuzz target (the edits were
/// refused as unverified).
#[test]
fn members_defined_after_the_rules() {
    let text = format!(
        "creation_rules:\n  - path_regex: ^a/\n    age: age1a\nkeys:\n  - &web {NEW_RECIPIENT}\n"
    );
    let after = |error: EditError| {
        assert!(
            matches!(&error, EditError::AnchorAfterUse { name, line: 5 } if name == "web"),
            "{error:?}"
        );
    };
    let mut editor = ConfigEditor::parse(&text).unwrap();
    after(editor.add_alias_to_rule(0, 0, "web").unwrap_err());
    after(editor.insert_rule("^secrets/web/", &["web"]).unwrap_err());
    assert_eq!(editor.to_text(), text);
}

/// Line breaks other than `\n` and `\r\n` are refused with their line: YAML reads a lone `\r`,
/// NEL, LS and PS as line breaks, which the editor's line arithmetic does not. Found by the
/// config fuzz target (`\rencrypted s:`).
#[test]
fn unusual_line_breaks_are_refused() {
    assert_refused_at(
        &[
            ("\rkeys:\n", 1),
            ("keys:\n  - &a age1a\r  - &b age1b\n", 2),
            ("keys: []\ncreation_rules:\u{2028}  - age: x\n", 2),
            ("keys: []\n# \u{85}\n", 2),
            ("keys: []\r\n# c\r", 2),
        ],
        |error| match error {
            EditError::LineBreak { line } => Some(*line),
            _ => None,
        },
    );
    ConfigEditor::parse("keys:\r\n  - &a age1a\r\n").unwrap();
}

/// Explicit keys (`? key`) are refused with their line: the editor places new lines by the
/// column of keys written `key: value`. Found by the config fuzz target (`? a`).
#[test]
fn explicit_keys_are_refused() {
    assert_refused_at(
        &[
            ("? a", 1),
            ("keys: []\ncreation_rules:\n  - ? age\n    : x\n", 3),
        ],
        |error| match error {
            EditError::ExplicitKey { line } => Some(*line),
            _ => None,
        },
    );
}

/// A byte-order mark before the first key stays first, and takes no column. Found by the config
/// target's unit test (the first rule was written three columns in).
#[test]
fn edits_after_a_byte_order_mark() {
    let mut editor = ConfigEditor::parse("\u{feff}stores:\n  yaml:\n    indent: 2\n").unwrap();
    editor.add_member("web", NEW_RECIPIENT, None).unwrap();
    editor.insert_rule("^secrets/web/", &["web"]).unwrap();
    assert_eq!(
        editor.to_text(),
        format!(
            "\u{feff}keys:\n  - &web {NEW_RECIPIENT}\nstores:\n  yaml:\n    indent: 2\ncreation_rules:\n  \
             - path_regex: ^secrets/web/\n    key_groups:\n      - age: [*web]\n"
        )
    );
}

/// Two members holding one recipient: removing or replacing either is refused (the rules naming
/// the other keep the key). Found by the config fuzz target (refused as unverified before).
#[test]
fn members_sharing_a_recipient() {
    let text = "keys:\n  - &a age1a\n  - &b age1b\n  - &c age1b\ncreation_rules:\n  - age: [*a, *b]\n  - age: [*a, *c]\n";
    let shared = |error: EditError| {
        assert!(
            matches!(&error, EditError::SharedRecipient { name, other, line: 4 } if name == "b" && other == "c"),
            "{error:?}"
        );
    };
    let mut editor = ConfigEditor::parse(text).unwrap();
    shared(editor.remove_member("b").unwrap_err());
    shared(editor.replace_member("b", "age1d", None).unwrap_err());
    assert_eq!(editor.to_text(), text);
    // A member of its own recipient is removed as before.
    editor.remove_member("a").unwrap();
    assert!(editor.to_text().ends_with("  - age: [*b]\n  - age: [*c]\n"));
}
