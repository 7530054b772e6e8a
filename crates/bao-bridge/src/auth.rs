//! Authentication: the token's own endpoints (`lookup-self`, `renew-self`, `revoke-self`),
//! logins (AppRole, Kubernetes, JWT/OIDC), response unwrapping, and a [`Session`] that keeps
//! a token alive through a long run.
//!
//! Logins are unauthenticated requests; on success the client keeps the new token. Secret
//! inputs (secret-ids, JWTs, wrapping tokens) are [`SecretString`]s, serialized straight into a
//! request body that is cleared after sending, and never shown by `Debug`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::client::{Client, Idempotent, Request, TokenUse};
use crate::envelope::{AuthInfo, Response};
use crate::error::Error;

/// Where Kubernetes mounts a pod's service-account token.
pub const KUBERNETES_TOKEN_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// What `auth/token/lookup-self` says about the client's token.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct TokenInfo {
    /// The accessor.
    #[serde(default)]
    pub accessor: String,
    /// The attached policies.
    #[serde(default)]
    pub policies: Vec<String>,
    /// Seconds left (0 = never expires).
    #[serde(default)]
    pub ttl: u64,
    /// Whether `renew-self` can extend it.
    #[serde(default)]
    pub renewable: bool,
    /// The hard limit in seconds (0 = none besides the mount's).
    #[serde(default)]
    pub explicit_max_ttl: u64,
    /// `service` or `batch`.
    #[serde(default, rename = "type")]
    pub token_type: String,
    /// The display name (`token`, `approle`, `jwt-…`).
    #[serde(default)]
    pub display_name: String,
}

/// A way to log in. `Debug` never shows the secret-id or JWT.
#[derive(Clone)]
#[non_exhaustive]
pub enum Login {
    /// AppRole: `auth/<mount>/login` with a role-id and a secret-id.
    AppRole {
        /// The auth mount (`approle`).
        mount: String,
        /// The role-id (an identifier, not a secret by itself).
        role_id: String,
        /// The secret-id.
        secret_id: SecretString,
    },
    /// Kubernetes: `auth/<mount>/login` with a service-account JWT.
    Kubernetes {
        /// The auth mount (`kubernetes`).
        mount: String,
        /// The OpenBao role.
        role: String,
        /// The service-account token.
        jwt: SecretString,
    },
    /// JWT/OIDC: `auth/<mount>/login` with a signed JWT (a CI's identity token).
    Jwt {
        /// The auth mount (`jwt`).
        mount: String,
        /// The OpenBao role.
        role: String,
        /// The token.
        jwt: SecretString,
    },
}

impl Login {
    /// AppRole at the default mount `approle`.
    pub fn approle(role_id: impl Into<String>, secret_id: SecretString) -> Self {
        Self::AppRole {
            mount: "approle".to_owned(),
            role_id: role_id.into(),
            secret_id,
        }
    }

