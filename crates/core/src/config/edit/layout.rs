//! Where things are in a `.sops.yaml`: a span tree of the document and the sites the editor
//! changes (`keys:` members, creation rules, key groups, `age:` fields).
//!
//! The tree comes from [`spans`](super::spans), where every node knows the exact bytes it came
//! from. Nothing here rewrites
//! text; [`super`] splices the original bytes at these offsets. Constructs that the editor
//! cannot change safely are refused here, once, with the line they are on.

use std::collections::HashMap;

use saphyr_parser::ScalarStyle;

use super::EditError;
use super::spans::{Builder, Kind, Lines, Node, line_rest};

/// A `keys:` entry that is a member: `- &name recipient # comment`.
#[derive(Clone, Debug)]
pub(super) struct MemberSite {
    pub(super) name: String,
    pub(super) recipient: String,
    pub(super) comment: Option<String>,
    pub(super) style: ScalarStyle,
    pub(super) node: Node,
}

/// An `age:` field of a rule, key group or merged group.
#[derive(Clone, Debug)]
pub(super) struct AgeSite {
    pub(super) key: Node,
    pub(super) value: Node,
}

/// One key group of a rule (`key_groups[i]`).
#[derive(Clone, Debug)]
pub(super) struct GroupSite {
    pub(super) node: Node,
    pub(super) age: Option<AgeSite>,
    /// `age:` fields of groups under `merge:`, recursively.
    pub(super) merged: Vec<AgeSite>,
}

/// One creation rule.
#[derive(Clone, Debug)]
pub(super) struct RuleSite {
    pub(super) node: Node,
    /// The flat `age:` field (used when there are no key groups).
    pub(super) flat: Option<AgeSite>,
    /// The key groups, when `key_groups` is a non-empty list (sops then ignores flat fields).
    pub(super) groups: Option<Vec<GroupSite>>,
}

impl RuleSite {
    /// Every `age:` field that counts for the rule.
    pub(super) fn age_sites(&self) -> Vec<&AgeSite> {
        match &self.groups {
            Some(groups) => groups
                .iter()
                .flat_map(|group| group.age.iter().chain(group.merged.iter()))
                .collect(),
            None => self.flat.iter().collect(),
        }
    }
}

/// The document as the editor sees it.
#[derive(Clone, Debug)]
pub(super) struct Layout {
    pub(super) lines: Lines,
    /// `"\r\n"` when the file uses CRLF line endings, `"\n"` otherwise.
    pub(super) eol: &'static str,
    /// The root mapping, if the document has content.
    pub(super) root: Option<Node>,
    /// The `keys:` entry (key node, value node).
    pub(super) keys: Option<(Node, Node)>,
    pub(super) members: Vec<MemberSite>,
    /// The `creation_rules:` entry (key node, value node).
    pub(super) rules_field: Option<(Node, Node)>,
    pub(super) rules: Vec<RuleSite>,
    /// Every alias in the document: name and start byte.
    pub(super) aliases: Vec<(String, usize)>,
    /// Every anchored scalar: name → value.
    pub(super) anchors: HashMap<String, String>,
}

