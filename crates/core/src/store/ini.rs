//! The INI store: sops 3.11's `stores/ini`, which reads and writes through `gopkg.in/ini.v1`
//! v1.67.0 with `AllowNonUniqueSections`.
//!
//! The tree holds one entry per section, in file order, whose value is a [`Value::Map`] of string
//! values. The keys before the first `[section]` header belong to a section named `DEFAULT`,
//! which always comes first and is written back without a header. The reader copies go-ini's
//! parser with sops' options: `=` or `:` separates key and value, surrounding `'…'`/`"…"` quotes
//! are stripped, `` `…` `` and `"""…"""` quote values verbatim (also across lines), a trailing
//! `\` continues a value on the next line, `#`/`;` start comments (also inline), a key repeated
//! within a section keeps its first position and its last value, and a repeated section header
//! starts a new section. Comments are attached as sops attaches them: the comment lines before a
//! `[section]` header (and an inline comment after it) become the first item of that section;
//! the comment lines before a key (and an inline comment after its value) become the item right
//! after that key; the leading `#`/`;` and spaces are stripped. Comments after the last key of a
//! file are lost, as in sops.
//!
//! The writer is go-ini's pretty format: `key = value` with `=` aligned within a section, comments
//! as `; text`, a blank line between sections, and go-ini's quoting of values and keys that would
//! not read back. Multi-line values in the `[sops]` metadata section are ordinary strings with
//! literal `\n` escapes, flattened by the metadata layer, so they pass through unchanged. The INI
//! input must be UTF-8.
//!
//! The reader (go-ini's line parser) is in `ini/parse.rs`; this file holds the entry points, the
//! sections and the writer.

use crate::secret::SecretBuf;
use crate::store::StoreError;
use crate::store::dotenv::value_to_string;
use crate::tree::{Branch, Item, Text, Tree, Value};

mod parse;

use parse::Parser;

/// The format name used in errors.
const FORMAT: &str = "ini";

/// The name of the section that holds the keys before the first header.
const DEFAULT_SECTION: &str = "DEFAULT";

/// Parses an INI file into a tree of one branch, one entry per section.
///
/// ```
/// use aesec::store::ini;
/// let tree = ini::parse(b"[db]\n; note\nuser = \"admin\"\n")?;
/// assert_eq!(*ini::emit(&tree)?, b"[db]\n; note\nuser = admin\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse(input: &[u8]) -> Result<Tree, StoreError> {
    let input = strip_bom(input);
    let text = std::str::from_utf8(input).map_err(|_| StoreError::NotUtf8 { format: FORMAT })?;
    let mut parser = Parser::new(text);
    let sections = parser.run()?;
    let branch = sections
        .into_iter()
        .map(|section| {
            let mut items = Branch::new();
            if !section.comment.is_empty() {
                items.push(Item::Comment(Text::from(strip_comment_char(
                    &section.comment,
                ))));
            }
            for key in section.keys {
                items.push(Item::Entry {
                    key: key.name,
                    value: Value::Str(Text::from(key.value)),
                });
                if !key.comment.is_empty() {
                    items.push(Item::Comment(Text::from(strip_comment_char(&key.comment))));
                }
            }
            Item::Entry {
                key: section.name,
                value: Value::Map(items),
            }
        })
        .collect();
    Ok(Tree::single(branch))
}

/// Writes the first branch of `tree` as sops writes an INI file.
///
/// Every top-level entry must be a map (a section) of scalars; anything else fails with
/// [`StoreError::NotFlat`], and an empty section or key name with
/// [`StoreError::UnsupportedValue`]. Non-string scalars are written with sops' `ValToString`.
///
/// ```
/// use aesec::{Item, Tree, Value, store::ini};
/// let section = vec![
///     Item::Entry { key: "a".into(), value: Value::Str("1".into()) },
///     Item::Entry { key: "long".into(), value: Value::Str("2".into()) },
/// ];
/// let tree = Tree::single(vec![Item::Entry { key: "s".into(), value: Value::Map(section) }]);
/// assert_eq!(*ini::emit(&tree)?, b"[s]\na    = 1\nlong = 2\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn emit(tree: &Tree) -> Result<zeroize::Zeroizing<Vec<u8>>, StoreError> {
    let branch = tree
        .branches
        .first()
        .ok_or(StoreError::Empty { format: FORMAT })?;
    let mut sections = Vec::new();
    for item in branch {
        let Item::Entry { key: name, value } = item else {
            continue;
        };
        let Value::Map(items) = value else {
            return Err(StoreError::NotFlat {
                format: FORMAT,
                path: format!("[{name:?}]"),
                supported: "sections of scalar values",
            });
        };
        if name.is_empty() {
            return Err(StoreError::UnsupportedValue {
                path: "[\"\"]".to_owned(),
                reason: "empty section name".to_owned(),
            });
        }
        sections.push(section_from_items(name, items)?);
    }
    let mut out = SecretBuf::new();
    let last = sections.len().saturating_sub(1);
    for (index, section) in sections.iter().enumerate() {
        write_comment(&mut out, &section.comment, CommentKind::Section);
        let is_default = section.name.eq_ignore_ascii_case(DEFAULT_SECTION);
        if index > 0 || !is_default {
            out.push(b'[');
            out.extend_from_slice(section.name.as_bytes());
            out.extend_from_slice(b"]\n");
        } else if section.keys.is_empty() {
            continue;
        }
        write_keys(&mut out, &section.keys);
        if index != last {
            out.push(b'\n');
        }
    }
    Ok(out.into_inner())
}

