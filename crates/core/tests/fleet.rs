//! The fleet engine on generated repositories: plan, updatekeys with real revocation, the
//! agreement with real `sops updatekeys`, verify-before-write, check, and rotation by age.
//!
//! Real sops 3.11.0 is found by the peer harness (`aesec_tests::sops`: `$SOPS` when set, else
//! the project's `.peers` venv or `PATH`, version-checked); when it is missing
//! the agreement checks fail under `AESEC_REQUIRE_PEERS=1` and are skipped otherwise (the
//! aesec-only assertions still run).

#![expect(
    clippy::unwrap_used,
    reason = "setup helpers outside #[test] functions panic on failure like the tests do"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use aesec::config::Config;
use aesec::file::{
    DecryptOptions, EncryptOptions, FileError, RuleOverrides, creation_recipients, decrypt,
};
use aesec::fleet::{self, Action, ApplyOptions, Finding, FleetError, FleetFileError, PlanOptions};
use aesec::keys::age::{GeneratedIdentity, Identities};
use aesec::progress::NoProgress;
use aesec::secrecy::ExposeSecret;
use aesec::sops::{
    AgeDecryptor, Document, KeyDecryptor, KeyEntry, OpenError, OpenOptions, decrypt_data_key,
};
use aesec::store::Format;

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let mut suffix = [0u8; 8];
        getrandom::getrandom(&mut suffix).unwrap();
        let name = format!(
            "aesec-fleet-{tag}-{}-{}",
            std::process::id(),
            suffix
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).unwrap();
        Self(std::fs::canonicalize(&path).unwrap())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A member: an age identity and its recipient text.
struct Member {
    identity: GeneratedIdentity,
    recipient: String,
}

impl Member {
    fn new() -> Self {
        let identity = GeneratedIdentity::generate();
        let recipient = identity.recipient().to_string();
        Self {
            identity,
            recipient,
        }
    }

    fn file_text(&self) -> String {
        self.identity
            .to_identity_file("2026-11-22T00:00:00Z")
            .expose_secret()
            .to_owned()
    }
}

fn identities(members: &[&Member]) -> Identities {
    let mut out = Identities::new();
    for member in members {
        out.add_identity_file_text(&member.file_text(), "test")
            .unwrap();
    }
    out
}

/// A sample plaintext for each store, keyed by extension.
const SAMPLES: [(&str, &str); 5] = [
    (
        "yaml",
        "db:\n    password: hunter2\n    user: admin\n    reference: doc-42\nlist:\n    - a\n    - b\n",
    ),
    ("json", "{\n\t\"token\": \"abc\",\n\t\"n\": 5\n}\n"),
    ("env", "KEY=value\nOTHER=second value\n"),
    ("ini", "[section]\nkey = value\nother = 2\n"),
    ("bin", "raw bytes \u{1} here\n"),
];

/// Writes `relative` encrypted by aesec for the rule `config` gives it.
fn encrypt_file(dir: &Path, config: &Config, relative: &str, plaintext: &str) -> PathBuf {
    let path = dir.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let format = Format::from_path(&path);
    let (recipients, rules) =
        creation_recipients(Some(config), &path, dir, &RuleOverrides::default(), &[]).unwrap();
    let mut options = EncryptOptions::new(format, format);
    options.rules = rules;
    let bytes = aesec::file::encrypt(plaintext.as_bytes(), &recipients, &options)
        .unwrap_or_else(|e| panic!("encrypt {relative}: {e}"));
    std::fs::write(&path, bytes).unwrap();
    path
}

fn write_config(dir: &Path, text: &str) -> Config {
    let path = dir.join(".sops.yaml");
    std::fs::write(&path, text).unwrap();
    Config::load(&path).unwrap()
}

/// The `ENC[…]` lines and the `lastmodified` line: what must stay byte-identical on a re-wrap.
fn value_lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter(|l| l.contains("ENC[AES256_GCM") || l.contains("lastmodified"))
        .map(str::to_owned)
        .collect()
}

