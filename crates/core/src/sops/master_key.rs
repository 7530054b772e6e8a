//! Master keys and key groups: wrapping the data key for every recipient and recovering it.
//!
//! A [`MasterKey`] encrypts the data key (or a 33-byte Shamir share) into a [`KeyEntry`]; a
//! [`KeyDecryptor`] turns entries of its kind back into bytes. aesec implements age
//! ([`AgeMasterKey`](crate::sops::AgeMasterKey)); `bao-bridge` implements `hc_vault` transit
//! through the same traits. Key groups follow sops (research/sops-format.md §8): with one group
//! every key wraps the whole data key; with N groups the key is split with Shamir, share `i`
//! wrapped by every key of group `i`, and any `shamir_threshold` groups recover it.

use std::fmt;

use rayon::prelude::*;
use zeroize::Zeroizing;

use crate::sops::age_key::{MAX_AGE_ENTRY_BYTES, MAX_STANZAS_PER_ENTRY};
use crate::sops::key_spec::KeySpec;
use crate::sops::metadata::{KeyEntry, KeyGroup, Metadata, sort_group};
use crate::sops::shamir::{self, ShamirError};
use crate::sops::value::{DATA_KEY_BYTES, DataKey};

/// The length of one Shamir share of the data key: 32 y bytes and the x byte.
pub(crate) const SHARE_BYTES: usize = DATA_KEY_BYTES + shamir::SHARE_OVERHEAD_BYTES;

/// A key the data key can be encrypted to (an age recipient, a vault transit key, …).
pub trait MasterKey: Send + Sync {
    /// Encrypts `data` (the 32-byte data key or a 33-byte share) into a metadata entry.
    ///
    /// # Errors
    ///
    /// [`MasterKeyError`] when the key cannot encrypt.
    fn encrypt(&self, data: &[u8]) -> Result<KeyEntry, MasterKeyError>;

    /// The key's identity, equal to [`KeyEntry::identifier`] of the entries it makes: the age
    /// recipient, or `addr/v1/engine/keys/name` for a vault transit key.
    fn identifier(&self) -> String;
}

/// Something that can decrypt metadata entries of some kinds.
///
/// A decryptor for a kind the core cannot reach itself (`hc_vault`) also builds the master keys
/// of that kind ([`KeyDecryptor::master_key`]), so one list, built once by the caller, serves
/// both directions (see [`resolve_master_key`](crate::sops::resolve_master_key)).
pub trait KeyDecryptor: Sync {
    /// Decrypts `entry`; `None` when the entry is not of a kind this decryptor handles.
    fn decrypt(&self, entry: &KeyEntry) -> Option<Result<Zeroizing<Vec<u8>>, MasterKeyError>>;

    /// Whether `entry` is labelled as one this decryptor holds the key of (an age entry whose
    /// `recipient` is one of its identities'): such entries are tried first. The default:
    /// none is.
    fn holds_key_for(&self, entry: &KeyEntry) -> bool {
        let _ = entry;
        false
    }

    /// The master key `spec` names, when this decryptor's backend handles its kind; `None`
    /// otherwise (the default: age keys need no backend).
    fn master_key(&self, spec: &KeySpec) -> Option<Result<Box<dyn MasterKey>, MasterKeyError>> {
        let _ = spec;
        None
    }
}

