//! A file's master-key entries read and replaced without its data key: what a key service that
//! re-wraps inside itself (OpenBao Transit `rewrap`) needs. The entries are outside the MAC, as
//! in sops, so nothing else of the file changes.

use crate::file::FileError;
use crate::sops::envelope;
use crate::sops::{KeyGroup, Metadata, OpenError};
use crate::store::{EmitOptions, Format};

/// The metadata of an encrypted file, read without decrypting anything.
///
/// # Errors
///
/// [`FileError::Open`] when the file does not parse, is not encrypted or has invalid metadata.
pub fn read_metadata(encrypted: &[u8], format: Format) -> Result<Metadata, FileError> {
    let split = envelope::parse_encrypted(format, encrypted).map_err(OpenError::from)?;
    let raw = split.metadata.ok_or(OpenError::NotEncrypted)?;
    let branch = raw.into_branch().map_err(OpenError::from)?;
    Ok(Metadata::from_branch(&branch).map_err(OpenError::from)?)
}

/// `encrypted` with its key groups replaced by `key_groups` (same data key, other wrappings of
/// it), everything else as it was; the data key is never needed.
///
/// ```
/// use aesec::file::{EncryptOptions, read_metadata, replace_key_groups};
/// use aesec::keys::age::GeneratedIdentity;
/// use aesec::sops::{AgeMasterKey, Recipients};
/// use aesec::store::{EmitOptions, Format};
///
/// let key = GeneratedIdentity::generate();
/// let recipients = Recipients::single_group(vec![Box::new(AgeMasterKey::new(key.recipient()))]);
/// let options = EncryptOptions::new(Format::Yaml, Format::Yaml);
/// let encrypted = aesec::file::encrypt(b"a: 1\n", &recipients, &options)?;
/// let groups = read_metadata(&encrypted, Format::Yaml)?.key_groups;
/// let same = replace_key_groups(&encrypted, Format::Yaml, groups, &EmitOptions::default())?;
/// assert_eq!(same, encrypted);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As [`read_metadata`], and [`FileError::Store`] when the file cannot be written back.
pub fn replace_key_groups(
    encrypted: &[u8],
    format: Format,
    key_groups: Vec<KeyGroup>,
    emit: &EmitOptions,
) -> Result<Vec<u8>, FileError> {
    let mut metadata = read_metadata(encrypted, format)?;
    metadata.key_groups = key_groups;
    let split = envelope::parse_encrypted(format, encrypted).map_err(OpenError::from)?;
    Ok(envelope::emit_encrypted(
        format, split.tree, &metadata, emit,
    )?)
}
