//! A real OpenBao server with Raft storage (not dev mode), one node or a cluster of several,
//! on 127.0.0.1: the fixture of every test that needs what a dev server lacks
//! (`X-Vault-Index`, `sys/init` and `sys/unseal`, standbys, leader failover).
//!
//! Each node gets a free API port and a free cluster port, its own Raft directory under one
//! temporary home, and a `retry_join` stanza for every node, so the nodes after the first join
//! the cluster when they are unsealed (research §7.1). `performance_multiplier = 1` keeps Raft's
//! heartbeat and election timeouts at about one second, so a killed leader is replaced in a
//! few seconds. The nodes start uninitialised and sealed; [`BaoCluster::init_with_cli`] and
//! [`BaoCluster::unseal_with_cli`] use the real `bao` command, so tests of aesec's own `init`
//! and `unseal` can start from the bare node instead. Every node is killed on drop, and each
//! wait is bounded.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::{ChildGuard, Cmd, TempHome, free_port, http_get};

/// How long a node may take to answer, to be unsealed, or to elect a leader.
const CLUSTER_TIMEOUT: Duration = Duration::from_secs(90);

/// One or more `bao server` processes forming a Raft cluster.
pub struct BaoCluster {
    home: TempHome,
    bao: PathBuf,
    nodes: Vec<Node>,
}

struct Node {
    api: u16,
    config: PathBuf,
    guard: Option<ChildGuard>,
}

/// What `bao operator init` printed: the unseal keys (base64) and the root token.
pub struct InitKeys {
    /// The unseal key shares, base64.
    pub keys: Vec<String>,
    /// The initial root token.
    pub root_token: String,
}

impl BaoCluster {
    /// Starts `size` nodes, uninitialised and sealed, each answering on its API port; `None`
    /// when `bao` is missing (see [`crate::Peer::require`]).
    pub fn start(size: usize) -> Option<Self> {
        let bao = crate::bao()?;
        let home = TempHome::new();
        let ports: Vec<(u16, u16)> = (0..size).map(|_| (free_port(), free_port())).collect();
        // A single node has no one to join.
        let joins: String = ports
            .iter()
            .filter(|_| size > 1)
            .map(|(api, _)| {
                format!("  retry_join {{\n    leader_api_addr = \"http://127.0.0.1:{api}\"\n  }}\n")
            })
            .collect();
        let mut nodes = Vec::new();
        for (index, (api, cluster)) in ports.iter().enumerate() {
            let raft = home.join(format!("raft{index}"));
            std::fs::create_dir_all(&raft).expect("creating a raft directory");
            let config = home.write(
                format!("node{index}.hcl"),
                format!(
                    r#"disable_mlock = true
cluster_name = "aesec-test"
api_addr = "http://127.0.0.1:{api}"
cluster_addr = "http://127.0.0.1:{cluster}"
listener "tcp" {{
  address = "127.0.0.1:{api}"
  cluster_address = "127.0.0.1:{cluster}"
  tls_disable = true
}}
storage "raft" {{
  path = "{raft}"
  node_id = "node{index}"
  performance_multiplier = 1
{joins}}}
"#,
                    raft = raft.display()
                ),
            );
            nodes.push(Node {
                api: *api,
                config,
                guard: None,
            });
        }
        let mut cluster = Self { home, bao, nodes };
        for index in 0..size {
            cluster.restart(index);
        }
        Some(cluster)
    }

    /// (Re)starts node `index` and waits until it answers `sys/health` (any status).
    pub fn restart(&mut self, index: usize) {
        let node = &self.nodes[index];
        let (api, config) = (node.api, node.config.clone());
        let mut guard = self
            .home
            .cmd(&self.bao)
            .arg("server")
            .arg(format!("-config={}", config.display()))
            .spawn(self.home.join(format!("node{index}.log")));
        guard.wait_until(&format!("node {index} answering"), CLUSTER_TIMEOUT, || {
            http_get(api, "/v1/sys/health").is_ok()
        });
        self.nodes[index].guard = Some(guard);
    }

    /// Kills node `index` (SIGKILL: no graceful step-down).
    pub fn kill(&mut self, index: usize) {
        self.nodes[index].guard = None;
    }

    /// How many nodes the cluster has (running or not).
    pub fn size(&self) -> usize {
        self.nodes.len()
    }

    /// The API port of node `index`.
    pub fn port(&self, index: usize) -> u16 {
        self.nodes[index].api
    }

    /// `http://127.0.0.1:<port>` of node `index`.
    pub fn addr(&self, index: usize) -> String {
        format!("http://127.0.0.1:{}", self.port(index))
    }

    /// The `sys/health` status of node `index` (200 active, 429 standby, 501 uninitialised,
    /// 503 sealed), or `None` when it does not answer.
    pub fn health(&self, index: usize) -> Option<u16> {
        http_get(self.port(index), "/v1/sys/health")
            .ok()
            .map(|(status, _)| status)
    }

    /// A `bao` command pointed at node `index` (no token).
    pub fn cmd(&self, index: usize) -> Cmd {
        let mut cmd = self.home.cmd(&self.bao);
        cmd.env("BAO_ADDR", self.addr(index));
        cmd
    }