fn data_key(path: &Path, decryptors: &[&dyn KeyDecryptor]) -> [u8; 32] {
    let bytes = std::fs::read(path).unwrap();
    let doc = Document::open(
        &bytes,
        Format::from_path(path),
        decryptors,
        &OpenOptions::default(),
    )
    .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    *decrypt_data_key(doc.metadata(), decryptors)
        .unwrap()
        .expose_secret()
}

/// The lines of a file with each armored age payload (random per wrap) replaced by
/// `<age armor>`: everything else, the `enc` keys and their layout included, stays to compare.
fn without_armor(bytes: &[u8]) -> Vec<String> {
    const BEGIN: &str = "-----BEGIN AGE ENCRYPTED FILE-----";
    const END: &str = "-----END AGE ENCRYPTED FILE-----";
    let text = String::from_utf8_lossy(bytes);
    let mut kept = String::new();
    let mut rest = &*text;
    while let Some(start) = rest.find(BEGIN) {
        let length = rest[start..].find(END).expect("an armored payload ends") + END.len();
        kept.push_str(&rest[..start]);
        kept.push_str("<age armor>");
        rest = &rest[start + length..];
    }
    kept.push_str(rest);
    kept.lines().map(str::to_owned).collect()
}

/// The real sops 3.11.0 from the peer harness' one version-checked lookup, or `None` (skip)
/// unless peers are required.
fn sops() -> Option<PathBuf> {
    aesec_tests::sops()
}

