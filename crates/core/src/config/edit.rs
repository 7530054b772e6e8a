//! Lossless edits of `.sops.yaml` for fleet membership: members are anchors in `keys:`, rules
//! name them by alias (DESIGN §3).
//!
//! ```yaml
//! keys:
//!   - &admin_alice age1...   # admins
//!   - &trinity age1...       # ssh-ed25519 AAAA... trinity
//! creation_rules:
//!   - path_regex: ^secrets/trinity/
//!     key_groups:
//!       - age: [*admin_alice, *trinity]
//! ```
//!
//! **Guarantee:** every byte outside the lines an edit changes stays as it was: comments,
//! anchors, order, quoting, indentation, blank lines and CRLF line endings. After each edit the
//! new text is read again with [`Config::from_yaml`] and the rules' recipients are compared
//! with what the edit should give; when they differ the edit fails with
//! [`EditError::Unverified`] and the text is left unchanged.
//!
//! **How:** the editor splices the original text at byte offsets found by `saphyr-parser`
//! (the YAML parser the sops store already uses), and writes new lines in the file's own
//! style: indentation copied from neighbouring lines, the line ending of the file, the quoting
//! of the last member. `yaml-edit` 0.3.6 was tried first (it round-trips CRLF and appends to
//! flow and block lists well), but it has no API for anchors or line comments, which are what
//! a member is made of, and it decides quoting by itself; splicing keeps each byte under our
//! control without a second YAML stack.
//!
//! **Refused** (by [`ConfigEditor::parse`], with the line): several YAML documents, tags,
//! anchors on collections, a flow-style `keys: [...]`, flow-style rules or key groups, members
//! that are not `- &name recipient` on one line, and anchors defined twice.
//!
//! **Admins** are the members [`membership`](super::membership) says are (anchor names starting
//! with `admin_`). [`ConfigEditor::remove_member`]
//! and [`ConfigEditor::remove_alias_from_rule`] refuse to leave a rule that named an admin
//! without one, and every edit refuses to leave a key group without a key.
//!
//! ```
//! use aesec::config::edit::ConfigEditor;
//!
//! let mut editor = ConfigEditor::parse(
//!     "keys:\n  - &admin_alice age1alice # admin\ncreation_rules:\n  - age: [*admin_alice]\n",
//! )?;
//! editor.add_member("trinity", "age1trinity", Some("enrolled 2026-11-22"))?;
//! editor.add_alias_to_rule(0, 0, "trinity")?;
//! // The new comment is aligned with the one above.
//! assert_eq!(
//!     editor.to_text(),
//!     "keys:\n  - &admin_alice age1alice # admin\n  - &trinity age1trinity   # enrolled 2026-11-22\n\
//!      creation_rules:\n  - age: [*admin_alice, *trinity]\n",
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod layout;
mod render;
#[cfg(test)]
mod tests;

use saphyr_parser::ScalarStyle;

use super::membership::{Member, is_admin_name};
use super::{Config, ConfigError, KeyGroupSpec};
use crate::CryptRule;
use layout::{AgeSite, Entry, Kind, Layout, Node, entries, line_rest, split_commas};
use render::{
    check_member_text, flow_parts, member_line, push_comment, render, render_comma_string,
    render_flow,
};

/// Why a `.sops.yaml` cannot be edited, or an edit was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    /// The text is not valid YAML.
    #[error("invalid YAML at line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// The file holds more than one YAML document.
    #[error("second YAML document at line {line}: only single-document files can be edited")]
    MultipleDocuments {
        /// Where the second document starts.
        line: usize,
    },
    /// A YAML tag (`!!str`, `!custom`) is in the way.
    #[error("YAML tag at line {line} cannot be edited safely")]
    Tag {
        /// The line of the tagged node.
        line: usize,
    },
    /// `keys:` is a flow sequence (`keys: [&a age1…]`).
    #[error(
        "flow-style 'keys' at line {line} cannot be edited: write one '- &name recipient' per line"
    )]
    FlowKeys {
        /// The line of the `[`.
        line: usize,
    },
    /// An anchor names a mapping or a list.
    #[error("anchor on a collection at line {line} cannot be edited safely")]
    AnchorOnCollection {
        /// The line of the anchored collection.
        line: usize,
    },
    /// The top level, a rule or a key group is written in flow style (`{…}`).
    #[error("flow-style {what} at line {line} cannot be edited: write it in block style")]
    FlowMapping {
        /// What is in flow style.
        what: &'static str,
        /// Its line.
        line: usize,
    },
    /// A `keys:` entry is not `- &name recipient [# comment]` on one line.
    #[error("key at line {line} is not of the form '- &name recipient' on one line")]
    UnsupportedMember {
        /// Its line.
        line: usize,
    },
    /// A field has a type the editor does not expect.
    #[error("{field} at line {line} must be {expected}")]
    FieldType {
        /// The field.
        field: String,
        /// Its line.
        line: usize,
        /// What it must be.
        expected: &'static str,
    },
    /// An anchor name is defined twice.
    #[error("anchor '{name}' at line {line} is defined twice")]
    DuplicateAnchor {
        /// The anchor name.
        name: String,
        /// The line of the second definition.
        line: usize,
    },
    /// The file (or the edited file) does not load as a sops config.
    #[error("the config does not load")]
    Config(#[source] ConfigError),
    /// The member name cannot be an anchor name.
    #[error("invalid member name '{name}': use letters, digits, '_', '-' and '.'")]
    InvalidName {
        /// The name.
        name: String,
    },
    /// The recipient is empty or holds a line break or control character.
    #[error("invalid recipient for member '{name}': empty or with control characters")]
    InvalidRecipient {
        /// The member name.
        name: String,
    },
    /// The comment holds a line break or control character.
    #[error("invalid comment for member '{name}': line breaks are not allowed")]
    InvalidComment {
        /// The member name.
        name: String,
    },
    /// A member (or another anchor) with that name exists.
    #[error("member '{name}' already exists (line {line})")]
    MemberExists {
        /// The name.
        name: String,
        /// The line of the existing anchor.
        line: usize,
    },
    /// No member has that name.
    #[error("no member named '{name}' in keys")]
    NoSuchMember {
        /// The name.
        name: String,
    },
    /// The rule index is out of range.
    #[error("no creation rule {rule} (the config has {rules})")]
    NoSuchRule {
        /// The 0-based index asked for.
        rule: usize,
        /// How many rules there are.
        rules: usize,
    },
    /// The key group index is out of range.
    #[error("creation rule {rule} has no key group {group} (it has {groups})")]
    NoSuchGroup {
        /// The rule.
        rule: usize,
        /// The 0-based group index asked for.
        group: usize,
        /// How many groups the rule has.
        groups: usize,
    },
    /// The edit would leave a key group of a rule without any key.
    #[error("removing '{name}' would leave creation rule {rule} (key group {group}) without a key")]
    LastRecipient {
        /// The member.
        name: String,
        /// The rule.
        rule: usize,
        /// The key group.
        group: usize,
    },
    /// The edit would leave a rule that named an admin without one.
    #[error("removing '{name}' would leave creation rule {rule} without an admin")]
    LastAdmin {
        /// The member.
        name: String,
        /// The rule.
        rule: usize,
    },
    /// A rule to insert names no member.
    #[error("a new creation rule needs at least one recipient")]
    EmptyRule,
    /// The `path_regex` of a new rule does not compile.
    #[error("invalid path_regex '{pattern}'")]
    InvalidPathRegex {
        /// The pattern.
        pattern: String,
        /// The regex error.
        #[source]
        source: regex::Error,
    },
    /// An alias of the member sits outside any `age:` field, where the editor cannot remove it.
    #[error("alias '*{name}' at line {line} is outside creation_rules' age fields")]
    AliasOutsideRules {
        /// The member.
        name: String,
        /// The alias' line.
        line: usize,
    },
    /// An `age:` field that must change is a block scalar (`|`, `>`) or holds a collection.
    #[error("age field of creation rule {rule} at line {line} cannot be edited: use a list")]
    UnsupportedAgeField {
        /// The rule.
        rule: usize,
        /// The field's line.
        line: usize,
    },
    /// The recipient to change is inside a scalar shared through another anchor.
    #[error("recipient sits in the value of anchor '&{anchor}', used at line {line}")]
    SharedAnchor {
        /// The anchor holding it.
        anchor: String,
        /// The line of the alias.
        line: usize,
    },
    /// The edited text did not give the expected recipients; nothing was changed.
    #[error("{operation}: the edited config does not read as intended, nothing was changed")]
    Unverified {
        /// The operation.
        operation: &'static str,
    },
}

