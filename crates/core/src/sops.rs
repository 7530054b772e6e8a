//! The sops file format: the tree, the value cipher, the MAC, metadata, master keys and key groups.

pub(crate) mod age_key;
pub(crate) mod crypt;
pub(crate) mod mac;
pub(crate) mod master_key;
pub(crate) mod metadata;
pub(crate) mod path;
pub(crate) mod rules;
pub mod shamir;
pub(crate) mod value;
pub use age_key::{AgeDecryptor, AgeMasterKey, armor, decrypt_age_entry};
pub use crypt::{DecryptError, EncryptError, decrypt_tree, encrypt_tree};
pub use mac::{
    MAC_ONLY_ENCRYPTED_PREFIX, MacError, MacHasher, MacHex, MacScope, decrypt_mac, encrypt_mac,
    lastmodified_aad, now_lastmodified, verify_mac,
};
pub use master_key::{
    DataKeyError, EntryFailure, GroupOutcome, KeyDecryptor, MasterKey, MasterKeyError, SHARE_BYTES,
    decrypt_data_key, encrypt_data_key,
};
pub use metadata::{
    DOTENV_PREFIX, INI_SECTION, KeyEntry, KeyGroup, METADATA_KEY, Metadata, MetadataError,
    NullStyle, SOPS_VERSION, flatten, flatten_dotenv, flatten_ini, is_dotenv_metadata_key,
    sort_group, unflatten, unflatten_dotenv, unflatten_ini, vault_identifier,
};
pub use path::{PathError, PathStep, TreePath};
pub use rules::{CompiledRule, InvalidRuleRegexError};
pub use shamir::{SHARE_OVERHEAD_BYTES, ShamirError};
pub use value::{
    Cipher, DATA_KEY_BYTES, DataKey, DataKeyLengthError, EncryptedValue, IV_BYTES, IvStash,
    MAX_ENCRYPTED_VALUE_BYTES, MAX_VALUE_BYTES, ParseEncryptedValueError, RandomError, TAG_BYTES,
    ValueError, ValueType, plaintext_bytes, typed_plaintext,
};
pub(crate) mod document;
pub(crate) mod envelope;
pub use document::{Document, EncryptionRules, OpenError, OpenOptions, Recipients, SealError};
