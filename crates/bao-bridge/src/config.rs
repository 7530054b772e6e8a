//! Client settings, and how they are read from the environment the way OpenBao reads it.
//!
//! OpenBao's Go client (`api/client.go`, `ReadBaoVariable`) reads `BAO_X` when that variable is
//! present in the environment at all, even empty, and `VAULT_X` otherwise. An empty value then
//! means "not set". [`Config::from_env_with`] follows the same rule, but through a lookup
//! closure: the library never reads the process environment itself, so an embedder can feed
//! it a map, and the CLI passes `|name| std::env::var(name).ok()`.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use crate::error::ConfigError;
use crate::retry::RetryPolicy;

/// The address the Go client uses when none is set.
pub const DEFAULT_ADDRESS: &str = "https://127.0.0.1:8200";

/// The request timeout the Go client uses when none is set.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// What a standby should do with a request whose `X-Vault-Index` it has not reached yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Consistency {
    /// Send `X-Vault-Inconsistent: forward-active-node`: the standby forwards the request to
    /// the active node, so a read sees every write this client made (read-after-write).
    #[default]
    ForwardActiveNode,
    /// Send `X-Vault-Inconsistent: fail`: the standby answers 429 (412 on Vault) and the
    /// client retries until the node has caught up.
    Fail,
}

impl Consistency {
    pub(crate) fn header_value(self) -> &'static str {
        match self {
            Self::ForwardActiveNode => "forward-active-node",
            Self::Fail => "fail",
        }
    }
}

/// Everything a [`crate::Client`] needs: the server, the token, TLS and retry settings.
///
/// Build it with [`Config::new`] and the setters, or from the environment with
/// [`Config::from_env_with`]. `Debug` never shows the token.
#[derive(Clone)]
#[non_exhaustive]
pub struct Config {
    /// The server, e.g. `https://bao.example:8200` (no `/v1`).
    pub address: String,
    /// The client token, sent as `X-Vault-Token`.
    pub token: Option<SecretString>,
    /// The namespace, sent as `X-Vault-Namespace`.
    pub namespace: Option<String>,
    /// A PEM file of CA certificates to trust instead of the system roots.
    pub ca_cert: Option<PathBuf>,
    /// A directory of PEM CA certificates to trust instead of the system roots.
    pub ca_path: Option<PathBuf>,
    /// A PEM client certificate for mutual TLS (with [`Config::client_key`]).
    pub client_cert: Option<PathBuf>,
    /// The PEM private key of [`Config::client_cert`].
    pub client_key: Option<PathBuf>,
    /// Accept any server certificate. Dangerous: only for throwaway test servers.
    pub skip_verify: bool,
    /// Allow plain `http://` to a server that is not on this machine: the token would cross
    /// the network in clear. Off by default (`http://` to a loopback address is always
    /// allowed); the CLI's `--insecure-http`.
    pub insecure_http: bool,
    /// The timeout of one attempt.
    pub timeout: Duration,
    /// How failed attempts are retried.
    pub retry: RetryPolicy,
    /// How read-after-write is kept on HA clusters.
    pub consistency: Consistency,
}

