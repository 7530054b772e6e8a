//! YAML reading for the sops store: saphyr-parser events plus comments recovered from the text.
//!
//! saphyr-parser reports no comments, only where each event sits in the input. The text
//! between two events is scanned for `#` comments, and each comment is given to the map or list
//! that go-yaml v3 (as flattened by sops' `stores/yaml/store.go`) would attach it to:
//! - a comment on the line of a scalar becomes its own item just before that entry (3.11 moves
//!   line comments up), also on the first line of a map or list inside a list; after a flow
//!   collection it goes first into that collection, or before it when it is a list item;
//! - a comment on a line of its own goes to the innermost open (or just opening, or just
//!   closing) collection whose indentation is not deeper than the comment's column.
//!
//! Aliases are expanded, anchors dropped, and scalars typed by [`super::resolve`].

use std::collections::{HashMap, HashSet};

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};

use super::resolve::{CoreKind, Resolved, ScalarTag, resolve_scalar};
use crate::store::{MAX_DEPTH, StoreError};
use crate::tree::{Branch, Item, Text, Tree, Value};

const FORMAT: &str = "yaml";
/// Values produced by alias expansion before the input counts as an alias bomb.
const MAX_EXPANDED_NODES: usize = 1_000_000;
/// Bytes of text (keys, scalars, comments, plus one per node) that alias expansion may add
/// before the input counts as an alias bomb. Nodes alone are not enough: one 100 KB scalar
/// aliased 2,000 times is few nodes but 200 MB of tree, encrypted and written out again.
/// No real file aliases anywhere near 64 MiB.
const MAX_EXPANDED_BYTES: usize = 64 << 20;

/// Parses YAML into a tree, one branch per document.
pub(super) fn parse(input: &[u8]) -> Result<Tree, StoreError> {
    let text = std::str::from_utf8(input).map_err(|_| StoreError::NotUtf8 { format: FORMAT })?;
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
    };
    builder.run()?;
    if builder.branches.is_empty() {
        return Err(StoreError::Empty { format: FORMAT });
    }
    Ok(Tree {
        branches: builder.branches,
    })
}

