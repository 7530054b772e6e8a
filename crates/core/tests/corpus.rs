//! Differential test over the real-world corpus in `tests/corpus/` (files written by other
//! projects, with what sops 3.11.0 did with each, recorded in `tests/corpus/index.json`).
//!
//! - age files sops decrypts: aesec must print the same bytes, also for the extra runs (another
//!   key, `--ignore-mac` or `--input-type`/`--output-type`, the project's `.sops.yaml`);
//! - files sops refuses for their integrity (MAC, value authentication): aesec refuses them
//!   with the matching error; files refused for their form only (no `version`: rops) are read
//!   with `accept_missing_version`;
//! - PGP files: aesec has no PGP, so they must fail cleanly with the data-key error after
//!   their metadata parsed (never a panic or a parse error).
//!
//! The test prints one summary line and asserts its counts, so a regression shows up as a
//! changed number.

mod support;

use std::panic::{self, AssertUnwindSafe};

use aesec::config::Config;
use aesec::file::{DecryptOptions, FileError, decrypt};
use aesec::keys::age::Identities;
use aesec::sops::{AgeDecryptor, DataKeyError, MasterKeyError, MetadataError, OpenError};
use aesec::store::{EmitOptions, Format, StoreError, yaml};
use serde::Deserialize;

use support::{identities, read, test_path};

/// One row of `index.json`.
#[derive(Debug, Deserialize)]
struct Entry {
    /// The encrypted file, relative to the corpus.
    file: String,
    /// The store sops infers from the file name.
    store: String,
    /// The key file used for the recorded run.
    key: String,
    /// `age` or `pgp`.
    key_kind: String,
    /// sops' exit status.
    exit_status: i32,
    /// sops' stdout when it succeeded.
    expected: Option<String>,
    /// sops' exit status and stderr when it refused.
    refusal: Option<String>,
    /// Further runs of the same file.
    #[serde(default)]
    extra_runs: Vec<ExtraRun>,
}

/// An extra run recorded for a file.
#[derive(Debug, Deserialize)]
struct ExtraRun {
    /// `alt-age`, `flags` or `dotsops`.
    kind: String,
    /// `alt-age`: the other key.
    key: Option<String>,
    /// `flags`: the extra command-line flags.
    flags: Option<String>,
    /// `dotsops`: the `.sops.yaml` passed as `--config`.
    config: Option<String>,
    /// sops' exit status.
    rc: i32,
    /// sops' stdout (`flags`, `dotsops`).
    decrypted: Option<String>,
    /// `alt-age`: whether the output equals the main run's.
    same_output: Option<bool>,
}

/// What the run over the corpus found.
#[derive(Debug, Default, PartialEq, Eq)]
struct Summary {
    /// Decryptions (main and extra runs) whose bytes equal sops' output.
    matched: usize,
    /// Files sops refuses that aesec refuses with the same class of error.
    refused_as_sops: usize,
    /// Files refused by sops for their form only that aesec reads with an opt-in option.
    read_with_opt_in: usize,
    /// PGP files that fail cleanly with the data-key error.
    pgp: usize,
}

/// A file with bogus `ENC[…]` strings outside its `encrypted_regex` (a regression case: aesec
/// once decrypted every `ENC[…]` string whatever the crypt rule).
const ENC_OUTSIDE_RULE: &str =
    "kustomize-controller/at-d1a68623/controllers/testdata/panic/secret.age.yaml";

fn corpus(relative: &str) -> String {
    format!("corpus/{relative}")
}

fn entries() -> Vec<Entry> {
    let bytes = read("corpus/index.json");
    serde_json::from_slice(&bytes).expect("corpus/index.json is the corpus' documented index")
}

fn format_of(entry: &Entry) -> Format {
    let format = Format::from_name(&entry.store)
        .unwrap_or_else(|| panic!("{}: unknown store '{}'", entry.file, entry.store));
    assert_eq!(
        Format::from_path(&entry.file),
        format,
        "{}: aesec infers another store than sops",
        entry.file
    );
    format
}

