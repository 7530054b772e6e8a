//! End-to-end tests of `aesec enroll`, `remove` and `bootstrap` on temporary repositories
//! (no peers needed; the real sshd and sops runs are in `tests/tests/enroll_sshd.rs`).

#[path = "support/harness.rs"]
#[expect(
    dead_code,
    reason = "shared test support: this test crate uses only part of it"
)]
mod harness;

use harness::Sandbox;

const WEB_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOHz+U0YtjINc54dZiJNclfmEFifF7RXCFlNlTbuZBji web";
const WEB_AGE: &str = "age17044m9wgakla6pzftf4srtl3h5mcsr85jysgt5fg23zpnta8sfdqhzn452";
const OTHER_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF/KPU3Z5LSjbBI6hrq25wCcseq2UpqSzUFZRr+ux6LM other";

/// A sandbox whose key is the admin of a `.sops.yaml` with one encrypted file.
fn repo() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.write(
        ".sops.yaml",
        format!(
            "keys:\n  - &admin_me {} # admin\ncreation_rules:\n  - path_regex: ^secrets/\n    key_groups:\n      - age: [*admin_me]\n",
            sandbox.recipient
        ),
    );
    sandbox.write(
        "secrets/web/app.yaml",
        "password: hunter2\nlist:\n    - a\n",
    );
    sandbox.run(&["encrypt", "-i", "secrets/web/app.yaml"]).ok();
    sandbox
}

#[test]
fn enroll_from_stdin_prints_json_and_grants_the_per_host_rule() {
    let sandbox = repo();
    let run = sandbox
        .run_stdin(
            &["--json", "enroll", "web", "--key", "-", "-y"],
            WEB_KEY.as_bytes(),
        )
        .ok();
    let outcome: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON outcome");
    assert_eq!(outcome["recipient"], WEB_AGE);
    assert_eq!(outcome["membership"]["kind"], "added");
    assert_eq!(outcome["rules"][0]["path_regex"], "^secrets/web/");
    assert_eq!(outcome["rules"][0]["created"], true);
    assert_eq!(outcome["updatekeys"]["rewrapped"], 1);
    let config = sandbox.read_text(".sops.yaml");
    assert!(config.contains(&format!("&web {WEB_AGE}")), "{config}");
    assert!(config.contains(", stdin)"), "{config}");
    sandbox.run(&["check"]).ok();
}

#[test]
fn a_different_key_fails_with_both_fingerprints() {
    let sandbox = repo();
    sandbox.write("web.pub", WEB_KEY);
    sandbox.write("other.pub", OTHER_KEY);
    sandbox
        .run(&["enroll", "web", "--key", "web.pub", "-y"])
        .ok();
    let before = sandbox.read(".sops.yaml");
    let run = sandbox.run(&["enroll", "web", "--key", "other.pub", "-y"]);
    assert_ne!(run.code, 0, "{run}");
    let run = run.stderr_has("is enrolled with a different key");
    assert_eq!(run.stderr.matches("SHA256:").count(), 2, "{run}");
    assert_eq!(sandbox.read(".sops.yaml"), before);
    sandbox
        .run(&["enroll", "web", "--key", "web.pub", "-y"])
        .ok()
        .stdout_has("already enrolled");
    assert_eq!(sandbox.read(".sops.yaml"), before);
}

#[test]
fn key_sources_are_exclusive_and_confirmation_is_needed() {
    let sandbox = repo();
    sandbox.write("web.pub", WEB_KEY);
    // Two key sources conflict: sops' code for conflicting parameters (README, exit codes).
    let run = sandbox.run(&["enroll", "web", "--key", "web.pub", "--generate"]);
    assert_eq!(run.code, 8, "{run}");
    let run = sandbox.run(&["enroll", "web"]);
    assert_eq!(run.code, 2, "{run}");
    let before = sandbox.read(".sops.yaml");
    let run = sandbox.run(&["enroll", "web", "--key", "web.pub"]);
    assert_ne!(run.code, 0, "{run}");
    assert_eq!(sandbox.read(".sops.yaml"), before);
}

#[test]
fn generate_bootstrap_and_remove() {
    let sandbox = repo();
    sandbox
        .run(&["enroll", "web", "--generate", "-y"])
        .ok()
        .stdout_has("aesec bootstrap web --out");
    assert_eq!(sandbox.mode("secrets/web/ssh_host_ed25519_key"), 0o600);
    sandbox
        .run(&["bootstrap", "web", "--out", "extra"])
        .ok()
        .stdout_has("nixos-anywhere --extra-files");
    assert_eq!(sandbox.mode("extra/etc/ssh/ssh_host_ed25519_key"), 0o600);
    assert_eq!(
        sandbox.mode("extra/etc/ssh/ssh_host_ed25519_key.pub"),
        0o644
    );
    assert_eq!(
        sandbox.read("extra/etc/ssh/ssh_host_ed25519_key.pub"),
        sandbox.read("secrets/web/ssh_host_ed25519_key.pub")
    );

    let run = sandbox.run(&["--json", "remove", "web", "-y"]).ok();
    let outcome: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON outcome");
    assert_eq!(outcome["readable"][0]["path"], "secrets/web/app.yaml");
    assert_eq!(
        outcome["readable"][0]["values"],
        serde_json::json!(["[\"password\"]", "[\"list\"][0]"])
    );
    assert_eq!(outcome["updatekeys"]["rotated"], 1);
    sandbox
        .run(&["remove", "admin_me", "-y"])
        .stderr_has("last admin");
}

#[test]
fn to_paths_are_relative_to_the_working_directory() {
    let sandbox = repo();
    sandbox.write("web.pub", WEB_KEY);
    sandbox.write("secrets/other/.keep", "");
    sandbox
        .run(&[
            "-C",
            "secrets/other",
            "enroll",
            "web",
            "--key",
            "../../web.pub",
            "--to",
            "../web/app.yaml",
            "-y",
        ])
        .ok()
        .stdout_has("1 re-wrapped");
}