/// A `.sops.yaml` being edited: the original text and the edits made so far.
#[derive(Clone, Debug)]
pub struct ConfigEditor {
    text: String,
    layout: Layout,
}

/// One splice: replace `start..end` with `text`.
struct Splice {
    start: usize,
    end: usize,
    text: String,
}

/// The semantics of a rule that an edit may change.
#[derive(Clone, Debug, PartialEq, Eq)]
struct RuleMeaning {
    path_regex: Option<String>,
    key_groups: Vec<KeyGroupSpec>,
    shamir_threshold: Option<usize>,
    crypt_rule: Option<CryptRule>,
    mac_only_encrypted: bool,
}

fn meaning(config: &Config) -> Vec<RuleMeaning> {
    config
        .creation_rules
        .iter()
        .map(|rule| RuleMeaning {
            path_regex: rule.path_regex.as_ref().map(|r| r.as_str().to_owned()),
            key_groups: rule.key_groups.clone(),
            shamir_threshold: rule.shamir_threshold,
            crypt_rule: rule.crypt_rule.clone(),
            mac_only_encrypted: rule.mac_only_encrypted,
        })
        .collect()
}

fn load(text: &str) -> Result<Config, EditError> {
    Config::from_yaml(text.as_bytes(), super::CONFIG_FILE_NAME).map_err(EditError::Config)
}

