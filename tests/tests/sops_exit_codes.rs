//! Exit codes, differentially: the real sops 3.11 and aesec run on the same bad inputs, in
//! fresh copies of the same files, and must exit with the same code (so both fail, or both
//! succeed, alike). No code is written down here: sops' answer is the expectation.
//!
//! The inputs cover each store where the failure makes sense (YAML, JSON, dotenv, INI and the
//! binary store): a tampered MAC or value, values swapped between keys, a value moved to
//! another key, no usable identity, bad `--extract` paths, invalid and empty files, a file
//! without sops metadata given to `decrypt`, an encrypted file given to `encrypt`, missing
//! files, `set`/`unset` with a bad value or index, conflicting flags, and `edit` that changes
//! nothing. The encrypted inputs are written by sops itself.
//!
//! Where aesec differs on purpose, the case is listed in [`INTENDED_DIFFERENCES`] with both
//! codes and the reason (the README's exit-code table says the same). A listed difference that
//! no longer happens fails the test too, so the list cannot outlive the behaviour it excuses.

use std::fmt;
use std::path::{Path, PathBuf};

use aesec_tests::{
    AgeKey, Cmd, IntendedDifference, TempHome, age_keygen, ciphertexts, judge_exit_codes,
    require_peer, sops,
};

/// A case where aesec exits differently from sops on purpose: `(case, sops code, aesec code,
/// why)`. The README's "Exit codes" section lists the same cases.
const INTENDED_DIFFERENCES: &[IntendedDifference] = &[
    (
        "json: encrypt truncated JSON",
        0,
        2,
        "sops' JSON decoder accepts `{\"a\": ` at end of input and encrypts a file without the \
         dangling key (data loss); aesec reports the syntax error",
    ),
    (
        "decrypt with an unknown flag",
        1,
        2,
        "usage errors exit 2 as clap (and POSIX utilities) do; sops' CLI library logs a fatal \
         error and exits 1, the code of most runtime failures",
    ),
];

/// One store: its file extension, and documents in it.
#[derive(Debug, Clone, Copy)]
struct Store {
    name: &'static str,
    ext: &'static str,
    /// A document with the string values `first_key` and `second_key` (not base64 characters,
    /// so renaming a key in the encrypted text never touches a ciphertext).
    plain: &'static str,
    /// A document the store cannot parse (`None`: every input parses, as for binary).
    invalid: Option<&'static str>,
}

const STORES: [Store; 5] = [
    Store {
        name: "yaml",
        ext: "yaml",
        plain: "first_key: one\nsecond_key: two\nnested:\n    third_key: three\n",
        invalid: Some("first_key: [one,\nsecond_key: two\n"),
    },
    Store {
        name: "json",
        ext: "json",
        plain: "{\"first_key\": \"one\", \"second_key\": \"two\", \"nested\": {\"third_key\": \"three\"}}\n",
        invalid: Some("{\"first_key\": \"one\",}\n"),
    },
    Store {
        name: "dotenv",
        ext: "env",
        plain: "first_key=one\nsecond_key=two\n",
        invalid: Some("no equals sign here\n"),
    },
    Store {
        name: "ini",
        ext: "ini",
        plain: "[section]\nfirst_key = one\nsecond_key = two\n",
        invalid: Some("[section\nfirst_key = one\n"),
    },
    Store {
        name: "binary",
        ext: "bin",
        plain: "first_key one\nsecond_key two\n",
        invalid: None,
    },
];

/// One run of both tools: the files written into a fresh working directory, the arguments, and
/// the environment on top of the harness' clean one.
struct Case {
    name: String,
    files: Vec<(String, Vec<u8>)>,
    args: Vec<String>,
    /// Which identity file `SOPS_AGE_KEY_FILE` names (`None`: the variable is unset).
    identity: Option<PathBuf>,
    envs: Vec<(String, String)>,
}

