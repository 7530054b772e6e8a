//! Internals the criterion benches (`crates/core/benches`) measure, behind thin wrappers.
//!
//! The value cipher, the MAC and the tree cipher are `pub(crate)`: they are not part of the
//! API an embedder uses. The benches are separate crates, so they reach these internals here,
//! in the test-only module that the `fuzzing` feature (enabled by aesec's own dev-dependency on
//! itself) compiles. Each wrapper calls exactly the function it names and adds nothing that
//! would change what is measured.

use zeroize::Zeroizing;

use crate::sops::DataKey;
use crate::sops::crypt::{self, DecryptError, EncryptError};
use crate::sops::mac::{self, MacHex, MacScope};
use crate::sops::value::{self, Cipher, EncryptedValue, IvStash, ValueError, ValueType};
use crate::{CryptRule, Tree, Value};

/// The IV length of the value cipher, in bytes.
pub const IV_BYTES: usize = value::IV_BYTES;

/// The value cipher (AES-256-GCM with sops' 32-byte IVs) for one data key.
pub struct ValueCipher(Cipher);

/// One encrypted value, as [`ValueCipher::encrypt`] returns it.
pub struct Sealed(EncryptedValue);

/// A MAC over a tree's leaves (kept opaque: it is a secret until encrypted).
pub struct Mac(
    #[expect(
        dead_code,
        reason = "only held, so that a bench's `black_box` keeps the MAC work"
    )]
    MacHex,
);

impl ValueCipher {
    /// The cipher for `key`.
    pub fn new(key: &DataKey) -> Self {
        Self(Cipher::new(key))
    }

    /// Encrypts raw plaintext bytes of `value_type` with `aad` and `iv`.
    ///
    /// # Errors
    ///
    /// [`ValueError`] as the value cipher returns it.
    pub fn encrypt(
        &self,
        plaintext: &[u8],
        value_type: ValueType,
        aad: &[u8],
        iv: &[u8; IV_BYTES],
    ) -> Result<Sealed, ValueError> {
        self.0.encrypt(plaintext, value_type, aad, iv).map(Sealed)
    }

    /// Decrypts `sealed` with `aad`.
    ///
    /// # Errors
    ///
    /// [`ValueError`] as the value cipher returns it.
    pub fn decrypt(&self, sealed: &Sealed, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, ValueError> {
        self.0.decrypt(&sealed.0, aad)
    }

    /// Encrypts a typed leaf to its `ENC[...]` text (`None` where sops leaves it in clear).
    ///
    /// # Errors
    ///
    /// [`ValueError`] as the value cipher returns it.
    pub fn encrypt_value(
        &self,
        value: &Value,
        aad: &[u8],
        iv: &[u8; IV_BYTES],
    ) -> Result<Option<String>, ValueError> {
        self.0.encrypt_value(value, aad, iv)
    }

    /// Decrypts `ENC[...]` text to its typed value.
    ///
    /// # Errors
    ///
    /// [`ValueError`] as the value cipher returns it.
    pub fn decrypt_value(&self, text: &[u8], aad: &[u8]) -> Result<Value, ValueError> {
        self.0.decrypt_value(text, aad)
    }
}

/// The MAC over every value (sops' default scope).
pub struct MacHasher(mac::MacHasher);

impl MacHasher {
    /// A hasher over all values.
    pub fn new() -> Self {
        Self(mac::MacHasher::new(MacScope::AllValues))
    }

    /// Adds one leaf's plaintext bytes.
    pub fn add_leaf(&mut self, plaintext: &[u8], encrypted: bool) {
        self.0.add_leaf(plaintext, encrypted);
    }

    /// The MAC of the leaves added.
    pub fn finish(self) -> Mac {
        Mac(self.0.finish())
    }
}

impl Default for MacHasher {
    fn default() -> Self {
        Self::new()
    }
}

/// Encrypts every leaf of `tree` in place under `rule` with a fresh IV stash, MAC over all
/// values.
///
/// # Errors
///
/// [`EncryptError`] as the tree cipher returns it.
pub fn encrypt_tree(
    tree: &mut Tree,
    key: &DataKey,
    rule: Option<&CryptRule>,
) -> Result<Mac, EncryptError> {
    crypt::encrypt_tree(tree, key, rule, MacScope::AllValues, &IvStash::new()).map(Mac)
}

/// Decrypts every leaf of `tree` in place under `rule`, recording IVs in a fresh stash as
/// [`Document::open`](crate::sops::Document::open) does, MAC over all values.
///
/// # Errors
///
/// [`DecryptError`] as the tree cipher returns it.
pub fn decrypt_tree(
    tree: &mut Tree,
    key: &DataKey,
    rule: Option<&CryptRule>,
) -> Result<Mac, DecryptError> {
    let mut stash = IvStash::new();
    crypt::decrypt_tree(tree, key, rule, MacScope::AllValues, Some(&mut stash)).map(Mac)
}