fn run(
    entry: &Entry,
    identities: &Identities,
    options: &DecryptOptions,
) -> Result<Vec<u8>, FileError> {
    let encrypted = read(&corpus(&entry.file));
    let decryptor = AgeDecryptor::new(identities);
    decrypt(&encrypted, &[&decryptor], options).map(|plain| plain.to_vec())
}

fn assert_same(entry: &Entry, what: &str, actual: &[u8], expected_file: &str) {
    let expected = read(&corpus(expected_file));
    assert!(
        actual == expected.as_slice(),
        "{} ({what}): output differs from {expected_file}\n--- aesec\n{}\n--- sops 3.11.0\n{}",
        entry.file,
        String::from_utf8_lossy(actual),
        String::from_utf8_lossy(&expected),
    );
}

/// The options a `flags` extra run names.
fn flag_options(entry: &Entry, flags: &str, format: Format) -> DecryptOptions {
    let mut input = format;
    let mut output = format;
    let mut ignore_mac = false;
    let mut words = flags.split_whitespace();
    while let Some(flag) = words.next() {
        match flag {
            "--ignore-mac" => ignore_mac = true,
            "--input-type" | "--output-type" => {
                let name = words.next().unwrap_or_default();
                let named = Format::from_name(name)
                    .unwrap_or_else(|| panic!("{}: unknown type '{name}'", entry.file));
                if flag == "--input-type" {
                    input = named;
                } else {
                    output = named;
                }
            }
            other => panic!("{}: unknown flag '{other}' in index.json", entry.file),
        }
    }
    let mut options = DecryptOptions::new(input, output);
    options.ignore_mac = ignore_mac;
    options
}

