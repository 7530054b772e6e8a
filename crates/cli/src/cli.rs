//! The command-line grammar: clap types only, no behaviour.
//!
//! Subcommand and flag names follow sops where aesec does the same thing, so that scripts and
//! muscle memory carry over. Completions and the man page are generated from these types.
//!
//! Longer than our usual file on purpose: it is one table (a struct of flags per subcommand,
//! no logic), and reading the whole grammar in one place is what keeps flag names consistent
//! across subcommands.

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

    /// Allow plain http:// to an OpenBao server on another machine (the token crosses the
    /// network in clear); http:// to this machine (loopback) needs no flag.
    #[arg(long, global = true)]
    pub(crate) insecure_http: bool,

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
    /// Run a command with the file's top-level values in its environment (sops exec-env).
    ExecEnv(ExecEnvArgs),
    /// Run a command with the decrypted file at a private path, `{}` in the command (sops
    /// exec-file).
    ExecFile(ExecFileArgs),
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
    Enroll(EnrollArgs),
    /// Remove a member from .sops.yaml and give the files it could read new data keys.
    Remove(RemoveArgs),
    /// Write a host key made by `enroll --generate` for nixos-anywhere --extra-files, or as
    /// cloud-init user-data.
    Bootstrap(BootstrapArgs),
    /// Add or delete a file's key groups (sops groups); the data key and values stay.
    #[command(subcommand)]
    Groups(GroupsCommand),
    /// Install the secrets of a sops-nix manifest at activation time (sops-install-secrets).
    #[command(long_about = INSTALL_ABOUT)]
    Install(InstallArgs),
    /// Deploy NixOS hosts from a flake: build, check the host can decrypt its sops files, copy,
    /// switch with magic rollback; several hosts in parallel.
    #[command(long_about = DEPLOY_ABOUT)]
    Deploy(DeployArgs),
    /// Key tools: SSH to age conversion and key generation.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// OpenBao: publish sops files to KV v2 for Kubernetes (push, pull, manifests); re-wrap
    /// the Transit keys of sops files (transit rewrap).
    #[command(subcommand)]
    Bao(BaoCommand),
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

/// Store selection and layout, as sops' `--input-type`/`--output-type`/`--indent`.
#[derive(Debug, Args)]
pub(crate) struct TypeArgs {
    /// Format of the input (default: from the file extension).
    #[arg(long, value_enum, value_name = "TYPE")]
    pub(crate) input_type: Option<FormatArg>,

    /// Format of the output (default: the input format).
    #[arg(long, value_enum, value_name = "TYPE")]
    pub(crate) output_type: Option<FormatArg>,

    /// Indent YAML and JSON output by N spaces (YAML: 0 means the default 4; JSON: -1 means a
    /// tab). Overrides `.sops.yaml`'s `stores:` section.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub(crate) indent: Option<i64>,
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

    /// Comma-separated OpenBao/Vault Transit keys
    /// (`https://host:8200/v1/<engine>/keys/<name>`, any namespace inside the engine path);
    /// with `--age`, replaces the key groups of the matching creation rule. The token is
    /// `BAO_TOKEN`, else `VAULT_TOKEN`, else `~/.vault-token`.
    #[arg(long, env = crate::env::SOPS_VAULT_URIS, value_name = "URIS")]
    pub(crate) hc_vault_transit: Option<String>,

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
    /// The value as JSON (e.g. '"text"', '5', '{"a": 1}'); with --value-file, the file that
    /// holds it; none with --value-stdin.
    pub(crate) value: Option<String>,
    /// VALUE is a file holding the JSON value (keeps secrets out of process listings).
    #[arg(long)]
    pub(crate) value_file: bool,
    /// Read the JSON value from stdin; give no VALUE.
    #[arg(long)]
    pub(crate) value_stdin: bool,
    /// Succeed quietly when the value is already set (the file is never rewritten then; without
    /// this flag a note says so on stderr).
    #[arg(long)]
    pub(crate) idempotent: bool,
    /// Open the file even if its MAC does not match (recovering a hand-edited file only).
    #[arg(long)]
    pub(crate) ignore_mac: bool,
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
    /// Open the file even if its MAC does not match (recovering a hand-edited file only).
    #[arg(long)]
    pub(crate) ignore_mac: bool,
    #[command(flatten)]
    pub(crate) types: TypeArgs,
}