/// All events with their spans, or the first syntax error.
fn collect_events(text: &str) -> Result<Vec<(Event<'_>, Span)>, StoreError> {
    let mut parser = Parser::new_from_str(text);
    let mut events = Vec::new();
    while let Some(next) = parser.next_event() {
        match next {
            Ok(pair) => events.push(pair),
            Err(error) => {
                return Err(StoreError::Syntax {
                    format: FORMAT,
                    line: error.marker().line(),
                    column: error.marker().col() + 1,
                    message: error.info().to_owned(),
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
}

/// An anchored value and its [`Size`], measured once when the anchor is defined.
struct Anchored {
    value: Value,
    size: Size,
}

/// What a value costs when an alias copies it.
#[derive(Clone, Copy, Default)]
struct Size {
    nodes: usize,
    bytes: usize,
    /// Levels of maps and lists (0 for a scalar).
    depth: usize,
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
                let size = self
                    .anchors
                    .get(id)
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
                    .get(id)
                    .map(|anchored| anchored.value.clone())
                    .ok_or_else(|| self.syntax(span, "unknown anchor"))?;
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
                let resolved = resolve_scalar(text, quoted, scalar_tag(tag.as_deref()));
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

    /// The scalar at `span` read as go-yaml reads it when its text holds NEL, LS or PS, which
    /// saphyr saw as `\n` or as a blank (see [`go_yaml_lines`]); `None` when the text holds
    /// none, and for a folded block (left as saphyr read it).
    fn with_unicode_breaks(&self, value: &str, style: ScalarStyle, span: &Span) -> Option<String> {
        let (mut start, mut end) = (span.start.index(), span.end.index().max(span.start.index()));
        if style == ScalarStyle::Literal {
            // The span leaves out the empty lines before the first content line and after the
            // last, whose breaks may be LS or PS: read from the end of the `|…` header line to
            // the next content.
            let blank = |c: &char| matches!(c, ' ' | '\t') || is_go_break(*c);
            start = self
                .original
                .get(..start)?
                .iter()
                .rposition(|c| !blank(c))?
                + 1;
            end += self
                .original
                .get(end..)?
                .iter()
                .take_while(|c| blank(c))
                .count();
        }
        let raw = self.original.get(start..end)?;
        if !raw.iter().copied().any(is_unicode_break) {
            return None;
        }
        match style {
            ScalarStyle::Plain => Some(fold_flow(raw, None)),
            ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                let open = raw.iter().position(|&c| c == '\'' || c == '"')?;
                let quote = *raw.get(open)?;
                Some(fold_flow(raw.get(open + 1..)?, Some(quote)))
            }
            ScalarStyle::Literal => {
                // saphyr's value keeps the content's line breaks, in order, as `\n`; the first
                // break read ends the header line.
                let mut breaks = source_breaks(raw).into_iter().skip(1);
                Some(
                    value
                        .chars()
                        .map(|c| match c {
                            '\n' => breaks.next().unwrap_or('\n'),
                            other => other,
                        })
                        .collect(),
                )
            }
            ScalarStyle::Folded => None,
        }
    }

    /// Whether saphyr ended the block scalar at `span` (read as `value`) with a line break that
    /// go-yaml does not read: the block's last line runs to the end of the input unterminated.
    ///
    /// go-yaml (`yaml_parser_scan_block_scalar`) keeps only the breaks it reads, so `k: |\n  a`
    /// at the end of a file is `"a"` in sops 3.11, with `|`, `|+`, `>`, `|2` alike. saphyr adds
    /// a `\n` for that last line when it is a content line or blanks at least as deep as the
    /// block's indentation, and, for a `+` block with no content, when it follows the header.
    fn break_added_at_end(&self, value: &str, span: &Span, has_properties: bool) -> bool {
        let len = self.chars.len();
        let ends_unterminated = len > 0 && self.chars.at(len - 1).is_some_and(|c| !is_break(c));
        if span.end.index() < len || !ends_unterminated || !value.ends_with('\n') {
            return false;
        }
        let last_line = self.line_start(len);
        if value.chars().all(|c| c == '\n') {
            // No content line: `+` kept the breaks after the header, saphyr one more when the
            // last line is the header's next (the line before it is not blank).
            let mut break_at = last_line.saturating_sub(1);
            if break_at > 0 && self.chars.at(break_at - 1) == Some('\r') {
                break_at -= 1;
            }
            return value == "\n"
                && (self.line_start(break_at)..break_at)
                    .any(|i| self.chars.at(i).is_some_and(|c| !matches!(c, ' ' | '\t')));
        }
        let blank = (last_line..len).all(|i| self.chars.at(i) == Some(' '));
        !blank || len - last_line >= self.block_indent(span, has_properties).max(1)
    }

    /// The index where the line holding index `end - 1` starts (the last line when `end` is the
    /// input's length).
    fn line_start(&self, end: usize) -> usize {
        (0..end)
            .rev()
            .find(|&i| self.chars.at(i).is_some_and(is_break))
            .map_or(0, |i| i + 1)
    }

    /// The column of the content lines of the block scalar at `span`, which holds a content
    /// line. The span starts at the first one, or at an anchor or tag before the header.
    fn block_indent(&self, span: &Span, has_properties: bool) -> usize {
        if !has_properties {
            return span.start.col();
        }
        let at = |i: usize| self.chars.at(i);
        let skip_while = |mut i: usize, keep: fn(char) -> bool| {
            while at(i).is_some_and(keep) {
                i += 1;
            }
            i
        };
        // Past the anchor and tag, and the blanks, comments and breaks around them.
        let mut i = span.start.index();
        loop {
            i = match at(i) {
                Some('&' | '!') => skip_while(i, |c| !matches!(c, ' ' | '\t') && !is_break(c)),
                Some('#') => skip_while(i, |c| !is_break(c)),
                Some(' ' | '\t' | '\n' | '\r') => i + 1,
                _ => break,
            };
        }
        // The header: `|` or `>`, then the chomping and indentation indicators.
        i += 1;
        let mut explicit = None;
        while let Some(c @ ('+' | '-' | '1'..='9')) = at(i) {
            explicit = c.to_digit(10).or(explicit);
            i += 1;
        }
        if let Some(step) = explicit {
            // Counted from the enclosing collection, as saphyr and go-yaml do.
            let parent = self.frames.last().map_or(0, |frame| frame.indent);
            return parent + step as usize;
        }
        // Otherwise the first line after the header that holds more than spaces sets it.
        i = skip_while(i, |c| !is_break(c));
        loop {
            i = skip_while(i, is_break);
            let start = i;
            i = skip_while(i, |c| c == ' ');
            if at(i).is_none_or(|c| !is_break(c)) {
                return i - start;
            }
        }
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

    /// Finds comments in `chars[from..to]` and places each one.
    fn scan_comments(&mut self, from: usize, to: usize, next: usize) -> Result<(), StoreError> {
        let mut i = from;
        while i < to {
            let c = self.chars.at(i).unwrap_or('\n');
            let after_blank = i == 0
                || matches!(
                    self.chars.at(i - 1),
                    Some(' ' | '\t' | '\n' | '\r' | '\u{feff}')
                );
            if c == '#' && after_blank {
                let start = i + 1;
                let mut end = start;
                while end < to && !matches!(self.chars.at(end), Some('\n' | '\r') | None) {
                    end += 1;
                }
                let text: String = (start..end).filter_map(|j| self.chars.at(j)).collect();
                let line_start = (0..i).rev().find(|&j| self.chars.at(j) == Some('\n'));
                let column = line_start.map_or(i, |p| i - p - 1);
                let own_line = (line_start.map_or(0, |p| p + 1)..i)
                    .all(|j| matches!(self.chars.at(j), Some(' ' | '\t' | '\u{feff}')));
                // saphyr's lines are 1-based; the newlines before `i` give the line.
                let line = self.newlines.partition_point(|&p| p < i) + 1;
                self.place_comment(Text::from(text), line, column, own_line, next);
                i = end;
            } else {
                i += 1;
            }
        }
        Ok(())
    }

    fn place_comment(
        &mut self,
        text: Text,
        line: usize,
        column: usize,
        own_line: bool,
        next: usize,
    ) {
        if !own_line
            && let Some(last) = self.last
            && self.place_line_comment(&text, last, line)
        {
            return;
        }
        self.place_own_line_comment(text, column, next);
    }

    /// Line comments (sharing a line with the previous content). Returns false if not one.
    fn place_line_comment(&mut self, text: &Text, last: Last, line: usize) -> bool {
        match last {
            Last::Key {
                depth,
                line: key_line,
            } if key_line == line => {
                self.place_value_line_comment(text.clone(), depth, line, true);
                true
            }
            Last::Flow {
                depth,
                line: end_line,
            } if end_line == line => {
                let Some(frame) = self.frames.get_mut(depth) else {
                    return false;
                };
                // In a list, go-yaml's line comment on the flow item goes to the list, before it.
                if let FrameKind::List { items } = &mut frame.kind {
                    let at = items.len().saturating_sub(1);
                    items.insert(at, Value::Comment(text.clone()));
                    return true;
                }
                let target = match &mut frame.kind {
                    FrameKind::Map { items, .. } => match items.last_mut() {
                        Some(Item::Entry { value, .. }) => Some(value),
                        _ => None,
                    },
                    FrameKind::List { items } => items.last_mut(),
                    FrameKind::Doc { root, .. } => root.as_mut(),
                };
                match target {
                    Some(Value::Map(items)) => {
                        let at = first_entry(items);
                        items.insert(at, Item::Comment(text.clone()));
                        true
                    }
                    Some(Value::List(items)) => {
                        let at = first_list_value(items);
                        items.insert(at, Value::Comment(text.clone()));
                        true
                    }
                    _ => false,
                }
            }
            Last::Value {
                depth,
                line: value_line,
            } if value_line == line => {
                self.place_value_line_comment(text.clone(), depth, line, false);
                true
            }
            _ => false,
        }
    }

    /// `pending`: the value is not in its frame yet (the comment follows a key).
    fn place_value_line_comment(&mut self, text: Text, depth: usize, line: usize, pending: bool) {
        // Default: just before the entry or item that holds the value.
        // On the first line of a block collection: first into that collection (go-yaml makes
        // it a comment of the collection's first key or item, also inside a list).
        let first_line = self.frames.get(depth).is_some_and(|frame| {
            !frame.flow && frame.start_line == line && !matches!(frame.kind, FrameKind::Doc { .. })
        });
        let position = if first_line {
            Some(0)
        } else if pending {
            Some(usize::MAX)
        } else {
            None
        };
        let Some(frame) = self.frames.get_mut(depth) else {
            return;
        };
        match &mut frame.kind {
            FrameKind::Map { items, .. } | FrameKind::Doc { items, .. } => {
                let at = match position {
                    None => items.len().saturating_sub(1),
                    Some(usize::MAX) => items.len(),
                    Some(_) => first_entry(items),
                };
                items.insert(at, Item::Comment(text));
            }
            FrameKind::List { items } => {
                let at = match position {
                    None => items.len().saturating_sub(1),
                    Some(usize::MAX) => items.len(),
                    Some(_) => first_list_value(items),
                };
                items.insert(at, Value::Comment(text));
            }
        }
    }

    fn place_own_line_comment(&mut self, text: Text, column: usize, next: usize) {
        // Walk the coming events: collections that close, then collections that open, until
        // the next content.
        let mut pops = 0usize;
        let mut opens: Vec<(usize, usize)> = Vec::new(); // (event index, indent)
        for (index, (event, span)) in self.events.iter().enumerate().skip(next) {
            match event {
                Event::MappingEnd | Event::SequenceEnd if opens.is_empty() => pops += 1,
                Event::DocumentEnd | Event::StreamEnd if opens.is_empty() => {
                    pops = self.frames.len();
                    break;
                }
                Event::MappingStart(..) | Event::SequenceStart(..) => {
                    if self.is_flow_start(span) {
                        break;
                    }
                    opens.push((index, span.start.col()));
                }
                Event::DocumentStart(_) | Event::StreamStart => {}
                _ => break,
            }
        }
        if self.frames.is_empty() {
            // Before any document: give it to the first collection that opens, if any.
            match opens.first() {
                Some(&(index, _)) => self.pre_open.entry(index).or_default().push(text),
                // A flow root (`# c\n{}`): the document's own comment.
                None => self.pre_doc.push(text),
            }
            return;
        }
        let len = self.frames.len();
        let first_candidate = len.saturating_sub(pops + 1);
        // Candidates: the frames that close (innermost first) and the one that stays, then the
        // collections about to open. The deepest indentation not past the comment wins; a
        // closing indentless list (same indentation as its parent) gives way to its parent.
        let mut best: Option<(usize, Option<usize>)> = None; // (indent, frame depth or None)
        let mut best_open: Option<usize> = None;
        for depth in (first_candidate..len).rev() {
            let frame = &self.frames[depth];
            let closing = depth > first_candidate || pops >= len;
            let parent_indent = depth.checked_sub(1).map(|p| self.frames[p].indent);
            if frame.indent > column
                || (closing && depth > first_candidate && parent_indent == Some(frame.indent))
            {
                continue;
            }
            if best.is_none_or(|(indent, _)| frame.indent > indent) {
                best = Some((frame.indent, Some(depth)));
            }
        }
        for (index, indent) in opens.iter().rev() {
            if *indent <= column && best.is_none_or(|(best_indent, _)| *indent > best_indent) {
                best = Some((*indent, None));
                best_open = Some(*index);
            }
        }
        if let (Some((_, None)), Some(index)) = (best, best_open) {
            self.pre_open.entry(index).or_default().push(text);
            return;
        }
        let chosen = best.and_then(|(_, depth)| depth).unwrap_or(first_candidate);
        let innermost = chosen == len - 1;
        let frame = &mut self.frames[chosen];
        let busy = !innermost
            || matches!(frame.kind, FrameKind::Map { key: Some(_), .. })
            || matches!(frame.kind, FrameKind::Doc { root: Some(_), .. });
        if busy {
            frame.after.push(text);
        } else {
            push_comment(frame, text);
        }
    }

    /// Records an anchor's value with its size.
    fn anchor(&mut self, id: usize, value: &Value) {
        let size = size_of(value);
        self.anchors.insert(
            id,
            Anchored {
                value: value.clone(),
                size,
            },
        );
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

/// `text` with NEL, LS and PS as `\n` outside quoted scalars and as a space inside them
/// (go-yaml does not check the indentation of a quoted scalar's lines; saphyr does).
fn go_yaml_lines(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut quoted: Vec<(usize, usize)> = Vec::new();
    let mut parser = Parser::new_from_str(text);
    while let Some(Ok((event, span))) = parser.next_event() {
        if let Event::Scalar(_, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted, ..) = event {
            let start = span.start.index();
            quoted.push((
                start,
                quoted_end(CharText::Decoded(&chars), start, span.end.index()),
            ));
        }
    }
    let mut spans = quoted.into_iter().peekable();
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            while spans.next_if(|&(_, end)| end <= i).is_some() {}
            if !is_unicode_break(c) {
                c
            } else if spans.peek().is_some_and(|&(start, _)| start <= i) {
                ' '
            } else {
                '\n'
            }
        })
        .collect()
}

/// go-yaml's line breaks that saphyr does not know.
fn is_unicode_break(c: char) -> bool {
    matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// A line break in the text saphyr reads (NEL, LS and PS already made `\n`).
fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\r')
}

/// Any line break go-yaml reads.
fn is_go_break(c: char) -> bool {
    matches!(c, '\n' | '\r') || is_unicode_break(c)
}

/// The index after the closing quote of the quoted scalar whose span starts at `start` (an
/// anchor or tag included), searching no further than `limit`.
fn quoted_end(chars: CharText<'_>, start: usize, limit: usize) -> usize {
    let limit = limit.min(chars.len()).max(start);
    let Some(open) = (start..limit).find(|&j| matches!(chars.at(j), Some('\'' | '"'))) else {
        return limit;
    };
    let quote = chars.at(open).unwrap_or('\'');
    let mut i = open + 1;
    while let Some(c) = (i < limit).then(|| chars.at(i)).flatten() {
        if quote == '"' && c == '\\' {
            i += 2;
            continue;
        }
        if c == quote {
            if quote == '\'' && chars.at(i + 1) == Some('\'') && i + 1 < limit {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    limit
}

/// Text indexed by character position, as saphyr's spans count: ASCII text is indexed as
/// bytes in place, other text decoded once.
#[derive(Clone, Copy)]
enum CharText<'a> {
    /// ASCII: one byte, one character.
    Ascii(&'a [u8]),
    /// Decoded characters.
    Decoded(&'a [char]),
}

impl CharText<'_> {
    /// The character at `index`.
    fn at(self, index: usize) -> Option<char> {
        match self {
            Self::Ascii(bytes) => bytes.get(index).map(|&b| char::from(b)),
            Self::Decoded(chars) => chars.get(index).copied(),
        }
    }

    /// The number of characters.
    fn len(self) -> usize {
        match self {
            Self::Ascii(bytes) => bytes.len(),
            Self::Decoded(chars) => chars.len(),
        }
    }
}

/// The line breaks in `raw` as go-yaml's `READ_LINE` keeps them: CR LF, CR, LF and NEL as
/// `\n`, LS and PS as themselves.
fn source_breaks(raw: &[char]) -> Vec<char> {
    let mut breaks = Vec::new();
    let mut chars = raw.iter().copied().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                breaks.push('\n');
            }
            '\n' | '\u{85}' => breaks.push('\n'),
            '\u{2028}' | '\u{2029}' => breaks.push(c),
            _ => {}
        }
    }
    breaks
}

/// go-yaml's reading of a plain scalar (`quote == None`, `raw` its exact text) or of a quoted
/// one (`raw` starts after the opening quote): blanks around a line break are dropped, a lone
/// `\n` folds to a space, an LS or PS break is kept with the breaks that follow it
/// (`yaml_parser_scan_flow_scalar`, `yaml_parser_scan_plain_scalar`).
fn fold_flow(raw: &[char], quote: Option<char>) -> String {
    let mut out = String::new();
    let mut i = 0usize;
    let at = |i: usize| raw.get(i).copied();
    loop {
        let mut leading_blanks = false;
        // Non-blank characters.
        while let Some(c) = at(i) {
            if c == ' ' || c == '\t' || is_go_break(c) {
                break;
            }
            match quote {
                Some('\'') if c == '\'' && at(i + 1) == Some('\'') => {
                    out.push('\'');
                    i += 2;
                }
                Some(q) if c == q => return out,
                Some('"') if c == '\\' => {
                    let next = at(i + 1);
                    if next.is_some_and(is_go_break) {
                        i += 1;
                        i += if at(i) == Some('\r') && at(i + 1) == Some('\n') {
                            2
                        } else {
                            1
                        };
                        leading_blanks = true;
                        break;
                    }
                    i += 2;
                    match next.and_then(simple_escape) {
                        Some(e) => out.push(e),
                        None => {
                            let width = match next {
                                Some('x') => 2,
                                Some('u') => 4,
                                Some('U') => 8,
                                _ => 0,
                            };
                            let digits: String =
                                raw.get(i..i + width).unwrap_or_default().iter().collect();
                            i += width;
                            if let Some(c) = u32::from_str_radix(&digits, 16)
                                .ok()
                                .and_then(char::from_u32)
                            {
                                out.push(c);
                            }
                        }
                    }
                }
                _ => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        let Some(_) = at(i) else {
            return out;
        };
        // Blanks and breaks.
        let mut whitespace = String::new();
        let mut leading_break: Option<char> = None;
        let mut trailing_breaks = String::new();
        while let Some(c) = at(i) {
            if c == ' ' || c == '\t' {
                if !leading_blanks {
                    whitespace.push(c);
                }
                i += 1;
            } else if is_go_break(c) {
                i += if c == '\r' && at(i + 1) == Some('\n') {
                    2
                } else {
                    1
                };
                let read = if matches!(c, '\u{2028}' | '\u{2029}') {
                    c
                } else {
                    '\n'
                };
                if leading_blanks {
                    trailing_breaks.push(read);
                } else {
                    whitespace.clear();
                    leading_break = Some(read);
                    leading_blanks = true;
                }
            } else {
                break;
            }
        }
        if at(i).is_none() && quote.is_none() {
            return out;
        }
        if leading_blanks {
            match leading_break {
                Some('\n') if trailing_breaks.is_empty() => out.push(' '),
                Some('\n') => out.push_str(&trailing_breaks),
                other => {
                    out.extend(other);
                    out.push_str(&trailing_breaks);
                }
            }
        } else {
            out.push_str(&whitespace);
        }
    }
}

/// A one-character double-quoted escape (`\n`, `\L`, ...).
fn simple_escape(c: char) -> Option<char> {
    Some(match c {
        '0' => '\0',
        'a' => '\u{7}',
        'b' => '\u{8}',
        't' | '\t' => '\t',
        'n' => '\n',
        'v' => '\u{b}',
        'f' => '\u{c}',
        'r' => '\r',
        'e' => '\u{1b}',
        ' ' => ' ',
        '"' => '"',
        '/' => '/',
        '\\' => '\\',
        'N' => '\u{85}',
        '_' => '\u{a0}',
        'L' => '\u{2028}',
        'P' => '\u{2029}',
        _ => return None,
    })
}

fn push_comment(frame: &mut Frame, text: Text) {
    match &mut frame.kind {
        FrameKind::Map { items, .. } | FrameKind::Doc { items, .. } => {
            items.push(Item::Comment(text))
        }
        FrameKind::List { items } => items.push(Value::Comment(text)),
    }
}

fn first_entry(items: &[Item]) -> usize {
    items
        .iter()
        .position(|i| matches!(i, Item::Entry { .. }))
        .unwrap_or(items.len())
}

fn first_list_value(items: &[Value]) -> usize {
    items
        .iter()
        .position(|v| !matches!(v, Value::Comment(_)))
        .unwrap_or(items.len())
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
