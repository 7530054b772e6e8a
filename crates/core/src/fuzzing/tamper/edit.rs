//! The attacker's edits for the `tamper` target: the fuzz bytes read as a sequence of structural
//! edits of a parsed encrypted YAML file (see the list in `fuzzing/tamper.rs`), and the aliases
//! that are spliced into the emitted text afterwards.

use std::collections::HashSet;

use crate::{Branch, Item, Text, Tree, Value};

/// The unread part of the fuzz input; reads past its end give zeros.
pub(super) struct Input<'a>(pub(super) &'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        first
    }

    /// An index below `len` (which must not be 0).
    fn pick(&mut self, len: usize) -> usize {
        (usize::from(self.byte()) << 8 | usize::from(self.byte())) % len
    }

    /// A short string from the input (up to 7 bytes, lossily UTF-8).
    fn text(&mut self) -> String {
        let len = usize::from(self.byte() % 8).min(self.0.len());
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        String::from_utf8_lossy(head).into_owned()
    }
}

/// A place in the tree: indices of map items (in a map) or elements (in a list), from the first
/// document's top-level map down.
type Path = Vec<usize>;

/// Key suffixes and regexes an attacker would try against the crypt rules.
const NAMES: [&str; 10] = [
    "_unencrypted",
    "password",
    "token",
    "admin_token",
    "host_unencrypted",
    "^(password|tokens)$",
    ".*",
    "^$",
    "sops",
    "a:b",
];

/// Metadata fields an attacker would edit.
const METADATA_FIELDS: [&str; 11] = [
    "unencrypted_suffix",
    "encrypted_suffix",
    "unencrypted_regex",
    "encrypted_regex",
    "unencrypted_comment_regex",
    "encrypted_comment_regex",
    "mac_only_encrypted",
    "lastmodified",
    "mac",
    "version",
    "shamir_threshold",
];

/// The `type:` fields of `ENC[…]` values, and one that is not.
const TYPES: [&str; 8] = [
    "str", "int", "float", "bool", "bytes", "comment", "time", "x",
];

/// Applies one edit chosen by `input`.
pub(super) fn edit(
    tree: &mut Tree,
    input: &mut Input<'_>,
    known: &HashSet<Vec<u8>>,
    aliases: &mut Vec<Alias>,
) {
    let Some(root) = tree.branches.first_mut() else {
        return;
    };
    let paths = all_paths(root);
    if paths.is_empty() {
        return;
    }
    let op = input.byte() % 13;
    let path = paths
        .get(input.pick(paths.len()))
        .cloned()
        .unwrap_or_default();
    let other = paths
        .get(input.pick(paths.len()))
        .cloned()
        .unwrap_or_default();
    match op {
        0 => {
            let name = match input.byte() % 4 {
                0 => NAMES
                    .get(input.pick(NAMES.len()))
                    .copied()
                    .unwrap_or_default()
                    .to_owned(),
                1 => key_of(root, &other).unwrap_or_default(),
                2 => format!(
                    "{}{}",
                    key_of(root, &path).unwrap_or_default(),
                    "_unencrypted"
                ),
                _ => input.text(),
            };
            if let Some(Item::Entry { key, .. }) = item_mut(root, &path) {
                *key = name;
            }
        }
        1 => swap_values(root, &path, &other),
        2 => {
            if let Some(item) = item_mut(root, &path).map(|item| item.clone()) {
                insert_item(root, &other, item);
            }
        }
        3 => split_value(root, &path, input),
        4 => {
            let clear = match input.byte() % 6 {
                0 => {
                    let mut known: Vec<&Vec<u8>> = known.iter().collect();
                    known.sort();
                    let at = input.pick(known.len().max(1));
                    Value::Str(Text::new(
                        known.get(at).map(|b| b.to_vec()).unwrap_or_default(),
                    ))
                }
                1 => Value::Str(input.text().into()),
                2 => Value::Int(i64::from(input.byte())),
                3 => Value::Bool(input.byte().is_multiple_of(2)),
                4 => Value::Null,
                _ => Value::Str(Text::default()),
            };
            if let Some(value) = value_mut(root, &path) {
                *value = clear;
            }
        }
        5 => {
            let to = TYPES
                .get(input.pick(TYPES.len()))
                .copied()
                .unwrap_or_default();
            if let Some(Value::Str(text)) = value_mut(root, &path) {
                let changed = retype(&text.to_string_lossy(), to);
                *text = changed.into();
            }
        }
        6 => edit_metadata(root, input),
        7 => {
            if let Some(value) = value_mut(root, &path) {
                let inner = std::mem::replace(value, Value::Null);
                *value = if input.byte().is_multiple_of(2) {
                    Value::List(vec![inner])
                } else {
                    let key = NAMES
                        .get(input.pick(NAMES.len()))
                        .copied()
                        .unwrap_or_default();
                    Value::Map(vec![Item::Entry {
                        key: key.to_owned(),
                        value: inner,
                    }])
                };
            }
        }
        8 => {
            if let Some(value) = value_mut(root, &path) {
                let child = match value {
                    Value::Map(branch) => branch.iter().find_map(|item| match item {
                        Item::Entry { value, .. } => Some(value.clone()),
                        Item::Comment(_) => None,
                    }),
                    Value::List(values) => values.first().cloned(),
                    _ => None,
                };
                if let Some(child) = child {
                    *value = child;
                }
            }
        }
        9 => flatten_colon(root, &path),
        10 => {
            remove_item(root, &path);
        }
        11 => {
            let text = if input.byte().is_multiple_of(2) {
                input.text()
            } else {
                value_mut(root, &other)
                    .and_then(|value| match value {
                        Value::Str(text) => Some(text.to_string_lossy().into_owned()),
                        _ => None,
                    })
                    .unwrap_or_default()
            };
            insert_item(root, &path, Item::Comment(Text::from(text)));
        }
        _ => add_alias(root, &path, &other, aliases),
    }
}

