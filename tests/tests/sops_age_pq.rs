//! Post-quantum age recipients (`age1pq1…`, issue 11 §4) against the real sops, whose build
//! has Go age 1.3: each tool decrypts what the other encrypts to a post-quantum recipient, also
//! in key groups that mix it with an X25519 recipient, and a key made by
//! `aesec keys generate --pq` works in sops.
//!
//! The Debian `age-keygen` is age 1.1, which has no post-quantum keys, so the recipient is
//! checked against its identity by sops decrypting with the identity what was encrypted to the
//! recipient, not with `age-keygen -y`.

use std::path::{Path, PathBuf};

use aesec_tests::{AgeKey, Cmd, TempHome, age_keygen, require_peer, sops};

/// A post-quantum key made by `aesec keys generate --pq`.
struct PqKey {
    recipient: String,
    identity_file: PathBuf,
}

/// sops, a post-quantum key, an X25519 key and a temporary home.
struct Fixture {
    home: TempHome,
    sops: PathBuf,
    pq: PqKey,
    x25519: AgeKey,
}

const PLAIN: &str = "db:\n    password: hunter2\n    port: 5432\nlist:\n    - a\n    - b\n";

impl Fixture {
    fn new() -> Option<Self> {
        let sops = sops()?;
        let keygen = age_keygen()?;
        let home = TempHome::new();
        let x25519 = AgeKey::generate(&keygen, &home, "classic");
        let pq = generate_pq(&home, "pq");
        Some(Self {
            home,
            sops,
            pq,
            x25519,
        })
    }

    fn sops(&self, identity_file: &Path) -> Cmd {
        let mut cmd = self.home.cmd(&self.sops);
        cmd.env("SOPS_DISABLE_VERSION_CHECK", "1")
            .env("SOPS_AGE_KEY_FILE", identity_file);
        cmd
    }

    fn aesec(&self, identity_file: &Path) -> Cmd {
        let mut cmd = self.home.aesec();
        cmd.env("SOPS_AGE_KEY_FILE", identity_file);
        cmd
    }

    /// Encrypts [`PLAIN`] with both tools: `config` is the `--config` file, `age` the `--age`
    /// list (if any). Returns the paths of sops' and aesec's files.
    fn encrypt_both(&self, name: &str, config: &Path, age: Option<&str>) -> [PathBuf; 2] {
        let mut encrypt_args = vec!["encrypt"];
        if let Some(age) = age {
            encrypt_args.extend(["--age", age]);
        }
        let plain = self.home.write(format!("{name}/plain.yaml"), PLAIN);
        // Encryption reads no identity; any existing key file will do.
        let key = &self.x25519.identity_file;
        let by_sops = self
            .sops(key)
            .arg("--config")
            .arg(config)
            .args(&encrypt_args)
            .arg(&plain)
            .stdout();
        let by_aesec = self
            .aesec(key)
            .arg("--config")
            .arg(config)
            .args(&encrypt_args)
            .arg(&plain)
            .stdout();
        [
            self.home.write(format!("{name}/by-sops.yaml"), by_sops),
            self.home.write(format!("{name}/by-aesec.yaml"), by_aesec),
        ]
    }

    /// Both tools decrypt both files with `identity_file` to [`PLAIN`].
    fn both_decrypt(&self, files: &[PathBuf; 2], identity_file: &Path) {
        for file in files {
            for (tool, mut cmd) in [
                ("sops", self.sops(identity_file)),
                ("aesec", self.aesec(identity_file)),
            ] {
                let plain = cmd.arg("decrypt").arg(file).stdout();
                assert_eq!(
                    plain,
                    PLAIN,
                    "{tool} decrypting {} with {}",
                    file.display(),
                    identity_file.display()
                );
            }
        }
    }

    /// Neither tool decrypts either file with `identity_file`.
    fn neither_decrypts(&self, files: &[PathBuf; 2], identity_file: &Path) {
        for file in files {
            self.sops(identity_file)
                .arg("decrypt")
                .arg(file)
                .run_failure();
            self.aesec(identity_file)
                .arg("decrypt")
                .arg(file)
                .run_failure();
        }
    }
}

