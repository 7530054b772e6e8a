//! Exit codes: sops' codes where the same failure happens (see the README's table).

/// Generic failure.
pub(crate) const GENERIC: u8 = 1;
/// The input file could not be read.
pub(crate) const COULD_NOT_READ_INPUT_FILE: u8 = 2;
/// The output could not be written.
pub(crate) const COULD_NOT_WRITE_OUTPUT_FILE: u8 = 3;
/// The output document could not be written in its format (an indent the store refuses).
pub(crate) const ERROR_DUMPING_TREE: u8 = 4;
/// A `set` value that is not valid JSON.
pub(crate) const INVALID_SET_FORMAT: u8 = 7;
/// Conflicting or invalid options.
pub(crate) const CONFLICTING_PARAMETERS: u8 = 8;
/// The tree could not be encrypted (e.g. unsupported value).
pub(crate) const ERROR_ENCRYPTING_TREE: u8 = 23;
/// A value could not be decrypted (tampered value, value moved to another key).
pub(crate) const ERROR_DECRYPTING_TREE: u8 = 25;
/// `check` found problems (drift, extra recipients, plaintext under a rule).
pub(crate) const CHECK_FINDINGS: u8 = 10;
/// The MAC does not match the content.
pub(crate) const MAC_MISMATCH: u8 = 51;
/// No `.sops.yaml` was found (fleet commands need one).
pub(crate) const CONFIG_FILE_NOT_FOUND: u8 = 61;
/// Bad `--extract`/`set` path syntax.
pub(crate) const INVALID_TREE_PATH_FORMAT: u8 = 91;
/// An empty document.
pub(crate) const NEED_AT_LEAST_ONE_DOCUMENT: u8 = 92;
/// No such file.
pub(crate) const NO_FILE_SPECIFIED: u8 = 100;
/// No key could decrypt the data key.
pub(crate) const COULD_NOT_RETRIEVE_KEY: u8 = 128;
/// `edit` closed without changes.
pub(crate) const FILE_HAS_NOT_BEEN_MODIFIED: u8 = 200;
/// No editor could be started.
pub(crate) const NO_EDITOR_FOUND: u8 = 201;
/// `encrypt` on a file that is already encrypted.
pub(crate) const FILE_ALREADY_ENCRYPTED: u8 = 203;
