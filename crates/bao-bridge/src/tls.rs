//! TLS for the client: rustls (with ring, never OpenSSL), the CA roots and client identity a
//! [`Config`] names, and recognising a certificate failure among reqwest's errors.
//!
//! As in OpenBao's Go client, a CA file (`BAO_CACERT`) or directory (`BAO_CAPATH`) replaces
//! the system roots rather than adding to them. Redirects: at most one is followed (a standby
//! answering 307 when forwarding is off), and never from `https` to `http`.

use std::path::Path;

use reqwest::blocking::Client as HttpClient;
use reqwest::{Certificate, Identity, redirect};

use crate::config::Config;
use crate::error::ConfigError;

/// Builds the reqwest client for `config`.
pub(crate) fn http_client(config: &Config) -> Result<HttpClient, ConfigError> {
    let mut builder = HttpClient::builder()
        .use_rustls_tls()
        .timeout(config.timeout)
        .user_agent(concat!("aesec-bao-bridge/", env!("CARGO_PKG_VERSION")))
        .redirect(redirect::Policy::custom(|attempt| {
            let downgrade = attempt.url().scheme() == "http"
                && attempt
                    .previous()
                    .first()
                    .is_some_and(|first| first.scheme() == "https");
            if downgrade || attempt.previous().len() > 1 {
                attempt.stop()
            } else {
                attempt.follow()
            }
        }));
    let mut roots = Vec::new();
    if let Some(file) = &config.ca_cert {
        roots.extend(read_certificates(file)?);
    }
    if let Some(dir) = &config.ca_path {
        let entries = std::fs::read_dir(dir).map_err(|source| ConfigError::ReadFile {
            path: dir.clone(),
            source,
        })?;
        let mut files = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| ConfigError::ReadFile {
                path: dir.clone(),
                source,
            })?;
            if entry.path().is_file() {
                files.push(entry.path());
            }
        }
        files.sort();
        for file in files {
            roots.extend(read_certificates(&file)?);
        }
    }
    if config.ca_cert.is_some() || config.ca_path.is_some() {
        builder = builder.tls_built_in_root_certs(false);
        for root in roots {
            builder = builder.add_root_certificate(root);
        }
    }
    match (&config.client_cert, &config.client_key) {
        (Some(cert), Some(key)) => {
            let mut pem = read(cert)?;
            pem.push(b'\n');
            pem.extend(read(key)?.iter());
            let identity = Identity::from_pem(&pem).map_err(|error| ConfigError::InvalidPem {
                path: cert.clone(),
                reason: error.to_string(),
            })?;
            zeroize::Zeroize::zeroize(&mut pem);
            builder = builder.identity(identity);
        }
        (None, None) => {}
        _ => return Err(ConfigError::IncompleteClientCert),
    }
    if config.skip_verify {
        tracing::warn!(
            address = config.address,
            "TLS verification is OFF (BAO_SKIP_VERIFY): anyone on the path can read the token"
        );
        builder = builder.danger_accept_invalid_certs(true);
    }
    builder.build().map_err(|error| ConfigError::Http {
        reason: error.to_string(),
    })
}

fn read(path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|source| ConfigError::ReadFile {
        path: path.to_owned(),
        source,
    })
}

fn read_certificates(path: &Path) -> Result<Vec<Certificate>, ConfigError> {
    let certificates =
        Certificate::from_pem_bundle(&read(path)?).map_err(|error| ConfigError::InvalidPem {
            path: path.to_owned(),
            reason: error.to_string(),
        })?;
    if certificates.is_empty() {
        return Err(ConfigError::InvalidPem {
            path: path.to_owned(),
            reason: "no certificate in the file".to_owned(),
        });
    }
    Ok(certificates)
}

/// The rustls reason when `error` is a failed certificate check, else `None`.
///
/// rustls' error sits inside nested `io::Error`s in reqwest's chain (hyper-util wraps
/// tokio-rustls' one), and `io::Error::source` skips its payload, so every `io::Error` met is
/// opened with `get_ref` as well.
pub(crate) fn certificate_failure(error: &reqwest::Error) -> Option<String> {
    let mut pending: Vec<&(dyn std::error::Error + 'static)> = vec![error];
    while let Some(current) = pending.pop() {
        if let Some(
            tls @ (rustls::Error::InvalidCertificate(_)
            | rustls::Error::NoCertificatesPresented
            | rustls::Error::InvalidCertRevocationList(_)),
        ) = current.downcast_ref::<rustls::Error>()
        {
            return Some(tls.to_string());
        }
        if let Some(payload) = current
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            pending.push(payload);
        }
        if let Some(source) = current.source() {
            pending.push(source);
        }
    }
    None
}
