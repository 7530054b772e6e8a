//! OpenBao Transit as a sops master key (`hc_vault` entries), against a real `bao server -dev`
//! and the real sops 3.11, in both directions: sops `--hc-vault-transit` files opened by aesec,
//! files aesec encrypts under a `.sops.yaml` rule opened by sops, age + transit key groups (one
//! group and two Shamir groups), a namespace inside the engine path, `rotate` of a transit-keyed
//! file, `updatekeys` adding an age member to one (with `check` and `status` seeing the drift
//! first), `enroll --like` in a rule that names a Transit key, and `aesec bao transit rewrap`
//! after a Transit key rotation, and a planted entry naming another server, which gets no
//! request and no token.
//!
//! Every child gets a temporary `HOME` and only the token the test hands it on purpose (the
//! server runs with `-dev-no-store-token`), so no run can pass through a stray `~/.vault-token`.

use std::path::PathBuf;

use aesec_tests::{AgeKey, BaoDev, Cmd, TempHome, age_keygen, require_peer, sops};

const PLAINTEXT: &str = "db:\n    password: hunter2\n    port: 5432\napi_token: t0ps3cret\n";

/// A dev server with a Transit engine and key, sops, one age key and a temporary home.
struct Fixture {
    bao: BaoDev,
    home: TempHome,
    sops: PathBuf,
    age: AgeKey,
}

impl Fixture {
    fn new() -> Option<Self> {
        let bao = BaoDev::start()?;
        let sops = sops()?;
        let keygen = age_keygen()?;
        let home = TempHome::new();
        let age = AgeKey::generate(&keygen, &home, "admin");
        bao.cmd().args(["secrets", "enable", "transit"]).run();
        bao.cmd()
            .args(["write", "-f", "transit/keys/sops-key"])
            .run();
        Some(Self {
            bao,
            home,
            sops,
            age,
        })
    }

    /// sops' URI of the test key.
    fn uri(&self) -> String {
        format!("{}/v1/transit/keys/sops-key", self.bao.addr())
    }

    /// A child that may use the Transit key (sops' `VAULT_TOKEN`) but has no age identity.
    fn with_token(&self, mut cmd: Cmd) -> Cmd {
        cmd.env("VAULT_TOKEN", self.bao.token());
        cmd
    }

    /// A child that has the age identity but no token at all.
    fn with_age(&self, mut cmd: Cmd) -> Cmd {
        cmd.env("SOPS_AGE_KEY_FILE", &self.age.identity_file);
        cmd
    }

    /// Asserts that `tool`, given only the token, decrypts `file` to [`PLAINTEXT`].
    fn assert_opens(&self, tool: Cmd, file: &str) {
        let out = self.with_token(tool).args(["decrypt", file]).stdout();
        assert_eq!(out, PLAINTEXT, "{file}");
    }

    /// `secret.yaml` (the plaintext) encrypted by the real sops with `--hc-vault-transit`: its
    /// output.
    fn sops_encrypts_with_transit(&self) -> String {
        self.home.write("secret.yaml", PLAINTEXT);
        self.with_token(self.sops())
            .args(["encrypt", "--hc-vault-transit", &self.uri(), "secret.yaml"])
            .stdout()
    }

    fn sops(&self) -> Cmd {
        self.home.cmd(&self.sops)
    }

    /// aesec configured for the dev server (`BAO_ADDR`): it sends a token to no other server.
    fn aesec(&self) -> Cmd {
        let mut cmd = self.home.aesec();
        cmd.env("BAO_ADDR", self.bao.addr());
        cmd
    }
}

/// The `enc` strings of the file's `hc_vault` entries.
fn transit_encs(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("enc: vault:v"))
        .map(|rest| format!("vault:v{rest}"))
        .collect()
}

