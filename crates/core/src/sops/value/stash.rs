//! The IV stash: IVs of decrypted values, so that an unchanged value keeps its ciphertext.

use std::collections::HashMap;
use std::fmt;

use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use super::{IV_BYTES, RandomError, ValueType, fill_random};

/// IVs of decrypted values, reused when the same value is encrypted again at the same path.
///
/// sops keeps a map from (plaintext, AAD) to IV in its cipher: re-encrypting an unchanged value
/// after `edit`, `set` or `rotate` then gives the same `iv` (and, with the same key, the same
/// ciphertext). Here the map key is a SHA-256 over a per-stash random salt, the AAD, the type
/// and the plaintext bytes (sops' `ToBytes`), so the stash holds no plaintext; the salt is
/// zeroized on drop, which leaves the stored digests unlinkable to any value. Only 32-byte IVs
/// are stashed.
#[derive(Default)]
pub(crate) struct IvStash {
    salt: Option<Zeroizing<[u8; 32]>>,
    ivs: HashMap<[u8; 32], [u8; IV_BYTES]>,
}

impl fmt::Debug for IvStash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IvStash")
            .field("len", &self.ivs.len())
            .finish_non_exhaustive()
    }
}

impl IvStash {
    /// An empty stash.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The number of stashed IVs.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.ivs.len()
    }

    fn digest(salt: &[u8; 32], aad: &[u8], value_type: ValueType, plaintext: &[u8]) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(salt);
        hasher.update((aad.len() as u64).to_be_bytes());
        hasher.update(aad);
        hasher.update([value_type.tag()]);
        hasher.update(plaintext);
        hasher.finalize().into()
    }

    /// Records that `plaintext` of `value_type` at `aad` was encrypted with `iv`.
    ///
    /// # Errors
    ///
    /// [`RandomError`] when the salt cannot be generated (first record only).
    pub(crate) fn record(
        &mut self,
        aad: &[u8],
        value_type: ValueType,
        plaintext: &[u8],
        iv: &[u8],
    ) -> Result<(), RandomError> {
        let Ok(iv) = <[u8; IV_BYTES]>::try_from(iv) else {
            return Ok(());
        };
        let salt = match &self.salt {
            Some(salt) => salt,
            None => {
                let mut salt = Zeroizing::new([0u8; 32]);
                fill_random(&mut *salt)?;
                self.salt.insert(salt)
            }
        };
        let digest = Self::digest(salt, aad, value_type, plaintext);
        self.ivs.insert(digest, iv);
        Ok(())
    }

    /// The IV recorded for this exact value at this AAD, if any.
    pub(crate) fn lookup(
        &self,
        aad: &[u8],
        value_type: ValueType,
        plaintext: &[u8],
    ) -> Option<[u8; IV_BYTES]> {
        let salt = self.salt.as_ref()?;
        self.ivs
            .get(&Self::digest(salt, aad, value_type, plaintext))
            .copied()
    }
}
