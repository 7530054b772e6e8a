//! YAML reading for the sops store: saphyr-parser events built into a tree as go-yaml v3 builds
//! it (as flattened by sops' `stores/yaml/store.go`).
//!
//! This file holds the builder: the open collections, keys and values, documents, and the
//! errors. Its children read what saphyr reads differently from go-yaml or does not report:
//! [`comments`] (found in the text between events and placed), [`aliases`] (expanded, with
//! limits), [`line_breaks`] (NEL, LS and PS), [`block_end`] (a block scalar ending the input
//! unterminated), [`flow_close`] and [`tab_after_colon`] (what saphyr's scanner refuses and
//! go-yaml reads), over the character-indexed text of [`chars`]. Scalars are typed by
//! [`super::resolve`]; anchors are dropped.
//!
//! A document is first offered to [`chunks`]: cut at top-level keys, its pieces read in
//! parallel, each by the line reader of [`simple`] when it has that shape; whatever cannot be
//! read that way is read whole here.

mod aliases;
mod block_end;
mod chars;
mod chunks;
mod comments;
mod flow_close;
mod line_breaks;
mod simple;
mod tab_after_colon;

use std::collections::{HashMap, HashSet};

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};

use self::aliases::{Anchored, Size};
use self::chars::{CharText, quoted_end};
use self::line_breaks::{go_yaml_lines, is_unicode_break};
use super::resolve::{CoreKind, Resolved, ScalarTag, resolve_as_text, resolve_scalar};
use crate::store::{MAX_DEPTH, StoreError};
use crate::tree::{Branch, Item, Text, Tree, Value};

const FORMAT: &str = "yaml";

/// How the builder turns a scalar into a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scalars {
    /// Typed as sops reads a document ([`resolve_scalar`]).
    Typed,
    /// As go-yaml decodes it into a Go string ([`resolve_as_text`]).
    AsText,
}

/// Parses YAML into a tree, one branch per document: in pieces when [`chunks`] can, else whole.
pub(super) fn parse(input: &[u8]) -> Result<Tree, StoreError> {
    let text = utf8(input)?;
    if let Some(tree) = chunks::parse(text, chunks::PIECE_BYTES) {
        return Ok(tree);
    }
    parse_whole(text, Scalars::Typed)
}

/// Parses YAML into a tree whose scalars are their own text ([`resolve_as_text`]), read whole.
pub(super) fn parse_as_text(input: &[u8]) -> Result<Tree, StoreError> {
    parse_whole(utf8(input)?, Scalars::AsText)
}

fn utf8(input: &[u8]) -> Result<&str, StoreError> {
    std::str::from_utf8(input).map_err(|_| StoreError::NotUtf8 { format: FORMAT })
}

/// The input read in pieces of at least `piece_bytes` (`None` where [`parse`] reads it whole)
/// and read whole: the fast path and the reader it must agree with, side by side.
#[cfg(any(test, feature = "fuzzing"))]
pub(super) fn both_ways(
    input: &[u8],
    piece_bytes: usize,
) -> (Option<Tree>, Result<Tree, StoreError>) {
    match std::str::from_utf8(input) {
        Ok(text) => (
            chunks::parse(text, piece_bytes),
            parse_whole(text, Scalars::Typed),
        ),
        Err(_) => (None, parse(input)),
    }
}