#[test]
fn sops_transit_file_decrypts_with_aesec() {
    let fx = require_peer!(Fixture::new());
    let encrypted = fx.sops_encrypts_with_transit();
    assert_eq!(transit_encs(&encrypted).len(), 1, "{encrypted}");
    fx.home.write("secret.enc.yaml", &encrypted);
    // sops' token fallback: no VAULT_TOKEN, the token in ~/.vault-token.
    fx.home
        .write(".vault-token", format!("{}\n", fx.bao.token()));
    let plain = fx.aesec().args(["decrypt", "secret.enc.yaml"]).stdout();
    assert_eq!(plain, PLAINTEXT);
    // aesec's BAO_TOKEN wins over a wrong VAULT_TOKEN; without any token it fails.
    fx.home.write(".vault-token", "");
    let plain = fx
        .aesec()
        .env("BAO_TOKEN", fx.bao.token())
        .env("VAULT_TOKEN", "wrong")
        .args(["decrypt", "secret.enc.yaml"])
        .stdout();
    assert_eq!(plain, PLAINTEXT);
    let refused = fx
        .aesec()
        .args(["decrypt", "secret.enc.yaml"])
        .run_code(128);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&fx.uri()) && stderr.contains("no token"),
        "{stderr}"
    );
    // A wrong token: OpenBao's refusal is shown with the key.
    let refused = fx
        .aesec()
        .env("VAULT_TOKEN", "wrong")
        .args(["decrypt", "secret.enc.yaml"])
        .run_code(128);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&fx.uri()) && stderr.contains("permission denied"),
        "{stderr}"
    );
}

#[test]
fn a_planted_entry_naming_another_server_gets_no_token() {
    let fx = require_peer!(Fixture::new());
    let encrypted = fx.sops_encrypts_with_transit();
    // Whoever can write to the repository (and holds no key) puts an entry for their own
    // server before the real one; the metadata is outside the MAC, so the file stays valid.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let planted = format!("http://{}", listener.local_addr().unwrap());
    let real = format!("- vault_address: {}", fx.bao.addr());
    let entry_start = encrypted.find(&real).expect("the hc_vault entry");
    let line_start = encrypted[..entry_start].rfind('\n').unwrap() + 1;
    let entry_end = encrypted[entry_start..]
        .find("enc: vault:")
        .map(|at| entry_start + at)
        .and_then(|at| encrypted[at..].find('\n').map(|end| at + end + 1))
        .unwrap();
    let entry = &encrypted[line_start..entry_end];
    let planted_entry = entry.replace(&fx.bao.addr(), &planted);
    let tampered = encrypted.replacen(entry, &format!("{planted_entry}{entry}"), 1);
    assert_eq!(transit_encs(&tampered).len(), 2, "{tampered}");
    fx.home.write("secret.enc.yaml", &tampered);
    let plain = fx
        .with_token(fx.aesec())
        .args(["decrypt", "secret.enc.yaml"])
        .stdout();
    assert_eq!(plain, PLAINTEXT);
    // Alone, the planted entry is refused with the reason, still without a request.
    let alone = encrypted.replacen(entry, &planted_entry, 1);
    fx.home.write("planted.enc.yaml", &alone);
    let refused = fx
        .with_token(fx.aesec())
        .args(["decrypt", "planted.enc.yaml"])
        .run_code(128);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&planted) && stderr.contains("set BAO_ADDR="),
        "{stderr}"
    );
    let contacted = listener.accept();
    assert!(
        matches!(&contacted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the planted server was contacted: {contacted:?}"
    );
}

