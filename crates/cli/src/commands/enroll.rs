//! `aesec enroll NAME`: record a member's key in `.sops.yaml`, grant it rules, re-encrypt the
//! files it now reads ([`aesec::fleet::enroll`]).

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use aesec::fleet::{
    self, EnrollError, EnrollOptions, EnrollOutcome, EnrollRequest, KeySource, KeyscanTrust,
    KnownHosts, Membership, ScannedKey, Targets, Verified,
};
use anyhow::Context as _;

use crate::cli::EnrollArgs;
use crate::commands::{Context, read_input};
use crate::output::{CliError, summary};
use crate::progress::Bar;

/// The default SSH port of `--keyscan HOST`.
const SSH_PORT: u16 = 22;

pub(crate) fn run(context: &Context, args: &EnrollArgs) -> anyhow::Result<u8> {
    let config = context.fleet_config()?;
    let targets = match (&args.like, args.to.as_slice()) {
        (Some(other), _) => Targets::Like(other.clone()),
        (None, []) => Targets::Default,
        (None, paths) => Targets::Paths(paths.iter().map(|p| context.path(p)).collect()),
    };
    let question = format!(
        "enroll '{}' into {} and re-encrypt the affected files",
        args.name,
        match &targets {
            Targets::Like(other) => format!("the rules naming '{other}'"),
            Targets::Paths(paths) => format!("the rules governing {} path(s)", paths.len()),
            _ => "its per-host rule".to_owned(),
        }
    );
    // The prompt's own failure (stdin closed), kept to be reported instead of "not accepted".
    let prompt_error: Arc<Mutex<Option<anyhow::Error>>> = Arc::default();
    let source = if let Some(target) = &args.source.keyscan {
        let (host, port) = split_host_port(target)?;
        let mut trust = KeyscanTrust::default();
        trust.fingerprint.clone_from(&args.fingerprint);
        trust.known_hosts = known_hosts(context, args)?;
        if !args.yes {
            let stash = Arc::clone(&prompt_error);
            let question = question.clone();
            trust.confirm = Some(Arc::new(move |key: &ScannedKey| {
                match ask_about_key(&question, key) {
                    Ok(answer) => answer,
                    Err(error) => {
                        if let Ok(mut slot) = stash.lock() {
                            *slot = Some(error);
                        }
                        false
                    }
                }
            }));
        }
        KeySource::keyscan(args.keyscan_program.clone(), host, port, trust)
    } else if let Some(file) = &args.source.key {
        let bytes = read_input(context, Some(file))?;
        let text = String::from_utf8(bytes).context("the key is not UTF-8 text")?;
        let origin = if file.as_os_str() == "-" {
            "stdin".to_owned()
        } else {
            format!("key {}", file.display())
        };
        KeySource::key(text, origin)
    } else {
        KeySource::generate(args.key_path.clone())
    };
    // A scanned key is asked about once it is known (above); other sources are known already.
    if !args.yes && args.source.keyscan.is_none() {
        writeln!(std::io::stderr().lock(), "{question}")?;
        if !crate::output::confirm()? {
            crate::output::stdout(b"nothing written\n")?;
            return Ok(0);
        }
    }
    let mut options = EnrollOptions::default();
    options.replace = args.replace;
    options.no_updatekeys = args.no_updatekeys;
    let request = EnrollRequest::new(args.name.clone(), source, targets);
    let keys = context.keys();
    let decryptors = keys.decryptors();
    let bar = Bar::new(context.quiet || context.json);
    let outcome = match fleet::enroll(&config.path, &request, &decryptors.list(), &options, &bar) {
        Ok(outcome) => outcome,
        Err(EnrollError::NotConfirmed { .. }) => {
            if let Some(error) = prompt_error.lock().ok().and_then(|mut slot| slot.take()) {
                return Err(error);
            }
            crate::output::stdout(b"nothing written\n")?;
            return Ok(0);
        }
        Err(error) => {
            return Err(anyhow::Error::new(error))
                .with_context(|| format!("cannot enroll '{}'", args.name));
        }
    };
    if context.json {
        crate::output::json(&outcome)?;
    } else if !context.quiet {
        crate::output::stdout(render(context, &outcome).as_bytes())?;
    }
    Ok(0)
}

