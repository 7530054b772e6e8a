//! Human output and questions: errors with hints, exit codes chosen from the typed error, JSON
//! printing, the `y/n` confirmation and the passphrase prompt, and the pieces several commands
//! print (paths relative to the working directory, the fleet summary line).
//!
//! Every failure goes through [`report_error`]: `error: …` with the whole cause chain (which
//! names the file and, for value failures, the key path), then for the common failures a blank
//! line and a `hint:`. With `--json` the same facts are printed as one JSON object on stderr.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use aesec::config::ConfigError;
use aesec::file::{EditError, FileError};
use aesec::fleet::{FleetError, FleetFileError, Plan, Report};
use aesec::fs::{FsError, Operation};
use aesec::keys::ssh::{PassphrasePrompt, SshToAgeError};
use aesec::secrecy::SecretString;
use aesec::sops::{DecryptError, MasterKeyError, OpenError, PathError, SealError};
use aesec::store::StoreError;
use aesec_bao_bridge::Error as BaoError;

use crate::exit;

/// A failure the CLI itself detects, with the exit code sops uses for it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The named file does not exist.
    #[error("no such file: '{0}'")]
    NoSuchFile(String),
    /// Options that cannot be combined or are missing.
    #[error("{0}")]
    Usage(&'static str),
    /// Positional arguments are missing for what the flags ask (sops exits 100).
    #[error("missing arguments: {0}")]
    MissingArguments(&'static str),
    /// The index of `set` or `unset` is not a tree path (sops: "Invalid set index format").
    #[error("invalid index '{index}'")]
    InvalidIndex {
        /// The index as given.
        index: String,
        /// Why it is not a path.
        #[source]
        source: PathError,
    },
    /// Standard input could not be read.
    #[error("could not read standard input")]
    ReadStdin(#[source] std::io::Error),
    /// No editor could be started.
    #[error("could not start the editor '{0}'")]
    NoEditor(String),
    /// The editor exited unsuccessfully.
    #[error("the editor '{program}' exited with {status}; nothing was written")]
    EditorFailed {
        /// The editor program.
        program: String,
        /// How it exited.
        status: std::process::ExitStatus,
    },
    /// An encrypted file could not be opened or changed; carries where identities were looked
    /// for, shown when no key fits.
    #[error("cannot {action} '{file}'")]
    File {
        /// What was being done, e.g. `decrypt`, `set ["a"] in`.
        action: String,
        /// The file as named on the command line.
        file: String,
        /// Where identities were looked for, and the sources that could not be used.
        search: KeySearch,
        /// Why.
        #[source]
        source: FileError,
    },
    /// No `.sops.yaml` was found; the text says where it was looked for.
    #[error("{0}")]
    NoConfig(String),
    /// `updatekeys` was not confirmed (no terminal, end of input).
    #[error("no confirmation read from standard input: nothing written")]
    NotConfirmed(#[source] Option<std::io::Error>),
    /// A fleet operation failed; carries where identities were looked for, shown when a file
    /// cannot be opened for lack of a key.
    #[error("cannot {action}")]
    Fleet {
        /// What was being done, e.g. `update keys`.
        action: &'static str,
        /// Where identities were looked for.
        search: KeySearch,
        /// Why.
        #[source]
        source: FleetError,
    },
}

/// Where the identities of a run came from: shown with sops' exit code 128.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeySearch {
    /// Every place looked at, in order (see `aesec::keys::discovery::describe`).
    pub(crate) looked: Vec<String>,
    /// Sources that exist but could not be used, with their cause chain.
    pub(crate) problems: Vec<String>,
}

/// What `main` needs to report a failure: the exit code, an optional hint.
struct Diagnosis {
    code: u8,
    hint: Option<&'static str>,
}

impl Diagnosis {
    fn new(code: u8, hint: Option<&'static str>) -> Self {
        Self { code, hint }
    }
}

/// Prints `error: …` (the whole cause chain) and a hint, and returns the exit code.
pub(crate) fn report_error(error: &anyhow::Error, json: bool) -> ExitCode {
    if is_broken_pipe(error) {
        return ExitCode::SUCCESS;
    }
    let diagnosis = diagnose(error);
    let search = error
        .chain()
        .find_map(|cause| match cause.downcast_ref::<CliError>() {
            Some(CliError::File { search, .. } | CliError::Fleet { search, .. })
                if diagnosis.code == exit::COULD_NOT_RETRIEVE_KEY =>
            {
                Some(search)
            }
            _ => None,
        });
    let message = joined(error.chain().map(|cause| cause as &dyn std::error::Error));
    let mut stderr = std::io::stderr().lock();
    // Nothing sensible can be done if stderr itself is gone.
    if json {
        let report = serde_json::json!({
            "error": message,
            "exit_code": diagnosis.code,
            "hint": diagnosis.hint,
            "identity_sources": search.map(|s| &s.looked),
            "unusable_identity_sources": search.map(|s| &s.problems),
        });
        let _ = writeln!(stderr, "{report}");
        return ExitCode::from(diagnosis.code);
    }
    let _ = writeln!(stderr, "error: {message}");
    if let Some(search) = search {
        let _ = writeln!(stderr, "\naesec looked for identities in:");
        for place in &search.looked {
            let _ = writeln!(stderr, "  - {place}");
        }
        if !search.problems.is_empty() {
            let _ = writeln!(stderr, "these identity sources could not be used:");
            for problem in &search.problems {
                let _ = writeln!(stderr, "  - {problem}");
            }
        }
    }
    if let Some(hint) = diagnosis.hint {
        let _ = writeln!(stderr, "\nhint: {hint}");
    }
    ExitCode::from(diagnosis.code)
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The exit code for an error: sops' code for the same failure, found by walking the chain.
#[cfg(test)]
pub(crate) fn exit_code(error: &anyhow::Error) -> u8 {
    diagnose(error).code
}

/// The exit code and hint for an error, from the first typed cause in the chain.
fn diagnose(error: &anyhow::Error) -> Diagnosis {
    for cause in error.chain() {
        // `FileError` is transparent: its inner error is not in the chain, so match it here.
        if let Some(file) = cause.downcast_ref::<FileError>() {
            return file_diagnosis(file);
        }
        // As transparent as `FileError`.
        if let Some(edit) = cause.downcast_ref::<EditError>() {
            return edit_diagnosis(edit);
        }
        if let Some(config) = cause.downcast_ref::<ConfigError>() {
            return config_diagnosis(config);
        }
        if let Some(open) = cause.downcast_ref::<OpenError>() {
            return open_diagnosis(open);
        }
        if let Some(seal) = cause.downcast_ref::<SealError>() {
            return seal_diagnosis(seal);
        }
        if let Some(path) = cause.downcast_ref::<PathError>() {
            return path_diagnosis(path);
        }
        if let Some(store) = cause.downcast_ref::<StoreError>() {
            return store_diagnosis(store, exit::COULD_NOT_READ_INPUT_FILE);
        }
        if let Some(SshToAgeError::PassphraseRequired) = cause.downcast_ref::<SshToAgeError>() {
            return Diagnosis::new(
                exit::GENERIC,
                Some("give the passphrase with SSH_TO_AGE_PASSPHRASE=… or --stdin-pass"),
            );
        }
        if let Some(fs) = cause.downcast_ref::<FsError>() {
            return fs_diagnosis(fs);
        }
        if let Some(fleet) = cause.downcast_ref::<FleetError>() {
            return fleet_diagnosis(fleet);
        }
        // The bridge's errors carry an OpenBao error boxed (it is large).
        let bao = cause
            .downcast_ref::<BaoError>()
            .or_else(|| cause.downcast_ref::<Box<BaoError>>().map(|boxed| &**boxed));
        if let Some(hint) = bao.and_then(bao_hint) {
            return Diagnosis::new(exit::GENERIC, Some(hint));
        }
        if let Some(cli) = cause.downcast_ref::<CliError>() {
            match cli {
                CliError::NoSuchFile(_) | CliError::MissingArguments(_) => {
                    return Diagnosis::new(exit::NO_FILE_SPECIFIED, None);
                }
                CliError::Usage(_) => return Diagnosis::new(exit::CONFLICTING_PARAMETERS, None),
                CliError::InvalidIndex { .. } => {
                    return Diagnosis::new(exit::INVALID_SET_FORMAT, Some(TREE_PATH_HINT));
                }
                CliError::ReadStdin(_) => {
                    return Diagnosis::new(exit::COULD_NOT_READ_INPUT_FILE, None);
                }
                CliError::NoEditor(_) => {
                    return Diagnosis::new(
                        exit::NO_EDITOR_FOUND,
                        Some("set SOPS_EDITOR or EDITOR to an editor command, e.g. EDITOR=nano"),
                    );
                }
                CliError::EditorFailed { .. } => return Diagnosis::new(exit::GENERIC, None),
                CliError::NoConfig(_) => {
                    return Diagnosis::new(
                        exit::CONFIG_FILE_NOT_FOUND,
                        Some("run inside the repository that holds .sops.yaml, or pass --config"),
                    );
                }
                CliError::NotConfirmed(_) => {
                    return Diagnosis::new(
                        exit::GENERIC,
                        Some("answer y on a terminal, or pass -y (--yes) to apply the plan"),
                    );
                }
                // The typed cause is further down the chain.
                CliError::File { .. } | CliError::Fleet { .. } => {}
            }
        }
    }
    Diagnosis::new(exit::GENERIC, None)
}

/// The hint for an OpenBao failure the user can fix on their side.
fn bao_hint(error: &BaoError) -> Option<&'static str> {
    match error {
        BaoError::Sealed { .. } => Some(
            "unseal it: `aesec bao unseal --from FILE` with the file `aesec bao init` wrote, or \
             `bao operator unseal`",
        ),
        BaoError::Tls { .. } => {
            Some("trust the server's CA: BAO_CACERT=FILE (or VAULT_CACERT, BAO_CAPATH=DIR)")
        }
        _ => None,
    }
}

fn file_diagnosis(error: &FileError) -> Diagnosis {
    match error {
        FileError::Open(open) => open_diagnosis(open),
        FileError::Seal(seal) => seal_diagnosis(seal),
        FileError::Path(path) => path_diagnosis(path),
        FileError::Store(store) => store_diagnosis(store, exit::COULD_NOT_WRITE_OUTPUT_FILE),
        FileError::NoRecipients => Diagnosis::new(exit::GENERIC, Some(NO_RULE_HINT)),
        FileError::Config(config) => config_diagnosis(config),
        FileError::ConflictingCryptRules => Diagnosis::new(exit::CONFLICTING_PARAMETERS, None),
        FileError::Json(_) => Diagnosis::new(
            exit::INVALID_SET_FORMAT,
            Some(r#"the value is JSON: a string needs its quotes, e.g. '"text"'"#),
        ),
        _ => Diagnosis::new(exit::GENERIC, None),
    }
}

/// An edit session's failure: the code of the step that failed, as when the CLI took the steps
/// itself.
fn edit_diagnosis(error: &EditError) -> Diagnosis {
    match error {
        EditError::Open(open) => open_diagnosis(open),
        EditError::Create(seal) | EditError::Invalid(seal) | EditError::Seal(seal) => {
            seal_diagnosis(seal)
        }
        EditError::Plaintext(store) => store_diagnosis(store, exit::COULD_NOT_READ_INPUT_FILE),
        _ => Diagnosis::new(exit::GENERIC, None),
    }
}

/// The hint for a file no creation rule covers.
const NO_RULE_HINT: &str = "add a creation rule whose path_regex matches this file to .sops.yaml (or pass --config), or give recipients with --age age1…";

fn config_diagnosis(error: &ConfigError) -> Diagnosis {
    match error {
        ConfigError::NoMatchingRule { .. } | ConfigError::NoCreationRules { .. } => {
            Diagnosis::new(exit::GENERIC, Some(NO_RULE_HINT))
        }
        _ => Diagnosis::new(exit::GENERIC, None),
    }
}

fn open_diagnosis(error: &OpenError) -> Diagnosis {
    match error {
        OpenError::DataKey(_) => Diagnosis::new(
            exit::COULD_NOT_RETRIEVE_KEY,
            Some(
                "no identity available here matches a recipient of the file; set SOPS_AGE_KEY_FILE, SOPS_AGE_KEY or SOPS_AGE_SSH_PRIVATE_KEY_FILE, or pass --identity FILE",
            ),
        ),
        OpenError::Value(DecryptError::NotEncrypted { .. }) => Diagnosis::new(
            exit::ERROR_DECRYPTING_TREE,
            Some(
                "someone without the key wrote that value in clear (sops' MAC does not cover key names, so it may be injected); restore the file from version control",
            ),
        ),
        OpenError::Value(_) => Diagnosis::new(
            exit::ERROR_DECRYPTING_TREE,
            Some(
                "a value was altered or moved to another key; restore the file from version control",
            ),
        ),
        OpenError::MacMismatch | OpenError::MacUndecryptable(_) => Diagnosis::new(
            exit::MAC_MISMATCH,
            Some(
                "the file was changed outside sops/aesec; inspect its history (git log -p) and, only if the change is trusted, re-save it after `decrypt --ignore-mac`",
            ),
        ),
        OpenError::NotEncrypted => Diagnosis::new(
            exit::GENERIC,
            Some(
                "encrypt the file first with `aesec encrypt`, or pass --input-type if its extension does not name its format",
            ),
        ),
        OpenError::Store(store) => store_diagnosis(store, exit::GENERIC),
        _ => Diagnosis::new(exit::GENERIC, None),
    }
}

fn seal_diagnosis(error: &SealError) -> Diagnosis {
    match error {
        SealError::AlreadyEncrypted => Diagnosis::new(
            exit::FILE_ALREADY_ENCRYPTED,
            Some("use `aesec edit` or `aesec set` to change an encrypted file"),
        ),
        SealError::Store(store) => store_diagnosis(store, exit::COULD_NOT_READ_INPUT_FILE),
        // A master key that fails to wrap the data key: sops' "Could not generate data key",
        // a plain error. (No key group at all stays aesec's own refusal, 23.)
        SealError::MasterKey(
            MasterKeyError::AgeEncrypt { .. }
            | MasterKeyError::AgeWrite { .. }
            | MasterKeyError::Backend { .. },
        ) => Diagnosis::new(exit::GENERIC, None),
        _ => Diagnosis::new(exit::ERROR_ENCRYPTING_TREE, None),
    }
}

fn path_diagnosis(error: &PathError) -> Diagnosis {
    match error {
        PathError::Syntax { .. } => {
            Diagnosis::new(exit::INVALID_TREE_PATH_FORMAT, Some(TREE_PATH_HINT))
        }
        _ => Diagnosis::new(exit::GENERIC, None),
    }
}

/// The hint for a tree path that does not parse.
const TREE_PATH_HINT: &str = r#"paths look like '["key"]["nested"][0]'"#;

/// A store error: `syntax_code` is what sops exits with for a document it cannot parse there
/// (2 when encrypting, 1 when decrypting).
fn store_diagnosis(error: &StoreError, syntax_code: u8) -> Diagnosis {
    match error {
        // sops exits 92 only for an empty YAML document it is asked to encrypt. Its JSON store
        // fails to parse empty input instead, and an empty file to decrypt lacks the metadata:
        // both are the syntax code.
        StoreError::Empty { format } if syntax_code == exit::GENERIC || *format == "json" => {
            Diagnosis::new(syntax_code, None)
        }
        StoreError::Empty { .. } => Diagnosis::new(exit::NEED_AT_LEAST_ONE_DOCUMENT, None),
        StoreError::NonStringKey { .. } | StoreError::UnsupportedValue { .. } => {
            Diagnosis::new(exit::ERROR_ENCRYPTING_TREE, None)
        }
        StoreError::InvalidIndent { .. } => Diagnosis::new(
            exit::ERROR_DUMPING_TREE,
            Some("YAML takes --indent 0 (the default, 4) or more; JSON takes -1 (a tab) to 1000"),
        ),
        StoreError::Syntax { .. } => Diagnosis::new(
            syntax_code,
            Some(
                "fix the syntax at the position shown, or pass --input-type if the extension does not name the format",
            ),
        ),
        _ => Diagnosis::new(syntax_code, None),
    }
}

fn fs_diagnosis(error: &FsError) -> Diagnosis {
    match error {
        FsError::Io {
            operation: Operation::Read | Operation::Metadata,
            ..
        } => Diagnosis::new(exit::COULD_NOT_READ_INPUT_FILE, None),
        _ => Diagnosis::new(exit::COULD_NOT_WRITE_OUTPUT_FILE, None),
    }
}

/// A fleet error: the code of the most telling per-file failure (no key wins, as it is the
/// one the user can fix by pointing at an identity).
fn fleet_diagnosis(error: &FleetError) -> Diagnosis {
    let failures = match error {
        FleetError::Walk { .. } => return Diagnosis::new(exit::COULD_NOT_READ_INPUT_FILE, None),
        FleetError::Unsupported { .. } => {
            return Diagnosis::new(
                exit::GENERIC,
                Some(
                    "aesec re-wraps age keys only; update these files with sops updatekeys, or move them to age recipients",
                ),
            );
        }
        FleetError::Write { .. } => return Diagnosis::new(exit::COULD_NOT_WRITE_OUTPUT_FILE, None),
        FleetError::Plan { failures } => {
            return match failures.first().map(|failure| &failure.error) {
                Some(FleetFileError::Config(config)) => config_diagnosis(config),
                Some(FleetFileError::Fs(fs)) => fs_diagnosis(fs),
                Some(FleetFileError::NotEncrypted) => Diagnosis::new(
                    exit::GENERIC,
                    Some(
                        "encrypt the file first with `aesec encrypt`, or leave it out of the PATHs",
                    ),
                ),
                _ => Diagnosis::new(exit::GENERIC, None),
            };
        }
        FleetError::Open { failures } | FleetError::Seal { failures } => failures,
        _ => return Diagnosis::new(exit::GENERIC, None),
    };
    let diagnoses: Vec<Diagnosis> = failures
        .iter()
        .map(|failure| match &failure.error {
            FleetFileError::Open(open) => open_diagnosis(open),
            FleetFileError::Seal(seal) => seal_diagnosis(seal),
            FleetFileError::Fs(fs) => fs_diagnosis(fs),
            FleetFileError::Store(store) => store_diagnosis(store, exit::GENERIC),
            _ => Diagnosis::new(exit::GENERIC, None),
        })
        .collect();
    let mut chosen = None;
    for diagnosis in diagnoses {
        if diagnosis.code == exit::COULD_NOT_RETRIEVE_KEY {
            return diagnosis;
        }
        chosen.get_or_insert(diagnosis);
    }
    chosen.unwrap_or_else(|| Diagnosis::new(exit::GENERIC, None))
}

/// An error and its causes as one line, `a: b: c`, as `main` prints it.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    joined(std::iter::successors(Some(error), |cause| cause.source()))
}

/// Messages joined with `: `, each left out when the one before already ends with it: some
/// errors print their cause's words and also return it as their source (age's
/// `EncryptError::Io`), which would say the same thing twice.
fn joined<'a>(causes: impl Iterator<Item = &'a dyn std::error::Error>) -> String {
    let mut text = String::new();
    let mut last = String::new();
    for cause in causes {
        let message = cause.to_string();
        if last.is_empty() || !last.ends_with(&message) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&message);
        }
        last = message;
    }
    text
}

