//! The sops file format: the tree, the value cipher, the MAC, metadata, master keys and key groups.

pub(crate) mod age_key;
pub(crate) mod crypt;
pub(crate) mod mac;
pub(crate) mod master_key;
pub(crate) mod metadata;
pub(crate) mod rules;
pub(crate) mod shamir;
pub(crate) mod tree;
pub(crate) mod value;
