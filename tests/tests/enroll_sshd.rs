//! Fleet membership end to end against real peers: `aesec enroll --keyscan` against a real
//! `sshd` on 127.0.0.1, then real `sops decrypt` as the host (its private host key converted to
//! an age identity, as sops-nix does); key changes refused; `remove` rotating data keys;
//! `enroll --generate` + `bootstrap` (nixos-anywhere's tree, and cloud-init user-data checked
//! by the real cloud-init); `--like` and `--to` targeting.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use aesec_tests::{
    AgeKey, Cmd, Sshd, TempHome, age_keygen, cloud_init, require_peer, sops, ssh_keygen,
    ssh_keyscan, ssh_to_age,
};

/// A repository with an admin (`admin_alice`), a host `db`, and three files.
struct Repo {
    home: TempHome,
    sops: PathBuf,
    admin: AgeKey,
    db: AgeKey,
}

impl Repo {
    fn new() -> Option<Self> {
        let sops = sops()?;
        let keygen = age_keygen()?;
        let home = TempHome::new();
        let admin = AgeKey::generate(&keygen, &home, "admin");
        let db = AgeKey::generate(&keygen, &home, "db");
        home.write(
            "repo/.sops.yaml",
            format!(
                "# the test fleet\n\
                 keys:\n  - &admin_alice {} # admin\n  - &db {} # db host\n\
                 creation_rules:\n\
                 \x20 - path_regex: ^hosts/db/\n    key_groups:\n      - age: [*admin_alice, *db]\n\
                 \x20 - path_regex: ^shared\\.yaml$\n    key_groups:\n      - age: [*admin_alice, *db]\n\
                 \x20 - path_regex: ^hosts/\n    key_groups:\n      - age: [*admin_alice]\n",
                admin.recipient, db.recipient
            ),
        );
        let repo = Self {
            home,
            sops,
            admin,
            db,
        };
        for (file, text) in [
            ("hosts/db/app.yaml", "db_password: s3cret\n"),
            (
                "hosts/trinity/app.yaml",
                "api_token: t0ken\nnested:\n    key: value\n",
            ),
            ("shared.yaml", "smtp_password: shared\n"),
        ] {
            repo.home.write(format!("repo/{file}"), text);
            repo.aesec().args(["encrypt", "-i", file]).run();
        }
        Some(repo)
    }

    fn dir(&self) -> PathBuf {
        self.home.join("repo")
    }

    /// `aesec` in the repository, as the admin.
    fn aesec(&self) -> Cmd {
        let mut cmd = self.home.aesec();
        cmd.current_dir(self.dir())
            .env("SOPS_AGE_KEY_FILE", &self.admin.identity_file);
        cmd
    }

    /// Real sops in the repository with `SOPS_AGE_KEY` = `identity` only.
    fn sops_as(&self, identity: &str, file: &str) -> std::process::Output {
        let mut cmd = self.home.cmd(&self.sops);
        cmd.current_dir(self.dir())
            .env("SOPS_AGE_KEY", identity)
            .args(["decrypt", file]);
        cmd.output()
    }

    fn identity_of(key: &AgeKey) -> String {
        std::fs::read_to_string(&key.identity_file)
            .unwrap_or_else(|err| panic!("reading {}: {err}", key.identity_file.display()))
    }

    /// An OpenSSH host key made by ssh-keygen: (private key path, public line).
    fn ssh_host_key(&self, keygen: &Path, name: &str) -> (PathBuf, String) {
        let path = self.home.join(format!("{name}_host_key"));
        self.home
            .cmd(keygen)
            .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
            .arg(&path)
            .run();
        let public = self
            .home
            .read(format!("{name}_host_key.pub"))
            .trim()
            .to_owned();
        (path, public)
    }

    /// The age identity of an SSH private key, by the independent oracle (never by aesec).
    fn converted_identity(&self, private_key: &Path) -> String {
        ssh_to_age::identity(&self.home.read(private_key))
    }

