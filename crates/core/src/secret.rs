//! A growing byte buffer for decrypted text that never leaves a copy behind in freed memory.

use rayon::prelude::*;
use zeroize::{Zeroize, Zeroizing};

/// The first capacity a [`SecretBuf`] grows to, in bytes.
pub(crate) const START_BYTES: usize = 4096;

/// Bytes that are wiped when dropped and whenever the buffer grows.
///
/// A `Vec` that grows reallocates and frees its old allocation with the bytes still in it; this
/// buffer grows by copying into a new, larger allocation and wiping the old one first (see
/// [`grow`]). The emitters write plaintext documents into it.
#[derive(Default)]
pub(crate) struct SecretBuf {
    /// The bytes so far, wiped on drop.
    bytes: Zeroizing<Vec<u8>>,
}

impl SecretBuf {
    /// An empty buffer (it allocates on the first write).
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// An empty buffer with room for `capacity` bytes (allocated now, wiped on drop).
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            bytes: Zeroizing::new(Vec::with_capacity(capacity)),
        }
    }

    /// Makes room for `additional` more bytes, growing by a wiped copy when needed.
    #[inline]
    pub(crate) fn reserve(&mut self, additional: usize) {
        if self.bytes.capacity() - self.bytes.len() < additional {
            self.grow_for(additional);
        }
    }

    /// The growth step of [`Self::reserve`], out of the way of every write that fits.
    #[cold]
    fn grow_for(&mut self, additional: usize) {
        let needed = self.bytes.len().saturating_add(additional);
        let wanted = needed
            .max(self.bytes.capacity().saturating_mul(2))
            .max(START_BYTES);
        // The old allocation is wiped by `grow` and again as its `Zeroizing` drops.
        self.bytes = Zeroizing::new(grow(&mut self.bytes, wanted));
    }

    /// Appends `bytes`.
    pub(crate) fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.reserve(bytes.len());
        self.bytes.extend_from_slice(bytes);
    }

    /// Appends one byte.
    pub(crate) fn push(&mut self, byte: u8) {
        self.reserve(1);
        self.bytes.push(byte);
    }

    /// Appends `text` UTF-8-encoded.
    pub(crate) fn push_str(&mut self, text: &str) {
        self.extend_from_slice(text.as_bytes());
    }

    /// Appends one character UTF-8-encoded.
    pub(crate) fn push_char(&mut self, c: char) {
        let mut utf8 = [0_u8; 4];
        self.push_str(c.encode_utf8(&mut utf8));
    }

    /// Appends `count` copies of `byte`.
    pub(crate) fn push_repeated(&mut self, byte: u8, count: usize) {
        self.reserve(count);
        let len = self.bytes.len() + count;
        self.bytes.resize(len, byte);
    }

    /// `pieces` joined in order. The copies run in parallel (a large output's fresh pages are
    /// first touched here, on every core), and each piece is wiped and freed as it is copied.
    pub(crate) fn concat(pieces: Vec<Self>) -> Self {
        let total = pieces.iter().map(|piece| piece.bytes.len()).sum();
        // Zeroed memory: fresh pages from the allocator, not written until the copies.
        let mut bytes = Zeroizing::new(vec![0_u8; total]);
        let mut rest = bytes.as_mut_slice();
        let mut copies = Vec::with_capacity(pieces.len());
        for piece in pieces {
            let (target, tail) = std::mem::take(&mut rest).split_at_mut(piece.bytes.len());
            copies.push((target, piece));
            rest = tail;
        }
        copies
            .into_par_iter()
            .for_each(|(target, piece)| target.copy_from_slice(&piece.bytes));
        Self { bytes }
    }

    /// The bytes so far.
    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.bytes
    }

    /// The bytes, still wiped when dropped.
    pub(crate) fn into_inner(self) -> Zeroizing<Vec<u8>> {
        self.bytes
    }
}

impl std::fmt::Debug for SecretBuf {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "SecretBuf({} bytes)", self.bytes.len())
    }
}