/// Runs sops in `dir` with `keys` as its only identities; panics with full context on failure.
/// Returns stdout and stderr.
fn run_sops(sops: &Path, dir: &Path, keys: &str, args: &[&str]) -> (Vec<u8>, String) {
    let home = dir.join(".home");
    std::fs::create_dir_all(&home).unwrap();
    let key_file = home.join("keys.txt");
    std::fs::write(&key_file, keys).unwrap();
    let output = Command::new(sops)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("SOPS_AGE_KEY_FILE", &key_file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "sops {args:?} in {}: {}\nstdout: {}\nstderr: {}",
        dir.display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (
        output.stdout,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

const RULES_BEFORE: &str = "creation_rules:
  - path_regex: ^hosts/a/
    encrypted_regex: ^(password|token|KEY|key|data)$
    mac_only_encrypted: true
    age: [A, B]
  - path_regex: ^hosts/b/
    age: [A, B, C]
  - path_regex: ^shared/
    shamir_threshold: 2
    key_groups:
      - age: [A]
      - age: [B]
      - age: [C]
  - path_regex: ^other/
    age: [A]
";

const RULES_AFTER: &str = "creation_rules:
  - path_regex: ^hosts/a/
    encrypted_regex: ^(password|token|KEY|key|data)$
    mac_only_encrypted: true
    age: [A, B, D]
  - path_regex: ^hosts/b/
    age: [A, B]
  - path_regex: ^shared/
    shamir_threshold: 3
    key_groups:
      - age: [A]
      - age: [B]
      - age: [C]
  - path_regex: ^other/
    age: [A]
";

fn rules(template: &str, members: &[(&str, &Member)]) -> String {
    let mut text = template.to_owned();
    for (name, member) in members {
        text = text.replace(&format!("{name},"), &format!("{},", member.recipient));
        text = text.replace(&format!("{name}]"), &format!("{}]", member.recipient));
    }
    text
}

/// A repository of 20 files (five stores under each of four rules) encrypted by aesec.
struct Repo {
    dir: TempDir,
    files: Vec<PathBuf>,
    a: Member,
    b: Member,
    c: Member,
    d: Member,
}

impl Repo {
    fn new(tag: &str) -> Self {
        let dir = TempDir::new(tag);
        let (a, b, c, d) = (Member::new(), Member::new(), Member::new(), Member::new());
        let repo = Self {
            dir,
            files: Vec::new(),
            a,
            b,
            c,
            d,
        };
        repo.with_files()
    }

    fn with_files(mut self) -> Self {
        let config = self.config(RULES_BEFORE);
        for prefix in ["hosts/a", "hosts/b", "shared", "other"] {
            for (ext, text) in SAMPLES {
                let relative = format!("{prefix}/secret.{ext}");
                self.files
                    .push(encrypt_file(&self.dir.0, &config, &relative, text));
            }
        }
        self.files.sort();
        self
    }

    fn config(&self, template: &str) -> Config {
        let names = [
            ("A", &self.a),
            ("B", &self.b),
            ("C", &self.c),
            ("D", &self.d),
        ];
        write_config(&self.dir.0, &rules(template, &names))
    }

    fn all_keys(&self) -> Identities {
        identities(&[&self.a, &self.b, &self.c, &self.d])
    }

    fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        self.files
            .iter()
            .map(|p| (p.clone(), std::fs::read(p).unwrap()))
            .collect()
    }
}

fn under(path: &Path, prefix: &str) -> bool {
    path.to_string_lossy().contains(&format!("/{prefix}/"))
}

#[test]
fn discover_finds_every_sops_file_and_nothing_else() {
    let repo = Repo::new("discover");
    std::fs::write(repo.dir.0.join("README.md"), "hello\n").unwrap();
    std::fs::create_dir_all(repo.dir.0.join(".git")).unwrap();
    std::fs::copy(&repo.files[0], repo.dir.0.join(".git/copy.yaml")).unwrap();
    let config = repo.config(RULES_BEFORE);
    let found = fleet::discover(&config, &[], &repo.dir.0).unwrap();
    assert_eq!(found, repo.files);
    let found = fleet::discover(&config, &[PathBuf::from("shared")], &repo.dir.0).unwrap();
    assert_eq!(found.len(), 5);
    assert!(found.iter().all(|p| under(p, "shared")));
}

#[test]
fn updatekeys_plans_applies_revokes_and_agrees_with_sops() {
    let repo = Repo::new("update");
    let keys = repo.all_keys();
    let decryptor = AgeDecryptor::new(&keys);
    let decryptors: [&dyn KeyDecryptor; 1] = [&decryptor];
    let before = repo.snapshot();
    let keys_before: BTreeMap<PathBuf, [u8; 32]> = repo
        .files
        .iter()
        .map(|p| (p.clone(), data_key(p, &decryptors)))
        .collect();

    // Nothing to do while the config is unchanged.
    let config = repo.config(RULES_BEFORE);
    let files = fleet::discover(&config, &[], &repo.dir.0).unwrap();
    let plan = fleet::plan(&config, &files, &repo.dir.0, &PlanOptions::default()).unwrap();
    assert!(plan.is_empty(), "{plan}");

    let config = repo.config(RULES_AFTER);
    let plan = fleet::plan(&config, &files, &repo.dir.0, &PlanOptions::default()).unwrap();
    assert_eq!(plan.files.len(), 20);
    for file in &plan.files {
        let changed: Vec<_> = file.changes.iter().filter(|c| c.is_changed()).collect();
        if under(&file.path, "hosts/a") {
            assert_eq!(file.action, Action::Rewrap, "{file}");
            assert_eq!(changed.len(), 1);
            assert_eq!(changed[0].added, std::slice::from_ref(&repo.d.recipient));
            assert!(changed[0].removed.is_empty());
            assert_eq!(file.threshold, None);
        } else if under(&file.path, "hosts/b") {
            assert_eq!(file.action, Action::Rotate, "{file}");
            assert_eq!(changed.len(), 1);
            assert_eq!(changed[0].removed, std::slice::from_ref(&repo.c.recipient));
            assert!(changed[0].added.is_empty());
        } else if under(&file.path, "shared") {
            assert_eq!(file.action, Action::Rotate, "{file}");
            assert!(changed.is_empty());
            assert_eq!(file.threshold, Some((Some(2), Some(3))));
        } else {
            assert_eq!(file.action, Action::Nothing, "{file}");
            assert!(changed.is_empty());
        }
        assert!(!file.revocation_skipped);
    }
    let text = plan.to_string();
    assert!(
        text.contains(&format!("+++ {}", repo.d.recipient)),
        "{text}"
    );
    assert!(
        text.contains(&format!("--- {}", repo.c.recipient)),
        "{text}"
    );
    assert!(text.contains("+++ shamir_threshold: 3"), "{text}");
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["files"][0]["action"], "rewrap");

    let report = fleet::update_keys(
        &plan,
        &decryptors,
        &ApplyOptions::with_emit(config.stores),
        &NoProgress,
    )
    .unwrap();
    assert_eq!(
        (report.changed, report.rewrapped, report.rotated),
        (15, 5, 10)
    );
    assert_eq!(report.files.len(), 20);

    let after = repo.snapshot();
    for path in &repo.files {
        let old = &before[path];
        let new = &after[path];
        let key = data_key(path, &decryptors);
        if under(path, "hosts/a") {
            assert_eq!(key, keys_before[path], "{}: data key kept", path.display());
            assert_eq!(value_lines(old), value_lines(new), "{}", path.display());
            assert_ne!(old, new);
        } else if under(path, "other") {
            assert_eq!(old, new, "{}: untouched", path.display());
        } else {
            assert_ne!(key, keys_before[path], "{}: new data key", path.display());
            let enc = |bytes: &[u8]| -> Vec<String> {
                value_lines(bytes)
                    .into_iter()
                    .filter(|l| l.contains("ENC["))
                    .collect()
            };
            let (old_lines, new_lines) = (enc(old), enc(new));
            assert!(
                old_lines.iter().all(|l| !new_lines.contains(l)),
                "{}: every value re-encrypted",
                path.display()
            );
        }
        // The plaintext is unchanged.
        let format = Format::from_path(path);
        let options = DecryptOptions::new(format, format);
        assert_eq!(
            *decrypt(old, &decryptors, &options).unwrap(),
            *decrypt(new, &decryptors, &options).unwrap()
        );
    }

    // The removed recipient can no longer unwrap the data key.
    let only_c = identities(&[&repo.c]);
    let c_decryptor = AgeDecryptor::new(&only_c);
    for path in repo.files.iter().filter(|p| under(p, "hosts/b")) {
        let bytes = std::fs::read(path).unwrap();
        let error = Document::open(
            &bytes,
            Format::from_path(path),
            &[&c_decryptor],
            &OpenOptions::default(),
        )
        .unwrap_err();
        assert!(matches!(error, OpenError::DataKey(_)), "{error}");
    }

    // aesec agrees with itself: a second plan has nothing to do, check is clean.
    let plan = fleet::plan(&config, &files, &repo.dir.0, &PlanOptions::default()).unwrap();
    assert!(plan.is_empty(), "{plan}");
    let report = fleet::check(&config, &[], &repo.dir.0).unwrap();
    assert!(report.is_clean(), "{:?}", report.findings);

    // The agreement: real sops finds nothing to update and decrypts every file.
    let Some(sops) = sops() else { return };
    let all_keys = [&repo.a, &repo.b, &repo.c, &repo.d]
        .iter()
        .map(|m| m.file_text())
        .collect::<String>();

    // sops' own re-wrap of the old hosts/a files equals ours but for the age payloads.
    let mirror = TempDir::new("mirror");
    std::fs::copy(repo.dir.0.join(".sops.yaml"), mirror.0.join(".sops.yaml")).unwrap();
    std::fs::create_dir_all(mirror.0.join("hosts/a")).unwrap();
    for path in repo.files.iter().filter(|p| under(p, "hosts/a")) {
        let copy = mirror.0.join("hosts/a").join(path.file_name().unwrap());
        std::fs::write(&copy, &before[path]).unwrap();
        run_sops(
            &sops,
            &mirror.0,
            &all_keys,
            &["updatekeys", "-y", &copy.to_string_lossy()],
        );
        let theirs = std::fs::read(&copy).unwrap();
        assert_ne!(theirs, before[path]);
        let (mut theirs, mut ours) = (without_armor(&theirs), without_armor(&after[path]));
        if Format::from_path(path) == Format::Ini {
            // sops writes the INI [sops] section in Go map order, which varies run to run.
            theirs.sort();
            ours.sort();
        }
        assert_eq!(theirs, ours, "{}", path.display());
    }
    let mut args = vec!["updatekeys", "-y"];
    let names: Vec<String> = repo
        .files
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    args.extend(names.iter().map(String::as_str));
    let (stdout, stderr) = run_sops(&sops, &repo.dir.0, &all_keys, &args);
    assert_eq!(repo.snapshot(), after, "sops updatekeys changed a file");
    assert_eq!(
        stderr.matches("already up to date").count(),
        20,
        "stdout: {}\nstderr: {stderr}",
        String::from_utf8_lossy(&stdout)
    );
    for path in &repo.files {
        let format = Format::from_path(path);
        let type_name = match format {
            Format::Binary => "binary",
            other => other.name(),
        };
        let (plain, _) = run_sops(
            &sops,
            &repo.dir.0,
            &all_keys,
            &[
                "decrypt",
                "--input-type",
                type_name,
                "--output-type",
                type_name,
                &path.to_string_lossy(),
            ],
        );
        let ours = decrypt(
            &after[path],
            &decryptors,
            &DecryptOptions::new(format, format),
        )
        .unwrap();
        assert_eq!(plain, *ours, "{}", path.display());
    }
}

#[test]
fn no_rotate_rewraps_and_flags_the_skipped_revocation() {
    let repo = Repo::new("norotate");
    let keys = repo.all_keys();
    let decryptor = AgeDecryptor::new(&keys);
    let config = repo.config(RULES_AFTER);
    let b_files: Vec<PathBuf> = repo
        .files
        .iter()
        .filter(|p| under(p, "hosts/b"))
        .cloned()
        .collect();
    let keys_before: Vec<_> = b_files.iter().map(|p| data_key(p, &[&decryptor])).collect();
    let mut options = PlanOptions::default();
    options.no_rotate = true;
    let plan = fleet::plan(&config, &b_files, &repo.dir.0, &options).unwrap();
    assert!(
        plan.files
            .iter()
            .all(|f| f.action == Action::Rewrap && f.revocation_skipped)
    );
    assert!(plan.to_string().contains("revocation skipped"));
    fleet::update_keys(&plan, &[&decryptor], &ApplyOptions::default(), &NoProgress).unwrap();
    let keys_after: Vec<_> = b_files.iter().map(|p| data_key(p, &[&decryptor])).collect();
    assert_eq!(keys_before, keys_after);
}

#[test]
fn one_corrupt_file_means_nothing_is_replaced_and_nothing_is_left() {
    let repo = Repo::new("corrupt");
    let keys = repo.all_keys();
    let decryptor = AgeDecryptor::new(&keys);
    // An extra clear value changes the MAC's input: a MAC mismatch.
    let victim = repo
        .files
        .iter()
        .find(|p| under(p, "hosts/b") && p.extension().is_some_and(|e| e == "yaml"))
        .unwrap()
        .clone();
    let mut text = std::fs::read_to_string(&victim).unwrap();
    text = text.replacen("db:\n", "added_unencrypted: x\ndb:\n", 1);
    std::fs::write(&victim, &text).unwrap();
    let config = repo.config(RULES_AFTER);
    let before = tree_snapshot(&repo.dir.0);
    let plan = fleet::plan(&config, &repo.files, &repo.dir.0, &PlanOptions::default()).unwrap();
    let error = fleet::update_keys(&plan, &[&decryptor], &ApplyOptions::default(), &NoProgress)
        .unwrap_err();
    match &error {
        FleetError::Open { failures } => {
            assert_eq!(failures.len(), 1);
            assert_eq!(failures[0].path, victim);
            assert!(matches!(
                failures[0].error,
                FleetFileError::Open(OpenError::MacMismatch)
            ));
        }
        other => panic!("expected an open failure, got {other}"),
    }
    assert!(error.to_string().contains(&victim.display().to_string()));
    assert_unchanged(&repo.dir.0, &before);
}

/// Every file found under `dir`, with its bytes.
fn tree_snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.insert(path, bytes);
            }
        }
    }
    out
}

