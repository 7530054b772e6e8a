//! Tests of the peer harness itself: each peer is found at the expected version, the servers
//! start and answer on loopback, and the helpers clean up and report failures with context.
//!
//! Under `AESEC_REQUIRE_PEERS=1` a missing peer fails these tests instead of skipping them.

use std::path::Path;

use aesec_tests::{
    BaoDev, ChildGuard, Peer, Sshd, TempHome, aesec_bin, age, age_keygen, free_port, nix,
    require_peer, sops, ssh_keygen, ssh_keyscan,
};

#[test]
fn sops_is_3_11_0() {
    let sops = require_peer!(sops());
    let home = TempHome::new();
    let out = home
        .cmd(&sops)
        .args(["--version", "--disable-version-check"])
        .stdout();
    assert!(
        out.starts_with("sops 3.11.0"),
        "unexpected sops version: {out:?}"
    );
}

#[test]
fn age_is_1_1() {
    let age = require_peer!(age());
    let home = TempHome::new();
    let out = home.cmd(&age).arg("--version").stdout();
    let version = out.trim().trim_start_matches('v');
    assert!(
        version.starts_with("1.1."),
        "unexpected age version: {out:?}"
    );
}

#[test]
fn age_keygen_makes_an_identity() {
    let keygen = require_peer!(age_keygen());
    let home = TempHome::new();
    let out = home.cmd(&keygen).stdout();
    assert!(
        out.lines().any(|line| line.starts_with("AGE-SECRET-KEY-1")),
        "no identity in: {out:?}"
    );
}

#[test]
fn nix_is_2_x() {
    let nix = require_peer!(nix());
    let home = TempHome::new();
    let out = home.cmd(&nix).arg("--version").stdout();
    assert!(
        out.starts_with("nix (Nix) 2."),
        "unexpected nix version: {out:?}"
    );
}

#[test]
fn sshd_serves_its_host_key_to_ssh_keyscan() {
    let sshd = require_peer!(Sshd::start());
    let keyscan = require_peer!(ssh_keyscan());
    let home = TempHome::new();
    let port = sshd.port().to_string();
    let out = home
        .cmd(&keyscan)
        .args(["-t", "ed25519", "-p", &port, "127.0.0.1"])
        .stdout();
    let mut expected = sshd.host_public_key().split_whitespace();
    let (kind, blob) = (expected.next().unwrap(), expected.next().unwrap());
    let wanted = format!("[127.0.0.1]:{port} {kind} {blob}");
    assert!(
        out.lines().any(|line| line == wanted),
        "keyscan printed {out:?}, wanted {wanted:?}\nsshd log:\n{}",
        sshd.log()
    );
}

#[test]
fn bao_dev_server_answers_health_and_cli() {
    let bao = require_peer!(BaoDev::start());
    let (status, body) = bao.health().unwrap();
    assert_eq!(status, 200, "health body: {body}");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["initialized"], true);
    assert_eq!(health["sealed"], false);
    let out = bao.cmd().args(["token", "lookup", "-format=json"]).stdout();
    let lookup: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(lookup["data"]["policies"][0], "root");
}

#[test]
fn bao_dev_stores_no_token_in_home() {
    let bao = require_peer!(BaoDev::start());
    let home = TempHome::new();
    // A child with this server's address but no token must be refused: nothing was stored.
    let mut cmd = home.cmd(bao.cmd().program());
    cmd.env("BAO_ADDR", bao.addr()).args(["token", "lookup"]);
    cmd.run_failure();
    assert!(!home.join(".vault-token").exists());
}

#[test]
fn temp_home_is_not_the_real_home() {
    let home = TempHome::new();
    assert_ne!(
        Some(home.path().as_os_str()),
        std::env::var_os("HOME").as_deref()
    );
    assert!(home.config_dir().is_dir());
    let out = home
        .cmd("/bin/sh")
        .args(["-c", "printf '%s|%s' \"$HOME\" \"$XDG_CONFIG_HOME\""])
        .stdout();
    assert_eq!(
        out,
        format!("{}|{}", home.path().display(), home.config_dir().display())
    );
}

#[test]
fn cmd_clears_the_environment() {
    let home = TempHome::new();
    // `SOPS_AGE_KEY` must never reach a child unless the test sets it; `env` lists what did.
    let out = home.cmd("/usr/bin/env").stdout();
    let mut names: Vec<&str> = out
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(name, _)| name)
        .collect();
    names.sort_unstable();
    names.retain(|name| *name != "TMPDIR");
    assert_eq!(
        names,
        [
            "HOME",
            "PATH",
            "XDG_CACHE_HOME",
            "XDG_CONFIG_HOME",
            "XDG_DATA_HOME"
        ]
    );
}

#[test]
fn cmd_feeds_stdin_and_reports_exit_codes() {
    let home = TempHome::new();
    assert_eq!(home.cmd("/bin/cat").stdin("hello").stdout(), "hello");
    home.cmd("/bin/sh").args(["-c", "exit 7"]).run_code(7);
    home.cmd("/bin/sh").args(["-c", "exit 1"]).run_failure();
}

#[test]
#[should_panic(expected = "stderr:\nboom")]
fn cmd_failure_report_shows_stderr() {
    let home = TempHome::new();
    home.cmd("/bin/sh")
        .args(["-c", "echo boom >&2; exit 3"])
        .run();
}

#[test]
#[should_panic(expected = "<redacted>")]
fn cmd_failure_report_masks_tokens() {
    let home = TempHome::new();
    home.cmd("/bin/sh")
        .env("BAO_TOKEN", "s.very-secret")
        .args(["-c", "exit 1"])
        .run();
}

#[test]
fn child_guard_kills_on_drop() {
    let child = std::process::Command::new("/bin/sleep")
        .arg("600")
        .spawn()
        .unwrap();
    let guard = ChildGuard::new(child, "sleep 600");
    let proc_dir = format!("/proc/{}", guard.id());
    assert!(Path::new(&proc_dir).exists());
    drop(guard);
    assert!(!Path::new(&proc_dir).exists(), "sleep survived its guard");
}

#[test]
fn free_port_is_bindable_on_loopback() {
    let port = free_port();
    assert_ne!(port, 0);
    std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
}

#[test]
fn ssh_keygen_writes_into_the_temp_home_only() {
    let keygen = require_peer!(ssh_keygen());
    let home = TempHome::new();
    home.cmd(&keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-f", "id"])
        .run();
    assert!(home.join("id").is_file() && home.join("id.pub").is_file());
}

#[test]
fn peers_have_distinct_programs() {
    let mut programs: Vec<&str> = Peer::ALL.iter().map(|peer| peer.program()).collect();
    programs.sort_unstable();
    programs.dedup();
    assert_eq!(programs.len(), Peer::ALL.len());
}

#[test]
fn aesec_binary_is_built_and_runs() {
    let home = TempHome::new();
    let bin = aesec_bin();
    assert!(bin.is_file(), "{} missing", bin.display());
    home.aesec().arg("--help").run();
}

#[test]
#[should_panic(expected = "timeout")]
fn cmd_kills_a_child_that_outlives_its_timeout() {
    let home = TempHome::new();
    home.cmd("/bin/sleep")
        .arg("600")
        .timeout(std::time::Duration::from_millis(200))
        .output();
}