impl ConfigEditor {
    /// Reads `text`, refusing constructs that cannot be edited safely (see the module docs).
    ///
    /// ```
    /// use aesec::config::edit::{ConfigEditor, EditError};
    ///
    /// let error = ConfigEditor::parse("keys: [&a age1a]\n").unwrap_err();
    /// assert!(matches!(error, EditError::FlowKeys { line: 1 }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse(text: &str) -> Result<Self, EditError> {
        let layout = Layout::new(text)?;
        load(text)?;
        Ok(Self {
            text: text.to_owned(),
            layout,
        })
    }

    /// The edited text.
    ///
    /// ```
    /// let text = "# fleet\r\nkeys:\r\n  - &a age1a\r\n";
    /// let editor = aesec::config::edit::ConfigEditor::parse(text)?;
    /// assert_eq!(editor.to_text(), text);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_text(&self) -> String {
        self.text.clone()
    }

    /// The members: anchored entries of `keys:`, in file order.
    ///
    /// ```
    /// let editor = aesec::config::edit::ConfigEditor::parse(
    ///     "keys:\n  - &admin_alice age1alice # alice\n  - &web 'age1web'\n",
    /// )?;
    /// let members = editor.members();
    /// assert_eq!(members[0].name, "admin_alice");
    /// assert!(members[0].is_admin);
    /// assert_eq!(members[0].comment.as_deref(), Some("alice"));
    /// assert_eq!((members[1].recipient.as_str(), members[1].line), ("age1web", 3));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn members(&self) -> Vec<Member> {
        self.layout
            .members
            .iter()
            .map(|site| Member {
                name: site.name.clone(),
                recipient: site.recipient.clone(),
                comment: site.comment.clone(),
                line: self.layout.lines.line(site.node.start),
                is_admin: is_admin_name(&site.name),
            })
            .collect()
    }

    /// The rules that name member `name`, by alias or by its literal recipient (for
    /// `enroll --like`).
    ///
    /// ```
    /// let editor = aesec::config::edit::ConfigEditor::parse(
    ///     "keys:\n  - &a age1a\ncreation_rules:\n  - path_regex: x\n    age: age1b\n  - age: [*a]\n",
    /// )?;
    /// assert_eq!(editor.rules_naming("a"), [1]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rules_naming(&self, name: &str) -> Vec<usize> {
        let recipient = self.member(name).ok().map(|m| m.recipient.clone());
        self.layout
            .rules
            .iter()
            .enumerate()
            .filter(|(_, rule)| {
                rule.age_sites().iter().any(|site| {
                    entries(&site.value).is_some_and(|entries| {
                        entries.iter().any(|(entry, _)| match entry {
                            Entry::Alias(alias) => alias == name,
                            Entry::Literal(text) => recipient
                                .as_ref()
                                .is_some_and(|r| split_commas(text).contains(r)),
                        })
                    })
                })
            })
            .map(|(index, _)| index)
            .collect()
    }

    /// Appends `- &name recipient # comment` to `keys:` (created at the top when missing), in
    /// the file's indentation and quoting.
    ///
    /// ```
    /// use aesec::config::edit::{ConfigEditor, EditError};
    ///
    /// let mut editor = ConfigEditor::parse("creation_rules: []\n")?;
    /// editor.add_member("web", "ssh-ed25519 AAAAC3Nz web # old", None)?;
    /// assert_eq!(
    ///     editor.to_text(),
    ///     "keys:\n  - &web 'ssh-ed25519 AAAAC3Nz web # old'\ncreation_rules: []\n",
    /// );
    /// let error = editor.add_member("web", "age1other", None).unwrap_err();
    /// assert!(matches!(error, EditError::MemberExists { line: 2, .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_member(
        &mut self,
        name: &str,
        recipient: &str,
        comment: Option<&str>,
    ) -> Result<(), EditError> {
        check_member_text(name, recipient, comment)?;
        if let Some(line) = self.anchor_line(name) {
            return Err(EditError::MemberExists {
                name: name.to_owned(),
                line,
            });
        }
        let layout = &self.layout;
        let eol = layout.eol;
        let style = layout
            .members
            .last()
            .map_or(ScalarStyle::Plain, |site| site.style);
        let mut splices = Vec::new();
        match &layout.keys {
            Some((key, value)) => {
                let items = match &value.kind {
                    Kind::Seq { items, .. } => items.as_slice(),
                    _ => &[],
                };
                match items.last() {
                    Some(last) => {
                        let prefix = self.text.get(layout.lines.start_of(last.start)..last.start);
                        let prefix = prefix.unwrap_or("  - ");
                        let mut line = format!("{prefix}&{name} {}", render(recipient, style));
                        if let Some(comment) = comment {
                            let column = self.comment_column(last);
                            push_comment(&mut line, comment, column, self.comment_gap());
                        }
                        splices.push(self.insert_line_after(last.end, &line));
                    }
                    None => {
                        let indent = " ".repeat(self.child_indent(key));
                        let line = member_line(&indent, name, recipient, comment);
                        if !value.is_empty_scalar() {
                            // `keys: []` (or `keys: ~`): the value goes, the list follows.
                            let colon = self.colon_after(key);
                            splices.push(Splice {
                                start: colon,
                                end: value.end,
                                text: String::new(),
                            });
                        }
                        splices.push(self.insert_line_after(key.end, &line));
                    }
                }
            }
            None => {
                let indent = " ".repeat(self.default_indent());
                let line = member_line(&indent, name, recipient, comment);
                let block = format!("keys:{eol}{line}{eol}");
                match &layout.root {
                    Some(Node {
                        kind: Kind::Map { entries, .. },
                        ..
                    }) if !entries.is_empty() => {
                        let at = entries
                            .first()
                            .map_or(0, |(key, _)| layout.lines.start_of(key.start));
                        splices.push(Splice {
                            start: at,
                            end: at,
                            text: block,
                        });
                    }
                    _ => {
                        let at = self.text.len();
                        let text = if self.text.is_empty() || self.text.ends_with('\n') {
                            block
                        } else {
                            format!("{eol}{block}")
                        };
                        splices.push(Splice {
                            start: at,
                            end: at,
                            text,
                        });
                    }
                }
            }
        }
        let before = meaning(&load(&self.text)?);
        let mut expected_members = self.member_pairs();
        expected_members.push((name.to_owned(), recipient.to_owned()));
        self.commit("add member", splices, before, expected_members)
    }

    /// Gives member `name` a new recipient and comment (`None` drops the old comment, which
    /// described the old key). Literal copies of the old recipient in rules are replaced too.
    ///
    /// ```
    /// let mut editor = aesec::config::edit::ConfigEditor::parse(
    ///     "keys:\n  - &web age1old # old key\ncreation_rules:\n  - age: [*web]\n",
    /// )?;
    /// editor.replace_member("web", "age1new", Some("rekeyed"))?;
    /// assert_eq!(
    ///     editor.to_text(),
    ///     "keys:\n  - &web age1new # rekeyed\ncreation_rules:\n  - age: [*web]\n",
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn replace_member(
        &mut self,
        name: &str,
        recipient: &str,
        comment: Option<&str>,
    ) -> Result<(), EditError> {
        check_member_text(name, recipient, comment)?;
        let site = self.member(name)?.clone();
        let old = site.recipient.clone();
        let mut value = format!("&{name} {}", render(recipient, site.style));
        if let Some(comment) = comment {
            let column = self.comment_column(&site.node);
            let line_start = self.layout.lines.start_of(site.node.start);
            let mut line = self
                .text
                .get(line_start..site.node.start)
                .unwrap_or_default()
                .to_owned();
            line.push_str(&value);
            push_comment(&mut line, comment, column, self.comment_gap());
            value = line.split_off(site.node.start - line_start);
        }
        let line_end =
            site.node.end + line_rest(&self.text, &self.layout.lines, site.node.end).len();
        let mut splices = vec![Splice {
            start: site.node.start,
            end: line_end,
            text: value,
        }];
        let uses_groups = self.uses_groups();
        splices.extend(self.rewrite_all(None, &old, Some(recipient))?);
        let mut before = meaning(&load(&self.text)?);
        for (rule, meaning) in before.iter_mut().enumerate() {
            for group in &mut meaning.key_groups {
                for key in &mut group.age {
                    if *key == old {
                        recipient.clone_into(key);
                    }
                }
                if uses_groups.get(rule).copied().unwrap_or(false) {
                    dedup(&mut group.age);
                }
            }
        }
        let expected_members = self
            .member_pairs()
            .into_iter()
            .map(|(n, r)| {
                if n == name {
                    (n, recipient.to_owned())
                } else {
                    (n, r)
                }
            })
            .collect();
        self.commit("replace member", splices, before, expected_members)
    }

    /// Removes member `name`: its `keys:` line, every alias `*name` in the rules and every
    /// literal copy of its recipient. Refuses to leave a key group without a key or a rule that
    /// named an admin without one.
    ///
    /// ```
    /// use aesec::config::edit::{ConfigEditor, EditError};
    ///
    /// let mut editor = ConfigEditor::parse(
    ///     "keys:\n  - &a age1a\n  - &b age1b\ncreation_rules:\n  - age: [*a, *b]\n  - age: [*a]\n",
    /// )?;
    /// let error = editor.remove_member("a").unwrap_err();
    /// assert!(matches!(error, EditError::LastRecipient { rule: 1, .. }));
    /// editor.remove_member("b")?;
    /// assert_eq!(editor.to_text(), "keys:\n  - &a age1a\ncreation_rules:\n  - age: [*a]\n  - age: [*a]\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn remove_member(&mut self, name: &str) -> Result<(), EditError> {
        let site = self.member(name)?.clone();
        self.check_aliases_in_rules(name)?;
        let recipient = site.recipient.clone();
        let mut splices = vec![Splice {
            start: self.layout.lines.start_of(site.node.start),
            end: self.layout.lines.next_start(site.node.end),
            text: String::new(),
        }];
        splices.extend(self.rewrite_all(Some(name), &recipient, None)?);
        let before = meaning(&load(&self.text)?);
        let rules: Vec<usize> = (0..before.len()).collect();
        let expected = self.removal_meaning(name, &recipient, &before, &rules)?;
        let expected_members = self
            .member_pairs()
            .into_iter()
            .filter(|(n, _)| n != name)
            .collect();
        self.commit("remove member", splices, expected, expected_members)
    }

    /// Adds `*name` to key group `group_index` of rule `rule_index` (group 0 is the flat `age:`
    /// of a rule without `key_groups`); nothing happens when the group already names the
    /// member.
    ///
    /// ```
    /// let mut editor = aesec::config::edit::ConfigEditor::parse(
    ///     "keys:\n  - &a age1a\n  - &b age1b\ncreation_rules:\n  - key_groups:\n      - age:\n          - *a\n",
    /// )?;
    /// editor.add_alias_to_rule(0, 0, "b")?;
    /// assert!(editor.to_text().ends_with("          - *a\n          - *b\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_alias_to_rule(
        &mut self,
        rule_index: usize,
        group_index: usize,
        name: &str,
    ) -> Result<(), EditError> {
        let recipient = self.member(name)?.recipient.clone();
        let rule = self.rule(rule_index)?.clone();
        let (site, mapping, present) = match &rule.groups {
            Some(groups) => {
                let group = groups.get(group_index).ok_or(EditError::NoSuchGroup {
                    rule: rule_index,
                    group: group_index,
                    groups: groups.len(),
                })?;
                let present = group
                    .age
                    .iter()
                    .chain(&group.merged)
                    .any(|site| names(site, name, &recipient));
                (group.age.clone(), group.node.clone(), present)
            }
            None if group_index == 0 => {
                let present = rule.flat.iter().any(|site| names(site, name, &recipient));
                (rule.flat.clone(), rule.node.clone(), present)
            }
            None => {
                return Err(EditError::NoSuchGroup {
                    rule: rule_index,
                    group: group_index,
                    groups: usize::from(rule.flat.is_some()),
                });
            }
        };
        if present {
            return Ok(());
        }
        let alias = format!("*{name}");
        let splice = match &site {
            None => {
                let Kind::Map { entries, .. } = &mapping.kind else {
                    return Err(EditError::Unverified {
                        operation: "add alias",
                    });
                };
                let first = entries.first().map_or(mapping.start, |(key, _)| key.start);
                let column = first - self.layout.lines.start_of(first);
                let line = format!("{}age: [{alias}]", " ".repeat(column));
                self.insert_line_after(mapping.end, &line)
            }
            Some(site) => self.append_entry(site, rule_index, &alias)?,
        };
        let mut expected = meaning(&load(&self.text)?);
        if let Some(meaning) = expected.get_mut(rule_index) {
            match meaning.key_groups.get_mut(group_index) {
                Some(group) => group.age.push(recipient),
                None => meaning.key_groups.push(KeyGroupSpec {
                    age: vec![recipient],
                    ..KeyGroupSpec::default()
                }),
            }
        }
        let members = self.member_pairs();
        self.commit("add alias", vec![splice], expected, members)
    }

    /// Removes `*name` (and literal copies of its recipient) from every key group of rule
    /// `rule_index`; nothing happens when the rule does not name the member.
    ///
    /// ```
    /// let mut editor = aesec::config::edit::ConfigEditor::parse(
    ///     "keys:\n  - &a age1a\n  - &b age1b\ncreation_rules:\n  - age:\n      - *a\n      - *b # b\n",
    /// )?;
    /// editor.remove_alias_from_rule(0, "b")?;
    /// assert!(editor.to_text().ends_with("  - age:\n      - *a\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn remove_alias_from_rule(
        &mut self,
        rule_index: usize,
        name: &str,
    ) -> Result<(), EditError> {
        let recipient = self.member(name)?.recipient.clone();
        let rule = self.rule(rule_index)?.clone();
        let mut splices = Vec::new();
        for site in rule.age_sites() {
            splices.extend(self.rewrite_site(site, rule_index, Some(name), &recipient, None)?);
        }
        if splices.is_empty() {
            return Ok(());
        }
        let before = meaning(&load(&self.text)?);
        let expected = self.removal_meaning(name, &recipient, &before, &[rule_index])?;
        let members = self.member_pairs();
        self.commit("remove alias", splices, expected, members)
    }

    /// Inserts a rule `path_regex` whose one key group names `age_aliases`, before the first
    /// catch-all rule (no `path_regex`, or one matching every path) or at the end; returns its
    /// index. When `path_regex` starts with a literal prefix (`^secrets/web/`), the rule also
    /// goes before the first rule that would otherwise govern a file under that prefix (such as
    /// `^secrets/`), so that it is not shadowed.
    ///
    /// ```
    /// let mut editor = aesec::config::edit::ConfigEditor::parse(
    ///     "keys:\n  - &a age1a\ncreation_rules:\n  - age: [*a]\n",
    /// )?;
    /// assert_eq!(editor.insert_rule("^secrets/web/", &["a"])?, 0);
    /// assert_eq!(
    ///     editor.to_text(),
    ///     "keys:\n  - &a age1a\ncreation_rules:\n  - path_regex: ^secrets/web/\n    key_groups:\n      - age: [*a]\n  - age: [*a]\n",
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn insert_rule(
        &mut self,
        path_regex: &str,
        age_aliases: &[&str],
    ) -> Result<usize, EditError> {
        let regex =
            regex::Regex::new(path_regex).map_err(|source| EditError::InvalidPathRegex {
                pattern: path_regex.to_owned(),
                source,
            })?;
        if path_regex.contains(['\n', '\r']) {
            return Err(EditError::InvalidPathRegex {
                pattern: path_regex.to_owned(),
                source: regex::Error::Syntax("line break in path_regex".to_owned()),
            });
        }
        if age_aliases.is_empty() {
            return Err(EditError::EmptyRule);
        }
        let mut recipients = Vec::new();
        for alias in age_aliases {
            recipients.push(self.member(alias)?.recipient.clone());
        }
        dedup(&mut recipients);
        let config = load(&self.text)?;
        let probe = literal_probe(&regex);
        let catch_all = config.creation_rules.iter().position(|rule| {
            rule.path_regex.as_ref().is_none_or(|existing| {
                ["", "a", "secrets/host/file.yaml", "/abs/x.json"]
                    .iter()
                    .all(|sample| existing.is_match(sample))
                    || probe.as_ref().is_some_and(|probe| existing.is_match(probe))
            })
        });
        let layout = &self.layout;
        let eol = layout.eol;
        let style = self.rule_style();
        let aliases: Vec<String> = age_aliases.iter().map(|a| format!("*{a}")).collect();
        let dash = " ".repeat(style.dash);
        let key = " ".repeat(style.dash + style.map);
        let group_dash = " ".repeat(style.dash + style.map + style.group_dash);
        let lines = format!(
            "{dash}-{}path_regex: {}{eol}{key}key_groups:{eol}{group_dash}-{}age: [{}]",
            " ".repeat(style.map.saturating_sub(1).max(1)),
            render_flow(regex.as_str(), false),
            " ".repeat(style.group_map.saturating_sub(1).max(1)),
            aliases.join(", ")
        );
        let (index, splice) = match (catch_all, &layout.rules_field) {
            (Some(index), _) => {
                let rule = layout.rules.get(index).ok_or(EditError::Unverified {
                    operation: "insert rule",
                })?;
                let at = self.comment_block_start(self.layout.lines.start_of(rule.node.start));
                (
                    index,
                    Splice {
                        start: at,
                        end: at,
                        text: format!("{lines}{eol}"),
                    },
                )
            }
            (None, Some((key, value))) => {
                let splice = match layout.rules.last() {
                    Some(last) => self.insert_line_after(last.node.end, &lines),
                    None if value.is_empty_scalar() => self.insert_line_after(key.end, &lines),
                    None => {
                        // `creation_rules: []`: the new list replaces it.
                        let colon = self.colon_after(key);
                        let rest_end =
                            colon + line_rest(&self.text, &self.layout.lines, colon).len();
                        let rest = self.text.get(value.end..rest_end).unwrap_or_default();
                        Splice {
                            start: colon,
                            end: value.end,
                            text: if rest.trim().is_empty() {
                                format!("{eol}{lines}")
                            } else {
                                return Err(EditError::FieldType {
                                    field: "creation_rules".to_owned(),
                                    line: self.layout.lines.line(value.start),
                                    expected: "a block list or [] alone on its line",
                                });
                            },
                        }
                    }
                };
                (layout.rules.len(), splice)
            }
            (None, None) => {
                let at = self.text.len();
                let lead = if self.text.is_empty() || self.text.ends_with('\n') {
                    ""
                } else {
                    eol
                };
                (
                    0,
                    Splice {
                        start: at,
                        end: at,
                        text: format!("{lead}creation_rules:{eol}{lines}{eol}"),
                    },
                )
            }
        };
        let mut expected = meaning(&config);
        expected.insert(
            index.min(expected.len()),
            RuleMeaning {
                path_regex: (!path_regex.is_empty()).then(|| path_regex.to_owned()),
                key_groups: vec![KeyGroupSpec {
                    age: recipients,
                    ..KeyGroupSpec::default()
                }],
                shamir_threshold: None,
                crypt_rule: None,
                mac_only_encrypted: false,
            },
        );
        let members = self.member_pairs();
        self.commit("insert rule", vec![splice], expected, members)?;
        Ok(index)
    }

    // ---- internals ----

    fn member(&self, name: &str) -> Result<&layout::MemberSite, EditError> {
        self.layout
            .members
            .iter()
            .find(|site| site.name == name)
            .ok_or_else(|| EditError::NoSuchMember {
                name: name.to_owned(),
            })
    }

    fn rule(&self, index: usize) -> Result<&layout::RuleSite, EditError> {
        self.layout.rules.get(index).ok_or(EditError::NoSuchRule {
            rule: index,
            rules: self.layout.rules.len(),
        })
    }

    fn member_pairs(&self) -> Vec<(String, String)> {
        self.layout
            .members
            .iter()
            .map(|site| (site.name.clone(), site.recipient.clone()))
            .collect()
    }

    fn uses_groups(&self) -> Vec<bool> {
        self.layout
            .rules
            .iter()
            .map(|rule| rule.groups.is_some())
            .collect()
    }

    /// The line of an anchor named `name` anywhere in the file.
    fn anchor_line(&self, name: &str) -> Option<usize> {
        if let Ok(site) = self.member(name) {
            return Some(self.layout.lines.line(site.node.start));
        }
        self.layout.anchors.contains_key(name).then(|| {
            let needle = format!("&{name}");
            self.text
                .find(&needle)
                .map_or(1, |at| self.layout.lines.line(at))
        })
    }

    /// The splice that adds `line` (without line ending) after the line holding `at`.
    fn insert_line_after(&self, at: usize, line: &str) -> Splice {
        let eol = self.layout.eol;
        let pos = self.layout.lines.next_start(at);
        let text = if pos == self.text.len() && !self.text.ends_with('\n') {
            format!("{eol}{line}")
        } else {
            format!("{line}{eol}")
        };
        Splice {
            start: pos,
            end: pos,
            text,
        }
    }

    /// The byte after the `:` that follows mapping key `key`.
    fn colon_after(&self, key: &Node) -> usize {
        self.text
            .get(key.end..)
            .and_then(|rest| rest.find(':'))
            .map_or(key.end, |offset| key.end + offset + 1)
    }

    /// Where the lines of comments directly above `line_start` begin.
    fn comment_block_start(&self, line_start: usize) -> usize {
        let mut at = line_start;
        let mut line = self.layout.lines.line(line_start);
        while line > 1 {
            let Some(previous) = self.layout.lines.start_of_line(line - 1) else {
                break;
            };
            let text = self.text.get(previous..at).unwrap_or_default();
            if !text.trim_start().starts_with('#') {
                break;
            }
            at = previous;
            line -= 1;
        }
        at
    }

    /// The column of the `#` on the line of `node`, if it has a comment.
    fn comment_column(&self, node: &Node) -> Option<usize> {
        let start = self.layout.lines.start_of(node.start);
        let rest = line_rest(&self.text, &self.layout.lines, node.end);
        let hash = rest.find('#')?;
        let before = self.text.get(start..node.end + hash)?;
        Some(before.chars().count())
    }

    /// The fewest blanks between a member and its comment in the file (1 when none has one).
    fn comment_gap(&self) -> usize {
        self.layout
            .members
            .iter()
            .filter(|site| site.comment.is_some())
            .map(|site| {
                let rest = line_rest(&self.text, &self.layout.lines, site.node.end);
                rest.len() - rest.trim_start().len()
            })
            .min()
            .unwrap_or(1)
    }

    /// The indentation for the first item under mapping key `key`.
    fn child_indent(&self, key: &Node) -> usize {
        let column = key.start - self.layout.lines.start_of(key.start);
        column + self.default_indent().max(2)
    }

    /// The `-` column of the creation rules, or 2.
    fn default_indent(&self) -> usize {
        self.layout
            .rules
            .first()
            .map(|rule| {
                let start = self.layout.lines.start_of(rule.node.start);
                self.text
                    .get(start..rule.node.start)
                    .and_then(|prefix| prefix.find('-'))
                    .unwrap_or(2)
            })
            .unwrap_or(2)
    }

    fn rule_style(&self) -> RuleStyle {
        let lines = &self.layout.lines;
        let column = |at: usize| at - lines.start_of(at);
        let dash_of = |node: &Node| {
            let start = lines.start_of(node.start);
            self.text
                .get(start..node.start)
                .and_then(|prefix| prefix.rfind('-'))
        };
        let mut style = RuleStyle {
            dash: 2,
            map: 2,
            group_dash: 2,
            group_map: 2,
        };
        if let Some(rule) = self.layout.rules.first()
            && let Some(dash) = dash_of(&rule.node)
        {
            style.dash = dash;
            style.map = column(rule.node.start).saturating_sub(dash).max(2);
            style.group_dash = style.map;
            style.group_map = style.map;
        }
        // Without key groups, nest like the flat block `age:` lists do.
        if let Some((
            key,
            Node {
                kind: Kind::Seq { flow: false, items },
                ..
            },
        )) = self
            .layout
            .rules
            .iter()
            .find_map(|rule| rule.node.get("age"))
            && let Some(item) = items.first()
            && let Some(dash) = dash_of(item)
        {
            style.group_dash = dash.saturating_sub(column(key.start));
        }
        for rule in &self.layout.rules {
            if let (Some((key, _)), Some(group)) = (
                rule.node.get("key_groups"),
                rule.groups.as_ref().and_then(|groups| groups.first()),
            ) && let Some(dash) = dash_of(&group.node)
            {
                style.group_dash = dash.saturating_sub(column(key.start));
                style.group_map = column(group.node.start).saturating_sub(dash).max(2);
                break;
            }
        }
        style
    }

    fn check_aliases_in_rules(&self, name: &str) -> Result<(), EditError> {
        let mut handled = Vec::new();
        for rule in &self.layout.rules {
            for site in rule.age_sites() {
                collect_alias_starts(&site.value, &mut handled);
            }
        }
        for (alias, start) in &self.layout.aliases {
            if alias == name && !handled.contains(start) {
                return Err(EditError::AliasOutsideRules {
                    name: name.to_owned(),
                    line: self.layout.lines.line(*start),
                });
            }
        }
        Ok(())
    }

    /// Refuses when a recipient to change is in a non-member anchor's value.
    fn check_shared(&self, list: &[Entry], recipient: &str) -> Result<(), EditError> {
        for entry in list {
            if let Entry::Alias(alias) = entry
                && self.member(alias).is_err()
                && self
                    .layout
                    .anchors
                    .get(alias)
                    .is_some_and(|value| split_commas(value).iter().any(|r| r == recipient))
            {
                let line = self
                    .layout
                    .aliases
                    .iter()
                    .find(|(name, _)| name == alias)
                    .map_or(1, |(_, start)| self.layout.lines.line(*start));
                return Err(EditError::SharedAnchor {
                    anchor: alias.clone(),
                    line,
                });
            }
        }
        Ok(())
    }

    fn unsupported_field(&self, rule: usize, site: &AgeSite) -> EditError {
        EditError::UnsupportedAgeField {
            rule,
            line: self.layout.lines.line(site.key.start),
        }
    }

    /// Splices that drop `*alias` and replace literal `old` by `new` (or drop it) in every
    /// `age:` field of every rule.
    fn rewrite_all(
        &self,
        alias: Option<&str>,
        old: &str,
        new: Option<&str>,
    ) -> Result<Vec<Splice>, EditError> {
        let mut splices = Vec::new();
        for (index, rule) in self.layout.rules.iter().enumerate() {
            // Flat fields sops ignores (beside key_groups) are edited too, so no stale copy stays.
            let mut sites = rule.age_sites();
            if rule.groups.is_some()
                && let Some(flat) = &rule.flat
            {
                sites.push(flat);
            }
            for site in sites {
                splices.extend(self.rewrite_site(site, index, alias, old, new)?);
            }
        }
        Ok(splices)
    }

    /// The splices that drop `*alias` and replace literal `old` by `new` (or drop it) in `age:`
    /// field `site` of rule `rule`.
    fn rewrite_site(
        &self,
        site: &AgeSite,
        rule: usize,
        alias: Option<&str>,
        old: &str,
        new: Option<&str>,
    ) -> Result<Vec<Splice>, EditError> {
        let Some(current) = entries(&site.value) else {
            let text = self.text_of(&site.value);
            if text.contains(old) || alias.is_some_and(|alias| text.contains(&format!("*{alias}")))
            {
                return Err(self.unsupported_field(rule, site));
            }
            return Ok(Vec::new());
        };
        let list: Vec<Entry> = current.iter().map(|(entry, _)| entry.clone()).collect();
        self.check_shared(&list, old)?;
        let fates = fates(&list, alias, old, new);
        if fates.iter().all(|fate| matches!(fate, Fate::Keep)) {
            return Ok(Vec::new());
        }
        let value = &site.value;
        let lines = &self.layout.lines;
        match &value.kind {
            Kind::Seq { flow: false, .. } => {
                let mut splices = Vec::new();
                for ((_, item), fate) in current.iter().zip(&fates) {
                    let start = lines.start_of(item.start);
                    if self.text.get(start..item.start).map(str::trim) != Some("-")
                        || lines.line(item.start) != lines.line(item.end)
                    {
                        return Err(self.unsupported_field(rule, site));
                    }
                    match fate {
                        Fate::Keep => {}
                        Fate::Replace(text) => splices.push(Splice {
                            start: item.start,
                            end: item.end,
                            text: render_flow(text, false),
                        }),
                        Fate::Drop => splices.push(Splice {
                            start,
                            end: lines.next_start(item.end),
                            text: String::new(),
                        }),
                    }
                }
                if fates.iter().all(|fate| matches!(fate, Fate::Drop)) {
                    // All items gone: an empty flow list keeps the field a list.
                    let colon = self.colon_after(&site.key);
                    splices.push(Splice {
                        start: colon,
                        end: colon,
                        text: " []".to_owned(),
                    });
                }
                Ok(splices)
            }
            Kind::Scalar { style, .. } => {
                let text = match fates.first() {
                    Some(Fate::Replace(text)) => {
                        render_comma_string(self.text_of(value), text, *style)
                    }
                    _ => "[]".to_owned(),
                };
                Ok(vec![Splice {
                    start: value.start,
                    end: value.end,
                    text,
                }])
            }
            Kind::Alias(_) | Kind::Seq { flow: true, .. } => {
                let mut parts = Vec::new();
                let separator = self.separator(value);
                for ((_, item), fate) in current.iter().zip(&fates) {
                    match fate {
                        Fate::Keep => parts.push(self.text_of(item).to_owned()),
                        Fate::Replace(text) => parts.push(flow_parts(text, separator)),
                        Fate::Drop => {}
                    }
                }
                Ok(vec![Splice {
                    start: value.start,
                    end: value.end,
                    text: self.wrap_flow(value, &parts),
                }])
            }
            Kind::Map { .. } => Err(self.unsupported_field(rule, site)),
        }
    }

    fn text_of(&self, node: &Node) -> &str {
        self.text.get(node.start..node.end).unwrap_or_default()
    }

    /// The separator of a flow list (`", "` unless it is written without blanks).
    fn separator(&self, value: &Node) -> &'static str {
        let original = self.text_of(value);
        if matches!(value.kind, Kind::Seq { flow: true, .. })
            && original.contains(',')
            && !original.contains(", ")
        {
            ","
        } else {
            ", "
        }
    }

    /// `[parts]` with the padding of `value` when it is a flow list.
    fn wrap_flow(&self, value: &Node, parts: &[String]) -> String {
        if parts.is_empty() {
            return "[]".to_owned();
        }
        let original = self.text_of(value);
        let pad =
            if matches!(value.kind, Kind::Seq { flow: true, .. }) && original.starts_with("[ ") {
                " "
            } else {
                ""
            };
        format!("[{pad}{}{pad}]", parts.join(self.separator(value)))
    }

    /// The splice that appends `alias` to `age:` field `site`.
    fn append_entry(&self, site: &AgeSite, rule: usize, alias: &str) -> Result<Splice, EditError> {
        let value = &site.value;
        let current = entries(value).ok_or_else(|| self.unsupported_field(rule, site))?;
        if let Kind::Seq { flow: false, items } = &value.kind
            && let Some(last) = items.last()
        {
            let start = self.layout.lines.start_of(last.start);
            let prefix = self.text.get(start..last.start).unwrap_or_default();
            if prefix.trim() != "-" {
                return Err(self.unsupported_field(rule, site));
            }
            return Ok(self.insert_line_after(last.end, &format!("{prefix}{alias}")));
        }
        let separator = self.separator(value);
        let mut parts: Vec<String> = current
            .iter()
            .map(|(entry, item)| match (&value.kind, entry) {
                (Kind::Seq { flow: true, .. }, _) => self.text_of(item).to_owned(),
                (_, Entry::Alias(name)) => format!("*{name}"),
                (_, Entry::Literal(text)) => flow_parts(text, separator),
            })
            .collect();
        parts.push(alias.to_owned());
        let text = self.wrap_flow(value, &parts);
        if value.is_empty_scalar() {
            let colon = self.colon_after(&site.key);
            return Ok(Splice {
                start: colon,
                end: colon,
                text: format!(" {text}"),
            });
        }
        Ok(Splice {
            start: value.start,
            end: value.end,
            text,
        })
    }

    /// The rules' meaning once `recipient` is gone from `rules`, or the refusal.
    fn removal_meaning(
        &self,
        name: &str,
        recipient: &str,
        before: &[RuleMeaning],
        rules: &[usize],
    ) -> Result<Vec<RuleMeaning>, EditError> {
        let admins: Vec<&str> = self
            .layout
            .members
            .iter()
            .filter(|site| is_admin_name(&site.name) && site.name != name)
            .map(|site| site.recipient.as_str())
            .collect();
        let mut expected = before.to_vec();
        for &rule in rules {
            let Some(meaning) = expected.get_mut(rule) else {
                continue;
            };
            let named = meaning
                .key_groups
                .iter()
                .any(|group| group.age.iter().any(|key| key == recipient));
            if !named {
                continue;
            }
            for (group_index, group) in meaning.key_groups.iter_mut().enumerate() {
                let had_keys = !group.is_empty();
                group.age.retain(|key| key != recipient);
                if had_keys && group.is_empty() {
                    return Err(EditError::LastRecipient {
                        name: name.to_owned(),
                        rule,
                        group: group_index,
                    });
                }
            }
            if is_admin_name(name)
                && !meaning
                    .key_groups
                    .iter()
                    .any(|group| group.age.iter().any(|key| admins.contains(&key.as_str())))
            {
                return Err(EditError::LastAdmin {
                    name: name.to_owned(),
                    rule,
                });
            }
        }
        Ok(expected)
    }

    /// Applies `splices`, checks the result against `expected` rules and `members`, and keeps
    /// it.
    fn commit(
        &mut self,
        operation: &'static str,
        mut splices: Vec<Splice>,
        expected: Vec<RuleMeaning>,
        members: Vec<(String, String)>,
    ) -> Result<(), EditError> {
        splices.sort_by_key(|splice| (splice.start, splice.end));
        let mut text = String::with_capacity(self.text.len() + 128);
        let mut at = 0;
        for splice in &splices {
            if splice.start < at || splice.end < splice.start {
                return Err(EditError::Unverified { operation });
            }
            text.push_str(self.text.get(at..splice.start).unwrap_or_default());
            text.push_str(&splice.text);
            at = splice.end;
        }
        text.push_str(self.text.get(at..).unwrap_or_default());

        let unverified = || EditError::Unverified { operation };
        let layout = Layout::new(&text).map_err(|_| unverified())?;
        let config = load(&text).map_err(|_| unverified())?;
        let pairs: Vec<(String, String)> = layout
            .members
            .iter()
            .map(|site| (site.name.clone(), site.recipient.clone()))
            .collect();
        if meaning(&config) != expected || pairs != members {
            return Err(unverified());
        }
        self.text = text;
        self.layout = layout;
        Ok(())
    }
}