#[test]
fn one_file_failing_to_seal_means_nothing_is_replaced_and_nothing_is_left() {
    // The `other/` files need a transit key wrapped for and no backend is given: they fail
    // while the other fifteen files are sealed and staged beside their originals.
    let repo = Repo::new("seal-failure");
    let keys = repo.all_keys();
    let decryptor = AgeDecryptor::new(&keys);
    let uri = "http://127.0.0.1:9/v1/transit/keys/gone";
    let rules = RULES_AFTER.replace(
        "  - path_regex: ^other/\n    age: [A]\n",
        &format!("  - path_regex: ^other/\n    age: [A]\n    hc_vault_transit_uri: {uri}\n"),
    );
    assert_ne!(rules, RULES_AFTER);
    let config = repo.config(&rules);
    let before = tree_snapshot(&repo.dir.0);

    let plan = fleet::plan(&config, &repo.files, &repo.dir.0, &PlanOptions::default()).unwrap();
    assert_eq!(plan.changed().count(), repo.files.len());
    let error = fleet::update_keys(&plan, &[&decryptor], &ApplyOptions::default(), &NoProgress)
        .unwrap_err();
    let FleetError::Seal { failures } = &error else {
        panic!("expected a seal failure, got {error}");
    };
    let failed: Vec<&PathBuf> = failures.iter().map(|failure| &failure.path).collect();
    let expected: Vec<&PathBuf> = repo.files.iter().filter(|p| under(p, "other")).collect();
    assert_eq!(failed, expected);
    for failure in failures {
        assert!(
            failure.error.to_string().contains(uri),
            "{}: {}",
            failure.path.display(),
            failure.error
        );
    }
    assert_unchanged(&repo.dir.0, &before);
}