    /// `bao operator init` on node 0 with `shares` and `threshold`.
    pub fn init_with_cli(&self, shares: u8, threshold: u8) -> InitKeys {
        let text = self
            .cmd(0)
            .arg("operator")
            .arg("init")
            .arg(format!("-key-shares={shares}"))
            .arg(format!("-key-threshold={threshold}"))
            .arg("-format=json")
            .stdout();
        let init: serde_json::Value =
            serde_json::from_str(&text).expect("operator init prints JSON");
        InitKeys {
            keys: init["unseal_keys_b64"]
                .as_array()
                .expect("unseal keys")
                .iter()
                .map(|key| key.as_str().expect("a base64 key").to_owned())
                .collect(),
            root_token: init["root_token"]
                .as_str()
                .expect("a root token")
                .to_owned(),
        }
    }

    /// Unseals node `index` with `keys` through `bao operator unseal`, repeating them until the
    /// node is unsealed (a node that joins the cluster on its first unseal call answers
    /// "sealed, progress 0" until the join is done).
    pub fn unseal_with_cli(&mut self, index: usize, keys: &[String]) {
        let port = self.port(index);
        let cmd = self.cmd(index);
        let guard = self.nodes[index]
            .guard
            .as_mut()
            .expect("unsealing a running node");
        guard.wait_until(&format!("node {index} unsealed"), CLUSTER_TIMEOUT, || {
            // Active or standby; a joining node answers 501 (not initialised), then 503.
            if http_get(port, "/v1/sys/health").is_ok_and(|(status, _)| matches!(status, 200 | 429))
            {
                return true;
            }
            for key in keys {
                let mut unseal = cmd.clone();
                unseal
                    .args(["operator", "unseal", key])
                    .timeout(Duration::from_secs(30));
                // A joining node may refuse a key for a moment; the loop tries again.
                drop(unseal.output());
            }
            false
        });
    }

    /// Waits until every node is a Raft voter. A node joins as a non-voter and autopilot
    /// promotes it once it has been stable for `server_stabilization_time` (10 s by default,
    /// set to 1 s here); until then the cluster cannot elect a new leader when it loses one.
    pub fn wait_voters(&mut self, root_token: &str) {
        let mut configure = self.cmd(0);
        configure.env("BAO_TOKEN", root_token).args([
            "operator",
            "raft",
            "autopilot",
            "set-config",
            "-server-stabilization-time=1s",
        ]);
        configure.run();
        let mut peers = self.cmd(0);
        peers
            .env("BAO_TOKEN", root_token)
            .args(["operator", "raft", "list-peers", "-format=json"])
            .timeout(Duration::from_secs(30));
        let size = self.size();
        let guard = self.nodes[0].guard.as_mut().expect("node 0 running");
        guard.wait_until("every node a Raft voter", CLUSTER_TIMEOUT, || {
            let output = peers.output();
            let listed: serde_json::Value =
                serde_json::from_slice(&output.stdout).unwrap_or_default();
            let voters = listed["data"]["config"]["servers"]
                .as_array()
                .map_or(0, |servers| {
                    servers
                        .iter()
                        .filter(|server| server["voter"] == true)
                        .count()
                });
            voters == size
        });
    }

    /// Waits until node `index` answers `status` on `sys/health`.
    pub fn wait_health(&mut self, index: usize, status: u16) {
        let port = self.port(index);
        let guard = self.nodes[index]
            .guard
            .as_mut()
            .expect("waiting for a running node");
        guard.wait_until(
            &format!("node {index} health {status}"),
            CLUSTER_TIMEOUT,
            || http_get(port, "/v1/sys/health").is_ok_and(|(seen, _)| seen == status),
        );
    }

    /// Waits until one running node is active and every other running node is an unsealed
    /// standby; returns the active node's index.
    pub fn wait_leader(&mut self) -> usize {
        let running: Vec<usize> = (0..self.size())
            .filter(|&index| self.nodes[index].guard.is_some())
            .collect();
        let first = running[0];
        let ports: Vec<(usize, u16)> = running.iter().map(|&i| (i, self.port(i))).collect();
        let mut leader = None;
        let guard = self.nodes[first].guard.as_mut().expect("a running node");
        guard.wait_until("a leader and unsealed standbys", CLUSTER_TIMEOUT, || {
            let statuses: Vec<(usize, Option<u16>)> = ports
                .iter()
                .map(|&(index, port)| (index, http_get(port, "/v1/sys/health").ok().map(|r| r.0)))
                .collect();
            let active: Vec<usize> = statuses
                .iter()
                .filter(|(_, status)| *status == Some(200))
                .map(|(index, _)| *index)
                .collect();
            let standbys = statuses
                .iter()
                .filter(|(_, status)| *status == Some(429))
                .count();
            leader = active.first().copied();
            active.len() == 1 && standbys + 1 == ports.len()
        });
        leader.expect("the wait returned with a leader")
    }

    /// What node `index` logged so far (it may include tokens: only for failure messages).
    pub fn log(&self, index: usize) -> String {
        std::fs::read_to_string(self.home.join(format!("node{index}.log"))).unwrap_or_default()
    }
}

impl fmt::Debug for BaoCluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BaoCluster")
            .field(
                "ports",
                &self.nodes.iter().map(|node| node.api).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}
