//! The fast reader: a document of block maps whose every line is blank, `KEY: VALUE` or `KEY:`
//! (a map or a null below it), keys and values plain one-line scalars of printable ASCII, read
//! line by line without the scanner. That is the shape of most of a large sops file (keys over
//! `ENC[…]` values) and of the plaintext it comes from.
//!
//! It gives `None` at the first line outside that shape (a comment, a list, a quote, a flow
//! collection, a tab, a continued scalar, indentation the full reader would refuse, a key read
//! twice or not read as a string, nesting near [`MAX_DEPTH`]); the caller then reads the text
//! with the full reader. What it gives is what the full reader gives for the same text: both
//! type scalars with [`resolve_scalar`], and `tests.rs` compares them on every vector, the
//! corpus and generated documents.

use std::collections::HashSet;

use super::super::resolve::{Resolved, ScalarTag, plain_is_str, resolve_scalar};
use crate::store::MAX_DEPTH;
use crate::tree::{Branch, Item, Value};

/// The longest key read here: saphyr refuses an implicit key over 1024 characters.
const MAX_KEY_BYTES: usize = 1000;

/// Up to this many keys, a map's keys are compared one by one; past it, they are hashed.
const SCANNED_KEYS: usize = 16;

/// A map being read: its column, its entries, its keys so far, and the key it sits under in
/// its parent (empty for the root).
struct OpenMap<'t> {
    indent: usize,
    items: Branch,
    keys: Keys<'t>,
    key: &'t str,
}

impl<'t> OpenMap<'t> {
    fn new(indent: usize, key: &'t str) -> Self {
        Self {
            indent,
            items: Vec::new(),
            keys: Keys::default(),
            key,
        }
    }
}

/// The keys of one map so far, to refuse a key read twice: a short list, then a hash set.
#[derive(Default)]
struct Keys<'t> {
    few: Vec<&'t str>,
    many: HashSet<&'t str>,
}

impl<'t> Keys<'t> {
    /// Adds `key`; false when it was there already.
    fn insert(&mut self, key: &'t str) -> bool {
        if self.many.is_empty() {
            if self.few.contains(&key) {
                return false;
            }
            if self.few.len() < SCANNED_KEYS {
                self.few.push(key);
                return true;
            }
            self.many.extend(self.few.drain(..));
        }
        self.many.insert(key)
    }
}

/// The root map's entries, or `None` when the text is not entirely of the shape read here.
/// Keys of the root map are not checked for repeats: the caller checks them across pieces.
pub(super) fn parse(text: &str) -> Option<Branch> {
    let mut open = vec![OpenMap::new(0, "")];
    // A key whose value is on the lines below (a map) or nowhere (null), and its column.
    let mut pending: Option<(usize, &str)> = None;
    for line in text.split('\n') {
        let content = line.trim_start_matches(' ');
        if content.is_empty() {
            continue;
        }
        let indent = line.len() - content.len();
        if let Some((column, key)) = pending.take() {
            if indent > column {
                if open.len() + 2 >= MAX_DEPTH {
                    return None;
                }
                open.push(OpenMap::new(indent, key));
            } else {
                open.last_mut()?.items.push(entry(key, Value::Null));
            }
        }
        while open.last()?.indent > indent {
            close(&mut open)?;
        }
        let nested = open.len() > 1;
        let map = open.last_mut()?;
        if map.indent != indent {
            return None;
        }
        let (key, value) = split_entry(content)?;
        if nested && !map.keys.insert(key) {
            return None;
        }
        if value.is_empty() {
            pending = Some((indent, key));
        } else {
            map.items.push(entry(key, plain_value(value)?));
        }
    }
    if let Some((_, key)) = pending {
        open.last_mut()?.items.push(entry(key, Value::Null));
    }
    while open.len() > 1 {
        close(&mut open)?;
    }
    let root = open.pop()?;
    (!root.items.is_empty()).then_some(root.items)
}

/// Ends the innermost map: it becomes the value of its key in its parent.
fn close(open: &mut Vec<OpenMap<'_>>) -> Option<()> {
    let map = open.pop()?;
    open.last_mut()?
        .items
        .push(entry(map.key, Value::Map(map.items)));
    Some(())
}

fn entry(key: &str, value: Value) -> Item {
    Item::Entry {
        key: key.to_owned(),
        value,
    }
}

/// A line's key and the (trimmed) text after its `: `, empty for `KEY:`; `None` unless the key
/// is a plain scalar of letters, digits and `_-./` that reads as a string.
fn split_entry(content: &str) -> Option<(&str, &str)> {
    let bytes = content.as_bytes();
    if !bytes
        .first()
        .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_')
    {
        return None;
    }
    let end = bytes
        .iter()
        .position(|&c| !(c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'/')))?;
    if bytes[end] != b':' || end > MAX_KEY_BYTES {
        return None;
    }
    let rest = &content[end + 1..];
    if !(rest.is_empty() || rest.starts_with(' ')) {
        return None;
    }
    let key = &content[..end];
    plain_is_str(key).then_some((key, rest.trim_matches(' ')))
}

/// A one-line plain value as the full reader types it; `None` for text that is not surely one
/// plain scalar: an indicator first, a byte outside printable ASCII and space, a `#`, a `: ` or
/// a final `:`, or an integer only a `u64` holds (an error the full reader reports).
fn plain_value(text: &str) -> Option<Value> {
    let bytes = text.as_bytes();
    let first = *bytes.first()?;
    if !(first.is_ascii_alphanumeric() || b"_./+=~$^();".contains(&first)) {
        return None;
    }
    // One pass the compiler can vectorize (no early exit), then the few `:` looked at.
    let printable = bytes
        .iter()
        .fold(true, |ok, &c| ok & (b' '..=b'~').contains(&c) & (c != b'#'));
    let colon_ends_key = text
        .match_indices(':')
        .any(|(at, _)| matches!(bytes.get(at + 1), None | Some(b' ')));
    if !printable || colon_ends_key {
        return None;
    }
    match resolve_scalar(text, false, ScalarTag::None) {
        Resolved::Value(value) => Some(value),
        Resolved::Uint64 => None,
    }
}
