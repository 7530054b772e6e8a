//! The `mlkem768x25519` stanza: wrapping a file key to a post-quantum recipient and unwrapping
//! it with an identity, in the order and with the failure classes of C2SP age and Go age's
//! `pq.go`.
//!
//! The stanza is `-> mlkem768x25519 <enc>` with `enc` the 1120-byte X-Wing ciphertext in
//! unpadded base64, and a body that is the file key sealed with HPKE base mode under
//! `info = "age-encryption.org/mlkem768x25519"` and an empty aad (32 bytes: key and tag).
//!
//! Unwrapping distinguishes, as Go does:
//! 1. another stanza type (compared case-sensitively): not ours, try the next stanza;
//! 2. a malformed stanza (argument count, non-canonical base64, sizes) or a non-contributory
//!    X25519 share (an all-zero shared secret): the header is invalid and decryption stops;
//! 3. a tag that does not verify: the stanza is for someone else, try the next one.

use std::io;

use age::{DecryptError, EncryptError};
use age_core::format::{FileKey, Stanza};
use age_core::secrecy::ExposeSecret;
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use zeroize::Zeroizing;

use super::hpke;
use super::kem::{CIPHERTEXT_BYTES, PrivateKey, PublicKey, RANDOMNESS_BYTES};
use crate::keys::age::file_key::{self, BODY_BYTES};

/// The stanza type.
pub(super) const TAG: &str = "mlkem768x25519";
/// The HPKE `info` that binds the key schedule to age.
const INFO: &[u8] = b"age-encryption.org/mlkem768x25519";

/// Wraps `file_key` to `recipient` in a fresh stanza.
///
/// # Errors
///
/// [`EncryptError::Io`] when the operating system's random source fails, or when the
/// recipient's X25519 point has low order, so that the X25519 shared secret would be all zero:
/// Go's `crypto/ecdh` refuses such a point ("bad X25519 remote ECDH input: low order point"),
/// and encrypting to it would leave only ML-KEM protecting the key.
pub(super) fn wrap(recipient: &PublicKey, file_key: &FileKey) -> Result<Stanza, EncryptError> {
    let mut randomness = Zeroizing::new([0u8; RANDOMNESS_BYTES]);
    getrandom::getrandom(randomness.as_mut()).map_err(|e| EncryptError::Io(io::Error::other(e)))?;
    let (enc, shared) = recipient.encapsulate(&randomness).map_err(|_| {
        EncryptError::Io(io::Error::new(
            io::ErrorKind::InvalidInput,
            "post-quantum recipient has a low-order X25519 point",
        ))
    })?;
    let body = hpke::Context::new(&shared, INFO).seal(b"", file_key.expose_secret());
    Ok(Stanza {
        tag: TAG.to_owned(),
        args: vec![STANDARD_NO_PAD.encode(enc.as_slice())],
        body,
    })
}

/// Unwraps the file key from `stanza` with `identity`: `None` when the stanza is not for it,
/// `Some(Err(DecryptError::InvalidHeader))` when the stanza is malformed.
pub(super) fn unwrap(
    identity: &PrivateKey,
    stanza: &Stanza,
) -> Option<Result<FileKey, DecryptError>> {
    if stanza.tag != TAG {
        return None;
    }
    let invalid = Some(Err(DecryptError::InvalidHeader));
    let [arg] = stanza.args.as_slice() else {
        return invalid;
    };
    // The base64 engine refuses padding and non-zero trailing bits: canonical encodings only.
    let Ok(enc) = STANDARD_NO_PAD.decode(arg) else {
        return invalid;
    };
    if stanza.body.len() != BODY_BYTES {
        return invalid;
    }
    let Ok(enc) = <&[u8; CIPHERTEXT_BYTES]>::try_from(enc.as_slice()) else {
        return invalid;
    };
    let Ok(shared) = identity.decapsulate(enc) else {
        // A non-contributory X25519 share: Go's ECDH fails, which aborts the header.
        return invalid;
    };
    let context = hpke::Context::new(&shared, INFO);
    let file_key = context.open(b"", &stanza.body)?;
    Some(file_key::from_opened(&file_key))
}
