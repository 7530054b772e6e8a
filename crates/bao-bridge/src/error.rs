//! Errors of the OpenBao client: one typed variant per failure a caller may act on.
//!
//! OpenBao answers every failure with a status and `{"errors": ["…"]}`, but the texts vary
//! (multierror wrapping, "OpenBao" vs "Vault"), so the mapping reads the status first and
//! looks at the text only where the status is ambiguous: 400 for a CAS conflict or the
//! transient "upgrading" answer of a fresh KV v2 mount, 404 with a body for a soft-deleted or
//! destroyed KV version, 503 for a sealed server. Errors never hold a token, a request body or
//! the body of a successful read; they hold the logical path (`secret/data/apps/web`) and the
//! server's own error strings.

use std::path::PathBuf;
use std::time::Duration;

/// What a request to OpenBao failed with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server could not be reached, or the connection broke (after the retries).
    #[error("cannot reach {addr} ({method} {path}): {reason}")]
    Transport {
        /// The server address.
        addr: String,
        /// The HTTP method.
        method: String,
        /// The logical path (without `/v1/`).
        path: String,
        /// What went wrong, from the HTTP stack.
        reason: String,
    },
    /// The TLS handshake failed because the server's certificate is not trusted (x509): the
    /// CA was not given (`BAO_CACERT`/`VAULT_CACERT`), or the name does not match.
    #[error("TLS certificate of {addr} is not trusted (x509): {reason}")]
    Tls {
        /// The server address.
        addr: String,
        /// The verifier's reason, e.g. `invalid peer certificate: UnknownIssuer`.
        reason: String,
    },
    /// 403: the token is missing, invalid or expired, or a policy denies the path.
    #[error("permission denied on {path}: {}", join(errors))]
    PermissionDenied {
        /// The logical path.
        path: String,
        /// The server's error strings.
        errors: Vec<String>,
    },
    /// 404 without a body: nothing at this path (or no such mount or namespace).
    #[error("{path}: not found{}", suffix(errors))]
    NotFound {
        /// The logical path.
        path: String,
        /// The server's error strings (often empty).
        errors: Vec<String>,
    },
    /// 404 with a body: the latest KV v2 version was soft-deleted (it can be undeleted).
    #[error("{path}: version {version} was deleted at {deletion_time}")]
    SoftDeleted {
        /// The logical path.
        path: String,
        /// The deleted version.
        version: u64,
        /// When it was deleted (RFC 3339, as the server sent it).
        deletion_time: String,
    },
    /// 404 with a body: the KV v2 version was destroyed (it is gone for good).
    #[error("{path}: version {version} was destroyed")]
    Destroyed {
        /// The logical path.
        path: String,
        /// The destroyed version.
        version: u64,
    },
    /// 400 "check-and-set parameter did not match": someone else wrote first. Nothing was
    /// overwritten.
    #[error("check-and-set conflict on {path}: {}", join(errors))]
    CasMismatch {
        /// The logical path.
        path: String,
        /// The server's error strings.
        errors: Vec<String>,
    },
    /// Any other 4xx the request itself caused (bad input, wrong method, reused wrapping
    /// token, wrong secret-id…); not retried.
    #[error("{path}: request refused ({status}): {}", join(errors))]
    InvalidRequest {
        /// The logical path.
        path: String,
        /// The HTTP status.
        status: u16,
        /// The server's error strings.
        errors: Vec<String>,
    },
    /// 503 "sealed": the server must be unsealed before it answers anything.
    #[error("{addr} is sealed (503 on {path}); unseal it first")]
    Sealed {
        /// The server address.
        addr: String,
        /// The logical path.
        path: String,
    },
    /// 429 after the retries: a rate-limit quota, or a standby that has not reached the
    /// requested `X-Vault-Index` yet.
    #[error("{path}: rate limited (429){}: {}", after(*retry_after), join(errors))]
    RateLimited {
        /// The logical path.
        path: String,
        /// The server's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
        /// The server's error strings (empty for an index wait).
        errors: Vec<String>,
    },
    /// 412: the node has not caught up with the requested `X-Vault-Index` (Vault's answer;
    /// OpenBao 2.7 sends 429).
    #[error("{path}: the node is behind the requested index (412)")]
    Inconsistent {
        /// The logical path.
        path: String,
    },
    /// Any other 5xx after the retries (500, 502, 503 other than sealed, 504; 501 is never
    /// retried).
    #[error("{path}: server error ({status}): {}", join(errors))]
    Server {
        /// The logical path.
        path: String,
        /// The HTTP status.
        status: u16,
        /// The server's error strings.
        errors: Vec<String>,
    },
    /// A success answer that is not the JSON this client expects. The position is given,
    /// never the text: the body may hold secrets.
    #[error("{path}: unexpected answer from the server: {what}")]
    Decode {
        /// The logical path.
        path: String,
        /// What was wrong (a missing field, or the line and column of a JSON error).
        what: String,
    },
    /// The token cannot be sent as a header (it holds a control character or non-ASCII).
    #[error("the token is not a valid HTTP header value")]
    InvalidToken,
    /// No token: the client has none (set `BAO_TOKEN`/`VAULT_TOKEN`, or log in first).
    #[error("{path}: no token (set BAO_TOKEN or VAULT_TOKEN, or log in)")]
    NoToken {
        /// The logical path.
        path: String,
    },
    /// A response-wrapping token was not made where it should have been: it may be
    /// substituted, so it was not unwrapped.
    #[error("wrapping token was created at {actual:?}, expected {expected:?}; not unwrapped")]
    WrapPathMismatch {
        /// The creation path the caller expected.
        expected: String,
        /// The creation path the server reported.
        actual: String,
    },
    /// Reading a credential file failed (a Kubernetes service-account token, a JWT).
    #[error("cannot read {}: {source}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// How a failed attempt may be retried (see [`crate::RetryPolicy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RetryClass {
    /// A final answer (most 4xx, 501, TLS failures).
    Never,
    /// The server did not act on the request: always safe to resend.
    NotApplied,
    /// The server may have acted (500, 502, 504, a timeout or a broken connection after
    /// sending): resend only idempotent requests.
    MaybeApplied,
}