/// No temporary file left under `dir` and no file replaced since `before`.
fn assert_unchanged(dir: &Path, before: &BTreeMap<PathBuf, Vec<u8>>) {
    let after = tree_snapshot(dir);
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in before {
        assert!(after[path] == *bytes, "{} was replaced", path.display());
    }
}

#[test]
fn check_finds_extra_recipients_and_plaintext() {
    let repo = Repo::new("check");
    let config = repo.config(RULES_BEFORE);
    std::fs::write(repo.dir.0.join("README.md"), "not a secret\n").unwrap();
    // A host's public key beside its encrypted private key is public material.
    std::fs::write(
        repo.dir.0.join("hosts/a/ssh_host_ed25519_key.pub"),
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOHz+U0YtjINc54dZiJNclfmEFifF7RXCFlNlTbuZBji host\n",
    )
    .unwrap();
    let report = fleet::check(&config, &[], &repo.dir.0).unwrap();
    assert!(report.is_clean(), "{:?}", report.findings);
    assert_eq!(report.files_checked, 20);

    // Someone grants E access by copying an age entry in the metadata.
    let intruder = Member::new();
    let victim = repo.dir.0.join("hosts/a/secret.yaml");
    let text = std::fs::read_to_string(&victim).unwrap();
    let start = text.find("        - recipient: ").unwrap();
    let end = start + text[start + 1..].find("        - recipient: ").unwrap() + 1;
    let entry = &text[start..end];
    let first_recipient = entry
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("        - recipient: ");
    let forged = entry.replace(first_recipient, &intruder.recipient);
    let tampered = format!("{}{forged}{}", &text[..end], &text[end..]);
    std::fs::write(&victim, tampered).unwrap();
    std::fs::write(repo.dir.0.join("hosts/a/plain.yaml"), "password: oops\n").unwrap();

    let report = fleet::check(&config, &[], &repo.dir.0).unwrap();
    assert_eq!(report.findings.len(), 2, "{:?}", report.findings);
    assert!(report.findings.contains(&Finding::ExtraRecipient {
        path: victim,
        group: 1,
        recipient: intruder.recipient,
    }));
    assert!(report.findings.contains(&Finding::NotEncrypted {
        path: repo.dir.0.join("hosts/a/plain.yaml"),
        rule: 0,
    }));
    let json = serde_json::to_string(&report).unwrap();
    assert!(json.contains("\"kind\":\"extra_recipient\""), "{json}");

    // A config change shows up as missing recipients and a threshold drift.
    let config = repo.config(RULES_AFTER);
    let report = fleet::check(&config, &[PathBuf::from("shared")], &repo.dir.0).unwrap();
    assert_eq!(report.findings.len(), 5, "{:?}", report.findings);
    assert!(report.findings.iter().all(|f| matches!(
        f,
        Finding::Threshold {
            expected: 3,
            found: 2,
            ..
        }
    )));

    // The status matrix marks the drift.
    let files = fleet::discover(&config, &[], &repo.dir.0).unwrap();
    let names = [("alice".to_owned(), repo.a.recipient.clone())];
    let matrix = fleet::status(&config, &files, &repo.dir.0, &names);
    assert_eq!(matrix.members[0].name.as_deref(), Some("alice"));
    assert_eq!(matrix.rows.len(), 20);
    let drifting = matrix.rows.iter().filter(|r| r.drift).count();
    // hosts/a: D missing (and the forged entry); hosts/b: C extra.
    assert_eq!(drifting, 10);
}