/// Indentation of a new rule, copied from the first rules.
struct RuleStyle {
    /// Column of a rule's `-`.
    dash: usize,
    /// Columns from a rule's `-` to its keys.
    map: usize,
    /// Columns from `key_groups` to a group's `-`.
    group_dash: usize,
    /// Columns from a group's `-` to its keys.
    group_map: usize,
}

/// A path the literal-prefix regex `^secrets/web/` governs (`secrets/web/probe.yaml`), so that
/// a new rule goes before an existing one that would shadow it.
fn literal_probe(regex: &regex::Regex) -> Option<String> {
    let pattern = regex.as_str().strip_prefix('^')?;
    let mut prefix = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped) if escaped.is_ascii_punctuation() => prefix.push(escaped),
                _ => break,
            },
            '.' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|' | '$' | '^' => break,
            c => prefix.push(c),
        }
    }
    [format!("{prefix}probe.yaml"), prefix]
        .into_iter()
        .find(|probe| !probe.is_empty() && regex.is_match(probe))
}

/// Whether age field `site` names `name` or its `recipient`.
fn names(site: &AgeSite, name: &str, recipient: &str) -> bool {
    entries(&site.value).is_some_and(|entries| {
        entries.iter().any(|(entry, _)| match entry {
            Entry::Alias(alias) => alias == name,
            Entry::Literal(text) => split_commas(text).iter().any(|r| r == recipient),
        })
    })
}

