//! `exec-env` and `exec-file`, differentially: the real sops 3.11 and aesec run the same
//! command line on the same sops file, and must print the same bytes and exit alike. Then what
//! aesec promises beyond sops: the plaintext's directory is private, RAM-backed when the
//! machine has one, and gone once the command ends.

use std::path::Path;

use aesec_tests::{Cmd, IntendedDifference, SopsFixture, judge_exit_codes};

/// One command line after the tool's name; `{}` is exec-file's placeholder.
struct Case {
    name: &'static str,
    words: &'static [&'static str],
    /// Compare stdout too (else only the exit code).
    stdout: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "exec-env: values in the environment",
        words: &[
            "exec-env",
            "flat.yaml",
            "printf '%s|%s|%s|%s' \"$user\" \"$port\" \"$multiline\" \"$enabled\"",
        ],
        stdout: true,
    },
    Case {
        name: "exec-env: the command's exit code",
        words: &["exec-env", "flat.yaml", "echo \"$user\"; exit 7"],
        stdout: true,
    },
    Case {
        name: "exec-env --pristine",
        words: &["exec-env", "--pristine", "flat.yaml", "env | sort"],
        stdout: true,
    },
    Case {
        name: "exec-env: dotenv input",
        words: &["exec-env", "flat.env", "printf '%s' \"$token\""],
        stdout: true,
    },
    Case {
        name: "exec-env: a nested value is refused",
        words: &["exec-env", "nested.yaml", "true"],
        stdout: true,
    },
    Case {
        name: "exec-env: a missing file",
        words: &["exec-env", "missing.yaml", "true"],
        stdout: true,
    },
    Case {
        name: "exec-file: a FIFO",
        words: &["exec-file", "nested.yaml", "cat {}"],
        stdout: true,
    },
    Case {
        name: "exec-file --no-fifo: read twice",
        words: &[
            "exec-file",
            "--no-fifo",
            "nested.yaml",
            "cat {}; wc -c < {}",
        ],
        stdout: true,
    },
    Case {
        name: "exec-file --output-type json --filename",
        words: &[
            "exec-file",
            "--output-type",
            "json",
            "--filename",
            "config.json",
            "nested.yaml",
            "basename {}; cat {}",
        ],
        stdout: true,
    },
    Case {
        name: "exec-file --no-fifo: the file's mode",
        words: &["exec-file", "--no-fifo", "flat.yaml", "stat -c %a {}"],
        stdout: true,
    },
    Case {
        name: "exec-file: the command's exit code",
        words: &["exec-file", "flat.yaml", "cat {} > /dev/null; exit 4"],
        stdout: true,
    },
    Case {
        name: "exec-file: a filename outside the directory",
        words: &["exec-file", "--filename", "../x", "flat.yaml", "true"],
        stdout: true,
    },
];

const FLAT: &str =
    "user: admin\nport: 5432\nmultiline: \"line one\\nline two\"\nenabled: true\n# a comment\n";
const NESTED: &str = "db:\n    user: admin\n    password: hunter2\nlist:\n    - 1\n    - two\n";
const DOTENV: &str = "token=t-0123\nother=x\n";

fn encrypted_inputs(fixture: &SopsFixture) {
    for (plain, name) in [
        (FLAT, "flat.yaml"),
        (NESTED, "nested.yaml"),
        (DOTENV, "flat.env"),
    ] {
        let plain_name = format!("plain-{name}");
        fixture.home.write(&plain_name, plain);
        let out = fixture
            .sops()
            .args(["encrypt", "--age", &fixture.key.recipient, &plain_name])
            .run();
        fixture.home.write(name, out.stdout);
    }
}

/// Where aesec differs on purpose: `(case, sops code, aesec code, why)`; the README's "Exit
/// codes" section lists the same.
const INTENDED_DIFFERENCES: &[IntendedDifference] = &[(
    "exec-file: a filename outside the directory",
    0,
    1,
    "sops makes the plaintext FIFO at `$TMPDIR/x`, outside its private directory, and leaves it \
     there; aesec refuses a --filename that leaves the directory",
)];

