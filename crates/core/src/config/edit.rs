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
//! new text is read again with [`Config::from_yaml`](super::Config::from_yaml) and the rules' recipients are compared
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
//! **Refused** (by [`ConfigEditor::parse`], with the line): tabs in indentation, line breaks
//! other than `\n` and `\r\n`, explicit keys (`? `), several YAML documents, tags, anchors on
//! collections, a flow-style `keys: [...]`, flow-style rules or key groups, members that are
//! not `- &name recipient` on one line, and anchors defined twice.
//!
//! **Admins** are the members [`is_admin_name`] says are (anchor names starting
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

mod error;
mod layout;
mod new_rule;
mod render;
mod spans;
mod splice;
#[cfg(test)]
mod tests;
mod verify;

use saphyr_parser::ScalarStyle;

pub use error::EditError;
use layout::{AgeSite, Entry, Layout, entries, split_commas};
use render::{check_member_text, member_line, push_comment, render};
use spans::{Kind, Node, line_rest};
use splice::Splice;
use verify::{dedup, load, meaning};

use super::KeyGroupSpec;
use super::membership::{Member, is_admin_name};

/// A `.sops.yaml` being edited: the original text and the edits made so far.
#[derive(Clone, Debug)]
pub struct ConfigEditor {
    text: String,
    layout: Layout,
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
                        let prefix = self
                            .text
                            .get(layout.lines.start_of(last.start)..last.start)
                            .unwrap_or_default();
                        // The last item's `- ` and blanks; an empty item (`-`, `- # c`) gives
                        // its indentation only.
                        let prefix = match prefix.find('-') {
                            Some(dash)
                                if prefix.len() > dash + 1
                                    && prefix[dash + 1..].trim().is_empty() =>
                            {
                                prefix.to_owned()
                            }
                            Some(dash) => format!("{}- ", &prefix[..dash]),
                            None => "  - ".to_owned(),
                        };
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
                let block = |column: usize| {
                    let indent = " ".repeat(column + self.default_indent());
                    let line = member_line(&indent, name, recipient, comment);
                    format!("{}keys:{eol}{line}{eol}", " ".repeat(column))
                };
                match &layout.root {
                    Some(Node {
                        kind: Kind::Map { entries, .. },
                        ..
                    }) if !entries.is_empty() => {
                        // Before the first key, in its column (a root map may be indented),
                        // after a byte-order mark.
                        let first = entries.first().map_or(0, |(key, _)| key.start);
                        let column = self.root_column();
                        let at = first - column;
                        splices.push(Splice {
                            start: at,
                            end: at,
                            text: block(column),
                        });
                    }
                    _ => {
                        let block = block(self.root_column());
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
    /// Refused with [`EditError::AliasOutsideRules`] when the member is named outside the
    /// rules' `age:` fields (a `pgp:` list), which would take the new value unseen.
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
        // An alias elsewhere (a `pgp:` list) would take the new value unseen.
        self.check_aliases_in_rules(name)?;
        self.check_recipient_unshared(&site)?;
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
        self.check_recipient_unshared(&site)?;
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
        let rule = self.rule(rule_index)?.clone();
        let recipient = self.member_before(name, rule.node.start)?.recipient.clone();
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

    // ---- lookups ----

    /// The member `name`, when its anchor comes before byte `at`, where an alias of it goes.
    fn member_before(&self, name: &str, at: usize) -> Result<&layout::MemberSite, EditError> {
        let site = self.member(name)?;
        if site.node.start > at {
            return Err(EditError::AnchorAfterUse {
                name: name.to_owned(),
                line: self.layout.lines.line(site.node.start),
            });
        }
        Ok(site)
    }

    /// Refuses to remove or replace a member whose recipient another member holds too: the
    /// rules naming the other one keep the key, which the edit cannot tell from copies of it.
    fn check_recipient_unshared(&self, site: &layout::MemberSite) -> Result<(), EditError> {
        match self
            .layout
            .members
            .iter()
            .find(|other| other.name != site.name && other.recipient == site.recipient)
        {
            Some(other) => Err(EditError::SharedRecipient {
                name: site.name.clone(),
                other: other.name.clone(),
                line: self.layout.lines.line(other.node.start),
            }),
            None => Ok(()),
        }
    }

    /// The member `name`, one that holds a single recipient.
    fn member(&self, name: &str) -> Result<&layout::MemberSite, EditError> {
        let site = self
            .layout
            .members
            .iter()
            .find(|site| site.name == name)
            .ok_or_else(|| EditError::NoSuchMember {
                name: name.to_owned(),
            })?;
        if site.recipient.contains(',') {
            return Err(EditError::SeveralRecipients {
                name: name.to_owned(),
                line: self.layout.lines.line(site.node.start),
            });
        }
        Ok(site)
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