#[test]
fn aesec_rule_file_decrypts_with_sops() {
    let fx = require_peer!(Fixture::new());
    fx.home.write(
        ".sops.yaml",
        format!("creation_rules:\n  - hc_vault_transit_uri: {}\n", fx.uri()),
    );
    fx.home.write("secret.yaml", PLAINTEXT);
    let encrypted = fx
        .aesec()
        .env("BAO_TOKEN", fx.bao.token())
        .args(["encrypt", "secret.yaml"])
        .stdout();
    let expected_head = format!(
        "    hc_vault:\n        - vault_address: {}\n          engine_path: transit\n          key_name: sops-key\n          created_at: \"",
        fx.bao.addr()
    );
    assert!(encrypted.contains(&expected_head), "{encrypted}");
    assert_eq!(transit_encs(&encrypted).len(), 1, "{encrypted}");
    fx.home.write("secret.enc.yaml", &encrypted);
    // sops reads only VAULT_TOKEN (never BAO_TOKEN).
    fx.assert_opens(fx.sops(), "secret.enc.yaml");
    // The same through the command-line flag instead of the rule.
    let flagged = fx
        .with_token(fx.aesec())
        .args(["--config", "/dev/null", "encrypt", "--hc-vault-transit"])
        .arg(fx.uri())
        .arg("secret.yaml")
        .stdout();
    fx.home.write("flagged.enc.yaml", &flagged);
    fx.assert_opens(fx.sops(), "flagged.enc.yaml");
    // JSON carries the same entry, in sops' field order.
    let json = r#"{"api_token": "t0ps3cret"}"#;
    fx.home.write("secret.json", json);
    let encrypted = fx
        .with_token(fx.aesec())
        .args(["encrypt", "secret.json"])
        .stdout();
    let expected_head = format!(
        "\"hc_vault\": [\n\t\t\t{{\n\t\t\t\t\"vault_address\": \"{}\",\n\t\t\t\t\"engine_path\": \"transit\",\n\t\t\t\t\"key_name\": \"sops-key\",\n\t\t\t\t\"created_at\": \"",
        fx.bao.addr()
    );
    assert!(encrypted.contains(&expected_head), "{encrypted}");
    fx.home.write("secret.enc.json", &encrypted);
    let plain = fx
        .with_token(fx.sops())
        .args(["decrypt", "secret.enc.json"])
        .stdout();
    assert_eq!(plain.trim(), "{\n\t\"api_token\": \"t0ps3cret\"\n}");
}

#[test]
fn mixed_age_and_transit_key_groups_open_with_either_tool() {
    let fx = require_peer!(Fixture::new());
    let recipient = &fx.age.recipient;
    let uri = fx.uri();
    fx.home.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: one\\.yaml$\n    key_groups:\n      - age: [{recipient}]\n        hc_vault: [{uri}]\n  - path_regex: two\\.yaml$\n    key_groups:\n      - age: [{recipient}]\n      - hc_vault: [{uri}]\n"
        ),
    );
    for name in ["one.yaml", "two.yaml"] {
        fx.home.write(name, PLAINTEXT);
        let encrypted = fx.with_token(fx.aesec()).args(["encrypt", name]).stdout();
        assert_eq!(transit_encs(&encrypted).len(), 1, "{encrypted}");
        let enc_name = format!("enc.{name}");
        fx.home.write(&enc_name, &encrypted);
        if name == "one.yaml" {
            // One group: either key alone opens it, in either tool.
            for tool in [fx.sops(), fx.aesec()] {
                let out = fx.with_age(tool).args(["decrypt", &enc_name]).stdout();
                assert_eq!(out, PLAINTEXT);
            }
            for tool in [fx.sops(), fx.aesec()] {
                let out = fx.with_token(tool).args(["decrypt", &enc_name]).stdout();
                assert_eq!(out, PLAINTEXT);
            }
        } else {
            // Two Shamir groups: both are needed; the transit share is 33 bytes.
            for tool in [fx.sops(), fx.aesec()] {
                let mut cmd = fx.with_age(tool);
                cmd.env("VAULT_TOKEN", fx.bao.token());
                assert_eq!(cmd.args(["decrypt", &enc_name]).stdout(), PLAINTEXT);
            }
            fx.with_age(fx.aesec())
                .args(["decrypt", &enc_name])
                .run_code(128);
        }
    }
    // And a sops-made mixed file opens in aesec through the transit entry alone.
    let made_by_sops = fx
        .with_token(fx.sops())
        .args(["encrypt", "one.yaml"])
        .stdout();
    fx.home.write("sops.one.yaml", &made_by_sops);
    fx.assert_opens(fx.aesec(), "sops.one.yaml");
}

