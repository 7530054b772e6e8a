//! Resource limits on hostile files (issue 6, items 4–6): each input runs the real `aesec`
//! binary under a wall-clock limit (the harness kills it and fails the test) and an
//! address-space limit (`prlimit --as`, from util-linux), and must end with the expected exit
//! code and an error that says what was refused. The limits are generous: they detect a hang or
//! a runaway allocation, they do not time anything.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use aesec::age::secrecy::ExposeSecret as _;
use aesec::store::MAX_DEPTH;
use aesec_tests::{Cmd, TempHome, aesec_bin, child_path};

/// Longer than any of these inputs takes when handled (well under a second in release).
const WALL_CLOCK: Duration = Duration::from_secs(20);
/// Address space for one run: the debug binary, its threads' stacks and malloc arenas fit
/// easily; the old alias expansion (725 MB resident) did not.
const ADDRESS_SPACE_BYTES: u64 = 1 << 30;

/// A temporary home holding an age identity (as `key.txt`) and its recipient.
struct Fixture {
    home: TempHome,
    recipient: String,
}

impl Fixture {
    fn new() -> Self {
        let home = TempHome::new();
        let identity = aesec::age::x25519::Identity::generate();
        home.write("key.txt", identity.to_string().expose_secret());
        Self {
            recipient: identity.to_public().to_string(),
            home,
        }
    }

    /// `aesec ARGS` under the time and memory limits, with the identity available.
    fn aesec(&self, args: &[&str]) -> Cmd {
        let mut cmd = self.home.cmd(prlimit());
        cmd.arg(format!("--as={ADDRESS_SPACE_BYTES}"))
            .arg("--")
            .arg(aesec_bin())
            .args(args)
            .env("SOPS_AGE_KEY_FILE", self.home.join("key.txt"))
            .timeout(WALL_CLOCK);
        cmd
    }

    /// Encrypts `plaintext` (named `name`) for the fixture's recipient, without limits.
    fn encrypted(&self, name: &str, plaintext: &str) -> String {
        let path = self.home.write(name, plaintext);
        let mut cmd = self.home.aesec();
        cmd.args(["encrypt", "--age", &self.recipient]).arg(path);
        cmd.stdout()
    }
}

/// `prlimit` from util-linux, found on the children's `PATH`.
fn prlimit() -> PathBuf {
    std::env::split_paths(&child_path())
        .map(|dir| dir.join("prlimit"))
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("prlimit (util-linux) is not on PATH: {:?}", child_path()))
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_refused(output: &Output, code: i32, needles: &[&str]) {
    let text = stderr(output);
    assert_eq!(output.status.code(), Some(code), "stderr: {text}");
    for needle in needles {
        assert!(text.contains(needle), "{needle:?} not in stderr: {text}");
    }
}

/// The control case: an ordinary file passes under the same limits, so a refusal below is
/// the input's doing, not the limits'.
#[test]
fn ordinary_file_passes_under_the_limits() {
    let fixture = Fixture::new();
    let path = fixture.home.write("plain.yaml", "a: x\nb: [1, 2]\n");
    let encrypted = fixture
        .aesec(&["encrypt", "--age", &fixture.recipient])
        .arg(&path)
        .stdout();
    fixture.home.write("plain.enc.yaml", &encrypted);
    let decrypted = fixture
        .aesec(&["decrypt"])
        .arg(fixture.home.join("plain.enc.yaml"))
        .stdout();
    assert_eq!(decrypted, "a: x\nb:\n    - 1\n    - 2\n");
}

/// Issue 6, item 4: an `ENC[...]` value made of repeated delimiters took seconds per 4 KB and
/// hours per megabyte. A 1 MB one now fails exactly as a short malformed value in the same
/// place fails (the same exit code and message), within the limits.
#[test]
fn long_malformed_encrypted_value_fails_like_a_short_one() {
    let fixture = Fixture::new();
    let encrypted = fixture.encrypted("plain.yaml", "a: x\nb: y\n");
    let replace_b = |value: &str| -> PathBuf {
        let text: String = encrypted
            .lines()
            .map(|line| {
                if line.starts_with("b: ") {
                    format!("b: {value}\n")
                } else {
                    format!("{line}\n")
                }
            })
            .collect();
        fixture.home.write("hostile.enc.yaml", text)
    };
    let short = replace_b("ENC[AES256_GCM,data:x,iv:x");
    let expected = fixture.aesec(&["decrypt"]).arg(&short).run_failure();
    let expected_code = expected.status.code();
    for unit in [",iv:x", ",tag:x", ",type:x", ",iv:x,tag:x,type:x"] {
        let value = format!(
            "ENC[AES256_GCM,data:{}",
            unit.repeat(1_000_000 / unit.len())
        );
        let path = replace_b(&value);
        let output = fixture.aesec(&["decrypt"]).arg(&path).output();
        assert_eq!(
            output.status.code(),
            expected_code,
            "unit {unit:?}: {}\nshort value: {}",
            stderr(&output),
            stderr(&expected)
        );
        let first_line = |text: String| text.lines().next().map(str::to_owned);
        assert_eq!(
            first_line(stderr(&output)),
            first_line(stderr(&expected)),
            "unit {unit:?}"
        );
    }
}