/// Parses the whole text with saphyr, rewriting what its scanner refuses and go-yaml reads:
/// comment-only flow maps ([`flow_close`]) and tabs after a key's `:` ([`tab_after_colon`]),
/// each kind up to its bound.
fn parse_whole(text: &str, scalars: Scalars) -> Result<Tree, StoreError> {
    let mut rewritten: Option<String> = None;
    let (mut flow_maps, mut tabs) = (0, 0);
    let max_tabs = tab_after_colon::MAX_REPARSED_BYTES / text.len().max(1);
    loop {
        let current = rewritten.as_deref().unwrap_or(text);
        let (at, error) = match parse_text(current, scalars) {
            Err(Failure::Scan { at, error }) => (at, error),
            other => return other.map_err(Failure::into_error),
        };
        let flow_map = (flow_maps < flow_close::MAX_REWRITES)
            .then(|| flow_close::close_comment_only_flow(current, at))
            .flatten();
        rewritten = Some(match flow_map {
            Some(text) => {
                flow_maps += 1;
                text
            }
            None => {
                let spaced = (tabs < max_tabs)
                    .then(|| tab_after_colon::as_spaces(current, at))
                    .flatten()
                    .ok_or(error)?;
                if tabs == 0
                    && let Some(tree) = all_tabs_after_colons(current, scalars)
                {
                    return Ok(tree);
                }
                tabs += 1;
                spaced
            }
        });
    }
}

/// The text read with every tab between a `:` and its value as a space, when that reads the
/// same as with two spaces there: then none of them was inside a scalar or a comment, and the
/// tree is go-yaml's. `None` sends the caller to the rewrites one by one.
fn all_tabs_after_colons(text: &str, scalars: Scalars) -> Option<Tree> {
    let one = parse_text(&tab_after_colon::all_replaced(text, " "), scalars).ok()?;
    let two = parse_text(&tab_after_colon::all_replaced(text, "  "), scalars).ok()?;
    (one == two).then_some(one)
}

/// Why [`parse_text`] failed: the scanner refused the character at `at`, or anything else.
enum Failure {
    Scan { at: usize, error: StoreError },
    Other(StoreError),
}

impl Failure {
    fn into_error(self) -> StoreError {
        match self {
            Self::Scan { error, .. } | Self::Other(error) => error,
        }
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Self::Other(error)
    }
}

/// [`parse`] of the text as it stands.
fn parse_text(text: &str, scalars: Scalars) -> Result<Tree, Failure> {
    // go-yaml breaks lines at NEL, LS and PS too; saphyr reads them as `\n` (or as a blank
    // inside a quoted scalar, read again later) so that the character count, and so every
    // span, stays the same.
    let has_unicode_breaks = text.contains(is_unicode_break);
    let scanned = if has_unicode_breaks {
        std::borrow::Cow::Owned(go_yaml_lines(text))
    } else {
        std::borrow::Cow::Borrowed(text)
    };
    let events = collect_events(&scanned)?;
    // saphyr's spans count characters: ASCII text (every encrypted file) is indexed in place,
    // anything else is decoded once.
    let decoded: Vec<char> = if scanned.is_ascii() {
        Vec::new()
    } else {
        scanned.chars().collect()
    };
    let chars = if scanned.is_ascii() {
        CharText::Ascii(scanned.as_bytes())
    } else {
        CharText::Decoded(&decoded)
    };
    let original: Vec<char> = if has_unicode_breaks {
        text.chars().collect()
    } else {
        Vec::new()
    };
    let mut builder = Builder {
        chars,
        original: &original,
        newlines: (0..chars.len())
            .filter(|&i| chars.at(i) == Some('\n'))
            .collect(),
        events: &events,
        frames: Vec::new(),
        anchors: HashMap::new(),
        branches: Vec::new(),
        pre_open: HashMap::new(),
        pre_doc: Vec::new(),
        last: None,
        expanded: Size::default(),
        scalars,
    };
    builder.run()?;
    if builder.branches.is_empty() {
        return Err(StoreError::Empty { format: FORMAT }.into());
    }
    Ok(Tree {
        branches: builder.branches,
    })
}

/// All events with their spans, or the first syntax error and the character it points at.
fn collect_events(text: &str) -> Result<Vec<(Event<'_>, Span)>, Failure> {
    let mut parser = Parser::new_from_str(text);
    let mut events = Vec::new();
    while let Some(next) = parser.next_event() {
        match next {
            Ok(pair) => events.push(pair),
            Err(error) => {
                return Err(Failure::Scan {
                    at: error.marker().index(),
                    error: StoreError::Syntax {
                        format: FORMAT,
                        line: error.marker().line(),
                        column: error.marker().col() + 1,
                        message: error.info().to_owned(),
                    },
                });
            }
        }
    }
    Ok(events)
}

