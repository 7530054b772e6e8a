//! A thin, blocking client for OpenBao (and HashiCorp Vault's compatible API): the part of
//! aesec that talks to the server, for the CLI (`aesec bao …`) and for embedding tools.
//!
//! It covers what aesec's bridge between sops files and OpenBao needs, each checked against a
//! real OpenBao 2.7 server by this crate's tests:
//!
//! - **Settings** ([`Config`]) read from the environment the way OpenBao does: `BAO_X` when it
//!   is set at all, else `VAULT_X` ([`Config::from_env_with`] takes a lookup closure; the
//!   library itself never reads the environment).
//! - **The client** ([`Client`]): the token goes in `X-Vault-Token` and is held as a
//!   [`SecretString`](secrecy::SecretString), never shown by `Debug`; errors are typed
//!   ([`Error`]) from the status and the `{"errors": [...]}` body; failed attempts are retried
//!   with capped exponential backoff and jitter ([`RetryPolicy`]), honouring `Retry-After`;
//!   `X-Vault-Index` is echoed with `X-Vault-Inconsistent: forward-active-node`, so reads see
//!   this client's writes on an HA cluster with read-serving standbys.
//! - **Auth** ([`Login`], [`Session`]): token lookup/renew/revoke, AppRole (with a
//!   response-wrapped secret-id), Kubernetes (service-account token file), JWT/OIDC.
//! - **KV v2** ([`Kv2`]) and **Transit** ([`Transit`]) primitives.
//! - **Transit as a sops master key** ([`TransitBackend`], [`TransitMasterKey`]): `hc_vault`
//!   entries byte-compatible with sops; the backend joins the decryptor list that `aesec`'s
//!   file operations take, so files keyed to Transit (alone or beside age) open and re-wrap.
//!   Unlike sops, the token goes only to the configured server: an entry or `.sops.yaml` URI
//!   naming another one (planted by whoever can write to the repository) is refused before
//!   any request ([`ConfigError::UntrustedAddress`]).
//!
//! # Bootstrapping OpenBao
//!
//! [`bootstrap`] initialises a new server straight into a sops file (unseal keys and root
//! token never printed, never on disk in clear; with key groups, one share per group that only
//! the group opens) and unseals a server with the shares the caller's identities open.
//!
//! # Blocking, on purpose
//!
//! The client is synchronous (reqwest's blocking client over rustls with ring; no OpenSSL):
//! aesec's CLI is synchronous, its `MasterKey` trait (which a Transit key implements) is
//! synchronous, and a publish is a short sequence of dependent requests per secret. An async
//! embedder runs calls inside `spawn_blocking`; reqwest's blocking client must not be created
//! or dropped on an async runtime's thread.
//!
//! # Publishing for Kubernetes
//!
//! [`publish`] puts the values of sops files into KV v2 as External Secrets reads them, as
//! `.aesec.yaml` maps them: a plan first, then check-and-set writes that skip every unchanged
//! secret (no new version), never touch another tool's paths, and prune by soft delete.
//!
//! # Example: wrap a sops data key with Transit, publish a secret to KV
//!
//! ```no_run
//! use aesec_bao_bridge::{Cas, Client, Config, SecretData};
//!
//! // BAO_ADDR / BAO_TOKEN, else VAULT_ADDR / VAULT_TOKEN, and the CA settings.
//! let client = Client::new(Config::from_env_with(|name| std::env::var(name).ok())?)?;
//!
//! // Transit as a sops master key: the `vault:vN:…` string goes into the file's `enc`.
//! let transit = client.transit("transit");
//! let enc = transit.encrypt_data_key("sops-key", &[0x42; 32])?;
//! let data_key = transit.decrypt_data_key("sops-key", enc.as_str())?;
//! assert_eq!(data_key.len(), 32);
//!
//! // KV v2 for External Secrets: write only if nobody wrote since we looked.
//! let kv = client.kv2("kv-k8s");
//! let path = "homelab/monitoring/grafana-admin";
//! let values: SecretData = [("admin-password", "hunter2")].into_iter().collect();
//! let cas = match kv.read_metadata(path)? {
//!     Some(meta) => Cas::Version(meta.current_version),
//!     None => Cas::Absent,
//! };
//! kv.write(path, &values, cas)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod auth;
pub mod bootstrap;
mod client;
mod config;
mod envelope;
mod error;
mod kv2;
pub mod publish;
mod retry;
mod rewrap;
mod seal;
mod tls;
mod transit;
mod transit_key;

pub use auth::{KUBERNETES_TOKEN_PATH, Login, Refresh, Session, TokenInfo, read_secret_file};
pub use client::{Client, Stats};
pub use config::{Config, Consistency, DEFAULT_ADDRESS, DEFAULT_TIMEOUT};
pub use envelope::{AuthInfo, Response, WrapInfo};
pub use error::{ConfigError, Error};
pub use kv2::{
    Cas, Kv2, KvSecret, Metadata, MetadataPatch, SecretData, VersionMetadata, VersionState,
};
pub use retry::RetryPolicy;
pub use rewrap::{RewrapError, StaleEntry};
pub use seal::SealStatus;
pub use transit::{Ciphertext, KeyInfo, Transit, ciphertext_version};
pub use transit_key::{ParseTransitUriError, TransitBackend, TransitMasterKey, TransitUri};

/// The `secrecy` crate this API uses for tokens, re-exported so versions match.
pub use secrecy;
/// The `serde_json` crate of [`Client::write`] bodies and [`SecretData`] values.
pub use serde_json;
