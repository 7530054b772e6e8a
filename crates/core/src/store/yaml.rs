//! The YAML store: sops 3.11's reading and writing of YAML, byte for byte.
//!
//! sops reads YAML with go-yaml v3's node API and writes it with go-yaml v3's encoder
//! (`go.yaml.in/yaml/v3` v3.0.4, `SetIndent(4)` unless `.sops.yaml` says otherwise). This module
//! reproduces both sides: [`parse()`] types scalars as go-yaml does and keeps comments as tree
//! items where sops' `stores/yaml/store.go` puts them; [`emit()`] writes the layout and quoting
//! go-yaml's emitter produces. `ENC[...]` values are ordinary strings and `#ENC[...]` lines
//! ordinary comments here; the `sops` metadata key is an ordinary map entry.
//!
//! Split in three: `parse` (events into a tree, with comments), `resolve` (scalar typing),
//! `emit` (output); the tests are in `tests`.

mod emit;
mod parse;
mod resolve;

use crate::store::StoreError;
use crate::tree::{Tree, Value};

/// Parses YAML (plaintext or sops-encrypted) into a tree, one branch per document.
///
/// `ENC[...]` values are just strings and `#ENC[...]` comments just comments. Fails with
/// [`StoreError::Empty`] when there is no document, [`StoreError::TopLevelNotMap`] for a
/// top-level list or scalar, [`StoreError::NonStringKey`], [`StoreError::DuplicateKey`],
/// [`StoreError::UnsupportedValue`] for an integer above `i64::MAX` that fits in a `u64`, and
/// [`StoreError::Syntax`] for invalid YAML.
///
/// ```
/// use aesec::store::yaml;
/// let tree = yaml::parse(b"# hi\nport: 5432\n")?;
/// assert_eq!(tree.branches.len(), 1);
/// assert_eq!(*yaml::emit(&tree, 4)?, b"# hi\nport: 5432\n");
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse(input: &[u8]) -> Result<Tree, StoreError> {
    parse::parse(input)
}

/// Parses YAML as go-yaml v3 decodes it into string fields: every scalar but a null is a
/// [`Value::Str`] of its own text (`1.10` stays `1.10`, where [`parse()`]
/// gives the float 1.1). The structure is [`parse()`]'s; `.sops.yaml` is read both ways.
pub(crate) fn parse_as_text(input: &[u8]) -> Result<Tree, StoreError> {
    parse::parse_as_text(input)
}

/// `input` read in pieces of at least `piece_bytes` (`None` where [`parse()`] reads it whole)
/// and read whole, for the fuzz target and tests that check the two agree.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn parse_both_ways(
    input: &[u8],
    piece_bytes: usize,
) -> (Option<Tree>, Result<Tree, StoreError>) {
    parse::both_ways(input, piece_bytes)
}

/// Emits a tree as sops 3.11 writes it (go-yaml v3 encoder with `SetIndent(indent)`); documents
/// are separated by `---`. An `indent` of 0 means sops' default, 4.
///
/// ```
/// use aesec::{Item, Tree, Value, store::yaml};
/// let tree = Tree::single(vec![Item::Entry {
///     key: "list".into(),
///     value: Value::List(vec![Value::Int(1), Value::Str("yes".into())]),
/// }]);
/// assert_eq!(*yaml::emit(&tree, 4)?, b"list:\n    - 1\n    - \"yes\"\n");
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn emit(tree: &Tree, indent: usize) -> Result<zeroize::Zeroizing<Vec<u8>>, StoreError> {
    Ok(emit::emit(tree, effective_indent(indent)))
}

/// Emits one value as `sops decrypt --extract` prints a non-string result (`yaml.Marshal`).
///
/// ```
/// use aesec::{Value, store::yaml};
/// assert_eq!(*yaml::emit_value(&Value::Int(5), 4)?, b"5\n");
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn emit_value(value: &Value, indent: usize) -> Result<zeroize::Zeroizing<Vec<u8>>, StoreError> {
    Ok(emit::emit_value(value, effective_indent(indent)))
}

/// sops treats an unset (0) indent as its default of 4.
fn effective_indent(indent: usize) -> usize {
    if indent == 0 { 4 } else { indent }
}

#[cfg(test)]
mod tests;
