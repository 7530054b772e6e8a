//! The walk over a tree's leaves that encryption, decryption, the MAC and the audit share.
//!
//! [`walk_tree`] visits the leaves in document order exactly as sops' `walkBranch` /
//! `walkSlice` do, keeping the AAD (map keys joined by `:`, plus a trailing `:`, list indices
//! left out), the crypt-rule state and the comment stack up to date incrementally, and hands
//! each leaf to a visitor with its [`Context`].

use std::fmt::Write as _;

use crate::sops::rules::CompiledRule;
use crate::sops::value::{EncryptedValue, ValueType};
use crate::tree::{Item, Text, Tree, Value};

/// A place in the tree where a leaf lives.
pub(super) enum Slot<'t> {
    /// A leaf value, in a map or a list (list comments included).
    Value(&'t mut Value),
    /// A comment between the entries of a map.
    MapComment(&'t mut Text),
}

impl Slot<'_> {
    pub(super) fn is_comment(&self) -> bool {
        matches!(self, Self::MapComment(_) | Self::Value(Value::Comment(_)))
    }

    /// The type of a leaf that stands in clear where the crypt rule requires encryption, as
    /// sops' `Tree.Decrypt` judges it: only `ENC[...]` text or an empty string may stand there
    /// (`Cipher.Decrypt` returns `""` for an empty value and fails to parse anything else); a
    /// number, boolean or time there makes sops 3.11 panic. Comments are never refused: one
    /// that does not decrypt stays a plain comment, as in sops.
    pub(super) fn clear_type(&self) -> Option<ValueType> {
        let Self::Value(value) = self else {
            return None;
        };
        let found = match value {
            Value::Str(text)
                if text.is_empty() || EncryptedValue::is_encrypted(text.as_bytes()) =>
            {
                return None;
            }
            Value::Str(_) => ValueType::Str,
            Value::Bytes(bytes) if bytes.is_empty() => return None,
            Value::Bytes(_) => ValueType::Bytes,
            Value::Int(_) => ValueType::Int,
            Value::Float(_) => ValueType::Float,
            Value::Bool(_) => ValueType::Bool,
            Value::Time(_) => ValueType::Time,
            Value::Comment(_) | Value::Null | Value::Map(_) | Value::List(_) => return None,
        };
        Some(found)
    }

    /// The text of a string leaf or comment, if it is one.
    pub(super) fn text(&self) -> Option<&[u8]> {
        match self {
            Self::Value(Value::Str(t) | Value::Comment(t)) => Some(t.as_bytes()),
            Self::MapComment(t) => Some(t.as_bytes()),
            Self::Value(_) => None,
        }
    }
}

/// One step of a key path, for error messages.
pub(super) enum Segment<'t> {
    Key(&'t str),
    Index(usize),
}

/// What a visitor learns about a leaf.
pub(super) struct Context<'w, 't> {
    /// The AAD: `k1:k2:`, or `:` at the top level.
    pub(super) aad: &'w [u8],
    /// Whether the crypt rule says to encrypt it (always true without a rule).
    pub(super) encrypt: bool,
    /// Map keys and list indices from the root.
    pub(super) segments: &'w [Segment<'t>],
}

impl Context<'_, '_> {
    pub(super) fn key_path(&self) -> String {
        format_key_path(self.segments)
    }
}

fn format_key_path(segments: &[Segment<'_>]) -> String {
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Key(key) => write!(out, "[{key:?}]"),
            Segment::Index(index) => write!(out, "[{index}]"),
        }
        .expect("writing to a String cannot fail");
    }
    out
}

/// The walk state shared by encryption, decryption and the MAC.
struct Walker<'r, 't> {
    rule: Option<&'r CompiledRule>,
    /// `k1:k2:` for the current path.
    aad: Vec<u8>,
    segments: Vec<Segment<'t>>,
    /// For each key segment: whether it matched the rule.
    key_matches: Vec<bool>,
    matching_keys: usize,
    /// The comment stack (only kept when the rule reads comments), flattened.
    comments: Vec<Text>,
    /// Where each level's group starts in `comments`.
    groups: Vec<usize>,
}

impl<'r, 't> Walker<'r, 't> {
    fn new(rule: Option<&'r CompiledRule>) -> Self {
        Self {
            rule,
            aad: Vec::with_capacity(128),
            segments: Vec::with_capacity(16),
            key_matches: Vec::with_capacity(16),
            matching_keys: 0,
            comments: Vec::new(),
            groups: Vec::new(),
        }
    }

    fn keeps_comments(&self) -> bool {
        self.rule.is_some_and(CompiledRule::uses_comments)
    }

