//! The input indexed by character, as saphyr's spans count, and the end of a quoted scalar in it.

/// The index after the closing quote of the quoted scalar whose span starts at `start` (an
/// anchor or tag included), searching no further than `limit`.
pub(super) fn quoted_end(chars: CharText<'_>, start: usize, limit: usize) -> usize {
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
pub(super) enum CharText<'a> {
    /// ASCII: one byte, one character.
    Ascii(&'a [u8]),
    /// Decoded characters.
    Decoded(&'a [char]),
}

impl CharText<'_> {
    /// The character at `index`.
    pub(super) fn at(self, index: usize) -> Option<char> {
        match self {
            Self::Ascii(bytes) => bytes.get(index).map(|&b| char::from(b)),
            Self::Decoded(chars) => chars.get(index).copied(),
        }
    }

    /// The number of characters.
    pub(super) fn len(self) -> usize {
        match self {
            Self::Ascii(bytes) => bytes.len(),
            Self::Decoded(chars) => chars.len(),
        }
    }
}