    /// AppRole whose secret-id arrives response-wrapped: checks that the wrapping token was
    /// made by `auth/<mount>/role/<role_name>/secret-id` (a substituted token is refused with
    /// [`Error::WrapPathMismatch`]), then unwraps it (a wrapping token works once).
    ///
    /// ```no_run
    /// use aesec_bao_bridge::{Client, Config, Login, secrecy::SecretString};
    ///
    /// let client = Client::new(Config::new("https://bao.example:8200"))?;
    /// let wrapped = SecretString::from(std::fs::read_to_string("/run/secrets/wrapped-secret-id")?);
    /// let login = Login::approle_wrapped(&client, "approle", "aesec-bridge", "the-role-id", &wrapped)?;
    /// client.login(&login)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn approle_wrapped(
        client: &Client,
        mount: &str,
        role_name: &str,
        role_id: impl Into<String>,
        wrapping_token: &SecretString,
    ) -> Result<Self, Error> {
        #[derive(Deserialize)]
        struct SecretId {
            secret_id: String,
        }
        let expected = format!("auth/{mount}/role/{role_name}/secret-id");
        let response = client.unwrap(wrapping_token, &expected)?;
        let secret: SecretId = response.data_as("sys/wrapping/unwrap")?;
        Ok(Self::AppRole {
            mount: mount.to_owned(),
            role_id: role_id.into(),
            secret_id: SecretString::from(secret.secret_id),
        })
    }

    /// Kubernetes at the default mount `kubernetes`, with the service-account token read from
    /// `token_file` (usually [`KUBERNETES_TOKEN_PATH`], or a projected token with an audience).
    pub fn kubernetes_from_file(role: impl Into<String>, token_file: &Path) -> Result<Self, Error> {
        Ok(Self::Kubernetes {
            mount: "kubernetes".to_owned(),
            role: role.into(),
            jwt: read_secret_file(token_file)?,
        })
    }

    /// JWT at the default mount `jwt`.
    pub fn jwt(role: impl Into<String>, jwt: SecretString) -> Self {
        Self::Jwt {
            mount: "jwt".to_owned(),
            role: role.into(),
            jwt,
        }
    }

    /// JWT at the default mount `jwt`, with the token read from `token_file` (a CI's identity
    /// token written to a file, e.g. GitHub's `ACTIONS_ID_TOKEN` fetched by the job).
    ///
    /// ```no_run
    /// use aesec_bao_bridge::{Client, Config, Login};
    ///
    /// let client = Client::new(Config::new("https://bao.example:8200"))?;
    /// let login = Login::jwt_from_file("ci-rotation", "/run/ci/id-token".as_ref())?;
    /// let auth = client.login(&login)?;
    /// println!("logged in, policies {:?}", auth.policies);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn jwt_from_file(role: impl Into<String>, token_file: &Path) -> Result<Self, Error> {
        Ok(Self::jwt(role, read_secret_file(token_file)?))
    }

    /// The same login at another auth mount.
    pub fn at_mount(mut self, new_mount: impl Into<String>) -> Self {
        match &mut self {
            Self::AppRole { mount, .. }
            | Self::Kubernetes { mount, .. }
            | Self::Jwt { mount, .. } => {
                *mount = new_mount.into();
            }
        }
        self
    }

    /// The login path, `auth/<mount>/login`.
    fn path(&self) -> String {
        let (Self::AppRole { mount, .. }
        | Self::Kubernetes { mount, .. }
        | Self::Jwt { mount, .. }) = self;
        format!("auth/{}/login", mount.trim_matches('/'))
    }

    /// The unauthenticated login request to `path`.
    fn request<'a>(&self, path: &'a str) -> Request<'a> {
        #[derive(Serialize)]
        struct AppRoleBody<'a> {
            role_id: &'a str,
            secret_id: &'a str,
        }
        #[derive(Serialize)]
        struct JwtBody<'a> {
            role: &'a str,
            jwt: &'a str,
        }
        let request = Request::new(Method::POST, path).token(TokenUse::Anonymous);
        match self {
            Self::AppRole {
                role_id, secret_id, ..
            } => request.json(&AppRoleBody {
                role_id,
                secret_id: secret_id.expose_secret(),
            }),
            Self::Kubernetes { role, jwt, .. } | Self::Jwt { role, jwt, .. } => {
                request.json(&JwtBody {
                    role,
                    jwt: jwt.expose_secret(),
                })
            }
        }
    }
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AppRole { mount, role_id, .. } => f
                .debug_struct("AppRole")
                .field("mount", mount)
                .field("role_id", role_id)
                .finish_non_exhaustive(),
            Self::Kubernetes { mount, role, .. } => f
                .debug_struct("Kubernetes")
                .field("mount", mount)
                .field("role", role)
                .finish_non_exhaustive(),
            Self::Jwt { mount, role, .. } => f
                .debug_struct("Jwt")
                .field("mount", mount)
                .field("role", role)
                .finish_non_exhaustive(),
        }
    }
}

/// Reads a secret (a token, a JWT, an AppRole secret-id, a response-wrapping token) from a
/// file, without its surrounding whitespace; the file's text is wiped after the copy. Use
/// `/dev/stdin` to read it from standard input.
///
/// ```no_run
/// let secret_id = aesec_bao_bridge::read_secret_file("/run/secrets/secret-id".as_ref())?;
/// # Ok::<(), aesec_bao_bridge::Error>(())
/// ```
pub fn read_secret_file(path: &Path) -> Result<SecretString, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadFile {
        path: PathBuf::from(path),
        source,
    })?;
    let trimmed = text.trim();
    let token = SecretString::from(trimmed.to_owned());
    zeroize::Zeroize::zeroize(&mut text.into_bytes());
    Ok(token)
}

