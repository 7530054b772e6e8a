//! End-to-end tests of the fleet commands (`updatekeys`, `check`, `status`,
//! `rotate --older-than`) on temporary repositories, checked against the real sops: files
//! aesec brings in line decrypt with sops, and `sops updatekeys` afterwards has nothing to do.
//! Includes the crash-consistency test: `aesec updatekeys` killed with SIGKILL at many points
//! leaves every file old or new, each decryptable; one kill lands mid-write by construction
//! (the debug-build hook `AESEC_TEST_PAUSE_AFTER_WRITES` holds writes before their rename), so
//! a mix of old and new files and the temporary files of a real kill are asserted, not hoped for.

#[path = "support/harness.rs"]
#[expect(
    dead_code,
    reason = "shared test support: this test crate uses only part of it"
)]
mod harness;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use aesec::file::{DecryptOptions, FileError};
use aesec::keys::age::Identities;
use aesec::sops::{AgeDecryptor, OpenError};
use aesec::store::Format;
use harness::{Run, Sandbox};

/// One age key of a test fleet.
struct Key {
    /// The anchor name in `.sops.yaml`.
    name: String,
    /// The identity file.
    path: PathBuf,
    /// The recipient.
    recipient: String,
}

/// A repository with a `.sops.yaml` and a key per member; the sandbox key is `admin`.
struct Fleet {
    sandbox: Sandbox,
    keys: Vec<Key>,
}

impl Fleet {
    /// A sandbox with `admin` (the sandbox key, `SOPS_AGE_KEY_FILE`) and `hosts` more keys
    /// named `host1`…
    fn new(hosts: usize) -> Self {
        let sandbox = Sandbox::new();
        let mut keys = vec![Key {
            name: "admin".to_owned(),
            path: sandbox.home.join("key.txt"),
            recipient: sandbox.recipient.clone(),
        }];
        for index in 1..=hosts {
            let name = format!("host{index}");
            let path = sandbox.home.join(format!("{name}.txt"));
            sandbox
                .run(&["keys", "generate", "-o", path.to_str().expect("utf-8 path")])
                .ok();
            let text = std::fs::read_to_string(&path).expect("key file");
            let recipient = text
                .lines()
                .find_map(|line| line.strip_prefix("# public key: "))
                .expect("public key line")
                .to_owned();
            keys.push(Key {
                name,
                path,
                recipient,
            });
        }
        Self { sandbox, keys }
    }

    fn key(&self, name: &str) -> &Key {
        self.keys
            .iter()
            .find(|key| key.name == name)
            .unwrap_or_else(|| panic!("no key {name}"))
    }

    /// Writes `.sops.yaml`: every key as an anchor, one rule for `secrets/` naming `members`.
    fn configure(&self, members: &[&str]) {
        let mut text = String::from("# test fleet\nkeys:\n");
        for key in &self.keys {
            text.push_str(&format!("  - &{} {}\n", key.name, key.recipient));
        }
        text.push_str(
            "creation_rules:\n  - path_regex: secrets/.*\n    key_groups:\n      - age:\n",
        );
        for member in members {
            text.push_str(&format!("          - *{member}\n"));
        }
        self.sandbox.write(".sops.yaml", text);
    }

    /// Encrypts `plaintext` as `secrets/NAME` under the creation rule.
    fn encrypt(&self, name: &str, plaintext: &[u8]) {
        let path = format!("secrets/{name}");
        std::fs::create_dir_all(self.sandbox.work.join("secrets")).expect("secrets dir");
        self.sandbox
            .run_stdin(
                &["encrypt", "--filename-override", &path, "--output", &path],
                plaintext,
            )
            .ok();
    }

    /// Every file under `secrets/`, name → bytes. A file listed but gone before it is read
    /// (a temporary file renamed by a run still going, as `kill_mid_write` polls) is left
    /// out; with no run going, [`inspect`] counts every file, so a lost one still fails.
    fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        let dir = self.sandbox.work.join("secrets");
        let mut files = BTreeMap::new();
        for entry in std::fs::read_dir(&dir).expect("secrets dir") {
            let entry = entry.expect("dir entry");
            let name = entry.file_name().into_string().expect("utf-8 name");
            match std::fs::read(entry.path()) {
                Ok(bytes) => {
                    files.insert(name, bytes);
                }
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => panic!("read secrets/{name}: {error}"),
            }
        }
        files
    }

    /// Restores `secrets/` to `snapshot` exactly (extra files removed).
    fn restore(&self, snapshot: &BTreeMap<String, Vec<u8>>) {
        let dir = self.sandbox.work.join("secrets");
        for name in self.snapshot().keys() {
            if !snapshot.contains_key(name) {
                std::fs::remove_file(dir.join(name)).expect("remove extra file");
            }
        }
        for (name, bytes) in snapshot {
            std::fs::write(dir.join(name), bytes).expect("restore file");
        }
    }

    /// Runs `aesec ARGS` with `SOPS_AGE_KEY_FILE` set to the key `name`.
    fn run_as(&mut self, name: &str, args: &[&str]) -> Run {
        let path = self.key(name).path.to_str().expect("utf-8 path").to_owned();
        self.sandbox.env("SOPS_AGE_KEY_FILE", &path);
        let run = self.sandbox.run(args);
        let admin = self
            .key("admin")
            .path
            .to_str()
            .expect("utf-8 path")
            .to_owned();
        self.sandbox.env("SOPS_AGE_KEY_FILE", &admin);
        run
    }

    /// Runs the real sops with `SOPS_AGE_KEY_FILE` set to the key `name`.
    fn sops_as(&mut self, name: &str, args: &[&str]) -> Option<Run> {
        let path = self.key(name).path.to_str().expect("utf-8 path").to_owned();
        self.sandbox.env("SOPS_AGE_KEY_FILE", &path);
        let run = self.sandbox.sops(args);
        let admin = self
            .key("admin")
            .path
            .to_str()
            .expect("utf-8 path")
            .to_owned();
        self.sandbox.env("SOPS_AGE_KEY_FILE", &admin);
        run
    }

    /// The library's identities for the key `name`.
    fn identities(&self, name: &str) -> Identities {
        let mut identities = Identities::new();
        let text = std::fs::read_to_string(&self.key(name).path).expect("key file");
        identities
            .add_identity_file_text(&text, name)
            .expect("identity file");
        identities
    }
}