/// How `exec-env` and `exec-file` run their command.
#[derive(Debug, Args)]
pub(crate) struct RunAs {
    /// Give the command only the decrypted values, not aesec's own environment.
    #[arg(long)]
    pub(crate) pristine: bool,
    /// Run the command as this user (aesec must run as root; the environment is kept, as in
    /// sops 3.11).
    #[arg(long, value_name = "USER")]
    pub(crate) user: Option<String>,
    /// Start the command and exit at once without waiting for it (deprecated in sops).
    #[arg(long)]
    pub(crate) background: bool,
}

/// `aesec exec-env`.
#[derive(Debug, Args)]
pub(crate) struct ExecEnvArgs {
    /// The encrypted file; its top-level values become variables.
    pub(crate) file: PathBuf,
    /// The command, run by `/bin/sh -c`.
    pub(crate) command: String,
    /// Replace aesec with the command (exec) instead of running it as a child.
    #[arg(long, conflicts_with = "background")]
    pub(crate) same_process: bool,
    #[command(flatten)]
    pub(crate) run_as: RunAs,
    #[command(flatten)]
    pub(crate) types: TypeArgs,
}

/// `aesec exec-file`.
#[derive(Debug, Args)]
pub(crate) struct ExecFileArgs {
    /// The encrypted file.
    pub(crate) file: PathBuf,
    /// The command, run by `/bin/sh -c`; `{}` is replaced by the plaintext's path.
    pub(crate) command: String,
    /// A regular 0600 file instead of a FIFO (for commands that read the file twice or seek).
    #[arg(long)]
    pub(crate) no_fifo: bool,
    /// The name of the FIFO or file inside the private directory (default: tmp-file).
    #[arg(long, value_name = "NAME")]
    pub(crate) filename: Option<String>,
    #[command(flatten)]
    pub(crate) run_as: RunAs,
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

/// `aesec install`.
#[derive(Debug, Args)]
pub(crate) struct InstallArgs {
    /// The manifest JSON, as sops-nix's module writes it.
    #[arg(long, value_name = "FILE")]
    pub(crate) manifest: PathBuf,
    /// Validate only: `manifest` (structure) or `sopsfile` (also every key exists; no private
    /// key needed).
    #[arg(long, value_enum, default_value = "off", value_name = "MODE")]
    pub(crate) check_mode: CheckModeArg,
    /// Own every file by root without looking users up (the neededForUsers phase).
    #[arg(long)]
    pub(crate) ignore_passwd: bool,
    /// Report what would change and change nothing (also NIXOS_ACTION=dry-activate).
    #[arg(long)]
    pub(crate) dry_activate: bool,
    /// Mount the RAM file system: `required`, `if-permitted` (else a plain directory, said so)
    /// or `never`.
    #[arg(long, value_enum, default_value = "required", value_name = "WHEN")]
    pub(crate) mount: MountArg,
    /// Where the restart/reload lists go.
    #[arg(long, default_value = "/run/nixos", value_name = "DIR")]
    pub(crate) nixos_dir: PathBuf,
    /// Restart and reload the units of changed secrets with `systemctl --no-block` instead of
    /// the lists (sops-nix's systemd mode; also when SOPS_RESTART_UNITS_VIA_SYSTEMCTL is set).
    #[arg(long)]
    pub(crate) restart_via_systemctl: bool,
}

/// `aesec deploy`.
#[derive(Debug, Args)]
pub(crate) struct DeployArgs {
    /// The hosts (`nixosConfigurations` attributes and `.sops.yaml` members).
    #[arg(value_name = "HOST", required = true)]
    pub(crate) hosts: Vec<String>,
    /// The flake; with `#ATTR`, the toplevel to build as is (default: `.`, building
    /// `.#nixosConfigurations.HOST.config.system.build.toplevel`).
    #[arg(long, default_value = ".", value_name = "REF")]
    pub(crate) flake: String,
    /// What switch-to-configuration does.
    #[arg(long, value_enum, default_value = "switch", value_name = "ACTION")]
    pub(crate) action: DeployActionArg,
    /// Where ssh reaches the host (default: its name); one host only.
    #[arg(long, value_name = "USER@ADDR")]
    pub(crate) target: Option<String>,
    /// Options for every ssh connection, split at spaces (also NIX_SSHOPTS).
    #[arg(long, env = crate::env::NIX_SSHOPTS, value_name = "OPTIONS", allow_hyphen_values = true)]
    pub(crate) ssh_opts: Option<String>,
    /// Run the commands on the target through sudo.
    #[arg(long)]
    pub(crate) sudo: bool,
    /// Build on this host instead of here.
    #[arg(long, value_name = "USER@ADDR")]
    pub(crate) build_host: Option<String>,
    /// The system profile on the target.
    #[arg(
        long,
        default_value = "/nix/var/nix/profiles/system",
        value_name = "PATH"
    )]
    pub(crate) profile: String,
    /// The target's nix store, when not its default (a path: a store rooted there).
    #[arg(long, value_name = "STORE")]
    pub(crate) target_store: Option<String>,
    /// Where the target keeps the activation directory (canary, log).
    #[arg(long, default_value = "/tmp", value_name = "DIR")]
    pub(crate) temp_dir: String,
    /// Keep the new system even when the deployer cannot confirm it.
    #[arg(long)]
    pub(crate) no_magic_rollback: bool,
    /// Seconds the target waits for the confirmation before rolling back.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub(crate) confirm_timeout: u64,
    /// A nix option for the nix commands run here (repeatable).
    #[arg(long = "option", num_args = 2, value_names = ["NAME", "VALUE"], action = clap::ArgAction::Append)]
    pub(crate) nix_options: Vec<String>,
    /// How many hosts to deploy at once.
    #[arg(long, short = 'j', default_value_t = 4, value_name = "N")]
    pub(crate) jobs: usize,
    /// Print every command instead of running any.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// `deploy --action`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum DeployActionArg {
    /// Make it the boot default and activate it.
    Switch,
    /// Make it the boot default.
    Boot,
    /// Activate it without making it the boot default.
    Test,
    /// Show what activating it would do.
    DryActivate,
}

