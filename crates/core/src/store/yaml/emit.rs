//! YAML writing for the sops store: the output of go-yaml v3 (`go.yaml.in/yaml/v3` v3.0.4) as
//! sops 3.11 drives it.
//!
//! sops builds a `yaml.Node` tree and encodes it with `SetIndent(n)` and no line wrapping. This
//! module writes the same bytes directly: block maps and lists (a nested collection indents to
//! the next multiple of `n`, an item of a list to its `- ` plus 2), `{}`/`[]` for empty ones,
//! comments as `#text` lines at the indentation of their container, and each scalar in the style
//! libyaml's `yaml_emitter_analyze_scalar` and go-yaml's `stringv` pick (plain, single quoted,
//! double quoted with escapes, or a literal block: [`scalar`]).

mod scalar;

use rayon::prelude::*;
use zeroize::Zeroizing;

use self::scalar::Analysis;
use crate::secret::SecretBuf;
use crate::tree::{Branch, Item, Text, Tree, Value};

/// Longest key (in bytes) written as a simple `key:`; longer ones use `? key` (libyaml).
const MAX_SIMPLE_KEY_BYTES: usize = 128;

/// Root entries per part when a large document's root map is written in parallel.
const ROOT_ITEMS_PER_PART: usize = 1024;

/// Writes every document; documents are separated by `---`.
pub(super) fn emit(tree: &Tree, indent: usize) -> Zeroizing<Vec<u8>> {
    let indent = indent.max(1);
    if tree.branches.iter().any(is_large) {
        return emit_in_pieces(tree, indent);
    }
    let size = tree
        .branches
        .iter()
        .map(|branch| estimated_len(branch, 0, indent) + 4)
        .sum();
    let mut out = Emitter {
        out: SecretBuf::with_capacity(size),
        indent,
    };
    for (index, branch) in tree.branches.iter().enumerate() {
        if index > 0 {
            out.out.push_str(DOCUMENT_SEPARATOR);
        }
        out.document(branch);
    }
    out.out.into_inner()
}

/// `---`, between two documents.
const DOCUMENT_SEPARATOR: &str = "---\n";

/// Whether a root map is large enough to be written in parallel parts.
fn is_large(branch: &Branch) -> bool {
    branch.len() > 2 * ROOT_ITEMS_PER_PART
}

/// [`emit`] for a tree with a large root map. Each item of a root map is written the same way
/// whatever precedes it (in column 0, on a fresh line), so a large one is written in parts of
/// [`ROOT_ITEMS_PER_PART`] items in parallel; the pieces (parts, other documents, separators)
/// are then joined in parallel ([`SecretBuf::concat`]).
fn emit_in_pieces(tree: &Tree, indent: usize) -> Zeroizing<Vec<u8>> {
    let mut pieces = Vec::new();
    for (index, branch) in tree.branches.iter().enumerate() {
        if index > 0 {
            let mut separator = SecretBuf::new();
            separator.push_str(DOCUMENT_SEPARATOR);
            pieces.push(separator);
        }
        if is_large(branch) {
            pieces.par_extend(branch.par_chunks(ROOT_ITEMS_PER_PART).map(|part| {
                let mut emitter = Emitter {
                    out: SecretBuf::with_capacity(estimated_len(part, 0, indent)),
                    indent,
                };
                emitter.map_items(part, 0, false);
                emitter.out
            }));
        } else {
            let mut emitter = Emitter {
                out: SecretBuf::with_capacity(estimated_len(branch, 0, indent) + 4),
                indent,
            };
            emitter.document(branch);
            pieces.push(emitter.out);
        }
    }
    SecretBuf::concat(pieces).into_inner()
}

/// Writes one value as `yaml.Marshal` does (a scalar on one line, collections in block style).
pub(super) fn emit_value(value: &Value, indent: usize) -> Zeroizing<Vec<u8>> {
    let mut out = Emitter {
        out: SecretBuf::new(),
        indent: indent.max(1),
    };
    match value {
        Value::Map(items) if has_entries(items) => out.map(items, 0),
        Value::List(items) if has_values(items) => out.list(items, 0),
        _ => {
            out.scalar_or_empty(value, 0, false);
            out.out.push_char('\n');
        }
    }
    out.out.into_inner()
}

struct Emitter {
    out: SecretBuf,
    indent: usize,
}

