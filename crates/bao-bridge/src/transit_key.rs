//! Transit as a sops master key: the `hc_vault` entries of sops files, byte-compatible with
//! sops' `hcvault` key source in both directions.
//!
//! A [`TransitUri`] is parsed as sops parses `--hc-vault-transit` and `hc_vault_transit_uri`
//! (`scheme://host[:port]/v1/<engine path>/keys/<name>`; the engine path may hold a namespace,
//! `team-a/transit`, which keeps files self-contained). [`TransitMasterKey`] sends the base64 of
//! the data key to `<engine>/encrypt/<name>` and stores the `vault:vN:…` answer verbatim with a
//! `created_at` in sops' format. [`TransitBackend`] is the [`KeyDecryptor`] an embedder adds to
//! its decryptor list: it decrypts `hc_vault` entries (the address comes from the entry, as in
//! sops) and builds the master keys of `hc_vault` specs. The token is given by the caller (the
//! CLI looks up `BAO_TOKEN`, `VAULT_TOKEN`, then `~/.vault-token`).

use std::fmt;
use std::str::FromStr;

use aesec::sops::{KeyDecryptor, KeyEntry, KeySpec, MasterKey, MasterKeyError, now_lastmodified};
use zeroize::Zeroizing;

use crate::client::Client;
use crate::config::Config;
use crate::error::Error;

/// A Transit key as sops names it: the server address, the engine path and the key name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransitUri {
    /// `scheme://host[:port]`, without a path.
    pub address: String,
    /// The engine's mount path, namespace included (`transit`, `team-a/sops/transit`).
    pub engine_path: String,
    /// The key's name.
    pub key_name: String,
}

/// Why a Transit URI is not one sops accepts (sops' own checks, and its wording first).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseTransitUriError {
    /// No `scheme://`.
    #[error(
        "missing scheme in Vault URL (should be like this: https://vault.example.com:8200/v1/transit/keys/keyName), got: {uri}"
    )]
    MissingScheme {
        /// The URI given.
        uri: String,
    },
    /// A path segment comes before `/v1`.
    #[error(
        "running Vault with a prefixed URL is not supported! (Format has to be like https://vault.example.com:8200/v1/transit/keys/keyName), got: {uri}"
    )]
    Prefixed {
        /// The URI given.
        uri: String,
    },
    /// The path is not `/v<N>/<engine>/keys/<name>`.
    #[error(
        "vault path does not seem to be formatted correctly: (eg. https://vault.example.com:8200/v1/transit/keys/keyName), got: {uri}"
    )]
    BadPath {
        /// The URI given.
        uri: String,
    },
}

fn is_version(segment: &str) -> bool {
    segment
        .strip_prefix('v')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

impl FromStr for TransitUri {
    type Err = ParseTransitUriError;

    /// Parses as sops' `NewMasterKeyFromURI`: refused when a version segment (`v1`) with three
    /// segments after it follows another segment (a prefixed URL), or when none starts the
    /// path; the key name is the last segment and the engine path every segment between the
    /// version and the one before the key name.
    ///
    /// ```
    /// use aesec_bao_bridge::TransitUri;
    /// let uri: TransitUri = "https://bao:8200/v1/team-a/sops/transit/keys/k1".parse()?;
    /// assert_eq!(uri.address, "https://bao:8200");
    /// assert_eq!(uri.engine_path, "team-a/sops/transit");
    /// assert_eq!(uri.key_name, "k1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn from_str(uri: &str) -> Result<Self, Self::Err> {
        let Some((scheme, rest)) = uri.split_once("://").filter(|(s, _)| !s.is_empty()) else {
            return Err(ParseTransitUriError::MissingScheme {
                uri: uri.to_owned(),
            });
        };
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        // sops' two regular expressions, `/[^/]+/v\d+/[^/]+/[^/]+/[^/]+` (prefixed) and
        // `/v\d+/[^/]+/[^/]+/[^/]+` (well formed), over the segments.
        let versioned = |index: usize| {
            is_version(segments[index])
                && segments.len() >= index + 4
                && segments[index..index + 4].iter().all(|s| !s.is_empty())
        };
        if (1..segments.len()).any(|index| !segments[index - 1].is_empty() && versioned(index)) {
            return Err(ParseTransitUriError::Prefixed {
                uri: uri.to_owned(),
            });
        }
        if segments.is_empty() || !versioned(0) {
            return Err(ParseTransitUriError::BadPath {
                uri: uri.to_owned(),
            });
        }
        let engine: Vec<&str> = segments[1..segments.len() - 2]
            .iter()
            .copied()
            .filter(|s| !s.is_empty())
            .collect();
        Ok(Self {
            address: format!("{scheme}://{authority}"),
            engine_path: engine.join("/"),
            key_name: segments[segments.len() - 1].to_owned(),
        })
    }
}

impl fmt::Display for TransitUri {
    /// sops' identifier of the key: `address/v1/engine/keys/name`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/v1/{}/keys/{}",
            self.address, self.engine_path, self.key_name
        )
    }
}

/// A Transit key that wraps sops data keys (`hc_vault` entries).
#[derive(Debug)]
pub struct TransitMasterKey {
    uri: TransitUri,
    client: Client,
}