/// Why a master key could not encrypt or decrypt, or key groups could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MasterKeyError {
    /// age refused to encrypt to the recipient.
    #[error("cannot encrypt to age recipient '{recipient}'")]
    AgeEncrypt {
        /// The recipient.
        recipient: String,
        /// age's error.
        #[source]
        source: Box<age::EncryptError>,
    },
    /// Writing the age file failed.
    #[error("cannot write the age file for recipient '{recipient}'")]
    AgeWrite {
        /// The recipient.
        recipient: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// None of the age identities can decrypt the entry.
    #[error("no age identity matches recipient '{recipient}'")]
    NoMatchingIdentity {
        /// The recipient of the entry.
        recipient: String,
    },
    /// The entry's age file is malformed or failed to decrypt.
    #[error("cannot decrypt the age file for recipient '{recipient}'")]
    AgeDecrypt {
        /// The recipient of the entry.
        recipient: String,
        /// age's error.
        #[source]
        source: Box<age::DecryptError>,
    },
    /// The entry's age file is longer than any sops writes ([`MAX_AGE_ENTRY_BYTES`]): refused
    /// before its header is read, since every stanza in it would cost a Diffie-Hellman.
    #[error(
        "the age entry for recipient '{recipient}' is {length} bytes, more than the {MAX_AGE_ENTRY_BYTES} a data key's entry can need"
    )]
    AgeEntryTooLong {
        /// The recipient of the entry.
        recipient: String,
        /// The entry's length in bytes.
        length: usize,
    },
    /// The entry's age file has more stanzas than any sops writes ([`MAX_STANZAS_PER_ENTRY`]):
    /// refused before any is tried, since each would cost every identity a Diffie-Hellman.
    #[error(
        "the age entry for recipient '{recipient}' holds {stanzas} recipient stanzas, more than the {MAX_STANZAS_PER_ENTRY} an entry of sops can hold"
    )]
    TooManyStanzas {
        /// The recipient of the entry.
        recipient: String,
        /// How many stanzas the entry's header holds.
        stanzas: usize,
    },
    /// The age file's payload could not be read (truncated or tampered).
    #[error("cannot read the age payload for recipient '{recipient}'")]
    AgeRead {
        /// The recipient of the entry.
        recipient: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// No decryptor handles this kind of entry (e.g. PGP).
    #[error("no decryptor for {kind} key '{identifier}'")]
    NoDecryptor {
        /// The entry's kind (`pgp`, `hc_vault`, …).
        kind: &'static str,
        /// The entry's identifier.
        identifier: String,
    },
    /// No backend in the caller's list builds master keys of this kind (an `hc_vault` key
    /// without the OpenBao bridge).
    #[error("no backend for {kind} key '{identifier}'")]
    NoBackend {
        /// The key's kind (`hc_vault`).
        kind: &'static str,
        /// The key's identifier.
        identifier: String,
    },
    /// The entry decrypted to the wrong number of bytes.
    #[error("key '{identifier}' decrypted to {length} bytes, expected {expected}")]
    UnexpectedLength {
        /// The entry's identifier.
        identifier: String,
        /// The length found.
        length: usize,
        /// The length expected (32 for a data key, 33 for a share).
        expected: usize,
    },
    /// A master key implemented outside this crate failed.
    #[error("master key '{identifier}' failed")]
    Backend {
        /// The key's identifier.
        identifier: String,
        /// The implementation's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No key groups were given to encrypt the data key to.
    #[error("no key groups to encrypt the data key to")]
    NoKeyGroups,
    /// A key group has no master keys: its share could never be recovered.
    #[error("key group {index} has no master keys")]
    EmptyGroup {
        /// The group's index.
        index: usize,
    },
    /// The data key could not be split between the groups.
    #[error("cannot split the data key between {groups} key groups with threshold {threshold}")]
    Split {
        /// The number of groups.
        groups: usize,
        /// The threshold asked for.
        threshold: usize,
        /// Shamir's error.
        #[source]
        source: ShamirError,
    },
}

/// One entry that failed to give its group's secret.
#[derive(Debug)]
pub struct EntryFailure {
    /// The entry's kind (`age`, `pgp`, …).
    pub kind: &'static str,
    /// The entry's identifier.
    pub identifier: String,
    /// Why it failed.
    pub error: MasterKeyError,
}

/// What happened to one key group during [`decrypt_data_key`].
#[derive(Debug)]
pub struct GroupOutcome {
    /// The group's index.
    pub index: usize,
    /// Whether some entry of the group decrypted.
    pub decrypted: bool,
    /// The entries tried before success (all of them when the group failed).
    pub failures: Vec<EntryFailure>,
}

/// Why the data key could not be recovered. Never holds key bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataKeyError {
    /// The metadata has no key groups.
    #[error("the file has no key groups")]
    NoKeyGroups,
    /// Too few groups could be decrypted; every group and entry is listed with its reason.
    #[error(fmt = fmt_failed)]
    Failed {
        /// Every group tried, in order.
        groups: Vec<GroupOutcome>,
        /// How many groups were needed.
        needed: usize,
        /// How many were decrypted.
        recovered: usize,
    },
    /// The decrypted shares do not combine.
    #[error("cannot combine the key group shares into the data key")]
    Combine(#[source] ShamirError),
}

fn fmt_failed(
    groups: &[GroupOutcome],
    needed: &usize,
    recovered: &usize,
    f: &mut fmt::Formatter<'_>,
) -> fmt::Result {
    write!(
        f,
        "cannot decrypt the data key: {recovered} of {needed} required key groups decrypted"
    )?;
    for group in groups {
        let status = if group.decrypted { "SUCCESS" } else { "FAILED" };
        write!(f, "\nGroup {}: {status}", group.index)?;
        for failure in &group.failures {
            write!(
                f,
                "\n  {}: FAILED\n    - {}",
                failure.identifier, failure.error
            )?;
            let mut source = std::error::Error::source(&failure.error);
            while let Some(cause) = source {
                write!(f, ": {cause}")?;
                source = cause.source();
            }
        }
    }
    Ok(())
}

/// Encrypts the data key to key groups as sops does: with one group every key wraps the whole
/// key; with N groups the key is split into N Shamir shares needing `threshold` (all N when
/// `None`) and every key of group `i` wraps share `i`. Keys wrap in parallel.
///
/// Returns the groups' entries (in sops' load order within each group) and the threshold to
/// store: the given one, as sops stores it (absent when `None`).
///
/// # Errors
///
/// [`MasterKeyError::NoKeyGroups`], [`MasterKeyError::EmptyGroup`], [`MasterKeyError::Split`]
/// for a threshold outside `2..=N`, or the first error of a master key.
///
/// ```
/// use aesec::keys::age::GeneratedIdentity;
/// use aesec::sops::{AgeMasterKey, DataKey, MasterKey, encrypt_data_key};
/// let recipient = GeneratedIdentity::generate().recipient();
/// let group: Vec<Box<dyn MasterKey>> = vec![Box::new(AgeMasterKey::new(recipient))];
/// let (groups, threshold) = encrypt_data_key(&[group], None, &DataKey::generate()?)?;
/// assert_eq!((groups.len(), threshold), (1, None));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encrypt_data_key(
    groups: &[Vec<Box<dyn MasterKey>>],
    threshold: Option<usize>,
    data_key: &DataKey,
) -> Result<(Vec<KeyGroup>, Option<usize>), MasterKeyError> {
    if groups.is_empty() {
        return Err(MasterKeyError::NoKeyGroups);
    }
    if let Some(index) = groups.iter().position(Vec::is_empty) {
        return Err(MasterKeyError::EmptyGroup { index });
    }
    let mut threshold = threshold.filter(|t| *t > 0);
    let secrets: Vec<Zeroizing<Vec<u8>>> = if groups.len() == 1 {
        vec![Zeroizing::new(data_key.expose_secret().to_vec())]
    } else {
        let parts = groups.len();
        // sops records the threshold it splits with: every group when none is set.
        let needed = *threshold.get_or_insert(parts);
        shamir::split(data_key.expose_secret(), parts, needed).map_err(|source| {
            MasterKeyError::Split {
                groups: parts,
                threshold: needed,
                source,
            }
        })?
    };
    let jobs: Vec<(usize, &dyn MasterKey)> = groups
        .iter()
        .enumerate()
        .flat_map(|(index, keys)| keys.iter().map(move |key| (index, key.as_ref())))
        .collect();
    let entries: Vec<(usize, KeyEntry)> = jobs
        .par_iter()
        .map(|(index, key)| {
            let secret = secrets.get(*index).expect("one secret per group");
            key.encrypt(secret).map(|entry| (*index, entry))
        })
        .collect::<Result<_, _>>()?;
    let mut out: Vec<KeyGroup> = vec![KeyGroup::new(); groups.len()];
    for (index, entry) in entries {
        out[index].push(entry);
    }
    for group in &mut out {
        sort_group(group);
    }
    Ok((out, threshold))
}