    fn visit<F: FnMut(Slot<'t>, &Context<'_, 't>)>(&self, slot: Slot<'t>, visit: &mut F) {
        let is_comment = slot.is_comment();
        let encrypt = match self.rule {
            None => true,
            Some(rule) if rule.uses_comments() => {
                let stack: Vec<&[u8]> = self.comments.iter().map(Text::as_bytes).collect();
                rule.decide(self.matching_keys, &stack, is_comment)
            }
            Some(rule) => rule.decide(self.matching_keys, &[], is_comment),
        };
        let aad: &[u8] = if self.aad.is_empty() { b":" } else { &self.aad };
        visit(
            slot,
            &Context {
                aad,
                encrypt,
                segments: &self.segments,
            },
        );
    }

    fn open_group(&mut self) {
        self.groups.push(self.comments.len());
    }

    fn clear_group(&mut self) {
        if let Some(&start) = self.groups.last() {
            self.comments.truncate(start);
        }
    }

    fn close_group(&mut self) {
        if let Some(start) = self.groups.pop() {
            self.comments.truncate(start);
        }
    }

    fn push_comment(&mut self, text: &Text) {
        if self.keeps_comments() {
            self.comments.push(text.clone());
        }
    }

    fn walk_branch<F: FnMut(Slot<'t>, &Context<'_, 't>)>(
        &mut self,
        branch: &'t mut [Item],
        visit: &mut F,
    ) {
        self.open_group();
        for item in branch.iter_mut() {
            match item {
                Item::Comment(text) => {
                    self.push_comment(text);
                    self.visit(Slot::MapComment(text), visit);
                }
                Item::Entry { key, value } => {
                    let key: &'t str = key;
                    let matched = self.rule.is_some_and(|rule| rule.key_matches(key));
                    let aad_len = self.aad.len();
                    self.aad.extend_from_slice(key.as_bytes());
                    self.aad.push(b':');
                    self.segments.push(Segment::Key(key));
                    self.key_matches.push(matched);
                    self.matching_keys += usize::from(matched);

                    self.walk_value(value, visit);

                    self.matching_keys -= usize::from(self.key_matches.pop().unwrap_or(false));
                    self.segments.pop();
                    self.aad.truncate(aad_len);
                    self.clear_group();
                }
            }
        }
        self.close_group();
    }

    fn walk_value<F: FnMut(Slot<'t>, &Context<'_, 't>)>(
        &mut self,
        value: &'t mut Value,
        visit: &mut F,
    ) {
        match value {
            Value::Null => {}
            Value::Map(branch) => self.walk_branch(branch, visit),
            Value::List(items) => {
                self.open_group();
                for (index, item) in items.iter_mut().enumerate() {
                    self.segments.push(Segment::Index(index));
                    if let Value::Comment(text) = &*item {
                        self.push_comment(text);
                        self.visit(Slot::Value(item), visit);
                    } else {
                        self.walk_value(item, visit);
                        self.clear_group();
                    }
                    self.segments.pop();
                }
                self.close_group();
            }
            leaf => self.visit(Slot::Value(leaf), visit),
        }
    }
}

/// Visits every leaf of `tree` in document order (sops' walk), null values excepted.
pub(super) fn walk_tree<'t, F: FnMut(Slot<'t>, &Context<'_, 't>)>(
    tree: &'t mut Tree,
    rule: Option<&CompiledRule>,
    mut visit: F,
) {
    for branch in &mut tree.branches {
        walk_root_items(branch, rule, &mut visit);
    }
}

/// Visits the leaves of root entries (a document's, or a run of them) as [`walk_tree`] does.
/// A run of a document's root entries is walked as the document would be when the rule does not
/// read comments: the walk carries nothing else from one root entry to the next.
pub(super) fn walk_root_items<'t, F: FnMut(Slot<'t>, &Context<'_, 't>)>(
    items: &'t mut [Item],
    rule: Option<&CompiledRule>,
    mut visit: F,
) {
    Walker::new(rule).walk_branch(items, &mut visit);
}

/// How many leaves [`walk_tree`] visits at most (map comments and every value that is not a
/// collection), to size what is collected on the walk.
pub(super) fn count_leaves(tree: &Tree) -> usize {
    tree.branches.iter().map(|branch| leaves_in(branch)).sum()
}

/// [`count_leaves`] of some root entries.
pub(super) fn leaves_in(items: &[Item]) -> usize {
    fn in_value(value: &Value) -> usize {
        match value {
            Value::Map(items) => leaves_in(items),
            Value::List(values) => values.iter().map(in_value).sum(),
            _ => 1,
        }
    }
    items
        .iter()
        .map(|item| match item {
            Item::Entry { value, .. } => in_value(value),
            Item::Comment(_) => 1,
        })
        .sum()
}

/// The key path of the `target`-th leaf (in walk order), for error messages.
pub(super) fn key_path_of(tree: &mut Tree, target: usize) -> String {
    let mut index = 0;
    let mut found = String::new();
    walk_tree(tree, None, |_, context| {
        if index == target {
            found = context.key_path();
        }
        index += 1;
    });
    found
}
