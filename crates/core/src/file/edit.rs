//! An edit session: the plaintext of an encrypted file (or of a new one) handed out to be
//! changed, and the changed text taken back and sealed as `sops edit` seals it.
//!
//! The session holds the open [`Document`], so the data key never leaves the library, and it
//! keeps every hardening of opening and sealing: the MAC is checked and a value in clear where
//! the file's crypt rule requires encryption is refused ([`Document::open`] with default
//! options; there is no `ignore_mac` here), and values the edit did not change keep their
//! ciphertext (same data key, same IVs). Where the plaintext is edited is the caller's
//! business: the command line writes it to a private 0700 directory on a RAM-backed
//! filesystem and runs `$EDITOR` on it; an embedding tool may keep it in memory.

use std::fmt;

use zeroize::Zeroizing;

use crate::sops::{
    Document, EncryptionRules, KeyDecryptor, OpenError, OpenOptions, Recipients, SealError,
};
use crate::store::{EmitOptions, Format, StoreError};

/// Why an edit session could not start or finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    /// The encrypted file could not be opened (format, keys, MAC, a value in clear where it must
    /// be encrypted).
    #[error(transparent)]
    Open(OpenError),
    /// A new document could not be prepared for its recipients (the data key could not be
    /// generated or wrapped).
    #[error(transparent)]
    Create(SealError),
    /// The document cannot be written as plaintext in its format.
    #[error(transparent)]
    Plaintext(StoreError),
    /// The edited text is not a valid document in the session's format, or carries a sops
    /// metadata section. The session is unchanged: the caller may offer the text for another
    /// edit and call [`EditSession::finish`] again.
    #[error(transparent)]
    Invalid(SealError),
    /// The edited document could not be encrypted.
    #[error(transparent)]
    Seal(SealError),
}

/// The plaintext of an encrypted file, handed out for editing, and the way back (`sops edit`).
///
/// Start with [`EditSession::open`] (an existing file) or [`EditSession::create`] (a new one,
/// starting from [`example_document`]), give [`EditSession::plaintext`] to whatever edits it,
/// and pass the result to [`EditSession::finish`], which returns the new file's bytes, or
/// `None` when the text did not change (sops then writes nothing and exits 200).
///
/// Open a file, change a value, write it back:
///
/// ```
/// use aesec::file::EditSession;
/// use aesec::keys::age::Identities;
/// use aesec::sops::AgeDecryptor;
/// use aesec::store::{EmitOptions, Format};
///
/// # let vectors = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/sops");
/// let encrypted = std::fs::read(format!("{vectors}/vec.enc.json"))?;
/// let mut identities = Identities::new();
/// identities.add_identity_file_text(&std::fs::read_to_string(format!("{vectors}/vec.key"))?, "vec.key")?;
/// let decryptor = AgeDecryptor::new(&identities);
///
/// let mut session = EditSession::open(&encrypted, Format::Json, &[&decryptor], &EmitOptions::default())?;
/// let edited = std::str::from_utf8(session.plaintext())?.replace("\"alice\"", "\"bob\"");
/// let sealed = session.finish(edited.as_bytes())?.ok_or("the text did not change")?;
///
/// # let dir = std::env::temp_dir().join(format!("aesec-doc-edit-session-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let path = dir.join("vec.enc.json");
/// aesec::fs::write_atomic(&path, &sealed, aesec::fs::WriteOptions::keep_mode_or(0o644))?;
/// let written = String::from_utf8(std::fs::read(&path)?)?;
/// // The value that did not change keeps its ciphertext.
/// assert!(written.contains("data:mgQ=,iv:FONSQJ+9sBWmbUx7ERXV0mgEY7fg6iL4qP9ESohryi0="));
/// # std::fs::remove_dir_all(&dir)?;
///
/// // Saving the text as it was changes nothing.
/// let mut session = EditSession::open(written.as_bytes(), Format::Json, &[&decryptor], &EmitOptions::default())?;
/// assert!(std::str::from_utf8(session.plaintext())?.contains("\"user\": \"bob\""));
/// let same = session.plaintext().to_vec();
/// assert!(session.finish(&same)?.is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct EditSession {
    document: Document,
    plaintext: Zeroizing<Vec<u8>>,
    emit: EmitOptions,
}