/// The order entries are tried in: first those a decryptor holds the key of by their label
/// (an X25519 stanza names no recipient, so each entry tried costs a Diffie-Hellman, and a
/// host's key is often the tenth of its group), then sops' default order
/// (`--decryption-order age,pgp`): age entries, then PGP, then the rest; stable within each.
/// Any entry that decrypts gives the group's secret, so the order changes only the cost.
fn decryption_order<'a>(
    group: &'a [KeyEntry],
    decryptors: &[&dyn KeyDecryptor],
) -> Vec<&'a KeyEntry> {
    let rank = |entry: &KeyEntry| {
        let held = decryptors
            .iter()
            .any(|decryptor| decryptor.holds_key_for(entry));
        let kind = match entry.kind() {
            "age" => 0,
            "pgp" => 1,
            _ => 2,
        };
        (!held, kind)
    };
    let mut ordered: Vec<&KeyEntry> = group.iter().collect();
    ordered.sort_by_cached_key(|entry| rank(entry));
    ordered
}

fn decrypt_entry(
    entry: &KeyEntry,
    decryptors: &[&dyn KeyDecryptor],
    expected: usize,
) -> Result<Zeroizing<Vec<u8>>, MasterKeyError> {
    let mut last_error = None;
    for decryptor in decryptors {
        match decryptor.decrypt(entry) {
            None => {}
            Some(Ok(bytes)) if bytes.len() == expected => return Ok(bytes),
            Some(Ok(bytes)) => {
                last_error = Some(MasterKeyError::UnexpectedLength {
                    identifier: entry.identifier(),
                    length: bytes.len(),
                    expected,
                });
            }
            Some(Err(error)) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| MasterKeyError::NoDecryptor {
        kind: entry.kind(),
        identifier: entry.identifier(),
    }))
}