/// Decrypts `bytes` (named `name`, for the format) with `identities` through the library.
fn decrypt(name: &str, bytes: &[u8], identities: &Identities) -> Result<Vec<u8>, FileError> {
    let format = Format::from_path(Path::new(name));
    aesec::file::decrypt(
        bytes,
        &[&AgeDecryptor::new(identities)],
        &DecryptOptions::new(format, format),
    )
    .map(|plaintext| plaintext.to_vec())
}

/// The plaintexts of the five-store fleet.
const STORES: [(&str, &[u8]); 5] = [
    ("a.yaml", b"db:\n    user: app\n    password: hunter2\n"),
    (
        "b.json",
        b"{\n\t\"token\": \"abc\",\n\t\"nested\": {\n\t\t\"n\": 2\n\t}\n}\n",
    ),
    ("c.env", b"API_KEY=xyz\nMODE=prod\n"),
    ("d.ini", b"[db]\nuser     = app\npassword = hunter2\n"),
    ("e.bin", b"\x00raw\xffbytes\n"),
];

/// A fleet with admin, host1, host2, host3 and the five stores encrypted to admin, host1,
/// host2.
fn five_store_fleet() -> Fleet {
    let fleet = Fleet::new(3);
    fleet.configure(&["admin", "host1", "host2"]);
    for (name, plaintext) in STORES {
        fleet.encrypt(name, plaintext);
    }
    fleet
}

