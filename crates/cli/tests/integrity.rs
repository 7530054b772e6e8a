//! Regression tests of issue 6 (integrity) through the CLI, beside the real sops 3.11:
//!
//! - a clear value where the file's crypt rule requires encryption (a clear value renamed
//!   under an encrypted key, one clear value split in two, an encrypted number replaced by its
//!   plaintext) is refused by every command that opens a file, exit 25, naming the file and the
//!   key path, and nothing is written; sops refuses the same files;
//! - `rotate --older-than` wraps the new data key for the recipients of the `.sops.yaml` rule,
//!   so a recipient hand-added to a file's metadata cannot read the rotated file;
//! - `check` reports, without a key, a clear value in an encrypted position and a `type:` that
//!   its ciphertext length contradicts.

#[path = "support/harness.rs"]
#[expect(
    dead_code,
    reason = "shared test support: this test crate uses only part of it"
)]
mod harness;

use std::time::Duration;

use harness::Sandbox;

/// The plaintext of the attacked file: one clear value (`host_unencrypted`) under sops'
/// default rule, the others encrypted.
const PLAINTEXT: &str = "db:\n    password: s3cret\n    host_unencrypted: db.local\nport: 5432\n";

/// The attacks on the encrypted `PLAINTEXT`: a name, the edit, the key path refused, and what
/// sops 3.11 exits with on the same file.
fn attacks(encrypted: &str) -> Vec<(&'static str, String, &'static str, i32)> {
    let port_line = encrypted
        .lines()
        .find(|line| line.starts_with("port: ENC["))
        .expect("port is encrypted");
    vec![
        (
            "rename",
            encrypted.replace("host_unencrypted: db.local", "admin_token: db.local"),
            r#"["db"]["admin_token"]"#,
            25,
        ),
        (
            "split",
            encrypted.replace(
                "    host_unencrypted: db.local\n",
                "    host_unencrypted: db.\n    injected: local\n",
            ),
            r#"["db"]["injected"]"#,
            25,
        ),
        // sops 3.11 panics here ("interface conversion: interface {} is int, not string").
        (
            "number",
            encrypted.replace(port_line, "port: 5432"),
            r#"["port"]"#,
            2,
        ),
    ]
}

/// Writes `.sops.yaml` naming the sandbox key and returns `PLAINTEXT` encrypted for it.
fn repository(sandbox: &Sandbox) -> String {
    sandbox.write(
        ".sops.yaml",
        format!("creation_rules:\n  - age: {}\n", sandbox.recipient),
    );
    sandbox.encrypted("clean.yaml", PLAINTEXT)
}