/// Recovers the data key: in each group the first entry that decrypts wins (age first, as
/// sops' default decryption order); with several groups, shares are collected until the
/// threshold (all groups when none is stored) and combined.
///
/// # Errors
///
/// [`DataKeyError::Failed`] listing every group and the reason each entry failed (sops exits
/// 128 here), [`DataKeyError::NoKeyGroups`], [`DataKeyError::Combine`].
pub fn decrypt_data_key(
    metadata: &Metadata,
    decryptors: &[&dyn KeyDecryptor],
) -> Result<DataKey, DataKeyError> {
    let groups = &metadata.key_groups;
    if groups.is_empty() {
        return Err(DataKeyError::NoKeyGroups);
    }
    let split = groups.len() > 1;
    let (needed, expected) = if split {
        (metadata.effective_threshold(), SHARE_BYTES)
    } else {
        (1, DATA_KEY_BYTES)
    };
    let mut parts: Vec<Zeroizing<Vec<u8>>> = Vec::new();
    let mut outcomes = Vec::new();
    for (index, group) in groups.iter().enumerate() {
        if parts.len() >= needed {
            break;
        }
        let mut outcome = GroupOutcome {
            index,
            decrypted: false,
            failures: Vec::new(),
        };
        for entry in decryption_order(group, decryptors) {
            match decrypt_entry(entry, decryptors, expected) {
                Ok(bytes) => {
                    parts.push(bytes);
                    outcome.decrypted = true;
                    break;
                }
                Err(error) => outcome.failures.push(EntryFailure {
                    kind: entry.kind(),
                    identifier: entry.identifier(),
                    error,
                }),
            }
        }
        outcomes.push(outcome);
    }
    if parts.len() < needed {
        return Err(DataKeyError::Failed {
            groups: outcomes,
            needed,
            recovered: parts.len(),
        });
    }
    let key = if split {
        let slices: Vec<&[u8]> = parts.iter().map(|part| part.as_slice()).collect();
        shamir::combine(&slices).map_err(DataKeyError::Combine)?
    } else {
        parts.swap_remove(0)
    };
    Ok(DataKey::from_bytes(&key).expect("32-byte keys and 33-byte shares give 32 bytes"))
}

#[cfg(test)]
mod tests;
