//! `aesec bao init` and `aesec bao unseal` end to end against a real OpenBao server that is not
//! in dev mode (Raft storage in a temporary directory): two admins, one key group each, so
//! each unseals with their own share; the file is a sops file that the real `sops` opens with
//! both admins' keys, and the root token in it works with the real `bao`.

use aesec::age::secrecy::ExposeSecret;
use aesec::keys::age::GeneratedIdentity;
use aesec_tests::{BaoCluster, Cmd, TempHome, require_peer};

const FILE: &str = "openbao/unseal.yaml";

#[test]
fn init_then_each_admin_unseals_with_their_share() {
    let mut node = require_peer!(BaoCluster::start(1));
    let sops = require_peer!(aesec_tests::sops());
    let admins: Vec<GeneratedIdentity> = (0..2).map(|_| GeneratedIdentity::generate()).collect();
    let home = TempHome::new();
    let key_file = |index: usize| {
        home.write(
            format!("admin{index}.key"),
            admins[index]
                .to_identity_file("2026-12-06T00:00:00Z")
                .expose_secret(),
        )
    };
    let keys = [key_file(0), key_file(1)];
    home.write(
        "repo/.sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: ^openbao/\n    key_groups:\n      - age: [{}]\n      - age: [{}]\n",
            admins[0].recipient(),
            admins[1].recipient()
        ),
    );
    std::fs::create_dir_all(home.join("repo/openbao")).unwrap();
    let aesec = |args: &[&str], key: Option<usize>| -> Cmd {
        let mut cmd = home.aesec();
        cmd.current_dir(home.join("repo"))
            .env("BAO_ADDR", node.addr(0))
            .args(args);
        if let Some(index) = key {
            cmd.env("SOPS_AGE_KEY_FILE", &keys[index]);
        }
        cmd
    };

    let init = aesec(&["bao", "init", "--to", FILE], None).stdout();
    assert!(
        init.contains("2 of 2 unseal share(s)") && init.contains(FILE),
        "{init}"
    );
    assert!(
        init.contains(&format!("share 1: {}", admins[1].recipient())),
        "{init}"
    );
    // Never over an existing file, and never a second init.
    let again = aesec(&["bao", "init", "--to", FILE], None).run_failure();
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));
    let twice = aesec(&["bao", "init", "--to", "openbao/other.yaml"], None).run_failure();
    assert!(
        String::from_utf8_lossy(&twice.stderr).contains("already initialised"),
        "{twice:?}"
    );

    // While sealed: a stranger's identity opens no share, and any other request says sealed.
    let stranger = home.write(
        "stranger.key",
        GeneratedIdentity::generate()
            .to_identity_file("2026-12-06T00:00:00Z")
            .expose_secret(),
    );
    let refused = aesec(&["bao", "unseal", "--from", FILE], None)
        .env("SOPS_AGE_KEY_FILE", &stranger)
        .run_code(1);
    let refused = String::from_utf8_lossy(&refused.stderr);
    assert!(
        refused.contains("still sealed (2 more share(s) needed)")
            && refused.contains("open none of the 2 key group(s)"),
        "{refused}"
    );
    let sealed = aesec(
        &[
            "bao", "pull", "app", "--mount", "secret", "--to", "app.yaml",
        ],
        Some(0),
    )
    .env("BAO_TOKEN", "s.unused")
    .env("BAO_MAX_RETRIES", "0")
    .run_code(1);
    let sealed = String::from_utf8_lossy(&sealed.stderr);
    assert!(
        sealed.contains(&format!("{} is sealed", node.addr(0)))
            && sealed.contains("hint: unseal it: `aesec bao unseal --from FILE`"),
        "{sealed}"
    );

    let first = aesec(&["bao", "unseal", "--from", FILE], Some(0)).stdout();
    assert!(
        first.contains("still sealed: 1 of 2 share(s) given, 1 more needed"),
        "{first}"
    );
    assert_eq!(node.health(0), Some(503));
    let second = aesec(&["--json", "bao", "unseal", "--from", FILE], Some(1)).stdout();
    let second: serde_json::Value = serde_json::from_str(&second).unwrap();
    assert_eq!(
        second,
        serde_json::json!({
            "groups_opened": [1], "groups": 2, "submitted": 1, "authenticated": false,
            "sealed": false, "progress": 0, "threshold": 2, "needed": 0,
        })
    );
    node.wait_health(0, 200);

    // The real sops opens the file with both admins' keys; its root token works.
    let both = home.write(
        "both.key",
        format!("{}\n{}\n", home.read("admin0.key"), home.read("admin1.key")),
    );
    let plaintext = home
        .cmd(&sops)
        .current_dir(home.join("repo"))
        .env("SOPS_AGE_KEY_FILE", &both)
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .args(["decrypt", "--output-type", "json", FILE])
        .stdout();
    let opened: serde_json::Value = serde_json::from_str(&plaintext).unwrap();
    let token = opened["root_token"].as_str().unwrap();
    assert!(!home.read(format!("repo/{FILE}")).contains(token));
    assert!(!init.contains(token));
    let lookup = node
        .cmd(0)
        .env("BAO_TOKEN", token)
        .args(["token", "lookup", "-format=json"])
        .stdout();
    assert!(lookup.contains("\"root\""), "{lookup}");
}