#[test]
fn rotate_older_than_rotates_only_old_files() {
    let dir = TempDir::new("rotate");
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/sops");
    let key_text = std::fs::read_to_string(vectors.join("vec.key")).unwrap();
    let mut keys = Identities::new();
    keys.add_identity_file_text(&key_text, "vec.key").unwrap();
    let decryptor = AgeDecryptor::new(&keys);

    // An old file made by sops, and a fresh one made by aesec for the same recipient.
    let old = dir.0.join("old.yaml");
    std::fs::copy(vectors.join("vec.enc.yaml"), &old).unwrap();
    let old_bytes = std::fs::read(&old).unwrap();
    let doc = Document::open(
        &old_bytes,
        Format::Yaml,
        &[&decryptor],
        &OpenOptions::default(),
    )
    .unwrap();
    let recipient = match &doc.metadata().key_groups[0][0] {
        KeyEntry::Age { recipient, .. } => recipient.clone(),
        other => panic!("unexpected entry {other:?}"),
    };
    let config = write_config(&dir.0, &format!("creation_rules:\n  - age: {recipient}\n"));
    let fresh = encrypt_file(&dir.0, &config, "fresh.json", "{\"a\": \"b\"}");
    let fresh_bytes = std::fs::read(&fresh).unwrap();

    let stamp = |bytes: &[u8], format| -> SystemTime {
        let doc = Document::open(bytes, format, &[&decryptor], &OpenOptions::default()).unwrap();
        let ts: jiff::Timestamp = doc.metadata().last_modified.parse().unwrap();
        SystemTime::from(ts)
    };
    let old_time = stamp(&old_bytes, Format::Yaml);
    let fresh_time = stamp(&fresh_bytes, Format::Json);
    let gap = fresh_time.duration_since(old_time).unwrap();
    let hour = Duration::from_secs(3_600);
    let now = fresh_time + hour;
    let max_age = hour + gap / 2;

    let files = vec![old.clone(), fresh.clone()];
    let plan = fleet::plan(&config, &files, &dir.0, &PlanOptions::default()).unwrap();
    let report = fleet::rotate_older_than(
        &plan,
        max_age,
        now,
        &[&decryptor],
        &ApplyOptions::default(),
        &NoProgress,
    )
    .unwrap();
    assert_eq!((report.rotated, report.changed), (1, 1));
    assert_eq!(
        std::fs::read(&fresh).unwrap(),
        fresh_bytes,
        "fresh file untouched"
    );
    let new_old = std::fs::read(&old).unwrap();
    assert_ne!(new_old, old_bytes);
    let options = DecryptOptions::new(Format::Yaml, Format::Yaml);
    assert_eq!(
        *decrypt(&old_bytes, &[&decryptor], &options).unwrap(),
        *decrypt(&new_old, &[&decryptor], &options).unwrap()
    );
    assert_ne!(
        data_key(&old, &[&decryptor]),
        *decrypt_data_key(doc.metadata(), &[&decryptor])
            .unwrap()
            .expose_secret()
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["rotated"], 1);
}

