//! The JSON store: sops 3.11's `stores/json` reader and writer.
//!
//! Reading follows Go's `encoding/json` token stream as sops drives it: the top level must be an
//! object, keys keep their order and duplicates are kept, **every number becomes a
//! [`Value::Float`]** (sops 3.11 decodes JSON numbers as `float64`, so `12345678901234567890`
//! loses precision exactly as in Go), invalid UTF-8 and lone surrogates become U+FFFD, and
//! anything after the closing `}` of the top-level object is ignored (Go's decoder never reads
//! it). Writing reproduces `json.Marshal` per value followed by `json.Indent`: HTML-safe escaping
//! (`<`, `>`, `&`, U+2028, U+2029), Go's float layout (see `gofmt`), `{}`/`[]` for empty
//! containers, a tab per level by default, and a final newline. Comments do not exist in JSON and
//! are dropped on output.
//!
//! The reader is in `json/parse.rs`, the writer in `json/emit.rs`; this file holds the entry points.

use crate::store::StoreError;
use crate::tree::{Tree, Value};

mod emit;
mod parse;

use emit::Writer;
use parse::Parser;

/// The format name used in errors.
const FORMAT: &str = "json";

/// Parses a JSON document into a tree of one branch.
///
/// ```
/// use aesec::{Item, Value, store::json};
/// let tree = json::parse(br#"{"n": 42, "s": "x"}"#)?;
/// assert!(matches!(&tree.branches[0][0], Item::Entry { value: Value::Float(f), .. } if *f == 42.0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse(input: &[u8]) -> Result<Tree, StoreError> {
    Parser::document(input)
}

/// Writes the first branch of `tree` as sops writes a JSON file.
///
/// `indent`: `None` is a tab per level (sops' default `-1`), `Some(0)` newlines without
/// indentation, `Some(n)` `n` spaces. Integers print as integers, timestamps and strings as JSON
/// strings, raw bytes as base64 (what `json.Marshal` does with `[]byte`).
///
/// ```
/// use aesec::{Item, Tree, Value, store::json};
/// let tree = Tree::single(vec![Item::Entry { key: "a".into(), value: Value::Str("<b>".into()) }]);
/// assert_eq!(*json::emit(&tree, None)?, b"{\n\t\"a\": \"\\u003cb\\u003e\"\n}\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn emit(tree: &Tree, indent: Option<usize>) -> Result<zeroize::Zeroizing<Vec<u8>>, StoreError> {
    let branch = tree
        .branches
        .first()
        .ok_or(StoreError::Empty { format: FORMAT })?;
    let mut writer = Writer::new(indent);
    writer.map(branch, 0)?;
    writer.out.push(b'\n');
    Ok(writer.out.into_inner())
}

/// What `sops decrypt --extract` prints for a value in JSON output: a map is written like a
/// whole file (with the final newline), any other value as `json.Marshal` + `json.Indent` without
/// a final newline. A string comes out JSON-quoted here; sops prints extracted strings raw, which
/// the caller does without this function.
///
/// ```
/// use aesec::{Value, store::json};
/// let list = Value::List(vec![Value::Float(1.0), Value::Null]);
/// assert_eq!(*json::emit_value(&list, Some(2))?, b"[\n  1,\n  null\n]");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn emit_value(
    value: &Value,
    indent: Option<usize>,
) -> Result<zeroize::Zeroizing<Vec<u8>>, StoreError> {
    let mut writer = Writer::new(indent);
    writer.value(value, 0)?;
    if matches!(value, Value::Map(_)) {
        writer.out.push(b'\n');
    }
    Ok(writer.out.into_inner())
}

#[cfg(test)]
mod tests;
