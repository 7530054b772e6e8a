//! The HTTP client: one request function with the token header, retries, error mapping and
//! `X-Vault-Index` tracking, and the raw logical API (`read`, `write`, `delete`, `list`) the
//! typed modules build on.
//!
//! Kept in one file although it is long: the request, its retry loop and the error mapping
//! decide together whether a request may be repeated, and splitting them would hide that.
//!
//! Every request goes through [`Client::send`]: it adds `X-Vault-Token` (marked sensitive so
//! it never appears in reqwest's own logs), `X-Vault-Namespace`, `X-Vault-Request: true`, and,
//! once a Raft node has told us its storage index, `X-Vault-Index` with
//! `X-Vault-Inconsistent`, so a later read on a standby sees this client's writes. Failures
//! are mapped to [`Error`] from the status and the `{"errors": [...]}` body, then retried
//! according to [`RetryPolicy`] when the server did not act on the request (connection
//! refused, 412, 429, a sealed or standby 503, the KV "upgrading" 400), and also on 500, 502,
//! 504 and timeouts when the request is idempotent.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use base64::Engine as _;
use reqwest::Method;
use reqwest::blocking::Client as HttpClient;
use reqwest::header::{HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::config::{Config, Consistency};
use crate::envelope::{Response, WrapInfo};
use crate::error::{ConfigError, Error, RetryClass};
use crate::retry::{RetryPolicy, parse_retry_after};

/// The response header (and request header) carrying a Raft node's storage index.
const INDEX_HEADER: &str = "x-vault-index";

/// A blocking OpenBao client. Cheap to clone: clones share the connection pool, the token,
/// the index and the statistics.
///
/// It is blocking on purpose: aesec's CLI and its `MasterKey` trait are synchronous, and a
/// push runs a handful of sequential requests per secret. An async embedder calls it from
/// `tokio::task::spawn_blocking` (reqwest's blocking client must not be created or dropped
/// on an async runtime thread).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: HttpClient,
    address: String,
    namespace: Option<String>,
    token: RwLock<Option<SecretString>>,
    retry: RetryPolicy,
    consistency: Consistency,
    index: Mutex<Option<String>>,
    requests: AtomicU64,
    retries: AtomicU64,
}

/// Counters of what a [`Client`] sent, for reports and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Stats {
    /// HTTP attempts made (every retry counts).
    pub requests: u64,
    /// Attempts that were retries of a failed one.
    pub retries: u64,
}

/// Which token a request carries.
#[derive(Clone, Copy)]
pub(crate) enum TokenUse<'a> {
    /// The client's token; a request without one fails with [`Error::NoToken`].
    Client,
    /// No token (logins, `sys/wrapping/lookup`, `sys/health`).
    Anonymous,
    /// This token instead of the client's (unwrapping with a wrapping token).
    Explicit(&'a SecretString),
}

/// One logical request, before retries.
pub(crate) struct Request<'a> {
    pub(crate) method: Method,
    pub(crate) path: &'a str,
    pub(crate) query: Vec<(&'a str, String)>,
    pub(crate) body: Option<Zeroizing<Vec<u8>>>,
    pub(crate) merge_patch: bool,
    pub(crate) token: TokenUse<'a>,
    pub(crate) wrap_ttl: Option<Duration>,
    /// Whether sending it twice has the same effect as once (reads, CAS writes, Transit).
    pub(crate) idempotent: bool,
}

impl<'a> Request<'a> {
    pub(crate) fn new(method: Method, path: &'a str) -> Self {
        let idempotent = method == Method::GET || method == Method::DELETE;
        Self {
            method,
            path,
            query: Vec::new(),
            body: None,
            merge_patch: false,
            token: TokenUse::Client,
            wrap_ttl: None,
            idempotent,
        }
    }

    /// A JSON body, serialized into memory that is cleared on drop.
    pub(crate) fn json(mut self, body: &impl serde::Serialize) -> Self {
        // Serializing a `serde_json::Value` or a derived struct of strings cannot fail.
        self.body = Some(Zeroizing::new(
            serde_json::to_vec(body).expect("JSON values always serialize"),
        ));
        self
    }