/// An open collection (or the document itself) being built.
struct Frame {
    kind: FrameKind,
    /// Column of the collection's first content (its `-` or first key).
    indent: usize,
    /// Line (1-based) where the collection starts.
    start_line: usize,
    anchor: usize,
    flow: bool,
    /// Comments to add after the entry or item now being built completes.
    after: Vec<Text>,
}

enum FrameKind {
    /// The document: holds the root's comments and, at the end, the root map's items.
    Doc {
        items: Branch,
        root: Option<Value>,
    },
    Map {
        items: Branch,
        key: Option<String>,
        seen: HashSet<String>,
    },
    List {
        items: Vec<Value>,
    },
}

/// The last content event, for line comments.
#[derive(Clone, Copy)]
enum Last {
    /// A map key at this frame depth; its value is not there yet.
    Key { depth: usize, line: usize },
    /// A value completed at this frame depth (scalar, alias, or a block collection).
    Value { depth: usize, line: usize },
    /// A flow collection completed as the last value of this frame depth.
    Flow { depth: usize, line: usize },
}

struct Builder<'a, 'input> {
    /// The input with NEL, LS and PS as `\n` (what saphyr read), indexed by character.
    chars: CharText<'a>,
    /// The input as it is when it holds NEL, LS or PS (empty otherwise).
    original: &'a [char],
    /// Character indices of every `\n`, to turn an index into a line.
    newlines: Vec<usize>,
    events: &'a [(Event<'input>, Span)],
    frames: Vec<Frame>,
    anchors: HashMap<usize, Anchored>,
    branches: Vec<Branch>,
    /// Comments for a collection that is not open yet, by the index of its start event.
    pre_open: HashMap<usize, Vec<Text>>,
    /// Comments before a document whose root is not a block collection.
    pre_doc: Vec<Text>,
    last: Option<Last>,
    /// What alias expansion has added so far.
    expanded: Size,
    scalars: Scalars,
}

impl Builder<'_, '_> {
    fn run(&mut self) -> Result<(), StoreError> {
        let mut cursor = 0usize;
        for index in 0..self.events.len() {
            let (event, span) = &self.events[index];
            let start = span.start.index();
            if start > cursor {
                self.scan_comments(cursor, start, index)?;
            }
            let inner_from = cursor.max(start);
            // saphyr's span of a quoted scalar runs on over blanks and a comment after it.
            let end = match event {
                Event::Scalar(_, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted, ..) => {
                    quoted_end(self.chars, start, span.end.index())
                }
                _ => span.end.index(),
            };
            cursor = cursor.max(end).max(start);
            self.event(index, event, span)?;
            if matches!(event, Event::MappingEnd | Event::SequenceEnd) && cursor > inner_from {
                // A flow collection's end span runs over a comment that follows it.
                self.scan_comments(inner_from, cursor, index + 1)?;
            }
        }
        Ok(())
    }