#[test]
fn clear_values_in_encrypted_positions_are_refused_by_every_command() {
    let mut sandbox = Sandbox::new();
    let encrypted = repository(&sandbox);
    let editor = sandbox.script("editor.sh", "exit 0");
    sandbox.env("EDITOR", editor.to_str().expect("utf-8 temp path"));
    // `rotate --older-than 0s` must find the files due: lastmodified has whole seconds.
    std::thread::sleep(Duration::from_millis(1_100));
    for (attack, text, key_path, sops_code) in attacks(&encrypted) {
        let name = format!("{attack}.yaml");
        sandbox.write(&name, &text);
        let commands: [&[&str]; 7] = [
            &["decrypt", &name],
            &["decrypt", "--extract", r#"["db"]["password"]"#, &name],
            &["set", &name, r#"["db"]["password"]"#, r#""x""#],
            &["unset", &name, r#"["db"]["password"]"#],
            &["edit", &name],
            &["rotate", "-i", &name],
            &["rotate", "--older-than", "0s", &name],
        ];
        for args in commands {
            sandbox
                .run(args)
                .code(25)
                .stderr_has(&name)
                .stderr_has(key_path)
                .stderr_has("in clear");
            assert_eq!(sandbox.read_text(&name), text, "{attack}: {args:?} wrote");
        }
        // updatekeys opens every file it changes: a new recipient makes it change this one.
        let other = Sandbox::new();
        sandbox.write(
            ".sops.yaml",
            format!(
                "creation_rules:\n  - age: {}, {}\n",
                sandbox.recipient, other.recipient
            ),
        );
        sandbox
            .run(&["updatekeys", "-y", &name])
            .code(25)
            .stderr_has(key_path);
        assert_eq!(sandbox.read_text(&name), text, "{attack}: updatekeys wrote");
        sandbox.write(
            ".sops.yaml",
            format!("creation_rules:\n  - age: {}\n", sandbox.recipient),
        );

        // sops 3.11 refuses the same file in each command that decrypts values.
        let sops_commands: [&[&str]; 5] = [
            &["decrypt", &name],
            &["decrypt", "--extract", r#"["db"]["password"]"#, &name],
            &["set", &name, r#"["db"]["password"]"#, r#""x""#],
            &["unset", &name, r#"["db"]["password"]"#],
            &["rotate", "-i", &name],
        ];
        for args in sops_commands {
            if let Some(run) = sandbox.sops(args) {
                run.code(sops_code);
                assert_eq!(
                    sandbox.read_text(&name),
                    text,
                    "{attack}: sops {args:?} wrote"
                );
            }
        }
        if sops_code == 25
            && let Some(run) = sandbox.sops(&["decrypt", &name])
        {
            run.stderr_has("does not match sops' data format");
        }
    }
    // The untouched file still decrypts with both.
    sandbox
        .run(&["decrypt", "clean.yaml"])
        .ok()
        .stdout_has("host_unencrypted: db.local");
}

#[test]
fn check_reports_clear_values_and_impossible_types_without_a_key() {
    let mut sandbox = Sandbox::new();
    let encrypted = repository(&sandbox);
    sandbox.unset_env("SOPS_AGE_KEY_FILE");
    sandbox.run(&["check"]).ok();
    for (attack, text, key_path, _) in attacks(&encrypted) {
        let name = format!("{attack}.yaml");
        sandbox.write(&name, &text);
        let run = sandbox.run(&["check", &name]).code(10);
        assert!(
            run.stdout
                .contains(&format!("value at {key_path} is in clear")),
            "{attack}\n{run}"
        );
        let json = sandbox.run(&["check", "--json", &name]).code(10);
        let parsed: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON report");
        assert_eq!(parsed["findings"][0]["kind"], "clear_value", "{json}");
        assert_eq!(parsed["findings"][0]["key_path"], key_path, "{json}");
        std::fs::remove_file(sandbox.work.join(&name)).expect("remove");
    }
    // `type:str` relabelled `type:bool`: 6 bytes ("s3cret") no boolean has.
    let relabelled = encrypted.replacen("type:str]", "type:bool]", 1);
    sandbox.write("relabelled.yaml", &relabelled);
    let run = sandbox.run(&["check", "relabelled.yaml"]).code(10);
    assert!(
        run.stdout
            .contains(r#"value at ["db"]["password"] is type:bool but its plaintext is 6 byte(s)"#),
        "{run}"
    );
}

#[test]
fn rotate_older_than_does_not_hand_the_new_key_to_a_recipient_added_to_the_metadata() {
    let sandbox = Sandbox::new();
    let attacker = Sandbox::new();
    sandbox.write(
        ".sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: secrets/.*\n    age: {}\n",
            sandbox.recipient
        ),
    );
    sandbox.write("secrets/plain.yaml", PLAINTEXT);
    sandbox.run(&["encrypt", "-i", "secrets/plain.yaml"]).ok();
    // The attacker, without any key, copies the admin's key entry under their own recipient
    // (the metadata is not covered by the MAC).
    let text = sandbox.read_text("secrets/plain.yaml");
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|line| line.trim_start().starts_with("- recipient: "))
        .expect("an age entry");
    let end = start
        + lines[start..]
            .iter()
            .position(|line| line.contains("-----END AGE ENCRYPTED FILE-----"))
            .expect("the entry ends");
    let mut forged: Vec<String> = lines.iter().map(|line| (*line).to_owned()).collect();
    let copy: Vec<String> = lines[start..=end]
        .iter()
        .map(|line| line.replace(&sandbox.recipient, &attacker.recipient))
        .collect();
    forged.splice(end + 1..end + 1, copy);
    sandbox.write("secrets/plain.yaml", forged.join("\n") + "\n");
    sandbox
        .run(&["check"])
        .code(10)
        .stdout_has(&format!("extra recipient {}", attacker.recipient));
    // The admin's key still opens the file: the MAC does not see the extra entry.
    sandbox.run(&["decrypt", "secrets/plain.yaml"]).ok();

    std::thread::sleep(Duration::from_millis(1_100));
    sandbox
        .run(&["rotate", "--older-than", "0s"])
        .ok()
        .stderr_has("recipients differ from .sops.yaml")
        .stderr_has(&attacker.recipient);
    let rotated = sandbox.read_text("secrets/plain.yaml");
    assert!(!rotated.contains(&attacker.recipient), "{rotated}");
    sandbox.run(&["check"]).ok();

    // The attacker's identity (their sandbox's key) opens nothing, with aesec or sops.
    let path = sandbox.work.join("secrets/plain.yaml");
    let path = path.to_str().expect("utf-8 temp path");
    attacker.run(&["decrypt", path]).code(128);
    if let Some(run) = attacker.sops(&["decrypt", path]) {
        run.code(128);
    }
    sandbox
        .run(&["decrypt", "secrets/plain.yaml"])
        .ok()
        .stdout_has("s3cret");
}