    pub(crate) fn idempotent(mut self, idempotent: Idempotent) -> Self {
        self.idempotent = matches!(idempotent, Idempotent::Yes);
        self
    }

    pub(crate) fn token(mut self, token: TokenUse<'a>) -> Self {
        self.token = token;
        self
    }
}

/// Whether a request may be resent after an answer that may have been acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotent {
    Yes,
    No,
}

/// A failed attempt and how it may be retried.
struct Failure {
    error: Error,
    class: RetryClass,
    retry_after: Option<Duration>,
}

impl Client {
    /// Builds a client: reads the CA and client certificate files the config names (the
    /// environment is never read here; see [`Config::from_env_with`]).
    ///
    /// ```no_run
    /// use aesec_bao_bridge::{Client, Config};
    ///
    /// let config = Config::from_env_with(|name| std::env::var(name).ok())?;
    /// let client = Client::new(config)?;
    /// let me = client.lookup_self()?;
    /// println!("token policies: {:?}", me.policies);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        let address = config.address.trim_end_matches('/').to_owned();
        if !(address.starts_with("http://") || address.starts_with("https://")) {
            return Err(ConfigError::InvalidAddress { address });
        }
        if !config.insecure_http
            && let Some(authority) = address.strip_prefix("http://")
            && !is_loopback(authority)
        {
            return Err(ConfigError::PlainHttp { address });
        }
        let http = crate::tls::http_client(&config)?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                address,
                namespace: config.namespace.filter(|ns| !ns.is_empty()),
                token: RwLock::new(config.token),
                retry: config.retry,
                consistency: config.consistency,
                index: Mutex::new(None),
                requests: AtomicU64::new(0),
                retries: AtomicU64::new(0),
            }),
        })
    }

    /// The server address (no trailing `/`).
    pub fn address(&self) -> &str {
        &self.inner.address
    }

    /// Replaces the token (after a login, or to act as another identity).
    pub fn set_token(&self, token: SecretString) {
        *self
            .inner
            .token
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(token);
    }

    /// Whether the client holds a token.
    pub fn has_token(&self) -> bool {
        self.inner
            .token
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// What the client has sent so far.
    pub fn stats(&self) -> Stats {
        Stats {
            requests: self.inner.requests.load(Ordering::Relaxed),
            retries: self.inner.retries.load(Ordering::Relaxed),
        }
    }

    /// The highest `X-Vault-Index` seen, sent back on every request (absent on a dev server).
    pub fn last_index(&self) -> Option<String> {
        self.inner
            .index
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// `GET path`: reads a logical path (`secret/data/apps/web`, `sys/mounts`, …).
    pub fn read(&self, path: &str) -> Result<Response, Error> {
        self.send(Request::new(Method::GET, path))
    }

    /// `POST path` with a JSON body: writes a logical path. It is not resent after an answer
    /// that may have been acted on (a 500, a timeout), since a write may not be idempotent.
    pub fn write(&self, path: &str, body: &serde_json::Value) -> Result<Response, Error> {
        self.send(Request::new(Method::POST, path).json(body))
    }

    /// `POST path` asking the server to wrap the answer for `ttl` (`X-Vault-Wrap-TTL`):
    /// returns the wrapping token's info; the payload stays on the server until unwrapped.
    pub fn write_wrapped(
        &self,
        path: &str,
        body: &serde_json::Value,
        ttl: Duration,
    ) -> Result<WrapInfo, Error> {
        let mut request = Request::new(Method::POST, path).json(body);
        request.wrap_ttl = Some(ttl);
        self.send(request)?.wrap_info.ok_or_else(|| Error::Decode {
            path: path.to_owned(),
            what: "no wrap_info in a wrapped answer".to_owned(),
        })
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> Result<Response, Error> {
        self.send(Request::new(Method::DELETE, path))
    }

    /// `LIST path` (as `GET ?list=true`): the keys under a path, folders ending in `/`; an
    /// empty list when there is nothing (the server's 404).
    pub fn list(&self, path: &str) -> Result<Vec<String>, Error> {
        #[derive(Deserialize)]
        struct Keys {
            keys: Vec<String>,
        }
        let mut request = Request::new(Method::GET, path);
        request.query.push(("list", "true".to_owned()));
        match self.send(request) {
            Ok(response) => Ok(response.data_as::<Keys>(path)?.keys),
            Err(Error::NotFound { .. }) => Ok(Vec::new()),
            Err(error) => Err(error),
        }
    }

    /// Sends a request with retries and returns the parsed envelope.
    pub(crate) fn send(&self, request: Request<'_>) -> Result<Response, Error> {
        let body = self.send_raw(&request)?;
        Response::parse(&body, request.path)
    }

    /// Sends a request with retries and returns the raw success body (maybe empty).
    pub(crate) fn send_raw(&self, request: &Request<'_>) -> Result<Zeroizing<Vec<u8>>, Error> {
        let policy = self.inner.retry;
        let mut attempt = 1;
        loop {
            self.inner.requests.fetch_add(1, Ordering::Relaxed);
            let failure = match self.attempt(request) {
                Ok(body) => return Ok(body),
                Err(failure) => failure,
            };
            let may_retry = match failure.class {
                RetryClass::NotApplied => true,
                RetryClass::MaybeApplied => request.idempotent,
                RetryClass::Never => false,
            };
            if !may_retry || attempt >= policy.max_attempts {
                return Err(failure.error);
            }
            let wait = policy.delay(attempt, failure.retry_after);
            tracing::debug!(
                method = %request.method,
                path = request.path,
                attempt,
                wait_ms = wait.as_millis() as u64,
                error = %failure.error,
                "retrying",
            );
            self.inner.retries.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(wait);
            attempt += 1;
        }
    }

    fn attempt(&self, request: &Request<'_>) -> Result<Zeroizing<Vec<u8>>, Failure> {
        let never = |error| Failure {
            error,
            class: RetryClass::Never,
            retry_after: None,
        };
        let url = format!(
            "{}/v1/{}",
            self.inner.address,
            request.path.trim_start_matches('/')
        );
        let mut builder = self
            .inner
            .http
            .request(request.method.clone(), url)
            .header("X-Vault-Request", "true");
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        if let Some(header) = self.token_header(request).map_err(never)? {
            builder = builder.header("X-Vault-Token", header);
        }
        if let Some(namespace) = &self.inner.namespace {
            builder = builder.header("X-Vault-Namespace", namespace.as_str());
        }
        if let Some(ttl) = request.wrap_ttl {
            builder = builder.header("X-Vault-Wrap-TTL", format!("{}s", ttl.as_secs().max(1)));
        }
        if let Some(index) = self.last_index() {
            builder = builder.header("X-Vault-Index", index).header(
                "X-Vault-Inconsistent",
                self.inner.consistency.header_value(),
            );
        }
        if let Some(body) = &request.body {
            let content_type = if request.merge_patch {
                "application/merge-patch+json"
            } else {
                "application/json"
            };
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body.to_vec());
        }
        let response = builder
            .send()
            .map_err(|error| self.transport_failure(request, &error))?;
        let status = response.status().as_u16();
        self.track_index(response.headers());
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(parse_retry_after);
        let body = Zeroizing::new(
            response
                .bytes()
                .map_err(|error| self.transport_failure(request, &error))?
                .to_vec(),
        );
        tracing::debug!(method = %request.method, path = request.path, status, "answer");
        if (200..300).contains(&status) {
            return Ok(body);
        }
        Err(self.status_failure(status, &body, request.path, retry_after))
    }

    fn token_header(&self, request: &Request<'_>) -> Result<Option<HeaderValue>, Error> {
        let guard;
        let token = match request.token {
            TokenUse::Anonymous => return Ok(None),
            TokenUse::Explicit(token) => token,
            TokenUse::Client => {
                guard = self
                    .inner
                    .token
                    .read()
                    .unwrap_or_else(PoisonError::into_inner);
                guard.as_ref().ok_or_else(|| Error::NoToken {
                    path: request.path.to_owned(),
                })?
            }
        };
        let mut value =
            HeaderValue::from_str(token.expose_secret()).map_err(|_| Error::InvalidToken)?;
        value.set_sensitive(true);
        Ok(Some(value))
    }

    fn track_index(&self, headers: &HeaderMap) {
        let Some(seen) = headers
            .get(INDEX_HEADER)
            .and_then(|value| value.to_str().ok())
        else {
            return;
        };
        let mut index = self
            .inner
            .index
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if index
            .as_deref()
            .is_none_or(|current| index_is_newer(current, seen))
        {
            *index = Some(seen.to_owned());
        }
    }

    fn transport_failure(&self, request: &Request<'_>, error: &reqwest::Error) -> Failure {
        if let Some(reason) = crate::tls::certificate_failure(error) {
            return Failure {
                error: Error::Tls {
                    addr: self.inner.address.clone(),
                    reason,
                },
                class: RetryClass::Never,
                retry_after: None,
            };
        }
        // A refused or failed connection never reached the server.
        let class = if error.is_connect() {
            RetryClass::NotApplied
        } else {
            RetryClass::MaybeApplied
        };
        Failure {
            error: Error::Transport {
                addr: self.inner.address.clone(),
                method: request.method.to_string(),
                path: request.path.to_owned(),
                reason: describe_chain(error),
            },
            class,
            retry_after: None,
        }
    }

    fn status_failure(
        &self,
        status: u16,
        body: &[u8],
        path: &str,
        retry_after: Option<Duration>,
    ) -> Failure {
        let (error, class) = classify(status, body, path, &self.inner.address, retry_after);
        Failure {
            error,
            class,
            retry_after,
        }
    }
}

/// Maps a failed answer to an error and its retry class (see the module docs).
fn classify(
    status: u16,
    body: &[u8],
    path: &str,
    addr: &str,
    retry_after: Option<Duration>,
) -> (Error, RetryClass) {
    #[derive(Deserialize, Default)]
    struct ErrorBody {
        #[serde(default)]
        errors: Option<Vec<String>>,
        #[serde(default)]
        data: Option<ErrorData>,
    }
    #[derive(Deserialize)]
    struct ErrorData {
        #[serde(default)]
        metadata: Option<KvVersion>,
    }
    #[derive(Deserialize)]
    struct KvVersion {
        #[serde(default)]
        version: u64,
        #[serde(default)]
        deletion_time: String,
        #[serde(default)]
        destroyed: bool,
    }
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let errors = parsed.errors.unwrap_or_default();
    let path = path.to_owned();
    let any = |needle: &str| {
        errors
            .iter()
            .any(|error| error.to_ascii_lowercase().contains(needle))
    };
    match status {
        400 if any("check-and-set") => (Error::CasMismatch { path, errors }, RetryClass::Never),
        // A fresh KV v2 mount upgrading its storage: "Waiting for the primary to upgrade…" on
        // a standby, "Upgrading from non-versioned to versioned data…" on the active node.
        400 if any("waiting for the primary to upgrade")
            || any("upgrading from non-versioned to versioned data") =>
        {
            (
                Error::InvalidRequest {
                    path,
                    status,
                    errors,
                },
                RetryClass::NotApplied,
            )
        }
        403 => (Error::PermissionDenied { path, errors }, RetryClass::Never),
        404 => {
            let error = match parsed.data.and_then(|data| data.metadata) {
                Some(meta) if meta.destroyed => Error::Destroyed {
                    path,
                    version: meta.version,
                },
                Some(meta) if !meta.deletion_time.is_empty() => Error::SoftDeleted {
                    path,
                    version: meta.version,
                    deletion_time: meta.deletion_time,
                },
                _ => Error::NotFound { path, errors },
            };
            (error, RetryClass::Never)
        }
        412 => (Error::Inconsistent { path }, RetryClass::NotApplied),
        429 => (
            Error::RateLimited {
                path,
                retry_after,
                errors,
            },
            RetryClass::NotApplied,
        ),
        503 if any("sealed") => (
            Error::Sealed {
                addr: addr.to_owned(),
                path,
            },
            RetryClass::NotApplied,
        ),
        501 => (
            Error::Server {
                path,
                status,
                errors,
            },
            RetryClass::Never,
        ),
        503 => (
            Error::Server {
                path,
                status,
                errors,
            },
            RetryClass::NotApplied,
        ),
        500..=599 => (
            Error::Server {
                path,
                status,
                errors,
            },
            RetryClass::MaybeApplied,
        ),
        _ => (
            Error::InvalidRequest {
                path,
                status,
                errors,
            },
            RetryClass::Never,
        ),
    }
}

/// Whether index `seen` is past `current`. Both are base64 of `{"cluster":…,"value":"N"}`;
/// an index of another cluster, or one that does not decode, replaces the current one.
fn index_is_newer(current: &str, seen: &str) -> bool {
    #[derive(Deserialize)]
    struct Index {
        cluster: String,
        value: String,
    }
    let decode = |text: &str| -> Option<(String, u64)> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(text))
            .ok()?;
        let index: Index = serde_json::from_slice(&bytes).ok()?;
        Some((index.cluster, index.value.parse().ok()?))
    };
    match (decode(current), decode(seen)) {
        (Some((cluster_a, a)), Some((cluster_b, b))) if cluster_a == cluster_b => b > a,
        _ => current != seen,
    }
}

