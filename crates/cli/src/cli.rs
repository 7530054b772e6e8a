//! The command-line grammar: clap types only, no behaviour.
//!
//! Subcommand and flag names follow sops where aesec does the same thing, so that scripts and
//! muscle memory carry over. Completions and the man page are generated from these types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// From a new host to its first decryption, shown after the command list.
const ENROLLMENT_STORY: &str = "\
A new host, from enrollment to its first decryption:
  aesec enroll trinity --generate            make its SSH host key now, grant it its files
  aesec bootstrap trinity --out extra        extra/etc/ssh/ssh_host_ed25519_key for nixos-anywhere
  aesec enroll trinity --keyscan trinity:22  (a running host: take the key from its sshd)
  SOPS_AGE_SSH_PRIVATE_KEY_FILE=/etc/ssh/ssh_host_ed25519_key aesec decrypt secrets/trinity/x.yaml
  aesec remove trinity                       revoke: new data keys for every file it could read
Keep the tree in line with .sops.yaml: aesec status, aesec updatekeys, aesec check (CI).";

/// sops-compatible secrets and key lifecycle for NixOS fleets.
#[derive(Debug, Parser)]
#[command(
    name = "aesec",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = ENROLLMENT_STORY
)]
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
    /// Give files a new data key and re-encrypt every value (sops rotate), or, with
    /// --older-than, every file whose data key is older than a limit (the CI rotation job).
    #[command(long_about = ROTATE_ABOUT)]
    Rotate(RotateArgs),
    /// Bring every sops file in line with .sops.yaml: add and remove recipients, rotating the
    /// data key when one is removed (sops updatekeys, for the whole tree at once).
    #[command(long_about = UPDATEKEYS_ABOUT)]
    Updatekeys(UpdatekeysArgs),
    /// Fail when any file's recipients differ from .sops.yaml or a file under a rule is not
    /// encrypted (CI and pre-commit gate; needs no keys).
    #[command(long_about = CHECK_ABOUT)]
    Check(CheckArgs),
    /// Show who can read what: the matrix of files × members, with drift marked (needs no
    /// keys).
    #[command(long_about = STATUS_ABOUT)]
    Status(StatusArgs),
    /// Enroll a host: record its SSH host key in .sops.yaml, grant it rules, re-encrypt its
    /// files.
    Enroll(crate::commands::enroll::EnrollArgs),
    /// Remove a member from .sops.yaml and give the files it could read new data keys.
    Remove(crate::commands::remove::RemoveArgs),
    /// Write a host key made by `enroll --generate` for nixos-anywhere --extra-files.
    Bootstrap(crate::commands::bootstrap::BootstrapArgs),
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

/// `aesec rotate --help`.
const ROTATE_ABOUT: &str = "\
Give files a new data key and re-encrypt every value with it (sops rotate); a removed member
holding an old copy cannot read what is encrypted afterwards.

  aesec rotate -i FILE…            rotate these files in place (one file: stdout by default)
  aesec rotate --older-than 90d    the CI rotation job: every sops file under .sops.yaml's
                                   directory (or the PATHs given) whose lastmodified is older
                                   than 90 days gets a new data key

Whom the new key is wrapped for: given FILEs (as sops rotate), the recipients listed in each
file's own sops metadata. That list is not covered by the MAC: anyone who can write the file
can add a recipient there, and rotating hands that recipient the new key. Run `aesec check`
first, or use --older-than, which wraps for the recipients of the .sops.yaml creation rule
governing each file (as updatekeys does), whatever the file lists; a due file whose
recipients differ from its rule is named on stderr with both lists.

--older-than is non-interactive and commits nothing: run it on a schedule, then commit the
changed files for review. Every due file is opened (MAC checked) before any is written; each
write is atomic. Durations: a whole number and s, m, h, d or w. Exit codes: 0 done (also when
nothing was due), 128 a due file cannot be opened with the identities found (nothing written),
51 a MAC mismatch (nothing written), 25 a value that does not decrypt or is in clear where it
must be encrypted (nothing written), 3 a write failed (the other files were written), 1 other
errors (a file no creation rule governs, a key aesec cannot wrap). --json prints the report:
every file with its action and previous lastmodified.";

/// `aesec rotate`.
#[derive(Debug, Args)]
pub(crate) struct RotateArgs {
    /// The files to rotate; with --older-than, files and directories (default: the whole tree
    /// governed by .sops.yaml).
    #[arg(required_unless_present = "older_than", value_name = "PATH")]
    pub(crate) files: Vec<PathBuf>,
    /// Rotate every sops file whose data key (its lastmodified) is older than this, like
    /// `90d`, `12h`, `2w` (units s, m, h, d, w); files are rewritten in place.
    #[arg(long, value_name = "DURATION", value_parser = aesec::fleet::parse_duration,
          conflicts_with_all = ["output", "input_type", "output_type"])]
    pub(crate) older_than: Option<std::time::Duration>,
    #[command(flatten)]
    pub(crate) types: TypeArgs,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