impl EditSession {
    /// Opens an encrypted file for editing: recovers the data key with `decryptors`, checks the
    /// MAC, and renders the plaintext in `format` with `emit`'s layout (also used to seal).
    pub fn open(
        encrypted: &[u8],
        format: Format,
        decryptors: &[&dyn KeyDecryptor],
        emit: &EmitOptions,
    ) -> Result<Self, EditError> {
        let document = Document::open(encrypted, format, decryptors, &OpenOptions::default())
            .map_err(EditError::Open)?;
        Self::start(document, emit)
    }

    /// Starts a new file in `format` from [`example_document`], with a fresh data key wrapped
    /// for `recipients` and encrypted by `rules` (see [`crate::file::creation_recipients`]).
    pub fn create(
        format: Format,
        recipients: &Recipients,
        rules: &EncryptionRules,
        emit: &EmitOptions,
    ) -> Result<Self, EditError> {
        let mut document = Document::from_plaintext(example_document(format), format, rules)
            .map_err(EditError::Create)?;
        document.rewrap(recipients).map_err(EditError::Create)?;
        Self::start(document, emit)
    }

    fn start(document: Document, emit: &EmitOptions) -> Result<Self, EditError> {
        let plaintext = document
            .to_plaintext(document.format(), emit)
            .map_err(EditError::Plaintext)?;
        Ok(Self {
            document,
            plaintext,
            emit: *emit,
        })
    }

    /// The plaintext to edit.
    pub fn plaintext(&self) -> &[u8] {
        &self.plaintext
    }

    /// The format of the plaintext and of the sealed file.
    pub fn format(&self) -> Format {
        self.document.format()
    }

    /// Takes the edited text back: `None` when it is byte for byte the text handed out,
    /// otherwise the encrypted file to write, sealed with the same data key (a new
    /// `lastmodified` and MAC; unchanged values keep their ciphertext). After a successful
    /// seal the edited text is the session's plaintext.
    ///
    /// # Errors
    ///
    /// [`EditError::Invalid`] when `edited` does not parse (the session stays as it was), and
    /// [`EditError::Seal`] when it cannot be encrypted.
    pub fn finish(&mut self, edited: &[u8]) -> Result<Option<Vec<u8>>, EditError> {
        if edited == self.plaintext.as_slice() {
            return Ok(None);
        }
        let format = self.document.format();
        self.document
            .replace_plaintext(edited, format)
            .map_err(EditError::Invalid)?;
        let sealed = self.document.seal(&self.emit).map_err(EditError::Seal)?;
        self.plaintext = Zeroizing::new(edited.to_vec());
        Ok(Some(sealed))
    }
}

impl fmt::Debug for EditSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EditSession")
            .field("document", &self.document)
            .finish_non_exhaustive()
    }
}