/// `aesec deploy --help`.
const DEPLOY_ABOUT: &str = "\
Deploy NixOS hosts from a flake. For each host: nix build its toplevel \
(FLAKE#nixosConfigurations.HOST.config.system.build.toplevel), check that the host can decrypt \
every sops file its configuration names (the aesec manifests in the closure list them; the \
host's recipient is the .sops.yaml member of its name; no key needed) and refuse otherwise, \
before anything is copied; nix copy --to ssh://TARGET; nix-env -p PROFILE --set; \
switch-to-configuration ACTION over ssh. The secrets are installed by the activation itself: \
the deployer never decrypts and never sends plaintext.

Magic rollback (switch, test): the target runs the switch detached from the connection and \
waits --confirm-timeout seconds for the deployer to confirm over a new connection; otherwise, \
or when the switch fails, it rolls back to the previous generation by itself.

Several hosts run --jobs at a time (default 4); a table (or --json) reports each. Exit code 0 when every \
host was deployed, 1 otherwise.";

/// `--check-mode`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum CheckModeArg {
    /// Install.
    Off,
    /// Check the manifest.
    Manifest,
    /// Check the manifest and every sops file.
    Sopsfile,
}

/// `--mount`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum MountArg {
    /// Mount or fail.
    Required,
    /// Mount when permitted.
    IfPermitted,
    /// Never mount.
    Never,
}

/// `aesec install --help`.
const INSTALL_ABOUT: &str = "\
Install the secrets of a sops-nix manifest (the JSON sops-nix's NixOS module writes) as
sops-install-secrets does: a RAM file system at secretsMountPoint, generation N+1 written with
every owner, group and mode, symlinkPath swapped atomically, custom paths linked, old
generations pruned. Identities come from ageKeyFile and ageSshKeyPaths (converted in memory,
written nowhere). Only units of secrets whose content changed are put in
/run/nixos/activation-{restart,reload}-list. Any failure leaves the live generation untouched.
In user mode (home-manager) %r is $XDG_RUNTIME_DIR.";

