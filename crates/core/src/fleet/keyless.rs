//! What a sops file shows without its key: the metadata, the still-encrypted values, and
//! each key group's recipients as identifiers. Planning, `check` and `status` read only this.

use super::error::FleetFileError;
use crate::sops::Metadata;
use crate::sops::envelope;
use crate::store::Format;

/// Reads a file's sops metadata without decrypting anything.
pub(crate) fn read_metadata(bytes: &[u8], format: Format) -> Result<Metadata, FleetFileError> {
    read_document(bytes, format).map(|(metadata, _)| metadata)
}

/// Reads a file's sops metadata and its still encrypted values, without decrypting anything.
pub(crate) fn read_document(
    bytes: &[u8],
    format: Format,
) -> Result<(Metadata, crate::tree::Tree), FleetFileError> {
    split_document(envelope::parse_encrypted(format, bytes)?)
}

/// As [`read_document`], for a file already parsed.
pub(crate) fn split_document(
    split: envelope::Split,
) -> Result<(Metadata, crate::tree::Tree), FleetFileError> {
    let raw = split.metadata.ok_or(FleetFileError::NotEncrypted)?;
    Ok((Metadata::from_branch(&raw.into_branch()?)?, split.tree))
}

/// The recipients of each key group of a file's metadata, as identifiers.
pub(crate) fn metadata_groups(metadata: &Metadata) -> Vec<Vec<String>> {
    metadata
        .key_groups
        .iter()
        .map(|group| group.iter().map(|entry| entry.identifier()).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_metadata_refuses_plaintext() {
        let error = read_metadata(b"a: 1\n", Format::Yaml).unwrap_err();
        assert!(matches!(error, FleetFileError::NotEncrypted));
    }
}