impl Config {
    /// Settings for `address` with no token, the system CA roots and the default retries.
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            token: None,
            namespace: None,
            ca_cert: None,
            ca_path: None,
            client_cert: None,
            client_key: None,
            skip_verify: false,
            insecure_http: false,
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            consistency: Consistency::default(),
        }
    }

    /// Sets the token.
    pub fn token(mut self, token: SecretString) -> Self {
        self.token = Some(token);
        self
    }

    /// Sets the namespace.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Trusts the CA certificates of this PEM file instead of the system roots.
    pub fn ca_cert(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_cert = Some(path.into());
        self
    }

    /// Allows (or not) plain `http://` to a server off this machine ([`Config::insecure_http`]).
    pub fn insecure_http(mut self, allow: bool) -> Self {
        self.insecure_http = allow;
        self
    }

    /// Sets the retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the timeout of one attempt.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Reads the settings from environment variables through `lookup`, with OpenBao's rule:
    /// `BAO_X` if it is set at all (even empty), else `VAULT_X`; an empty value is "unset".
    ///
    /// Variables read (each also as `VAULT_…`): `BAO_ADDR`, `BAO_TOKEN`, `BAO_NAMESPACE`,
    /// `BAO_CACERT`, `BAO_CAPATH`, `BAO_CLIENT_CERT`, `BAO_CLIENT_KEY`, `BAO_SKIP_VERIFY`
    /// (Go's boolean forms), `BAO_CLIENT_TIMEOUT` (seconds, or a duration like `30s`, `2m`)
    /// and `BAO_MAX_RETRIES` (retries after the first attempt, as in the Go client).
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use aesec_bao_bridge::Config;
    ///
    /// let env = HashMap::from([
    ///     ("BAO_ADDR", "https://bao.example:8200"),
    ///     ("VAULT_ADDR", "https://ignored.example:8200"),
    ///     ("BAO_NAMESPACE", ""), // set but empty: VAULT_NAMESPACE is not read
    ///     ("VAULT_NAMESPACE", "team-a"),
    ///     ("VAULT_CACERT", "/etc/bao/ca.pem"),
    /// ]);
    /// let config = Config::from_env_with(|name| env.get(name).map(|v| v.to_string()))?;
    /// assert_eq!(config.address, "https://bao.example:8200");
    /// assert_eq!(config.namespace, None);
    /// assert_eq!(config.ca_cert.as_deref(), Some(std::path::Path::new("/etc/bao/ca.pem")));
    /// # Ok::<(), aesec_bao_bridge::ConfigError>(())
    /// ```
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let read = |suffix: &str| -> Option<(String, String)> {
            let bao = format!("BAO_{suffix}");
            let (name, value) = match lookup(&bao) {
                Some(value) => (bao, value),
                None => {
                    let vault = format!("VAULT_{suffix}");
                    let value = lookup(&vault)?;
                    (vault, value)
                }
            };
            (!value.is_empty()).then_some((name, value))
        };
        let mut config = Self::new(
            read("ADDR")
                .map(|(_, value)| value)
                .unwrap_or_else(|| DEFAULT_ADDRESS.to_owned()),
        );
        config.token = read("TOKEN").map(|(_, value)| SecretString::from(value));
        config.namespace = read("NAMESPACE").map(|(_, value)| value);
        config.ca_cert = read("CACERT").map(|(_, value)| PathBuf::from(value));
        config.ca_path = read("CAPATH").map(|(_, value)| PathBuf::from(value));
        config.client_cert = read("CLIENT_CERT").map(|(_, value)| PathBuf::from(value));
        config.client_key = read("CLIENT_KEY").map(|(_, value)| PathBuf::from(value));
        if let Some((name, value)) = read("SKIP_VERIFY") {
            config.skip_verify = parse_go_bool(&value).ok_or(ConfigError::InvalidVar {
                name,
                value,
                why: "expected a boolean (1, t, true, 0, f, false)",
            })?;
        }
        if let Some((name, value)) = read("CLIENT_TIMEOUT") {
            config.timeout = parse_duration(&value).ok_or(ConfigError::InvalidVar {
                name,
                value,
                why: "expected seconds or a duration such as 30s, 2m, 1h",
            })?;
        }
        if let Some((name, value)) = read("MAX_RETRIES") {
            let retries: u32 = value.parse().map_err(|_| ConfigError::InvalidVar {
                name,
                value,
                why: "expected a whole number",
            })?;
            config.retry.max_attempts = retries.saturating_add(1);
        }
        Ok(config)
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("address", &self.address)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("namespace", &self.namespace)
            .field("ca_cert", &self.ca_cert)
            .field("ca_path", &self.ca_path)
            .field("client_cert", &self.client_cert)
            .field("client_key", &self.client_key)
            .field("skip_verify", &self.skip_verify)
            .field("insecure_http", &self.insecure_http)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("consistency", &self.consistency)
            .finish()
    }
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Whole seconds (`30`), or one number with a unit: `ms`, `s`, `m`, `h` (`30s`, `2m`).
fn parse_duration(value: &str) -> Option<Duration> {
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let split = value.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = value.split_at(split);
    let number: u64 = number.parse().ok()?;
    match unit {
        "ms" => Some(Duration::from_millis(number)),
        "s" => Some(Duration::from_secs(number)),
        "m" => Some(Duration::from_secs(number.checked_mul(60)?)),
        "h" => Some(Duration::from_secs(number.checked_mul(3600)?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use secrecy::ExposeSecret;

    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_env_with(|name| env.get(name).cloned())
    }

    #[test]
    fn bao_wins_even_when_empty_and_vault_is_the_fallback() {
        let config = from(&[
            ("BAO_TOKEN", ""),
            ("VAULT_TOKEN", "vault-token"),
            ("VAULT_ADDR", "http://127.0.0.1:8200"),
            ("BAO_NAMESPACE", "team-a"),
            ("VAULT_NAMESPACE", "team-b"),
            ("VAULT_CLIENT_CERT", "/c.pem"),
            ("VAULT_CLIENT_KEY", "/k.pem"),
            ("VAULT_CAPATH", "/cas"),
        ])
        .unwrap();
        assert!(
            config.token.is_none(),
            "an empty BAO_TOKEN hides VAULT_TOKEN"
        );
        assert_eq!(config.address, "http://127.0.0.1:8200");
        assert_eq!(config.namespace.as_deref(), Some("team-a"));
        assert_eq!(config.client_cert, Some(PathBuf::from("/c.pem")));
        assert_eq!(config.client_key, Some(PathBuf::from("/k.pem")));
        assert_eq!(config.ca_path, Some(PathBuf::from("/cas")));

        let config = from(&[("VAULT_TOKEN", "s.abc")]).unwrap();
        assert_eq!(config.token.unwrap().expose_secret(), "s.abc");
        assert_eq!(config.address, DEFAULT_ADDRESS);
    }

    #[test]
    fn skip_verify_timeout_and_retries_parse_like_go() {
        let config = from(&[
            ("VAULT_SKIP_VERIFY", "T"),
            ("BAO_CLIENT_TIMEOUT", "2m"),
            ("BAO_MAX_RETRIES", "0"),
        ])
        .unwrap();
        assert!(config.skip_verify);
        assert_eq!(config.timeout, Duration::from_secs(120));
        assert_eq!(config.retry.max_attempts, 1);
        assert!(matches!(
            from(&[("BAO_SKIP_VERIFY", "yes")]),
            Err(ConfigError::InvalidVar { name, .. }) if name == "BAO_SKIP_VERIFY"
        ));
        assert!(matches!(
            from(&[("VAULT_CLIENT_TIMEOUT", "soon")]),
            Err(ConfigError::InvalidVar { name, .. }) if name == "VAULT_CLIENT_TIMEOUT"
        ));
    }

    #[test]
    fn debug_never_shows_the_token() {
        let config = from(&[("BAO_TOKEN", "s.very-secret-token")]).unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("very-secret"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}
