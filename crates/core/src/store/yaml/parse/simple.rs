//! The fast reader: block maps and lists of one-line scalars and literal blocks, read line by
//! line without the scanner. That is the shape of most of a sops file: keys over `ENC[…]`
//! values, and the `sops` metadata (lists of maps, the age entries' armored text as `|`
//! blocks, a quoted `lastmodified`), and of the plaintext such files come from.
//!
//! Every line is blank, `KEY: VALUE`, `KEY:` (a map, a list or a null below it), `KEY: |`
//! followed by the block's lines, `- VALUE` or `- KEY: …` (a list item, a map's first entry).
//! Keys are plain scalars of letters, digits and `_-./`; values plain scalars of printable
//! ASCII, or quoted without escapes. It gives `None` at the first line outside that shape (a
//! comment, a flow collection, a tab, a continued scalar, a block scalar with indicators, blank
//! or more-indented lines, indentation the full reader would refuse, a key read twice or not
//! read as a string, nesting near [`MAX_DEPTH`]); the caller then reads the text with the full
//! reader. What it gives is what the full reader gives for the same text: both type scalars
//! with [`resolve_scalar`], and `chunks/tests.rs` compares them on every vector, the corpus and
//! generated documents (as the yaml fuzz target does).

use std::collections::HashSet;
use std::iter::Peekable;
use std::str::SplitInclusive;

use super::super::resolve::{Resolved, ScalarTag, plain_is_str, resolve_scalar};
use crate::store::MAX_DEPTH;
use crate::tree::{Branch, Item, Text, Value};

/// The longest key read here: saphyr refuses an implicit key over 1024 characters.
const MAX_KEY_BYTES: usize = 1000;

/// Up to this many keys, a map's keys are compared one by one; past it, they are hashed.
const SCANNED_KEYS: usize = 16;

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

/// A collection being read.
struct Open<'t> {
    /// Its column: of its keys, or of its items' `-`.
    indent: usize,
    /// The key it sits under in its parent map; `None` for the root and for a list item.
    key: Option<&'t str>,
    kind: Kind<'t>,
}

enum Kind<'t> {
    Map { items: Branch, keys: Keys<'t> },
    List { items: Vec<Value> },
}

impl<'t> Open<'t> {
    fn map(indent: usize, key: Option<&'t str>) -> Self {
        Self {
            indent,
            key,
            kind: Kind::Map {
                items: Vec::new(),
                keys: Keys::default(),
            },
        }
    }

    fn list(indent: usize, key: Option<&'t str>) -> Self {
        Self {
            indent,
            key,
            kind: Kind::List { items: Vec::new() },
        }
    }
}

/// The text's lines, each with its line break (the last one may have none).
type Lines<'t> = Peekable<SplitInclusive<'t, char>>;

/// The reading state: the open collections (the root map first) and a key whose value is on
/// the lines below (a map or a list) or nowhere (null), with its column.
struct Reader<'t> {
    open: Vec<Open<'t>>,
    pending: Option<(usize, &'t str)>,
}

/// The root map's entries, or `None` when the text is not entirely of the shape read here.
/// Keys of the root map are not checked for repeats: the caller checks them across pieces.
pub(super) fn parse(text: &str) -> Option<Branch> {
    let mut reader = Reader {
        open: vec![Open::map(0, None)],
        pending: None,
    };
    let mut lines: Lines<'_> = text.split_inclusive('\n').peekable();
    while let Some(raw) = lines.next() {
        let line = raw.strip_suffix('\n').unwrap_or(raw);
        let content = line.trim_start_matches(' ');
        if content.is_empty() {
            continue;
        }
        reader.line(line.len() - content.len(), content, &mut lines)?;
    }
    reader.finish()
}

impl<'t> Reader<'t> {
    /// Reads one line that is not blank: `content` in column `indent`.
    fn line(&mut self, indent: usize, content: &'t str, lines: &mut Lines<'t>) -> Option<()> {
        if let Some((column, key)) = self.pending.take() {
            if indent > column {
                let below = if content.starts_with("- ") {
                    Open::list(indent, Some(key))
                } else {
                    Open::map(indent, Some(key))
                };
                self.push(below)?;
            } else {
                self.map_items()?.push(entry(key, Value::Null));
            }
        }
        while self.open.last()?.indent > indent {
            self.close()?;
        }
        let top = self.open.last_mut()?;
        if top.indent != indent {
            return None;
        }
        let Kind::List { items } = &mut top.kind else {
            return self.entry(indent, content, lines);
        };
        let item = content.strip_prefix("- ")?;
        if item.starts_with(' ') {
            return None;
        }
        // Blanks after the item are not part of it, as after a map value.
        let item = item.trim_end_matches(' ');
        if split_entry(item).is_none() {
            items.push(scalar(item)?);
            return Some(());
        }
        // `- KEY: …`: a map whose keys stand two columns right of the `-`.
        self.push(Open::map(indent + 2, None))?;
        self.entry(indent + 2, item, lines)
    }

