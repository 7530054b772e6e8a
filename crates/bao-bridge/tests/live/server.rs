//! The test fixture: a real `bao server -dev` on 127.0.0.1, on a free port, with a random root
//! token, a temporary `HOME` and `-dev-no-store-token` (so it never writes `~/.vault-token`),
//! killed on drop. The binary is found by `aesec_tests::Peer::find` (the `BAO` variable, the
//! project venv, then `PATH`); when it is missing the test is skipped, or fails under
//! `AESEC_REQUIRE_PEERS=1`.

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use aesec_bao_bridge::secrecy::SecretString;
use aesec_bao_bridge::{Client, Config, RetryPolicy, serde_json};
use aesec_tests::{ChildGuard, TempHome, free_port, random_hex};

/// How long a dev server may take to answer.
const READY: Duration = Duration::from_secs(60);

/// A running dev server.
pub(crate) struct Server {
    guard: ChildGuard,
    home: TempHome,
    bao: PathBuf,
    port: u16,
    token: String,
    ca: Option<PathBuf>,
}

/// Plain HTTP or `-dev-tls`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tls {
    Off,
    On,
}

impl Server {
    /// A plain-HTTP dev server, or `None` when `bao` is missing (see the module docs).
    pub(crate) fn start() -> Option<Self> {
        Self::start_with(Tls::Off)
    }

    /// A dev server with `-dev-tls`: its CA is in [`Server::ca`].
    pub(crate) fn start_tls() -> Option<Self> {
        Self::start_with(Tls::On)
    }

    fn start_with(tls: Tls) -> Option<Self> {
        let bao = aesec_tests::bao()?;
        let home = TempHome::new();
        let port = free_port();
        let token = format!("aesec-test-{}", random_hex());
        let mut cmd = home.cmd(&bao);
        cmd.args(["server", "-dev", "-dev-no-store-token"])
            .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
            .arg(format!("-dev-root-token-id={token}"));
        let ca = (tls == Tls::On).then(|| {
            let dir = home.join("tls");
            std::fs::create_dir_all(&dir).expect("creating the TLS directory");
            cmd.arg("-dev-tls")
                .arg(format!("-dev-tls-cert-dir={}", dir.display()));
            dir.join("vault-ca.pem")
        });
        let guard = cmd.spawn(home.join("bao.log"));
        let mut server = Self {
            guard,
            home,
            bao,
            port,
            token,
            ca,
        };
        let probe = server.client_with(RetryPolicy::never());
        let log = server.home.join("bao.log");
        server.guard.wait_until("bao sys/health", READY, || {
            // The banner (with the unseal key) is printed after the listener starts.
            std::fs::read_to_string(&log).is_ok_and(|text| text.contains("Root Token:"))
                && server.ca.as_ref().is_none_or(|ca| ca.exists())
                && matches!(
                    Client::new(probe.clone()).map(|client| client.read("sys/health")),
                    Ok(Ok(_))
                )
        });
        Some(server)
    }

    /// The address, `http(s)://127.0.0.1:<port>`.
    pub(crate) fn addr(&self) -> String {
        let scheme = if self.ca.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The root token.
    pub(crate) fn token(&self) -> SecretString {
        SecretString::from(self.token.clone())
    }

    /// The CA of a `-dev-tls` server.
    pub(crate) fn ca(&self) -> Option<&PathBuf> {
        self.ca.as_ref()
    }

    /// Settings for this server with the root token (and the CA), and `retry`.
    pub(crate) fn client_with(&self, retry: RetryPolicy) -> Config {
        let mut config = Config::new(self.addr()).token(self.token()).retry(retry);
        if let Some(ca) = &self.ca {
            config = config.ca_cert(ca);
        }
        config
    }

    /// A root client with the default retries.
    pub(crate) fn root(&self) -> Client {
        Client::new(self.client_with(RetryPolicy::default())).expect("a client for the server")
    }

    /// An anonymous client (no token) with the default retries.
    pub(crate) fn anonymous(&self) -> Client {
        let mut config = self.client_with(RetryPolicy::default());
        config.token = None;
        Client::new(config).expect("a client for the server")
    }

    /// Runs the real `bao` CLI against this server as root; asserts success.
    pub(crate) fn bao(&self, args: &[&str]) -> Output {
        let mut cmd = self.home.cmd(&self.bao);
        cmd.args(args)
            .env("BAO_ADDR", self.addr())
            .env("BAO_TOKEN", &self.token);
        if let Some(ca) = &self.ca {
            cmd.env("BAO_CACERT", ca);
        }
        cmd.run()
    }

    /// `bao` CLI output as text, trimmed.
    pub(crate) fn bao_text(&self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.bao(args).stdout)
            .trim()
            .to_owned()
    }

    /// Setup through the library's raw API: `POST path` as root.
    pub(crate) fn setup(&self, path: &str, body: serde_json::Value) {
        self.root()
            .write(path, &body)
            .unwrap_or_else(|error| panic!("setup {path}: {error}\nlog:\n{}", self.log()));
    }

    /// The server log (it holds the root token: only for failure messages).
    pub(crate) fn log(&self) -> String {
        self.guard.log()
    }

    /// The unseal key the dev server printed.
    pub(crate) fn unseal_key(&self) -> String {
        self.log()
            .lines()
            .find_map(|line| line.trim().strip_prefix("Unseal Key: "))
            .expect("the dev server prints its unseal key")
            .trim()
            .to_owned()
    }
}