/// The document `edit` starts from for a file that does not exist yet.
///
/// ```
/// use aesec::store::Format;
/// assert!(aesec::file::example_document(Format::Yaml).starts_with(b"# Enter your secrets here."));
/// ```
pub fn example_document(format: Format) -> &'static [u8] {
    match format {
        Format::Yaml => b"# Enter your secrets here.\nexample_key: example_value\n",
        Format::Json => b"{\n\t\"example_key\": \"example_value\"\n}\n",
        Format::Dotenv => b"example_key=example_value\n",
        Format::Ini => b"[example]\nexample_key = example_value\n",
        Format::Binary => b"example value\n",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::age::Identities;
    use crate::sops::{AgeDecryptor, AgeMasterKey, DecryptError};
    use crate::test_support::VECTORS;

    fn vector() -> (Vec<u8>, Identities) {
        let encrypted = std::fs::read(format!("{VECTORS}/vec.enc.json")).unwrap();
        let key = std::fs::read_to_string(format!("{VECTORS}/vec.key")).unwrap();
        let mut identities = Identities::new();
        identities.add_identity_file_text(&key, "vec.key").unwrap();
        (encrypted, identities)
    }

    fn open(encrypted: &[u8], identities: &Identities) -> Result<EditSession, EditError> {
        let decryptor = AgeDecryptor::new(identities);
        EditSession::open(
            encrypted,
            Format::Json,
            &[&decryptor],
            &EmitOptions::default(),
        )
    }

    #[test]
    fn unchanged_text_seals_nothing() {
        let (encrypted, identities) = vector();
        let mut session = open(&encrypted, &identities).unwrap();
        let same = session.plaintext().to_vec();
        assert!(session.finish(&same).unwrap().is_none());
    }

    #[test]
    fn invalid_text_leaves_the_session_for_another_attempt() {
        let (encrypted, identities) = vector();
        let mut session = open(&encrypted, &identities).unwrap();
        let edited = String::from_utf8(session.plaintext().to_vec())
            .unwrap()
            .replace("\"alice\"", "\"bob\"");
        let error = session.finish(b"{ not json").unwrap_err();
        assert!(matches!(error, EditError::Invalid(SealError::Store(_))));
        let sealed = session.finish(edited.as_bytes()).unwrap().unwrap();
        let reopened = open(&sealed, &identities).unwrap();
        assert_eq!(reopened.plaintext(), edited.as_bytes());
        // Unchanged values keep their ciphertext; the changed one gets a new one.
        let sealed = String::from_utf8(sealed).unwrap();
        assert!(sealed.contains("data:mgQ=,iv:FONSQJ+9sBWmbUx7ERXV0mgEY7fg6iL4qP9ESohryi0="));
        assert!(!sealed.contains("data:KR3fMeA="));
    }

    #[test]
    fn pasted_sops_metadata_is_refused() {
        let (encrypted, identities) = vector();
        let mut session = open(&encrypted, &identities).unwrap();
        let error = session.finish(&encrypted).unwrap_err();
        assert!(matches!(
            error,
            EditError::Invalid(SealError::AlreadyEncrypted)
        ));
    }

    #[test]
    fn tampering_and_clear_values_are_refused_at_open() {
        let (encrypted, identities) = vector();
        let text = String::from_utf8(encrypted).unwrap();
        // A value moved to another key fails authentication.
        let moved = text.replace("\"user\": \"ENC", "\"usr\": \"ENC");
        assert!(matches!(
            open(moved.as_bytes(), &identities),
            Err(EditError::Open(OpenError::Value(_)))
        ));
        // A value in clear where the crypt rule requires encryption.
        let clear = text.replace("\"nested\": {", "\"injected\": \"x\",\n\t\"nested\": {");
        assert!(matches!(
            open(clear.as_bytes(), &identities),
            Err(EditError::Open(OpenError::Value(
                DecryptError::NotEncrypted { .. }
            )))
        ));
        // No key.
        assert!(matches!(
            open(text.as_bytes(), &Identities::new()),
            Err(EditError::Open(OpenError::DataKey(_)))
        ));
    }

    #[test]
    fn a_new_file_starts_from_the_example_and_opens_after_sealing() {
        let (_, identities) = vector();
        let recipient = "age1m69ryw24zjg9pmxr033synsftwkt4f8nh7xp7cm07at3n3r67yfswcwm58"
            .parse()
            .unwrap();
        let recipients = Recipients::single_group(vec![Box::new(AgeMasterKey::new(recipient))]);
        let mut session = EditSession::create(
            Format::Json,
            &recipients,
            &EncryptionRules::default(),
            &EmitOptions::default(),
        )
        .unwrap();
        assert_eq!(session.plaintext(), example_document(Format::Json));
        let edited = b"{\n\t\"token\": \"abc\"\n}\n";
        let sealed = session.finish(edited).unwrap().unwrap();
        assert_eq!(open(&sealed, &identities).unwrap().plaintext(), edited);
    }

    #[test]
    fn debug_shows_no_plaintext() {
        let (encrypted, identities) = vector();
        let session = open(&encrypted, &identities).unwrap();
        let shown = format!("{session:?}");
        assert!(shown.starts_with("EditSession"));
        assert!(!shown.contains("alice"));
    }
}
