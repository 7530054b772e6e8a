//! The seal endpoints of a server that uses Shamir unseal keys: `sys/seal-status`, `sys/init`
//! and `sys/unseal`. None of them takes a token; their answers are bare JSON objects, not the
//! usual `{"data": …}` envelope.
//!
//! The unseal keys and root token that `sys/init` returns are held in [`Zeroizing`] strings
//! from the moment they are parsed; [`crate::bootstrap`] puts them straight into a sops file.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::client::{Client, Idempotent, Request, TokenUse};
use crate::error::Error;

/// A server's seal state (`GET sys/seal-status`, and the answer of each `sys/unseal`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct SealStatus {
    /// Whether `sys/init` has been done.
    pub initialized: bool,
    /// Whether the server is sealed.
    pub sealed: bool,
    /// Shares needed to unseal (the threshold).
    #[serde(rename = "t")]
    pub threshold: u32,
    /// Shares in all.
    #[serde(rename = "n")]
    pub shares: u32,
    /// Shares given so far in the current unseal attempt.
    pub progress: u32,
}

impl SealStatus {
    /// How many more shares the server needs before it unseals (0 once unsealed).
    pub fn needed(&self) -> u32 {
        match self.sealed {
            true => self.threshold.saturating_sub(self.progress),
            false => 0,
        }
    }
}

/// What `sys/init` returned: the unseal key shares (base64) and the initial root token, each
/// cleared from memory on drop. No `Debug`: there is nothing in it that may be shown.
pub(crate) struct InitKeys {
    pub(crate) keys: Vec<Zeroizing<String>>,
    pub(crate) root_token: Zeroizing<String>,
}

impl Client {
    /// `GET sys/seal-status`: whether the server is initialised and sealed, and the unseal
    /// progress. Needs no token.
    ///
    /// ```no_run
    /// use aesec_bao_bridge::{Client, Config};
    ///
    /// let client = Client::new(Config::new("http://127.0.0.1:8200"))?;
    /// let status = client.seal_status()?;
    /// if status.sealed {
    ///     println!("sealed: {} more share(s) needed", status.needed());
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn seal_status(&self) -> Result<SealStatus, Error> {
        let request = Request::new(Method::GET, "sys/seal-status").token(TokenUse::Anonymous);
        parse_status(&self.send_raw(&request)?, "sys/seal-status")
    }

    /// `POST sys/unseal` with one base64 share; returns the new seal state. Not resent after an
    /// answer that may have been acted on (the share may have been counted).
    pub(crate) fn unseal_share(&self, share: &str) -> Result<SealStatus, Error> {
        let body = UnsealBody { key: share };
        let request = Request::new(Method::POST, "sys/unseal")
            .json(&body)
            .token(TokenUse::Anonymous)
            .idempotent(Idempotent::No);
        parse_status(&self.send_raw(&request)?, "sys/unseal")
    }

    /// `POST sys/init`: initialises the server with `shares` unseal key shares of which
    /// `threshold` unseal it. Never resent: a second `init` would fail, and the first one's
    /// keys would be lost with its answer.
    pub(crate) fn init_server(&self, shares: u32, threshold: u32) -> Result<InitKeys, Error> {
        #[derive(Deserialize)]
        struct Answer {
            keys_base64: Vec<String>,
            root_token: String,
        }
        let body = serde_json::json!({"secret_shares": shares, "secret_threshold": threshold});
        let request = Request::new(Method::POST, "sys/init")
            .json(&body)
            .token(TokenUse::Anonymous)
            .idempotent(Idempotent::No);
        let raw = self.send_raw(&request)?;
        let answer: Answer = serde_json::from_slice(&raw).map_err(|_| Error::Decode {
            path: "sys/init".to_owned(),
            what: "no keys_base64 and root_token in the answer".to_owned(),
        })?;
        Ok(InitKeys {
            keys: answer.keys_base64.into_iter().map(Zeroizing::new).collect(),
            root_token: Zeroizing::new(answer.root_token),
        })
    }
}

#[derive(Serialize)]
struct UnsealBody<'a> {
    key: &'a str,
}

fn parse_status(raw: &[u8], path: &str) -> Result<SealStatus, Error> {
    serde_json::from_slice(raw).map_err(|error| Error::Decode {
        path: path.to_owned(),
        what: format!(
            "not a seal status (line {}, column {})",
            error.line(),
            error.column()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needed_counts_the_missing_shares_of_a_sealed_server_only() {
        let status: SealStatus = serde_json::from_str(
            r#"{"type":"shamir","initialized":true,"sealed":true,"t":2,"n":3,"progress":1,"nonce":"x"}"#,
        )
        .unwrap();
        assert_eq!(status.needed(), 1);
        let open = SealStatus {
            sealed: false,
            ..status
        };
        assert_eq!(open.needed(), 0);
    }
}
