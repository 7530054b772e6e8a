//! The end of a block scalar (`|`, `>`) whose last line ends the input without a line break:
//! go-yaml reads no break there, saphyr adds one (issue 11 §3).

use saphyr_parser::Span;

use super::Builder;

impl Builder<'_, '_> {
    /// Whether saphyr ended the block scalar at `span` (read as `value`) with a line break that
    /// go-yaml does not read: the block's last line runs to the end of the input unterminated.
    ///
    /// go-yaml (`yaml_parser_scan_block_scalar`) keeps only the breaks it reads, so `k: |\n  a`
    /// at the end of a file is `"a"` in sops 3.11, with `|`, `|+`, `>`, `|2` alike. saphyr adds
    /// a `\n` for that last line when it is a content line or blanks at least as deep as the
    /// block's indentation, and, for a `+` block with no content, when it follows the header.
    pub(super) fn break_added_at_end(
        &self,
        value: &str,
        span: &Span,
        has_properties: bool,
    ) -> bool {
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
}

/// A line break in the text saphyr reads (NEL, LS and PS already made `\n`).
fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\r')
}