impl Client {
    /// `GET auth/token/lookup-self`: what the client's token is.
    pub fn lookup_self(&self) -> Result<TokenInfo, Error> {
        self.read("auth/token/lookup-self")?
            .data_as("auth/token/lookup-self")
    }

    /// `POST auth/token/renew-self`. OpenBao sets the new TTL to `increment` (capped by the max
    /// TTL), it does not add it; `None` lets the server pick its default.
    pub fn renew_self(&self, increment: Option<Duration>) -> Result<AuthInfo, Error> {
        let body = match increment {
            Some(increment) => {
                serde_json::json!({ "increment": format!("{}s", increment.as_secs()) })
            }
            None => serde_json::json!({}),
        };
        let path = "auth/token/renew-self";
        self.send(
            Request::new(Method::POST, path)
                .json(&body)
                .idempotent(Idempotent::Yes),
        )?
        .auth
        .ok_or_else(|| no_auth(path))
    }

    /// `POST auth/token/revoke-self`: ends the client's token (clean exit of a CLI run).
    pub fn revoke_self(&self) -> Result<(), Error> {
        self.send(
            Request::new(Method::POST, "auth/token/revoke-self").idempotent(Idempotent::Yes),
        )?;
        Ok(())
    }

    /// Logs in and keeps the new token in the client; returns the token's lease.
    pub fn login(&self, login: &Login) -> Result<AuthInfo, Error> {
        let path = login.path();
        let auth = self
            .send(login.request(&path))?
            .auth
            .ok_or_else(|| no_auth(&path))?;
        self.set_token(auth.client_token.clone());
        Ok(auth)
    }

    /// Unwraps a response-wrapping token after checking (with `sys/wrapping/lookup`) that it
    /// was created at `expected_creation_path`. A wrapping token works once: a second unwrap
    /// fails with [`Error::InvalidRequest`].
    pub fn unwrap(
        &self,
        wrapping_token: &SecretString,
        expected_creation_path: &str,
    ) -> Result<Response, Error> {
        #[derive(Serialize)]
        struct Lookup<'a> {
            token: &'a str,
        }
        #[derive(Deserialize)]
        struct WrapLookup {
            creation_path: String,
        }
        let lookup = "sys/wrapping/lookup";
        let info: WrapLookup = self
            .send(
                Request::new(Method::POST, lookup)
                    .json(&Lookup {
                        token: wrapping_token.expose_secret(),
                    })
                    .token(TokenUse::Anonymous)
                    .idempotent(Idempotent::Yes),
            )?
            .data_as(lookup)?;
        if info.creation_path.trim_matches('/') != expected_creation_path.trim_matches('/') {
            return Err(Error::WrapPathMismatch {
                expected: expected_creation_path.to_owned(),
                actual: info.creation_path,
            });
        }
        self.send(
            Request::new(Method::POST, "sys/wrapping/unwrap")
                .token(TokenUse::Explicit(wrapping_token))
                .idempotent(Idempotent::No),
        )
    }
}

fn no_auth(path: &str) -> Error {
    Error::Decode {
        path: path.to_owned(),
        what: "no auth in the answer".to_owned(),
    }
}

/// What [`Session::refresh_if_due`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refresh {
    /// Nothing: the token is fresh enough (or never expires).
    NotDue,
    /// `renew-self` extended the token to this TTL.
    Renewed {
        /// The new TTL.
        ttl: Duration,
    },
    /// The token could not be extended (batch token, max TTL reached), so the session logged
    /// in again and holds a new token with this TTL.
    LoggedInAgain {
        /// The new token's TTL.
        ttl: Duration,
    },
    /// The token cannot be extended and there is no login to repeat: it expires after `ttl`.
    Expiring {
        /// What was left at the last check.
        ttl: Duration,
    },
}

