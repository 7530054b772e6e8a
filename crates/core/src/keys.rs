//! Keys: age identities and recipients, SSH keys converted to age, and sops' key discovery.

pub mod age;
pub mod discovery;
pub mod ssh;

/// The chunk size of [`read_secret`], and the first capacity of its buffer (an identity file
/// fits).
const SECRET_READ_START_BYTES: usize = crate::secret::START_BYTES;

/// Reads all of `reader` (a decrypted identity file, a key) into a buffer that is wiped when
/// dropped. The buffer is a [`crate::secret::SecretBuf`]: it grows by a wiped copy, so no
/// reallocation frees memory that still holds part of the secret, as `read_to_end` would.
pub(crate) fn read_secret(
    mut reader: impl std::io::Read,
) -> std::io::Result<zeroize::Zeroizing<Vec<u8>>> {
    let mut buffer = crate::secret::SecretBuf::new();
    let mut chunk = zeroize::Zeroizing::new([0_u8; SECRET_READ_START_BYTES]);
    loop {
        let read = match reader.read(chunk.as_mut_slice()) {
            Ok(0) => return Ok(buffer.into_inner()),
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        buffer.extend_from_slice(chunk.get(..read).unwrap_or_default());
    }
}

#[cfg(test)]
mod read_secret_tests {
    use super::*;

    /// Issue 6 item 9: the buffer never grows in place (each growth is a wiped copy), and the
    /// bytes come through whole.
    #[test]
    fn reads_everything_without_growing_in_place() {
        let text: Vec<u8> = (0..3 * SECRET_READ_START_BYTES + 17)
            .map(|i| u8::try_from(i % 251).unwrap())
            .collect();
        let buffer = read_secret(text.as_slice()).unwrap();
        assert_eq!(&buffer[..], &text[..]);
        assert!(buffer.capacity() >= text.len());
        let small = read_secret(&b"AGE-SECRET-KEY-1X\n"[..]).unwrap();
        assert_eq!(&small[..], b"AGE-SECRET-KEY-1X\n");
        assert_eq!(small.capacity(), SECRET_READ_START_BYTES);
    }
}