impl Layout {
    /// Reads `text`, refusing what cannot be edited safely.
    pub(super) fn new(text: &str) -> Result<Self, EditError> {
        let tab_indented = |line: &str| {
            line.bytes()
                .take_while(|&c| matches!(c, b' ' | b'\t'))
                .any(|c| c == b'\t')
        };
        if let Some(index) = text.split('\n').position(tab_indented) {
            return Err(EditError::TabIndentation { line: index + 1 });
        }
        let explicit_key = |line: &str| {
            let content = line.trim_start_matches(' ').trim_start_matches("- ");
            content == "?" || content.starts_with("? ") || content.starts_with("?\r")
        };
        if let Some(index) = text.split('\n').position(explicit_key) {
            return Err(EditError::ExplicitKey { line: index + 1 });
        }
        let unusual_break = text.char_indices().find(|&(at, c)| match c {
            '\r' => !text[at + 1..].starts_with('\n'),
            '\u{85}' | '\u{2028}' | '\u{2029}' => true,
            _ => false,
        });
        if let Some((at, _)) = unusual_break {
            let line = text[..at].matches('\n').count() + 1;
            return Err(EditError::LineBreak { line });
        }
        let lines = Lines::new(text);
        let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let (root, aliases, anchors) = {
            let mut builder = Builder::new(text, &lines)?;
            let root = builder.document()?;
            (root, builder.aliases, builder.anchors)
        };
        let mut layout = Self {
            lines,
            eol,
            root: None,
            keys: None,
            members: Vec::new(),
            rules_field: None,
            rules: Vec::new(),
            aliases,
            anchors,
        };
        let Some(root) = root else {
            return Ok(layout);
        };
        match &root.kind {
            Kind::Map { flow: false, .. } => {}
            Kind::Map { flow: true, .. } => {
                return Err(EditError::FlowMapping {
                    what: "top-level mapping",
                    line: layout.lines.line(root.start),
                });
            }
            Kind::Scalar { .. } if root.is_empty_scalar() => return Ok(layout),
            _ => {
                return Err(EditError::FieldType {
                    field: "the top level".to_owned(),
                    line: layout.lines.line(root.start),
                    expected: "a mapping",
                });
            }
        }
        if let Some((key, value)) = root.get("keys") {
            layout.members = layout.read_members(text, value)?;
            layout.keys = Some((key.clone(), value.clone()));
        }
        if let Some((key, value)) = root.get("creation_rules") {
            layout.rules = layout.read_rules(value)?;
            layout.rules_field = Some((key.clone(), value.clone()));
        }
        layout.root = Some(root);
        Ok(layout)
    }

    fn read_members(&self, text: &str, value: &Node) -> Result<Vec<MemberSite>, EditError> {
        let line = self.lines.line(value.start);
        let items = match &value.kind {
            Kind::Seq { flow: false, items } => items,
            Kind::Seq { flow: true, items } if items.is_empty() => return Ok(Vec::new()),
            Kind::Seq { flow: true, .. } => return Err(EditError::FlowKeys { line }),
            Kind::Scalar { .. } if value.is_empty_scalar() => return Ok(Vec::new()),
            _ => {
                return Err(EditError::FieldType {
                    field: "keys".to_owned(),
                    line,
                    expected: "a list",
                });
            }
        };
        let mut members = Vec::new();
        for item in items {
            let line = self.lines.line(item.start);
            let Kind::Scalar {
                value,
                style,
                anchor,
            } = &item.kind
            else {
                return Err(EditError::UnsupportedMember { line });
            };
            let Some(name) = anchor else {
                // A key without an anchor cannot be named by a rule; it is not a member.
                continue;
            };
            if self.lines.line(item.end) != line
                || matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
            {
                return Err(EditError::UnsupportedMember { line });
            }
            let before = text
                .get(self.lines.start_of(item.start)..item.start)
                .unwrap_or_default();
            if before.trim() != "-" {
                return Err(EditError::UnsupportedMember { line });
            }
            let rest = line_rest(text, &self.lines, item.end).trim();
            let comment = match rest.strip_prefix('#') {
                Some(comment) => Some(comment.trim().to_owned()),
                None if rest.is_empty() => None,
                None => return Err(EditError::UnsupportedMember { line }),
            };
            members.push(MemberSite {
                name: name.clone(),
                recipient: value.clone(),
                comment,
                style: *style,
                node: item.clone(),
            });
        }
        Ok(members)
    }