/// About how many bytes `items` take written in column `column`: the size the output buffer
/// starts with, so that it seldom grows (each growth is a wiped copy) and little of it stays
/// unused. Scalars are counted as written plain plus room for quotes; longer forms (escapes, a
/// literal block's indentation) make the buffer grow as it would without the estimate.
fn estimated_len(items: &[Item], column: usize, indent: usize) -> usize {
    let child = deeper(column, indent);
    items
        .iter()
        .map(|item| match item {
            Item::Comment(text) => column + text.len() + 2,
            Item::Entry { key, value } => {
                column + key.len() + 2 + estimated_value_len(value, child, indent)
            }
        })
        .sum()
}

/// [`estimated_len`] of one value written in column `column`, its line end included.
fn estimated_value_len(value: &Value, column: usize, indent: usize) -> usize {
    match value {
        Value::Map(items) => 1 + estimated_len(items, column, indent),
        Value::List(values) => {
            1 + values
                .iter()
                .map(|v| column + 2 + estimated_value_len(v, column + 2, indent))
                .sum::<usize>()
        }
        Value::Str(text) | Value::Bytes(text) | Value::Comment(text) => text.len() + 3,
        Value::Time(text) => text.len() + 1,
        Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) => 24,
    }
}

/// go-yaml's indentation step: the next multiple of `indent` after `column`.
fn deeper(column: usize, indent: usize) -> usize {
    indent * ((column + indent) / indent)
}

fn has_entries(items: &[Item]) -> bool {
    items.iter().any(|i| matches!(i, Item::Entry { .. }))
}

fn has_values(items: &[Value]) -> bool {
    items.iter().any(|v| !matches!(v, Value::Comment(_)))
}

/// A list without the comments that go-yaml loses: sops makes a list's leading comments its
/// head comment, and go-yaml drops it when the first item (a map or list with leading comments)
/// has a head comment of its own (`x:\n  # p\n  - a: 1 # q\n` is written `x:\n    # q\n    - a: 1\n`).
fn visible_items(items: &[Value]) -> &[Value] {
    let first = items
        .iter()
        .position(|v| !matches!(v, Value::Comment(_)))
        .unwrap_or(items.len());
    let own_head = match items.get(first) {
        Some(Value::Map(entries)) => {
            has_entries(entries) && matches!(entries.first(), Some(Item::Comment(_)))
        }
        Some(Value::List(values)) => {
            has_values(values) && matches!(values.first(), Some(Value::Comment(_)))
        }
        _ => false,
    };
    if own_head {
        items.get(first..).unwrap_or_default()
    } else {
        items
    }
}

impl Emitter {
    /// The column of a collection nested below `column` ([`deeper`]).
    fn deeper(&self, column: usize) -> usize {
        deeper(column, self.indent)
    }

    fn pad(&mut self, column: usize) {
        self.out.push_repeated(b' ', column);
    }

    fn comment(&mut self, text: &Text, column: usize) {
        self.pad(column);
        self.out.push_char('#');
        self.out.push_str(&text.to_string_lossy());
        self.out.push_char('\n');
    }

    fn document(&mut self, branch: &Branch) {
        if has_entries(branch) {
            self.map(branch, 0);
        } else {
            for item in branch {
                if let Item::Comment(text) = item {
                    self.comment(text, 0);
                }
            }
            self.out.push_str("{}\n");
        }
    }

    /// A non-empty block map whose items start at `column` on a fresh line.
    fn map(&mut self, items: &[Item], column: usize) {
        self.map_items(items, column, false);
    }

    /// Map items; with `inline`, the cursor already sits at `column` (after `- `).
    fn map_items(&mut self, items: &[Item], column: usize, mut inline: bool) {
        for item in items {
            match item {
                Item::Comment(text) => {
                    if inline {
                        // A comment cannot follow `- ` on its line; go-yaml puts it first.
                        self.out.push_char('#');
                        self.out.push_str(&text.to_string_lossy());
                        self.out.push_char('\n');
                        inline = false;
                    } else {
                        self.comment(text, column);
                    }
                }
                Item::Entry { key, value } => {
                    if !inline {
                        self.pad(column);
                    }
                    inline = false;
                    self.entry(key, value, column);
                }
            }
        }
    }

