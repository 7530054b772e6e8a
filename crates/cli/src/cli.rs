//! The command-line grammar: clap types only, no behaviour.
//!
//! Subcommand and flag names follow sops where aesec does the same thing, so that scripts and
//! muscle memory carry over. Completions and the man page are generated from these types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// sops-compatible secrets and key lifecycle for NixOS fleets.
#[derive(Debug, Parser)]
#[command(name = "aesec", version, about, long_about = None, propagate_version = true)]
pub(crate) struct Cli {
    /// Use this `.sops.yaml` instead of searching upward from the working directory.
    #[arg(long, global = true, env = crate::env::SOPS_CONFIG, value_name = "PATH")]
    pub(crate) config: Option<PathBuf>,

    /// Run as if started in DIR.
    #[arg(short = 'C', global = true, value_name = "DIR")]
    pub(crate) directory: Option<PathBuf>,

    /// Print machine-readable JSON: reports on stdout, and errors as one JSON object on stderr.
    #[arg(long, global = true)]
    pub(crate) json: bool,

    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,

    /// Print more detail (repeat for debug logs).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,

    /// An age identity file or OpenSSH private key to decrypt with, in addition to the keys
    /// sops would find (repeatable).
    #[arg(long = "identity", global = true, value_name = "FILE")]
    pub(crate) identities: Vec<PathBuf>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Encrypt a file (sops encrypt).
    Encrypt(EncryptArgs),
    /// Decrypt a file (sops decrypt).
    Decrypt(DecryptArgs),
    /// Edit a file in $SOPS_EDITOR/$EDITOR, re-encrypting on save (sops edit).
    Edit(EditArgs),
    /// Set one value: `aesec set FILE '["key"]' '"json value"'` (sops set).
    Set(SetArgs),
    /// Remove one value: `aesec unset FILE '["key"]'` (sops unset).
    Unset(UnsetArgs),
    /// Tell whether a file is sops-encrypted: prints {"encrypted":true|false} (sops filestatus).
    Filestatus(FilestatusArgs),
    /// Give files a new data key and re-encrypt every value (sops rotate).
    Rotate(RotateArgs),
    /// Key tools: SSH to age conversion and key generation.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Print shell completions.
    Completions(CompletionsArgs),
    /// Print the man page (roff).
    Man,
}

/// Where and how to write a result.
#[derive(Debug, Args)]
pub(crate) struct OutputArgs {
    /// Write the result over the input file (atomically).
    #[arg(short, long = "in-place", conflicts_with = "output")]
    pub(crate) in_place: bool,

    /// Write the result to this file (atomically, mode 0600) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
}

/// Store selection, as sops' `--input-type`/`--output-type`.
#[derive(Debug, Args)]
pub(crate) struct TypeArgs {
    /// Format of the input (default: from the file extension).
    #[arg(long, value_enum, value_name = "TYPE")]
    pub(crate) input_type: Option<FormatArg>,

    /// Format of the output (default: the input format).
    #[arg(long, value_enum, value_name = "TYPE")]
    pub(crate) output_type: Option<FormatArg>,
}

/// A store name.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum FormatArg {
    /// YAML.
    Yaml,
    /// JSON.
    Json,
    /// dotenv.
    Dotenv,
    /// INI.
    Ini,
    /// Raw bytes.
    Binary,
}

/// `aesec encrypt`.
#[derive(Debug, Args)]
pub(crate) struct EncryptArgs {
    /// The plaintext file (`-` or none: stdin, which needs --filename-override).
    pub(crate) file: Option<PathBuf>,

    /// Comma-separated age recipients (`age1…` or ssh public keys); replaces the key groups of
    /// the matching creation rule.
    #[arg(long, env = crate::env::SOPS_AGE_RECIPIENTS, value_name = "RECIPIENTS")]
    pub(crate) age: Option<String>,

    /// Use this name for format detection and creation-rule matching (for stdin).
    #[arg(long, value_name = "NAME")]
    pub(crate) filename_override: Option<PathBuf>,

    /// Leave values whose key ends with this suffix in clear.
    #[arg(long, value_name = "SUFFIX")]
    pub(crate) unencrypted_suffix: Option<String>,

    /// Encrypt only values whose key ends with this suffix.
    #[arg(long, value_name = "SUFFIX")]
    pub(crate) encrypted_suffix: Option<String>,

    /// Leave values whose key matches this regex in clear.
    #[arg(long, value_name = "REGEX")]
    pub(crate) unencrypted_regex: Option<String>,

    /// Encrypt only values whose key matches this regex.
    #[arg(long, value_name = "REGEX")]
    pub(crate) encrypted_regex: Option<String>,

    /// Leave values under a comment matching this regex in clear.
    #[arg(long, value_name = "REGEX")]
    pub(crate) unencrypted_comment_regex: Option<String>,