/// `aesec rotate --help`.
const ROTATE_ABOUT: &str = "\
Give files a new data key and re-encrypt every value with it (sops rotate); a removed member
holding an old copy cannot read what is encrypted afterwards.

  aesec rotate -i FILE…            rotate these files in place (one file: stdout by default)
  aesec rotate --older-than 90d    the CI rotation job: every sops file under .sops.yaml's
                                   directory (or the PATHs given) whose lastmodified is older
                                   than 90 days gets a new data key

Whom the new key is wrapped for: given FILEs (as sops rotate), the recipients listed in each
file's own sops metadata, plus --add-age (first key group) and minus --rm-age (every group). That list is not covered by the MAC: anyone who can write the file
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
    /// Also wrap the new data key for these age recipients (comma-separated), added to the
    /// first key group, as sops' `rotate --add-age`.
    #[arg(long, value_name = "RECIPIENTS", conflicts_with = "older_than")]
    pub(crate) add_age: Option<String>,
    /// Leave these age recipients (comma-separated) out of every key group, as sops'
    /// `rotate --rm-age`.
    #[arg(long, value_name = "RECIPIENTS", conflicts_with = "older_than")]
    pub(crate) rm_age: Option<String>,
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

Every file to change is decrypted and its MAC checked, and its new content verified, before
any file is replaced; each file is then replaced atomically, so an interrupted run leaves
every file either as it was or fully updated. Needs an identity that can decrypt every
file that changes (see `aesec decrypt --help` for where identities are looked for).

Exit codes: 0 done, nothing to do, a dry run, or the answer was n; 1 no confirmation, or a
file cannot be planned (not encrypted, no creation rule); 128 a file to change cannot be
opened with the identities found; 51 a MAC mismatch; 3 some writes failed; 61 no .sops.yaml.
In the first failing cases no file is changed.";

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

/// `aesec enroll --help`.
const ENROLL_ABOUT: &str = "\
Enroll a host (or any member): take its key from exactly one source, record it as an anchor in \
.sops.yaml (the comment keeps the SSH key, the date and the source), add its alias to the rules \
it should read, and re-encrypt the files of those rules for it.

Key sources:
  --keyscan HOST[:PORT]   ask the running host's sshd (ssh-keyscan -t ed25519)
  --key FILE|-            a .pub / known_hosts line, or an age1… recipient
  --generate              make the host key now, for a host not installed yet: the private key
                          is stored encrypted to the admins (members named admin_…); write it
                          for nixos-anywhere with `aesec bootstrap NAME --out DIR`

A scanned key is shown (its SHA256: fingerprint, as `ssh-keygen -l` prints it, and its age \
recipient) before anything is written. --fingerprint SHA256:… pins it: a different key is \
refused. A known_hosts entry for the host (--known-hosts FILE, default ~/.ssh/known_hosts; \
hashed entries too) vouches for it; a known_hosts entry with another key, or an @revoked one, \
refuses it. With -y, --keyscan needs --fingerprint or a matching known_hosts entry: an \
unattended run never takes the network's word.

Targets: --to PATH (the rule governing PATH), --like OTHER (every rule naming OTHER), or by \
default the per-host rule ^DIR/NAME/ (created when missing, with the admins).

Enrolling the same key again changes nothing. A different key for a known name is refused \
(both fingerprints shown) unless --replace: a changed host key is an alarm. Adding a recipient \
only re-wraps each file's data key; with --replace the old key is removed and the files get new \
data keys.";

/// Arguments of `aesec enroll`.
#[derive(Debug, Args)]
#[command(long_about = ENROLL_ABOUT)]
pub(crate) struct EnrollArgs {
    /// The member's name: its anchor in .sops.yaml, usually the host name.
    #[arg(value_name = "NAME")]
    pub(crate) name: String,