    fn read_rules(&self, value: &Node) -> Result<Vec<RuleSite>, EditError> {
        let items = match &value.kind {
            Kind::Seq { flow, items } if !flow || items.is_empty() => items,
            Kind::Seq { .. } => {
                return Err(EditError::FlowMapping {
                    what: "creation_rules list",
                    line: self.lines.line(value.start),
                });
            }
            Kind::Scalar { .. } if value.is_empty_scalar() => return Ok(Vec::new()),
            _ => {
                return Err(EditError::FieldType {
                    field: "creation_rules".to_owned(),
                    line: self.lines.line(value.start),
                    expected: "a list",
                });
            }
        };
        let mut rules = Vec::new();
        for (index, rule) in items.iter().enumerate() {
            self.block_map(rule, "creation rule", &format!("creation_rules[{index}]"))?;
            let flat = rule.get("age").map(|(key, value)| AgeSite {
                key: key.clone(),
                value: value.clone(),
            });
            let groups = match rule.get("key_groups") {
                Some((
                    _,
                    Node {
                        kind: Kind::Seq { flow, items },
                        start,
                        ..
                    },
                )) if !items.is_empty() => {
                    if *flow {
                        return Err(EditError::FlowMapping {
                            what: "key_groups list",
                            line: self.lines.line(*start),
                        });
                    }
                    let mut groups = Vec::new();
                    for (group_index, group) in items.iter().enumerate() {
                        let field = format!("creation_rules[{index}].key_groups[{group_index}]");
                        groups.push(self.read_group(group, &field)?);
                    }
                    Some(groups)
                }
                _ => None,
            };
            rules.push(RuleSite {
                node: rule.clone(),
                flat,
                groups,
            });
        }
        Ok(rules)
    }

    fn read_group(&self, group: &Node, field: &str) -> Result<GroupSite, EditError> {
        self.block_map(group, "key group", field)?;
        let age = group.get("age").map(|(key, value)| AgeSite {
            key: key.clone(),
            value: value.clone(),
        });
        let mut merged = Vec::new();
        if let Some((
            _,
            Node {
                kind: Kind::Seq { items, .. },
                ..
            },
        )) = group.get("merge")
        {
            for (i, inner) in items.iter().enumerate() {
                let inner = self.read_group(inner, &format!("{field}.merge[{i}]"))?;
                merged.extend(inner.age);
                merged.extend(inner.merged);
            }
        }
        Ok(GroupSite {
            node: group.clone(),
            age,
            merged,
        })
    }

    /// Checks that `node` is a block mapping.
    fn block_map(&self, node: &Node, what: &'static str, field: &str) -> Result<(), EditError> {
        let line = self.lines.line(node.start);
        match &node.kind {
            Kind::Map { flow: false, .. } => Ok(()),
            Kind::Map { flow: true, .. } => Err(EditError::FlowMapping { what, line }),
            _ => Err(EditError::FieldType {
                field: field.to_owned(),
                line,
                expected: "a mapping",
            }),
        }
    }
}

/// A recipient entry of an `age:` field.
#[derive(Clone, Debug)]
pub(super) enum Entry {
    /// `*name`.
    Alias(String),
    /// A literal string, which may hold several comma-separated recipients.
    Literal(String),
}

/// The entries of an `age:` value, or `None` when it is a block scalar or a collection of
/// something else.
pub(super) fn entries(value: &Node) -> Option<Vec<(Entry, &Node)>> {
    match &value.kind {
        Kind::Scalar { .. } if value.is_empty_scalar() => Some(Vec::new()),
        Kind::Scalar {
            style: ScalarStyle::Literal | ScalarStyle::Folded,
            ..
        } => None,
        Kind::Scalar { value: text, .. } => Some(vec![(Entry::Literal(text.clone()), value)]),
        Kind::Alias(name) => Some(vec![(Entry::Alias(name.clone()), value)]),
        Kind::Seq { items, .. } => items
            .iter()
            .map(|item| match &item.kind {
                Kind::Alias(name) => Some((Entry::Alias(name.clone()), item)),
                Kind::Scalar {
                    style: ScalarStyle::Literal | ScalarStyle::Folded,
                    ..
                } => None,
                Kind::Scalar { value, .. } => Some((Entry::Literal(value.clone()), item)),
                _ => None,
            })
            .collect(),
        Kind::Map { .. } => None,
    }
}

pub(super) use crate::config::fields::split_commas;