/// YAML with `lists` nested block lists under one key: 200 KB for 100,000 levels.
fn deep_yaml(lists: usize) -> String {
    format!("a:\n{}x\n", "- ".repeat(lists))
}

/// Issue 6, item 5: 100,000 nested `- ` aborted `encrypt` with a stack overflow (exit 134).
/// Now the parser refuses past [`MAX_DEPTH`] levels: exit 2 when encrypting, 1 when decrypting (sops'
/// codes for a file it cannot parse), naming the limit.
#[test]
fn deep_yaml_is_refused_by_encrypt_and_decrypt() {
    let fixture = Fixture::new();
    let path = fixture.home.write("deep.yaml", deep_yaml(100_000));
    let output = fixture
        .aesec(&["encrypt", "--age", &fixture.recipient])
        .arg(&path)
        .output();
    let too_deep = format!("exceeded max depth of {MAX_DEPTH}");
    assert_refused(&output, 2, &[&too_deep, "line 2"]);
    let output = fixture.aesec(&["decrypt"]).arg(&path).output();
    assert_refused(&output, 1, &[&too_deep]);
}

/// `check` and `status` read every file of the tree, including plain YAML: a deep one is
/// reported, and the others are still checked.
#[test]
fn deep_yaml_in_a_fleet_is_reported_by_check_and_status() {
    let fixture = Fixture::new();
    fixture.home.write(
        "fleet/.sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: secrets/.*\\.yaml$\n    age: {}\n",
            fixture.recipient
        ),
    );
    let good = fixture.encrypted("good.yaml", "a: x\n");
    fixture.home.write("fleet/secrets/good.yaml", good);
    fixture
        .home
        .write("fleet/secrets/deep.yaml", deep_yaml(100_000));
    let fleet = fixture.home.join("fleet");
    let check = fixture.aesec(&["check"]).current_dir(&fleet).output();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        stderr(&check)
    );
    assert!(
        check.status.code().is_some_and(|code| code != 0),
        "check must report the deep file: {text}"
    );
    assert!(text.contains("deep.yaml"), "{text}");
    let status = fixture.aesec(&["status"]).current_dir(&fleet).output();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&status.stdout),
        stderr(&status)
    );
    assert!(
        status.status.code().is_some(),
        "status was killed by a signal: {text}"
    );
    assert!(text.contains("good.yaml"), "{text}");
}

/// Issue 6, item 6: one 100 KB scalar aliased 2,000 times made `encrypt` build 200 MB of
/// tree (725 MB resident, and gigabytes for 20,000 aliases). Expansion now has a 64 MiB
/// budget; past it the file is refused with exit 2, naming the alias.
#[test]
fn alias_bomb_is_refused_naming_the_alias() {
    let fixture = Fixture::new();
    let mut text = format!("big: &big {}\nl:\n", "x".repeat(100_000));
    for _ in 0..2_000 {
        text.push_str("  - *big\n");
    }
    let path = fixture.home.write("bomb.yaml", text);
    let output = fixture
        .aesec(&["encrypt", "--age", &fixture.recipient])
        .arg(&path)
        .output();
    assert_refused(&output, 2, &["*big", "67108864 bytes"]);
}

/// Deep JSON was already capped: keep it that way, with the same limit and message.
#[test]
fn deep_json_is_refused() {
    let fixture = Fixture::new();
    let text = format!("{{\"a\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    let path = fixture.home.write("deep.json", text);
    let output = fixture
        .aesec(&["encrypt", "--age", &fixture.recipient])
        .arg(&path)
        .output();
    assert_refused(&output, 2, &[&format!("exceeded max depth of {MAX_DEPTH}")]);
}

/// Long lines in the flat stores cost time and memory in proportion to their length: a
/// 2 MB dotenv or INI value encrypts and decrypts back within the limits.
#[test]
fn long_dotenv_and_ini_lines_stay_linear() {
    let fixture = Fixture::new();
    let value = "x".repeat(2_000_000);
    for (name, text) in [
        ("long.env", format!("A={value}\n")),
        ("long.ini", format!("[s]\nA = {value}\n")),
    ] {
        let path = fixture.home.write(name, text);
        let encrypted = fixture
            .aesec(&["encrypt", "--age", &fixture.recipient])
            .arg(&path)
            .run();
        let sealed = fixture
            .home
            .write(Path::new("sealed").join(name), &encrypted.stdout);
        let decrypted = fixture.aesec(&["decrypt"]).arg(&sealed).run();
        assert!(
            String::from_utf8_lossy(&decrypted.stdout).contains(&value),
            "{name} did not round-trip"
        );
    }
}