    #[command(flatten)]
    pub(crate) source: SourceArgs,

    /// With --generate: where to store the encrypted private key (default
    /// DIR/NAME/ssh_host_ed25519_key beside the per-host rules).
    #[arg(long, value_name = "PATH", requires = "generate")]
    pub(crate) key_path: Option<PathBuf>,

    /// Grant the rule that governs PATH (repeatable).
    #[arg(long = "to", value_name = "PATH", conflicts_with = "like")]
    pub(crate) to: Vec<PathBuf>,

    /// Grant every rule that names member OTHER.
    #[arg(long, value_name = "OTHER")]
    pub(crate) like: Option<String>,

    /// Accept a different key for a member that exists.
    #[arg(long)]
    pub(crate) replace: bool,

    /// Only edit .sops.yaml; run `aesec updatekeys` later.
    #[arg(long)]
    pub(crate) no_updatekeys: bool,

    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub(crate) yes: bool,

    /// With --keyscan: accept only the host key with this fingerprint (`ssh-keygen -l`).
    #[arg(long, value_name = "SHA256:…", requires = "keyscan")]
    pub(crate) fingerprint: Option<String>,

    /// With --keyscan: the known_hosts file that may vouch for the key (default
    /// ~/.ssh/known_hosts, when it exists).
    #[arg(long, value_name = "FILE", requires = "keyscan")]
    pub(crate) known_hosts: Option<PathBuf>,

    /// The ssh-keyscan program for --keyscan.
    #[arg(long, value_name = "PATH", default_value = "ssh-keyscan")]
    pub(crate) keyscan_program: PathBuf,
}

/// Exactly one key source.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct SourceArgs {
    /// Ask the host's sshd for its ed25519 host key.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub(crate) keyscan: Option<String>,

    /// Read the key from FILE (`-`: stdin): a .pub or known_hosts line, or an age recipient.
    #[arg(long, value_name = "FILE")]
    pub(crate) key: Option<PathBuf>,

    /// Generate the host key now (for a host not installed yet).
    #[arg(long)]
    pub(crate) generate: bool,
}

/// `aesec remove --help`.
const REMOVE_ABOUT: &str = "\
Remove a member: delete its anchor and every alias from .sops.yaml (refused when a rule would \
be left without a recipient or without an admin, or when it is the last admin), then \
re-encrypt every file it could read WITH NEW DATA KEYS, so that an old copy of a data key \
opens nothing written from now on. Values already in git history stay readable by the removed \
key: the values it could read are listed, change them.";

/// Arguments of `aesec remove`.
#[derive(Debug, Args)]
#[command(long_about = REMOVE_ABOUT)]
pub(crate) struct RemoveArgs {
    /// The member to remove.
    #[arg(value_name = "NAME")]
    pub(crate) name: String,

    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub(crate) yes: bool,
}

/// Arguments of `aesec bootstrap`.
#[derive(Debug, Args)]
pub(crate) struct BootstrapArgs {
    /// The member enrolled with `aesec enroll NAME --generate`.
    #[arg(value_name = "NAME")]
    pub(crate) name: String,

    /// The directory to pass to `nixos-anywhere --extra-files`.
    #[arg(long, value_name = "DIR", required_unless_present = "cloud_init")]
    pub(crate) out: Option<PathBuf>,

    /// Write a `#cloud-config` user-data file (0600) whose `ssh_keys` carry the host key, for a
    /// golden image booted through cloud-init (a Proxmox `cicustom` snippet, a NoCloud seed).
    #[arg(long, value_name = "FILE")]
    pub(crate) cloud_init: Option<PathBuf>,

    /// The stored private key, if not at the default path of `enroll --generate`.
    #[arg(long, value_name = "PATH")]
    pub(crate) key_path: Option<PathBuf>,
}

/// `aesec groups …`.
#[derive(Debug, Subcommand)]
pub(crate) enum GroupsCommand {
    /// Add a key group of the given recipients.
    Add(GroupsAddArgs),
    /// Delete the key group at INDEX (from 0); `remove` is accepted too.
    #[command(visible_alias = "remove")]
    Delete(GroupsDeleteArgs),
}

