//! The age file key as aesec's own stanzas (classic X25519 and post-quantum) carry it: its
//! size, the size of its sealed form (key and Poly1305 tag), and the key made from the bytes a
//! stanza's body opened to.

use age::DecryptError;
use age_core::format::FileKey;

/// An age file key.
pub(crate) const FILE_KEY_BYTES: usize = 16;
/// A stanza body: the sealed file key and its tag.
pub(crate) const BODY_BYTES: usize = FILE_KEY_BYTES + 16;

/// The file key a stanza's body opened to; any other length makes the header invalid.
pub(crate) fn from_opened(opened: &[u8]) -> Result<FileKey, DecryptError> {
    FileKey::try_init_with_mut(|key| {
        if opened.len() != FILE_KEY_BYTES {
            return Err(DecryptError::InvalidHeader);
        }
        key.copy_from_slice(opened);
        Ok(())
    })
}