/// Writes `bytes` to stdout.
pub(crate) fn stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()?;
    Ok(())
}

/// Prints a serializable report as one line of JSON.
pub(crate) fn json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut text = serde_json::to_vec(value)?;
    text.push(b'\n');
    stdout(&text)
}

/// A path as shown to the user: relative to `cwd` when it is inside it.
pub(crate) fn shown(cwd: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(cwd)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| path.to_path_buf())
}

/// A fleet plan with paths relative to `cwd`, for printing.
pub(crate) fn shown_plan(cwd: &Path, plan: &Plan) -> Plan {
    let mut shown_plan = plan.clone();
    for file in &mut shown_plan.files {
        file.path = shown(cwd, &file.path);
    }
    shown_plan
}

/// A fleet report with paths relative to `cwd`, for printing.
pub(crate) fn shown_report(cwd: &Path, mut report: Report) -> Report {
    for file in &mut report.files {
        file.path = shown(cwd, &file.path);
    }
    for path in &mut report.stale_temps_removed {
        *path = shown(cwd, path);
    }
    report
}

/// The one-line outcome of a fleet run (updatekeys, rotate, enroll, remove), plus a note on
/// temporary files removed.
pub(crate) fn summary(report: &Report) -> String {
    let unchanged = report.files.len() - report.changed;
    let mut text = format!(
        "{} file(s) written: {} re-wrapped (same data key), {} rotated (new data key); {unchanged} unchanged ({} ms)\n",
        report.changed, report.rewrapped, report.rotated, report.durations.total_ms
    );
    for path in &report.stale_temps_removed {
        text.push_str(&format!(
            "removed '{}', left by an interrupted run\n",
            path.display()
        ));
    }
    text
}

