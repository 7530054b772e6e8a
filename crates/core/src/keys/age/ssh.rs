//! Native SSH recipients (`ssh-ed25519 …`, `ssh-rsa …`, stanzas of the same names) as the
//! `age` crate wraps to them, with Go age's refusal of a low-order Ed25519 key.
//!
//! The crate turns an `ssh-ed25519` key into its X25519 point and wraps without checking the
//! shared secret: for a key of small order (the identity `AAAAC3NzaC1lZDI1NTE5AAAAIAEAAA…`,
//! and the other torsion points) that secret is zero whatever the ephemeral key, so the
//! stanza's wrapping key follows from public data and anyone can open it. A `.sops.yaml` that
//! lists such a "host key" would hand every file's data key to whoever reads the repository.
//! Go refuses the point at wrap time ("bad X25519 remote ECDH input: low order point") and so
//! does this type.

use std::collections::HashSet;
use std::fmt;
use std::io;

use age::EncryptError;
use age_core::format::{FileKey, Stanza};
use curve25519_dalek::edwards::CompressedEdwardsY;

/// An SSH recipient the age crate parsed, and whether its Ed25519 point has small order.
#[derive(Clone)]
pub(crate) struct SshRecipient {
    inner: age::ssh::Recipient,
    low_order: bool,
}

impl SshRecipient {
    /// `inner`, parsed by the age crate from `text`.
    pub(crate) fn new(inner: age::ssh::Recipient, text: &str) -> Self {
        let low_order = crate::keys::ssh::ed25519_public_key(text)
            .and_then(|key| CompressedEdwardsY(key).decompress())
            .is_some_and(|point| point.is_small_order());
        Self { inner, low_order }
    }
}

impl fmt::Display for SshRecipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

impl age::Recipient for SshRecipient {
    fn wrap_file_key(
        &self,
        file_key: &FileKey,
    ) -> Result<(Vec<Stanza>, HashSet<String>), EncryptError> {
        if self.low_order {
            return Err(EncryptError::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                "ssh-ed25519 recipient is a low-order point",
            )));
        }
        self.inner.wrap_file_key(file_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `ssh-ed25519` line for the 32 bytes `key`.
    fn line(key: [u8; 32]) -> String {
        use base64::Engine;
        let mut blob = Vec::new();
        blob.extend_from_slice(&11u32.to_be_bytes());
        blob.extend_from_slice(b"ssh-ed25519");
        blob.extend_from_slice(&32u32.to_be_bytes());
        blob.extend_from_slice(&key);
        format!(
            "ssh-ed25519 {} host",
            base64::engine::general_purpose::STANDARD.encode(blob)
        )
    }

    fn parse(text: &str) -> SshRecipient {
        let inner = text.parse::<age::ssh::Recipient>().unwrap();
        SshRecipient::new(inner, text)
    }

    #[test]
    fn low_order_ed25519_keys_are_refused_and_others_wrap() {
        let file_key = FileKey::new(Box::new([5u8; 16]));
        // The identity (y = 1) and the point of order 2 (y = −1).
        let mut minus_one = [0xffu8; 32];
        minus_one[0] = 0xec;
        minus_one[31] = 0x7f;
        let mut identity = [0u8; 32];
        identity[0] = 1;
        for key in [identity, minus_one] {
            let recipient = parse(&line(key));
            assert!(recipient.low_order, "{key:02x?}");
            let result = age::Recipient::wrap_file_key(&recipient, &file_key);
            assert!(
                matches!(&result, Err(EncryptError::Io(e)) if e.kind() == io::ErrorKind::InvalidInput)
            );
        }
        let real = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOHz+U0YtjINc54dZiJNclfmEFifF7RXCFlNlTbuZBji joerg@turingmachine";
        let recipient = parse(real);
        assert!(!recipient.low_order);
        assert!(age::Recipient::wrap_file_key(&recipient, &file_key).is_ok());
        assert_eq!(
            recipient.to_string(),
            real.parse::<age::ssh::Recipient>().unwrap().to_string()
        );
    }
}