impl TransitMasterKey {
    /// The key at `uri`, reached with `settings` (token, TLS, retries), whose address must be
    /// the URI's server.
    ///
    /// # Errors
    ///
    /// [`crate::ConfigError::UntrustedAddress`] when the URI names another server than
    /// `settings`; [`crate::ConfigError`] when the HTTP client cannot be built.
    pub fn new(uri: TransitUri, settings: &Config) -> Result<Self, crate::ConfigError> {
        let client = client_for(settings, &uri.address)?;
        Ok(Self { uri, client })
    }

    /// The key's URI.
    pub fn uri(&self) -> &TransitUri {
        &self.uri
    }
}

/// A client for the server at `address` with the credentials of `settings`, which must name
/// that same server.
///
/// The address of an `hc_vault` entry or URI comes from the sops file or `.sops.yaml`, which
/// whoever can write to the repository controls; sops sends its token wherever they point. The
/// token (and client certificate) go only to the server the settings name (`BAO_ADDR`,
/// `VAULT_ADDR`, or the default), so a planted entry cannot collect them.
///
/// # Errors
///
/// [`crate::ConfigError::UntrustedAddress`] when `address` is another server;
/// [`crate::ConfigError`] when the HTTP client cannot be built.
fn client_for(settings: &Config, address: &str) -> Result<Client, crate::ConfigError> {
    if !same_server(address, &settings.address) {
        return Err(crate::ConfigError::UntrustedAddress {
            address: address.to_owned(),
            configured: settings.address.clone(),
        });
    }
    Client::new(settings.clone())
}

/// Whether two addresses name one server: equal but for letter case and trailing slashes.
fn same_server(a: &str, b: &str) -> bool {
    a.trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim_end_matches('/'))
}

fn backend_error(
    identifier: String,
    error: impl std::error::Error + Send + Sync + 'static,
) -> MasterKeyError {
    MasterKeyError::Backend {
        identifier,
        source: Box::new(error),
    }
}

impl MasterKey for TransitMasterKey {
    fn encrypt(&self, data: &[u8]) -> Result<KeyEntry, MasterKeyError> {
        let enc = self
            .client
            .transit(&self.uri.engine_path)
            .encrypt_data_key(&self.uri.key_name, data)
            .map_err(|error| backend_error(self.identifier(), error))?;
        Ok(KeyEntry::HcVault {
            vault_address: self.uri.address.clone(),
            engine_path: self.uri.engine_path.clone(),
            key_name: self.uri.key_name.clone(),
            created_at: now_lastmodified(),
            enc: enc.into_string(),
        })
    }

    fn identifier(&self) -> String {
        self.uri.to_string()
    }
}

/// The `hc_vault` backend of a decryptor list: decrypts `hc_vault` entries through Transit and
/// builds [`TransitMasterKey`]s for `hc_vault` specs. `settings` give the server, the token,
/// TLS and retries; entries and URIs naming another server are refused without a request.
///
/// ```no_run
/// use aesec::sops::KeyDecryptor;
/// use aesec_bao_bridge::{Config, TransitBackend};
/// let settings = Config::from_env_with(|name| std::env::var(name).ok())?;
/// let transit = TransitBackend::new(settings);
/// // Beside an `AgeDecryptor`, in the one list every operation takes.
/// let decryptors: [&dyn KeyDecryptor; 1] = [&transit];
/// # let _ = decryptors;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct TransitBackend {
    settings: Config,
}

impl TransitBackend {
    /// A backend using `settings` (token, TLS, retries) for every server.
    pub fn new(settings: Config) -> Self {
        Self { settings }
    }

    /// A client for the server at `address` with this backend's settings.
    pub(crate) fn client(&self, address: &str) -> Result<Client, crate::ConfigError> {
        client_for(&self.settings, address)
    }

    fn decrypt_entry(
        &self,
        identifier: String,
        [address, engine_path, key_name, enc]: [&str; 4],
    ) -> Result<Zeroizing<Vec<u8>>, MasterKeyError> {
        let client = self
            .client(address)
            .map_err(|error| backend_error(identifier.clone(), error))?;
        client
            .transit(engine_path)
            .decrypt_data_key(key_name, enc)
            .map_err(|error: Error| backend_error(identifier, error))
    }
}

/// Where an `hc_vault` entry's key lives: `(address, engine path, key name, enc)`.
pub(crate) fn transit_parts(entry: &KeyEntry) -> Option<[&str; 4]> {
    match entry {
        KeyEntry::HcVault {
            vault_address,
            engine_path,
            key_name,
            enc,
            ..
        } => Some([vault_address, engine_path, key_name, enc]),
        _ => None,
    }
}

impl KeyDecryptor for TransitBackend {
    fn decrypt(&self, entry: &KeyEntry) -> Option<Result<Zeroizing<Vec<u8>>, MasterKeyError>> {
        let parts = transit_parts(entry)?;
        Some(self.decrypt_entry(entry.identifier(), parts))
    }