/// What `groups add` and `groups delete` share: the file, where the result goes, the threshold.
#[derive(Debug, Args)]
pub(crate) struct GroupsFileArgs {
    /// The encrypted file.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) file: PathBuf,
    /// Write the result over the file (atomically) instead of to stdout.
    #[arg(short, long = "in-place")]
    pub(crate) in_place: bool,
    /// Groups needed to decrypt (default: the file's, or every group).
    #[arg(long, value_name = "N")]
    pub(crate) shamir_secret_sharing_threshold: Option<usize>,
    #[command(flatten)]
    pub(crate) types: TypeArgs,
}

/// `aesec groups add`.
#[derive(Debug, Args)]
pub(crate) struct GroupsAddArgs {
    #[command(flatten)]
    pub(crate) target: GroupsFileArgs,
    /// An age recipient of the new group (repeatable).
    #[arg(long, value_name = "RECIPIENT", required = true)]
    pub(crate) age: Vec<String>,
}

/// `aesec groups delete`.
#[derive(Debug, Args)]
pub(crate) struct GroupsDeleteArgs {
    #[command(flatten)]
    pub(crate) target: GroupsFileArgs,
    /// The group to delete, counted from 0.
    pub(crate) index: usize,
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

/// `aesec bao …`. The server and token come from `BAO_ADDR`, `BAO_TOKEN`, `BAO_CACERT`,
/// `BAO_NAMESPACE`… (each else its `VAULT_` name), as the `bao` command reads them.
#[derive(Debug, Subcommand)]
pub(crate) enum BaoCommand {
    /// Publish the sops files mapped in .aesec.yaml to KV v2: a plan (+ create, ~ update,
    /// = unchanged, - prune), a confirmation, then check-and-set writes; an unchanged secret
    /// gets no new version.
    #[command(long_about = BAO_PUSH_ABOUT)]
    Push(BaoPushArgs),
    /// Read a KV secret into a sops file, encrypted under its creation rule (a new file, or a
    /// subtree of an existing one with --keys).
    Pull(BaoPullArgs),
    /// Print the External Secrets manifests (ClusterSecretStore, one ExternalSecret per
    /// published path) and, as comments, the OpenBao policy and Kubernetes auth role.
    Manifests(BaoManifestsArgs),
    /// The Transit keys that wrap sops data keys (`hc_vault` entries).
    #[command(subcommand)]
    Transit(BaoTransitCommand),
    /// Log in (token, AppRole, Kubernetes, JWT) and show the token's policies and lifetime;
    /// the token itself only with --field token.
    #[command(long_about = BAO_LOGIN_ABOUT)]
    Login(BaoLoginArgs),
    /// Initialise a new OpenBao server; its unseal keys and root token go straight into a sops
    /// file encrypted under its creation rule (never printed, never on disk in clear).
    #[command(long_about = BAO_INIT_ABOUT)]
    Init(BaoInitArgs),
    /// Unseal a server with the shares of an `init` file that your identities open, and say how
    /// many more are needed.
    Unseal(BaoUnsealArgs),
}

/// `aesec bao login --help`.
const BAO_LOGIN_ABOUT: &str = "\
Log in to OpenBao the way a CI job, a host or a pod does, and show what the new token may do
(accessor, policies, time to live). The token itself is printed only with `--field token`, alone
on stdout, for `export BAO_TOKEN=\"$(aesec bao login … --field token)\"`; it is never written to
disk (unlike `bao login`, nothing goes to ~/.vault-token).