    /// Reads `KEY: …` into the map open in column `indent`.
    fn entry(&mut self, indent: usize, content: &'t str, lines: &mut Lines<'t>) -> Option<()> {
        let (key, value) = split_entry(content)?;
        let nested = self.open.len() > 1;
        let Some(Open {
            kind: Kind::Map { items, keys },
            ..
        }) = self.open.last_mut()
        else {
            return None;
        };
        if nested && !keys.insert(key) {
            return None;
        }
        let value = match value {
            "" => {
                self.pending = Some((indent, key));
                return Some(());
            }
            "|" => literal(indent, lines)?,
            text => scalar(text)?,
        };
        items.push(entry(key, value));
        Some(())
    }

    /// The entries of the innermost collection, a map.
    fn map_items(&mut self) -> Option<&mut Branch> {
        match &mut self.open.last_mut()?.kind {
            Kind::Map { items, .. } => Some(items),
            Kind::List { .. } => None,
        }
    }

    /// Opens a collection inside the innermost one.
    fn push(&mut self, open: Open<'t>) -> Option<()> {
        if self.open.len() + 2 >= MAX_DEPTH {
            return None;
        }
        self.open.push(open);
        Some(())
    }

    /// Ends the innermost collection: it becomes the value of its key, or an item of its list.
    fn close(&mut self) -> Option<()> {
        let open = self.open.pop()?;
        let value = match open.kind {
            Kind::Map { items, .. } => Value::Map(items),
            Kind::List { items } => Value::List(items),
        };
        match (&mut self.open.last_mut()?.kind, open.key) {
            (Kind::Map { items, .. }, Some(key)) => items.push(entry(key, value)),
            (Kind::List { items }, None) => items.push(value),
            _ => return None,
        }
        Some(())
    }

    /// The root map's entries once every line is read.
    fn finish(mut self) -> Option<Branch> {
        if let Some((_, key)) = self.pending.take() {
            self.map_items()?.push(entry(key, Value::Null));
        }
        while self.open.len() > 1 {
            self.close()?;
        }
        match self.open.pop()?.kind {
            Kind::Map { items, .. } if !items.is_empty() => Some(items),
            _ => None,
        }
    }
}

fn entry(key: &str, value: Value) -> Item {
    Item::Entry {
        key: key.to_owned(),
        value,
    }
}

/// The text of a literal block (`KEY: |`, clip chomping) under a key in column `column`: its
/// lines, all in one column right of the key, each ending in a line break, up to the first
/// line left of them. `None` for no line, a blank or more-indented line, a byte outside
/// printable ASCII, or a block that ends the text without a line break.
fn literal(column: usize, lines: &mut Lines<'_>) -> Option<Value> {
    let mut text = String::new();
    let mut block_indent = None;
    while let Some(&raw) = lines.peek() {
        let line = raw.strip_suffix('\n')?;
        let content = line.trim_start_matches(' ');
        let indent = line.len() - content.len();
        if content.is_empty() {
            return None;
        }
        let expected = *block_indent.get_or_insert(indent);
        if expected <= column || indent > expected {
            return None;
        }
        if indent < expected {
            break;
        }
        if !content.bytes().all(|c| (b' '..=b'~').contains(&c)) {
            return None;
        }
        text.push_str(content);
        text.push('\n');
        lines.next();
    }
    (!text.is_empty()).then(|| Value::Str(Text::from(text)))
}

/// A one-line value: quoted (as a string) or plain (typed).
fn scalar(text: &str) -> Option<Value> {
    match text.as_bytes().first()? {
        quote @ (b'"' | b'\'') => quoted(text, char::from(*quote)),
        _ => plain_value(text),
    }
}

/// A quoted scalar without escapes: printable ASCII between the quotes, none of them a quote
/// or a backslash, nothing after the closing one.
fn quoted(text: &str, quote: char) -> Option<Value> {
    let inner = text.strip_prefix(quote)?.strip_suffix(quote)?;
    let plain = inner
        .bytes()
        .all(|c| (b' '..=b'~').contains(&c) && char::from(c) != quote && c != b'\\');
    plain.then(|| Value::Str(Text::from(inner)))
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