    /// The age recipient of an SSH public key line, by the independent oracle (never by aesec).
    fn converted_recipient(&self, public: &str) -> String {
        ssh_to_age::recipient(public)
    }

    /// `ssh-keygen -lf` of a public key line: its `SHA256:` fingerprint.
    fn fingerprint(&self, keygen: &Path, public: &str) -> String {
        let path = self.home.write("fp.pub", format!("{public}\n"));
        let line = self.home.cmd(keygen).arg("-lf").arg(&path).stdout();
        line.split_whitespace()
            .nth(1)
            .unwrap_or_else(|| panic!("ssh-keygen -lf printed {line:?}"))
            .to_owned()
    }

    fn config(&self) -> String {
        self.home.read("repo/.sops.yaml")
    }

    fn bytes(&self, file: &str) -> Vec<u8> {
        std::fs::read(self.dir().join(file)).unwrap_or_else(|err| panic!("reading {file}: {err}"))
    }
}

fn assert_code(output: &std::process::Output, code: i32, what: &str) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "{what}\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The `ENC[…]` strings of a sops file.
fn ciphertexts(text: &str) -> Vec<String> {
    text.split("ENC[")
        .skip(1)
        .filter_map(|rest| rest.split(']').next().map(str::to_owned))
        .collect()
}

#[test]
fn enroll_by_keyscan_grants_the_host_exactly_its_files() {
    let repo = require_peer!(Repo::new());
    let keyscan = require_peer!(ssh_keyscan());
    let sshd = require_peer!(Sshd::start());
    let keygen = require_peer!(ssh_keygen());
    let target = format!("127.0.0.1:{}", sshd.port());
    let pin = repo.fingerprint(&keygen, sshd.host_public_key());
    let out = repo
        .aesec()
        .args([
            "enroll",
            "trinity",
            "--keyscan",
            &target,
            "-y",
            "--fingerprint",
            &pin,
            "--keyscan-program",
        ])
        .arg(&keyscan)
        .stdout();
    assert!(out.contains("enrolled 'trinity'"), "{out}");

    // The recorded recipient is the ssh-to-age conversion of the sshd's host key.
    let recipient = repo.converted_recipient(sshd.host_public_key());
    let config = repo.config();
    let anchor = config
        .lines()
        .find(|line| line.contains("&trinity "))
        .unwrap_or_else(|| panic!("no anchor\n{config}"));
    assert!(
        anchor.contains(&format!("&trinity {recipient} ")),
        "{anchor}"
    );
    let blob = sshd.host_public_key().split_whitespace().nth(1).unwrap();
    assert!(anchor.contains(blob), "{anchor}");
    assert!(anchor.contains(&format!("keyscan {target})")), "{anchor}");
    assert!(config.starts_with("# the test fleet\n"), "{config}");
    assert!(config.contains("path_regex: ^hosts/trinity/"), "{config}");

    // Real sops, as the host (its private host key converted to an age identity).
    let identity = repo.converted_identity(&sshd.host_key_path());
    let output = repo.sops_as(&identity, "hosts/trinity/app.yaml");
    assert_code(&output, 0, "the host reads its own file");
    assert!(String::from_utf8_lossy(&output.stdout).contains("api_token: t0ken"));
    for other in ["hosts/db/app.yaml", "shared.yaml"] {
        assert_code(&repo.sops_as(&identity, other), 128, other);
    }
    // The admin still reads everything; aesec check is clean.
    let admin = Repo::identity_of(&repo.admin);
    assert_code(&repo.sops_as(&admin, "hosts/trinity/app.yaml"), 0, "admin");
    repo.aesec().arg("check").run();

    // Enrolling the same key again is a no-op: no byte changes.
    let before = (repo.config(), repo.bytes("hosts/trinity/app.yaml"));
    let out = repo
        .aesec()
        .args([
            "enroll",
            "trinity",
            "--keyscan",
            &target,
            "-y",
            "--fingerprint",
            &pin,
            "--keyscan-program",
        ])
        .arg(&keyscan)
        .stdout();
    assert!(out.contains("already enrolled"), "{out}");
    assert_eq!(
        before,
        (repo.config(), repo.bytes("hosts/trinity/app.yaml"))
    );
}

