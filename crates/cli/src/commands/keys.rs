//! `aesec keys`: SSH → age conversion (what ssh-to-age prints) and age key generation.

use std::io::Read;
use std::path::Path;

use aesec::keys::ssh::{self, PassphrasePrompt, SshToAgeError};
use aesec::secrecy::{ExposeSecret, SecretString};
use anyhow::Context as _;

use crate::cli::{KeysCommand, SshToAgeArgs};
use crate::commands::{Context, read_input, write_file};
use crate::output::{CliError, TerminalPrompt};

pub(crate) fn run(context: &Context, command: &KeysCommand) -> anyhow::Result<u8> {
    match command {
        KeysCommand::SshToAge(args) => ssh_to_age(context, args),
        KeysCommand::Generate(args) => {
            let key = if args.pq {
                aesec::keys::age::GeneratedIdentity::generate_pq()
                    .context("cannot read the operating system's random source")?
            } else {
                aesec::keys::age::GeneratedIdentity::generate()
            };
            let created = aesec::sops::now_lastmodified();
            let text = key.to_identity_file(&created);
            match &args.output {
                Some(path) => {
                    write_file(
                        &context.path(path),
                        text.expose_secret().as_bytes(),
                        aesec::fs::WriteOptions::private(0o600),
                    )?;
                    if !context.quiet {
                        eprintln!("Public key: {}", key.recipient());
                    }
                }
                None => crate::output::stdout(text.expose_secret().as_bytes())?,
            }
            Ok(0)
        }
    }
}

fn ssh_to_age(context: &Context, args: &SshToAgeArgs) -> anyhow::Result<u8> {
    let from_stdin = args.input == Path::new("-");
    if args.stdin_pass && from_stdin {
        return Err(
            CliError::Usage("cannot read both private key and passphrase from stdin").into(),
        );
    }
    let input = zeroize::Zeroizing::new(read_input(context, Some(&args.input))?);
    let shown = if from_stdin {
        "<stdin>".to_owned()
    } else {
        args.input.display().to_string()
    };
    let (output, mode) = if args.private_key {
        let passphrase = if args.stdin_pass {
            Some(read_passphrase_from_stdin()?)
        } else {
            std::env::var(crate::env::SSH_TO_AGE_PASSPHRASE)
                .ok()
                .filter(|p| !p.is_empty())
                .map(SecretString::from)
        };
        let converted = match ssh::private_key_to_age(&input, passphrase.as_ref()) {
            Err(SshToAgeError::PassphraseRequired) if passphrase.is_none() => {
                match TerminalPrompt.passphrase(&shown) {
                    Some(prompted) => ssh::private_key_to_age(&input, Some(&prompted)),
                    None => Err(SshToAgeError::PassphraseRequired),
                }
            }
            other => other,
        }
        .with_context(|| format!("cannot convert the private key '{shown}'"))?;
        (secret_line(converted.0.expose_secret()), 0o600)
    } else {
        let text = String::from_utf8_lossy(&input);
        let mut out = String::new();
        for result in ssh::public_keys_to_age(&text) {
            match result {
                Ok(converted) => {
                    out.push_str(&converted.recipient.to_string());
                    out.push('\n');
                }
                Err(SshToAgeError::UnsupportedKeyType { key_type }) => {
                    eprintln!(
                        "skipped key: got {key_type} key type, but only ed25519 keys are supported"
                    );
                }
                Err(error) => {
                    return Err(anyhow::Error::new(error)
                        .context(format!("cannot convert a public key in '{shown}'")));
                }
            }
        }
        (zeroize::Zeroizing::new(out.into_bytes()), 0o644)
    };
    if args.output == Path::new("-") {
        crate::output::stdout(&output)?;
    } else {
        // A private key goes only to a new file or the caller's own, never through a link.
        let options = if args.private_key {
            aesec::fs::WriteOptions::private(mode)
        } else {
            aesec::fs::WriteOptions::with_mode(mode)
        };
        write_file(&context.path(&args.output), &output, options)?;
    }
    Ok(0)
}

/// `secret` and a newline, in a buffer sized for both up front: no reallocation leaves a copy
/// of the secret behind in freed memory.
fn secret_line(secret: &str) -> zeroize::Zeroizing<Vec<u8>> {
    let mut line = zeroize::Zeroizing::new(Vec::with_capacity(secret.len() + 1));
    line.extend_from_slice(secret.as_bytes());
    line.push(b'\n');
    line
}

fn read_passphrase_from_stdin() -> anyhow::Result<SecretString> {
    let mut text = zeroize::Zeroizing::new(String::new());
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(CliError::ReadStdin)?;
    Ok(SecretString::from(
        text.trim_end_matches(['\r', '\n']).to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 6 item 9: the line is built in the buffer reserved for it (same allocation).
    #[test]
    fn secret_line_never_reallocates() {
        let secret = "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ";
        let line = secret_line(secret);
        assert_eq!(&line[..], format!("{secret}\n").as_bytes());
        assert_eq!(line.capacity(), secret.len() + 1);
    }
}