/// Runs one command line with `TMPDIR` a fresh directory of its own (sops puts its private
/// directory there, and a `--filename` outside it lands beside it).
fn run(mut cmd: Cmd, words: &[&str], tmpdir: &Path) -> (i32, Vec<u8>) {
    std::fs::create_dir_all(tmpdir).expect("the run's TMPDIR");
    // The same environment for both, so that `env | sort` compares.
    cmd.env_remove("SOPS_AGE_KEY_FILE_UNUSED")
        .env("TMPDIR", tmpdir)
        .args(words);
    let out = cmd.output();
    (out.status.code().expect("exited normally"), out.stdout)
}

#[test]
fn exec_env_and_exec_file_match_sops() {
    let Some(fixture) = SopsFixture::new() else {
        return;
    };
    encrypted_inputs(&fixture);
    let mut failures = Vec::new();
    for (index, case) in CASES.iter().enumerate() {
        // `--config` is a global flag of both, given before the subcommand; `exec-*` take no
        // other global, so the words follow unchanged.
        let tmp = |tool: &str| fixture.home.join(format!("tmp-{index}-{tool}"));
        let sops = run(fixture.sops(), case.words, &tmp("sops"));
        let aesec = run(fixture.aesec(), case.words, &tmp("aesec"));
        match judge_exit_codes(INTENDED_DIFFERENCES, case.name, sops.0, aesec.0) {
            Err(why) => failures.push(why),
            Ok(true) => {}
            Ok(false) if case.stdout && sops.1 != aesec.1 => failures.push(format!(
                "{}: sops prints {:?}, aesec {:?}",
                case.name,
                String::from_utf8_lossy(&sops.1),
                String::from_utf8_lossy(&aesec.1)
            )),
            Ok(false) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn exec_file_keeps_the_plaintext_private_and_removes_it() {
    let Some(fixture) = SopsFixture::new() else {
        return;
    };
    encrypted_inputs(&fixture);
    for fifo in [true, false] {
        let mut words = vec!["exec-file"];
        if !fifo {
            words.push("--no-fifo");
        }
        words.extend([
            "nested.yaml",
            "cat {} > /dev/null; echo {}; stat -c '%a %F' \"$(dirname {})\" {}",
        ]);
        let out = run(fixture.aesec(), &words, &std::env::temp_dir());
        assert_eq!(out.0, 0, "exec-file {words:?}");
        let text = String::from_utf8(out.1).expect("utf-8");
        let mut lines = text.lines();
        let path = Path::new(lines.next().expect("the path"));
        assert_eq!(lines.next(), Some("700 directory"), "{text}");
        let kind = if fifo { "600 fifo" } else { "600 regular file" };
        assert_eq!(lines.next(), Some(kind), "{text}");
        let dir = path.parent().expect("a directory");
        assert!(!dir.exists(), "{} is left behind", dir.display());
        if Path::new("/dev/shm").is_dir() {
            assert!(
                path.starts_with("/dev/shm") || std::env::var_os("XDG_RUNTIME_DIR").is_some(),
                "{} is not on the RAM-backed /dev/shm",
                path.display()
            );
        }
    }
}

#[test]
fn exec_user_runs_the_command_as_that_user_like_sops() {
    let Some(fixture) = SopsFixture::new() else {
        return;
    };
    encrypted_inputs(&fixture);
    let root = rustix_is_root();
    for command in ["exec-env", "exec-file"] {
        let words = [
            command,
            "--user",
            "nobody",
            "flat.yaml",
            "id -un; id -u; id -g; echo \"$USER $LOGNAME $HOME\"",
        ];
        // The system's temporary directory, which `nobody` can reach (the fixture's home is
        // private to its owner).
        let sops = run(fixture.sops(), &words, &std::env::temp_dir());
        let aesec = run(fixture.aesec(), &words, &std::env::temp_dir());
        if root {
            assert_eq!(sops.0, 0, "{command} --user nobody with sops");
            assert_eq!(
                String::from_utf8_lossy(&aesec.1),
                String::from_utf8_lossy(&sops.1),
                "{command} --user nobody"
            );
        }
        assert_eq!(aesec.0 == 0, sops.0 == 0, "{command} --user: exit codes");
    }
}

/// Whether the tests run as root (only root may switch users).
fn rustix_is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout == b"0\n")
}