/// The error and its sources, joined with `: ` (reqwest's top message alone says little).
fn describe_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let part = cause.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = cause.source();
    }
    text
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("address", &self.inner.address)
            .field("namespace", &self.inner.namespace)
            .field("has_token", &self.has_token())
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

impl Response {
    /// The `data` object decoded as `T`; a missing or mistyped field is a [`Error::Decode`]
    /// that names the type, never the values (they may be secret).
    pub(crate) fn data_as<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        decode_value(self.data.as_ref(), path)
    }
}

/// Decodes a JSON value as `T`, reporting only what kind of thing was expected.
pub(crate) fn decode_value<T: DeserializeOwned>(
    value: Option<&serde_json::Value>,
    path: &str,
) -> Result<T, Error> {
    let value = value.ok_or_else(|| Error::Decode {
        path: path.to_owned(),
        what: "no data in the answer".to_owned(),
    })?;
    T::deserialize(value).map_err(|_| Error::Decode {
        path: path.to_owned(),
        what: format!(
            "data does not fit {}",
            std::any::type_name::<T>()
                .rsplit("::")
                .next()
                .unwrap_or("the expected type")
        ),
    })
}

/// Whether the host of `authority` (`host[:port][/…]`, maybe `user@`) is this machine:
/// `localhost` or a loopback IP address (`127.0.0.0/8`, `[::1]`).
fn is_loopback(authority: &str) -> bool {
    let authority = authority.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, rest)| rest);
    let host = match host_port.strip_prefix('[') {
        Some(bracketed) => bracketed
            .split_once(']')
            .map_or(bracketed, |(host, _)| host),
        None => host_port
            .split_once(':')
            .map_or(host_port, |(host, _)| host),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_this_machine_unless_allowed() {
        for local in [
            "http://127.0.0.1:8200",
            "http://127.9.8.7",
            "http://LOCALHOST:8200/",
            "http://[::1]:8200",
            "http://user@localhost:1",
            "https://bao.example:8200",
        ] {
            assert!(Client::new(Config::new(local)).is_ok(), "{local}");
        }
        for remote in [
            "http://bao.example:8200",
            "http://10.0.0.5:8200",
            "http://127.0.0.1.evil.example",
            "http://localhost.evil.example:80",
            "http://[::2]:8200",
            "http://127.0.0.1@bao.example",
        ] {
            match Client::new(Config::new(remote)) {
                Err(ConfigError::PlainHttp { address }) => assert_eq!(address, remote),
                other => panic!("{remote}: {:?}", other.map(|_| ())),
            }
            assert!(
                Client::new(Config::new(remote).insecure_http(true)).is_ok(),
                "{remote}"
            );
        }
    }

    fn class(status: u16, body: &str) -> (Error, RetryClass) {
        classify(status, body.as_bytes(), "kv/data/x", "http://a", None)
    }

    #[test]
    fn statuses_map_to_typed_errors_and_retry_classes() {
        assert!(matches!(
            class(
                400,
                r#"{"errors":["check-and-set parameter did not match the current version"]}"#
            ),
            (Error::CasMismatch { .. }, RetryClass::Never)
        ));
        assert!(matches!(
            class(
                400,
                r#"{"errors":["Waiting for the primary to upgrade from non-versioned to versioned data. This backend will be unavailable for a brief period and will resume service when the primary is finished."]}"#
            ),
            (
                Error::InvalidRequest { status: 400, .. },
                RetryClass::NotApplied
            )
        ));
        assert!(matches!(
            class(
                400,
                r#"{"errors":["Upgrading from non-versioned to versioned data. This backend will be unavailable for a brief period and will resume service shortly."]}"#
            ),
            (
                Error::InvalidRequest { status: 400, .. },
                RetryClass::NotApplied
            )
        ));
        assert!(matches!(
            class(400, r#"{"errors":["invalid role or secret ID"]}"#),
            (Error::InvalidRequest { status: 400, .. }, RetryClass::Never)
        ));
        assert!(matches!(
            class(
                403,
                r#"{"errors":["1 error occurred:\n\t* permission denied\n\n"]}"#
            ),
            (Error::PermissionDenied { .. }, RetryClass::Never)
        ));
        assert!(matches!(
            class(404, r#"{"errors":[]}"#),
            (Error::NotFound { .. }, RetryClass::Never)
        ));
        assert!(matches!(
            class(
                404,
                r#"{"data":{"data":null,"metadata":{"deletion_time":"2026-11-22T03:16:38.00Z","destroyed":false,"version":3}}}"#
            ),
            (Error::SoftDeleted { version: 3, .. }, RetryClass::Never)
        ));
        assert!(matches!(
            class(
                404,
                r#"{"data":{"data":null,"metadata":{"deletion_time":"","destroyed":true,"version":1}}}"#
            ),
            (Error::Destroyed { version: 1, .. }, RetryClass::Never)
        ));
        assert!(matches!(
            class(412, ""),
            (Error::Inconsistent { .. }, RetryClass::NotApplied)
        ));
        assert!(matches!(
            class(429, r#"{"errors":[]}"#),
            (Error::RateLimited { .. }, RetryClass::NotApplied)
        ));
        assert!(matches!(
            class(503, r#"{"errors":["Vault is sealed"]}"#),
            (Error::Sealed { .. }, RetryClass::NotApplied)
        ));
        assert!(matches!(
            class(501, r#"{"errors":[]}"#),
            (Error::Server { status: 501, .. }, RetryClass::Never)
        ));
        assert!(matches!(
            class(500, "not json"),
            (Error::Server { status: 500, .. }, RetryClass::MaybeApplied)
        ));
        assert!(matches!(
            class(
                415,
                r#"{"errors":["PATCH requires Content-Type of application/merge-patch+json"]}"#
            ),
            (Error::InvalidRequest { status: 415, .. }, RetryClass::Never)
        ));
    }

    #[test]
    fn the_highest_index_of_a_cluster_wins() {
        let index = |value: &str| {
            base64::engine::general_purpose::STANDARD
                .encode(format!(r#"{{"cluster":"c1","value":"{value}"}}"#))
        };
        assert!(index_is_newer(&index("40"), &index("41")));
        assert!(!index_is_newer(&index("41"), &index("40")));
        assert!(!index_is_newer(&index("41"), &index("41")));
        let other =
            base64::engine::general_purpose::STANDARD.encode(r#"{"cluster":"c2","value":"1"}"#);
        assert!(index_is_newer(&index("41"), &other));
    }

    #[test]
    fn debug_never_shows_the_token() {
        let client = Client::new(
            Config::new("http://127.0.0.1:1").token(SecretString::from("s.top-secret-value")),
        )
        .unwrap();
        let shown = format!("{client:?}");
        assert!(!shown.contains("top-secret"), "{shown}");
        assert!(shown.contains("has_token: true"), "{shown}");
    }
}
