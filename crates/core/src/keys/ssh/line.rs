//! Splitting one line of `.pub`, `authorized_keys`, `known_hosts` or `ssh-keyscan` output into
//! its parts: an optional `@cert-authority`/`@revoked` marker, a prefix (host patterns or
//! `authorized_keys` options), the key type, the decoded key blob and the comment.
//!
//! ssh-to-age hands lines starting with `ssh-` to Go's `ssh.ParseAuthorizedKey` and everything
//! else to `ssh.ParseKnownHosts`. This splitter accepts the union: it finds the first pair of
//! fields `<type> <base64>` whose base64 decodes to a key blob of that type, with fields split on
//! white space outside double quotes (option values such as `command="echo hi"` may hold spaces).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{Marker, SshToAgeError};

/// The parts of one public key line.
#[derive(Debug)]
pub(super) struct KeyLine<'a> {
    pub(super) marker: Option<Marker>,
    /// Host patterns (known_hosts) or options (authorized_keys), as written.
    pub(super) prefix: Option<&'a str>,
    pub(super) key_type: &'a str,
    pub(super) blob: Vec<u8>,
    pub(super) comment: Option<&'a str>,
}

/// `authorized_keys` options that take no value (sshd(8), "AUTHORIZED_KEYS FILE FORMAT").
const FLAG_OPTIONS: &[&str] = &[
    "agent-forwarding",
    "cert-authority",
    "no-agent-forwarding",
    "no-port-forwarding",
    "no-pty",
    "no-touch-required",
    "no-user-rc",
    "no-x11-forwarding",
    "port-forwarding",
    "pty",
    "restrict",
    "user-rc",
    "verify-required",
    "x11-forwarding",
];

/// Whether a prefix looks like `authorized_keys` options rather than known_hosts host patterns.
pub(super) fn is_options(prefix: &str) -> bool {
    if prefix.starts_with('|') || prefix.starts_with('[') {
        return false;
    }
    prefix.contains('=')
        || prefix.contains('"')
        || prefix
            .split(',')
            .any(|option| FLAG_OPTIONS.contains(&option.to_ascii_lowercase().as_str()))
}

/// Byte ranges of the white-space separated fields; white space inside double quotes (with
/// backslash escapes) does not split.
fn fields(line: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if in_quotes => escaped = true,
            '"' => {
                in_quotes = !in_quotes;
                start.get_or_insert(i);
            }
            c if c.is_whitespace() && !in_quotes => {
                if let Some(s) = start.take() {
                    out.push((s, i));
                }
            }
            _ => {
                start.get_or_insert(i);
            }
        }
    }
    if let Some(s) = start {
        out.push((s, line.len()));
    }
    out
}

/// The key type named at the start of an SSH wire-format key blob.
pub(super) fn blob_type(blob: &[u8]) -> Option<&str> {
    let (length, rest) = blob.split_first_chunk::<4>()?;
    let length = usize::try_from(u32::from_be_bytes(*length)).ok()?;
    let name = rest.get(..length)?;
    std::str::from_utf8(name).ok()
}

/// Splits one line. The line must not be blank or a `#` comment.
pub(super) fn parse(line: &str) -> Result<KeyLine<'_>, SshToAgeError> {
    let line = line.trim();
    let mut spans = fields(line);
    let mut marker = None;
    let mut prefix_start = 0;
    if let Some(&(start, end)) = spans.first()
        && line[start..end].starts_with('@')
    {
        marker = Some(match &line[start..end] {
            "@cert-authority" => Marker::CertAuthority,
            "@revoked" => Marker::Revoked,
            _ => {
                return Err(SshToAgeError::MalformedPublicKey {
                    reason: "unknown known_hosts marker",
                });
            }
        });
        spans.remove(0);
        prefix_start = end;
    }
    if spans.is_empty() {
        return Err(SshToAgeError::MalformedPublicKey {
            reason: "no key on the line",
        });
    }
    for pair in spans.windows(2) {
        let [(type_start, type_end), (key_start, key_end)] = [pair[0], pair[1]];
        let key_type = &line[type_start..type_end];
        let Ok(blob) = STANDARD.decode(&line[key_start..key_end]) else {
            continue;
        };
        if blob_type(&blob) != Some(key_type) {
            continue;
        }
        let prefix = line[prefix_start..type_start].trim();
        let comment = line[key_end..].trim();
        return Ok(KeyLine {
            marker,
            prefix: (!prefix.is_empty()).then_some(prefix),
            key_type,
            blob,
            comment: (!comment.is_empty()).then_some(comment),
        });
    }
    Err(SshToAgeError::MalformedPublicKey {
        reason: "no '<key type> <base64 key>' pair found",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED25519: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIOHz+U0YtjINc54dZiJNclfmEFifF7RXCFlNlTbuZBji";

    #[test]
    fn plain_pub_line() {
        let line = format!("ssh-ed25519 {ED25519} joerg@turingmachine\n");
        let parsed = parse(&line).unwrap();
        assert_eq!(parsed.key_type, "ssh-ed25519");
        assert_eq!(parsed.prefix, None);
        assert_eq!(parsed.comment, Some("joerg@turingmachine"));
        assert_eq!(parsed.blob.len(), 51);
    }

    #[test]
    fn quoted_options_with_spaces() {
        let line = format!(r#"command="echo \"hi there\"",no-pty ssh-ed25519 {ED25519} c d"#);
        let parsed = parse(&line).unwrap();
        assert_eq!(parsed.prefix, Some(r#"command="echo \"hi there\"",no-pty"#));
        assert!(is_options(parsed.prefix.unwrap()));
        assert_eq!(parsed.comment, Some("c d"));
    }

    #[test]
    fn known_hosts_forms() {
        for hosts in [
            "host",
            "a,b",
            "[host]:2222",
            "|1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|3988QV0VE8wmZL7suNrYQLITLCg=",
        ] {
            let line = format!("@revoked {hosts} ssh-ed25519 {ED25519}");
            let parsed = parse(&line).unwrap();
            assert_eq!(parsed.marker, Some(Marker::Revoked));
            assert_eq!(parsed.prefix, Some(hosts));
            assert!(!is_options(hosts));
        }
        assert!(matches!(
            parse(&format!("@bogus h ssh-ed25519 {ED25519}")),
            Err(SshToAgeError::MalformedPublicKey { .. })
        ));
    }

    #[test]
    fn garbage_is_refused() {
        for line in [
            "",
            "ssh-ed25519",
            "ssh-ed25519 !!!",
            "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAA",
            "@revoked",
        ] {
            assert!(
                matches!(parse(line), Err(SshToAgeError::MalformedPublicKey { .. })),
                "{line:?}"
            );
        }
    }
}
