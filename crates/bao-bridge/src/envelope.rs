//! The response envelope OpenBao wraps every answer in (`data`, `auth`, `wrap_info`,
//! `warnings`, lease fields), with the secret parts held so that `Debug` cannot show them.
//!
//! A 204 (or any empty body) is a success with an empty envelope: endpoints documented as 204
//! answer 200 with a body when they have warnings, so both are accepted.

use std::fmt;

use secrecy::SecretString;
use serde::Deserialize;

use crate::error::Error;

/// A successful answer. `Debug` shows the shape (which parts are present), never `data` or a
/// token.
#[derive(Default)]
#[non_exhaustive]
pub struct Response {
    /// The `data` object (secret values for KV reads and Transit decrypts).
    pub data: Option<serde_json::Value>,
    /// The `auth` part of a login or token answer.
    pub auth: Option<AuthInfo>,
    /// The `wrap_info` part when the answer was wrapped.
    pub wrap_info: Option<WrapInfo>,
    /// The server's warnings (unknown parameters, deprecations).
    pub warnings: Vec<String>,
    /// The lease id of a dynamic secret (empty otherwise).
    pub lease_id: String,
    /// The lease duration in seconds.
    pub lease_duration: u64,
    /// Whether the lease can be renewed.
    pub renewable: bool,
}

/// The `auth` part of an answer: the token a login issued, and its lease.
#[non_exhaustive]
pub struct AuthInfo {
    /// The token (`s.…`, `b.…`).
    pub client_token: SecretString,
    /// The token's accessor (not secret: it can look up and revoke, not use, the token).
    pub accessor: String,
    /// The policies attached to the token.
    pub policies: Vec<String>,
    /// Its time to live in seconds (0 = no expiry).
    pub lease_duration: u64,
    /// Whether it can be renewed.
    pub renewable: bool,
    /// The auth method's metadata (`role_name`, `service_account_name`, …).
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

/// The `wrap_info` part of a wrapped answer.
#[non_exhaustive]
pub struct WrapInfo {
    /// The single-use wrapping token.
    pub token: SecretString,
    /// How long the wrapping token lives, in seconds.
    pub ttl: u64,
    /// The path whose answer was wrapped; check it before unwrapping.
    pub creation_path: String,
    /// The accessor of the wrapped token, when a token was wrapped.
    pub wrapped_accessor: String,
}

#[derive(Deserialize)]
struct RawEnvelope {
    #[serde(default)]
    data: Option<serde_json::Value>,
    #[serde(default)]
    auth: Option<RawAuth>,
    #[serde(default)]
    wrap_info: Option<RawWrapInfo>,
    #[serde(default)]
    warnings: Option<Vec<String>>,
    #[serde(default)]
    lease_id: String,
    #[serde(default)]
    lease_duration: u64,
    #[serde(default)]
    renewable: bool,
}

#[derive(Deserialize)]
struct RawAuth {
    client_token: String,
    #[serde(default)]
    accessor: String,
    #[serde(default)]
    policies: Option<Vec<String>>,
    #[serde(default)]
    lease_duration: u64,
    #[serde(default)]
    renewable: bool,
    #[serde(default)]
    metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Deserialize)]
struct RawWrapInfo {
    token: String,
    #[serde(default)]
    ttl: u64,
    #[serde(default)]
    creation_path: String,
    #[serde(default)]
    wrapped_accessor: String,
}

impl Response {
    /// Parses a success body; an empty body is an empty response.
    pub(crate) fn parse(body: &[u8], path: &str) -> Result<Self, Error> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        let raw: RawEnvelope = serde_json::from_slice(body).map_err(|error| Error::Decode {
            path: path.to_owned(),
            what: format!(
                "not a JSON envelope (line {}, column {})",
                error.line(),
                error.column()
            ),
        })?;
        let warnings = raw.warnings.unwrap_or_default();
        for warning in &warnings {
            tracing::debug!(path, warning = warning.as_str(), "server warning");
        }
        Ok(Self {
            data: raw.data,
            auth: raw.auth.map(|auth| AuthInfo {
                // Moving the String into the SecretString keeps the one heap copy, which is
                // cleared on drop.
                client_token: SecretString::from(auth.client_token),
                accessor: auth.accessor,
                policies: auth.policies.unwrap_or_default(),
                lease_duration: auth.lease_duration,
                renewable: auth.renewable,
                metadata: auth.metadata.unwrap_or_default(),
            }),
            wrap_info: raw.wrap_info.map(|wrap| WrapInfo {
                token: SecretString::from(wrap.token),
                ttl: wrap.ttl,
                creation_path: wrap.creation_path,
                wrapped_accessor: wrap.wrapped_accessor,
            }),
            warnings,
            lease_id: raw.lease_id,
            lease_duration: raw.lease_duration,
            renewable: raw.renewable,
        })
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("data", &self.data.as_ref().map(|_| "<redacted>"))
            .field("auth", &self.auth)
            .field("wrap_info", &self.wrap_info)
            .field("warnings", &self.warnings)
            .field("lease_duration", &self.lease_duration)
            .field("renewable", &self.renewable)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for AuthInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthInfo")
            .field("accessor", &self.accessor)
            .field("policies", &self.policies)
            .field("lease_duration", &self.lease_duration)
            .field("renewable", &self.renewable)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for WrapInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrapInfo")
            .field("ttl", &self.ttl)
            .field("creation_path", &self.creation_path)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_bodies_are_empty_successes_and_debug_hides_secrets() {
        let empty = Response::parse(b"", "sys/mounts/x").unwrap();
        assert!(empty.data.is_none() && empty.auth.is_none());

        let body = br#"{"data":{"password":"hunter2-secret"},"auth":{"client_token":"s.tok-secret","accessor":"acc","policies":["p"],"lease_duration":60,"renewable":true},"wrap_info":{"token":"s.wrap-secret","ttl":120,"creation_path":"auth/approle/role/r/secret-id"},"warnings":["w"]}"#;
        let response = Response::parse(body, "x").unwrap();
        let shown = format!("{response:?}");
        for secret in ["hunter2", "tok-secret", "wrap-secret"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("auth/approle/role/r/secret-id"), "{shown}");
    }

    #[test]
    fn a_non_json_body_is_a_decode_error_without_its_text() {
        let error = Response::parse(b"{\"data\": secret-text", "kv/data/x").unwrap_err();
        assert!(matches!(error, Error::Decode { .. }));
        assert!(!error.to_string().contains("secret-text"), "{error}");
    }
}