/// Regression (issue 6): a recipient added by hand to a file's metadata (outside the MAC) does
/// not receive the new data key of a scheduled rotation: `rotate_older_than` wraps for the
/// creation rule, names the difference, and the attacker's identity cannot decrypt the result.
#[test]
fn rotate_older_than_wraps_for_the_rule_not_for_a_forged_recipient() {
    let dir = TempDir::new("rotate-forged");
    let (admin, attacker) = (Member::new(), Member::new());
    let config = write_config(
        &dir.0,
        &format!("creation_rules:\n  - age: {}\n", admin.recipient),
    );
    let file = encrypt_file(&dir.0, &config, "app.yaml", "token: abc\n");
    // Without any key, the attacker copies the admin's entry under their own recipient.
    let text = std::fs::read_to_string(&file).unwrap();
    let start = text.find("        - recipient: ").unwrap();
    let end = text[start..]
        .find("-----END AGE ENCRYPTED FILE-----\n")
        .unwrap()
        + start
        + "-----END AGE ENCRYPTED FILE-----\n".len();
    let entry = text[start..end].replace(&admin.recipient, &attacker.recipient);
    std::fs::write(&file, format!("{}{entry}{}", &text[..end], &text[end..])).unwrap();
    let (admin_ids, attacker_ids) = (identities(&[&admin]), identities(&[&attacker]));
    let admin_decryptor = AgeDecryptor::new(&admin_ids);
    let attacker_decryptor = AgeDecryptor::new(&attacker_ids);
    let options = DecryptOptions::new(Format::Yaml, Format::Yaml);
    assert!(
        decrypt(
            &std::fs::read(&file).unwrap(),
            &[&admin_decryptor],
            &options
        )
        .is_ok()
    );

    let plan = fleet::plan(
        &config,
        std::slice::from_ref(&file),
        &dir.0,
        &PlanOptions::default(),
    )
    .unwrap();
    let observer = Warnings::default();
    let now = SystemTime::now() + Duration::from_secs(3_600);
    let report = fleet::rotate_older_than(
        &plan,
        Duration::ZERO,
        now,
        &[&admin_decryptor],
        &ApplyOptions::default(),
        &observer,
    )
    .unwrap();
    assert_eq!(report.rotated, 1);
    let warnings = observer.0.lock().unwrap().join("\n");
    assert!(
        warnings.contains(&attacker.recipient) && warnings.contains(&admin.recipient),
        "{warnings}"
    );
    let rotated = std::fs::read(&file).unwrap();
    assert!(!String::from_utf8_lossy(&rotated).contains(&attacker.recipient));
    assert!(matches!(
        decrypt(&rotated, &[&attacker_decryptor], &options),
        Err(FileError::Open(OpenError::DataKey(_)))
    ));
    assert_eq!(
        &*decrypt(&rotated, &[&admin_decryptor], &options).unwrap(),
        b"token: abc\n"
    );
}

