//! The age master key: one armored age file per recipient, as sops' `age/keysource.go` writes.
//!
//! Encryption makes a binary age file for a single recipient (X25519 or native SSH) and armors
//! it the way Go's `armor.NewWriter` does: standard base64 with padding, 64-column lines, LF
//! line endings on every platform, and a trailing newline after the footer (the age crate's own
//! armor writer uses CRLF on Windows). The age crate adds a random grease stanza, which Go age
//! and sops ignore. Decryption strips leading white space (Go's armor reader skips it, the age
//! crate's does not), accepts CRLF, and tries every identity.

use std::collections::HashMap;
use std::fmt;
use std::io::{Read, Write};
use std::sync::Mutex;

use base64::Engine;
use memchr::memmem;
use zeroize::Zeroizing;

use crate::keys::age::{Identities, Recipient};
use crate::sops::master_key::{KeyDecryptor, MasterKey, MasterKeyError};
use crate::sops::metadata::KeyEntry;

const ARMOR_BEGIN: &str = "-----BEGIN AGE ENCRYPTED FILE-----\n";
const ARMOR_END: &str = "-----END AGE ENCRYPTED FILE-----\n";
const ARMOR_COLUMNS: usize = 64;

/// The longest `enc` text of an age entry that is read. sops wraps one data key for one
/// recipient per entry: about 400 bytes for X25519, 1,100 for a 4096-bit SSH RSA key, 2,300
/// for a post-quantum key. 64 KiB leaves room for an age file made for dozens of recipients,
/// and bounds the stanzas (one Diffie-Hellman each, per identity) a hostile entry can ask for.
pub const MAX_AGE_ENTRY_BYTES: usize = 64 << 10;

/// The most stanzas one entry may hold. sops wraps the data key for one recipient per entry,
/// and the age crate adds one grease stanza: two at most. An X25519 or post-quantum stanza
/// names no recipient, so every identity pays a Diffie-Hellman to try it; with this bound and
/// [`MAX_KEY_ENTRIES`](crate::sops::MAX_KEY_ENTRIES) a hostile file's cost has a ceiling.
pub const MAX_STANZAS_PER_ENTRY: usize = 16;

/// The most plaintext read from an entry: a data key or share is 32 or 33 bytes, so anything
/// much longer is refused without reading it all.
const MAX_PLAINTEXT_BYTES: u64 = 1024;

/// An age recipient as a sops master key.
#[derive(Clone)]
pub struct AgeMasterKey {
    recipient: Recipient,
}

impl AgeMasterKey {
    /// A master key for `recipient`.
    pub fn new(recipient: Recipient) -> Self {
        Self { recipient }
    }

    /// The recipient.
    pub fn recipient(&self) -> &Recipient {
        &self.recipient
    }

    /// One boxed master key per recipient: a key group ready for
    /// [`encrypt_data_key`](crate::sops::encrypt_data_key).
    pub fn group(recipients: impl IntoIterator<Item = Recipient>) -> Vec<Box<dyn MasterKey>> {
        recipients
            .into_iter()
            .map(|recipient| Box::new(Self::new(recipient)) as Box<dyn MasterKey>)
            .collect()
    }
}

impl From<Recipient> for AgeMasterKey {
    fn from(recipient: Recipient) -> Self {
        Self::new(recipient)
    }
}

impl fmt::Debug for AgeMasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgeMasterKey")
            .field("recipient", &self.recipient.to_string())
            .finish()
    }
}

impl MasterKey for AgeMasterKey {
    fn encrypt(&self, data: &[u8]) -> Result<KeyEntry, MasterKeyError> {
        let recipient = self.recipient.to_string();
        let encryptor = age::Encryptor::with_recipients(std::iter::once(self.recipient.as_age()))
            .map_err(|source| MasterKeyError::AgeEncrypt {
            recipient: recipient.clone(),
            source: Box::new(source),
        })?;
        let write_error = |source| MasterKeyError::AgeWrite {
            recipient: recipient.clone(),
            source,
        };
        let mut binary = Vec::with_capacity(512);
        let mut writer = encryptor.wrap_output(&mut binary).map_err(write_error)?;
        writer.write_all(data).map_err(write_error)?;
        writer.finish().map_err(write_error)?;
        Ok(KeyEntry::Age {
            enc: armor(&binary),
            recipient,
        })
    }

