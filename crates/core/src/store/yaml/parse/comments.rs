//! Comments, which saphyr does not report: found in the text between two events and given to
//! the map or list that go-yaml v3 (as flattened by sops' `stores/yaml/store.go`) attaches them
//! to:
//! - a comment on the line of a scalar becomes its own item just before that entry (3.11 moves
//!   line comments up), also on the first line of a map or list inside a list; after a flow
//!   collection it goes first into that collection, or before it when it is a list item;
//! - a comment on a line of its own goes to the innermost open (or just opening, or just
//!   closing) collection whose indentation is not deeper than the comment's column.

use saphyr_parser::Event;

use super::{Builder, Frame, FrameKind, Last};
use crate::store::StoreError;
use crate::tree::{Item, Text, Value};

impl Builder<'_, '_> {
    /// Finds comments in `chars[from..to]` and places each one.
    pub(super) fn scan_comments(
        &mut self,
        from: usize,
        to: usize,
        next: usize,
    ) -> Result<(), StoreError> {
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
