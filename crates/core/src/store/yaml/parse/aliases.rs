//! Aliases, expanded as go-yaml expands them (a copy of the anchored value), within limits on
//! what the expansion may add (an alias bomb is an error, not an out-of-memory).

use saphyr_parser::Span;

use super::Builder;
use crate::store::{MAX_DEPTH, StoreError};
use crate::tree::{Item, Value};

/// Values produced by alias expansion before the input counts as an alias bomb.
const MAX_EXPANDED_NODES: usize = 1_000_000;
/// Bytes of text (keys, scalars, comments, plus one per node) that alias expansion may add
/// before the input counts as an alias bomb. Nodes alone are not enough: one 100 KB scalar
/// aliased 2,000 times is few nodes but 200 MB of tree, encrypted and written out again.
/// No real file aliases anywhere near 64 MiB.
const MAX_EXPANDED_BYTES: usize = 64 << 20;

/// An anchored value and its [`Size`], measured once when the anchor is defined.
pub(super) struct Anchored {
    value: Value,
    size: Size,
}

/// What a value costs when an alias copies it.
#[derive(Clone, Copy, Default)]
pub(super) struct Size {
    nodes: usize,
    bytes: usize,
    /// Levels of maps and lists (0 for a scalar).
    depth: usize,
}

impl Builder<'_, '_> {
    /// The value of the alias `*id` at `span`: a copy of the anchored value, counted against
    /// the expansion limits and [`MAX_DEPTH`].
    pub(super) fn expand_alias(&mut self, id: usize, span: &Span) -> Result<Value, StoreError> {
        let size = self
            .anchors
            .get(&id)
            .map(|anchored| anchored.size)
            .ok_or_else(|| self.syntax(span, "unknown anchor"))?;
        self.expanded.nodes = self.expanded.nodes.saturating_add(size.nodes);
        self.expanded.bytes = self.expanded.bytes.saturating_add(size.bytes);
        if self.expanded.nodes > MAX_EXPANDED_NODES {
            return Err(self.syntax(span, "document contains excessive aliasing"));
        }
        if self.expanded.bytes > MAX_EXPANDED_BYTES {
            return Err(StoreError::AliasExpansion {
                alias: self.source(span),
                line: span.start.line(),
                limit: MAX_EXPANDED_BYTES,
            });
        }
        // The alias's value starts one level below the open collections.
        if self.frames.len().saturating_sub(1) + size.depth > MAX_DEPTH {
            return Err(self.too_deep(span));
        }
        let value = self
            .anchors
            .get(&id)
            .map(|anchored| anchored.value.clone())
            .ok_or_else(|| self.syntax(span, "unknown anchor"))?;
        Ok(value)
    }

    /// Records an anchor's value with its size.
    pub(super) fn anchor(&mut self, id: usize, value: &Value) {
        let size = size_of(value);
        self.anchors.insert(
            id,
            Anchored {
                value: value.clone(),
                size,
            },
        );
    }
}

/// The nodes, text bytes and depth of `value`, walked without recursion.
fn size_of(value: &Value) -> Size {
    let mut size = Size::default();
    let mut pending = vec![(value, 0usize)];
    while let Some((value, depth)) = pending.pop() {
        size.nodes += 1;
        size.bytes += 1;
        match value {
            Value::Map(items) => {
                size.depth = size.depth.max(depth + 1);
                for item in items {
                    match item {
                        Item::Entry { key, value } => {
                            size.bytes += key.len();
                            pending.push((value, depth + 1));
                        }
                        Item::Comment(text) => {
                            size.nodes += 1;
                            size.bytes += 1 + text.len();
                        }
                    }
                }
            }
            Value::List(values) => {
                size.depth = size.depth.max(depth + 1);
                pending.extend(values.iter().map(|value| (value, depth + 1)));
            }
            Value::Str(text) | Value::Bytes(text) | Value::Comment(text) => {
                size.bytes += text.len();
            }
            Value::Time(text) => size.bytes += text.len(),
            Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) => {}
        }
    }
    size
}
