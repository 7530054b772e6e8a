//! Text splicing: where a new line goes and how it is indented and commented, and the splices
//! that drop or replace the entries of an `age:` field (block list, flow list, comma string)
//! while every other byte stays as it was.

use super::layout::{AgeSite, Entry, entries, split_commas};
use super::render::{flow_parts, render_comma_string, render_flow};
use super::spans::{Kind, Node, line_rest};
use super::{ConfigEditor, EditError};

/// One splice: replace `start..end` with `text`.
pub(super) struct Splice {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) text: String,
}

impl ConfigEditor {
    /// The splice that adds `line` (without line ending) after the line holding `at`.
    pub(super) fn insert_line_after(&self, at: usize, line: &str) -> Splice {
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
    pub(super) fn colon_after(&self, key: &Node) -> usize {
        self.text
            .get(key.end..)
            .and_then(|rest| rest.find(':'))
            .map_or(key.end, |offset| key.end + offset + 1)
    }

    /// Where the lines of comments directly above `line_start` begin.
    pub(super) fn comment_block_start(&self, line_start: usize) -> usize {
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
    pub(super) fn comment_column(&self, node: &Node) -> Option<usize> {
        let start = self.layout.lines.start_of(node.start);
        let rest = line_rest(&self.text, &self.layout.lines, node.end);
        let hash = rest.find('#')?;
        let before = self.text.get(start..node.end + hash)?;
        Some(before.chars().count())
    }

    /// The fewest blanks between a member and its comment in the file (1 when none has one).
    pub(super) fn comment_gap(&self) -> usize {
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
    pub(super) fn child_indent(&self, key: &Node) -> usize {
        let column = key.start - self.layout.lines.start_of(key.start);
        column + self.default_indent().max(2)
    }

    /// The column of the root map's keys: 0 but in a config whose root map is indented (a
    /// byte-order mark before the first key takes none).
    pub(super) fn root_column(&self) -> usize {
        match &self.layout.root {
            Some(Node {
                kind: Kind::Map { entries, .. },
                ..
            }) => entries.first().map_or(0, |(key, _)| {
                let line_start = self.layout.lines.start_of(key.start);
                let prefix = self.text.get(line_start..key.start).unwrap_or_default();
                prefix.trim_start_matches('\u{feff}').len()
            }),
            _ => 0,
        }
    }

    /// How far the creation rules' `-` sits right of the root map's keys, or 2.
    pub(super) fn default_indent(&self) -> usize {
        let root_column = self.root_column();
        self.layout
            .rules
            .first()
            .map(|rule| {
                let start = self.layout.lines.start_of(rule.node.start);
                self.text
                    .get(start..rule.node.start)
                    .and_then(|prefix| prefix.find('-'))
                    .map_or(2, |dash| dash.saturating_sub(root_column))
            })
            .unwrap_or(2)
    }

    pub(super) fn check_aliases_in_rules(&self, name: &str) -> Result<(), EditError> {
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
    pub(super) fn check_shared(&self, list: &[Entry], recipient: &str) -> Result<(), EditError> {
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

    /// Refuses to change or drop an anchored entry that an alias elsewhere names: the alias
    /// would change with it, or name nothing.
    fn check_anchored(&self, current: &[(Entry, &Node)], fates: &[Fate]) -> Result<(), EditError> {
        for ((_, item), fate) in current.iter().zip(fates) {
            if let Kind::Scalar {
                anchor: Some(anchor),
                ..
            } = &item.kind
                && *fate != Fate::Keep
                && let Some((_, start)) =
                    self.layout.aliases.iter().find(|(name, _)| name == anchor)
            {
                return Err(EditError::SharedAnchor {
                    anchor: anchor.clone(),
                    line: self.layout.lines.line(*start),
                });
            }
        }
        Ok(())
    }

    pub(super) fn unsupported_field(&self, rule: usize, site: &AgeSite) -> EditError {
        EditError::UnsupportedAgeField {
            rule,
            line: self.layout.lines.line(site.key.start),
        }
    }

    /// Splices that drop `*alias` and replace literal `old` by `new` (or drop it) in every
    /// `age:` field of every rule.
    pub(super) fn rewrite_all(
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
    pub(super) fn rewrite_site(
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
        self.check_anchored(&current, &fates)?;
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

    pub(super) fn text_of(&self, node: &Node) -> &str {
        self.text.get(node.start..node.end).unwrap_or_default()
    }

    /// The separator of a flow list (`", "` unless it is written without blanks).
    pub(super) fn separator(&self, value: &Node) -> &'static str {
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
    pub(super) fn wrap_flow(&self, value: &Node, parts: &[String]) -> String {
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
    pub(super) fn append_entry(
        &self,
        site: &AgeSite,
        rule: usize,
        alias: &str,
    ) -> Result<Splice, EditError> {
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
                // An anchored scalar stays one entry under its anchor, so that its aliases in
                // other rules keep their value.
                (
                    Kind::Scalar {
                        anchor: Some(anchor),
                        ..
                    },
                    Entry::Literal(text),
                ) => format!("&{anchor} {}", render_flow(text, true)),
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
}

pub(super) fn collect_alias_starts(node: &Node, out: &mut Vec<usize>) {
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
pub(super) enum Fate {
    Keep,
    Drop,
    /// The literal becomes this comma string.
    Replace(String),
}

/// Drops `*alias` and replaces literal recipient `old` by `new` (or drops it) in `entries`.
pub(super) fn fates(
    entries: &[Entry],
    alias: Option<&str>,
    old: &str,
    new: Option<&str>,
) -> Vec<Fate> {
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
