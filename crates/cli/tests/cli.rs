//! End-to-end tests of the `aesec` binary: every command, its exit codes and messages, run with a
//! temporary HOME and a cleared environment (see `support/harness.rs`). Where the real sops is
//! available, files aesec writes are decrypted with it to prove they stay valid.

#[path = "support/harness.rs"]
mod harness;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use harness::{Run, Sandbox, vector};

const YAML: &str = "a: 1\nb:\n    c: hello\n    d:\n        - 1\n        - two\n";
const JSON: &str = "{\n\t\"a\": \"x\",\n\t\"b\": {\n\t\t\"c\": true\n\t}\n}\n";
const DOTENV: &str = "A=1\nB=hello world\n";
const INI: &str = "[section]\nkey   = value\nother = 2\n";
const BINARY: &[u8] = b"\x00\x01binary\xffdata\n";

/// The YAML creation rule used by the config tests.
fn sops_yaml(recipient: &str) -> String {
    format!("creation_rules:\n  - path_regex: secrets/.*\\.yaml$\n    age: {recipient}\n")
}

/// The `ENC[...]` value on the line of `key` in an encrypted YAML file.
fn yaml_value<'t>(text: &'t str, key: &str) -> &'t str {
    let prefix = format!("{key}: ");
    text.lines()
        .find_map(|line| line.trim_start().strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no {key:?} in\n{text}"))
}

/// Every `ENC[...]` value of a file, in order.
fn ciphertexts(text: &str) -> Vec<&str> {
    text.match_indices("ENC[AES256_GCM,")
        .map(|(start, _)| {
            let rest = &text[start..];
            &rest[..=rest.find(']').expect("closed ENC[")]
        })
        .collect()
}

/// The age `enc` block of the first recipient.
fn age_enc(text: &str) -> String {
    let start = text.find("-----BEGIN AGE").expect("an age stanza");
    let end = text.find("-----END AGE").expect("an age stanza end");
    text[start..end].to_owned()
}

/// Asserts that the real sops decrypts `name` to `expected` (when sops is present).
#[track_caller]
fn sops_decrypts_to(sandbox: &Sandbox, name: &str, expected: &str) {
    if let Some(run) = sandbox.sops(&["decrypt", name]) {
        let run = run.ok();
        assert_eq!(run.stdout, expected, "real sops output\n{run}");
    }
}

// ---------------------------------------------------------------------------------------------
// 1. encrypt / decrypt

#[test]
fn each_store_round_trips_and_filestatus_sees_it() {
    let sandbox = Sandbox::new();
    let cases: [(&str, &[u8]); 5] = [
        ("s.yaml", YAML.as_bytes()),
        ("s.json", JSON.as_bytes()),
        ("s.env", DOTENV.as_bytes()),
        ("s.ini", INI.as_bytes()),
        ("s.bin", BINARY),
    ];
    for (name, plaintext) in cases {
        sandbox.write(name, plaintext);
        sandbox
            .run(&["filestatus", name])
            .ok()
            .stdout_has("{\"encrypted\":false}");
        let encrypted = sandbox
            .run(&["encrypt", "--age", &sandbox.recipient, name])
            .ok();
        assert!(encrypted.stdout.contains("ENC[AES256_GCM,"), "{encrypted}");
        let enc_name = format!("enc-{name}");
        sandbox.write(&enc_name, &encrypted.stdout_bytes);
        let status = sandbox.run(&["filestatus", &enc_name]).ok();
        assert_eq!(status.stdout, "{\"encrypted\":true}\n", "{name}: {status}");
        let decrypted = sandbox.run(&["decrypt", &enc_name]).ok();
        assert_eq!(decrypted.stdout_bytes, plaintext, "{name}: {decrypted}");
        if let Some(run) = sandbox.sops(&["decrypt", &enc_name]) {
            assert_eq!(run.ok().stdout_bytes, plaintext, "real sops, {name}");
        }
        // --output, then decrypt --output.
        let out = format!("out-{name}");
        let plain_out = format!("plain-out-{name}");
        sandbox
            .run(&[
                "encrypt",
                "--age",
                &sandbox.recipient,
                "--output",
                &out,
                name,
            ])
            .ok();
        sandbox.run(&["decrypt", "--output", &plain_out, &out]).ok();
        assert_eq!(sandbox.read(&plain_out), plaintext, "{name} via --output");
        // -i both ways.
        let in_place = format!("in-place-{name}");
        sandbox.write(&in_place, plaintext);
        sandbox
            .run(&["encrypt", "--age", &sandbox.recipient, "-i", &in_place])
            .ok();
        let status = sandbox.run(&["filestatus", &in_place]).ok();
        assert_eq!(status.stdout, "{\"encrypted\":true}\n", "{name}: {status}");
        sandbox.run(&["decrypt", "-i", &in_place]).ok();
        assert_eq!(sandbox.read(&in_place), plaintext, "{name} via -i");
        // stdin both ways, the store named by --filename-override.
        let encrypted = sandbox
            .run_stdin(
                &[
                    "encrypt",
                    "--age",
                    &sandbox.recipient,
                    "--filename-override",
                    name,
                ],
                plaintext,
            )
            .ok();
        let decrypted = sandbox
            .run_stdin(
                &["decrypt", "--filename-override", name],
                &encrypted.stdout_bytes,
            )
            .ok();
        assert_eq!(decrypted.stdout_bytes, plaintext, "{name} via stdin");
    }
}

#[test]
fn filestatus_json_flag_prints_the_same_json() {
    let sandbox = Sandbox::new();
    sandbox.encrypted("s.yaml", YAML);
    sandbox
        .run(&["--json", "filestatus", "s.yaml"])
        .ok()
        .stdout_has("{\"encrypted\":true}\n");
    sandbox.run(&["filestatus", "missing.yaml"]).code(100);
}