    fn identifier(&self) -> String {
        self.recipient.to_string()
    }
}

/// Armors a binary age file as Go age does: header, 64-column standard base64 lines, footer,
/// LF line endings, trailing newline.
pub(crate) fn armor(binary: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(binary);
    let lines = encoded.len().div_ceil(ARMOR_COLUMNS);
    let mut out =
        String::with_capacity(ARMOR_BEGIN.len() + encoded.len() + lines + ARMOR_END.len());
    out.push_str(ARMOR_BEGIN);
    let mut rest = encoded.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(ARMOR_COLUMNS));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str(ARMOR_END);
    out
}

/// Decrypts an armored (or binary) age file with any of `identities`.
///
/// # Errors
///
/// [`MasterKeyError::NoMatchingIdentity`] when no identity fits, [`MasterKeyError::AgeDecrypt`]
/// for a malformed file, [`MasterKeyError::AgeRead`] for a tampered or oversized payload,
/// [`MasterKeyError::AgeEntryTooLong`] for an entry longer than [`MAX_AGE_ENTRY_BYTES`].
pub(crate) fn decrypt_age_entry(
    recipient: &str,
    enc: &str,
    identities: &Identities,
) -> Result<Zeroizing<Vec<u8>>, MasterKeyError> {
    let decrypt_error = |source| match source {
        age::DecryptError::NoMatchingKeys => MasterKeyError::NoMatchingIdentity {
            recipient: recipient.to_owned(),
        },
        source => MasterKeyError::AgeDecrypt {
            recipient: recipient.to_owned(),
            source: Box::new(source),
        },
    };
    let read_error = |source| MasterKeyError::AgeRead {
        recipient: recipient.to_owned(),
        source,
    };
    if enc.len() > MAX_AGE_ENTRY_BYTES {
        return Err(MasterKeyError::AgeEntryTooLong {
            recipient: recipient.to_owned(),
            length: enc.len(),
        });
    }
    // The armor (or a binary file as it is) decoded once, to count the stanzas before any is
    // tried; the whole entry is at most MAX_AGE_ENTRY_BYTES.
    let mut binary = Vec::with_capacity(enc.len());
    age::armor::ArmoredReader::new(enc.trim_start().as_bytes())
        .read_to_end(&mut binary)
        .map_err(|source| decrypt_error(age::DecryptError::Io(source)))?;
    let stanzas = stanza_count(&binary);
    if stanzas > MAX_STANZAS_PER_ENTRY {
        return Err(MasterKeyError::TooManyStanzas {
            recipient: recipient.to_owned(),
            stanzas,
        });
    }
    // The buffered constructor reads the header a line at a time; the plain one parses it
    // again after every few bytes it reads (a third of an unwrap's time).
    let decryptor = age::Decryptor::new_buffered(binary.as_slice()).map_err(decrypt_error)?;
    let stream = decryptor
        .decrypt(identities.iter())
        .map_err(decrypt_error)?;
    let mut plaintext = Zeroizing::new(Vec::with_capacity(64));
    let read = stream
        .take(MAX_PLAINTEXT_BYTES + 1)
        .read_to_end(&mut plaintext)
        .map_err(read_error)?;
    if u64::try_from(read).unwrap_or(u64::MAX) > MAX_PLAINTEXT_BYTES {
        return Err(read_error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "payload is larger than any data key",
        )));
    }
    Ok(plaintext)
}

