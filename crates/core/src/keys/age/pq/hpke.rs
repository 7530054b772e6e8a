//! The RFC 9180 HPKE base-mode key schedule for the one suite age uses: KEM MLKEM768-X25519
//! (`0x647a`), KDF HKDF-SHA256 (`0x0001`), AEAD ChaCha20Poly1305 (`0x0003`).
//!
//! age seals exactly one message per context (the 16-byte file key, empty aad), so the nonce is
//! always the base nonce (sequence number 0) and the exporter is never needed. The KEM itself
//! lives in the `x-wing` crate; this module turns its shared secret into the AEAD key.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::{Hkdf, HkdfExtract};
use sha2::Sha256;
use zeroize::Zeroizing;

/// `"HPKE"` ‖ KEM id ‖ KDF id ‖ AEAD id.
const SUITE_ID: &[u8; 10] = b"HPKE\x64\x7a\x00\x01\x00\x03";
/// The version label every labeled KDF call starts with.
const VERSION_LABEL: &[u8] = b"HPKE-v1";
/// HPKE mode `mode_base` (no PSK, no sender authentication).
const MODE_BASE: u8 = 0x00;

/// The AEAD key and base nonce derived from one KEM shared secret and `info`.
pub(super) struct Context {
    key: Zeroizing<[u8; 32]>,
    base_nonce: [u8; 12],
}

impl Context {
    /// `KeySchedule(mode_base, shared_secret, info, psk = "", psk_id = "")` of RFC 9180 §5.1.
    pub(super) fn new(shared_secret: &[u8; 32], info: &[u8]) -> Self {
        let psk_id_hash = labeled_extract(b"", b"psk_id_hash", b"");
        let info_hash = labeled_extract(b"", b"info_hash", info);
        let mut context = [0u8; 65];
        context[0] = MODE_BASE;
        context[1..33].copy_from_slice(psk_id_hash.as_ref());
        context[33..].copy_from_slice(info_hash.as_ref());
        let secret = labeled_extract(shared_secret, b"secret", b"");
        let kdf = Hkdf::<Sha256>::from_prk(secret.as_ref())
            .expect("an extracted key is exactly one hash long");
        let mut key = Zeroizing::new([0u8; 32]);
        labeled_expand(&kdf, b"key", &context, key.as_mut());
        let mut base_nonce = [0u8; 12];
        labeled_expand(&kdf, b"base_nonce", &context, &mut base_nonce);
        Self { key, base_nonce }
    }

    /// Seals `plaintext` as the first (and only) message of this context.
    pub(super) fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        self.cipher()
            .encrypt(
                Nonce::from_slice(&self.base_nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("ChaCha20Poly1305 seals any message shorter than 256 GiB")
    }

    /// Opens the first message of this context; `None` when the tag does not verify.
    pub(super) fn open(&self, aad: &[u8], ciphertext: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        self.cipher()
            .decrypt(
                Nonce::from_slice(&self.base_nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .ok()
            .map(Zeroizing::new)
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(Key::from_slice(self.key.as_ref()))
    }
}

/// `LabeledExtract(salt, label, ikm)`: HKDF-Extract over `"HPKE-v1" ‖ suite_id ‖ label ‖ ikm`.
fn labeled_extract(salt: &[u8], label: &[u8], ikm: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut extract = HkdfExtract::<Sha256>::new(Some(salt));
    for part in [VERSION_LABEL, SUITE_ID, label, ikm] {
        extract.input_ikm(part);
    }
    let (prk, _) = extract.finalize();
    Zeroizing::new(prk.into())
}

/// `LabeledExpand(prk, label, info, L)` with `L = out.len()`: HKDF-Expand over
/// `I2OSP(L, 2) ‖ "HPKE-v1" ‖ suite_id ‖ label ‖ info`.
fn labeled_expand(kdf: &Hkdf<Sha256>, label: &[u8], info: &[u8], out: &mut [u8]) {
    let length = u16::try_from(out.len())
        .expect("outputs are key and nonce sized")
        .to_be_bytes();
    kdf.expand_multi_info(&[&length, VERSION_LABEL, SUITE_ID, label, info], out)
        .expect("outputs are far below 255 hash lengths");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::age::pq::hpke_vector::field;

    #[test]
    fn matches_the_hpke_pq_vector() {
        assert_eq!(SUITE_ID.as_slice(), field("suite_id"));
        let shared: [u8; 32] = field("shared_secret").try_into().unwrap();
        let context = Context::new(&shared, &field("info"));
        assert_eq!(context.key.as_slice(), field("key"));
        assert_eq!(context.base_nonce.as_slice(), field("base_nonce"));
        // The first encryption uses sequence number 0, so its nonce is the base nonce.
        assert_eq!(field("encryptions[0].nonce"), field("base_nonce"));
        let aad = field("encryptions[0].aad");
        let sealed = context.seal(&aad, &field("encryptions[0].pt"));
        assert_eq!(sealed, field("encryptions[0].ct"));
        let opened = context.open(&aad, &sealed).unwrap();
        assert_eq!(opened.as_slice(), field("encryptions[0].pt"));
        assert!(context.open(b"", &sealed).is_none());
    }
}
