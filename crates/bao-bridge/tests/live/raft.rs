//! A single-node Raft server (not dev mode: initialised and unsealed by the real CLI), the
//! storage that sends `X-Vault-Index`: the client keeps the highest index it saw and sends it
//! back with `X-Vault-Inconsistent: forward-active-node`, and the server accepts it.

use std::time::Duration;

use aesec_bao_bridge::secrecy::SecretString;
use aesec_bao_bridge::serde_json::{self, json};
use aesec_bao_bridge::{Cas, Client, Config, RetryPolicy};
use aesec_tests::{TempHome, free_port, http_get, require_peer};

#[test]
fn a_raft_node_index_is_tracked_and_sent_back() {
    let bao = require_peer!(aesec_tests::bao());
    let home = TempHome::new();
    let (api, cluster) = (free_port(), free_port());
    std::fs::create_dir_all(home.join("raft")).expect("creating the raft directory");
    let config = home.write(
        "bao.hcl",
        format!(
            r#"
disable_mlock = true
api_addr = "http://127.0.0.1:{api}"
cluster_addr = "http://127.0.0.1:{cluster}"
listener "tcp" {{
  address = "127.0.0.1:{api}"
  cluster_address = "127.0.0.1:{cluster}"
  tls_disable = true
}}
storage "raft" {{
  path = "{raft}"
  node_id = "node1"
}}
"#,
            raft = home.join("raft").display()
        ),
    );
    let mut guard = home
        .cmd(&bao)
        .arg("server")
        .arg(format!("-config={}", config.display()))
        .spawn(home.join("bao.log"));
    guard.wait_until("bao answering", Duration::from_secs(60), || {
        http_get(api, "/v1/sys/health").is_ok()
    });
    let addr = format!("http://127.0.0.1:{api}");
    let cli = |args: &[&str]| home.cmd(&bao).args(args).env("BAO_ADDR", &addr).stdout();
    let init: serde_json::Value = serde_json::from_str(&cli(&[
        "operator",
        "init",
        "-key-shares=1",
        "-key-threshold=1",
        "-format=json",
    ]))
    .expect("operator init prints JSON");
    let key = init["unseal_keys_b64"][0].as_str().expect("an unseal key");
    cli(&["operator", "unseal", key]);
    guard.wait_until("the node to become active", Duration::from_secs(60), || {
        http_get(api, "/v1/sys/health").is_ok_and(|(status, _)| status == 200)
    });

    let token = init["root_token"]
        .as_str()
        .expect("a root token")
        .to_owned();
    // More patience than the default policy's ~10 s: a fresh KV mount on Raft answers
    // "upgrading" until its upgrade is done, and that takes longer when this suite's other
    // servers load a 2-core machine (the retry itself is what is tested here).
    let client = Client::new(
        Config::new(&addr)
            .token(SecretString::from(token))
            .retry(RetryPolicy::attempts(12)),
    )
    .unwrap();
    assert_eq!(client.last_index(), None);
    client
        .write(
            "sys/mounts/kv",
            &json!({"type": "kv", "options": {"version": "2"}}),
        )
        .unwrap();
    let kv = client.kv2("kv");
    // The first write may meet the fresh mount's "upgrading" 400: the client retries it.
    kv.write("app", &[("k", "v1")].into_iter().collect(), Cas::Absent)
        .unwrap();
    let first = client
        .last_index()
        .expect("a Raft node sends X-Vault-Index");
    kv.write("app", &[("k", "v2")].into_iter().collect(), Cas::Version(1))
        .unwrap();
    let second = client.last_index().expect("still tracked");
    assert_ne!(first, second, "a later write moves the index forward");
    // Read-after-write with the index and forward-active-node headers sent.
    assert_eq!(kv.read("app").unwrap().data.get_str("k"), Some("v2"));
}