/// Asks `Is this okay? (y/n):` on stderr and reads the answer from stdin, as sops does: `y`
/// applies, `n` declines, anything else asks again; end of input is an error.
pub(crate) fn confirm() -> anyhow::Result<bool> {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    loop {
        {
            let mut stderr = std::io::stderr().lock();
            write!(stderr, "Is this okay? (y/n):")?;
            stderr.flush()?;
        }
        let mut line = String::new();
        let read = input
            .read_line(&mut line)
            .map_err(|error| CliError::NotConfirmed(Some(error)))?;
        if read == 0 {
            writeln!(std::io::stderr().lock())?;
            return Err(CliError::NotConfirmed(None).into());
        }
        match line.trim() {
            "y" | "Y" => return Ok(true),
            "n" | "N" => return Ok(false),
            _ => {}
        }
    }
}

/// Asks for a passphrase on the terminal, when there is one.
pub(crate) struct TerminalPrompt;

impl PassphrasePrompt for TerminalPrompt {
    fn passphrase(&self, key_description: &str) -> Option<SecretString> {
        if !std::io::stdin().is_terminal() {
            return None;
        }
        rpassword::prompt_password(format!("Passphrase for {key_description}: "))
            .ok()
            .map(SecretString::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_in_its_wrappers_words_is_printed_once() {
        let io = std::io::Error::new(std::io::ErrorKind::InvalidInput, "low-order point");
        let error = anyhow::Error::new(aesec::age::EncryptError::Io(io))
            .context("cannot encrypt to age recipient 'age1…'")
            .context("cannot encrypt 'a.yaml'");
        let message = joined(error.chain().map(|cause| cause as &dyn std::error::Error));
        assert_eq!(
            message,
            "cannot encrypt 'a.yaml': cannot encrypt to age recipient 'age1…': low-order point"
        );
        let plain = anyhow::anyhow!("inner").context("outer");
        assert_eq!(chain(plain.as_ref()), "outer: inner");
    }

    #[test]
    fn file_error_inner_variant_picks_the_code() {
        let error = anyhow::Error::new(FileError::Open(OpenError::MacMismatch))
            .context("cannot decrypt 'a.yaml'");
        assert_eq!(exit_code(&error), exit::MAC_MISMATCH);
        let error = anyhow::Error::new(FileError::Seal(SealError::AlreadyEncrypted));
        assert_eq!(exit_code(&error), exit::FILE_ALREADY_ENCRYPTED);
        let error = anyhow::Error::new(FileError::Open(OpenError::NotEncrypted));
        assert_eq!(exit_code(&error), exit::GENERIC);
    }

    #[test]
    fn edit_error_inner_variant_picks_the_code() {
        use aesec::store::StoreError;
        let invalid = StoreError::Empty { format: "yaml" };
        let error = anyhow::Error::new(EditError::Invalid(SealError::Store(invalid)))
            .context("the edited 'a.yaml' is not valid yaml; nothing was written");
        assert_eq!(exit_code(&error), exit::NEED_AT_LEAST_ONE_DOCUMENT);
        let error = anyhow::Error::new(EditError::Invalid(SealError::AlreadyEncrypted));
        assert_eq!(exit_code(&error), exit::FILE_ALREADY_ENCRYPTED);
        let error = anyhow::Error::new(EditError::Open(OpenError::MacMismatch));
        assert_eq!(exit_code(&error), exit::MAC_MISMATCH);
    }

    #[test]
    fn openbao_sealed_and_tls_failures_get_a_hint_even_when_boxed() {
        use aesec_bao_bridge::bootstrap::BootstrapError;
        let sealed = BaoError::Sealed {
            addr: "http://127.0.0.1:8200".into(),
            path: "sys/init".into(),
        };
        let error = anyhow::Error::new(BootstrapError::Bao(Box::new(sealed)));
        let hint = diagnose(&error).hint.unwrap_or_default();
        assert!(hint.contains("aesec bao unseal --from FILE"), "{hint}");
        let tls = BaoError::Tls {
            addr: "https://127.0.0.1:8200".into(),
            reason: "invalid peer certificate: UnknownIssuer".into(),
        };
        let hint = diagnose(&anyhow::Error::new(tls)).hint.unwrap_or_default();
        assert!(hint.contains("BAO_CACERT"), "{hint}");
    }

    #[test]
    fn cli_file_wrapper_looks_through_to_the_cause() {
        let error = anyhow::Error::new(CliError::File {
            action: "decrypt".into(),
            file: "a.yaml".into(),
            search: KeySearch::default(),
            source: FileError::Open(OpenError::MacMismatch),
        });
        assert_eq!(exit_code(&error), exit::MAC_MISMATCH);
    }

    #[test]
    fn fleet_open_failures_prefer_the_missing_key_code() {
        use aesec::fleet::FailedFile;
        let failures = vec![
            FailedFile {
                path: "a.yaml".into(),
                error: FleetFileError::Open(OpenError::MacMismatch),
            },
            FailedFile {
                path: "b.yaml".into(),
                error: FleetFileError::NotEncrypted,
            },
        ];
        let error = anyhow::Error::new(CliError::Fleet {
            action: "update keys",
            search: KeySearch::default(),
            source: FleetError::Open { failures },
        });
        assert_eq!(exit_code(&error), exit::MAC_MISMATCH);
        let error = anyhow::Error::new(FleetError::Write {
            written: Vec::new(),
            failures: Vec::new(),
        });
        assert_eq!(exit_code(&error), exit::COULD_NOT_WRITE_OUTPUT_FILE);
    }

    #[test]
    fn missing_config_and_confirmation_codes() {
        let error = anyhow::Error::new(CliError::NoConfig("no .sops.yaml".into()));
        assert_eq!(exit_code(&error), exit::CONFIG_FILE_NOT_FOUND);
        let error = anyhow::Error::new(CliError::NotConfirmed(None));
        assert_eq!(exit_code(&error), exit::GENERIC);
    }

    #[test]
    fn usage_is_conflicting_parameters() {
        let error = anyhow::Error::new(CliError::Usage("x"));
        assert_eq!(exit_code(&error), exit::CONFLICTING_PARAMETERS);
    }
}