    fn entry(&mut self, key: &str, value: &Value, column: usize) {
        let simple = key.len() <= MAX_SIMPLE_KEY_BYTES && !Analysis::of(key).line_breaks;
        let child = self.deeper(column);
        if simple {
            self.key_scalar(key, child);
            self.out.push_char(':');
        } else {
            self.out.push_str("? ");
            self.string(key.as_bytes(), child, false);
            self.end_line();
            self.pad(column);
            self.out.push_char(':');
        }
        match value {
            // After a complex key's `:`, libyaml pads to the child column and starts the
            // collection on that line (`:   a: 1`, `:   - x`).
            Value::Map(items) if has_entries(items) && !simple => {
                self.pad(child.saturating_sub(column + 1));
                self.map_items(items, child, true);
            }
            Value::List(items) if has_values(items) && !simple => {
                self.pad(child.saturating_sub(column + 1));
                self.list_items(items, child, true);
            }
            Value::Map(items) if has_entries(items) => {
                self.out.push_char('\n');
                self.map(items, child);
            }
            Value::List(items) if has_values(items) => {
                self.out.push_char('\n');
                self.list(items, child);
            }
            // A map holding only comments: go-yaml writes them inside its flow braces, with the
            // `}` in column 0 at any depth (and reads the map back empty, without them).
            Value::Map(items) if !items.is_empty() => {
                self.out.push_str(" {\n");
                for item in items {
                    if let Item::Comment(text) = item {
                        self.comment(text, child);
                    }
                }
                self.out.push_str("}\n");
            }
            _ => {
                self.out.push_char(' ');
                self.scalar_or_empty(value, child, false);
                self.end_line();
                // The comments of an empty collection are its head comment, which go-yaml
                // writes after the flow `[]`/`{}` on lines of their own.
                if let Value::List(values) = value {
                    for v in values {
                        if let Value::Comment(text) = v {
                            self.comment(text, column);
                        }
                    }
                }
            }
        }
    }

    fn key_scalar(&mut self, key: &str, scalar_indent: usize) {
        if key == "<<" {
            self.out.push_str("!!merge <<");
        } else {
            self.string(key.as_bytes(), scalar_indent, true);
        }
    }

    /// Ends the current line unless a block scalar already did (go-yaml counts a literal
    /// block's last LS or PS as the line's end, and writes nothing after it).
    fn end_line(&mut self) {
        let out = self.out.as_slice();
        if !["\n", "\u{2028}", "\u{2029}"]
            .iter()
            .any(|end| out.ends_with(end.as_bytes()))
        {
            self.out.push_char('\n');
        }
    }

    /// A non-empty block list whose `-` sit at `column`, starting on a fresh line.
    fn list(&mut self, items: &[Value], column: usize) {
        self.list_items(items, column, false);
    }

    fn list_items(&mut self, items: &[Value], column: usize, mut inline: bool) {
        for item in visible_items(items) {
            if let Value::Comment(text) = item {
                if inline {
                    self.out.push_char('#');
                    self.out.push_str(&text.to_string_lossy());
                    self.out.push_char('\n');
                    inline = false;
                } else {
                    self.comment(text, column);
                }
                continue;
            }
            // sops makes the leading comments of a map or list item the head comment of that
            // node, which go-yaml writes before the `- ` (or after a `- ` already on the line).
            let leading: Vec<&Text> = match item {
                Value::Map(entries) if has_entries(entries) => entries
                    .iter()
                    .map_while(|i| match i {
                        Item::Comment(text) => Some(text),
                        Item::Entry { .. } => None,
                    })
                    .collect(),
                // A list in a list keeps its head comment: it goes before the `- `, and the head
                // of its own first item after it (`- # q\n      - - x`, as sops 3.11 writes).
                Value::List(values) if has_values(values) => values
                    .iter()
                    .map_while(|v| match v {
                        Value::Comment(text) => Some(text),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            for text in &leading {
                if inline {
                    self.out.push_char('#');
                    self.out.push_str(&text.to_string_lossy());
                    self.out.push_char('\n');
                    inline = false;
                } else {
                    self.comment(text, column);
                }
            }
            if !inline {
                self.pad(column);
            }
            inline = false;
            self.out.push_str("- ");
            let child = column + 2;
            match item {
                Value::Map(entries) if has_entries(entries) => {
                    self.map_items(
                        entries.get(leading.len()..).unwrap_or_default(),
                        child,
                        true,
                    );
                }
                Value::List(values) if has_values(values) => {
                    self.list_items(values.get(leading.len()..).unwrap_or_default(), child, true);
                }
                _ => {
                    self.scalar_or_empty(item, child, false);
                    self.end_line();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