    fn master_key(&self, spec: &KeySpec) -> Option<Result<Box<dyn MasterKey>, MasterKeyError>> {
        let KeySpec::HcVaultTransit(text) = spec else {
            return None;
        };
        let built = text
            .parse::<TransitUri>()
            .map_err(|error| backend_error(text.clone(), error))
            .and_then(|uri| {
                TransitMasterKey::new(uri, &self.settings)
                    .map_err(|error| backend_error(text.clone(), error))
            });
        Some(built.map(|key| Box::new(key) as Box<dyn MasterKey>))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_uris_as_sops() {
        let uri: TransitUri = "http://127.0.0.1:8200/v1/transit/keys/sops-key"
            .parse()
            .unwrap();
        assert_eq!(
            uri,
            TransitUri {
                address: "http://127.0.0.1:8200".into(),
                engine_path: "transit".into(),
                key_name: "sops-key".into(),
            }
        );
        assert_eq!(
            uri.to_string(),
            "http://127.0.0.1:8200/v1/transit/keys/sops-key"
        );
        let nested: TransitUri = "https://bao/v1/team-a/sops/transit/keys/k1/"
            .parse()
            .unwrap();
        assert_eq!(nested.engine_path, "team-a/sops/transit");
        assert_eq!(nested.key_name, "k1");
    }

    #[test]
    fn debug_never_shows_the_token() {
        let settings = Config::new("http://127.0.0.1:1").token("s.sekrit-token".to_owned().into());
        let uri: TransitUri = "http://127.0.0.1:1/v1/transit/keys/k".parse().unwrap();
        let key = TransitMasterKey::new(uri, &settings).unwrap();
        let shown = format!("{:?} {key:?}", TransitBackend::new(settings));
        assert!(!shown.contains("sekrit"), "{shown}");
    }

    /// The configured server and a listener standing for one that a planted entry names.
    fn planted_server() -> (TransitBackend, std::net::TcpListener, String) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let planted = format!("http://{}", listener.local_addr().unwrap());
        let settings = Config::new("http://127.0.0.1:1/").token("s.sekrit-token".to_owned().into());
        (TransitBackend::new(settings), listener, planted)
    }

    fn assert_untrusted(error: &MasterKeyError, planted: &str) {
        let MasterKeyError::Backend { source, .. } = error else {
            panic!("{error:?}");
        };
        match source.downcast_ref::<crate::ConfigError>() {
            Some(crate::ConfigError::UntrustedAddress {
                address,
                configured,
            }) => {
                assert_eq!(address, planted);
                assert_eq!(configured, "http://127.0.0.1:1/");
            }
            other => panic!("{other:?}"),
        }
        assert!(source.to_string().contains("set BAO_ADDR="), "{source}");
    }

    #[test]
    fn the_token_goes_to_no_server_but_the_configured_one() {
        let (transit, listener, planted) = planted_server();
        let entry = KeyEntry::HcVault {
            vault_address: planted.clone(),
            engine_path: "transit".into(),
            key_name: "sops-key".into(),
            created_at: "2026-12-07T00:00:00Z".into(),
            enc: "vault:v1:AAAA".into(),
        };
        assert_untrusted(&transit.decrypt(&entry).unwrap().unwrap_err(), &planted);
        let spec = KeySpec::HcVaultTransit(format!("{planted}/v1/transit/keys/sops-key"));
        let Some(Err(error)) = transit.master_key(&spec) else {
            panic!("a master key for the planted server");
        };
        assert_untrusted(&error, &planted);
        assert!(matches!(
            transit.client(&planted),
            Err(crate::ConfigError::UntrustedAddress { .. })
        ));
        let contacted = listener.accept();
        assert!(
            matches!(&contacted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "the planted server was contacted: {contacted:?}"
        );
    }

    #[test]
    fn one_server_however_its_address_is_cased_or_ended() {
        assert!(same_server(
            "https://Bao.Example:8200/",
            "https://bao.example:8200"
        ));
        assert!(same_server(
            "http://127.0.0.1:8200",
            "http://127.0.0.1:8200//"
        ));
        assert!(!same_server(
            "http://127.0.0.1:8200",
            "http://127.0.0.1:8201"
        ));
        assert!(!same_server("https://bao.example", "http://bao.example"));
        assert!(!same_server(
            "https://bao.example.evil",
            "https://bao.example"
        ));
    }

    #[test]
    fn refuses_what_sops_refuses() {
        assert!(matches!(
            "127.0.0.1:8200/v1/transit/keys/k".parse::<TransitUri>(),
            Err(ParseTransitUriError::MissingScheme { .. })
        ));
        assert!(matches!(
            "https://h/vault/v1/transit/keys/k".parse::<TransitUri>(),
            Err(ParseTransitUriError::Prefixed { .. })
        ));
        assert!(matches!(
            "https://h/v1/transit/k".parse::<TransitUri>(),
            Err(ParseTransitUriError::BadPath { .. })
        ));
        // sops' prefix check is not anchored: a later `v2` segment with three after it counts.
        assert!(matches!(
            "https://h/v1/x/v2/transit/keys/k".parse::<TransitUri>(),
            Err(ParseTransitUriError::Prefixed { .. })
        ));
    }
}