    /// Encrypt only values under a comment matching this regex.
    #[arg(long, value_name = "REGEX")]
    pub(crate) encrypted_comment_regex: Option<String>,

    /// Compute the MAC over encrypted values only.
    #[arg(long)]
    pub(crate) mac_only_encrypted: bool,

    /// Number of key groups needed to decrypt (Shamir threshold).
    #[arg(long, value_name = "N")]
    pub(crate) shamir_secret_sharing_threshold: Option<usize>,

    #[command(flatten)]
    pub(crate) types: TypeArgs,

    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

/// `aesec decrypt`.
#[derive(Debug, Args)]
pub(crate) struct DecryptArgs {
    /// The encrypted file (`-` or none: stdin).
    pub(crate) file: Option<PathBuf>,

    /// Print only the value at this path, e.g. '["db"]["password"]'.
    #[arg(long, value_name = "PATH")]
    pub(crate) extract: Option<String>,

    /// Decrypt even if the MAC does not match (tampered or hand-edited files).
    #[arg(long)]
    pub(crate) ignore_mac: bool,

    /// Use this name for format detection.
    #[arg(long, value_name = "NAME")]
    pub(crate) filename_override: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) types: TypeArgs,

    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

/// `aesec edit`.
#[derive(Debug, Args)]
pub(crate) struct EditArgs {
    /// The file to edit (created from the creation rules if it does not exist).
    pub(crate) file: PathBuf,

    #[command(flatten)]
    pub(crate) types: TypeArgs,
}

/// `aesec set`.
#[derive(Debug, Args)]
pub(crate) struct SetArgs {
    /// The encrypted file, changed in place.
    pub(crate) file: PathBuf,
    /// Where to set, e.g. '["db"]["password"]'.
    pub(crate) index: String,
    /// The value as JSON (e.g. '"text"', '5', '{"a": 1}').
    #[arg(required_unless_present_any = ["value_file", "value_stdin"])]
    pub(crate) value: Option<String>,
    /// Read the JSON value from this file.
    #[arg(long, conflicts_with_all = ["value", "value_stdin"], value_name = "FILE")]
    pub(crate) value_file: Option<PathBuf>,
    /// Read the JSON value from stdin.
    #[arg(long, conflicts_with = "value")]
    pub(crate) value_stdin: bool,
    /// Succeed quietly when the value is already set (the file is never rewritten then; without
    /// this flag a note says so on stderr).
    #[arg(long)]
    pub(crate) idempotent: bool,
    #[command(flatten)]
    pub(crate) types: TypeArgs,
}

/// `aesec unset`.
#[derive(Debug, Args)]
pub(crate) struct UnsetArgs {
    /// The encrypted file, changed in place.
    pub(crate) file: PathBuf,
    /// The value to remove, e.g. '["db"]["password"]'.
    pub(crate) index: String,
    /// Succeed without writing when the value does not exist.
    #[arg(long)]
    pub(crate) idempotent: bool,
    #[command(flatten)]
    pub(crate) types: TypeArgs,
}

/// `aesec filestatus`.
#[derive(Debug, Args)]
pub(crate) struct FilestatusArgs {
    /// The file to inspect.
    pub(crate) file: PathBuf,
    #[command(flatten)]
    pub(crate) types: TypeArgs,
}

/// `aesec rotate`.
#[derive(Debug, Args)]
pub(crate) struct RotateArgs {
    /// The files to rotate.
    #[arg(required = true)]
    pub(crate) files: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) types: TypeArgs,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

/// `aesec keys …`.
#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Convert SSH ed25519 keys to age recipients or identities, as ssh-to-age does.
    SshToAge(SshToAgeArgs),
    /// Generate a new age identity, as age-keygen does.
    Generate(GenerateArgs),
}

/// `aesec keys ssh-to-age`.
#[derive(Debug, Args)]
pub(crate) struct SshToAgeArgs {
    /// Input file (`-`: stdin): public key lines, or one private key with --private-key.
    #[arg(short = 'i', long = "input", default_value = "-", value_name = "FILE")]
    pub(crate) input: PathBuf,
    /// Output file (`-`: stdout); a private key is written with mode 0600.
    #[arg(short = 'o', long = "output", default_value = "-", value_name = "FILE")]
    pub(crate) output: PathBuf,
    /// Convert a private key to an AGE-SECRET-KEY identity.
    #[arg(long)]
    pub(crate) private_key: bool,
    /// Read the private key's passphrase from stdin.
    #[arg(long)]
    pub(crate) stdin_pass: bool,
}

/// `aesec keys generate`.
#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// Write the identity to this file (mode 0600) instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
}

/// `aesec completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    pub(crate) shell: clap_complete::Shell,
}