/// Runs `aesec keys generate --pq`, checks the shape of its output and returns the key.
fn generate_pq(home: &TempHome, name: &str) -> PqKey {
    let text = home.aesec().args(["keys", "generate", "--pq"]).stdout();
    let lines: Vec<&str> = text.lines().collect();
    let [created, public, secret] = lines.as_slice() else {
        panic!("keys generate --pq printed {} lines", lines.len());
    };
    assert!(created.starts_with("# created: "), "{created}");
    let recipient = public
        .strip_prefix("# public key: age1pq1")
        .map(|rest| format!("age1pq1{rest}"))
        .unwrap_or_else(|| panic!("no post-quantum public key line: {public:.40}"));
    assert_eq!(
        recipient.len(),
        1959,
        "age1pq1 recipients are 1959 characters"
    );
    assert!(secret.starts_with("AGE-SECRET-KEY-PQ-1"));
    assert_eq!(
        secret.len(),
        77,
        "post-quantum identities are 77 characters"
    );
    let identity_file = home.write(format!("{name}.txt"), &text);
    PqKey {
        recipient,
        identity_file,
    }
}

/// Counts the age entries of an encrypted YAML file whose recipient is post-quantum.
fn post_quantum_entries(home: &TempHome, file: &Path) -> usize {
    home.read(file).matches("recipient: age1pq1").count()
}

#[test]
fn keys_generate_pq_gives_a_key_sops_uses() {
    let fx = require_peer!(Fixture::new());
    // sops encrypts to the printed recipient and decrypts with the printed identity: the two
    // belong together as Go age derives them.
    let plain = fx.home.write("gen/plain.yaml", PLAIN);
    let encrypted = fx
        .sops(&fx.x25519.identity_file)
        .args([
            "--config",
            "/dev/null",
            "encrypt",
            "--age",
            &fx.pq.recipient,
        ])
        .arg(&plain)
        .stdout();
    let encrypted = fx.home.write("gen/by-sops.yaml", encrypted);
    let decrypted = fx
        .sops(&fx.pq.identity_file)
        .arg("decrypt")
        .arg(&encrypted)
        .stdout();
    assert_eq!(decrypted, PLAIN);
    // A second key is another key.
    let other = generate_pq(&fx.home, "pq-other");
    assert_ne!(other.recipient, fx.pq.recipient);
    fx.sops(&other.identity_file)
        .arg("decrypt")
        .arg(&encrypted)
        .run_failure();
}

#[test]
fn sops_and_aesec_read_each_others_post_quantum_files() {
    let fx = require_peer!(Fixture::new());
    let files = fx.encrypt_both("pq", Path::new("/dev/null"), Some(&fx.pq.recipient));
    for file in &files {
        assert_eq!(
            post_quantum_entries(&fx.home, file),
            1,
            "{}",
            file.display()
        );
    }
    fx.both_decrypt(&files, &fx.pq.identity_file);
    fx.neither_decrypts(&files, &fx.x25519.identity_file);
}

#[test]
fn one_key_group_mixing_post_quantum_and_x25519() {
    let fx = require_peer!(Fixture::new());
    let both = format!("{},{}", fx.pq.recipient, fx.x25519.recipient);
    let files = fx.encrypt_both("mixed", Path::new("/dev/null"), Some(&both));
    for file in &files {
        assert_eq!(
            post_quantum_entries(&fx.home, file),
            1,
            "{}",
            file.display()
        );
    }
    // sops wraps the data key once per master key: either identity alone decrypts.
    fx.both_decrypt(&files, &fx.pq.identity_file);
    fx.both_decrypt(&files, &fx.x25519.identity_file);
}

#[test]
fn two_key_groups_post_quantum_and_x25519_with_threshold_two() {
    let fx = require_peer!(Fixture::new());
    let config = fx.home.write(
        "groups/.sops.yaml",
        format!(
            "creation_rules:\n  - key_groups:\n      - age:\n          - {}\n      - age:\n          - {}\n    shamir_threshold: 2\n",
            fx.pq.recipient, fx.x25519.recipient
        ),
    );
    let files = fx.encrypt_both("groups", &config, None);
    for file in &files {
        assert_eq!(
            post_quantum_entries(&fx.home, file),
            1,
            "{}",
            file.display()
        );
    }
    let combined = fx.home.write(
        "groups/both.txt",
        format!(
            "{}{}",
            fx.home.read(&fx.pq.identity_file),
            fx.home.read(&fx.x25519.identity_file)
        ),
    );
    fx.both_decrypt(&files, &combined);
    fx.neither_decrypts(&files, &fx.pq.identity_file);
    fx.neither_decrypts(&files, &fx.x25519.identity_file);
}
