//! Adding and deleting key groups of an encrypted file, as `sops groups add` and `sops groups
//! delete` do.
//!
//! The data key stays the same: it is wrapped again for the new set of groups (split with
//! Shamir when there are several; with no threshold given, every group is needed, and the file
//! records that threshold as sops writes it). Values, MAC and `lastmodified` are left as they
//! are, so the file's content is byte-identical apart from its key metadata.

use crate::file::{FileError, metadata_recipients};
use crate::sops::{Document, KeyDecryptor, MasterKey, OpenOptions, Recipients};
use crate::store::{EmitOptions, Format};

/// Adds a key group holding `keys` (`sops groups add`); `shamir_threshold` replaces the file's
/// threshold when given.
///
/// ```
/// use aesec::file::add_key_group;
/// use aesec::keys::age::{GeneratedIdentity, Identities};
/// use aesec::sops::{AgeDecryptor, AgeMasterKey, Document, OpenOptions};
/// use aesec::store::{EmitOptions, Format};
///
/// # let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/sops");
/// let encrypted = std::fs::read(format!("{dir}/vec.enc.json"))?;
/// let mut identities = Identities::new();
/// identities.add_identity_file_text(&std::fs::read_to_string(format!("{dir}/vec.key"))?, "vec.key")?;
/// let second = GeneratedIdentity::generate();
/// let group = AgeMasterKey::group([second.recipient()]);
/// let changed = add_key_group(&encrypted, Format::Json, &[&AgeDecryptor::new(&identities)],
///     group, None, &EmitOptions::default())?;
/// // Two groups, no threshold given: both are needed now.
/// let text = second.to_identity_file("2026-12-06T00:00:00Z");
/// identities.add_identity_file_text(aesec::secrecy::ExposeSecret::expose_secret(&text), "second")?;
/// let document = Document::open(&changed, Format::Json, &[&AgeDecryptor::new(&identities)],
///     &OpenOptions::default())?;
/// assert_eq!(document.metadata().key_groups.len(), 2);
/// assert_eq!(document.metadata().shamir_threshold, Some(2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn add_key_group(
    encrypted: &[u8],
    format: Format,
    decryptors: &[&dyn KeyDecryptor],
    keys: Vec<Box<dyn MasterKey>>,
    shamir_threshold: Option<usize>,
    emit: &EmitOptions,
) -> Result<Vec<u8>, FileError> {
    regroup(
        encrypted,
        format,
        decryptors,
        shamir_threshold,
        emit,
        |groups| {
            groups.push(keys);
            Ok(())
        },
    )
}

/// Deletes the key group at `index`, counted from 0 (`sops groups delete`); `shamir_threshold`
/// replaces the file's threshold when given. Refused when the threshold would then exceed the
/// number of groups.
pub fn delete_key_group(
    encrypted: &[u8],
    format: Format,
    decryptors: &[&dyn KeyDecryptor],
    index: usize,
    shamir_threshold: Option<usize>,
    emit: &EmitOptions,
) -> Result<Vec<u8>, FileError> {
    regroup(
        encrypted,
        format,
        decryptors,
        shamir_threshold,
        emit,
        |groups| {
            if index >= groups.len() {
                return Err(FileError::NoSuchKeyGroup {
                    index,
                    groups: groups.len(),
                });
            }
            groups.remove(index);
            Ok(())
        },
    )
}

/// Opens the file, changes its key groups with `change`, wraps the same data key for them and
/// writes the file back with only its key metadata changed.
fn regroup(
    encrypted: &[u8],
    format: Format,
    decryptors: &[&dyn KeyDecryptor],
    shamir_threshold: Option<usize>,
    emit: &EmitOptions,
    change: impl FnOnce(&mut Vec<Vec<Box<dyn MasterKey>>>) -> Result<(), FileError>,
) -> Result<Vec<u8>, FileError> {
    let open = OpenOptions {
        read_only: true,
        ..OpenOptions::default()
    };
    let mut document = Document::open(encrypted, format, decryptors, &open)?;
    let current = metadata_recipients(&document, decryptors)?;
    let mut groups = current.key_groups;
    change(&mut groups)?;
    let threshold = shamir_threshold.or(current.shamir_threshold);
    if let Some(threshold) = threshold.filter(|&t| t > groups.len()) {
        return Err(FileError::ShamirThresholdUnsatisfiable {
            threshold,
            groups: groups.len(),
        });
    }
    document.rewrap(&Recipients::groups(groups, threshold))?;
    Ok(document.seal_metadata_only(encrypted, emit)?)
}
