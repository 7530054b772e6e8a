//! A large document read in pieces: cut at top-level keys, the pieces parsed in parallel (each
//! by [`super::simple`] when it can, else by the full reader) and their entries joined.
//!
//! A top-level key in column 0 starts the same entry of the root map whether the text before it
//! is there or not, once the text before it parses on its own: a quoted scalar or flow
//! collection still open at the cut leaves that text unterminated (an error), and a block or
//! plain scalar ends at column 0. So the pieces give the whole document's entries, in order,
//! provided nothing reaches across a cut:
//!
//! - no alias (`*`) anywhere: an alias could name an anchor of another piece, and expansion
//!   limits count over the whole input;
//! - no document marker (`---`, `...`) or directive (`%`) at the start of a line: several
//!   documents, or a `%TAG` that applies past the cut;
//! - no NEL, LS or PS and no carriage return: every line break is a `\n`, which is where cuts go;
//! - the root map in column 0 (its first line a key there), as every piece after a cut has it;
//! - a cut only before a line that starts with a letter, digit or `_` (a key) and follows a
//!   line with no `#` that is not blank: comments are placed by what precedes and follows them,
//!   so none sits next to a cut;
//! - a key found in two pieces: the document is read whole (it reports the duplicate);
//! - every piece reads as root entries, at least one: a piece is never its own scalar document
//!   (a lone `null` line reads as one alone, but is a key without its `:` in the whole text).
//!
//! When any piece fails, or the conditions do not hold, [`parse`] gives `None` and the caller
//! reads the document whole, so every error is the whole reader's. Equality with the whole
//! reader is tested on every vector, the corpus and generated documents (`tests.rs`).

use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

use rayon::prelude::*;

use super::line_breaks::is_unicode_break;
use super::{Scalars, parse_text, simple};
use crate::tree::{Branch, Item, Tree};

/// The size a piece grows to before the next cut: small enough to spread a large file over
/// every core, large enough that a piece's fixed cost does not show.
pub(super) const PIECE_BYTES: usize = 32 * 1024;

/// The document read in pieces of at least `piece_bytes`, or `None` when it must be read whole
/// (see the module documentation). A text too small to cut is given to [`super::simple`] alone:
/// the full reader would only repeat the caller's work. The root keys of all pieces are checked
/// for repeats here (the fast reader leaves them to this check), by their hashes: each piece
/// hashes its own keys in the parallel step, and only the hashes are compared after it.
pub(super) fn parse(text: &str, piece_bytes: usize) -> Option<Tree> {
    let pieces = cut(text, piece_bytes)?;
    let seed = RandomState::new();
    let hashed = |branch: Branch| {
        let hashes = key_hashes(&branch, &seed);
        (branch, hashes)
    };
    let read: Vec<(Branch, Vec<u64>)> = if let [whole] = pieces.as_slice() {
        vec![hashed(simple::parse(whole)?)]
    } else {
        pieces
            .par_iter()
            .map(|piece| parse_piece(piece).map(hashed))
            .collect::<Option<_>>()?
    };
    let entries = read.iter().map(|(branch, _)| branch.len()).sum();
    // A key seen twice, or two keys of the same hash (with a random seed: by chance only),
    // sends the document to the whole reader.
    let mut seen =
        HashSet::with_capacity_and_hasher(entries, BuildHasherDefault::<Seeded>::default());
    if !read
        .iter()
        .flat_map(|(_, hashes)| hashes)
        .all(|&hash| seen.insert(hash))
    {
        return None;
    }
    let mut items = Vec::with_capacity(entries);
    for (branch, _) in read {
        items.extend(branch);
    }
    Some(Tree::single(items))
}

/// The hashes, under `seed`, of a branch's keys.
fn key_hashes(branch: &Branch, seed: &RandomState) -> Vec<u64> {
    branch
        .iter()
        .filter_map(|item| match item {
            Item::Entry { key, .. } => Some(seed.hash_one(key.as_str())),
            Item::Comment(_) => None,
        })
        .collect()
}

/// A hasher for values that are already hashes under a random seed: it keeps them as they are.
#[derive(Default)]
struct Seeded(u64);

impl Hasher for Seeded {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }
}

/// One piece's root entries: the fast reader's, else the full reader's when the piece is one
/// document holding a map. Every piece holds a line that starts a key in column 0, so a piece
/// read without an entry was not a map: a lone `null` line is a document of its own, a null,
/// but a key without its `:` in the whole text.
fn parse_piece(piece: &str) -> Option<Branch> {
    let branch = match simple::parse(piece) {
        Some(branch) => branch,
        None => {
            let mut tree = parse_text(piece, Scalars::Typed).ok()?;
            if tree.branches.len() != 1 {
                return None;
            }
            tree.branches.pop()?
        }
    };
    let has_entry = branch.iter().any(|item| matches!(item, Item::Entry { .. }));
    has_entry.then_some(branch)
}

/// The text cut into pieces of at least `piece_bytes` at allowed cuts (the first allowed one
/// past each piece's size); `None` when the text must be read whole. One piece when the text
/// is small.
fn cut(text: &str, piece_bytes: usize) -> Option<Vec<&str>> {
    let bytes = text.as_bytes();
    if bytes.contains(&b'*')
        || bytes.contains(&b'\r')
        || (!text.is_ascii() && text.contains(is_unicode_break))
    {
        return None;
    }
    let marker_first = ["---", "...", "%"]
        .iter()
        .any(|marker| text.starts_with(marker));
    let marker_later = ["\n---", "\n...", "\n%"]
        .iter()
        .any(|marker| text.contains(marker));
    if marker_first || marker_later {
        return None;
    }
    // The root map must start in column 0, as every piece after a cut does.
    let first_content = text
        .trim_start_matches('\u{feff}')
        .lines()
        .find(|line| !line.trim_start().is_empty() && !line.trim_start().starts_with('#'));
    if !first_content.is_some_and(|line| line.starts_with(starts_key)) {
        return Some(vec![text]);
    }
    let mut pieces = Vec::new();
    let mut piece_start: usize = 0;
    while let Some(at) = next_cut(bytes, piece_start.saturating_add(piece_bytes.max(1))) {
        pieces.push(&text[piece_start..at]);
        piece_start = at;
    }
    pieces.push(&text[piece_start..]);
    Some(pieces)
}

/// The first allowed cut at or after `from`: the start of a line that begins with a letter,
/// digit or `_`, after a line that is not blank and holds no `#`.
fn next_cut(bytes: &[u8], from: usize) -> Option<usize> {
    // The line start at or after `from`, and where the line before it starts.
    let mut at = from.checked_sub(1)?;
    loop {
        let newline = at + bytes.get(at..)?.iter().position(|&c| c == b'\n')?;
        let line_start = newline + 1;
        let previous_start = bytes
            .get(..newline)?
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |n| n + 1);
        let previous = bytes.get(previous_start..newline)?;
        let starts_key = bytes
            .get(line_start)
            .is_some_and(|&c| starts_key(char::from(c)));
        if starts_key
            && !previous.contains(&b'#')
            && previous.iter().any(|c| !c.is_ascii_whitespace())
        {
            return Some(line_start);
        }
        at = line_start;
    }
}

/// Whether a line starting with `c` in column 0 may start a root key where a cut goes.
fn starts_key(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests;