/// The stanzas of a binary age file: the lines starting `-> ` before the header's `--- ` MAC
/// line (a stanza's body lines are base64, so none starts so).
fn stanza_count(binary: &[u8]) -> usize {
    let header = memmem::find(binary, b"\n--- ").map_or(binary, |end| &binary[..end]);
    memmem::find_iter(header, b"\n-> ").count()
}

/// The most unwrapped entries an [`AgeDecryptor`] remembers (about 30 MiB of entry text).
const MAX_REMEMBERED: usize = 65_536;

/// Decrypts `age` entries with a set of identities.
///
/// It remembers what it unwrapped, by the entry's exact text: for one set of identities an
/// entry always gives the same bytes, so the same entry asked again (a fleet run verifies each
/// re-wrapped file with the entry it opened the file with) is answered without its
/// Diffie-Hellman. The remembered keys are wiped when the decryptor is dropped.
pub struct AgeDecryptor<'a> {
    identities: &'a Identities,
    unwrapped: Mutex<HashMap<Box<str>, Zeroizing<Vec<u8>>>>,
}

impl<'a> AgeDecryptor<'a> {
    /// A decryptor trying every identity of `identities`.
    pub fn new(identities: &'a Identities) -> Self {
        Self {
            identities,
            unwrapped: Mutex::default(),
        }
    }

    /// What `enc` gave before, if this decryptor unwrapped it.
    fn remembered(&self, enc: &str) -> Option<Zeroizing<Vec<u8>>> {
        self.unwrapped.lock().ok()?.get(enc).cloned()
    }

    /// Remembers what `enc` gave (up to [`MAX_REMEMBERED`] entries; a poisoned lock only
    /// means nothing more is remembered).
    fn remember(&self, enc: &str, bytes: &Zeroizing<Vec<u8>>) {
        if let Ok(mut unwrapped) = self.unwrapped.lock()
            && unwrapped.len() < MAX_REMEMBERED
        {
            unwrapped.insert(enc.into(), bytes.clone());
        }
    }
}

impl fmt::Debug for AgeDecryptor<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgeDecryptor")
            .field("identities", self.identities)
            .finish()
    }
}