impl Case {
    fn new(name: impl Into<String>, identity: &Path, args: &[&str]) -> Self {
        Self {
            name: name.into(),
            files: Vec::new(),
            args: args.iter().map(|arg| (*arg).to_owned()).collect(),
            identity: Some(identity.to_owned()),
            envs: Vec::new(),
        }
    }

    fn file(mut self, name: &str, contents: impl Into<Vec<u8>>) -> Self {
        self.files.push((name.to_owned(), contents.into()));
        self
    }

    fn identity(mut self, identity: Option<&Path>) -> Self {
        self.identity = identity.map(Path::to_owned);
        self
    }

    fn env(mut self, key: &str, value: &str) -> Self {
        self.envs.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Writes the files into `home/<dir>` and returns the command of `base` run there.
    fn command(&self, mut base: Cmd, home: &TempHome, dir: &str) -> Cmd {
        std::fs::create_dir_all(home.join(dir))
            .unwrap_or_else(|err| panic!("creating {dir}: {err}"));
        for (name, contents) in &self.files {
            home.write(Path::new(dir).join(name), contents);
        }
        base.current_dir(home.join(dir)).args(&self.args);
        if let Some(identity) = &self.identity {
            base.env("SOPS_AGE_KEY_FILE", identity);
        }
        for (key, value) in &self.envs {
            base.env(key, value);
        }
        base
    }
}

/// The exit codes of one case, and the tools' stderr for the report.
struct Outcome {
    case: String,
    args: String,
    sops: i32,
    aesec: i32,
    sops_stderr: String,
    aesec_stderr: String,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: sops {} / aesec {}  (args: {})\n  sops:  {}\n  aesec: {}",
            self.case,
            self.sops,
            self.aesec,
            self.args,
            first_error_line(&self.sops_stderr),
            first_error_line(&self.aesec_stderr),
        )
    }
}

/// The first stderr line that is not one of sops' warnings.
fn first_error_line(stderr: &str) -> &str {
    stderr
        .lines()
        .find(|line| !line.contains("level=warning") && !line.trim().is_empty())
        .unwrap_or("")
}

/// Replaces the character after `data:` in the `ENC[…]` string `enc` by another base64 one.
fn flip_first_data_char(text: &str, enc: &str) -> String {
    let data = enc.find("data:").expect("ENC strings hold data:") + "data:".len();
    let old = &enc[data..=data];
    let new = if old == "A" { "B" } else { "A" };
    let tampered = format!("{}{new}{}", &enc[..data], &enc[data + 1..]);
    text.replacen(enc, &tampered, 1)
}

/// Swaps the first two `ENC[…]` strings (the values of `first_key` and `second_key`).
fn swap_first_two_values(text: &str) -> String {
    let found = ciphertexts(text);
    let (first, second) = (found[0], found[1]);
    text.replacen(first, "\u{0}FIRST\u{0}", 1)
        .replacen(second, first, 1)
        .replacen("\u{0}FIRST\u{0}", second, 1)
}