#[test]
fn a_changed_key_is_refused_without_replace() {
    let repo = require_peer!(Repo::new());
    let keygen = require_peer!(ssh_keygen());
    let (_, first) = repo.ssh_host_key(&keygen, "first");
    let (second_key, second) = repo.ssh_host_key(&keygen, "second");
    repo.home.write("first.pub", format!("{first}\n"));
    repo.home.write("second.pub", format!("{second}\n"));
    let first_pub = repo.home.join("first.pub");
    let second_pub = repo.home.join("second.pub");
    repo.aesec()
        .args(["enroll", "trinity", "-y", "--key"])
        .arg(&first_pub)
        .run();
    let before = (repo.config(), repo.bytes("hosts/trinity/app.yaml"));

    let output = repo
        .aesec()
        .args(["enroll", "trinity", "-y", "--key"])
        .arg(&second_pub)
        .run_failure();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&repo.fingerprint(&keygen, &first)),
        "{stderr}"
    );
    assert!(
        stderr.contains(&repo.fingerprint(&keygen, &second)),
        "{stderr}"
    );
    assert_eq!(
        before,
        (repo.config(), repo.bytes("hosts/trinity/app.yaml"))
    );

    // Same key again: nothing changes.
    repo.aesec()
        .args(["enroll", "trinity", "-y", "--key"])
        .arg(&first_pub)
        .run();
    assert_eq!(
        before,
        (repo.config(), repo.bytes("hosts/trinity/app.yaml"))
    );

    // --replace: the new key reads, the old one is removed (new data key).
    repo.aesec()
        .args(["enroll", "trinity", "-y", "--replace", "--key"])
        .arg(&second_pub)
        .run();
    let identity = repo.converted_identity(&second_key);
    assert_code(
        &repo.sops_as(&identity, "hosts/trinity/app.yaml"),
        0,
        "new key",
    );
    assert_ne!(
        ciphertexts(&String::from_utf8_lossy(&before.1)),
        ciphertexts(&String::from_utf8_lossy(
            &repo.bytes("hosts/trinity/app.yaml")
        ))
    );
}