#[test]
fn updatekeys_adds_an_age_member_to_a_transit_keyed_file() {
    let fx = require_peer!(Fixture::new());
    let uri = fx.uri();
    fx.home.write(
        ".sops.yaml",
        format!("creation_rules:\n  - hc_vault_transit_uri: {uri}\n"),
    );
    fx.home.write("secret.yaml", PLAINTEXT);
    let encrypted = fx
        .with_token(fx.sops())
        .args(["encrypt", "secret.yaml"])
        .stdout();
    fx.home.write("secret.yaml", &encrypted);
    let before = transit_encs(&encrypted);
    // A transit key is a key like any other to the keyless gate: the file matches its rule.
    fx.aesec().args(["check", "secret.yaml"]).run();
    // The rule now also names the age key: aesec re-wraps the same data key for it.
    fx.home.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - key_groups:\n      - hc_vault: [{uri}]\n        age: [{}]\n",
            fx.age.recipient
        ),
    );
    let status = fx.aesec().args(["status"]).stdout();
    assert!(status.contains("1 with drift"), "{status}");
    let drift = fx.aesec().args(["check", "secret.yaml"]).run_code(10);
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&drift.stdout),
        String::from_utf8_lossy(&drift.stderr)
    );
    assert!(report.contains(&fx.age.recipient), "{report}");
    fx.with_token(fx.aesec())
        .args(["updatekeys", "-y", "secret.yaml"])
        .run();
    fx.aesec().args(["check", "secret.yaml"]).run();
    let status = fx.aesec().args(["status"]).stdout();
    assert!(status.contains("0 with drift"), "{status}");
    let updated = fx.home.read("secret.yaml");
    assert!(updated.contains(&fx.age.recipient), "{updated}");
    assert_eq!(
        transit_encs(&updated),
        before,
        "the transit entry is kept verbatim"
    );
    // sops opens it with the new age key alone, and still with the token alone.
    let out = fx
        .with_age(fx.sops())
        .args(["decrypt", "secret.yaml"])
        .stdout();
    assert_eq!(out, PLAINTEXT);
    fx.assert_opens(fx.sops(), "secret.yaml");
    // sops agrees there is nothing left to update.
    let again = fx
        .with_token(fx.sops())
        .args(["updatekeys", "-y", "secret.yaml"])
        .stdout();
    assert_eq!(fx.home.read("secret.yaml"), updated, "{again}");
}

#[test]
fn rotate_wraps_a_new_data_key_with_the_transit_key() {
    let fx = require_peer!(Fixture::new());
    let encrypted = fx.sops_encrypts_with_transit();
    fx.home.write("secret.yaml", &encrypted);
    fx.with_token(fx.aesec())
        .args(["rotate", "-i", "secret.yaml"])
        .run();
    let rotated = fx.home.read("secret.yaml");
    let encs = transit_encs(&rotated);
    assert_eq!(encs.len(), 1, "{rotated}");
    assert_ne!(
        encs,
        transit_encs(&encrypted),
        "a new data key, wrapped anew"
    );
    fx.assert_opens(fx.sops(), "secret.yaml");
}

#[test]
fn a_namespace_inside_the_engine_path_needs_no_namespace_setting() {
    let fx = require_peer!(Fixture::new());
    fx.bao.cmd().args(["namespace", "create", "team-a"]).run();
    let mut enable = fx.bao.cmd();
    enable.env("BAO_NAMESPACE", "team-a").args([
        "secrets",
        "enable",
        "-path=sops/transit",
        "transit",
    ]);
    enable.run();
    let mut create = fx.bao.cmd();
    create
        .env("BAO_NAMESPACE", "team-a")
        .args(["write", "-f", "sops/transit/keys/k1"]);
    create.run();
    let uri = format!("{}/v1/team-a/sops/transit/keys/k1", fx.bao.addr());
    fx.home.write(
        ".sops.yaml",
        format!("creation_rules:\n  - hc_vault_transit_uri: {uri}\n"),
    );
    fx.home.write("secret.yaml", PLAINTEXT);
    // Each tool encrypts, the other decrypts, neither given a namespace: the file is
    // self-contained.
    for (writer, reader, name) in [
        (fx.aesec(), fx.sops(), "aesec.enc.yaml"),
        (fx.sops(), fx.aesec(), "sops.enc.yaml"),
    ] {
        let encrypted = fx
            .with_token(writer)
            .args(["encrypt", "secret.yaml"])
            .stdout();
        assert!(
            encrypted.contains("engine_path: team-a/sops/transit\n"),
            "{name}: {encrypted}"
        );
        fx.home.write(name, &encrypted);
        let out = fx.with_token(reader).args(["decrypt", name]).stdout();
        assert_eq!(out, PLAINTEXT, "{name}");
    }
}