/// Copies `old` into a new allocation of at least `capacity` bytes and wipes `old`'s bytes
/// (they read as zeros afterwards), so that freeing `old` frees no secret.
fn grow(old: &mut Vec<u8>, capacity: usize) -> Vec<u8> {
    let mut larger = Vec::with_capacity(capacity.max(old.len()));
    larger.extend_from_slice(old);
    old.as_mut_slice().zeroize();
    larger
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 6 item 9: growing copies the bytes out and leaves zeros in the old allocation.
    #[test]
    fn grow_wipes_the_old_allocation() {
        let mut old = b"AGE-SECRET-KEY-1SECRET".to_vec();
        let larger = grow(&mut old, 100);
        assert_eq!(larger, b"AGE-SECRET-KEY-1SECRET");
        assert!(larger.capacity() >= 100);
        assert_eq!(old.len(), larger.len());
        assert!(old.iter().all(|&byte| byte == 0), "{old:?}");
    }

    /// Every write keeps the bytes whole across growth, and growth happens only through the
    /// wiped copy: the capacity follows the doubling schedule of `reserve`, never `Vec`'s own.
    #[test]
    fn writes_survive_growth() {
        let mut buffer = SecretBuf::new();
        let mut expected = Vec::new();
        for i in 0..3 * START_BYTES {
            let byte = u8::try_from(i % 251).unwrap();
            match i % 4 {
                0 => buffer.push(byte),
                1 => buffer.push_char(char::from(byte)),
                2 => buffer.push_repeated(byte, 2),
                _ => buffer.extend_from_slice(&[byte; 3]),
            }
            match i % 4 {
                0 => expected.push(byte),
                1 => expected.extend_from_slice(char::from(byte).to_string().as_bytes()),
                2 => expected.extend_from_slice(&[byte; 2]),
                _ => expected.extend_from_slice(&[byte; 3]),
            }
            let capacity = buffer.bytes.capacity();
            assert!(capacity == START_BYTES || (capacity / START_BYTES).is_power_of_two());
        }
        assert_eq!(buffer.as_slice(), &expected[..]);
        assert_eq!(
            format!("{buffer:?}"),
            format!("SecretBuf({} bytes)", expected.len())
        );
        let bytes: Zeroizing<Vec<u8>> = buffer.into_inner();
        assert_eq!(&bytes[..], &expected[..]);
    }

    /// Joining keeps every byte in order, empty pieces included, whatever the pieces' sizes.
    #[test]
    fn concat_joins_the_pieces_in_order() {
        let sizes = [0, 1, 4095, 0, START_BYTES, 3 * START_BYTES + 7, 2];
        let mut expected = Vec::new();
        let pieces = sizes
            .iter()
            .enumerate()
            .map(|(index, &size)| {
                let byte = u8::try_from(index).unwrap();
                let mut piece = SecretBuf::new();
                piece.push_repeated(byte, size);
                expected.extend(std::iter::repeat_n(byte, size));
                piece
            })
            .collect();
        assert_eq!(SecretBuf::concat(pieces).as_slice(), &expected[..]);
        assert!(SecretBuf::concat(Vec::new()).as_slice().is_empty());
    }

    /// The plaintext a document emits, in every store, comes back in a wiping buffer, whole
    /// (a document larger than the first capacity, so the emitter's buffer grew).
    #[test]
    fn to_plaintext_returns_a_wiping_buffer() {
        use crate::sops::document::{Document, EncryptionRules};
        use crate::store::{EmitOptions, Format};

        let plaintext: String = (0..2 * START_BYTES / 16)
            .map(|i| format!("k{i:05}: secret{i:05}\n"))
            .collect();
        let document = Document::from_plaintext(
            plaintext.as_bytes(),
            Format::Yaml,
            &EncryptionRules::default(),
        )
        .unwrap();
        let options = EmitOptions::default();
        for format in [Format::Yaml, Format::Json, Format::Dotenv] {
            let emitted: Zeroizing<Vec<u8>> = document.to_plaintext(format, &options).unwrap();
            assert!(emitted.len() > START_BYTES, "{format:?}");
            let text = String::from_utf8_lossy(&emitted);
            assert!(
                text.contains("secret00000") && text.contains("secret00511"),
                "{format:?}"
            );
        }
        let yaml: Zeroizing<Vec<u8>> = document.to_plaintext(Format::Yaml, &options).unwrap();
        assert_eq!(&yaml[..], plaintext.as_bytes());
    }
}