fn collect_alias_starts(node: &Node, out: &mut Vec<usize>) {
    match &node.kind {
        Kind::Alias(_) => out.push(node.start),
        Kind::Seq { items, .. } => items
            .iter()
            .for_each(|item| collect_alias_starts(item, out)),
        Kind::Map { entries, .. } => entries
            .iter()
            .for_each(|(_, value)| collect_alias_starts(value, out)),
        Kind::Scalar { .. } => {}
    }
}

/// What happens to one entry of an `age:` field.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Fate {
    Keep,
    Drop,
    /// The literal becomes this comma string.
    Replace(String),
}

/// Drops `*alias` and replaces literal recipient `old` by `new` (or drops it) in `entries`.
fn fates(entries: &[Entry], alias: Option<&str>, old: &str, new: Option<&str>) -> Vec<Fate> {
    entries
        .iter()
        .map(|entry| match entry {
            Entry::Alias(name) if Some(name.as_str()) == alias => Fate::Drop,
            Entry::Alias(_) => Fate::Keep,
            Entry::Literal(text) => {
                let parts = split_commas(text);
                if !parts.iter().any(|part| part == old) {
                    return Fate::Keep;
                }
                let parts: Vec<String> = parts
                    .into_iter()
                    .filter_map(|part| match (part == old, new) {
                        (true, Some(new)) => Some(new.to_owned()),
                        (true, None) => None,
                        (false, _) => Some(part),
                    })
                    .collect();
                if parts.is_empty() {
                    Fate::Drop
                } else {
                    Fate::Replace(parts.join(","))
                }
            }
        })
        .collect()
}

fn dedup(keys: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    keys.retain(|key| seen.insert(key.clone()));
}