#[test]
fn remove_rotates_data_keys_and_keeps_the_last_admin() {
    let repo = require_peer!(Repo::new());
    let keygen = require_peer!(ssh_keygen());
    let (key, public) = repo.ssh_host_key(&keygen, "trinity");
    repo.home.write("trinity.pub", format!("{public}\n"));
    repo.aesec()
        .args(["enroll", "trinity", "-y", "--like", "db", "--key"])
        .arg(repo.home.join("trinity.pub"))
        .run();
    let identity = repo.converted_identity(&key);
    assert_code(
        &repo.sops_as(&identity, "shared.yaml"),
        0,
        "trinity before removal",
    );
    let before = String::from_utf8(repo.bytes("shared.yaml")).unwrap();

    let out = repo.aesec().args(["remove", "trinity", "-y"]).stdout();
    assert!(out.contains("[\"smtp_password\"]"), "{out}");
    assert!(out.contains("shared.yaml"), "{out}");
    assert!(!repo.config().contains("trinity"), "{}", repo.config());

    let after = String::from_utf8(repo.bytes("shared.yaml")).unwrap();
    // The data key changed: every value is encrypted anew.
    let (old, new) = (ciphertexts(&before), ciphertexts(&after));
    assert_eq!(old.len(), new.len());
    assert!(
        old.iter().zip(&new).all(|(a, b)| a != b),
        "{before}\n{after}"
    );
    // The removed host's identity opens nothing; the remaining keys do, with real sops.
    for file in ["shared.yaml", "hosts/db/app.yaml"] {
        assert_code(&repo.sops_as(&identity, file), 128, file);
        assert_code(&repo.sops_as(&Repo::identity_of(&repo.db), file), 0, file);
        assert_code(
            &repo.sops_as(&Repo::identity_of(&repo.admin), file),
            0,
            file,
        );
    }

    let output = repo
        .aesec()
        .args(["remove", "admin_alice", "-y"])
        .run_failure();
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("last admin"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn generate_then_bootstrap_writes_the_nixos_anywhere_tree() {
    let repo = require_peer!(Repo::new());
    let keygen = require_peer!(ssh_keygen());
    repo.aesec()
        .args(["enroll", "morpheus", "--generate", "-y"])
        .run();
    let stored = "hosts/morpheus/ssh_host_ed25519_key";
    let public = repo.home.read(format!("repo/{stored}.pub"));
    let recipient = repo.converted_recipient(public.trim());
    assert!(
        repo.config().contains(&format!("&morpheus {recipient} ")),
        "{}",
        repo.config()
    );

    // Stored encrypted to the admins only.
    let metadata: serde_json::Value = serde_json::from_slice(&repo.bytes(stored)).unwrap();
    let entries = metadata["sops"]["age"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{metadata}");
    assert_eq!(entries[0]["recipient"], repo.admin.recipient.as_str());
    let admin = Repo::identity_of(&repo.admin);
    assert_code(
        &repo.sops_as(&admin, stored),
        0,
        "admin reads the stored key",
    );
    assert_code(
        &repo.sops_as(&Repo::identity_of(&repo.db), stored),
        128,
        "db",
    );

    let out_dir = repo.home.join("extra-files");
    repo.aesec()
        .args(["bootstrap", "morpheus", "--out"])
        .arg(&out_dir)
        .run();
    let private = out_dir.join("etc/ssh/ssh_host_ed25519_key");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&private), 0o600);
    assert_eq!(
        mode(&out_dir.join("etc/ssh/ssh_host_ed25519_key.pub")),
        0o644
    );
    // ssh-keygen reads the private key and derives the public key in the anchor.
    let derived = repo
        .home
        .cmd(&keygen)
        .arg("-y")
        .arg("-f")
        .arg(&private)
        .stdout();
    let words = |s: &str| s.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    assert_eq!(words(&derived), words(&public));
    // Nothing is out of line, and the host itself cannot read the stored copy.
    repo.aesec().args(["updatekeys", "-y"]).run();
    let identity = repo.converted_identity(&private);
    assert_code(
        &repo.sops_as(&identity, stored),
        128,
        "the host key is for admins only",
    );
}

/// `bootstrap --cloud-init`: the user-data is a cloud-config the real cloud-init accepts; as
/// cloud-init reads it (PyYAML, the reader of its `ssh` module), its private key derives (by
/// ssh-keygen) its public key, which converts (by the independent oracle) to the member's
/// recipient in `.sops.yaml`.
#[test]
fn generate_then_bootstrap_writes_cloud_init_user_data() {
    let repo = require_peer!(Repo::new());
    let keygen = require_peer!(ssh_keygen());
    let cloud_init = require_peer!(cloud_init());
    repo.aesec()
        .args(["enroll", "morpheus", "--generate", "-y"])
        .run();
    let user_data = repo.home.join("morpheus.yaml");
    repo.aesec()
        .args(["bootstrap", "morpheus", "--cloud-init"])
        .arg(&user_data)
        .run();
    let mode = std::fs::metadata(&user_data).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(repo.home.read(&user_data).starts_with("#cloud-config\n"));
    let schema = repo
        .home
        .cmd(&cloud_init)
        .args(["schema", "--config-file"])
        .arg(&user_data)
        .output();
    assert!(
        schema.status.success(),
        "cloud-init schema: {}{}",
        String::from_utf8_lossy(&schema.stdout),
        String::from_utf8_lossy(&schema.stderr)
    );

    // What cloud-init's ssh module reads: its own YAML loader (python3-yaml, a dependency of
    // the cloud-init package) in the interpreter cloud-init runs on, printed as JSON.
    let shebang = std::fs::read_to_string(&cloud_init).expect("cloud-init is a script");
    let python = shebang
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("#!"))
        .and_then(|line| line.split_whitespace().next())
        .expect("cloud-init starts with its interpreter");
    let read = repo
        .home
        .cmd(python)
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(&user_data)
        .stdout();
    let config: serde_json::Value = serde_json::from_str(&read).unwrap();
    let keys = &config["ssh_keys"];
    let private = keys["ed25519_private"].as_str().expect("ed25519_private");
    let public = keys["ed25519_public"].as_str().expect("ed25519_public");
    let private_path = repo.home.write("from-user-data", private);
    std::fs::set_permissions(&private_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let derived = repo
        .home
        .cmd(&keygen)
        .arg("-y")
        .arg("-f")
        .arg(&private_path)
        .stdout();
    let words = |s: &str| s.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    assert_eq!(words(&derived), words(public));
    let recipient = repo.converted_recipient(public.trim());
    assert!(
        repo.config().contains(&format!("&morpheus {recipient} ")),
        "{}",
        repo.config()
    );
    // The same key as the stored one (and as `bootstrap --out` writes).
    let stored = repo
        .home
        .read("repo/hosts/morpheus/ssh_host_ed25519_key.pub");
    assert_eq!(words(&stored), words(public));
}

#[test]
fn like_and_to_choose_the_rules() {
    let repo = require_peer!(Repo::new());
    let keygen = require_peer!(ssh_keygen());
    let (web_key, web) = repo.ssh_host_key(&keygen, "web");
    let (mail_key, mail) = repo.ssh_host_key(&keygen, "mail");
    repo.home.write("web.pub", format!("{web}\n"));
    repo.aesec()
        .args(["enroll", "web", "-y", "--to", "shared.yaml", "--key"])
        .arg(repo.home.join("web.pub"))
        .run();
    let web_identity = repo.converted_identity(&web_key);
    assert_code(
        &repo.sops_as(&web_identity, "shared.yaml"),
        0,
        "web: shared",
    );
    assert_code(
        &repo.sops_as(&web_identity, "hosts/db/app.yaml"),
        128,
        "web: db",
    );

    repo.aesec()
        .args(["enroll", "mail", "-y", "--like", "db", "--key", "-"])
        .stdin(format!("{mail}\n"))
        .run();
    let mail_identity = repo.converted_identity(&mail_key);
    for file in ["shared.yaml", "hosts/db/app.yaml"] {
        assert_code(&repo.sops_as(&mail_identity, file), 0, file);
    }
    assert_code(
        &repo.sops_as(&mail_identity, "hosts/trinity/app.yaml"),
        128,
        "mail: trinity",
    );
    // Real sops agrees that every file is in line with .sops.yaml.
    for file in ["shared.yaml", "hosts/db/app.yaml"] {
        let mut cmd = repo.home.cmd(&repo.sops);
        cmd.current_dir(repo.dir())
            .env("SOPS_AGE_KEY_FILE", &repo.admin.identity_file)
            .args(["updatekeys", "-y", file]);
        let before = repo.bytes(file);
        cmd.run();
        assert_eq!(before, repo.bytes(file), "sops updatekeys changed {file}");
    }
}

/// Every file under `dir` (relative path → bytes), to show that nothing was written.
fn snapshot(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut files = std::collections::BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = std::fs::read_dir(&current)
            .unwrap_or_else(|err| panic!("listing {}: {err}", current.display()));
        for entry in entries {
            let path = entry
                .unwrap_or_else(|err| panic!("listing {}: {err}", current.display()))
                .path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let bytes = std::fs::read(&path)
                    .unwrap_or_else(|err| panic!("reading {}: {err}", path.display()));
                let relative = path.strip_prefix(dir).expect("a path under the directory");
                files.insert(relative.to_path_buf(), bytes);
            }
        }
    }
    files
}