/// `aesec updatekeys --help`.
const UPDATEKEYS_ABOUT: &str = "\
Bring sops files in line with the creation rules of .sops.yaml, as sops updatekeys does, for
the whole tree at once.

With no PATH, every sops file under the directory of .sops.yaml is considered; a directory
means every sops file under it. The plan is printed in sops' layout (+++ added, --- removed
recipients, per key group) and confirmed with `Is this okay? (y/n):` unless -y is given; the
answer is read from standard input, and no answer (end of input) is an error, as in sops.

Adding recipients only wraps the same data key for them: values, MAC and lastmodified stay
byte-identical, so sops updatekeys afterwards finds nothing to do. Removing a recipient (or
raising the number of key groups needed) gives the file a new data key and re-encrypts every
value, so that the removed member cannot read later versions with a copy of the old key;
--no-rotate keeps sops' behaviour (re-wrap only) and says loudly that revocation was skipped.

Every file to change is decrypted and its MAC checked before anything is written; new
contents are verified in memory; each file is then replaced atomically, so an interrupted run
leaves every file either as it was or fully updated. Needs an identity that can decrypt every
file that changes (see `aesec decrypt --help` for where identities are looked for).

Exit codes: 0 done, nothing to do, a dry run, or the answer was n; 1 no confirmation, or a
file cannot be planned (not encrypted, no creation rule); 128 a file to change cannot be
opened with the identities found; 51 a MAC mismatch; 3 some writes failed; 61 no .sops.yaml.
In the first failing cases nothing is written.";

/// `aesec updatekeys`.
#[derive(Debug, Args)]
pub(crate) struct UpdatekeysArgs {
    /// Files and directories to update (default: the whole tree governed by .sops.yaml).
    #[arg(value_name = "PATH")]
    pub(crate) paths: Vec<PathBuf>,
    /// Apply the plan without asking.
    #[arg(short, long)]
    pub(crate) yes: bool,
    /// Print the plan and exit without writing anything.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// DANGEROUS: when recipients are removed, keep the old data key (sops' behaviour): a
    /// removed member with an old copy of a file can read every later version.
    #[arg(long)]
    pub(crate) no_rotate: bool,
}

/// `aesec check --help`.
const CHECK_ABOUT: &str = "\
Compare every sops file with .sops.yaml without decrypting anything, for CI and pre-commit.

Reported: a recipient the rule names but the file lacks (run aesec updatekeys); a recipient
the file has but the rule does not name (drift, or someone granted themselves access by
editing metadata); a different number of key groups or Shamir threshold; a file that a rule
with a path_regex governs but that is not encrypted (plaintext committed by mistake); an
encrypted file no rule governs; a file whose metadata cannot be read.

Values are looked at too, as far as they show without a key: a value in clear where the file's
own crypt rule (unencrypted_suffix, encrypted_regex, ...) requires encryption (someone edited
the file without the key: the MAC does not cover key names, so a renamed or split clear value
still matches it; decrypt refuses such a file), an ENC[...] value that is malformed, and one
whose type: cannot have its plaintext length (type:bool that is not True/False, type:int
longer than 20 bytes, ...: the type: field is not authenticated). See the README's security
model for what no keyless check can see.

With no PATH, every file under the directory of .sops.yaml is checked; a directory means every
file under it. Exit codes: 0 clean, 10 problems found (listed, or as JSON with --json), other
codes when the check itself cannot run (61 no .sops.yaml, 2 a directory cannot be read).";

/// `aesec check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Files and directories to check (default: the whole tree governed by .sops.yaml).
    #[arg(value_name = "PATH")]
    pub(crate) paths: Vec<PathBuf>,
}

/// `aesec status --help`.
const STATUS_ABOUT: &str = "\
Print the matrix of sops files × members: who holds a key entry in which file, compared with
.sops.yaml, without decrypting anything.

Members are the anchors of the `keys:` list of .sops.yaml (other recipients found in files or
rules are shown by their key). Cells: `x` the file is encrypted to the member as its rule
says, `.` neither file nor rule names the member, `-` missing (the rule names the member, the
file lacks it: run aesec updatekeys), `+` extra (the file has an entry its rule does not name:
drift or tampering). Rows with drift are marked `drift`. With several key groups an entry is a
Shamir share: `x` then means \"takes part\", not \"can decrypt alone\". Exit code 0 unless the
matrix cannot be built; use aesec check as the gate.";

/// `aesec status`.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Files and directories to show (default: the whole tree governed by .sops.yaml).
    #[arg(value_name = "PATH")]
    pub(crate) paths: Vec<PathBuf>,
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
    /// Generate a post-quantum (ML-KEM-768 + X25519) identity, as `age-keygen -pq` does: an
    /// `age1pq1…` recipient that sops 3.12+ and Go age 1.3+ read.
    #[arg(long)]
    pub(crate) pq: bool,
}

/// `aesec completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    pub(crate) shell: clap_complete::Shell,
}
