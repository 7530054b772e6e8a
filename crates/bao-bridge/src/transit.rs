//! Transit: wrapping a sops data key the way sops' `hc_vault` master key does, and the key
//! operations around it (create, read, rotate, rewrap).
//!
//! sops sends `plaintext = base64(data key)` to `<engine>/encrypt/<key>` and stores the
//! returned `vault:vN:…` ciphertext verbatim; decrypt is the reverse. `rewrap` moves a
//! ciphertext to the key's latest version inside OpenBao: the data key never leaves it in
//! clear. All four calls are idempotent (Transit keeps no per-call state), so they are retried
//! like reads.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::client::{Client, Idempotent, Request};
use crate::error::Error;

/// A Transit engine mount, borrowed from a [`Client`] (see [`Client::transit`]). The engine
/// path may hold a namespace (`team-a/transit`), as sops files should.
#[derive(Debug, Clone)]
pub struct Transit<'c> {
    client: &'c Client,
    engine: String,
}

/// What `<engine>/keys/<name>` says about a key.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyInfo {
    /// The key's name.
    #[serde(default)]
    pub name: String,
    /// The key type (`aes256-gcm96`, …).
    #[serde(default, rename = "type")]
    pub key_type: String,
    /// The newest version: encryption uses it.
    pub latest_version: u64,
    /// The oldest version that may still decrypt.
    #[serde(default)]
    pub min_decryption_version: u64,
}

impl Client {
    /// The Transit engine at `engine` (`transit`, `team-a/sops/transit`).
    pub fn transit(&self, engine: &str) -> Transit<'_> {
        Transit {
            client: self,
            engine: engine.trim_matches('/').to_owned(),
        }
    }
}

/// The key version of a Transit ciphertext `vault:v<N>:…`, or `None` if it is not one.
///
/// ```
/// assert_eq!(aesec_bao_bridge::ciphertext_version("vault:v12:AbC="), Some(12));
/// assert_eq!(aesec_bao_bridge::ciphertext_version("ENC[AES256_GCM,…]"), None);
/// ```
pub fn ciphertext_version(ciphertext: &str) -> Option<u64> {
    let rest = ciphertext.strip_prefix("vault:v")?;
    let (version, _) = rest.split_once(':')?;
    version.parse().ok()
}

impl Transit<'_> {
    fn at(&self, operation: &str, key: &str) -> String {
        format!("{}/{operation}/{}", self.engine, key.trim_matches('/'))
    }

    fn call<T: for<'de> Deserialize<'de>>(
        &self,
        operation: &str,
        key: &str,
        body: &impl Serialize,
    ) -> Result<T, Error> {
        let path = self.at(operation, key);
        self.client
            .send(
                Request::new(Method::POST, &path)
                    .json(body)
                    .idempotent(Idempotent::Yes),
            )?
            .data_as(&path)
    }

    /// Creates an `aes256-gcm96` key (a no-op if it exists), as sops' docs tell users to.
    pub fn create_key(&self, key: &str) -> Result<(), Error> {
        let path = self.at("keys", key);
        self.client.send(
            Request::new(Method::POST, &path)
                .json(&serde_json::json!({ "type": "aes256-gcm96" }))
                .idempotent(Idempotent::Yes),
        )?;
        Ok(())
    }

    /// Reads a key's versions. Encrypting with a missing key would silently create it (when
    /// the policy allows), so callers check here first and fail with [`Error::NotFound`].
    pub fn read_key(&self, key: &str) -> Result<KeyInfo, Error> {
        let path = self.at("keys", key);
        self.client.read(&path)?.data_as(&path)
    }

    /// Encrypts a data key as sops does: returns the `vault:vN:…` string to store as `enc`.
    ///
    /// ```no_run
    /// # let client = aesec_bao_bridge::Client::new(aesec_bao_bridge::Config::new("http://127.0.0.1:8200"))?;
    /// let transit = client.transit("transit");
    /// let data_key = [7_u8; 32];
    /// let enc = transit.encrypt_data_key("sops-key", &data_key)?;
    /// assert!(enc.as_str().starts_with("vault:v"));
    /// let back = transit.decrypt_data_key("sops-key", enc.as_str())?;
    /// assert_eq!(&back[..], &data_key[..]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn encrypt_data_key(&self, key: &str, data_key: &[u8]) -> Result<Ciphertext, Error> {
        #[derive(Serialize)]
        struct Encrypt<'a> {
            plaintext: &'a str,
        }
        #[derive(Deserialize)]
        struct Encrypted {
            ciphertext: String,
        }
        let plaintext = Zeroizing::new(STANDARD.encode(data_key));
        let encrypted: Encrypted = self.call(
            "encrypt",
            key,
            &Encrypt {
                plaintext: &plaintext,
            },
        )?;
        Ok(Ciphertext(encrypted.ciphertext))
    }

    /// Decrypts a `vault:vN:…` string back to the data key bytes (cleared on drop).
    pub fn decrypt_data_key(
        &self,
        key: &str,
        ciphertext: &str,
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        #[derive(Serialize)]
        struct Decrypt<'a> {
            ciphertext: &'a str,
        }
        #[derive(Deserialize)]
        struct Decrypted {
            plaintext: String,
        }
        let path = self.at("decrypt", key);
        let decrypted: Decrypted = self.call("decrypt", key, &Decrypt { ciphertext })?;
        let plaintext = Zeroizing::new(decrypted.plaintext);
        STANDARD
            .decode(plaintext.as_bytes())
            .map(Zeroizing::new)
            .map_err(|_| Error::Decode {
                path,
                what: "the plaintext is not base64".to_owned(),
            })
    }

    /// Re-encrypts a ciphertext under the key's latest version, inside OpenBao.
    pub fn rewrap(&self, key: &str, ciphertext: &str) -> Result<Ciphertext, Error> {
        #[derive(Serialize)]
        struct Rewrap<'a> {
            ciphertext: &'a str,
        }
        #[derive(Deserialize)]
        struct Rewrapped {
            ciphertext: String,
        }
        let rewrapped: Rewrapped = self.call("rewrap", key, &Rewrap { ciphertext })?;
        Ok(Ciphertext(rewrapped.ciphertext))
    }

    /// Adds a new key version; new encryptions and rewraps use it. Returns the key after.
    pub fn rotate(&self, key: &str) -> Result<KeyInfo, Error> {
        let path = format!("{}/rotate", self.at("keys", key));
        let response = self.client.send(
            Request::new(Method::POST, &path)
                .json(&serde_json::json!({}))
                .idempotent(Idempotent::No),
        )?;
        // OpenBao answers with the key; an older server may answer 204.
        match response.data {
            Some(_) => response.data_as(&path),
            None => self.read_key(key),
        }
    }
}

/// A Transit ciphertext `vault:vN:…`. It is safe to store and show (that is what sops files
/// hold), so it is not secret; the wrapper only documents what the string is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ciphertext(String);

impl Ciphertext {
    /// The `vault:vN:…` text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key version it was made with.
    pub fn version(&self) -> Option<u64> {
        ciphertext_version(&self.0)
    }

    /// The text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}