#[test]
fn encrypt_output_and_decrypt_output_mode_0600() {
    let sandbox = Sandbox::new();
    sandbox.write("s.yaml", YAML);
    let run = sandbox
        .run(&[
            "encrypt",
            "--age",
            &sandbox.recipient,
            "--output",
            "s.enc.yaml",
            "s.yaml",
        ])
        .ok();
    assert!(run.stdout.is_empty(), "{run}");
    assert_eq!(sandbox.read_text("s.yaml"), YAML, "the input is untouched");
    // An existing, wider output file is replaced with mode 0600.
    sandbox.write("plain.yaml", "old");
    std::fs::set_permissions(
        sandbox.work.join("plain.yaml"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let run = sandbox
        .run(&["decrypt", "--output", "plain.yaml", "s.enc.yaml"])
        .ok();
    assert!(run.stdout.is_empty(), "{run}");
    assert_eq!(sandbox.read_text("plain.yaml"), YAML);
    assert_eq!(sandbox.mode("plain.yaml"), 0o600);
    sandbox
        .run(&["decrypt", "--output", "new.yaml", "s.enc.yaml"])
        .ok();
    assert_eq!(sandbox.mode("new.yaml"), 0o600);
}

#[test]
fn in_place_replaces_the_file_atomically() {
    let sandbox = Sandbox::new();
    sandbox.write("s.yaml", YAML);
    let inode_before = std::os::unix::fs::MetadataExt::ino(
        &std::fs::metadata(sandbox.work.join("s.yaml")).unwrap(),
    );
    let run = sandbox
        .run(&["encrypt", "--age", &sandbox.recipient, "-i", "s.yaml"])
        .ok();
    assert!(run.stdout.is_empty(), "{run}");
    let text = sandbox.read_text("s.yaml");
    assert!(text.contains("ENC[AES256_GCM,"), "{text}");
    let inode_after = std::os::unix::fs::MetadataExt::ino(
        &std::fs::metadata(sandbox.work.join("s.yaml")).unwrap(),
    );
    assert_ne!(inode_before, inode_after, "written by rename, not in place");
    let leftovers: Vec<_> = std::fs::read_dir(&sandbox.work)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left: {leftovers:?}");
    sandbox.run(&["decrypt", "--in-place", "s.yaml"]).ok();
    assert_eq!(sandbox.read_text("s.yaml"), YAML);
    assert_eq!(sandbox.mode("s.yaml"), 0o600, "plaintext written 0600");
}

#[test]
fn stdin_needs_a_filename_override_to_encrypt() {
    let sandbox = Sandbox::new();
    let run = sandbox
        .run_stdin(
            &[
                "encrypt",
                "--age",
                &sandbox.recipient,
                "--filename-override",
                "x.json",
                "-",
            ],
            JSON.as_bytes(),
        )
        .ok();
    assert!(run.stdout.starts_with("{\n\t\"a\": \"ENC["), "{run}");
    sandbox.write("x.enc.json", &run.stdout_bytes);
    // No file argument at all: stdin too.
    let run = sandbox
        .run_stdin(
            &[
                "encrypt",
                "--age",
                &sandbox.recipient,
                "--filename-override",
                "x.yaml",
            ],
            YAML.as_bytes(),
        )
        .ok();
    assert!(run.stdout.starts_with("a: ENC["), "{run}");
    sandbox
        .run_stdin(
            &["encrypt", "--age", &sandbox.recipient, "-"],
            YAML.as_bytes(),
        )
        .code(8)
        .stderr_has("--filename-override");
    sandbox
        .run_stdin(
            &[
                "encrypt",
                "--age",
                &sandbox.recipient,
                "--filename-override",
                "x.yaml",
                "-i",
            ],
            YAML.as_bytes(),
        )
        .code(8)
        .stderr_has("--in-place cannot be used with stdin");
    // decrypt reads stdin with no file, the format from --input-type or --filename-override.
    let encrypted = sandbox.read("x.enc.json");
    let run = sandbox
        .run_stdin(&["decrypt", "--input-type", "json"], &encrypted)
        .ok();
    assert_eq!(run.stdout, JSON);
    let run = sandbox
        .run_stdin(
            &["decrypt", "--filename-override", "a.json", "-"],
            &encrypted,
        )
        .ok();
    assert_eq!(run.stdout, JSON);
}

#[test]
fn input_and_output_types_convert_between_stores() {
    let sandbox = Sandbox::new();
    sandbox.encrypted("s.yaml", "a: x\nb:\n    c: true\n");
    let run = sandbox
        .run(&["decrypt", "--output-type", "json", "s.yaml"])
        .ok();
    assert_eq!(run.stdout, JSON);
    // A YAML file under another name, read with --input-type.
    std::fs::copy(sandbox.work.join("s.yaml"), sandbox.work.join("s.txt")).unwrap();
    let run = sandbox
        .run(&[
            "decrypt",
            "--input-type",
            "yaml",
            "--output-type",
            "json",
            "s.txt",
        ])
        .ok();
    assert_eq!(run.stdout, JSON);
    // Encrypt YAML to an encrypted JSON file.
    sandbox.write("p.yaml", "a: x\n");
    let run = sandbox
        .run(&[
            "encrypt",
            "--age",
            &sandbox.recipient,
            "--output-type",
            "json",
            "p.yaml",
        ])
        .ok();
    assert!(run.stdout.starts_with("{\n\t\"a\": \"ENC["), "{run}");
}

#[test]
fn creation_rules_are_found_from_cwd_dash_c_and_config() {
    let sandbox = Sandbox::new();
    sandbox.write(".sops.yaml", sops_yaml(&sandbox.recipient));
    sandbox.write("secrets/a.yaml", YAML);
    let run = sandbox.run(&["encrypt", "secrets/a.yaml"]).ok();
    assert!(run.stdout.contains(&sandbox.recipient), "{run}");
    // From a subdirectory, -C names it; paths are relative to it.
    sandbox.write("sub/.keep", "");
    let run = sandbox.run(&["-C", "secrets", "encrypt", "a.yaml"]).ok();
    assert!(run.stdout.contains(&sandbox.recipient), "{run}");
    // --config names a config elsewhere; SOPS_CONFIG does too.
    std::fs::rename(
        sandbox.work.join(".sops.yaml"),
        sandbox.home.join("conf.yaml"),
    )
    .unwrap();
    sandbox
        .run(&["encrypt", "secrets/a.yaml"])
        .code(1)
        .stderr_has("no .sops.yaml found")
        .hinted();
    let conf = sandbox.home.join("conf.yaml");
    let conf = conf.to_str().unwrap();
    let run = sandbox
        .run(&["--config", conf, "encrypt", "secrets/a.yaml"])
        .ok();
    assert!(run.stdout.contains(&sandbox.recipient), "{run}");
    let mut sandbox = sandbox;
    sandbox.env("SOPS_CONFIG", conf);
    sandbox.run(&["encrypt", "secrets/a.yaml"]).ok();
}

#[test]
fn no_matching_creation_rule_is_a_clear_error() {
    let sandbox = Sandbox::new();
    sandbox.write(".sops.yaml", sops_yaml(&sandbox.recipient));
    sandbox.write("other/a.yaml", YAML);
    let run = sandbox
        .run(&["encrypt", "other/a.yaml"])
        .code(1)
        .stderr_has("other/a.yaml")
        .stderr_has(".sops.yaml")
        .hinted();
    assert!(run.stdout.is_empty(), "{run}");
}

#[test]
fn stores_yaml_indent_changes_output() {
    let sandbox = Sandbox::new();
    sandbox.write(
        ".sops.yaml",
        format!(
            "{}stores:\n  yaml:\n    indent: 2\n",
            sops_yaml(&sandbox.recipient)
        ),
    );
    sandbox.write("secrets/a.yaml", YAML);
    let run = sandbox.run(&["encrypt", "secrets/a.yaml"]).ok();
    assert!(run.stdout.contains("\n  c: ENC["), "2-space indent\n{run}");
    assert!(!run.stdout.contains("\n    c: ENC["), "{run}");
    sandbox.write("secrets/a.enc.yaml", &run.stdout_bytes);
    let run = sandbox.run(&["decrypt", "secrets/a.enc.yaml"]).ok();
    assert_eq!(
        run.stdout,
        "a: 1\nb:\n  c: hello\n  d:\n    - 1\n    - two\n"
    );
}

#[test]
fn encrypt_refuses_an_encrypted_file() {
    let sandbox = Sandbox::new();
    sandbox.encrypted("s.yaml", YAML);
    sandbox
        .run(&["encrypt", "--age", &sandbox.recipient, "s.yaml"])
        .code(203)
        .stderr_has("'s.yaml'")
        .stderr_has("already encrypted")
        .hinted();
}

// ---------------------------------------------------------------------------------------------
// 2. decrypt --extract, --ignore-mac

#[test]
fn extract_prints_strings_raw_and_other_values_as_documents() {
    let sandbox = Sandbox::new();
    sandbox.encrypted("s.yaml", YAML);
    let run = sandbox
        .run(&["decrypt", "--extract", r#"["b"]["c"]"#, "s.yaml"])
        .ok();
    assert_eq!(run.stdout, "hello", "raw, no newline");
    let run = sandbox
        .run(&["decrypt", "--extract", r#"["a"]"#, "s.yaml"])
        .ok();
    assert_eq!(run.stdout, "1\n");
    let run = sandbox
        .run(&["decrypt", "--extract", r#"["b"]"#, "s.yaml"])
        .ok();
    assert_eq!(run.stdout, "c: hello\nd:\n    - 1\n    - two\n");
    let run = sandbox
        .run(&["decrypt", "--extract", r#"["b"]["d"]"#, "s.yaml"])
        .ok();
    assert_eq!(run.stdout, "- 1\n- two\n");
    let run = sandbox
        .run(&["decrypt", "--extract", r#"["b"]["d"][1]"#, "s.yaml"])
        .ok();
    assert_eq!(run.stdout, "two");
    sandbox
        .run(&["decrypt", "--extract", r#"["b""#, "s.yaml"])
        .code(91)
        .hinted();
    sandbox
        .run(&["decrypt", "--extract", "b.c", "s.yaml"])
        .code(91);
    let run = sandbox
        .run(&["decrypt", "--extract", r#"["b"]["missing"]"#, "s.yaml"])
        .code(1)
        .stderr_has("'s.yaml'")
        .stderr_has(r#"["missing"]"#);
    assert!(run.stdout.is_empty(), "{run}");
}

#[test]
fn ignore_mac_decrypts_a_file_whose_mac_does_not_match() {
    let sandbox = Sandbox::new();
    let text = sandbox.encrypted("s.yaml", "a: x\nb: y\n");
    // Dropping a whole value keeps every other value valid but breaks the MAC.
    let without_b: String = text
        .lines()
        .filter(|line| !line.starts_with("b: "))
        .map(|line| format!("{line}\n"))
        .collect();
    sandbox.write("s.yaml", &without_b);
    sandbox
        .run(&["decrypt", "s.yaml"])
        .code(51)
        .stderr_has("'s.yaml'")
        .stderr_has("MAC mismatch")
        .hinted();
    let run = sandbox.run(&["decrypt", "--ignore-mac", "s.yaml"]).ok();
    assert_eq!(run.stdout, "a: x\n");
}

// ---------------------------------------------------------------------------------------------
// 3. exit codes and messages

#[test]
fn no_usable_key_exits_128_and_lists_where_aesec_looked() {
    let mut sandbox = Sandbox::new();
    sandbox.encrypted("s.yaml", YAML);
    sandbox.unset_env("SOPS_AGE_KEY_FILE");
    let run = sandbox
        .run(&["decrypt", "s.yaml"])
        .code(128)
        .stderr_has("cannot decrypt 's.yaml'")
        .stderr_has(&sandbox.recipient)
        .stderr_has("aesec looked for identities in:")
        .stderr_has("SOPS_AGE_KEY_FILE (not set)")
        .stderr_has("/.config/sops/age/keys.txt")
        .stderr_has("/.ssh/id_ed25519")
        .hinted();
    assert!(run.stdout.is_empty(), "{run}");
    // A key file that exists but is not the right key: listed too.
    sandbox.run(&["keys", "generate", "-o", "other.txt"]).ok();
    sandbox.env("SOPS_AGE_KEY_FILE", "other.txt");
    sandbox
        .run(&["decrypt", "s.yaml"])
        .code(128)
        .stderr_has("SOPS_AGE_KEY_FILE 'other.txt'");
    // A broken source is reported among the sources that could not be used.
    sandbox.write("broken.txt", "not a key\n");
    sandbox.env("SOPS_AGE_KEY_FILE", "broken.txt");
    sandbox
        .run(&["decrypt", "s.yaml"])
        .code(128)
        .stderr_has("these identity sources could not be used:")
        .stderr_has("broken.txt");
    // With --json the same facts come as one JSON object on stderr.
    let run = sandbox.run(&["--json", "decrypt", "s.yaml"]).code(128);
    let report: serde_json::Value = serde_json::from_str(run.stderr.trim()).expect("JSON error");
    assert_eq!(report["exit_code"], 128);
    assert!(
        report["identity_sources"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );
}

#[test]
fn tampered_or_swapped_values_exit_25_naming_the_key() {
    let sandbox = Sandbox::new();
    let text = sandbox.encrypted("s.yaml", "a: secret-one\nb: secret-two\n");
    let a = yaml_value(&text, "a").to_owned();
    let b = yaml_value(&text, "b").to_owned();
    // Swap the two ciphertexts: each fails authentication under its new key path.
    let swapped = text.replace(&a, "@A@").replace(&b, &a).replace("@A@", &b);
    sandbox.write("swapped.yaml", &swapped);
    sandbox
        .run(&["decrypt", "swapped.yaml"])
        .code(25)
        .stderr_has("'swapped.yaml'")
        .stderr_has(r#"["a"]"#)
        .hinted();
    // Flip one character of the data.
    let data_start = a.find("data:").unwrap() + 5;
    let mut flipped = a.clone().into_bytes();
    flipped[data_start] = if flipped[data_start] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let tampered = text.replace(&a, std::str::from_utf8(&flipped).unwrap());
    sandbox.write("tampered.yaml", &tampered);
    sandbox
        .run(&["decrypt", "tampered.yaml"])
        .code(25)
        .stderr_has(r#"["a"]"#);
}

#[test]
fn edited_lastmodified_exits_51() {
    let sandbox = Sandbox::new();
    let text = sandbox.encrypted("s.yaml", YAML);
    let edited = text.replace("lastmodified: \"20", "lastmodified: \"19");
    assert_ne!(edited, text);
    sandbox.write("s.yaml", &edited);
    sandbox
        .run(&["decrypt", "s.yaml"])
        .code(51)
        .stderr_has("'s.yaml'")
        .stderr_has("lastmodified")
        .hinted();
}

#[test]
fn input_problems_have_their_own_codes_and_messages() {
    let sandbox = Sandbox::new();
    sandbox
        .run(&["decrypt", "nope.yaml"])
        .code(100)
        .stderr_has("nope.yaml");
    sandbox
        .run(&["encrypt", "--age", &sandbox.recipient, "nope.yaml"])
        .code(100)
        .stderr_has("nope.yaml");
    sandbox.write("empty.yaml", "");
    sandbox
        .run(&["encrypt", "--age", &sandbox.recipient, "empty.yaml"])
        .code(92)
        .stderr_has("'empty.yaml'")
        .stderr_has("empty");
    sandbox.write("bad.yaml", "a: [1,\nb: 2\n");
    sandbox
        .run(&["encrypt", "--age", &sandbox.recipient, "bad.yaml"])
        .code(2)
        .stderr_has("'bad.yaml'")
        .stderr_has("line 2, column")
        .hinted();
    sandbox.write("bad.json", "{\"a\": 1,}");
    sandbox
        .run(&["encrypt", "--age", &sandbox.recipient, "bad.json"])
        .code(2)
        .stderr_has("'bad.json'")
        .stderr_has("line 1, column");
    sandbox
        .run(&["decrypt", "bad.yaml"])
        .code(1)
        .stderr_has("'bad.yaml'")
        .stderr_has("line 2, column");
    sandbox.write("plain.yaml", YAML);
    sandbox
        .run(&["decrypt", "plain.yaml"])
        .code(1)
        .stderr_has("'plain.yaml'")
        .stderr_has("sops metadata not found")
        .hinted();
}

#[test]
fn truncated_files_fail_cleanly() {
    let sandbox = Sandbox::new();
    let text = sandbox.encrypted("s.yaml", YAML);
    let json = sandbox.encrypted("s.json", JSON);
    for cut in [10, text.len() / 2, text.len() - 40] {
        sandbox.write("cut.yaml", &text.as_bytes()[..cut]);
        let run = sandbox.run(&["decrypt", "cut.yaml"]);
        assert_ne!(run.code, 0, "{run}");
        assert!(run.stderr.contains("'cut.yaml'"), "{run}");
    }
    for cut in [1, json.len() / 2, json.len() - 3] {
        sandbox.write("cut.json", &json.as_bytes()[..cut]);
        let run = sandbox.run(&["decrypt", "cut.json"]);
        assert_ne!(run.code, 0, "{run}");
        assert!(run.stderr.contains("'cut.json'"), "{run}");
    }
}

#[test]
fn encrypted_ssh_identity_without_or_with_wrong_passphrase_is_explained() {
    let sandbox = Sandbox::new();
    // V4: the recipient of the passphrase-protected test key.
    let recipient = "age1pa3t6c94xl4z6k02rt0lw2za7e7tdjsse46xjh8y7tluy59qu5tqaqgauq";
    sandbox.write("p.yaml", YAML);
    sandbox
        .run(&[
            "encrypt", "--age", recipient, "--output", "s.yaml", "p.yaml",
        ])
        .ok();
    let key = vector("ssh/id_ed25519_passphrase");
    // No terminal to ask on: the source is reported with its cause.
    sandbox
        .run(&["--identity", key.to_str().unwrap(), "decrypt", "s.yaml"])
        .code(128)
        .stderr_has("id_ed25519_passphrase")
        .stderr_has("passphrase");
    // On a terminal the passphrase is asked for: a wrong one is named as such, the right one works.
    if let Some(run) = sandbox.run_in_terminal(
        &["--identity", key.to_str().unwrap(), "decrypt", "s.yaml"],
        b"wrong\n",
    ) {
        run.code(128)
            .stdout_has("Passphrase for --identity")
            .stdout_has("wrong passphrase for the private key")
            .stdout_has("id_ed25519_passphrase");
    }
    if let Some(run) = sandbox.run_in_terminal(
        &["--identity", key.to_str().unwrap(), "decrypt", "s.yaml"],
        b"test\n",
    ) {
        run.ok().stdout_has("b:\r\n    c: hello\r\n");
    }
    // The unencrypted test key decrypts files for its recipient (V1).
    sandbox
        .run(&[
            "encrypt",
            "--age",
            "age17044m9wgakla6pzftf4srtl3h5mcsr85jysgt5fg23zpnta8sfdqhzn452",
            "--output",
            "v1.yaml",
            "p.yaml",
        ])
        .ok();
    let key = vector("ssh/id_ed25519");
    let run = sandbox
        .run(&["--identity", key.to_str().unwrap(), "decrypt", "v1.yaml"])
        .ok();
    assert_eq!(run.stdout, YAML);
}

// ---------------------------------------------------------------------------------------------
// 4. edit

/// An editor script that appends `line` to the file.
fn appending_editor(sandbox: &Sandbox, line: &str) -> String {
    sandbox
        .script("append.sh", &format!("printf '%s\\n' '{line}' >> \"$1\""))
        .display()
        .to_string()
}

#[test]
fn edit_reencrypts_the_change_and_keeps_other_ciphertexts() {
    let mut sandbox = Sandbox::new();
    let before = sandbox.encrypted("s.yaml", "a: one\nb: two\n");
    let editor = appending_editor(&sandbox, "c: added");
    sandbox.env("EDITOR", &editor);
    sandbox.run(&["edit", "s.yaml"]).ok();
    let after = sandbox.read_text("s.yaml");
    assert_eq!(
        yaml_value(&after, "a"),
        yaml_value(&before, "a"),
        "unchanged value kept"
    );
    assert_eq!(age_enc(&after), age_enc(&before), "age entry kept");
    let identity = sandbox.home.join("key.txt");
    assert_eq!(
        aesec_tests::data_key("s.yaml", after.as_bytes(), &identity),
        aesec_tests::data_key("s.yaml", before.as_bytes(), &identity),
        "same data key"
    );
    let run = sandbox.run(&["decrypt", "s.yaml"]).ok();
    assert_eq!(run.stdout, "a: one\nb: two\nc: added\n");
    sops_decrypts_to(&sandbox, "s.yaml", "a: one\nb: two\nc: added\n");
}

#[test]
fn edit_without_change_exits_200_and_leaves_the_file() {
    let mut sandbox = Sandbox::new();
    let before = sandbox.encrypted("s.yaml", YAML);
    sandbox.env("EDITOR", "true");
    sandbox
        .run(&["edit", "s.yaml"])
        .code(200)
        .stderr_has("not changed");
    assert_eq!(sandbox.read_text("s.yaml"), before);
}

#[test]
fn edit_to_invalid_yaml_or_failing_editor_writes_nothing() {
    let mut sandbox = Sandbox::new();
    let before = sandbox.encrypted("s.yaml", YAML);
    let invalid = sandbox.script("invalid.sh", "printf 'a: [1,\\nb: 2\\n' > \"$1\"");
    sandbox.env("EDITOR", invalid.to_str().unwrap());
    sandbox
        .run(&["edit", "s.yaml"])
        .code(2)
        .stderr_has("invalid")
        .stderr_has("nothing was written");
    assert_eq!(sandbox.read_text("s.yaml"), before);
    let failing = sandbox.script("fail.sh", "echo changed >> \"$1\"; exit 3");
    sandbox.env("EDITOR", failing.to_str().unwrap());
    sandbox
        .run(&["edit", "s.yaml"])
        .code(1)
        .stderr_has("fail.sh")
        .stderr_has("nothing was written");
    assert_eq!(sandbox.read_text("s.yaml"), before);
    sandbox.env("EDITOR", "/nonexistent/editor");
    sandbox.run(&["edit", "s.yaml"]).code(201).hinted();
    assert_eq!(sandbox.read_text("s.yaml"), before);
}

/// The edited text is parsed before anything is sealed: an empty document (92) and a pasted
/// encrypted file (203) are refused with sops' codes, and the file stays as it was.
#[test]
fn edit_to_an_empty_or_encrypted_document_writes_nothing() {
    let mut sandbox = Sandbox::new();
    let before = sandbox.encrypted("s.yaml", YAML);
    let empty = sandbox.script("empty.sh", ": > \"$1\"");
    sandbox.env("EDITOR", empty.to_str().unwrap());
    sandbox
        .run(&["edit", "s.yaml"])
        .code(92)
        .stderr_has("error: the edited 's.yaml' is not valid yaml; nothing was written: ");
    assert_eq!(sandbox.read_text("s.yaml"), before);
    let pasted = sandbox.write("pasted.yaml", &before);
    let paste = sandbox.script("paste.sh", &format!("cat '{}' > \"$1\"", pasted.display()));
    sandbox.env("EDITOR", paste.to_str().unwrap());
    sandbox
        .run(&["edit", "s.yaml"])
        .code(203)
        .stderr_has("already encrypted")
        .hinted();
    assert_eq!(sandbox.read_text("s.yaml"), before);
}

#[test]
fn edit_creates_a_new_file_from_the_creation_rules() {
    let mut sandbox = Sandbox::new();
    sandbox.write(".sops.yaml", sops_yaml(&sandbox.recipient));
    sandbox.write("secrets/.keep", "");
    sandbox.env("EDITOR", "true");
    sandbox.run(&["edit", "secrets/new.yaml"]).code(200);
    assert!(
        !sandbox.work.join("secrets/new.yaml").exists(),
        "unchanged: not created"
    );
    let editor = sandbox.script("replace.sh", "printf 'token: abc\\n' > \"$1\"");
    sandbox.env("EDITOR", editor.to_str().unwrap());
    sandbox.run(&["edit", "secrets/new.yaml"]).ok();
    let text = sandbox.read_text("secrets/new.yaml");
    assert!(text.contains(&sandbox.recipient), "{text}");
    let run = sandbox.run(&["decrypt", "secrets/new.yaml"]).ok();
    assert_eq!(run.stdout, "token: abc\n");
    sandbox
        .run(&["edit", "elsewhere/new.yaml"])
        .code(1)
        .stderr_has("elsewhere/new.yaml");
}

#[test]
fn edit_removes_its_private_directory() {
    let mut sandbox = Sandbox::new();
    sandbox.encrypted("s.yaml", YAML);
    let log = sandbox.home.join("edited-path");
    let editor = sandbox.script(
        "record.sh",
        &format!(
            "printf '%s' \"$1\" > '{}'; stat -c %a \"$1\" >> '{}.mode'; echo 'z: 1' >> \"$1\"",
            log.display(),
            log.display()
        ),
    );
    sandbox.env("EDITOR", editor.to_str().unwrap());
    sandbox.run(&["edit", "s.yaml"]).ok();
    let edited = std::path::PathBuf::from(std::fs::read_to_string(&log).unwrap());
    assert!(edited.starts_with(&sandbox.runtime), "{}", edited.display());
    assert_eq!(
        edited.file_name().unwrap(),
        "s.yaml",
        "keeps the name (and extension)"
    );
    let private_dir = edited.parent().unwrap();
    assert!(
        !private_dir.exists(),
        "{} was not removed",
        private_dir.display()
    );
    let mode = std::fs::read_to_string(log.with_extension("mode")).unwrap();
    assert_eq!(mode.trim(), "600");
    // Also after a failed edit.
    let failing = sandbox.script(
        "record-fail.sh",
        &format!("printf '%s' \"$1\" > '{}'; exit 1", log.display()),
    );
    sandbox.env("EDITOR", failing.to_str().unwrap());
    sandbox.run(&["edit", "s.yaml"]).code(1);
    let edited = std::path::PathBuf::from(std::fs::read_to_string(&log).unwrap());
    assert!(!edited.parent().unwrap().exists());
}

/// `stat -f -c %T DIR`: the file system type as coreutils names it (`tmpfs`, `ext2/ext3`, …).
fn filesystem_type(dir: &Path) -> String {
    let output = std::process::Command::new("stat")
        .args(["-f", "-c", "%T"])
        .arg(dir)
        .output()
        .expect("stat runs");
    assert!(output.status.success(), "stat -f {}", dir.display());
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Issue 6 item 7: while the editor runs, the private directory is 0700 and the file 0600
/// (a umask of 022 made the directory 0755 before).
#[test]
fn edit_private_directory_is_0700_and_its_file_0600() {
    let mut sandbox = Sandbox::new();
    sandbox.encrypted("s.yaml", YAML);
    let log = sandbox.home.join("modes");
    let editor = sandbox.script(
        "modes.sh",
        &format!(
            "umask 022; stat -c '%a' \"$(dirname \"$1\")\" \"$1\" > '{}'",
            log.display()
        ),
    );
    sandbox.env("EDITOR", editor.to_str().unwrap());
    sandbox.run(&["edit", "s.yaml"]).code(200);
    let modes = std::fs::read_to_string(&log).unwrap();
    assert_eq!(modes, "700\n600\n");
}

/// Issue 6 item 7: SIGHUP, SIGTERM or SIGINT to aesec while the editor runs leaves no private
/// directory (with the plaintext) behind.
#[test]
fn edit_removes_its_private_directory_on_signals() {
    let mut sandbox = Sandbox::new();
    sandbox.encrypted("s.yaml", YAML);
    for signal in ["HUP", "TERM", "INT"] {
        let ready = sandbox.home.join(format!("ready-{signal}"));
        let editor_pid = sandbox.home.join(format!("editor-{signal}"));
        // The editor records the file, then waits (as `sleep`, whose pid it records).
        let editor = sandbox.script(
            &format!("wait-{signal}.sh"),
            &format!(
                "echo $$ > '{pid}'; printf '%s' \"$1\" > '{ready}.tmp'; mv '{ready}.tmp' '{ready}'; exec sleep 60",
                pid = editor_pid.display(),
                ready = ready.display()
            ),
        );
        sandbox.env("EDITOR", editor.to_str().unwrap());
        let mut child = sandbox
            .std_command()
            .args(["edit", "s.yaml"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("aesec starts");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !ready.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "the editor did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let scratch = std::path::PathBuf::from(std::fs::read_to_string(&ready).unwrap());
        assert!(scratch.exists(), "{}", scratch.display());
        let kill = |pid: &str, signal: &str| {
            std::process::Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(pid)
                .status()
                .expect("kill runs")
        };
        assert!(kill(&child.id().to_string(), signal).success());
        let status = child.wait().expect("aesec ends");
        let editor = std::fs::read_to_string(&editor_pid).unwrap();
        // The editor is not aesec's to stop; the test does.
        kill(editor.trim(), "KILL");
        assert!(!status.success(), "SIG{signal}: {status}");
        let private_dir = scratch.parent().unwrap();
        assert!(
            !private_dir.exists(),
            "SIG{signal} left {} behind",
            private_dir.display()
        );
    }
}

/// Issue 6 item 7: a warning when the private directory is not on a RAM-backed file system;
/// `stat -f` says which directories are.
#[test]
fn edit_warns_when_the_plaintext_goes_to_disk() {
    let mut sandbox = Sandbox::new();
    sandbox.encrypted("s.yaml", YAML);
    sandbox.env("EDITOR", "true");
    let shm = tempfile::Builder::new()
        .prefix("aesec-cli-test-")
        .tempdir_in("/dev/shm")
        .expect("a directory in /dev/shm");
    let runtime = sandbox.runtime.clone();
    for dir in [runtime.as_path(), shm.path()] {
        sandbox.env("XDG_RUNTIME_DIR", dir.to_str().unwrap());
        let on_disk = !matches!(filesystem_type(dir).as_str(), "tmpfs" | "ramfs");
        let run = sandbox.run(&["edit", "s.yaml"]).code(200);
        assert_eq!(
            run.stderr.contains("warning: no RAM-backed directory"),
            on_disk,
            "{}: {}",
            dir.display(),
            run.stderr
        );
    }
    assert!(
        !matches!(filesystem_type(&runtime).as_str(), "tmpfs" | "ramfs"),
        "the sandbox's runtime directory is expected on disk, to see the warning"
    );
}

#[test]
fn sops_editor_wins_over_editor() {
    let mut sandbox = Sandbox::new();
    sandbox.encrypted("s.yaml", "a: x\n");
    let sops_editor = appending_editor(&sandbox, "from: sops_editor");
    let other = sandbox.script("other.sh", "echo 'from: editor' >> \"$1\"");
    sandbox.env("SOPS_EDITOR", &sops_editor);
    sandbox.env("EDITOR", other.to_str().unwrap());
    sandbox.run(&["edit", "s.yaml"]).ok();
    let run = sandbox.run(&["decrypt", "s.yaml"]).ok();
    assert_eq!(run.stdout, "a: x\nfrom: sops_editor\n");
}

// ---------------------------------------------------------------------------------------------
// 5. set / unset

#[test]
fn set_json_values_then_real_sops_decrypts() {
    let sandbox = Sandbox::new();
    sandbox.encrypted("s.yaml", "a: x\n");
    sandbox.run(&["set", "s.yaml", r#"["a"]"#, r#""new""#]).ok();
    sandbox.run(&["set", "s.yaml", r#"["num"]"#, "5"]).ok();
    sandbox
        .run(&["set", "s.yaml", r#"["obj"]"#, r#"{"k": [1, "v"]}"#])
        .ok();
    sandbox
        .run_stdin(
            &["set", "--value-stdin", "s.yaml", r#"["stdin"]"#],
            b"\"piped\"",
        )
        .ok();
    sandbox.write("value.json", "true");
    sandbox
        .run(&["set", "--value-file", "s.yaml", r#"["file"]"#, "value.json"])
        .ok();
    let expected =
        "a: new\nnum: 5\nobj:\n    k:\n        - 1\n        - v\nstdin: piped\nfile: true\n";
    let run = sandbox.run(&["decrypt", "s.yaml"]).ok();
    assert_eq!(run.stdout, expected);
    sops_decrypts_to(&sandbox, "s.yaml", expected);
    sandbox
        .run(&["set", "s.yaml", r#"["a"]"#, "not json"])
        .code(7)
        .hinted();
    // sops: "Invalid set index format", code 7 (tests/tests/sops_exit_codes.rs compares).
    sandbox.run(&["set", "s.yaml", r#"["a""#, "1"]).code(7);
}

#[test]
fn set_idempotent_leaves_the_file_untouched() {
    let sandbox = Sandbox::new();
    sandbox.encrypted("s.yaml", "a: x\n");
    let path = sandbox.work.join("s.yaml");
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let before = sandbox.read_text("s.yaml");
    sandbox
        .run(&["set", "--idempotent", "s.yaml", r#"["a"]"#, r#""x""#])
        .ok();
    assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), old);
    assert_eq!(sandbox.read_text("s.yaml"), before);
    sandbox
        .run(&["set", "--idempotent", "s.yaml", r#"["a"]"#, r#""y""#])
        .ok();
    assert_ne!(std::fs::metadata(&path).unwrap().modified().unwrap(), old);
}

#[test]
fn unset_removes_and_idempotent_tolerates_missing() {
    let sandbox = Sandbox::new();
    sandbox.encrypted("s.yaml", "a: x\nb:\n    c: y\n    d: z\n");
    sandbox.run(&["unset", "s.yaml", r#"["b"]["c"]"#]).ok();
    sops_decrypts_to(&sandbox, "s.yaml", "a: x\nb:\n    d: z\n");
    let before = sandbox.read_text("s.yaml");
    sandbox
        .run(&["unset", "s.yaml", r#"["b"]["c"]"#])
        .code(1)
        .stderr_has("'s.yaml'")
        .stderr_has(r#"["c"]"#);
    sandbox
        .run(&["unset", "--idempotent", "s.yaml", r#"["b"]["c"]"#])
        .ok();
    assert_eq!(sandbox.read_text("s.yaml"), before);
    let run = sandbox.run(&["decrypt", "s.yaml"]).ok();
    assert_eq!(run.stdout, "a: x\nb:\n    d: z\n");
}

// ---------------------------------------------------------------------------------------------
// 6. rotate

#[test]
fn rotate_changes_the_data_key_and_every_ciphertext() {
    let sandbox = Sandbox::new();
    let before = sandbox.encrypted("s.yaml", YAML);
    let run = sandbox.run(&["rotate", "s.yaml"]).ok();
    assert!(
        run.stdout.contains("ENC[AES256_GCM,"),
        "not -i: stdout\n{run}"
    );
    assert_eq!(
        sandbox.read_text("s.yaml"),
        before,
        "not -i: file untouched"
    );
    sandbox.run(&["rotate", "-i", "s.yaml"]).ok();
    let after = sandbox.read_text("s.yaml");
    // Age wrapping is randomized: only the unwrapped keys tell a new data key.
    let identity = sandbox.home.join("key.txt");
    assert_ne!(
        aesec_tests::data_key("s.yaml", after.as_bytes(), &identity),
        aesec_tests::data_key("s.yaml", before.as_bytes(), &identity),
        "new data key"
    );
    let (old, new) = (ciphertexts(&before), ciphertexts(&after));
    assert_eq!(old.len(), new.len());
    for (old, new) in old.iter().zip(&new) {
        assert_ne!(old, new, "every value re-encrypted");
    }
    assert_eq!(sandbox.run(&["decrypt", "s.yaml"]).ok().stdout, YAML);
    sops_decrypts_to(&sandbox, "s.yaml", YAML);
    sandbox.write("t.yaml", &before);
    sandbox
        .run(&["rotate", "s.yaml", "t.yaml"])
        .code(8)
        .stderr_has("--in-place");
    sandbox.run(&["rotate", "-i", "s.yaml", "t.yaml"]).ok();
}

// ---------------------------------------------------------------------------------------------
// 8. keys

const SSH_VECTORS: [(&str, &str); 5] = [
    (
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOHz+U0YtjINc54dZiJNclfmEFifF7RXCFlNlTbuZBji joerg@turingmachine",
        "age17044m9wgakla6pzftf4srtl3h5mcsr85jysgt5fg23zpnta8sfdqhzn452",
    ),
    (
        "eve.thalheim.io ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF/KPU3Z5LSjbBI6hrq25wCcseq2UpqSzUFZRr+ux6LM",
        "age1hjm3aujg9e79f5yth8a2cejzdjg5n9vnu96l05p70uvfpeltnpms7yy3pp",
    ),
    (
        "eva.thalheim.io ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIL2vjdqpppuCn7yPdF2muINriAG7zBWrsELKpPWkhn5",
        "age1v8zjc47jmlqwefyu66s0d4ke98qr4vnuj3cpvs4z9npfdw833dxqwjrhzv",
    ),
    (
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID/+AcTjBdIG6Xwk4ZiuckvG5xNDlaqX316bKGo6D3a5",
        "age1pa3t6c94xl4z6k02rt0lw2za7e7tdjsse46xjh8y7tluy59qu5tqaqgauq",
    ),
    (
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBI1+Q+ntzANebtnicCiAY29uqLGWOaOGLEa8bUqOVmS",
        "age1a8pk4akrdamj7nvqy3zywgtny8dxz7t5xzu7u8v9mhrayp9freqsqatyrs",
    ),
];

const V1_IDENTITY: &str =
    "AGE-SECRET-KEY-1K3VN4N03PTHJWSJSCCMQCN33RY5FSKQPJ4KRRTG3JMQUYE0TUSEQEDH6V8";
const V4_IDENTITY: &str =
    "AGE-SECRET-KEY-1EJQ0DZ679RZ4MF6KDC8L8F327SHUULYD5XP53C08ZHYT0KQLNWJQHG7X8P";

#[test]
fn ssh_to_age_converts_the_vectors_from_stdin_and_files() {
    let sandbox = Sandbox::bare();
    let input: String = SSH_VECTORS
        .iter()
        .map(|(line, _)| format!("{line}\n"))
        .collect();
    let expected: String = SSH_VECTORS
        .iter()
        .map(|(_, age)| format!("{age}\n"))
        .collect();
    let run = sandbox
        .run_stdin(&["keys", "ssh-to-age"], input.as_bytes())
        .ok();
    assert_eq!(run.stdout, expected);
    for (line, age) in SSH_VECTORS {
        let run = sandbox
            .run_stdin(&["keys", "ssh-to-age"], line.as_bytes())
            .ok();
        assert_eq!(run.stdout, format!("{age}\n"), "{line}");
    }
    sandbox.write("keys.pub", &input);
    let run = sandbox
        .run(&["keys", "ssh-to-age", "-i", "keys.pub", "-o", "keys.age"])
        .ok();
    assert!(run.stdout.is_empty(), "{run}");
    assert_eq!(sandbox.read_text("keys.age"), expected);
}

#[test]
fn ssh_to_age_skips_rsa_keys_with_a_note() {
    let sandbox = Sandbox::bare();
    let keyscan = vector("ssh/keyscan.txt");
    let run = sandbox
        .run(&["keys", "ssh-to-age", "-i", keyscan.to_str().unwrap()])
        .ok()
        .stderr_has("skipped key:");
    assert_eq!(
        run.stdout,
        "age1hjm3aujg9e79f5yth8a2cejzdjg5n9vnu96l05p70uvfpeltnpms7yy3pp\n\
         age1v8zjc47jmlqwefyu66s0d4ke98qr4vnuj3cpvs4z9npfdw833dxqwjrhzv\n"
    );
    assert_eq!(run.stderr.matches("skipped key:").count(), 2, "{run}");
}

#[test]
fn ssh_to_age_private_keys_plain_and_with_passphrase() {
    let mut sandbox = Sandbox::bare();
    let plain = vector("ssh/id_ed25519");
    let run = sandbox
        .run(&[
            "keys",
            "ssh-to-age",
            "--private-key",
            "-i",
            plain.to_str().unwrap(),
        ])
        .ok();
    assert_eq!(run.stdout, format!("{V1_IDENTITY}\n"));
    sandbox
        .run(&[
            "keys",
            "ssh-to-age",
            "--private-key",
            "-i",
            plain.to_str().unwrap(),
            "-o",
            "id.age",
        ])
        .ok();
    assert_eq!(sandbox.read_text("id.age"), format!("{V1_IDENTITY}\n"));
    assert_eq!(sandbox.mode("id.age"), 0o600);
    let protected = vector("ssh/id_ed25519_passphrase");
    let protected = protected.to_str().unwrap();
    sandbox
        .run(&["keys", "ssh-to-age", "--private-key", "-i", protected])
        .code(1)
        .stderr_has("id_ed25519_passphrase")
        .stderr_has("passphrase")
        .hinted();
    let run = sandbox
        .run_stdin(
            &[
                "keys",
                "ssh-to-age",
                "--private-key",
                "--stdin-pass",
                "-i",
                protected,
            ],
            b"test\n",
        )
        .ok();
    assert_eq!(run.stdout, format!("{V4_IDENTITY}\n"));
    sandbox
        .run_stdin(
            &[
                "keys",
                "ssh-to-age",
                "--private-key",
                "--stdin-pass",
                "-i",
                protected,
            ],
            b"wrong\n",
        )
        .code(1)
        .stderr_has("wrong passphrase")
        .stderr_has("id_ed25519_passphrase");
    sandbox
        .run_stdin(
            &["keys", "ssh-to-age", "--private-key", "--stdin-pass"],
            b"test\n",
        )
        .code(8)
        .stderr_has("stdin");
    sandbox.env("SSH_TO_AGE_PASSPHRASE", "test");
    let run = sandbox
        .run(&["keys", "ssh-to-age", "--private-key", "-i", protected])
        .ok();
    assert_eq!(run.stdout, format!("{V4_IDENTITY}\n"));
}

#[test]
fn keys_generate_writes_a_key_age_keygen_reads() {
    let sandbox = Sandbox::bare();
    let run = sandbox.run(&["keys", "generate", "-o", "k.txt"]).ok();
    assert_eq!(sandbox.mode("k.txt"), 0o600);
    let public = run
        .stderr
        .lines()
        .find_map(|line| line.strip_prefix("Public key: "))
        .expect("public key on stderr")
        .to_owned();
    let text = sandbox.read_text("k.txt");
    assert!(
        text.contains(&format!("# public key: {public}\n")),
        "{text}"
    );
    let stdout_key = sandbox.run(&["keys", "generate"]).ok();
    assert!(
        stdout_key.stdout.contains("AGE-SECRET-KEY-1"),
        "{stdout_key}"
    );
    if let Some(program) = harness::peer("age-keygen") {
        let output = std::process::Command::new(program)
            .arg("-y")
            .arg(sandbox.work.join("k.txt"))
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), public);
    }
}

// ---------------------------------------------------------------------------------------------
// 9. completions, man, help

#[test]
fn completions_man_and_help() {
    let sandbox = Sandbox::bare();
    for shell in ["bash", "zsh", "fish"] {
        let run = sandbox.run(&["completions", shell]).ok();
        assert!(run.stdout.contains("aesec"), "{run}");
        assert!(run.stdout.contains("decrypt"), "{run}");
    }
    let run = sandbox.run(&["man"]).ok();
    assert!(
        run.stdout.starts_with(".ie") || run.stdout.contains(".TH aesec"),
        "{run}"
    );
    let subcommands: &[&[&str]] = &[
        &[],
        &["encrypt"],
        &["decrypt"],
        &["edit"],
        &["set"],
        &["unset"],
        &["filestatus"],
        &["rotate"],
        &["keys"],
        &["keys", "ssh-to-age"],
        &["keys", "generate"],
        &["completions"],
        &["man"],
    ];
    for words in subcommands {
        let mut args = words.to_vec();
        args.push("--help");
        let run = sandbox.run(&args).ok();
        assert!(run.stdout.contains("Usage: aesec"), "{run}");
    }
}

#[test]
fn usage_errors_come_from_clap() {
    let sandbox = Sandbox::bare();
    let run: Run = sandbox.run(&["decrypt", "--bogus"]).code(2);
    assert!(run.stderr.contains("--bogus"), "{run}");
}

#[test]
fn deploy_dry_run_prints_every_command_and_runs_none() {
    let sandbox = Sandbox::new();
    let run = sandbox
        .run(&[
            "deploy",
            "--dry-run",
            "web",
            "--target",
            "root@10.0.0.5",
            "--ssh-opts=-p 2222",
            "--sudo",
            "--flake",
            "/srv/fleet",
        ])
        .ok();
    let features = "nix --extra-experimental-features 'nix-command flakes'";
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "# web (root@10.0.0.5)", "{run}");
    assert_eq!(
        lines[1],
        format!(
            "{features} build --no-link --json /srv/fleet#nixosConfigurations.web.config.system.build.toplevel"
        )
    );
    assert_eq!(
        lines[2],
        format!("{features} path-info --recursive '<toplevel>'")
    );
    assert_eq!(
        lines[4],
        format!("NIX_SSHOPTS='-p 2222' {features} copy --to ssh://root@10.0.0.5 '<toplevel>'")
    );
    assert!(
        lines[5].starts_with(
            "ssh -p 2222 -- root@10.0.0.5 'sudo nix-env -p /nix/var/nix/profiles/system --set "
        ),
        "{run}"
    );
    assert!(
        lines[6].starts_with("ssh -p 2222 -- root@10.0.0.5 'sudo sh -c "),
        "{run}"
    );
    assert_eq!(
        lines.last().copied(),
        Some(
            r"ssh -p 2222 -- root@10.0.0.5 'sudo rm '\''/tmp/aesec-deploy-web-<run-id>/canary'\'''"
        ),
        "{run}"
    );

    // --json: the plans as data; several hosts, one plan each.
    let run = sandbox
        .run(&[
            "deploy",
            "--dry-run",
            "--json",
            "--action",
            "boot",
            "a",
            "b",
        ])
        .ok();
    let plans: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let kinds: Vec<&str> = plans[1]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|step| step["kind"].as_str().expect("a kind"))
        .collect();
    assert_eq!(plans[1]["host"], "b");
    assert_eq!(
        kinds,
        ["build", "closure", "read", "copy", "profile", "activate"]
    );

    // --target is one host's address.
    sandbox
        .run(&["deploy", "--dry-run", "a", "b", "--target", "x"])
        .code(8)
        .stderr_has("--target names the address of one host");
}

#[test]
fn plain_http_to_another_machine_needs_insecure_http() {
    // Refused before any request: the token would cross the network in clear.
    let mut sandbox = Sandbox::new();
    sandbox.env("BAO_ADDR", "http://bao.example:8200");
    sandbox.env("BAO_TOKEN", "s.not-sent");
    sandbox
        .run(&["bao", "login"])
        .code(1)
        .stderr_has("plain http to another machine")
        .stderr_has("--insecure-http");
}