  --method token       (default) look up the token of BAO_TOKEN/VAULT_TOKEN: is it valid, what
                       can it do, when does it expire
  --method approle     --role-id ID and --secret-id-file FILE, or --wrapped-secret-id-file FILE
                       with --role NAME (the wrapping token must come from
                       auth/<mount>/role/NAME/secret-id, else it is refused unopened)
  --method kubernetes  --role ROLE, the pod's service-account token (or --jwt-file FILE)
  --method jwt         --role ROLE --jwt-file FILE (a CI identity token, e.g. GitHub's)

Secret inputs are read from files (`/dev/stdin` reads standard input), never from arguments,
which other users can see in the process list.";

/// `--method` of `aesec bao login`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum LoginMethod {
    /// The token of BAO_TOKEN/VAULT_TOKEN (looked up, not exchanged).
    Token,
    /// AppRole: role-id and secret-id.
    Approle,
    /// Kubernetes: a service-account token.
    Kubernetes,
    /// JWT/OIDC: a signed identity token.
    Jwt,
}

/// `--field` of `aesec bao login`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum LoginField {
    /// The token itself.
    Token,
    /// The token's accessor.
    Accessor,
    /// The policies, comma-separated.
    Policies,
    /// The time to live in seconds (0: no expiry).
    Ttl,
    /// Whether it can be renewed.
    Renewable,
}

/// `aesec bao login`.
#[derive(Debug, Args)]
pub(crate) struct BaoLoginArgs {
    /// The auth method.
    #[arg(long, value_enum, default_value_t = LoginMethod::Token)]
    pub(crate) method: LoginMethod,
    /// The auth mount (default: the method's name).
    #[arg(long, value_name = "MOUNT")]
    pub(crate) path: Option<String>,
    /// The role (kubernetes, jwt; approle with --wrapped-secret-id-file: the role name).
    #[arg(long)]
    pub(crate) role: Option<String>,
    /// approle: the role-id.
    #[arg(long, value_name = "ID")]
    pub(crate) role_id: Option<String>,
    /// approle: a file holding the secret-id.
    #[arg(long, value_name = "FILE", conflicts_with = "wrapped_secret_id_file")]
    pub(crate) secret_id_file: Option<PathBuf>,
    /// approle: a file holding a response-wrapping token of the secret-id.
    #[arg(long, value_name = "FILE")]
    pub(crate) wrapped_secret_id_file: Option<PathBuf>,
    /// jwt, kubernetes: a file holding the JWT (kubernetes: default the pod's service-account
    /// token).
    #[arg(long, value_name = "FILE")]
    pub(crate) jwt_file: Option<PathBuf>,
    /// Print only this field (`token` prints the new token).
    #[arg(long, value_enum)]
    pub(crate) field: Option<LoginField>,
}

/// `aesec bao init --help`.
const BAO_INIT_ABOUT: &str = "\
Initialise a new OpenBao server (BAO_ADDR) and write its unseal keys and root token straight
into FILE, a sops file (YAML or JSON) encrypted under FILE's .sops.yaml creation rule. Nothing
is printed and nothing is written in clear; every key of the rule is tried before the server is
initialised, and an existing FILE is never overwritten.

With key groups (one per admin), the server gets one unseal share per group, and the share of
group i is sealed in a nested sops document that only group i's keys open (sops cannot give a
subtree of one file to one key group: its key groups share one data key). The threshold is the
rule's shamir_threshold (all groups when it has none), so the admins who together may unseal
are the ones who together can read the root token. With one key group, --shares and
--threshold split the key (default 1 of 1).";

/// `aesec bao init`.
#[derive(Debug, Args)]
pub(crate) struct BaoInitArgs {
    /// The sops file to create (YAML or JSON).
    #[arg(long, value_name = "FILE")]
    pub(crate) to: PathBuf,
    /// Unseal key shares (with key groups: must be the number of groups).
    #[arg(long, value_name = "N")]
    pub(crate) shares: Option<u32>,
    /// Shares that unseal (default: the rule's shamir_threshold, else all groups; 1 with one
    /// group).
    #[arg(long, value_name = "N")]
    pub(crate) threshold: Option<u32>,
}

/// `aesec bao unseal`.
#[derive(Debug, Args)]
pub(crate) struct BaoUnsealArgs {
    /// The sops file `aesec bao init` wrote.
    #[arg(long, value_name = "FILE")]
    pub(crate) from: PathBuf,
}

/// `aesec bao transit …`.
#[derive(Debug, Subcommand)]
pub(crate) enum BaoTransitCommand {
    /// Re-wrap every `hc_vault` entry to its key's latest version after a Transit key rotation.
    #[command(long_about = BAO_TRANSIT_REWRAP_ABOUT)]
    Rewrap(BaoTransitRewrapArgs),
}