/// A token kept alive for a long run: renewed at two thirds of its TTL, and replaced by a new
/// login when renewing stops extending it (batch tokens, max TTL), as OpenBao's Go
/// `LifetimeWatcher` and Agent auto-auth do. The caller calls [`Session::refresh_if_due`]
/// between operations; no thread runs in the background.
///
/// ```no_run
/// use std::time::Instant;
/// use aesec_bao_bridge::{Client, Config, Login, Session, secrecy::SecretString};
///
/// let client = Client::new(Config::new("https://bao.example:8200"))?;
/// let login = Login::approle("role-id", SecretString::from("secret-id".to_owned()));
/// let mut session = Session::login(&client, login)?;
/// for path in ["a", "b", "c"] {
///     session.refresh_if_due(Instant::now())?;
///     // … work with `client` on `path` …
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Session {
    client: Client,
    login: Option<Login>,
    obtained: Instant,
    ttl: Duration,
    granted: Duration,
    renewable: bool,
}

impl Session {
    /// Logs in with `login` (kept to log in again later).
    pub fn login(client: &Client, login: Login) -> Result<Self, Error> {
        let auth = client.login(&login)?;
        let ttl = Duration::from_secs(auth.lease_duration);
        Ok(Self {
            client: client.clone(),
            login: Some(login),
            obtained: Instant::now(),
            ttl,
            granted: ttl,
            renewable: auth.renewable,
        })
    }

    /// Watches the client's current token (from the environment): renewed while it can be.
    pub fn from_token(client: &Client) -> Result<Self, Error> {
        let info = client.lookup_self()?;
        let ttl = Duration::from_secs(info.ttl);
        Ok(Self {
            client: client.clone(),
            login: None,
            obtained: Instant::now(),
            ttl,
            granted: ttl,
            renewable: info.renewable,
        })
    }

    /// When the token should be refreshed: two thirds into its TTL; `None` if it never
    /// expires.
    pub fn due_at(&self) -> Option<Instant> {
        (!self.ttl.is_zero()).then(|| self.obtained + self.ttl.mul_f64(2.0 / 3.0))
    }

    /// Renews or replaces the token when `now` is past [`Session::due_at`].
    pub fn refresh_if_due(&mut self, now: Instant) -> Result<Refresh, Error> {
        if self.due_at().is_none_or(|due| now < due) {
            return Ok(Refresh::NotDue);
        }
        if self.renewable {
            let auth = self.client.renew_self(None)?;
            let ttl = Duration::from_secs(auth.lease_duration);
            if !renewal_stalled(self.granted, ttl) || self.login.is_none() {
                self.obtained = Instant::now();
                self.ttl = ttl;
                self.renewable = auth.renewable;
                return Ok(Refresh::Renewed { ttl });
            }
        }
        let Some(login) = &self.login else {
            return Ok(Refresh::Expiring { ttl: self.ttl });
        };
        let auth = self.client.login(login)?;
        let ttl = Duration::from_secs(auth.lease_duration);
        self.obtained = Instant::now();
        self.ttl = ttl;
        self.granted = ttl;
        self.renewable = auth.renewable;
        Ok(Refresh::LoggedInAgain { ttl })
    }
}

/// Whether a renewal no longer extends the token usefully: the server granted less than a
/// third of the original TTL, so the max TTL is close (Go's `LifetimeWatcher` gives up on a
/// similar grace rule).
fn renewal_stalled(granted: Duration, renewed: Duration) -> bool {
    renewed < granted / 3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_stalls_near_the_max_ttl() {
        let hour = Duration::from_secs(3600);
        assert!(!renewal_stalled(hour, hour));
        assert!(!renewal_stalled(hour, Duration::from_secs(1300)));
        assert!(renewal_stalled(hour, Duration::from_secs(1100)));
    }

    #[test]
    fn debug_never_shows_login_secrets() {
        let logins = [
            Login::approle("role-123", SecretString::from("secret-id-xyz".to_owned())),
            Login::jwt("ci", SecretString::from("eyJ.jwt-secret".to_owned())),
            Login::Kubernetes {
                mount: "k8s".to_owned(),
                role: "eso".to_owned(),
                jwt: SecretString::from("sa-jwt-secret".to_owned()),
            },
        ];
        for login in logins {
            let shown = format!("{login:?}");
            assert!(
                !shown.contains("secret-id-xyz") && !shown.contains("jwt-secret"),
                "{shown}"
            );
        }
    }
}
