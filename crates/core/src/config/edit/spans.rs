//! A span tree of a YAML document: nodes built from saphyr-parser events, whose spans are
//! turned from character indices into byte offsets, so every node knows the exact bytes it came
//! from; and line arithmetic over the original text. Tags, several documents and anchors on
//! collections are refused here, with their line.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle};

use super::EditError;

/// A node of the document with the bytes it spans (anchors included, for scalars).
#[derive(Clone, Debug)]
pub(super) struct Node {
    /// First byte (of the anchor, for an anchored scalar; of `[`/`{` for flow collections).
    pub(super) start: usize,
    /// One past the last byte of the content (after `]`/`}` for flow collections; the end of
    /// the last child for block collections).
    pub(super) end: usize,
    /// What the node is.
    pub(super) kind: Kind,
}

/// The kinds of nodes.
#[derive(Clone, Debug)]
pub(super) enum Kind {
    /// A scalar, with its anchor name if it has one.
    Scalar {
        value: String,
        style: ScalarStyle,
        anchor: Option<String>,
    },
    /// `*name`.
    Alias(String),
    /// A sequence.
    Seq { flow: bool, items: Vec<Node> },
    /// A mapping (keys are nodes too; they are scalars in any file we edit).
    Map {
        flow: bool,
        entries: Vec<(Node, Node)>,
    },
}

impl Node {
    /// The scalar text, if the node is a scalar.
    pub(super) fn scalar(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The value of mapping key `key`, with its key node.
    pub(super) fn get(&self, key: &str) -> Option<(&Self, &Self)> {
        match &self.kind {
            Kind::Map { entries, .. } => entries
                .iter()
                .rev()
                .find(|(k, _)| k.scalar() == Some(key))
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    pub(super) fn is_flow(&self) -> bool {
        matches!(
            self.kind,
            Kind::Seq { flow: true, .. } | Kind::Map { flow: true, .. }
        )
    }

    /// Whether the node is a scalar with no text at all (an omitted value).
    pub(super) fn is_empty_scalar(&self) -> bool {
        matches!(self.kind, Kind::Scalar { .. }) && self.start == self.end
    }
}

/// Line arithmetic over the original text.
#[derive(Clone, Debug)]
pub(super) struct Lines {
    /// Byte offset of the start of every line.
    starts: Vec<usize>,
    len: usize,
}

impl Lines {
    pub(super) fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Self {
            starts,
            len: text.len(),
        }
    }

    /// The 1-based line of byte `at`.
    pub(super) fn line(&self, at: usize) -> usize {
        self.starts.partition_point(|start| *start <= at)
    }

    /// The first byte of the line holding `at`.
    pub(super) fn start_of(&self, at: usize) -> usize {
        let line = self.line(at);
        self.starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or_default()
    }

    /// The first byte after the line holding `at` (after its `\n`), or the text length.
    pub(super) fn next_start(&self, at: usize) -> usize {
        self.starts.get(self.line(at)).copied().unwrap_or(self.len)
    }

    /// The byte where line `line` (1-based) starts.
    pub(super) fn start_of_line(&self, line: usize) -> Option<usize> {
        self.starts.get(line.checked_sub(1)?).copied()
    }
}

/// The text from `at` to the end of its line (line ending excluded).
pub(super) fn line_rest<'t>(text: &'t str, lines: &Lines, at: usize) -> &'t str {
    let end = lines.next_start(at);
    text.get(at..end)
        .unwrap_or_default()
        .trim_end_matches(['\n', '\r'])
}

/// The byte after the closing quote of the quoted scalar that starts at `start` (anchor
/// included), searching no further than `limit`.
fn quoted_end(text: &str, start: usize, limit: usize) -> usize {
    let Some(region) = text.get(start..limit) else {
        return limit;
    };
    let Some(open) = region.find(['\'', '"']) else {
        return limit;
    };
    let quote = region.as_bytes().get(open).copied().unwrap_or(b'\'');
    let bytes = region.as_bytes();
    let mut i = open + 1;
    while let Some(&byte) = bytes.get(i) {
        if quote == b'"' && byte == b'\\' {
            i += 2;
            continue;
        }
        if byte == quote {
            if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return start + i + 1;
        }
        i += 1;
    }
    limit
}

/// Builds the node tree from parser events.
pub(super) struct Builder<'t> {
    text: &'t str,
    lines: &'t Lines,
    /// Events with byte spans.
    events: Vec<(Event<'t>, usize, usize)>,
    position: usize,
    pub(super) aliases: Vec<(String, usize)>,
    pub(super) anchors: HashMap<String, String>,
}