/// A running sshd, the programs, and `aesec enroll trinity --keyscan 127.0.0.1:PORT` for it.
struct Scan {
    sshd: Sshd,
    keyscan: PathBuf,
    keygen: PathBuf,
}

impl Scan {
    fn start() -> Option<Self> {
        Some(Self {
            keyscan: ssh_keyscan()?,
            keygen: ssh_keygen()?,
            sshd: Sshd::start()?,
        })
    }

    fn target(&self) -> String {
        format!("127.0.0.1:{}", self.sshd.port())
    }

    /// `aesec enroll trinity --keyscan TARGET` plus `extra`.
    fn enroll(&self, repo: &Repo, extra: &[&str]) -> Cmd {
        let mut cmd = repo.aesec();
        cmd.args(["enroll", "trinity", "--keyscan", &self.target()])
            .args(extra)
            .arg("--keyscan-program")
            .arg(&self.keyscan);
        cmd
    }

    /// Real `ssh-keyscan` output for the server (`-H`: hashed names), as a known_hosts file.
    fn known_hosts(&self, repo: &Repo, name: &str, hashed: bool) -> PathBuf {
        let mut cmd = repo.home.cmd(&self.keyscan);
        cmd.args(["-t", "ed25519", "-p", &self.sshd.port().to_string()]);
        if hashed {
            cmd.arg("-H");
        }
        let text = cmd.arg("127.0.0.1").stdout();
        assert!(text.contains("ssh-ed25519"), "{text}");
        repo.home.write(name, text)
    }
}