/// Every path to a value (entry values and list elements, comments left out), in pre-order.
fn all_paths(root: &Branch) -> Vec<Path> {
    fn in_branch(branch: &[Item], prefix: &mut Path, out: &mut Vec<Path>) {
        for (index, item) in branch.iter().enumerate() {
            if let Item::Entry { value, .. } = item {
                prefix.push(index);
                out.push(prefix.clone());
                in_value(value, prefix, out);
                prefix.pop();
            }
        }
    }
    fn in_value(value: &Value, prefix: &mut Path, out: &mut Vec<Path>) {
        match value {
            Value::Map(branch) => in_branch(branch, prefix, out),
            Value::List(values) => {
                for (index, value) in values.iter().enumerate() {
                    prefix.push(index);
                    out.push(prefix.clone());
                    in_value(value, prefix, out);
                    prefix.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    in_branch(root, &mut Vec::new(), &mut out);
    out
}

/// The value at `path`.
fn value_mut<'t>(root: &'t mut Branch, path: &[usize]) -> Option<&'t mut Value> {
    let (first, rest) = path.split_first()?;
    let Item::Entry { value, .. } = root.get_mut(*first)? else {
        return None;
    };
    let mut value = value;
    for index in rest {
        value = match value {
            Value::Map(branch) => match branch.get_mut(*index)? {
                Item::Entry { value, .. } => value,
                Item::Comment(_) => return None,
            },
            Value::List(values) => values.get_mut(*index)?,
            _ => return None,
        };
    }
    Some(value)
}

/// The map holding the item at `path`, and the item's index in it (`None` in a list).
fn parent_map<'t>(root: &'t mut Branch, path: &[usize]) -> Option<(&'t mut Branch, usize)> {
    let (last, parent) = path.split_last()?;
    if parent.is_empty() {
        return Some((root, *last));
    }
    match value_mut(root, parent)? {
        Value::Map(branch) => Some((branch, *last)),
        _ => None,
    }
}

/// The map item at `path` (`None` for a list element).
fn item_mut<'t>(root: &'t mut Branch, path: &[usize]) -> Option<&'t mut Item> {
    let (branch, index) = parent_map(root, path)?;
    branch.get_mut(index)
}

/// The key of the map item at `path`.
fn key_of(root: &mut Branch, path: &[usize]) -> Option<String> {
    match item_mut(root, path)? {
        Item::Entry { key, .. } => Some(key.clone()),
        Item::Comment(_) => None,
    }
}

/// Inserts `item` before the map item at `path` (nothing when `path` is in a list).
fn insert_item(root: &mut Branch, path: &[usize], item: Item) {
    if let Some((branch, index)) = parent_map(root, path) {
        branch.insert(index.min(branch.len()), item);
    }
}

/// Removes the item or list element at `path`.
fn remove_item(root: &mut Branch, path: &[usize]) {
    let Some((last, parent)) = path.split_last() else {
        return;
    };
    if parent.is_empty() {
        if *last < root.len() {
            root.remove(*last);
        }
        return;
    }
    match value_mut(root, parent) {
        Some(Value::Map(branch)) if *last < branch.len() => {
            branch.remove(*last);
        }
        Some(Value::List(values)) if *last < values.len() => {
            values.remove(*last);
        }
        _ => {}
    }
}

/// Swaps the values at two paths, unless one holds the other.
fn swap_values(root: &mut Branch, left: &[usize], right: &[usize]) {
    if left.starts_with(right) || right.starts_with(left) {
        return;
    }
    let Some(taken) = value_mut(root, left).map(|value| std::mem::replace(value, Value::Null))
    else {
        return;
    };
    let Some(slot) = value_mut(root, right) else {
        if let Some(value) = value_mut(root, left) {
            *value = taken;
        }
        return;
    };
    let other = std::mem::replace(slot, taken);
    if let Some(value) = value_mut(root, left) {
        *value = other;
    }
}