/// The `known_hosts` text for `--keyscan`: `--known-hosts FILE` (which must exist), else
/// `~/.ssh/known_hosts` when it exists.
fn known_hosts(context: &Context, args: &EnrollArgs) -> anyhow::Result<Option<KnownHosts>> {
    let path = match &args.known_hosts {
        Some(path) => context.path(path),
        None => match std::env::var_os(crate::env::HOME) {
            Some(home) => PathBuf::from(home).join(".ssh/known_hosts"),
            None => return Ok(None),
        },
    };
    if args.known_hosts.is_none() && !path.is_file() {
        return Ok(None);
    }
    let bytes = aesec::fs::read(&path)?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Ok(Some(KnownHosts::new(text, path.display().to_string())))
}

/// Shows the scanned key and what vouches for it, then asks.
fn ask_about_key(question: &str, key: &ScannedKey) -> anyhow::Result<bool> {
    let verdict = match &key.verified {
        Some(Verified::Pinned) => "matches the pinned --fingerprint".to_owned(),
        Some(Verified::KnownHosts { origin, line }) => {
            format!("listed in '{origin}' line {line}")
        }
        _ => "NOT verified: compare it with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` \
              run on the host, or pin it with --fingerprint"
            .to_owned(),
    };
    writeln!(
        std::io::stderr().lock(),
        "{question}\nhost key of {}:{}: ED25519 {}\n  {}\n  age recipient {}\n  {verdict}",
        key.host,
        key.port,
        key.fingerprint,
        key.ssh_key,
        key.recipient
    )?;
    crate::output::confirm()
}

/// The human report.
fn render(context: &Context, outcome: &EnrollOutcome) -> String {
    let mut text = match &outcome.membership {
        Membership::Unchanged => format!(
            "'{}' is already enrolled with this key ({})\n",
            outcome.name, outcome.fingerprint
        ),
        Membership::Replaced {
            old_fingerprint, ..
        } => format!(
            "replaced the key of '{}': was {old_fingerprint}, now {} ({})\n",
            outcome.name, outcome.fingerprint, outcome.recipient
        ),
        _ => format!(
            "enrolled '{}': {} ({})\n",
            outcome.name, outcome.recipient, outcome.fingerprint
        ),
    };
    for rule in &outcome.rules {
        text.push_str(&format!(
            "  rule {}: {}{}\n",
            rule.rule,
            rule.path_regex.as_deref().unwrap_or("(no path_regex)"),
            if rule.created { " (created)" } else { "" }
        ));
    }
    if !outcome.config_changed {
        text.push_str(".sops.yaml unchanged\n");
    }
    if let Some(generated) = &outcome.generated {
        text.push_str(&format!(
            "host key stored in '{}' (encrypted to the admins), public key in '{}'\n\
             next: aesec bootstrap {} --out DIR && nixos-anywhere --extra-files DIR …\n",
            context.shown(&generated.private_key_path).display(),
            context.shown(&generated.public_key_path).display(),
            outcome.name
        ));
    }
    match &outcome.updatekeys {
        Some(report) => text.push_str(&summary(report)),
        None => text.push_str("files not updated (--no-updatekeys): run `aesec updatekeys`\n"),
    }
    text
}

/// `HOST`, `HOST:PORT`, `[V6]:PORT` or a bare IPv6 address.
fn split_host_port(text: &str) -> anyhow::Result<(String, u16)> {
    let bad = || CliError::Usage("--keyscan takes HOST or HOST:PORT");
    if let Some(rest) = text.strip_prefix('[') {
        let (host, tail) = rest.split_once(']').ok_or_else(bad)?;
        let port = match tail.strip_prefix(':') {
            Some(port) => port.parse().map_err(|_| bad())?,
            None if tail.is_empty() => SSH_PORT,
            None => return Err(bad().into()),
        };
        return Ok((host.to_owned(), port));
    }
    match text.split_once(':') {
        Some((host, port)) if !port.contains(':') => {
            if host.is_empty() {
                return Err(bad().into());
            }
            Ok((host.to_owned(), port.parse().map_err(|_| bad())?))
        }
        _ if text.is_empty() => Err(bad().into()),
        _ => Ok((text.to_owned(), SSH_PORT)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port() {
        assert_eq!(split_host_port("trinity").unwrap(), ("trinity".into(), 22));
        assert_eq!(
            split_host_port("127.0.0.1:2222").unwrap(),
            ("127.0.0.1".into(), 2222)
        );
        assert_eq!(split_host_port("[::1]:2200").unwrap(), ("::1".into(), 2200));
        assert_eq!(split_host_port("::1").unwrap(), ("::1".into(), 22));
        assert!(split_host_port("host:port").is_err());
        assert!(split_host_port("").is_err());
    }
}
