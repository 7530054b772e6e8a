//! sops command lines, differentially: each form from real projects' scripts — the top-level
//! forms (`sops -d FILE`, `sops -e -i FILE`, `sops -d -i FILE`, `sops -r -i FILE`,
//! `sops --set '["a"] "v"' -i FILE`, `sops --extract … -d FILE`, the bare `sops FILE`, each
//! also with `--indent N`) and `set`/`unset` as sops 3.11 parses them (`--value-file` and
//! `--value-stdin` are switches, `--idempotent`, `--output-type`) — runs with the real sops
//! 3.11 and with `aesec` in its place, each on its own copy of the same files. Both must exit
//! alike; what they print must be the same bytes where the output is plaintext, and decrypt
//! (with sops) to the same document, or have the same layout, where it is ciphertext.

use std::path::{Path, PathBuf};

use aesec_tests::{Cmd, IntendedDifference, SopsFixture, judge_exit_codes, mask_ciphertexts};

/// What a command line leaves behind, compared between the two tools.
#[derive(Debug, Clone, Copy)]
enum Compare {
    /// Standard output, byte for byte (plaintext).
    Stdout,
    /// Standard output is a sops document: compared after `sops decrypt`.
    StdoutDecrypted,
    /// The file `f.yaml` (or `p.yaml`) afterwards, byte for byte (plaintext).
    File(&'static str),
    /// The file afterwards is a sops document: compared after `sops decrypt`.
    FileDecrypted(&'static str),
    /// Whether the file is byte for byte as before (no new MAC, no new `lastmodified`).
    Unchanged(&'static str),
    /// The file's key metadata afterwards: its `shamir_threshold` line and how many
    /// recipients each key group holds, then its content after `sops decrypt`.
    KeyGroups(&'static str),
    /// Standard output is a sops document: compared byte for byte with what changes on every
    /// run masked (see [`layout`]), so that indentation shows, data and metadata alike.
    StdoutLayout,
    /// The file's `recipient:` lines afterwards (where decrypting needs a key the test lacks).
    RecipientsLines(&'static str),
    /// Only the exit code.
    ExitCode,
}

/// One command line: its name, a command line run first by the same tool (to build its input),
/// its words (`{R}` is the fixture's recipient, `{R2}` [`SECOND_RECIPIENT`]), its standard input
/// and the check.
struct Case {
    name: &'static str,
    before: &'static [&'static str],
    words: &'static [&'static str],
    stdin: Option<&'static str>,
    compare: Compare,
}

const CASES: &[Case] = &[
    Case {
        before: &[],
        name: "-d FILE",
        words: &["-d", "f.yaml"],
        stdin: None,
        compare: Compare::Stdout,
    },
    Case {
        before: &[],
        name: "--decrypt FILE (JSON)",
        words: &["--decrypt", "f.json"],
        stdin: None,
        compare: Compare::Stdout,
    },
    Case {
        before: &[],
        name: "--extract PATH -d FILE",
        words: &["--extract", "[\"db\"][\"password\"]", "-d", "f.yaml"],
        stdin: None,
        compare: Compare::Stdout,
    },
    Case {
        before: &[],
        name: "-d -i FILE",
        words: &["-d", "-i", "f.yaml"],
        stdin: None,
        compare: Compare::File("f.yaml"),
    },
    Case {
        before: &[],
        name: "-d --output-type json FILE",
        words: &["-d", "--output-type", "json", "f.yaml"],
        stdin: None,
        compare: Compare::Stdout,
    },
    Case {
        before: &[],
        name: "-e --age R FILE",
        words: &["-e", "--age", "{R}", "p.yaml"],
        stdin: None,
        compare: Compare::StdoutDecrypted,
    },
    Case {
        before: &[],
        name: "-e -a R -i FILE",
        words: &["-e", "-a", "{R}", "-i", "p.yaml"],
        stdin: None,
        compare: Compare::FileDecrypted("p.yaml"),
    },
    Case {
        before: &[],
        name: "-r FILE",
        words: &["-r", "f.yaml"],
        stdin: None,
        compare: Compare::StdoutDecrypted,
    },
    Case {
        before: &[],
        name: "-r -i FILE",
        words: &["-r", "-i", "f.yaml"],
        stdin: None,
        compare: Compare::FileDecrypted("f.yaml"),
    },
    Case {
        before: &[],
        name: "--set 'INDEX VALUE' FILE",
        words: &["--set", "[\"db\"][\"password\"] \"changed\"", "f.yaml"],
        stdin: None,
        compare: Compare::FileDecrypted("f.yaml"),
    },
    Case {
        before: &[],
        name: "--set 'INDEX VALUE' -i FILE",
        words: &["--set", "[\"new\"] {\"a\": [1, 2]}", "-i", "f.yaml"],
        stdin: None,
        compare: Compare::FileDecrypted("f.yaml"),
    },
    Case {
        before: &[],
        name: "--set=INDEX VALUE FILE",
        words: &["--set=[\"db\"][\"user\"] 5", "f.yaml"],
        stdin: None,
        compare: Compare::FileDecrypted("f.yaml"),
    },
    Case {
        before: &[],
        name: "FILE (edit, the bare form)",
        words: &["f.yaml"],
        stdin: None,
        compare: Compare::FileDecrypted("f.yaml"),
    },
    Case {
        before: &[],
        name: "-d on a missing file",
        words: &["-d", "missing.yaml"],
        stdin: None,
        compare: Compare::ExitCode,
    },
    Case {
        before: &[],
        name: "-e on an encrypted file",
        words: &["-e", "--age", "{R}", "f.yaml"],
        stdin: None,
        compare: Compare::ExitCode,
    },
    Case {
        before: &[],
        name: "-d on a plaintext file",
        words: &["-d", "p.yaml"],
        stdin: None,
        compare: Compare::ExitCode,
    },
    Case {
        before: &[],
        name: "--set without a value",
        words: &["--set", "nonsense", "f.yaml"],
        stdin: None,
        compare: Compare::ExitCode,
    },
    Case {
        before: &[],
        name: "--set with a bad JSON value",
        words: &["--set", "[\"db\"] {nope", "f.yaml"],
        stdin: None,
        compare: Compare::ExitCode,
    },
    Case {
        before: &[],
        name: "set --value-file FILE INDEX VALUE-FILE",
        words: &[
            "set",
            "--value-file",
            "f.yaml",
            "[\"db\"][\"password\"]",
            "value.json",
        ],
        stdin: None,
        compare: Compare::FileDecrypted("f.yaml"),
    },
    Case {
        before: &[],
        name: "set a list value",
        words: &["set", "f.yaml", "[\"db\"]", "[1, \"two\"]"],
        stdin: None,
        compare: Compare::ExitCode,
    },
    Case {
        before: &[],
        name: "set numbers with more digits than a double holds",
        words: &[
            "set",
            "f.yaml",
            "[\"db\"]",
            "{\"x\": 7.26735524029091085600010e4, \"y\": 2.312032187027559502e19, \"z\": 1.88726666916620308e-82}",
        ],
        stdin: None,
        compare: Compare::FileDecrypted("f.yaml"),
    },
    Case {
        before: &[],
        name: "set --value-stdin FILE INDEX",
        words: &["set", "--value-stdin", "f.yaml", "[\"db\"][\"password\"]"],
        stdin: Some("{\"from\": \"stdin\"}"),
        compare: Compare::FileDecrypted("f.yaml"),
    },
    Case {
        before: &[],
        name: "set --value-stdin with a third argument",
        words: &["set", "--value-stdin", "f.yaml", "[\"port\"]", "1"],
        stdin: Some("2"),
        compare: Compare::ExitCode,
    },
    Case {
        before: &[],
        name: "set --value-file --value-stdin",
        words: &[
            "set",
            "--value-file",
            "--value-stdin",
            "f.yaml",
            "[\"port\"]",
            "value.json",
        ],
        stdin: None,
        compare: Compare::ExitCode,
    },
    Case {
        before: &[],
        name: "set without a value",
        words: &["set", "f.yaml", "[\"port\"]"],
        stdin: None,
        compare: Compare::ExitCode,
    },
    Case {
        before: &[],
        name: "set --idempotent with the same value",
        words: &["set", "--idempotent", "f.yaml", "[\"port\"]", "5432"],
        stdin: None,
        compare: Compare::Unchanged("f.yaml"),
    },
    Case {
        before: &[],
        name: "set --output-type yaml on a JSON file",
        words: &[
            "set",
            "--output-type",
            "yaml",
            "f.json",
            "[\"token\"]",
            "\"t-2\"",
        ],
        stdin: None,
        compare: Compare::FileDecrypted("f.json"),
    },
    Case {
        before: &[],
        name: "unset --output-type json on a YAML file",
        words: &["unset", "--output-type", "json", "f.yaml", "[\"port\"]"],
        stdin: None,
        compare: Compare::FileDecrypted("f.yaml"),
    },
    Case {
        before: &[],
        name: "unset --idempotent of a missing key",
        words: &["unset", "--idempotent", "f.yaml", "[\"nope\"]"],
        stdin: None,
        compare: Compare::Unchanged("f.yaml"),
    },
    Case {
        before: &[],
        name: "groups add --file FILE --age R -i",
        words: &["groups", "add", "--file", "f.yaml", "--age", "{R}", "-i"],
        stdin: None,
        compare: Compare::KeyGroups("f.yaml"),
    },
    Case {
        before: &[],
        name: "groups add -f FILE --age R (stdout)",
        words: &["groups", "add", "-f", "f.json", "--age", "{R}"],
        stdin: None,
        compare: Compare::StdoutDecrypted,
    },
    Case {
        before: &["groups", "add", "--file", "f.yaml", "--age", "{R}", "-i"],
        name: "groups delete --shamir-secret-sharing-threshold 1 -i INDEX",
        words: &[
            "groups",
            "delete",
            "--file",
            "f.yaml",
            "--shamir-secret-sharing-threshold",
            "1",
            "-i",
            "1",
        ],
        stdin: None,
        compare: Compare::KeyGroups("f.yaml"),
    },
    Case {
        before: &["groups", "add", "--file", "f.yaml", "--age", "{R}", "-i"],
        name: "groups delete leaving fewer groups than the threshold",
        words: &["groups", "delete", "--file", "f.yaml", "-i", "0"],
        stdin: None,
        compare: Compare::ExitCode,
    },
    Case {
        before: &["groups", "add", "--file", "f.yaml", "--age", "{R}", "-i"],
        name: "groups remove (aesec's alias of delete; sops has only delete)",
        words: &[
            "groups",
            "remove",
            "--file",
            "f.yaml",
            "--shamir-secret-sharing-threshold",
            "1",
            "-i",
            "1",
        ],
        stdin: None,
        compare: Compare::ExitCode,
    },
    Case {
        before: &[],
        name: "groups delete of the only group",
        words: &["groups", "delete", "--file", "f.yaml", "-i", "0"],
        stdin: None,
        compare: Compare::ExitCode,
    },
    Case {
        before: &[],
        name: "--indent 2 -d FILE",
        words: &["--indent", "2", "-d", "f.yaml"],
        stdin: None,
        compare: Compare::Stdout,
    },
    Case {
        before: &[],
        name: "--indent 0 -d FILE (YAML: the default)",
        words: &["--indent", "0", "-d", "f.yaml"],
        stdin: None,
        compare: Compare::Stdout,
    },
    Case {
        before: &[],
        name: "--indent 1 -d FILE (YAML: go-yaml writes 2)",
        words: &["--indent", "1", "-d", "f.yaml"],
        stdin: None,
        compare: Compare::Stdout,
    },
    Case {
        before: &[],
        name: "--indent 12 -d FILE (YAML: go-yaml writes 2 above 9)",
        words: &["--indent", "12", "-d", "f.yaml"],
        stdin: None,
        compare: Compare::Stdout,
    },
    Case {
        before: &[],
        name: "--indent 12 -d FILE (JSON: 12 spaces)",
        words: &["--indent", "12", "-d", "f.json"],
        stdin: None,
        compare: Compare::Stdout,
    },
    Case {
        before: &[],
        name: "--indent 0 -d FILE (JSON)",
        words: &["--indent", "0", "-d", "f.json"],
        stdin: None,
        compare: Compare::Stdout,
    },
    Case {
        before: &[],
        name: "--indent -1 -d --output-type json FILE (a tab)",
        words: &["--indent", "-1", "-d", "--output-type", "json", "f.yaml"],
        stdin: None,
        compare: Compare::Stdout,
    },
    Case {
        before: &[],
        name: "--indent 3 -e --age R FILE",
        words: &["--indent", "3", "-e", "--age", "{R}", "p.yaml"],
        stdin: None,
        compare: Compare::StdoutLayout,
    },
    Case {
        before: &[],
        name: "--indent 1 -e --age R FILE (JSON)",
        words: &["--indent", "1", "-e", "--age", "{R}", "p.json"],
        stdin: None,
        compare: Compare::StdoutLayout,
    },
    Case {
        before: &[],
        name: "--indent 2 -r FILE",
        words: &["--indent", "2", "-r", "f.yaml"],
        stdin: None,
        compare: Compare::StdoutLayout,
    },
    Case {
        before: &[],
        name: "--indent 2 --set 'INDEX VALUE' -i FILE",
        words: &[
            "--indent",
            "2",
            "--set",
            "[\"db\"][\"port\"] 1",
            "-i",
            "f.yaml",
        ],
        stdin: None,
        compare: Compare::FileDecrypted("f.yaml"),
    },
    Case {
        before: &[],
        name: "--indent -1 -d FILE (YAML refuses a negative indent)",
        words: &["--indent", "-1", "-d", "f.yaml"],
        stdin: None,
        compare: Compare::ExitCode,
    },
    Case {
        before: &[],
        name: "--indent -2 -e --age R FILE (JSON refuses below -1)",
        words: &["--indent", "-2", "-e", "--age", "{R}", "p.json"],
        stdin: None,
        compare: Compare::ExitCode,
    },
    Case {
        before: &[],
        name: "-r --add-age R2 -i FILE",
        words: &["-r", "--add-age", "{R2}", "-i", "f.yaml"],
        stdin: None,
        compare: Compare::KeyGroups("f.yaml"),
    },
    Case {
        before: &[],
        name: "rotate --add-age R2,R2 (duplicates kept, as sops keeps them)",
        words: &["rotate", "--add-age", "{R2},{R2}", "f.json"],
        stdin: None,
        compare: Compare::StdoutDecrypted,
    },
    Case {
        before: &[],
        name: "-r --add-age R2 --rm-age R -i FILE",
        words: &["-r", "--add-age", "{R2}", "--rm-age", "{R}", "-i", "f.yaml"],
        stdin: None,
        compare: Compare::RecipientsLines("f.yaml"),
    },
    Case {
        before: &["groups", "add", "--file", "f.yaml", "--age", "{R2}", "-i"],
        name: "rotate --rm-age R2 -i FILE (from the second key group)",
        words: &["rotate", "--rm-age", "{R2}", "-i", "f.yaml"],
        stdin: None,
        compare: Compare::ExitCode,
    },
    Case {
        before: &[],
        name: "-r --rm-age R -i FILE (no key left)",
        words: &["-r", "--rm-age", "{R}", "-i", "f.yaml"],
        stdin: None,
        compare: Compare::ExitCode,
    },
    Case {
        before: &[],
        name: "rotate --add-age with a malformed recipient",
        words: &["rotate", "--add-age", "age1nope", "f.yaml"],
        stdin: None,
        compare: Compare::ExitCode,
    },
];

/// Where aesec differs on purpose: `(case, sops code, aesec code, why)`. The README's "Exit
/// codes" section lists the same; a difference that no longer happens fails the test too.
const INTENDED_DIFFERENCES: &[IntendedDifference] = &[
    (
        "groups remove (aesec's alias of delete; sops has only delete)",
        3,
        0,
        "sops knows the subcommand only as `delete` (\"No help topic for 'remove'\"); aesec \
         accepts `remove` as well",
    ),
    (
        "groups delete of the only group",
        0,
        23,
        "sops writes the file with no key group left, so nobody can ever decrypt it again; \
         aesec refuses (no key groups to encrypt the data key to)",
    ),
    (
        "set a list value",
        7,
        0,
        "sops' set loads a map or list value through its JSON store, which refuses a top-level \
     array (\"Invalid --set value format\"); aesec sets the list",
    ),
];

const PLAIN_YAML: &str = "db:\n    user: admin\n    password: hunter2\nport: 5432\n";
const PLAIN_JSON: &str = "{\"token\": \"t-1\", \"list\": [1, \"two\"]}\n";

/// An editor for the bare form: appends a key to the file it is given.
const EDITOR: &str = "#!/bin/sh\nprintf 'added: by the editor\\n' >> \"$1\"\n";

/// One tool's working directory, filled with the same inputs for every case.
fn prepare(fixture: &SopsFixture, dir: &Path) {
    std::fs::create_dir_all(dir).expect("case dir");
    std::fs::write(dir.join("p.yaml"), PLAIN_YAML).expect("plain yaml");
    std::fs::write(dir.join("p.json"), PLAIN_JSON).expect("plain json");
    std::fs::write(dir.join("value.json"), "{\"from\": [\"a\", \"file\"]}").expect("value file");
    for (plain, encrypted) in [("p.yaml", "f.yaml"), ("p.json", "f.json")] {
        let out = fixture
            .sops()
            .current_dir(dir)
            .args(["encrypt", "--age", &fixture.key.recipient, plain])
            .run();
        std::fs::write(dir.join(encrypted), out.stdout).expect("encrypted input");
    }
}

/// `sops decrypt` of a document held in `bytes`, written next to the inputs.
fn sops_decrypt(fixture: &SopsFixture, dir: &Path, bytes: &[u8]) -> Vec<u8> {
    let path = dir.join("to-decrypt.yaml");
    std::fs::write(&path, bytes).expect("write the document to decrypt");
    let out = fixture
        .sops()
        .current_dir(dir)
        .args(["decrypt", "to-decrypt.yaml"])
        .run();
    out.stdout
}

/// A sops document with what differs between two runs of the same command masked: each
/// `ENC[...]` value (to `ENC[type]`), an armored age header (one `~` line at its indentation: its length varies
/// from run to run, with the random grease stanza that age writers may add), and the values
/// of `lastmodified`, `mac` and a one-line `enc`. Everything else, indentation included, stays.
fn layout(bytes: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    let mut in_armor = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        let masked_value = ["lastmodified", "mac", "enc"].iter().any(|key| {
            trimmed.starts_with(&format!("{key}: ")) || trimmed.starts_with(&format!("\"{key}\": "))
        });
        if trimmed.starts_with("-----BEGIN AGE ENCRYPTED FILE-----") {
            in_armor = true;
        }
        if in_armor {
            if trimmed.starts_with("-----BEGIN") {
                out.push_str(indent);
                out.push_str("~\n");
            }
        } else if masked_value && !trimmed.ends_with('|') {
            let key_end = trimmed.find(": ").expect("a key") + 2;
            out.push_str(indent);
            out.push_str(&trimmed[..key_end]);
            out.push('~');
        } else {
            out.push_str(&mask_ciphertexts(line));
        }
        if trimmed.starts_with("-----END AGE ENCRYPTED FILE-----") {
            in_armor = false;
        } else if !in_armor {
            out.push('\n');
        }
    }
    out.into_bytes()
}

/// A YAML file's `shamir_threshold` line and the number of recipients of each key group, as
/// in `shamir_threshold: 2; groups: [1, 1]`.
fn key_groups_summary(text: &str) -> String {
    let threshold = text
        .lines()
        .find(|line| line.trim_start().starts_with("shamir_threshold:"))
        .map_or("none", str::trim);
    let mut groups: Vec<usize> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        // An item of `sops.key_groups` (sops indents by 4: the list sits 8 deep).
        if line.len() - trimmed.len() == 8 && trimmed.starts_with("- ") {
            groups.push(0);
        }
        if trimmed.starts_with("- recipient:") {
            match groups.last_mut() {
                Some(count) => *count += 1,
                None => groups.push(1),
            }
        }
    }
    format!("{threshold}; groups: {groups:?}\n")
}

/// A recipient other than the fixture's: the example fleet's demo admin (a published key).
const SECOND_RECIPIENT: &str = "age1rrrptjrf6394r2dakzjz5npsalyn4qm9mxe7t4nm6faf5d9cpdassuv0kn";

/// A word of a case with `{R}` and `{R2}` filled in.
fn fill(word: &str, fixture: &SopsFixture) -> String {
    word.replace("{R2}", SECOND_RECIPIENT)
        .replace("{R}", &fixture.key.recipient)
}

/// Runs one case with one tool; returns (exit code, what is compared).
fn run_case(fixture: &SopsFixture, case: &Case, tool: Cmd, dir: &Path) -> (i32, Vec<u8>) {
    let mut cmd = tool;
    let words: Vec<String> = case.words.iter().map(|word| fill(word, fixture)).collect();
    if !case.before.is_empty() {
        let mut first = cmd.clone();
        let before: Vec<String> = case.before.iter().map(|word| fill(word, fixture)).collect();
        let out = first.current_dir(dir).args(&before).output();
        assert!(
            out.status.success(),
            "{}: the step before failed",
            case.name
        );
    }
    cmd.current_dir(dir)
        .env("EDITOR", dir.join("editor.sh"))
        .env("SOPS_EDITOR", dir.join("editor.sh"))
        .args(&words);
    if let Some(stdin) = case.stdin {
        cmd.stdin(stdin);
    }
    let before = match case.compare {
        Compare::Unchanged(name) => std::fs::read(dir.join(name)).expect("the file"),
        _ => Vec::new(),
    };
    let out = cmd.output();
    let code = out.status.code().expect("exited normally");
    let decrypted = |name: &str| {
        let bytes = std::fs::read(dir.join(name)).expect("the file");
        sops_decrypt(fixture, dir, &bytes)
    };
    let compared = match case.compare {
        Compare::Stdout => out.stdout,
        Compare::StdoutLayout if code == 0 => layout(&out.stdout),
        Compare::RecipientsLines(name) => {
            let text = std::fs::read_to_string(dir.join(name)).expect("the file");
            let lines: Vec<&str> = text
                .lines()
                .filter(|line| line.trim_start().starts_with("- recipient:"))
                .collect();
            lines.join("\n").into_bytes()
        }
        Compare::StdoutDecrypted if code == 0 => sops_decrypt(fixture, dir, &out.stdout),
        Compare::File(name) => std::fs::read(dir.join(name)).expect("the file"),
        Compare::Unchanged(name) => {
            let unchanged = std::fs::read(dir.join(name)).expect("the file") == before;
            format!("unchanged: {unchanged}").into_bytes()
        }
        Compare::FileDecrypted(name) if code == 0 => decrypted(name),
        Compare::KeyGroups(name) if code == 0 => {
            let text = std::fs::read_to_string(dir.join(name)).expect("the file");
            let mut summary = key_groups_summary(&text).into_bytes();
            summary.extend(decrypted(name));
            summary
        }
        Compare::StdoutDecrypted
        | Compare::StdoutLayout
        | Compare::FileDecrypted(_)
        | Compare::KeyGroups(_)
        | Compare::ExitCode => Vec::new(),
    };
    (code, compared)
}

#[test]
fn sops_top_level_forms_work_unchanged_with_aesec() {
    let Some(fixture) = SopsFixture::new() else {
        return;
    };
    let mut failures = Vec::new();
    for (index, case) in CASES.iter().enumerate() {
        let mut results = Vec::new();
        for (tool, cmd) in [("sops", fixture.sops()), ("aesec", fixture.aesec())] {
            let dir: PathBuf = fixture.home.join(format!("case{index}/{tool}"));
            prepare(&fixture, &dir);
            std::fs::write(dir.join("editor.sh"), EDITOR).expect("editor");
            std::fs::set_permissions(
                dir.join("editor.sh"),
                std::os::unix::fs::PermissionsExt::from_mode(0o755),
            )
            .expect("editor mode");
            results.push(run_case(&fixture, case, cmd, &dir));
        }
        let (sops, aesec) = (&results[0], &results[1]);
        let judged = judge_exit_codes(INTENDED_DIFFERENCES, case.name, sops.0, aesec.0);
        if judged == Ok(true) {
            continue;
        }
        if !matches!(case.compare, Compare::ExitCode) && sops.0 != 0 {
            failures.push(format!("{}: sops itself fails ({})", case.name, sops.0));
        } else if let Err(why) = judged {
            failures.push(why);
        } else if sops.1 != aesec.1 {
            failures.push(format!(
                "{}: sops gives {:?}, aesec {:?}",
                case.name,
                String::from_utf8_lossy(&sops.1),
                String::from_utf8_lossy(&aesec.1)
            ));
        } else if !matches!(case.compare, Compare::ExitCode) && sops.1.is_empty() {
            failures.push(format!("{}: nothing decrypted to compare", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A creation rule that matches but gives no keys fails as in sops, with sops' message (scripts
/// match on it) — not as "no creation rule", since one did match.
#[test]
fn creation_rules_without_keys_fail_with_sops_message() {
    let Some(fixture) = SopsFixture::new() else {
        return;
    };
    let rules = [
        "creation_rules:\n  - path_regex: .*\n".to_owned(),
        "creation_rules:\n  - path_regex: .*\n    key_groups: []\n".to_owned(),
        "creation_rules:\n  - path_regex: .*\n    key_groups:\n      - {}\n".to_owned(),
        format!(
            "creation_rules:\n  - path_regex: .*\n    key_groups:\n      - age: [{}]\n      - {{}}\n",
            fixture.key.recipient
        ),
    ];
    for (index, config) in rules.iter().enumerate() {
        let dir = fixture.home.join(format!("rules{index}"));
        std::fs::create_dir_all(&dir).expect("rule dir");
        std::fs::write(dir.join(".sops.yaml"), config).expect("config");
        std::fs::write(dir.join("p.yaml"), PLAIN_YAML).expect("plain");
        let mut outputs = Vec::new();
        for program in [&fixture.sops, &aesec_tests::aesec_bin()] {
            let out = fixture
                .home
                .cmd(program)
                .env("SOPS_AGE_KEY_FILE", &fixture.key.identity_file)
                .current_dir(&dir)
                .args(["encrypt", "p.yaml"])
                .output();
            outputs.push(out);
        }
        let (sops, aesec) = (&outputs[0], &outputs[1]);
        assert_eq!(
            sops.status.code(),
            aesec.status.code(),
            "rule {index}: exit codes"
        );
        let sops_message = String::from_utf8_lossy(&sops.stderr);
        let first = sops_message.lines().next().expect("sops says why");
        assert!(
            String::from_utf8_lossy(&aesec.stderr).contains(first),
            "rule {index}: aesec does not say {first:?}: {}",
            String::from_utf8_lossy(&aesec.stderr)
        );
    }
}

/// Key lists in `.sops.yaml` that sops 3.11 refuses (a null or empty entry of a flat list, an
/// empty piece after a comma) are refused by aesec too, and the ones it takes are taken.
#[test]
fn key_lists_are_refused_or_taken_as_sops_does() {
    let Some(fixture) = SopsFixture::new() else {
        return;
    };
    let (r, r2) = (&fixture.key.recipient, SECOND_RECIPIENT);
    let rules = [
        format!("age: [~, {r}]"),
        format!("age: [{r}, '']"),
        format!("age: ['{r},', {r2}]"),
        format!("age: '{r},,{r2},'"),
        format!("age: [' {r}', '{r2} ']"),
        format!("key_groups:\n      - age: [~, {r}]"),
        format!("key_groups:\n      - age: ['{r},']"),
        format!("key_groups:\n      - age: ['{r}, {r2}']"),
    ];
    let mut failures = Vec::new();
    for (index, rule) in rules.iter().enumerate() {
        let dir = fixture.home.join(format!("keylists{index}"));
        std::fs::create_dir_all(&dir).expect("rule dir");
        let config = format!("creation_rules:\n  - path_regex: .*\n    {rule}\n");
        std::fs::write(dir.join(".sops.yaml"), config).expect("config");
        std::fs::write(dir.join("p.yaml"), PLAIN_YAML).expect("plain");
        let [sops, aesec] = [&fixture.sops, &aesec_tests::aesec_bin()].map(|program| {
            fixture
                .home
                .cmd(program)
                .env("SOPS_AGE_KEY_FILE", &fixture.key.identity_file)
                .current_dir(&dir)
                .args(["encrypt", "p.yaml"])
                .output()
        });
        if sops.status.success() != aesec.status.success() {
            failures.push(format!(
                "{rule}: sops {} ({}), aesec {} ({})",
                sops.status,
                String::from_utf8_lossy(&sops.stderr).trim(),
                aesec.status,
                String::from_utf8_lossy(&aesec.stderr).trim()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
