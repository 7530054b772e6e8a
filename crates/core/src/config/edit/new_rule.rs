//! New creation rules: [`ConfigEditor::insert_rule`] places a rule so that no existing rule
//! shadows it, and writes it in the indentation the file's first rules use.

use super::render::render_flow;
use super::spans::{Kind, Node, line_rest};
use super::splice::Splice;
use super::verify::{RuleMeaning, dedup, load, meaning};
use super::{ConfigEditor, EditError};
use crate::config::KeyGroupSpec;

impl ConfigEditor {
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
                let block = format!(
                    "{}creation_rules:{eol}{lines}",
                    " ".repeat(self.root_column())
                );
                let splice = match &layout.root {
                    // After the root map's last entry: the text may go on past the document
                    // (`...`), where a key would start another one.
                    Some(Node {
                        kind:
                            Kind::Map {
                                flow: false,
                                entries,
                            },
                        end,
                        ..
                    }) if !entries.is_empty() => self.insert_line_after(*end, &block),
                    _ => {
                        let at = self.text.len();
                        let lead = if self.text.is_empty() || self.text.ends_with('\n') {
                            ""
                        } else {
                            eol
                        };
                        Splice {
                            start: at,
                            end: at,
                            text: format!("{lead}{block}{eol}"),
                        }
                    }
                };
                (0, splice)
            }
        };
        for alias in age_aliases {
            self.member_before(alias, splice.start)?;
        }
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

    pub(super) fn rule_style(&self) -> RuleStyle {
        let lines = &self.layout.lines;
        let column = |at: usize| at - lines.start_of(at);
        let dash_of = |node: &Node| {
            let start = lines.start_of(node.start);
            self.text
                .get(start..node.start)
                .and_then(|prefix| prefix.rfind('-'))
        };
        let mut style = RuleStyle {
            dash: self.root_column() + 2,
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
}

/// Indentation of a new rule, copied from the first rules.
pub(super) struct RuleStyle {
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
pub(super) fn literal_probe(regex: &regex::Regex) -> Option<String> {
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
