//! The data key: the 32 bytes every value of a file is encrypted with, kept in a secret box.

use std::fmt;

use secrecy::{ExposeSecret, SecretBox};

use super::{DATA_KEY_BYTES, RandomError, fill_random};

/// A file's 32-byte data key: every value is encrypted with it.
///
/// The bytes live in a [`SecretBox`] and are zeroized on drop; `Debug` never shows them.
pub struct DataKey(SecretBox<[u8; DATA_KEY_BYTES]>);

/// A slice that is not 32 bytes long was given as a data key.
#[derive(Debug, thiserror::Error)]
#[error("a data key must be {DATA_KEY_BYTES} bytes, got {len}")]
pub struct DataKeyLengthError {
    /// The length that was given.
    pub len: usize,
}

impl DataKey {
    /// A fresh random data key, as sops makes on `encrypt` and `rotate`.
    ///
    /// # Errors
    ///
    /// [`RandomError`] when the operating system's random number generator fails.
    pub fn generate() -> Result<Self, RandomError> {
        let mut failure = None;
        let secret = SecretBox::init_with_mut(|bytes: &mut [u8; DATA_KEY_BYTES]| {
            failure = fill_random(bytes).err();
        });
        match failure {
            Some(error) => Err(error),
            None => Ok(Self(secret)),
        }
    }

    /// Wraps 32 bytes (for example a data key decrypted by a master key).
    ///
    /// # Errors
    ///
    /// [`DataKeyLengthError`] when `bytes` is not 32 bytes long.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DataKeyLengthError> {
        if bytes.len() != DATA_KEY_BYTES {
            return Err(DataKeyLengthError { len: bytes.len() });
        }
        Ok(Self(SecretBox::init_with_mut(
            |key: &mut [u8; DATA_KEY_BYTES]| {
                key.copy_from_slice(bytes);
            },
        )))
    }

    /// The key bytes. Each call is a place where key material leaves its wrapper.
    pub fn expose_secret(&self) -> &[u8; DATA_KEY_BYTES] {
        self.0.expose_secret()
    }
}

impl Clone for DataKey {
    fn clone(&self) -> Self {
        let bytes = self.expose_secret();
        Self(SecretBox::init_with_mut(
            |key: &mut [u8; DATA_KEY_BYTES]| {
                key.copy_from_slice(bytes);
            },
        ))
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKey").finish_non_exhaustive()
    }
}