/// Issue 6 item 3: the prompt shows the scanned key's fingerprint (as `ssh-keygen -lf` prints
/// it) and recipient before anything is written; "n" leaves every file as it was.
#[test]
fn keyscan_prompt_shows_the_fingerprint_before_writing() {
    let repo = require_peer!(Repo::new());
    let scan = require_peer!(Scan::start());
    let fingerprint = repo.fingerprint(&scan.keygen, scan.sshd.host_public_key());
    let recipient = repo.converted_recipient(scan.sshd.host_public_key());
    let before = snapshot(&repo.dir());

    let output = scan.enroll(&repo, &[]).stdin("n\n").run();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&fingerprint), "{stderr}");
    assert!(stderr.contains(&recipient), "{stderr}");
    assert!(stderr.contains("NOT verified"), "{stderr}");
    let prompt = stderr.find("Is this okay?").expect("a prompt");
    assert!(stderr.find(&fingerprint).unwrap() < prompt, "{stderr}");
    assert_eq!(before, snapshot(&repo.dir()), "declined, yet files changed");

    let out = scan.enroll(&repo, &[]).stdin("y\n").stdout();
    assert!(out.contains(&fingerprint), "{out}");
    assert!(repo.config().contains(&format!("&trinity {recipient} ")));
}

/// Issue 6 item 3: a pinned fingerprint that the host does not have refuses, names both
/// fingerprints, and writes nothing (with -y and when asked).
#[test]
fn a_pinned_fingerprint_mismatch_writes_nothing() {
    let repo = require_peer!(Repo::new());
    let scan = require_peer!(Scan::start());
    let (_, other) = repo.ssh_host_key(&scan.keygen, "impostor");
    let pinned = repo.fingerprint(&scan.keygen, &other);
    let actual = repo.fingerprint(&scan.keygen, scan.sshd.host_public_key());
    assert_ne!(pinned, actual);
    let before = snapshot(&repo.dir());
    for extra in [
        vec!["-y", "--fingerprint", &pinned],
        vec!["--fingerprint", &pinned],
    ] {
        let output = scan.enroll(&repo, &extra).stdin("y\n").run_failure();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(&pinned), "{stderr}");
        assert!(stderr.contains(&actual), "{stderr}");
        assert!(!stderr.contains("Is this okay?"), "{stderr}");
        assert_eq!(before, snapshot(&repo.dir()), "{extra:?}");
    }
}