    fn event(&mut self, index: usize, event: &Event<'_>, span: &Span) -> Result<(), StoreError> {
        match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
            Event::DocumentStart(_) => {
                self.frames.push(Frame {
                    kind: FrameKind::Doc {
                        items: self.pre_doc.drain(..).map(Item::Comment).collect(),
                        root: None,
                    },
                    indent: 0,
                    start_line: span.start.line(),
                    anchor: 0,
                    flow: false,
                    after: Vec::new(),
                });
                self.last = None;
            }
            Event::DocumentEnd => {
                let Some(frame) = self.frames.pop() else {
                    return Ok(());
                };
                let FrameKind::Doc { mut items, root } = frame.kind else {
                    return Err(self.syntax(span, "unbalanced document end"));
                };
                match root {
                    None | Some(Value::Null) => {}
                    Some(Value::Map(map)) => items.extend(map),
                    Some(_) => return Err(StoreError::TopLevelNotMap { format: FORMAT }),
                }
                items.extend(frame.after.into_iter().map(Item::Comment));
                self.branches.push(items);
                self.last = None;
            }
            Event::Alias(id) => {
                let value = self.expand_alias(*id, span)?;
                if self.expecting_key() {
                    let Value::Str(text) = value else {
                        return Err(StoreError::NonStringKey {
                            key: "*alias".to_owned(),
                        });
                    };
                    self.key(text.to_string_lossy().into_owned(), span)?;
                } else {
                    self.value(value, span.end.line(), false)?;
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let quoted = !matches!(style, ScalarStyle::Plain);
                let unfolded = self.with_unicode_breaks(text, *style, span);
                let text = unfolded.as_deref().unwrap_or(text);
                let text = match style {
                    ScalarStyle::Literal | ScalarStyle::Folded
                        if self.break_added_at_end(text, span, *anchor > 0 || tag.is_some()) =>
                    {
                        text.strip_suffix('\n').unwrap_or(text)
                    }
                    _ => text,
                };
                let tag = scalar_tag(tag.as_deref());
                let resolved = match self.scalars {
                    Scalars::Typed => resolve_scalar(text, quoted, tag),
                    Scalars::AsText => resolve_as_text(text, quoted, tag),
                };
                let value = match resolved {
                    Resolved::Value(value) => value,
                    Resolved::Uint64 => {
                        return Err(StoreError::UnsupportedValue {
                            path: self.path(),
                            reason: "unknown type: uint64".to_owned(),
                        });
                    }
                };
                if *anchor > 0 {
                    self.anchor(*anchor, &value);
                }
                if self.expecting_key() {
                    let Value::Str(key) = value else {
                        return Err(StoreError::NonStringKey {
                            key: text.to_string(),
                        });
                    };
                    self.key(key.to_string_lossy().into_owned(), span)?;
                } else {
                    self.value(value, span.end.line(), false)?;
                }
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                if self.expecting_key() {
                    return Err(StoreError::NonStringKey {
                        key: "<collection>".to_owned(),
                    });
                }
                // The document frame is first, so this is the new collection's depth.
                if self.frames.len() > MAX_DEPTH {
                    return Err(self.too_deep(span));
                }
                let is_map = matches!(event, Event::MappingStart(..));
                let flow = self.is_flow_start(span);
                let comments = self.pre_open.remove(&index).unwrap_or_default();
                let kind = if is_map {
                    FrameKind::Map {
                        items: comments.into_iter().map(Item::Comment).collect(),
                        key: None,
                        seen: HashSet::new(),
                    }
                } else {
                    FrameKind::List {
                        items: comments.into_iter().map(Value::Comment).collect(),
                    }
                };
                self.frames.push(Frame {
                    kind,
                    indent: span.start.col(),
                    start_line: span.start.line(),
                    anchor: *anchor,
                    flow,
                    after: Vec::new(),
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let frame = self
                    .frames
                    .pop()
                    .ok_or_else(|| self.syntax(span, "unbalanced end"))?;
                let mut value = match frame.kind {
                    FrameKind::Map { items, .. } => Value::Map(items),
                    FrameKind::List { items } => Value::List(items),
                    FrameKind::Doc { .. } => return Err(self.syntax(span, "unbalanced end")),
                };
                match &mut value {
                    Value::Map(items) => items.extend(frame.after.into_iter().map(Item::Comment)),
                    Value::List(items) => items.extend(frame.after.into_iter().map(Value::Comment)),
                    _ => {}
                }
                if frame.anchor > 0 {
                    self.anchor(frame.anchor, &value);
                }
                // saphyr ends a block collection at the next token, maybe on a line that holds
                // a comment after a `- `: no line comment follows a block collection's end.
                let line = if frame.flow { span.end.line() } else { 0 };
                self.value(value, line, frame.flow)?;
            }
        }
        Ok(())
    }

    /// Whether a collection start is a flow one (`[` or `{` at its position).
    fn is_flow_start(&self, span: &Span) -> bool {
        matches!(self.chars.at(span.start.index()), Some('[' | '{'))
    }

    fn expecting_key(&self) -> bool {
        matches!(
            self.frames.last(),
            Some(Frame {
                kind: FrameKind::Map { key: None, .. },
                ..
            })
        )
    }

    fn key(&mut self, key: String, span: &Span) -> Result<(), StoreError> {
        let depth = self.frames.len() - 1;
        if let Some(Frame {
            kind: FrameKind::Map {
                key: slot, seen, ..
            },
            ..
        }) = self.frames.last_mut()
        {
            if !seen.insert(key.clone()) {
                return Err(StoreError::DuplicateKey { key });
            }
            *slot = Some(key);
        }
        self.last = Some(Last::Key {
            depth,
            line: span.end.line(),
        });
        Ok(())
    }

    /// Places a completed value into the innermost frame.
    fn value(&mut self, value: Value, line: usize, flow: bool) -> Result<(), StoreError> {
        let depth = self.frames.len().saturating_sub(1);
        let Some(frame) = self.frames.last_mut() else {
            return Ok(());
        };
        match &mut frame.kind {
            FrameKind::Doc { root, .. } => {
                if !matches!(value, Value::Map(_) | Value::Null) {
                    return Err(StoreError::TopLevelNotMap { format: FORMAT });
                }
                *root = Some(value);
            }
            FrameKind::Map { items, key, .. } => {
                let key = key.take().unwrap_or_default();
                items.push(Item::Entry { key, value });
                items.extend(frame.after.drain(..).map(Item::Comment));
            }
            FrameKind::List { items } => {
                items.push(value);
                items.extend(frame.after.drain(..).map(Value::Comment));
            }
        }
        self.last = Some(if flow {
            Last::Flow { depth, line }
        } else {
            Last::Value { depth, line }
        });
        Ok(())
    }

    /// The input text under `span` (an alias's `*name`).
    fn source(&self, span: &Span) -> String {
        (span.start.index()..span.end.index())
            .filter_map(|i| self.chars.at(i))
            .collect()
    }

    /// Nesting past [`MAX_DEPTH`].
    fn too_deep(&self, span: &Span) -> StoreError {
        StoreError::TooDeep {
            format: FORMAT,
            line: span.start.line(),
            limit: MAX_DEPTH,
        }
    }

    fn syntax(&self, span: &Span, message: &str) -> StoreError {
        StoreError::Syntax {
            format: FORMAT,
            line: span.start.line(),
            column: span.start.col() + 1,
            message: message.to_owned(),
        }
    }

    /// Key path of the value being read, like `["a"][0]`.
    fn path(&self) -> String {
        let mut out = String::new();
        for frame in &self.frames {
            match &frame.kind {
                FrameKind::Map { key: Some(key), .. } => out.push_str(&format!("[{key:?}]")),
                FrameKind::List { items } => {
                    let n = items
                        .iter()
                        .filter(|v| !matches!(v, Value::Comment(_)))
                        .count();
                    out.push_str(&format!("[{n}]"));
                }
                _ => {}
            }
        }
        out
    }
}

/// Reduces a saphyr tag to what decides the type.
fn scalar_tag(tag: Option<&Tag>) -> ScalarTag {
    let Some(tag) = tag else {
        return ScalarTag::None;
    };
    if tag.handle != "tag:yaml.org,2002:" && tag.handle != "!!" {
        return ScalarTag::Str;
    }
    match tag.suffix.as_str() {
        "binary" => ScalarTag::Binary,
        "null" => ScalarTag::Core(CoreKind::Null),
        "bool" => ScalarTag::Core(CoreKind::Bool),
        "int" => ScalarTag::Core(CoreKind::Int),
        "float" => ScalarTag::Core(CoreKind::Float),
        "timestamp" => ScalarTag::Core(CoreKind::Timestamp),
        _ => ScalarTag::Str,
    }
}