/// Every `ENC[...]` value of a text, in order.
fn ciphertexts(text: &str) -> Vec<String> {
    text.match_indices("ENC[AES256_GCM,")
        .map(|(start, _)| {
            let rest = &text[start..];
            rest[..=rest.find(']').expect("closed ENC[")].to_owned()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 1. updatekeys against the real sops

#[test]
fn updatekeys_adds_then_removes_and_sops_agrees() {
    let mut fleet = five_store_fleet();
    let original = fleet.snapshot();

    // Add host3: a re-wrap, values, MAC and lastmodified untouched.
    fleet.configure(&["admin", "host1", "host2", "host3"]);
    let dry = fleet.sandbox.run(&["updatekeys", "--dry-run"]).ok();
    assert!(
        dry.stdout
            .contains(&format!("+++ {}", fleet.key("host3").recipient)),
        "{dry}"
    );
    assert!(dry.stdout.contains("5 to re-wrap, 0 to rotate"), "{dry}");
    assert_eq!(fleet.snapshot(), original, "--dry-run wrote something");
    let dry_json = fleet
        .sandbox
        .run(&["updatekeys", "--dry-run", "--json"])
        .ok();
    let parsed: serde_json::Value = serde_json::from_str(&dry_json.stdout).expect("JSON plan");
    assert_eq!(parsed["plan"]["files"].as_array().map(Vec::len), Some(5));
    assert!(parsed["report"].is_null());

    // No -y and no terminal: sops' behaviour, an error and nothing written.
    fleet
        .sandbox
        .run(&["updatekeys"])
        .code(1)
        .stderr_has("Is this okay? (y/n):")
        .stderr_has("no confirmation");
    assert_eq!(
        fleet.snapshot(),
        original,
        "an unconfirmed run wrote something"
    );
    fleet
        .sandbox
        .run_stdin(&["updatekeys"], b"n\n")
        .ok()
        .stdout_has("nothing written");
    assert_eq!(fleet.snapshot(), original, "a declined run wrote something");

    let applied = fleet.sandbox.run(&["updatekeys", "-y"]).ok();
    assert!(
        applied.stdout.contains("5 file(s) written: 5 re-wrapped"),
        "{applied}"
    );
    let added = fleet.snapshot();
    for (name, bytes) in &added {
        let before = String::from_utf8_lossy(&original[name]).into_owned();
        let after = String::from_utf8_lossy(bytes).into_owned();
        assert_eq!(
            ciphertexts(&before),
            ciphertexts(&after),
            "{name}: values changed"
        );
        assert!(after.contains(&fleet.key("host3").recipient), "{name}");
        // The entries of recipients that stay are kept byte for byte.
        let entries = |text: &str| -> Vec<String> {
            text.split("-----BEGIN AGE ENCRYPTED FILE-----")
                .skip(1)
                .map(|rest| rest.split("-----END").next().unwrap_or_default().to_owned())
                .collect()
        };
        let (kept, now) = (entries(&before), entries(&after));
        if !kept.is_empty() {
            assert_eq!(now.len(), kept.len() + 1, "{name}");
            assert!(
                kept.iter().all(|entry| now.contains(entry)),
                "{name}: entries re-wrapped"
            );
        }
    }
    fleet.sandbox.run(&["check"]).ok();

    // Remove host2: every file gets a new data key.
    fleet.configure(&["admin", "host1", "host3"]);
    let run = fleet.sandbox.run(&["updatekeys", "-y", "--json"]).ok();
    let parsed: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON report");
    assert_eq!(parsed["report"]["rotated"], 5, "{run}");
    assert_eq!(parsed["plan"]["files"][0]["action"], "rotate", "{run}");
    let rotated = fleet.snapshot();
    let host2 = fleet.identities("host2");
    let host3 = fleet.identities("host3");
    for (name, plaintext) in STORES {
        let bytes = &rotated[name];
        assert_ne!(bytes, &added[name], "{name} unchanged");
        let admin = &fleet.key("admin").path;
        assert_ne!(
            aesec_tests::data_key(name, bytes, admin),
            aesec_tests::data_key(name, &added[name], admin),
            "{name}: same data key after removing host2"
        );
        let error = decrypt(name, bytes, &host2).expect_err("host2 still reads");
        assert!(
            matches!(error, FileError::Open(OpenError::DataKey(_))),
            "{name}: {error}"
        );
        assert_eq!(
            decrypt(name, bytes, &host3).expect("host3 reads"),
            plaintext,
            "{name}"
        );
        let path = format!("secrets/{name}");
        fleet
            .run_as("host2", &["decrypt", &path])
            .code(128)
            .hinted();
        if let Some(run) = fleet.sops_as("host2", &["decrypt", &path]) {
            run.code(128);
        }
        for member in ["admin", "host3"] {
            if let Some(run) = fleet.sops_as(member, &["decrypt", &path]) {
                let run = run.ok();
                assert_eq!(
                    run.stdout_bytes, plaintext,
                    "sops decrypt {name} as {member}"
                );
            }
        }
        // The real sops sees nothing to do: the file stays byte-identical.
        if let Some(run) = fleet.sandbox.sops(&["updatekeys", "-y", &path]) {
            run.ok();
            assert_eq!(
                &std::fs::read(fleet.sandbox.work.join(&path)).expect("read"),
                bytes,
                "sops updatekeys changed {name}"
            );
        }
    }
    fleet.sandbox.run(&["check"]).ok();
    // Nothing left to do: no prompt, no write.
    fleet
        .sandbox
        .run(&["updatekeys"])
        .ok()
        .stdout_has("0 to re-wrap, 0 to rotate, 5 up to date");
    assert_eq!(fleet.snapshot(), rotated);
}

#[test]
fn updatekeys_takes_files_and_directories() {
    let fleet = five_store_fleet();
    fleet.sandbox.write("other/x.yaml", "plain: text\n");
    fleet.configure(&["admin", "host1", "host2", "host3"]);
    let run = fleet
        .sandbox
        .run(&["updatekeys", "-y", "secrets/a.yaml", "secrets/b.json"])
        .ok();
    assert!(run.stdout.contains("2 file(s) written"), "{run}");
    let run = fleet.sandbox.run(&["updatekeys", "-y", "secrets"]).ok();
    assert!(run.stdout.contains("3 file(s) written"), "{run}");
    // A plaintext file named directly cannot be planned.
    fleet
        .sandbox
        .run(&["updatekeys", "-y", "other/x.yaml"])
        .code(1)
        .stderr_has("not sops-encrypted");
}

#[test]
fn no_rotate_warns_loudly_and_keeps_the_data_key() {
    let fleet = five_store_fleet();
    let before = fleet.snapshot();
    fleet.configure(&["admin", "host1"]);
    let run = fleet
        .sandbox
        .run(&["updatekeys", "-y", "--no-rotate"])
        .ok()
        .stderr_has("KEEP THEIR DATA KEY");
    assert!(run.stdout.contains("5 re-wrapped"), "{run}");
    let after = fleet.snapshot();
    let text = |bytes: &Vec<u8>| String::from_utf8_lossy(bytes).into_owned();
    let admin = &fleet.key("admin").path;
    for (name, _) in STORES {
        assert_eq!(
            aesec_tests::data_key(name, &after[name], admin),
            aesec_tests::data_key(name, &before[name], admin),
            "{name}: --no-rotate changed the data key"
        );
    }
    assert_eq!(
        ciphertexts(&text(&before["a.yaml"])),
        ciphertexts(&text(&after["a.yaml"]))
    );
}

#[test]
fn updatekeys_without_a_key_fails_with_128_and_writes_nothing() {
    let mut fleet = five_store_fleet();
    let before = fleet.snapshot();
    fleet.configure(&["admin", "host1"]);
    fleet
        .run_as("host3", &["updatekeys", "-y"])
        .code(128)
        .stderr_has("nothing written")
        .stderr_has("aesec looked for identities in:");
    assert_eq!(fleet.snapshot(), before);
}

#[test]
fn fleet_commands_need_a_sops_yaml() {
    let sandbox = Sandbox::new();
    for command in ["updatekeys", "check", "status"] {
        sandbox
            .run(&[command])
            .code(61)
            .stderr_has("no .sops.yaml found")
            .hinted();
    }
}

// ---------------------------------------------------------------------------------------------
// 2. check and status

#[test]
fn check_catches_a_hand_added_recipient_and_plaintext_under_a_rule() {
    let fleet = five_store_fleet();
    let clean = fleet.sandbox.run(&["check"]).ok();
    assert!(
        clean.stdout.contains("5 sops file(s) checked: all in line"),
        "{clean}"
    );

    // Someone grants themselves access by copying an entry under their own recipient: the
    // MAC does not cover recipients, so only check can see it.
    let intruder = Fleet::new(1);
    let intruder_recipient = intruder.key("host1").recipient.clone();
    let text = fleet.sandbox.read_text("secrets/a.yaml");
    let admin = &fleet.key("admin").recipient;
    let start = text
        .find(&format!("        - recipient: {admin}"))
        .expect("admin entry");
    let end = start
        + text[start..]
            .find("-----END AGE ENCRYPTED FILE-----\n")
            .expect("entry end")
        + "-----END AGE ENCRYPTED FILE-----\n".len();
    let entry = text[start..end].replace(admin.as_str(), &intruder_recipient);
    let tampered = format!("{}{entry}{}", &text[..end], &text[end..]);
    fleet.sandbox.write("secrets/a.yaml", &tampered);
    fleet.sandbox.run(&["decrypt", "secrets/a.yaml"]).ok();

    let run = fleet.sandbox.run(&["check"]).code(10);
    assert!(
        run.stdout.contains(&format!(
            "secrets/a.yaml: extra recipient {intruder_recipient}"
        )),
        "{run}"
    );
    let json = fleet.sandbox.run(&["check", "--json"]).code(10);
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON report");
    assert_eq!(parsed["findings"][0]["kind"], "extra_recipient", "{json}");
    assert_eq!(parsed["findings"][0]["path"], "secrets/a.yaml", "{json}");

    // status marks the same drift.
    let status = fleet.sandbox.run(&["status"]).ok();
    let row = status
        .stdout
        .lines()
        .find(|line| line.starts_with("secrets/a.yaml"))
        .expect("a row for a.yaml");
    assert!(row.ends_with("drift") && row.contains('+'), "{status}");

    // A plaintext file where the rule expects an encrypted one.
    fleet.sandbox.write("secrets/a.yaml", &text);
    fleet.sandbox.write("secrets/new.yaml", "password: oops\n");
    fleet
        .sandbox
        .run(&["check"])
        .code(10)
        .stdout_has("secrets/new.yaml: not encrypted");
    // Files outside every rule are not the gate's business.
    std::fs::remove_file(fleet.sandbox.work.join("secrets/new.yaml")).expect("remove");
    fleet.sandbox.write("README.md", "# fleet\n");
    fleet.sandbox.run(&["check"]).ok();
}

/// Issue 6, item 5: a YAML file the parser refuses (nested past `store::MAX_DEPTH`) under a
/// rule is reported as unreadable with the parse error, not as plaintext the rule governs;
/// check still exits 10 and status still draws its row.
#[test]
fn check_reports_a_file_the_parser_refuses_as_unreadable() {
    let fleet = five_store_fleet();
    fleet
        .sandbox
        .write("secrets/deep.yaml", "- ".repeat(100_000));
    let run = fleet.sandbox.run(&["check"]).code(10);
    assert!(
        run.stdout.contains(
            "secrets/deep.yaml: cannot check: invalid yaml: exceeded max depth of 500 at line 1"
        ),
        "{run}"
    );
    assert!(!run.stdout.contains("not encrypted"), "{run}");
    let json = fleet.sandbox.run(&["check", "--json"]).code(10);
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON report");
    assert_eq!(parsed["findings"][0]["kind"], "unreadable", "{json}");
    assert_eq!(parsed["findings"][0]["path"], "secrets/deep.yaml", "{json}");

    let status = fleet.sandbox.run(&["status", "secrets/deep.yaml"]);
    assert!(
        status.stdout.contains("exceeded max depth of 500")
            || status.stderr.contains("exceeded max depth of 500"),
        "{status}"
    );
}

#[test]
fn status_names_members_by_anchor_and_marks_missing_entries() {
    let fleet = five_store_fleet();
    fleet.configure(&["admin", "host1", "host3"]);
    let run = fleet.sandbox.run(&["status"]).ok();
    let header = run.stdout.lines().next().expect("header");
    for name in ["admin", "host1", "host2", "host3"] {
        assert!(header.contains(name), "{run}");
    }
    assert!(run.stdout.contains("5 with drift"), "{run}");
    let json = fleet.sandbox.run(&["status", "--json"]).ok();
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON matrix");
    let members = parsed["members"].as_array().expect("members");
    let host3 = members
        .iter()
        .position(|m| m["name"] == "host3")
        .expect("host3 column");
    assert_eq!(parsed["rows"][0]["cells"][host3], "missing", "{json}");
    fleet.sandbox.run(&["updatekeys", "-y"]).ok();
    let run = fleet.sandbox.run(&["status"]).ok();
    assert!(run.stdout.contains("0 with drift"), "{run}");
}

// ---------------------------------------------------------------------------------------------
// 3. rotate --older-than

#[test]
fn rotate_older_than_rotates_due_files_only() {
    let mut fleet = five_store_fleet();
    let before = fleet.snapshot();
    let run = fleet
        .sandbox
        .run(&["rotate", "--older-than", "3650d", "--json"])
        .ok();
    let parsed: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON report");
    assert_eq!(parsed["rotated"], 0, "{run}");
    assert_eq!(parsed["files"].as_array().map(Vec::len), Some(5));
    assert_eq!(fleet.snapshot(), before);

    // Without a key, nothing is written and the exit code is sops' 128.
    fleet
        .run_as("host3", &["rotate", "--older-than", "0s"])
        .code(128);
    assert_eq!(fleet.snapshot(), before);

    std::thread::sleep(Duration::from_millis(1_100));
    let run = fleet
        .sandbox
        .run(&["rotate", "--older-than", "0s", "--json"])
        .ok();
    let parsed: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON report");
    assert_eq!(parsed["rotated"], 5, "{run}");
    assert!(parsed["files"][0]["last_modified"].is_string(), "{run}");
    let after = fleet.snapshot();
    for (name, plaintext) in STORES {
        let old = String::from_utf8_lossy(&before[name]).into_owned();
        let new = String::from_utf8_lossy(&after[name]).into_owned();
        assert_ne!(ciphertexts(&old), ciphertexts(&new), "{name}: values kept");
        // Age wrapping is randomized: only the unwrapped keys tell a new data key.
        let admin = &fleet.key("admin").path;
        assert_ne!(
            aesec_tests::data_key(name, &after[name], admin),
            aesec_tests::data_key(name, &before[name], admin),
            "{name}: same data key"
        );
        let path = format!("secrets/{name}");
        if let Some(run) = fleet.sops_as("host2", &["decrypt", &path]) {
            assert_eq!(run.ok().stdout_bytes, plaintext, "sops decrypt {name}");
        }
    }
    fleet.sandbox.run(&["check"]).ok();
    // The single-file, sops-style rotate still works.
    fleet
        .sandbox
        .run(&["rotate", "secrets/a.yaml"])
        .ok()
        .stdout_has("ENC[AES256_GCM,");
    fleet
        .sandbox
        .run(&["rotate", "--older-than", "5y"])
        .code(2)
        .stderr_has("the unit must be");
}

// ---------------------------------------------------------------------------------------------
// 5. the progress bar

#[test]
fn no_progress_bar_or_escape_codes_without_a_terminal() {
    let fleet = five_store_fleet();
    fleet.configure(&["admin", "host1"]);
    let run = fleet.sandbox.run(&["updatekeys", "-y"]).ok();
    assert!(
        !run.stderr.contains('\x1b'),
        "escape codes on stderr\n{run}"
    );
    assert!(
        !run.stdout.contains('\x1b'),
        "escape codes on stdout\n{run}"
    );
    if let Some(run) = fleet
        .sandbox
        .run_in_terminal(&["rotate", "--older-than", "0s"], b"")
    {
        run.ok().stdout_has("5 rotated");
    }
}

// ---------------------------------------------------------------------------------------------
// 4. crash consistency

/// Files of the crash test.
const CRASH_FILES: usize = 30;
/// Recipients of the crash test (admin and nine hosts).
const CRASH_HOSTS: usize = 9;
/// Kill points spread over an un-killed run.
const KILL_POINTS: usize = 40;
/// Extra kill points around the writes (where kills left new files next to old ones).
const REFINE_POINTS: usize = 20;

/// The `aesec updatekeys -y` child of the crash test, with the sandbox environment.
fn updatekeys_child(fleet: &Fleet) -> std::process::Command {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("aesec"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &fleet.sandbox.home)
        .env("XDG_RUNTIME_DIR", &fleet.sandbox.runtime)
        .env("SOPS_AGE_KEY_FILE", &fleet.key("admin").path)
        .current_dir(&fleet.sandbox.work)
        .args(["updatekeys", "-y"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// What one kill left behind.
#[derive(Default)]
struct KillOutcome {
    old: usize,
    new: usize,
    temps: usize,
}

/// Checks every file after a kill: byte-identical to `before`, or fully updated (in line with
/// `.sops.yaml`, the removed host locked out); both decrypt to the original plaintext. Real
/// sops decrypts the file `sample`.
fn inspect(
    fleet: &Fleet,
    before: &BTreeMap<String, Vec<u8>>,
    plaintexts: &BTreeMap<String, Vec<u8>>,
    sample: usize,
    removed: &str,
) -> KillOutcome {
    let admin = fleet.identities("admin");
    let locked_out = fleet.identities(removed);
    let config =
        aesec::config::Config::load(fleet.sandbox.work.join(".sops.yaml")).expect("config");
    let mut outcome = KillOutcome::default();
    for (name, bytes) in fleet.snapshot() {
        let Some(old) = before.get(&name) else {
            assert!(
                name.starts_with('.') && name.ends_with(".tmp"),
                "unexpected file {name} after a kill"
            );
            outcome.temps += 1;
            continue;
        };
        let plaintext = decrypt(&name, &bytes, &admin)
            .unwrap_or_else(|error| panic!("{name} does not decrypt after a kill: {error}"));
        assert_eq!(&plaintext, &plaintexts[&name], "{name}: plaintext changed");
        if &bytes == old {
            outcome.old += 1;
            continue;
        }
        let path = fleet.sandbox.work.join("secrets").join(&name);
        let report = aesec::fleet::check(&config, &[path], &fleet.sandbox.work).expect("check");
        assert!(
            report.is_clean(),
            "{name} is neither old nor new: {:?}",
            report.findings
        );
        assert!(
            decrypt(&name, &bytes, &locked_out).is_err(),
            "{name}: the removed host still reads the new file"
        );
        outcome.new += 1;
    }
    assert_eq!(
        outcome.old + outcome.new,
        before.len(),
        "a file went missing"
    );
    let name = before
        .keys()
        .nth(sample % before.len())
        .expect("a sample file");
    let path = format!("secrets/{name}");
    if let Some(run) = fleet.sandbox.sops(&["decrypt", &path]) {
        assert_eq!(
            run.ok().stdout_bytes,
            plaintexts[name],
            "sops decrypt {name}"
        );
    }
    outcome
}

/// Writes the crash test lets finish before it kills a run mid-write.
const PAUSED_AFTER: usize = 7;

/// Restores the files, runs `aesec updatekeys -y` with the debug-build test hook holding every
/// write after the first [`PAUSED_AFTER`] before its rename, waits until the directory shows
/// exactly that (the finished writes renamed, a temporary file for each held one) and kills
/// the run with SIGKILL. Returns the temporary files seen, as `secrets/NAME`, sorted.
fn kill_mid_write(fleet: &Fleet, before: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    fleet.restore(before);
    let mut child = updatekeys_child(fleet)
        .env("AESEC_TEST_PAUSE_AFTER_WRITES", PAUSED_AFTER.to_string())
        .stderr(Stdio::piped())
        .spawn()
        .expect("aesec starts");
    let deadline = Instant::now() + Duration::from_secs(120);
    let temps = loop {
        let now = fleet.snapshot();
        let temps: Vec<String> = now
            .keys()
            .filter(|name| !before.contains_key(*name))
            .map(|name| format!("secrets/{name}"))
            .collect();
        let new = before
            .iter()
            .filter(|(name, bytes)| now.get(*name).is_some_and(|now| now != *bytes))
            .count();
        if new == PAUSED_AFTER && temps.len() == CRASH_FILES - PAUSED_AFTER {
            break temps;
        }
        if let Some(status) = child.try_wait().expect("poll the child") {
            let mut stderr = String::new();
            std::io::Read::read_to_string(
                &mut child.stderr.take().expect("piped stderr"),
                &mut stderr,
            )
            .expect("read stderr");
            panic!(
                "aesec exited ({status}) instead of holding its writes (is it a debug build?): \
                 {new} new file(s), {} temporary file(s)\n{stderr}",
                temps.len()
            );
        }
        assert!(
            Instant::now() < deadline,
            "no hold after 120 s: {new} new file(s), temporary files {temps:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().expect("SIGKILL the held run");
    child.wait().expect("wait for the child");
    temps
}

/// Kills `aesec updatekeys -y` after `delay`, restoring the files first.
fn kill_after(fleet: &Fleet, before: &BTreeMap<String, Vec<u8>>, delay: Duration) {
    fleet.restore(before);
    let mut child = updatekeys_child(fleet).spawn().expect("aesec starts");
    std::thread::sleep(delay);
    // The child may already have exited; SIGKILL then fails harmlessly.
    let _ = child.kill();
    child.wait().expect("wait for the child");
}

#[test]
fn updatekeys_killed_at_any_point_leaves_each_file_old_or_new() {
    let fleet = Fleet::new(CRASH_HOSTS);
    let everyone: Vec<String> = fleet.keys.iter().map(|key| key.name.clone()).collect();
    let members: Vec<&str> = everyone.iter().map(String::as_str).collect();
    fleet.configure(&members);
    let admin = fleet.identities("admin");
    for index in 0..CRASH_FILES {
        let values: String = (0..20)
            .map(|v| format!("key{v}: value-{index}-{v}-{}\n", "x".repeat(40)))
            .collect();
        match index % 3 {
            0 => fleet.encrypt(&format!("f{index:02}.yaml"), values.as_bytes()),
            1 => fleet.encrypt(
                &format!("f{index:02}.env"),
                values.replace(": ", "=").as_bytes(),
            ),
            _ => fleet.encrypt(
                &format!("f{index:02}.json"),
                format!("{{\"index\": {index}, \"token\": \"t-{index}\"}}").as_bytes(),
            ),
        }
    }
    let before = fleet.snapshot();
    let plaintexts: BTreeMap<String, Vec<u8>> = before
        .iter()
        .map(|(name, bytes)| {
            (
                name.clone(),
                decrypt(name, bytes, &admin).expect("decrypts"),
            )
        })
        .collect();
    // Remove the last host: every file gets a new data key.
    let removed = everyone.last().expect("a host").clone();
    fleet.configure(&members[..members.len() - 1]);

    // The duration of an un-killed run sets the kill points.
    fleet.restore(&before);
    let started = Instant::now();
    let status = updatekeys_child(&fleet).status().expect("aesec runs");
    let full = started.elapsed();
    assert!(status.success(), "the un-killed run failed: {status}");
    let done = inspect(&fleet, &before, &plaintexts, 0, &removed);
    assert_eq!(done.new, CRASH_FILES, "the un-killed run left old files");

    let mut delays: Vec<Duration> = (0..KILL_POINTS)
        .map(|i| full.mul_f64(i as f64 / (KILL_POINTS - 1) as f64))
        .collect();
    let mut outcomes = Vec::new();
    let mut temps_seen = 0;
    for (index, delay) in delays.iter().enumerate() {
        kill_after(&fleet, &before, *delay);
        let outcome = inspect(&fleet, &before, &plaintexts, index, &removed);
        temps_seen += outcome.temps;
        outcomes.push(outcome);
    }
    // More kill points where the writes happen: from the kill point before the first that
    // left a new file to the one after the last that left an old file.
    let first_new = outcomes.iter().position(|o| o.new > 0);
    let last_old = outcomes.iter().rposition(|o| o.old > 0);
    let window_start = first_new.map_or(Duration::ZERO, |i| delays[i.saturating_sub(1)]);
    let window_end = last_old.map_or(full, |i| delays[(i + 1).min(KILL_POINTS - 1)]);
    if window_end > window_start {
        for i in 1..=REFINE_POINTS {
            let delay = window_start
                + (window_end - window_start).mul_f64(i as f64 / (REFINE_POINTS + 1) as f64);
            kill_after(&fleet, &before, delay);
            let outcome = inspect(&fleet, &before, &plaintexts, delays.len(), &removed);
            temps_seen += outcome.temps;
            delays.push(delay);
            outcomes.push(outcome);
        }
    }
    let mixed = outcomes.iter().filter(|o| o.old > 0 && o.new > 0).count();
    println!(
        "crash test: {} kill points over an un-killed run of {full:?} ({} refined), {mixed} left a mix of old and new files, {temps_seen} temporary file(s) left in all",
        outcomes.len(),
        outcomes.len() - KILL_POINTS
    );
    for (delay, outcome) in delays.iter().zip(&outcomes) {
        println!(
            "  kill after {delay:>12.3?}: {:2} old, {:2} new, {} temp",
            outcome.old, outcome.new, outcome.temps
        );
    }

    // A kill that lands mid-write by construction: the test hook (debug builds only) lets
    // PAUSED_AFTER writes finish and holds every other one between its temporary file and the
    // rename; once the directory shows exactly that, SIGKILL.
    let held = kill_mid_write(&fleet, &before);
    let outcome = inspect(&fleet, &before, &plaintexts, 1, &removed);
    assert_eq!(
        (outcome.old, outcome.new, outcome.temps),
        (
            CRASH_FILES - PAUSED_AFTER,
            PAUSED_AFTER,
            CRASH_FILES - PAUSED_AFTER
        ),
        "the kill did not leave a mix of old and new files with the held temporary files"
    );
    // Old files differ from .sops.yaml now, but no temporary file is taken for a sops file.
    let check = fleet.sandbox.run(&["check", "--json"]);
    assert!(!check.stdout.contains(".tmp"), "{check}");
    // A run to completion makes everything consistent and removes exactly the temporary files
    // the killed run left.
    let run = fleet.sandbox.run(&["updatekeys", "-y", "--json"]).ok();
    let parsed: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON report");
    let mut removed_temps: Vec<String> = parsed["report"]["stale_temps_removed"]
        .as_array()
        .unwrap_or_else(|| panic!("no stale_temps_removed in the report\n{run}"))
        .iter()
        .map(|path| path.as_str().expect("a path").to_owned())
        .collect();
    removed_temps.sort();
    assert_eq!(removed_temps, held, "{run}");
    for temp in &held {
        assert!(
            !fleet.sandbox.work.join(temp).exists(),
            "{temp} was not removed\n{run}"
        );
    }
    let done = inspect(&fleet, &before, &plaintexts, 1, &removed);
    assert_eq!((done.new, done.temps), (CRASH_FILES, 0));
    fleet.sandbox.run(&["check"]).ok();
    for name in before.keys() {
        if let Some(run) = fleet.sandbox.sops(&["decrypt", &format!("secrets/{name}")]) {
            assert_eq!(
                run.ok().stdout_bytes,
                plaintexts[name],
                "sops decrypt {name}"
            );
        }
    }
}

/// One traced call of the write order: an `fsync` of a file or directory (absolute path, as
/// `strace -y` names the descriptor) or a rename (the two paths as passed).
#[derive(Debug)]
enum Traced {
    Fsync(PathBuf),
    Rename(PathBuf, PathBuf),
}

/// The `fsync` and rename calls of `strace -f -y` output, in the order they completed (a call
/// split by another thread's line, `<unfinished ...>` then `<... resumed>`, counts where it
/// resumed).
fn traced_writes(trace: &str) -> Vec<Traced> {
    let quoted = |text: &str| -> Vec<String> {
        text.split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    };
    let mut pending: BTreeMap<String, String> = BTreeMap::new();
    let mut calls = Vec::new();
    for line in trace.lines() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let rest = rest.trim_start();
        let call = if let Some(start) = rest.strip_suffix(" <unfinished ...>") {
            pending.insert(pid.to_owned(), start.to_owned());
            continue;
        } else if rest.starts_with("<... ") {
            let start = pending.remove(pid).expect("a resumed call was started");
            let end = rest.split_once("resumed>").expect("resumed call").1;
            format!("{start}{end}")
        } else {
            rest.to_owned()
        };
        // Other lines strace may write: a thread detached in the middle of a call it was not
        // asked to trace (`???( <detached ...>`), a signal (`--- SIGCHLD ... ---`).
        if !(call.starts_with("fsync(") || call.starts_with("rename")) {
            continue;
        }
        assert!(call.ends_with("= 0"), "a traced call failed: {call}");
        if let Some(fd) = call.strip_prefix("fsync(") {
            let path = fd
                .split_once('<')
                .and_then(|(_, path)| path.split_once('>'))
                .expect("strace -y names the descriptor")
                .0;
            calls.push(Traced::Fsync(PathBuf::from(path)));
        } else if call.starts_with("rename") {
            let paths = quoted(&call);
            assert_eq!(paths.len(), 2, "two paths in {call}");
            calls.push(Traced::Rename(
                PathBuf::from(&paths[0]),
                PathBuf::from(&paths[1]),
            ));
        }
    }
    calls
}

/// The trace reader keeps exactly the write calls, wherever strace splits or interleaves them
/// (a CI run once saw a thread detached mid-call, `???( <detached ...>`, between them).
#[test]
fn traced_writes_keeps_the_write_calls_and_nothing_else() {
    let trace = "10 fsync(3</w/s/.a.tmp>) = 0\n\
                 11 ???( <detached ...>\n\
                 10 --- SIGCHLD {si_signo=SIGCHLD} ---\n\
                 12 fsync(4</w/s/.b.tmp> <unfinished ...>\n\
                 10 rename(\"/w/s/.a.tmp\", \"/w/s/a\") = 0\n\
                 12 <... fsync resumed>) = 0\n";
    let calls = traced_writes(trace);
    assert!(
        matches!(
            calls.as_slice(),
            [
                Traced::Fsync(a),
                Traced::Rename(from, to),
                Traced::Fsync(b),
            ] if a.ends_with(".a.tmp") && from.ends_with(".a.tmp") && to.ends_with("a")
                && b.ends_with(".b.tmp")
        ),
        "{calls:?}"
    );
}

/// Issue 10: the batch writes of `updatekeys` flush every temporary file before the first
/// rename, and then each directory once, after its last rename, seen in a syscall trace of
/// the real binary (the order `aesec::fs` documents). The old code flushed the directory
/// once per file, between the renames.
#[test]
fn updatekeys_fsyncs_files_before_renames_and_each_directory_once() {
    let Some(strace) = harness::peer("strace") else {
        return;
    };
    let fleet = Fleet::new(1);
    fleet.configure(&["admin"]);
    std::fs::create_dir_all(fleet.sandbox.work.join("secrets/sub")).expect("sub dir");
    let names = ["a.yaml", "b.env", "c.json", "sub/d.yaml", "sub/e.yaml"];
    for name in names {
        let plain: &[u8] = match name.rsplit('.').next() {
            Some("env") => b"token=t\n",
            Some("json") => b"{\"token\": \"t\"}",
            _ => b"token: t\n",
        };
        fleet.encrypt(name, plain);
    }
    fleet.configure(&["admin", "host1"]);
    let trace_path = fleet.sandbox.home.join("trace.txt");
    let command = updatekeys_child(&fleet);
    let program = command.get_program().to_owned();
    let mut traced = std::process::Command::new(strace);
    traced
        .args([
            "-f",
            "-y",
            "-qq",
            "-e",
            "trace=fsync,rename,renameat,renameat2",
            "-o",
        ])
        .arg(&trace_path)
        .arg(program)
        .args(command.get_args())
        .env_clear();
    for (name, value) in command.get_envs() {
        if let Some(value) = value {
            traced.env(name, value);
        }
    }
    traced.current_dir(&fleet.sandbox.work);
    let output = traced.output().expect("strace runs");
    assert!(
        output.status.success(),
        "traced updatekeys failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let trace = std::fs::read_to_string(&trace_path).expect("trace");
    let calls = traced_writes(&trace);

    let work = fleet.sandbox.work.canonicalize().expect("work dir");
    let directories = [work.join("secrets"), work.join("secrets/sub")];
    let first_rename = calls
        .iter()
        .position(|call| matches!(call, Traced::Rename(..)))
        .unwrap_or_else(|| panic!("no rename in the trace:\n{trace}"));
    let mut renamed = Vec::new();
    for (index, call) in calls.iter().enumerate() {
        match call {
            Traced::Rename(temp, target) => {
                let temp_name = temp.file_name().expect("temporary file name");
                assert!(
                    calls[..first_rename].iter().any(|earlier| matches!(
                        earlier,
                        Traced::Fsync(path) if path.file_name() == Some(temp_name)
                    )),
                    "{temp:?} renamed before it was flushed, or flushed after the first rename:\n{trace}"
                );
                renamed.push((index, work.join(target)));
            }
            Traced::Fsync(path) if directories.contains(path) => {
                let last_rename_into = renamed
                    .iter()
                    .filter(|(_, target)| target.parent() == Some(path.as_path()))
                    .map(|(at, _)| *at)
                    .max();
                assert!(
                    last_rename_into.is_some_and(|at| at < index)
                        && !calls[index..].iter().any(|later| matches!(
                            later,
                            Traced::Rename(_, target) if work.join(target).parent() == Some(path.as_path())
                        )),
                    "directory {path:?} flushed before its last rename:\n{trace}"
                );
            }
            Traced::Fsync(_) => {}
        }
    }
    let mut targets: Vec<PathBuf> = renamed.into_iter().map(|(_, target)| target).collect();
    targets.sort();
    let mut expected: Vec<PathBuf> = names
        .iter()
        .map(|name| work.join("secrets").join(name))
        .collect();
    expected.sort();
    assert_eq!(targets, expected, "every file renamed once:\n{trace}");
    for dir in &directories {
        let flushes = calls
            .iter()
            .filter(|call| matches!(call, Traced::Fsync(path) if path == dir))
            .count();
        assert_eq!(flushes, 1, "{dir:?} flushed {flushes} times:\n{trace}");
    }
}