/// sops' exit status and first stderr line for a refused file.
fn refusal(entry: &Entry) -> (i32, String) {
    let file = entry
        .refusal
        .as_deref()
        .unwrap_or_else(|| panic!("{}: refused without a refusal file", entry.file));
    let text = String::from_utf8(read(&corpus(file))).expect("refusal files are UTF-8");
    let mut lines = text.lines();
    let status = lines
        .next()
        .and_then(|line| line.strip_prefix("exit status: "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{file}: no 'exit status: N' line"));
    assert_eq!(
        status, entry.exit_status,
        "{file}: status differs from index"
    );
    let message = lines.find(|l| !l.starts_with("[warning]")).unwrap_or("");
    (status, message.to_owned())
}

fn check_age_decrypted(entry: &Entry, format: Format, summary: &mut Summary) {
    let ids = identities(&corpus(&entry.key));
    let options = DecryptOptions::new(format, format);
    let expected = entry
        .expected
        .as_deref()
        .unwrap_or_else(|| panic!("{}: exit 0 without an expected file", entry.file));
    let output = run(entry, &ids, &options)
        .unwrap_or_else(|e| panic!("{}: aesec refused a file sops decrypts: {e}", entry.file));
    assert_same(entry, "main run", &output, expected);
    summary.matched += 1;
    for extra in &entry.extra_runs {
        assert_eq!(
            extra.rc, 0,
            "{}: extra runs in the corpus succeed",
            entry.file
        );
        match extra.kind.as_str() {
            "alt-age" => {
                let key = extra.key.as_deref().expect("alt-age runs name a key");
                assert_eq!(extra.same_output, Some(true));
                let output = run(entry, &identities(&corpus(key)), &options)
                    .unwrap_or_else(|e| panic!("{} with {key}: {e}", entry.file));
                assert_same(entry, key, &output, expected);
            }
            "dotsops" => {
                let config = extra.config.as_deref().expect("dotsops runs name a config");
                let config = Config::load(test_path(&corpus(config)))
                    .unwrap_or_else(|e| panic!("{}: {e}", entry.file));
                let mut options = DecryptOptions::new(format, format);
                options.emit = config.stores;
                let output = run(entry, &ids, &options)
                    .unwrap_or_else(|e| panic!("{} with .sops.yaml: {e}", entry.file));
                let decrypted = extra
                    .decrypted
                    .as_deref()
                    .expect("dotsops runs have output");
                assert_same(entry, "with .sops.yaml", &output, decrypted);
            }
            other => panic!("{}: unexpected extra run '{other}'", entry.file),
        }
        summary.matched += 1;
    }
}

fn check_age_refused(entry: &Entry, format: Format, summary: &mut Summary) {
    let ids = identities(&corpus(&entry.key));
    let (status, message) = refusal(entry);
    let result = run(entry, &ids, &DecryptOptions::new(format, format));
    match status {
        // Integrity: sops' MAC mismatch.
        51 => {
            assert!(
                matches!(result, Err(FileError::Open(OpenError::MacMismatch))),
                "{}: sops says '{message}', aesec gives {result:?}",
                entry.file
            );
            summary.refused_as_sops += 1;
            for extra in &entry.extra_runs {
                let flags = extra
                    .flags
                    .as_deref()
                    .expect("extra runs of refusals are flags");
                let decrypted = extra.decrypted.as_deref().expect("flags runs have output");
                let output = run(entry, &ids, &flag_options(entry, flags, format))
                    .unwrap_or_else(|e| panic!("{} with {flags}: {e}", entry.file));
                assert_same(entry, flags, &output, decrypted);
                summary.matched += 1;
            }
        }
        // Form: the rops files have no `version`; readable on request.
        1 if message.contains("Version string empty") => {
            assert!(
                matches!(
                    result,
                    Err(FileError::Open(OpenError::Metadata(
                        MetadataError::MissingVersion { .. }
                    )))
                ),
                "{}: sops says '{message}', aesec gives {result:?}",
                entry.file
            );
            summary.refused_as_sops += 1;
            let mut options = DecryptOptions::new(format, format);
            options.accept_missing_version = true;
            let output = run(entry, &ids, &options).unwrap_or_else(|e| {
                panic!(
                    "{}: unreadable with accept_missing_version: {e}",
                    entry.file
                )
            });
            check_rops_plaintext(entry, &output);
            summary.read_with_opt_in += 1;
        }
        other => panic!(
            "{}: no expectation for sops exit {other} ('{message}')",
            entry.file
        ),
    }
}

/// The rops files ship their plaintext; compare it in sops' YAML layout.
fn check_rops_plaintext(entry: &Entry, output: &[u8]) {
    let reference = entry.file.replace(".yaml", "_plaintext.yaml");
    let tree = yaml::parse(&read(&corpus(&reference)))
        .unwrap_or_else(|e| panic!("{reference} does not parse: {e}"));
    let expected = yaml::emit(&tree, EmitOptions::default().yaml_indent)
        .unwrap_or_else(|e| panic!("{reference} cannot be emitted: {e}"));
    assert!(
        output == expected.as_slice(),
        "{}: plaintext differs from {reference}\n--- aesec\n{}\n--- reference\n{}",
        entry.file,
        String::from_utf8_lossy(output),
        String::from_utf8_lossy(&expected),
    );
}

/// Whether the error is the data-key failure of a file none of whose keys aesec can use, after
/// its PGP entries were tried and reported.
fn is_pgp_data_key_error(result: &Result<Vec<u8>, FileError>) -> bool {
    let Err(FileError::Open(OpenError::DataKey(DataKeyError::Failed { groups, .. }))) = result
    else {
        return false;
    };
    groups.iter().all(|group| !group.decrypted)
        && groups.iter().flat_map(|g| &g.failures).any(|failure| {
            failure.kind == "pgp" && matches!(failure.error, MasterKeyError::NoDecryptor { .. })
        })
}

fn check_pgp(entry: &Entry, format: Format, summary: &mut Summary) {
    let ids = Identities::new();
    let result = run(entry, &ids, &DecryptOptions::new(format, format));
    if entry.exit_status == 0 {
        assert!(
            is_pgp_data_key_error(&result),
            "{}: a PGP file must fail with the data-key error, got {result:?}",
            entry.file
        );
        summary.pgp += 1;
        return;
    }
    let (status, message) = refusal(entry);
    let refused_as_sops = match status {
        // No MAC: the MAC is checked after the data key, which aesec cannot get.
        51 => is_pgp_data_key_error(&result),
        // The Python-era files: `version` as a number or not semver, `lastmodified` an epoch
        // float. aesec may refuse them on their metadata or reach the PGP entries.
        1 if message.contains("Go struct field Metadata.sops.version")
            || message.contains("Major.Minor.Patch")
            || message.contains("parsing time") =>
        {
            matches!(result, Err(FileError::Open(OpenError::Metadata(_))))
                || is_pgp_data_key_error(&result)
        }
        // YAML behind an unknown extension: the binary store expects JSON.
        1 if message.contains("Error unmarshalling input json") => matches!(
            result,
            Err(FileError::Open(OpenError::Store(StoreError::Syntax { .. })))
        ),
        _ => false,
    };
    assert!(
        refused_as_sops,
        "{}: sops exits {status} with '{message}', aesec gives {result:?}",
        entry.file
    );
    for extra in &entry.extra_runs {
        let flags = extra
            .flags
            .as_deref()
            .expect("extra runs of refusals are flags");
        let result = run(entry, &ids, &flag_options(entry, flags, format));
        assert!(
            is_pgp_data_key_error(&result),
            "{} with {flags}: a PGP file must fail with the data-key error, got {result:?}",
            entry.file
        );
    }
    summary.refused_as_sops += 1;
    summary.pgp += 1;
}

impl Summary {
    fn add(&mut self, row: &Self) {
        self.matched += row.matched;
        self.refused_as_sops += row.refused_as_sops;
        self.read_with_opt_in += row.read_with_opt_in;
        self.pgp += row.pgp;
    }
}

/// Checks one row and counts what it found.
fn check_row(entry: &Entry) -> Summary {
    let mut row = Summary::default();
    let format = format_of(entry);
    match (entry.key_kind.as_str(), entry.exit_status) {
        ("age", 0) => check_age_decrypted(entry, format, &mut row),
        ("age", _) => check_age_refused(entry, format, &mut row),
        ("pgp", _) => check_pgp(entry, format, &mut row),
        (other, _) => panic!("{}: unknown key kind '{other}'", entry.file),
    }
    row
}

fn entry(file: &str) -> Entry {
    entries()
        .into_iter()
        .find(|entry| entry.file == file)
        .unwrap_or_else(|| panic!("{file} is not in index.json"))
}

/// sops decrypts only the values its crypt rule selects: in this file the bogus `ENC[…]`
/// strings outside `encrypted_regex` are printed verbatim (with `--ignore-mac`) and the file is
/// refused for its MAC. aesec must do the same (it once failed with a value error at
/// `["apiVersion"]`).
#[test]
fn ciphertext_outside_encrypted_regex_is_not_decrypted() {
    let row = entry(ENC_OUTSIDE_RULE);
    let summary = check_row(&row);
    assert_eq!(summary.refused_as_sops, 1);
    assert_eq!(summary.matched, 1);
}

#[test]
fn corpus_matches_sops() {
    let entries = entries();
    assert_eq!(entries.len(), 81, "the corpus README lists 81 files");
    let mut summary = Summary::default();
    let mut failed: Vec<String> = Vec::new();
    for entry in &entries {
        // Each row runs to the end so that one report lists every failing file.
        match panic::catch_unwind(AssertUnwindSafe(|| check_row(entry))) {
            Ok(row) => summary.add(&row),
            Err(_) => failed.push(entry.file.clone()),
        }
    }
    assert!(
        failed.is_empty(),
        "failing corpus files (details above):\n{}",
        failed.join("\n")
    );
    println!(
        "corpus: {} matched sops byte for byte, {} refused as sops did ({} of them readable with \
         accept_missing_version), {} pgp files failed cleanly",
        summary.matched, summary.refused_as_sops, summary.read_with_opt_in, summary.pgp,
    );
    assert_eq!(
        summary,
        Summary {
            // Includes the post-quantum age file (`algorithms/age-pq.yaml`, issue 11), refused
            // before aesec had `AGE-SECRET-KEY-PQ-1…` identities.
            matched: 33,
            refused_as_sops: 14,
            read_with_opt_in: 7,
            pgp: 45,
        }
    );
}