impl<'t> Builder<'t> {
    pub(super) fn new(text: &'t str, lines: &'t Lines) -> Result<Self, EditError> {
        // saphyr's markers count characters; map them to bytes.
        let mut char_to_byte: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        char_to_byte.push(text.len());
        let byte = |index: usize| char_to_byte.get(index).copied().unwrap_or(text.len());
        let mut parser = Parser::new_from_str(text);
        let mut events = Vec::new();
        while let Some(next) = parser.next_event() {
            match next {
                Ok((event, span)) => {
                    events.push((event, byte(span.start.index()), byte(span.end.index())));
                }
                Err(error) => {
                    return Err(EditError::Syntax {
                        line: error.marker().line(),
                        column: error.marker().col() + 1,
                        message: error.info().to_owned(),
                    });
                }
            }
        }
        Ok(Self {
            text,
            lines,
            events,
            position: 0,
            aliases: Vec::new(),
            anchors: HashMap::new(),
        })
    }

    /// The root node of the only document, if any.
    pub(super) fn document(&mut self) -> Result<Option<Node>, EditError> {
        let mut documents = 0;
        let mut root = None;
        while let Some((event, start, _)) = self.events.get(self.position) {
            let start = *start;
            match event {
                Event::DocumentStart(_) => {
                    documents += 1;
                    if documents > 1 {
                        return Err(EditError::MultipleDocuments {
                            line: self.lines.line(start),
                        });
                    }
                    self.position += 1;
                    if !matches!(
                        self.events.get(self.position),
                        Some((Event::DocumentEnd, ..))
                    ) {
                        root = Some(self.node()?);
                    }
                }
                _ => self.position += 1,
            }
        }
        Ok(root)
    }

    fn anchor_name(&self, at: usize, what: char) -> Option<String> {
        let rest = self.text.get(at..)?.strip_prefix(what)?;
        let name: String = rest
            .chars()
            .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | '[' | ']' | '{' | '}'))
            .collect();
        (!name.is_empty()).then_some(name)
    }

    fn node(&mut self) -> Result<Node, EditError> {
        let Some((event, start, end)) = self.events.get(self.position).cloned() else {
            return Err(EditError::Syntax {
                line: self.lines.line(self.text.len()),
                column: 1,
                message: "unexpected end of document".to_owned(),
            });
        };
        self.position += 1;
        let line = self.lines.line(start);
        match event {
            Event::Scalar(value, style, anchor_id, tag) => {
                if tag.is_some() {
                    return Err(EditError::Tag { line });
                }
                let anchor = if anchor_id == 0 {
                    None
                } else {
                    let name = self
                        .anchor_name(start, '&')
                        .ok_or(EditError::Tag { line })?;
                    if self.anchors.contains_key(&name) {
                        return Err(EditError::DuplicateAnchor { name, line });
                    }
                    self.anchors.insert(name.clone(), value.to_string());
                    Some(name)
                };
                // saphyr's span of a quoted scalar runs on over blanks and a comment after it.
                let end = match style {
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                        quoted_end(self.text, start, end)
                    }
                    _ => end,
                };
                Ok(Node {
                    start,
                    end,
                    kind: Kind::Scalar {
                        value: value.into_owned(),
                        style,
                        anchor,
                    },
                })
            }
            Event::Alias(_) => {
                let name = self
                    .anchor_name(start, '*')
                    .ok_or(EditError::UnsupportedMember { line })?;
                self.aliases.push((name.clone(), start));
                Ok(Node {
                    start,
                    end,
                    kind: Kind::Alias(name),
                })
            }
            Event::SequenceStart(anchor_id, ref tag) | Event::MappingStart(anchor_id, ref tag) => {
                if tag.is_some() {
                    return Err(EditError::Tag { line });
                }
                if anchor_id != 0 {
                    return Err(EditError::AnchorOnCollection { line });
                }
                let is_map = matches!(event, Event::MappingStart(..));
                let flow = matches!(self.text.as_bytes().get(start), Some(b'[' | b'{'));
                let mut children = Vec::new();
                let close_end = loop {
                    match self.events.get(self.position) {
                        Some((Event::SequenceEnd | Event::MappingEnd, close_start, _)) => {
                            // The span of `]`/`}` also runs on over a comment after it.
                            let close_end = *close_start + 1;
                            self.position += 1;
                            break close_end;
                        }
                        Some(_) => children.push(self.node()?),
                        None => {
                            return Err(EditError::Syntax {
                                line,
                                column: 1,
                                message: "unterminated collection".to_owned(),
                            });
                        }
                    }
                };
                let end = if flow {
                    close_end
                } else {
                    children.last().map_or(start, |last| last.end.max(start))
                };
                let kind = if is_map {
                    let mut entries = Vec::new();
                    let mut children = children.into_iter();
                    while let (Some(key), Some(value)) = (children.next(), children.next()) {
                        if key.is_flow() || !matches!(key.kind, Kind::Scalar { .. }) {
                            return Err(EditError::FieldType {
                                field: "a mapping key".to_owned(),
                                line: self.lines.line(key.start),
                                expected: "a scalar",
                            });
                        }
                        entries.push((key, value));
                    }
                    Kind::Map { flow, entries }
                } else {
                    Kind::Seq {
                        flow,
                        items: children,
                    }
                };
                Ok(Node { start, end, kind })
            }
            _ => Err(EditError::Syntax {
                line,
                column: 1,
                message: "unexpected YAML event".to_owned(),
            }),
        }
    }
}