/// One section, as go-ini holds it.
struct Section {
    name: String,
    /// The raw comment (with its `#`/`;` on read, stripped on write).
    comment: String,
    keys: Vec<Key>,
}

/// One key of a section, as go-ini holds it.
struct Key {
    name: String,
    value: String,
    comment: String,
}

impl Section {
    fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            comment: String::new(),
            keys: Vec::new(),
        }
    }

    /// go-ini's `Section.NewKey`: a repeated name updates the value in place. Returns the index
    /// of the key.
    fn set(&mut self, name: String, value: String) -> usize {
        if let Some(index) = self.keys.iter().position(|key| key.name == name) {
            if let Some(key) = self.keys.get_mut(index) {
                key.value = value;
            }
            index
        } else {
            self.keys.push(Key {
                name,
                value,
                comment: String::new(),
            });
            self.keys.len() - 1
        }
    }
}

/// sops' `encodeTree` for one section: a leading comment is the section comment; any later
/// comment replaces the comment of the key before it (and is dropped when there is none).
fn section_from_items(name: &str, items: &[Item]) -> Result<Section, StoreError> {
    let mut section = Section::new(name);
    let mut rest = items;
    if let Some((Item::Comment(text), tail)) = items.split_first() {
        section.comment = text.to_string_lossy().into_owned();
        rest = tail;
    }
    let mut last = None;
    for item in rest {
        match item {
            Item::Comment(text) => {
                if let Some(key) = last.and_then(|index: usize| section.keys.get_mut(index)) {
                    key.comment = text.to_string_lossy().into_owned();
                }
            }
            Item::Entry { key, value } => {
                let path = || format!("[{name:?}][{key:?}]");
                if key.is_empty() {
                    return Err(StoreError::UnsupportedValue {
                        path: path(),
                        reason: "empty key name".to_owned(),
                    });
                }
                let text = match value {
                    Value::Map(_) | Value::List(_) => {
                        return Err(StoreError::NotFlat {
                            format: FORMAT,
                            path: path(),
                            supported: "sections of scalar values",
                        });
                    }
                    other => String::from_utf8_lossy(&value_to_string(other)).into_owned(),
                };
                last = Some(section.set(key.clone(), text));
            }
        }
    }
    Ok(section)
}

/// Which go-ini comment writer to copy: they differ in trimming.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CommentKind {
    Section,
    Key,
}

/// go-ini's multi-line comment output: each line gets a `; ` unless it already starts with a
/// comment character. (go-ini panics on an empty line inside a comment; aesec writes `; `.)
fn write_comment(out: &mut SecretBuf, comment: &str, kind: CommentKind) {
    if comment.is_empty() {
        return;
    }
    for line in comment.split('\n') {
        match line.as_bytes().first() {
            Some(b'#' | b';') => {
                out.extend_from_slice(line.get(..1).unwrap_or_default().as_bytes());
                out.push(b' ');
                out.extend_from_slice(go_trim_space(line.get(1..).unwrap_or_default()).as_bytes());
            }
            _ => {
                out.extend_from_slice(b"; ");
                let line = if kind == CommentKind::Key {
                    go_trim_space(line)
                } else {
                    line
                };
                out.extend_from_slice(line.as_bytes());
            }
        }
        out.push(b'\n');
    }
}

/// go-ini's key name quoting: `` ` `` around names holding `"`, `=` or `:`, `"""` around names
/// holding a backtick.
fn quote_key(name: &str) -> String {
    if name.contains(['"', '=', ':']) {
        format!("`{name}`")
    } else if name.contains('`') {
        format!("\"\"\"{name}\"\"\"")
    } else {
        name.to_owned()
    }
}

/// go-ini's value quoting, so that the value reads back unchanged where possible.
fn quote_value(value: &str) -> String {
    if value.contains(['\n', '`']) {
        format!("\"\"\"{value}\"\"\"")
    } else if value.contains(['#', ';']) {
        format!("`{value}`")
    } else if go_trim_space(value).len() != value.len() {
        format!("\"{value}\"")
    } else {
        value.to_owned()
    }
}

/// The keys of a section, `=` aligned on the longest (quoted) name.
fn write_keys(out: &mut SecretBuf, keys: &[Key]) {
    let names: Vec<String> = keys.iter().map(|key| quote_key(&key.name)).collect();
    let width = names.iter().map(String::len).max().unwrap_or(0);
    for (key, name) in keys.iter().zip(&names) {
        write_comment(out, &key.comment, CommentKind::Key);
        out.extend_from_slice(name.as_bytes());
        out.push_repeated(b' ', width - name.len());
        out.extend_from_slice(b" = ");
        out.extend_from_slice(quote_value(&key.value).as_bytes());
        out.push(b'\n');
    }
}

/// sops' `stripCommentChar`: drops the leading run of comment characters and spaces.
fn strip_comment_char(comment: &str) -> &str {
    if comment.starts_with(';') {
        comment.trim_start_matches([';', ' '])
    } else if comment.starts_with('#') {
        comment.trim_start_matches(['#', ' '])
    } else {
        comment
    }
}

/// Go's `strings.TrimSpace` (Unicode white space, the same set as Rust's).
fn go_trim_space(text: &str) -> &str {
    text.trim()
}

/// go-ini's `BOM`: drops a UTF-8 byte order mark, or the two bytes of a UTF-16 one.
fn strip_bom(input: &[u8]) -> &[u8] {
    if let Some(rest) = input.strip_prefix(b"\xef\xbb\xbf") {
        rest
    } else if input.starts_with(b"\xfe\xff") || input.starts_with(b"\xff\xfe") {
        input.get(2..).unwrap_or_default()
    } else {
        input
    }
}

#[cfg(test)]
mod tests;