/// Issue 6 item 3: `-y` with `--keyscan` and nothing to vouch for the key is refused.
#[test]
fn unattended_keyscan_without_pin_or_known_hosts_is_refused() {
    let repo = require_peer!(Repo::new());
    let scan = require_peer!(Scan::start());
    let before = snapshot(&repo.dir());
    let output = scan.enroll(&repo, &["-y"]).run_failure();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("nothing vouches"), "{stderr}");
    assert_eq!(before, snapshot(&repo.dir()));
    // A known_hosts file without the host does not vouch either.
    let unrelated = repo.home.write(
        "unrelated_known_hosts",
        format!("elsewhere {}\n", scan.sshd.host_public_key()),
    );
    let unrelated = unrelated.display().to_string();
    let output = scan
        .enroll(&repo, &["-y", "--known-hosts", &unrelated])
        .run_failure();
    assert!(String::from_utf8_lossy(&output.stderr).contains("nothing vouches"));
    assert_eq!(before, snapshot(&repo.dir()));
}

/// Issue 6 item 3: `-y` with a matching known_hosts entry is accepted: plain and hashed lines
/// from real `ssh-keyscan` (`-H`), a file hashed by real `ssh-keygen -H`, and the default
/// `~/.ssh/known_hosts`; `@revoked` and a different key for the host are refused.
#[test]
fn known_hosts_vouch_for_an_unattended_keyscan() {
    let scan = require_peer!(Scan::start());
    let accepted = |setup: &dyn Fn(&Repo) -> Vec<String>| {
        let repo = require_peer!(Repo::new());
        let mut extra = vec!["-y".to_owned()];
        extra.extend(setup(&repo));
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let out = scan.enroll(&repo, &extra).stdout();
        assert!(out.contains("enrolled 'trinity'"), "{out}");
    };
    let flag = |path: PathBuf| vec!["--known-hosts".to_owned(), path.display().to_string()];
    accepted(&|repo| flag(scan.known_hosts(repo, "plain", false)));
    accepted(&|repo| flag(scan.known_hosts(repo, "hashed", true)));
    accepted(&|repo| {
        let path = scan.known_hosts(repo, "by_keygen", false);
        repo.home
            .cmd(&scan.keygen)
            .arg("-H")
            .arg("-f")
            .arg(&path)
            .run();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("|1|"), "{text}");
        flag(path)
    });
    accepted(&|repo| {
        let path = scan.known_hosts(repo, "default", true);
        std::fs::create_dir_all(repo.home.join(".ssh")).unwrap();
        std::fs::rename(path, repo.home.join(".ssh/known_hosts")).unwrap();
        Vec::new()
    });

    // Refusals: the key is revoked, or the host is listed with another key.
    let repo = require_peer!(Repo::new());
    let before = snapshot(&repo.dir());
    let plain = std::fs::read_to_string(scan.known_hosts(&repo, "plain", false)).unwrap();
    let (_, other) = repo.ssh_host_key(&scan.keygen, "impostor");
    let host = plain.split_whitespace().next().unwrap().to_owned();
    for (name, text, expected) in [
        (
            "revoked",
            format!("{plain}@revoked * {}\n", scan.sshd.host_public_key()),
            "@revoked".to_owned(),
        ),
        (
            "changed",
            format!("{host} {other}\n"),
            repo.fingerprint(&scan.keygen, &other),
        ),
    ] {
        let path = repo.home.write(name, text).display().to_string();
        let output = scan
            .enroll(&repo, &["-y", "--known-hosts", &path])
            .run_failure();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(&expected), "{name}: {stderr}");
        assert_eq!(before, snapshot(&repo.dir()), "{name}");
    }
}