fn join(errors: &[String]) -> String {
    if errors.is_empty() {
        "(no details)".to_owned()
    } else {
        errors
            .iter()
            .map(|error| error.trim().replace("\n\t* ", " ").replace('\n', " "))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn suffix(errors: &[String]) -> String {
    if errors.is_empty() {
        String::new()
    } else {
        format!(": {}", join(errors))
    }
}

fn after(retry_after: Option<Duration>) -> String {
    retry_after
        .map(|wait| format!(", retry after {}s", wait.as_secs()))
        .unwrap_or_default()
}

/// Why a [`crate::Config`] could not be built from the environment, or a [`crate::Client`]
/// from a config.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A variable holds a value of the wrong form.
    #[error("{name}={value:?} is not valid: {why}")]
    InvalidVar {
        /// The variable's name (`BAO_SKIP_VERIFY`, …).
        name: String,
        /// Its value (never read from a secret variable).
        value: String,
        /// What form was expected.
        why: &'static str,
    },
    /// A sops file or `.sops.yaml` names an OpenBao server other than the configured one: the
    /// token is not sent there.
    #[error(
        "the key names the OpenBao server {address:?}, not the configured {configured:?}: the token is sent only to the configured server (set BAO_ADDR={address} if that server is trusted)"
    )]
    UntrustedAddress {
        /// The address the file or rule names.
        address: String,
        /// The configured address (`BAO_ADDR`, `VAULT_ADDR` or the default).
        configured: String,
    },
    /// A plain `http://` address of a server off this machine, without
    /// [`Config::insecure_http`](crate::Config::insecure_http): the token would cross the
    /// network in clear.
    #[error(
        "address {address:?} is plain http to another machine: the token would cross the network in clear (use https, or --insecure-http if the network is trusted)"
    )]
    PlainHttp {
        /// The address given.
        address: String,
    },
    /// The address is not an `http://` or `https://` URL.
    #[error("address {address:?} is not an http(s) URL")]
    InvalidAddress {
        /// The address given.
        address: String,
    },
    /// A CA certificate, client certificate or key file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A CA certificate, client certificate or key file is not valid PEM.
    #[error("{}: not a valid PEM certificate or key: {reason}", path.display())]
    InvalidPem {
        /// The file.
        path: PathBuf,
        /// What the TLS stack reported.
        reason: String,
    },
    /// A client certificate was given without its key, or the reverse.
    #[error("a client certificate needs both BAO_CLIENT_CERT and BAO_CLIENT_KEY")]
    IncompleteClientCert,
    /// The HTTP stack refused the settings.
    #[error("cannot build the HTTP client: {reason}")]
    Http {
        /// What reqwest reported.
        reason: String,
    },
}