#[test]
fn rewrap_after_a_key_rotation_changes_only_the_transit_entry() {
    let fx = require_peer!(Fixture::new());
    fx.home.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - key_groups:\n      - age: [{}]\n        hc_vault: [{}]\n",
            fx.age.recipient,
            fx.uri()
        ),
    );
    fx.home.write("secret.yaml", PLAINTEXT);
    let encrypted = fx
        .with_token(fx.sops())
        .args(["encrypt", "secret.yaml"])
        .stdout();
    fx.home.write("secret.yaml", &encrypted);
    let rewrap = |extra: &[&str]| {
        let mut cmd = fx.with_token(fx.aesec());
        cmd.args(["bao", "transit", "rewrap"]).args(extra);
        cmd.stdout()
    };
    // Nothing is stale before the rotation.
    assert!(rewrap(&["-y"]).contains("0 file(s) to re-wrap"));
    assert_eq!(fx.home.read("secret.yaml"), encrypted);
    fx.bao
        .cmd()
        .args(["write", "-f", "transit/keys/sops-key/rotate"])
        .run();
    let plan = rewrap(&["--dry-run"]);
    assert!(plan.contains(&format!("{}: v1 -> v2", fx.uri())), "{plan}");
    assert_eq!(
        fx.home.read("secret.yaml"),
        encrypted,
        "a dry run writes nothing"
    );
    // With --json: the plan (file, key, versions) and the files written, nothing else.
    let report: serde_json::Value = serde_json::from_str(&rewrap(&["-y", "--json"])).unwrap();
    assert_eq!(
        report,
        serde_json::json!({
            "plan": [{"file": "secret.yaml", "entries": [{"key": fx.uri(), "version": 1, "latest": 2}]}],
            "rewrapped": ["secret.yaml"],
        })
    );
    let rewrapped = fx.home.read("secret.yaml");
    let encs = transit_encs(&rewrapped);
    assert!(
        encs.len() == 1 && encs[0].starts_with("vault:v2:"),
        "{rewrapped}"
    );
    let other_lines = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|line| !line.trim().starts_with("enc: vault:v"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(other_lines(&rewrapped), other_lines(&encrypted));
    // Version 1 can no longer decrypt anything: sops opens the file through version 2.
    fx.bao
        .cmd()
        .args([
            "write",
            "transit/keys/sops-key/config",
            "min_decryption_version=2",
        ])
        .run();
    fx.assert_opens(fx.sops(), "secret.yaml");
    let out = fx
        .with_age(fx.sops())
        .args(["decrypt", "secret.yaml"])
        .stdout();
    assert_eq!(out, PLAINTEXT);
    assert!(rewrap(&["-y"]).contains("0 file(s) to re-wrap"));
}

#[test]
fn enroll_like_grants_a_rule_with_a_transit_key_opening_files_through_transit() {
    let fx = require_peer!(Fixture::new());
    let keygen = require_peer!(age_keygen());
    let db = AgeKey::generate(&keygen, &fx.home, "db");
    let host = AgeKey::generate(&keygen, &fx.home, "trinity");
    fx.home.write(
        ".sops.yaml",
        format!(
            "keys:\n  - &admin_alice {}\n  - &db {}\ncreation_rules:\n  - path_regex: ^shared\\.yaml$\n    key_groups:\n      - age: [*admin_alice, *db]\n        hc_vault: [{}]\n",
            fx.age.recipient,
            db.recipient,
            fx.uri()
        ),
    );
    fx.home.write("plain.yaml", PLAINTEXT);
    let encrypted = fx
        .with_token(fx.aesec())
        .args([
            "encrypt",
            "--filename-override",
            "shared.yaml",
            "plain.yaml",
        ])
        .stdout();
    fx.home.write("shared.yaml", &encrypted);
    fx.home
        .write("trinity.recipient", format!("{}\n", host.recipient));
    // Only the token opens the file here: no age identity is given.
    fx.with_token(fx.aesec())
        .args([
            "enroll",
            "trinity",
            "-y",
            "--like",
            "db",
            "--key",
            "trinity.recipient",
        ])
        .run();
    let shared = fx.home.read("shared.yaml");
    assert!(shared.contains(&host.recipient), "{shared}");
    assert_eq!(transit_encs(&shared), transit_encs(&encrypted));
    let mut as_host = fx.sops();
    as_host.env("SOPS_AGE_KEY_FILE", &host.identity_file);
    assert_eq!(as_host.args(["decrypt", "shared.yaml"]).stdout(), PLAINTEXT);
    fx.aesec().args(["check"]).run();
}