/// Every case of one store; `encrypted` is sops' encryption of `store.plain`.
fn store_cases(store: Store, encrypted: &str, key: &Path, other_key: &Path) -> Vec<Case> {
    let file = format!("s.{}", store.ext);
    let file = file.as_str();
    let name = |what: &str| format!("{}: {what}", store.name);
    let enc = ciphertexts(encrypted);
    let mac = enc.last().expect("sops wrote a MAC");
    let mut cases = vec![
        Case::new(name("decrypt"), key, &["decrypt", file]).file(file, encrypted),
        Case::new(name("decrypt a tampered MAC"), key, &["decrypt", file])
            .file(file, flip_first_data_char(encrypted, mac)),
        Case::new(
            name("decrypt --ignore-mac a tampered MAC"),
            key,
            &["decrypt", "--ignore-mac", file],
        )
        .file(file, flip_first_data_char(encrypted, mac)),
        Case::new(name("decrypt a tampered value"), key, &["decrypt", file])
            .file(file, flip_first_data_char(encrypted, enc[0])),
        Case::new(
            name("decrypt with another key"),
            other_key,
            &["decrypt", file],
        )
        .file(file, encrypted),
        Case::new(name("decrypt with no identity"), key, &["decrypt", file])
            .file(file, encrypted)
            .identity(None),
        Case::new(
            name("rotate with another key"),
            other_key,
            &["rotate", file],
        )
        .file(file, encrypted),
        Case::new(name("decrypt a plaintext file"), key, &["decrypt", file])
            .file(file, store.plain),
        Case::new(name("decrypt an empty file"), key, &["decrypt", file]).file(file, ""),
        Case::new(name("encrypt an empty file"), key, &["encrypt", "--age"]).file(file, ""),
        Case::new(
            name("encrypt an encrypted file"),
            key,
            &["encrypt", "--age"],
        )
        .file(file, encrypted),
        Case::new(name("decrypt a missing file"), key, &["decrypt", file]),
        Case::new(name("encrypt a missing file"), key, &["encrypt", "--age"]),
        Case::new(
            name("decrypt --in-place --output"),
            key,
            &["decrypt", "--in-place", "--output", "out", file],
        )
        .file(file, encrypted),
    ];
    if store.name != "binary" {
        cases.extend([
            Case::new(name("decrypt swapped values"), key, &["decrypt", file])
                .file(file, swap_first_two_values(encrypted)),
            Case::new(
                name("decrypt a value moved to another key"),
                key,
                &["decrypt", file],
            )
            .file(file, encrypted.replacen("first_key", "moved_key", 1)),
            Case::new(
                name("decrypt --extract of a missing key"),
                key,
                &["decrypt", "--extract", r#"["nothing"]"#, file],
            )
            .file(file, encrypted),
            Case::new(
                name("decrypt --extract of a bad path"),
                key,
                &["decrypt", "--extract", "first_key", file],
            )
            .file(file, encrypted),
            Case::new(
                name("set an invalid JSON value"),
                key,
                &["set", file, r#"["first_key"]"#, "{not json"],
            )
            .file(file, encrypted),
            Case::new(
                name("set a bad index"),
                key,
                &["set", file, "first_key", "1"],
            )
            .file(file, encrypted),
            Case::new(
                name("set with another key"),
                other_key,
                &["set", file, r#"["first_key"]"#, "1"],
            )
            .file(file, encrypted),
            Case::new(
                name("unset a bad index"),
                key,
                &["unset", file, "first_key"],
            )
            .file(file, encrypted),
            Case::new(
                name("unset a missing key"),
                key,
                &["unset", file, r#"["nothing"]"#],
            )
            .file(file, encrypted),
            Case::new(
                name("encrypt --encrypted-regex --unencrypted-regex"),
                key,
                &[
                    "encrypt",
                    "--encrypted-regex",
                    "a",
                    "--unencrypted-regex",
                    "b",
                    "--age",
                ],
            )
            .file(file, store.plain),
            Case::new(name("edit without a change"), key, &["edit", file])
                .file(file, encrypted)
                .env("EDITOR", "true"),
        ]);
    }
    if let Some(invalid) = store.invalid {
        cases.extend([
            Case::new(name("encrypt an invalid file"), key, &["encrypt", "--age"])
                .file(file, invalid),
            Case::new(name("decrypt an invalid file"), key, &["decrypt", file]).file(file, invalid),
        ]);
    }
    if store.name == "json" {
        cases.push(
            Case::new(name("encrypt truncated JSON"), key, &["encrypt", "--age"])
                .file(file, "{\"first_key\": \n"),
        );
    }
    cases
}

/// `encrypt --age` cases name the recipient and the file after the flag.
fn finish_encrypt_args(case: &mut Case, recipient: &str, file: &str) {
    if case.args.last().is_some_and(|arg| arg == "--age") {
        case.args.push(recipient.to_owned());
        case.args.push(file.to_owned());
    }
}

#[test]
fn sops_and_aesec_exit_alike_on_bad_inputs() {
    let sops = require_peer!(sops());
    let keygen = require_peer!(age_keygen());
    let home = TempHome::new();
    let key = AgeKey::generate(&keygen, &home, "key");
    let other = AgeKey::generate(&keygen, &home, "other");
    let sops_cmd = || {
        let mut cmd = home.cmd(&sops);
        cmd.env("SOPS_DISABLE_VERSION_CHECK", "1");
        cmd
    };

    let mut cases = Vec::new();
    for store in STORES {
        let file = format!("s.{}", store.ext);
        let plain = home.write(format!("plain/{file}"), store.plain);
        let encrypted = sops_cmd()
            .args(["encrypt", "--age", &key.recipient])
            .arg(&plain)
            .stdout();
        for mut case in store_cases(store, &encrypted, &key.identity_file, &other.identity_file) {
            finish_encrypt_args(&mut case, &key.recipient, &file);
            cases.push(case);
        }
    }
    // Recipients of low order, whose every shared secret is zero: X25519 points u = 0 and u = 1
    // (canonical Bech32 under `age`), and the Ed25519 identity point as an SSH key. Go refuses
    // them; the age crate panics on the first two and silently wraps to the third.
    for (what, recipient) in [
        (
            "an X25519 recipient of order 2",
            "age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq5cu47z",
        ),
        (
            "an X25519 recipient of order 4",
            "age1qyqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqj7vrya",
        ),
        (
            "an ssh-ed25519 recipient of order 1",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ),
    ] {
        cases.push(
            Case::new(
                format!("encrypt to {what}"),
                &key.identity_file,
                &["encrypt", "--age", recipient, "s.yaml"],
            )
            .file("s.yaml", "a: b\n"),
        );
    }
    cases.push(
        Case::new(
            "decrypt with an unknown flag",
            &key.identity_file,
            &["decrypt", "--no-such-flag", "s.yaml"],
        )
        .file("s.yaml", "a: b\n"),
    );

    let mut outcomes = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let run = |tool: &str, base: Cmd| {
            let output = case
                .command(base, &home, &format!("{tool}-{index}"))
                .output();
            let code = output
                .status
                .code()
                .unwrap_or_else(|| panic!("{tool} was killed by a signal in case {}", case.name));
            (code, String::from_utf8_lossy(&output.stderr).into_owned())
        };
        let (sops_code, sops_stderr) = run("sops", sops_cmd());
        let (aesec_code, aesec_stderr) = run("aesec", home.aesec());
        outcomes.push(Outcome {
            case: case.name.clone(),
            args: case.args.join(" "),
            sops: sops_code,
            aesec: aesec_code,
            sops_stderr,
            aesec_stderr,
        });
    }

    let mut problems = Vec::new();
    for outcome in &outcomes {
        if let Err(why) = judge_exit_codes(
            INTENDED_DIFFERENCES,
            &outcome.case,
            outcome.sops,
            outcome.aesec,
        ) {
            problems.push(format!("{why}: {outcome}"));
        }
    }
    for (case, ..) in INTENDED_DIFFERENCES {
        if !outcomes.iter().any(|outcome| outcome.case == *case) {
            problems.push(format!("listed difference {case:?} matches no case"));
        }
    }
    // The cases must exercise failures, not only successes: each distinct code sops gave is a
    // failure mode compared here.
    let mut codes: Vec<i32> = outcomes.iter().map(|outcome| outcome.sops).collect();
    codes.sort_unstable();
    codes.dedup();
    assert!(
        problems.is_empty(),
        "{} of {} cases:\n{}",
        problems.len(),
        outcomes.len(),
        problems.join("\n")
    );
    eprintln!("{} cases, sops exit codes seen: {codes:?}", outcomes.len());
}