/// Splits the string entry at `path` in two: `key: ab` becomes `key: a` and `key_<x>: b`.
fn split_value(root: &mut Branch, path: &[usize], input: &mut Input<'_>) {
    let Some((branch, index)) = parent_map(root, path) else {
        return;
    };
    let Some(Item::Entry {
        key,
        value: Value::Str(text),
    }) = branch.get_mut(index)
    else {
        return;
    };
    let bytes = text.as_bytes().to_vec();
    let at = input.pick(bytes.len() + 1);
    let (head, tail) = bytes.split_at(at);
    let second = Item::Entry {
        key: format!(
            "{key}{}",
            NAMES
                .get(input.pick(NAMES.len()))
                .copied()
                .unwrap_or_default()
        ),
        value: Value::Str(Text::new(tail.to_vec())),
    };
    *text = Text::new(head.to_vec());
    branch.insert(index + 1, second);
}

/// `text` with its `type:` field set to `to` (unchanged when it has none).
fn retype(text: &str, to: &str) -> String {
    match text.rfind(",type:") {
        Some(at) => format!("{},type:{to}]", text.get(..at).unwrap_or_default()),
        None => text.to_owned(),
    }
}

/// Replaces the map entry `a: {b: X, …}` at `path` by `"a:b": X` and `a: {…}` (the AAD of
/// both spellings is `a:b:`).
fn flatten_colon(root: &mut Branch, path: &[usize]) {
    let Some((branch, index)) = parent_map(root, path) else {
        return;
    };
    let Some(Item::Entry {
        key,
        value: Value::Map(inner),
    }) = branch.get_mut(index)
    else {
        return;
    };
    let Some(at) = inner
        .iter()
        .position(|item| matches!(item, Item::Entry { .. }))
    else {
        return;
    };
    let Item::Entry {
        key: inner_key,
        value,
    } = inner.remove(at)
    else {
        return;
    };
    let flat = Item::Entry {
        key: format!("{key}:{inner_key}"),
        value,
    };
    branch.insert(index, flat);
}

/// Sets, changes or removes one field of the `sops` metadata map.
fn edit_metadata(root: &mut Branch, input: &mut Input<'_>) {
    let Some(Item::Entry {
        value: Value::Map(metadata),
        ..
    }) = root
        .iter_mut()
        .find(|item| matches!(item, Item::Entry { key, .. } if key == "sops"))
    else {
        return;
    };
    let field = METADATA_FIELDS
        .get(input.pick(METADATA_FIELDS.len()))
        .copied()
        .unwrap_or_default();
    let value = match input.byte() % 6 {
        0 => None,
        1 => Some(Value::Bool(input.byte().is_multiple_of(2))),
        2 => Some(Value::Int(i64::from(input.byte() % 4))),
        3 => Some(Value::Str(input.text().into())),
        _ => Some(Value::Str(
            NAMES
                .get(input.pick(NAMES.len()))
                .copied()
                .unwrap_or_default()
                .into(),
        )),
    };
    let at = metadata
        .iter()
        .position(|item| matches!(item, Item::Entry { key, .. } if key == field));
    match (at, value) {
        (Some(at), None) => {
            metadata.remove(at);
        }
        (Some(at), Some(value)) => {
            if let Some(Item::Entry { value: slot, .. }) = metadata.get_mut(at) {
                *slot = value;
            }
        }
        (None, Some(value)) => metadata.push(Item::Entry {
            key: field.to_owned(),
            value,
        }),
        (None, None) => {}
    }
}

/// An anchor on one map entry's value, aliased at another place: both are marked in the tree
/// with unique strings and written in YAML after emission ([`with_aliases`]).
pub(super) struct Alias {
    /// The marker key standing for the anchored entry's key.
    anchor_marker: String,
    /// The anchored entry's real key.
    key: String,
    /// The marker value standing for the alias.
    alias_marker: String,
}

/// Anchors the value of the map entry at `source` and puts an alias to it at `target` (which
/// must not be inside it).
fn add_alias(root: &mut Branch, source: &[usize], target: &[usize], aliases: &mut Vec<Alias>) {
    if target.starts_with(source) {
        return;
    }
    let number = aliases.len();
    let anchor_marker = format!("zzanchor{number}zz");
    let alias_marker = format!("zzalias{number}zz");
    let Some(key) = key_of(root, source) else {
        return;
    };
    let Some(slot) = value_mut(root, target) else {
        return;
    };
    *slot = Value::Str(alias_marker.as_str().into());
    if let Some(Item::Entry { key, .. }) = item_mut(root, source) {
        *key = anchor_marker.clone();
    }
    aliases.push(Alias {
        anchor_marker,
        key,
        alias_marker,
    });
}

/// Writes the anchors and aliases marked by [`add_alias`] into the emitted YAML.
pub(super) fn with_aliases(emitted: Vec<u8>, aliases: &[Alias]) -> Vec<u8> {
    if aliases.is_empty() {
        return emitted;
    }
    let mut text = String::from_utf8_lossy(&emitted).into_owned();
    for (number, alias) in aliases.iter().enumerate() {
        let key: String = alias.key.escape_default().collect();
        text = text.replacen(
            &format!("{}:", alias.anchor_marker),
            &format!("\"{key}\": &a{number}"),
            1,
        );
        text = text.replace(&alias.alias_marker, &format!("*a{number}"));
    }
    text.into_bytes()
}