impl KeyDecryptor for AgeDecryptor<'_> {
    fn decrypt(&self, entry: &KeyEntry) -> Option<Result<Zeroizing<Vec<u8>>, MasterKeyError>> {
        match entry {
            KeyEntry::Age { recipient, enc } => Some(match self.remembered(enc) {
                Some(bytes) => Ok(bytes),
                None => decrypt_age_entry(recipient, enc, self.identities).inspect(|bytes| {
                    self.remember(enc, bytes);
                }),
            }),
            _ => None,
        }
    }

    fn holds_key_for(&self, entry: &KeyEntry) -> bool {
        matches!(entry, KeyEntry::Age { recipient, .. } if self.identities.has_recipient(recipient))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn armor_is_go_style() {
        let binary: Vec<u8> = (0..=200u8).collect();
        let armored = armor(&binary);
        let lines: Vec<&str> = armored.lines().collect();
        assert_eq!(lines[0], "-----BEGIN AGE ENCRYPTED FILE-----");
        assert_eq!(*lines.last().unwrap(), "-----END AGE ENCRYPTED FILE-----");
        for line in &lines[1..lines.len() - 2] {
            assert_eq!(line.len(), 64);
        }
        assert!(!armored.contains('\r'));
        assert!(armored.ends_with("-----\n"));
        let body: String = lines[1..lines.len() - 1].concat();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        assert_eq!(decoded, binary);
        assert_eq!(armor(&[]), format!("{ARMOR_BEGIN}{ARMOR_END}"));
    }

    #[test]
    fn armor_starts_and_ends_as_go_age_writes() {
        let armored = armor(b"age-encryption.org/v1\n");
        assert!(armored.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\nYWdl"));
        assert!(armored.ends_with("\n-----END AGE ENCRYPTED FILE-----\n"));
    }

    /// The identities of one generated identity.
    fn identities_of(identity: &crate::keys::age::GeneratedIdentity) -> Identities {
        let mut identities = Identities::new();
        identities
            .add_identity_file_text(
                age::secrecy::ExposeSecret::expose_secret(&identity.to_identity_file("now")),
                "test",
            )
            .unwrap();
        identities
    }

    /// The `enc` text of an age entry.
    fn enc_of(entry: &KeyEntry) -> &str {
        let KeyEntry::Age { enc, .. } = entry else {
            panic!("age key made a non-age entry");
        };
        enc
    }

    #[test]
    fn round_trip_with_crlf_and_leading_space() {
        let identity = crate::keys::age::GeneratedIdentity::generate();
        let identities = identities_of(&identity);
        let key = AgeMasterKey::new(identity.recipient());
        let entry = key.encrypt(&[7u8; 32]).unwrap();
        let (recipient, enc) = (entry.identifier(), enc_of(&entry));
        assert_eq!(recipient, key.identifier());
        for variant in [
            enc.to_owned(),
            format!("\n  {enc}"),
            enc.replace('\n', "\r\n"),
            enc.trim_end().to_owned(),
        ] {
            let plain = decrypt_age_entry(&recipient, &variant, &identities).unwrap();
            assert_eq!(plain.as_slice(), &[7u8; 32]);
        }
        let shown = format!("{key:?} {:?}", AgeDecryptor::new(&identities));
        assert!(!shown.contains("AGE-SECRET-KEY"));
    }

    #[test]
    fn an_entry_longer_than_any_sops_writes_is_refused_unread() {
        let identity = crate::keys::age::GeneratedIdentity::generate();
        let identities = identities_of(&identity);
        let entry = AgeMasterKey::new(identity.recipient())
            .encrypt(&[7u8; 32])
            .unwrap();
        let enc = enc_of(&entry);
        // The same entry padded with white space to one byte past the limit: refused before
        // it is read; at the limit it still opens.
        for (length, refused) in [
            (MAX_AGE_ENTRY_BYTES, false),
            (MAX_AGE_ENTRY_BYTES + 1, true),
        ] {
            let padded = format!("{}{enc}", " ".repeat(length - enc.len()));
            let result = decrypt_age_entry("r", &padded, &identities);
            assert_eq!(
                matches!(result, Err(MasterKeyError::AgeEntryTooLong { length: l, .. }) if l == length),
                refused,
                "{length}"
            );
            assert_eq!(result.is_ok(), !refused);
        }
    }

    #[test]
    fn a_decryptor_remembers_what_it_unwrapped_by_the_entry_text() {
        let ours = crate::keys::age::GeneratedIdentity::generate();
        let identities = identities_of(&ours);
        let decryptor = AgeDecryptor::new(&identities);
        let wrap = |recipient| AgeMasterKey::new(recipient).encrypt(&[7u8; 32]).unwrap();
        let entry = wrap(ours.recipient());
        assert!(decryptor.remembered(enc_of(&entry)).is_none());
        let first = decryptor.decrypt(&entry).unwrap().unwrap();
        assert_eq!(first.as_slice(), &[7u8; 32]);
        assert_eq!(decryptor.remembered(enc_of(&entry)), Some(first.clone()));
        assert_eq!(decryptor.decrypt(&entry).unwrap().unwrap(), first);

        // Another wrap of the same key is other text: unwrapped on its own, not looked up.
        assert!(
            decryptor
                .remembered(enc_of(&wrap(ours.recipient())))
                .is_none()
        );
        // An entry for someone else fails, and failures are not remembered.
        let foreign = wrap(crate::keys::age::GeneratedIdentity::generate().recipient());
        assert!(decryptor.decrypt(&foreign).unwrap().is_err());
        assert!(decryptor.remembered(enc_of(&foreign)).is_none());
        // A decryptor of other identities shares nothing.
        let empty = Identities::new();
        assert!(AgeDecryptor::new(&empty).decrypt(&entry).unwrap().is_err());
    }
}