/// An observer that keeps the warnings.
#[derive(Default)]
struct Warnings(std::sync::Mutex<Vec<String>>);

impl aesec::progress::Observer for Warnings {
    fn warn(&self, message: &dyn std::fmt::Display) {
        self.0.lock().unwrap().push(message.to_string());
    }
}

#[test]
fn a_hundred_files_with_ten_recipients() {
    let dir = TempDir::new("perf");
    let members: Vec<Member> = (0..11).map(|_| Member::new()).collect();
    let list = |n: usize| {
        members[..n]
            .iter()
            .map(|m| m.recipient.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let config = write_config(&dir.0, &format!("creation_rules:\n  - age: {}\n", list(10)));
    for i in 0..100 {
        encrypt_file(
            &dir.0,
            &config,
            &format!("s/{i:03}.yaml"),
            "a: b\nc: [1, 2]\n",
        );
    }
    let keys = identities(&[&members[0]]);
    let decryptor = AgeDecryptor::new(&keys);
    let config = write_config(&dir.0, &format!("creation_rules:\n  - age: {}\n", list(11)));
    let files = fleet::discover(&config, &[], &dir.0).unwrap();
    assert_eq!(files.len(), 100);
    let plan = fleet::plan(&config, &files, &dir.0, &PlanOptions::default()).unwrap();
    assert_eq!(plan.changed().count(), 100);
    let report =
        fleet::update_keys(&plan, &[&decryptor], &ApplyOptions::default(), &NoProgress).unwrap();
    assert_eq!(report.rewrapped, 100);
}
