//! The sops file format: documents, master keys and key groups, metadata and key paths; the value
//! cipher, the MAC and Shamir sharing behind them are crate-private.

pub(crate) mod age_key;
pub(crate) mod crypt;
pub(crate) mod document;
pub(crate) mod envelope;
pub(crate) mod key_spec;
pub(crate) mod mac;
pub(crate) mod master_key;
pub(crate) mod metadata;
pub(crate) mod path;
pub(crate) mod rules;
pub(crate) mod shamir;
pub(crate) mod value;

// The public surface: what an embedding tool opens, edits and seals documents with, the
// master-key traits and their age implementation, metadata read access, key paths and the
// errors of each. The cipher, MAC, Shamir sharing, flattening and envelope are internals.
pub use age_key::{AgeDecryptor, AgeMasterKey, MAX_AGE_ENTRY_BYTES, MAX_STANZAS_PER_ENTRY};
pub use crypt::{DecryptError, EncryptError};
pub use document::{Document, EncryptionRules, OpenError, OpenOptions, Recipients, SealError};
pub use key_spec::{KeySpec, resolve_master_key};
pub use mac::{MacError, now_lastmodified};
pub use master_key::{
    DataKeyError, EntryFailure, GroupOutcome, KeyDecryptor, MasterKey, MasterKeyError,
    decrypt_data_key, encrypt_data_key,
};
pub use metadata::{
    KeyEntry, KeyGroup, MAX_KEY_ENTRIES, Metadata, MetadataError, NullStyle, SOPS_VERSION,
};
pub use path::{PathError, PathStep, TreePath};
pub use rules::InvalidRuleRegexError;
pub use shamir::ShamirError;
pub use value::{
    DataKey, DataKeyLengthError, ParseEncryptedValueError, RandomError, ValueError, ValueType,
};
