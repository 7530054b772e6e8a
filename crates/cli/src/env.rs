//! Every environment variable aesec honours, declared once with what it means.
//!
//! Core never reads the environment: the CLI resolves these into explicit options.

/// Path of a `.sops.yaml` to use instead of searching for one.
pub(crate) const SOPS_CONFIG: &str = "SOPS_CONFIG";
/// Comma-separated age recipients for `encrypt` (same as `--age`).
pub(crate) const SOPS_AGE_RECIPIENTS: &str = "SOPS_AGE_RECIPIENTS";
/// age identities, newline separated.
pub(crate) const SOPS_AGE_KEY: &str = "SOPS_AGE_KEY";
/// Path of an age identity file.
pub(crate) const SOPS_AGE_KEY_FILE: &str = "SOPS_AGE_KEY_FILE";
/// A command whose standard output is age identities.
pub(crate) const SOPS_AGE_KEY_CMD: &str = "SOPS_AGE_KEY_CMD";
/// Path of an OpenSSH private key to decrypt with.
pub(crate) const SOPS_AGE_SSH_PRIVATE_KEY_FILE: &str = "SOPS_AGE_SSH_PRIVATE_KEY_FILE";
/// Comma-separated Transit key URIs for `encrypt` (same as `--hc-vault-transit`).
pub(crate) const SOPS_VAULT_URIS: &str = "SOPS_VAULT_URIS";
/// Editor for `edit`, before `EDITOR`.
pub(crate) const SOPS_EDITOR: &str = "SOPS_EDITOR";
/// Editor for `edit`.
pub(crate) const EDITOR: &str = "EDITOR";
/// Base of the default identity file `sops/age/keys.txt`.
pub(crate) const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
/// Per-user runtime directory (usually RAM-backed); `edit` puts its plaintext copy there.
pub(crate) const XDG_RUNTIME_DIR: &str = "XDG_RUNTIME_DIR";
/// `dry-activate` makes `install` report without changing anything (set by
/// `switch-to-configuration dry-activate`).
pub(crate) const NIXOS_ACTION: &str = "NIXOS_ACTION";
/// Set (non-empty) by sops-nix's module in systemd mode: `install` restarts units through
/// `systemctl --no-block` instead of the activation lists.
pub(crate) const SOPS_RESTART_UNITS_VIA_SYSTEMCTL: &str = "SOPS_RESTART_UNITS_VIA_SYSTEMCTL";
/// Search path for the default editors (`vim`, `nano`, `vi`).
pub(crate) const PATH: &str = "PATH";
/// Home directory (`~/.ssh/id_ed25519`, `~/.config`).
pub(crate) const HOME: &str = "HOME";
/// Passphrase of an encrypted OpenSSH key for `keys ssh-to-age --private-key`.
pub(crate) const SSH_TO_AGE_PASSPHRASE: &str = "SSH_TO_AGE_PASSPHRASE";
/// ssh options for `deploy` (as nix reads them for `nix copy`), split at spaces; `--ssh-opts`
/// replaces it.
pub(crate) const NIX_SSHOPTS: &str = "NIX_SSHOPTS";
/// Log filter, e.g. `AESEC_LOG=debug`.
pub(crate) const AESEC_LOG: &str = "AESEC_LOG";
/// Test hook, read by debug builds only (never by a release binary): `N` lets the first `N`
/// writes of an `updatekeys` run finish and holds every later one after its temporary file is
/// written, before the rename, so that the crash test kills the run mid-write at a known point.
#[cfg(debug_assertions)]
pub(crate) const AESEC_TEST_PAUSE_AFTER_WRITES: &str = "AESEC_TEST_PAUSE_AFTER_WRITES";
