//! OpenBao with Raft storage (not dev mode: initialised and unsealed by the real CLI), the
//! storage that sends `X-Vault-Index`: the client keeps the highest index it saw and sends it
//! back with `X-Vault-Inconsistent: forward-active-node`, and the server accepts it. Then a
//! 3-node cluster on loopback ports (research §7): writes and read-after-write through a
//! standby, and a push that loses its leader half-way.

use aesec_bao_bridge::publish::{self, Action, MANAGED_BY_KEY, PlanOptions};
use aesec_bao_bridge::secrecy::SecretString;
use aesec_bao_bridge::serde_json::json;
use aesec_bao_bridge::{Cas, Client, Config, RetryPolicy};
use aesec_tests::{BaoCluster, require_peer};

use crate::publish::{MOUNT, Repo};

#[test]
fn a_raft_node_index_is_tracked_and_sent_back() {
    let mut node = require_peer!(BaoCluster::start(1));
    let init = node.init_with_cli(1, 1);
    node.unseal_with_cli(0, &init.keys);
    node.wait_health(0, 200);
    let addr = node.addr(0);

    let token = init.root_token;
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

/// How many secrets the failover push writes, and after how many the leader is killed.
const PUSHED: usize = 16;
const KILL_AFTER: usize = 5;

/// One 3-node cluster (start-up is the slow part) for the HA faults, in order: writes through a
/// standby, read-after-write through it, the leader killed mid-push, the killed node back.
#[test]
fn a_three_node_cluster_keeps_a_push_whole_when_its_leader_dies() {
    let mut cluster = require_peer!(BaoCluster::start(3));
    let init = cluster.init_with_cli(1, 1);
    for index in 0..cluster.size() {
        cluster.unseal_with_cli(index, &init.keys);
    }
    cluster.wait_voters(&init.root_token);
    let leader = cluster.wait_leader();
    let standby = (leader + 1) % cluster.size();
    // Patience for an election plus the new active node's set-up on a loaded 2-core machine
    // (about 20 s of retries with the default 5 s cap).
    let client = Client::new(
        Config::new(cluster.addr(standby))
            .token(SecretString::from(init.root_token.clone()))
            .retry(RetryPolicy::attempts(10)),
    )
    .unwrap();

    // Writes through a standby are forwarded to the leader; each read through the same standby
    // sees the write just made (X-Vault-Index with forward-active-node), never an older one.
    client
        .write(
            &format!("sys/mounts/{MOUNT}"),
            &json!({"type": "kv", "options": {"version": "2"}}),
        )
        .unwrap();
    let kv = client.kv2(MOUNT);
    for version in 1..=5_u64 {
        let cas = match version {
            1 => Cas::Absent,
            previous => Cas::Version(previous - 1),
        };
        let value = format!("v{version}");
        let written = kv
            .write(
                "read-after-write",
                &[("k", value.as_str())].into_iter().collect(),
                cas,
            )
            .unwrap();
        assert_eq!(written.version, version);
        let read = kv.read("read-after-write").unwrap();
        assert_eq!(read.metadata.version, version);
        assert_eq!(read.data.get_str("k"), Some(value.as_str()));
    }

    // A push through the standby; the leader is killed (SIGKILL) after KILL_AFTER paths.
    let repo = Repo::new();
    let plaintext: String = (0..PUSHED)
        .map(|index| format!("s{index:02}:\n  value: v{index:02}\n"))
        .collect();
    repo.write_sops("k8s/monitoring.yaml", &plaintext);
    let keys: Vec<(String, String)> = (0..PUSHED)
        .map(|index| (format!(r#"["s{index:02}"]"#), format!("fleet/s{index:02}")))
        .collect();
    let entries: Vec<(&str, &str)> = keys
        .iter()
        .map(|(keys, path)| (keys.as_str(), path.as_str()))
        .collect();
    let mapping = repo.mapping(&entries);
    let plan = repo.plan(&client, &mapping, &PlanOptions::default());
    assert_eq!(plan.count(Action::Create), PUSHED);
    let retries_before = client.stats().retries;
    let mut done = 0;
    let pushed = publish::push(&client, &plan, &mut |_| {
        done += 1;
        if done == KILL_AFTER {
            cluster.kill(leader);
        }
    });
    let report = pushed.unwrap_or_else(|error| {
        panic!(
            "push across the failover: {error:?}\nnode {standby} log:\n{}",
            cluster.log(standby)
        )
    });
    assert_eq!(report.written(), PUSHED, "{report:?}");
    assert_eq!(report.conflicts().count(), 0, "{report:?}");
    assert!(
        client.stats().retries > retries_before,
        "the push went on through the election: {:?}",
        client.stats()
    );
    let new_leader = cluster.wait_leader();
    assert_ne!(new_leader, leader);

    // Nothing lost, nothing written twice: every path holds its value at version 1, marked.
    for index in 0..PUSHED {
        let path = format!("fleet/s{index:02}");
        let secret = kv.read(&path).unwrap();
        assert_eq!(secret.metadata.version, 1, "{path}");
        assert_eq!(
            secret.data.get_str("value"),
            Some(format!("v{index:02}").as_str()),
            "{path}"
        );
        assert_eq!(
            secret
                .metadata
                .custom_metadata
                .get(MANAGED_BY_KEY)
                .map(String::as_str),
            Some("aesec"),
            "{path}"
        );
    }
    let again = repo.plan(&client, &mapping, &PlanOptions::default());
    assert_eq!(again.count(Action::Unchanged), PUSHED, "{again}");

    // The killed node comes back sealed, and rejoins as a standby once unsealed.
    cluster.restart(leader);
    assert_eq!(cluster.health(leader), Some(503));
    cluster.unseal_with_cli(leader, &init.keys);
    assert_eq!(cluster.wait_leader(), new_leader);
}