/// `aesec bao transit rewrap --help`.
const BAO_TRANSIT_REWRAP_ABOUT: &str = "\
Re-wrap every hc_vault entry of the tree that an older version of its Transit key wraps, after
`bao write -f transit/keys/<key>/rotate`. OpenBao's Transit `rewrap` does it server-side: no
data key leaves OpenBao in clear, and only the entries' enc strings change (they are outside
the MAC: sops opens the files as before). Each file is written atomically.

The plan (files and key versions) is printed first and confirmed, as with updatekeys. The token
is BAO_TOKEN, else VAULT_TOKEN, else ~/.vault-token; it needs read on transit/keys/<key> and
update on transit/rewrap/<key>.";

/// `aesec bao transit rewrap`.
#[derive(Debug, Args)]
pub(crate) struct BaoTransitRewrapArgs {
    /// Files and directories to re-wrap (default: the whole tree governed by .sops.yaml).
    #[arg(value_name = "PATH")]
    pub(crate) paths: Vec<PathBuf>,
    /// Apply the plan without asking.
    #[arg(short, long)]
    pub(crate) yes: bool,
    /// Print the plan and exit without writing anything.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// `aesec bao push --help`.
const BAO_PUSH_ABOUT: &str = "\
Publish the sops files mapped in .aesec.yaml (bao.publish) to OpenBao KV v2, one flat map of
strings per Kubernetes Secret.

Each path costs one metadata read; a secret whose fingerprint (in its custom_metadata) is
unchanged is not written, so it gets no new version. Writes are check-and-set: a path written
by someone else since the plan is reported as a conflict and left alone. A path that aesec does
not manage (no managed-by: aesec) is refused unless --adopt; --prune soft-deletes managed paths
that left the mapping (reversible with `bao kv undelete`). --prune takes every aesec-managed
path of the mapping's mounts for this mapping's: two repositories sharing a mount must not
both prune.

Exit status 1 when a path was refused or had a conflict.";

/// Where the mapping is.
#[derive(Debug, Args)]
pub(crate) struct MappingArgs {
    /// The mapping file (default: .aesec.yaml beside the .sops.yaml in use, else in the
    /// working directory).
    #[arg(long, value_name = "FILE")]
    pub(crate) mapping: Option<PathBuf>,
}

/// `aesec bao push`.
#[derive(Debug, Args)]
pub(crate) struct BaoPushArgs {
    #[command(flatten)]
    pub(crate) mapping: MappingArgs,
    /// Apply the plan without asking.
    #[arg(short, long)]
    pub(crate) yes: bool,
    /// Print the plan and exit without writing anything.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Also soft-delete managed paths that are no longer in the mapping.
    #[arg(long)]
    pub(crate) prune: bool,
    /// Take over mapped paths that another tool (or nobody) manages.
    #[arg(long)]
    pub(crate) adopt: bool,
}

/// `aesec bao pull`.
#[derive(Debug, Args)]
pub(crate) struct BaoPullArgs {
    /// The KV path under the mount (`homelab/monitoring/grafana-admin`).
    #[arg(value_name = "PATH")]
    pub(crate) path: String,
    /// The sops file to write (created under its .sops.yaml creation rule if it is new).
    #[arg(long, value_name = "FILE")]
    pub(crate) to: PathBuf,
    /// Where in the file the secret goes, in sops path syntax (`'["grafana"]'`); required
    /// when the file exists.
    #[arg(long, value_name = "TREE_PATH")]
    pub(crate) keys: Option<String>,
    /// The KV v2 mount (default: bao.kv_mount of the mapping).
    #[arg(long)]
    pub(crate) mount: Option<String>,
    #[command(flatten)]
    pub(crate) mapping: MappingArgs,
}

/// `aesec bao manifests`.
#[derive(Debug, Args)]
pub(crate) struct BaoManifestsArgs {
    #[command(flatten)]
    pub(crate) mapping: MappingArgs,
}
