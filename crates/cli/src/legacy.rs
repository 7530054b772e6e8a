//! sops' top-level command forms, rewritten into aesec's subcommands before parsing.
//!
//! sops 3.11 still accepts the forms that predate its subcommands, and scripts are full of
//! them: `sops -d FILE`, `sops -e -i FILE`, `sops -d -i FILE`, `sops -r -i FILE`,
//! `sops --set '["a"] "v"' FILE`, `sops --extract '["a"]' -d FILE`, and the bare `sops FILE`,
//! which edits an existing file. [`rewrite`] turns each into the subcommand that does the same thing
//! (`decrypt`, `encrypt`, `rotate`, `set`, `edit`), so `aesec` can stand in for `sops` on such a
//! command line. Anything else is left untouched for clap.
//!
//! As in sops (urfave/cli), the flags come before the file: the first word that is neither a
//! flag nor a flag's value is the file, and the words after it are not looked at.

use std::ffi::OsString;
use std::path::Path;

/// sops' top-level flags that take a value, long names without the dashes (sops 3.11 `--help`),
/// plus aesec's own global flags that take one.
const VALUE_FLAGS: &[&str] = &[
    "kms",
    "aws-profile",
    "gcp-kms",
    "hckms",
    "azure-kv",
    "hc-vault-transit",
    "pgp",
    "age",
    "extract",
    "input-type",
    "output-type",
    "add-gcp-kms",
    "rm-gcp-kms",
    "add-hckms",
    "rm-hckms",
    "add-azure-kv",
    "rm-azure-kv",
    "add-kms",
    "rm-kms",
    "add-hc-vault-transit",
    "rm-hc-vault-transit",
    "add-age",
    "rm-age",
    "add-pgp",
    "rm-pgp",
    "unencrypted-suffix",
    "encrypted-suffix",
    "unencrypted-regex",
    "encrypted-regex",
    "unencrypted-comment-regex",
    "encrypted-comment-regex",
    "config",
    "encryption-context",
    "set",
    "shamir-secret-sharing-threshold",
    "indent",
    "output",
    "filename-override",
    "decryption-order",
    "keyservice",
    "identity",
];

/// Short flags that take a value: sops' `-k`, `-p`, `-a`, and aesec's `-C`.
const SHORT_VALUE_FLAGS: &[&str] = &["-k", "-p", "-a", "-C"];

/// The subcommand a legacy mode flag selects.
fn mode_of(flag: &str) -> Option<&'static str> {
    match flag {
        "-d" | "--decrypt" => Some("decrypt"),
        "-e" | "--encrypt" => Some("encrypt"),
        "-r" | "--rotate" => Some("rotate"),
        _ => None,
    }
}

/// A `--set` argument that is not `INDEX VALUE` (sops: "Invalid --set format", exit 7).
#[derive(Debug, thiserror::Error)]
#[error(
    "invalid --set format: {0:?} is not an index and a JSON value, as in '[\"key\"] \"value\"'"
)]
pub(crate) struct InvalidSetFormat(String);

/// Rewrites a sops top-level command line (`args[0]` is the program) into the aesec
/// subcommand that does the same; returns `args` unchanged when it is not one.
///
/// `subcommands` are the names clap knows (and `help`): a first positional word among them
/// means the command line already names a subcommand.
pub(crate) fn rewrite(
    args: Vec<OsString>,
    subcommands: &[&str],
) -> Result<Vec<OsString>, InvalidSetFormat> {
    let Some((program, rest)) = args.split_first() else {
        return Ok(args);
    };
    let mut mode: Option<&'static str> = None;
    let mut set: Option<OsString> = None;
    let mut kept: Vec<OsString> = Vec::with_capacity(rest.len());
    let mut file = None;
    let mut words = rest.iter();
    while let Some(word) = words.next() {
        let Some(text) = word.to_str() else {
            file = Some(kept.len());
            kept.push(word.clone());
            break;
        };
        if text == "--" || !text.starts_with('-') || text == "-" {
            if subcommands.contains(&text) {
                return Ok(args);
            }
            file = (text != "--").then_some(kept.len());
            kept.push(word.clone());
            break;
        }
        if let Some(selected) = mode_of(text).filter(|_| mode.is_none()) {
            mode = Some(selected);
            continue;
        }
        let (name, inline_value) = match text.strip_prefix("--") {
            Some(long) => match long.split_once('=') {
                Some((name, value)) => (name, Some(value)),
                None => (long, None),
            },
            None => ("", None),
        };
        let takes_value = VALUE_FLAGS.contains(&name) || SHORT_VALUE_FLAGS.contains(&text);
        if name == "set" && set.is_none() {
            set = match inline_value {
                Some(value) => Some(OsString::from(value)),
                None => words.next().cloned(),
            };
            continue;
        }
        // sops' `-a` is aesec's `--age`.
        kept.push(if text == "-a" {
            OsString::from("--age")
        } else {
            word.clone()
        });
        if takes_value
            && inline_value.is_none()
            && let Some(value) = words.next()
        {
            kept.push(value.clone());
        }
    }
    kept.extend(words.cloned());
    let subcommand = match (mode, &set) {
        (None, Some(_)) => "set",
        (Some(mode), _) => mode,
        // The bare `sops FILE` edits an existing file; any other word is left for clap, which
        // names a mistyped subcommand rather than opening an editor on it.
        (None, None) if file.is_some_and(|at| Path::new(&kept[at]).exists()) => "edit",
        (None, None) => return Ok(args),
    };
    let mut rewritten = vec![program.clone(), OsString::from(subcommand)];
    if subcommand == "set" {
        let spec = set.unwrap_or_default().to_string_lossy().into_owned();
        let (index, value) = split_set_argument(&spec).ok_or(InvalidSetFormat(spec.clone()))?;
        // `set` always writes the file in place, as sops' `--set` does with or without `-i`.
        kept.retain(|word| word != "-i" && word != "--in-place");
        rewritten.extend(kept);
        rewritten.push(index.into());
        rewritten.push(value.into());
    } else {
        if let Some(set) = set {
            // `--set` beside a mode flag: left for clap to refuse.
            rewritten.push(OsString::from("--set"));
            rewritten.push(set);
        }
        rewritten.extend(kept);
    }
    Ok(rewritten)
}

/// Splits sops' `--set` argument, `INDEX VALUE`, after the first `] ` (sops'
/// `extractSetArguments`: the index ends with `]`, the JSON value follows one space).
fn split_set_argument(spec: &str) -> Option<(String, &str)> {
    let (index, value) = spec.split_once("] ")?;
    Some((format!("{index}]"), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUBCOMMANDS: &[&str] = &["decrypt", "encrypt", "edit", "set", "rotate", "help"];

    fn run(line: &[&str]) -> Vec<String> {
        let args = line.iter().map(OsString::from).collect();
        rewrite(args, SUBCOMMANDS)
            .expect("a valid command line")
            .into_iter()
            .map(|word| word.into_string().expect("utf-8"))
            .collect()
    }

    #[test]
    fn legacy_forms_become_subcommands() {
        let cases: &[(&[&str], &[&str])] = &[
            (&["aesec", "-d", "f.yaml"], &["aesec", "decrypt", "f.yaml"]),
            (
                &["aesec", "-d", "-i", "f.yaml"],
                &["aesec", "decrypt", "-i", "f.yaml"],
            ),
            (
                &["aesec", "-e", "-i", "f.yaml"],
                &["aesec", "encrypt", "-i", "f.yaml"],
            ),
            (
                &["aesec", "--encrypt", "-a", "age1x", "f.yaml"],
                &["aesec", "encrypt", "--age", "age1x", "f.yaml"],
            ),
            (
                &["aesec", "-r", "-i", "f.yaml"],
                &["aesec", "rotate", "-i", "f.yaml"],
            ),
            (
                &["aesec", "--extract", "[\"a\"]", "-d", "f.yaml"],
                &["aesec", "decrypt", "--extract", "[\"a\"]", "f.yaml"],
            ),
            (
                &["aesec", "--set", "[\"a\"][0] {\"b\": 1}", "-i", "f.yaml"],
                &["aesec", "set", "f.yaml", "[\"a\"][0]", "{\"b\": 1}"],
            ),
            (
                &["aesec", "--set=[\"a\"] \"v\"", "f.yaml"],
                &["aesec", "set", "f.yaml", "[\"a\"]", "\"v\""],
            ),
            (&["aesec", "Cargo.toml"], &["aesec", "edit", "Cargo.toml"]),
            (
                &["aesec", "--config", "/dev/null", "-d", "f.yaml"],
                &["aesec", "decrypt", "--config", "/dev/null", "f.yaml"],
            ),
            (
                &["aesec", "--input-type", "json", "Cargo.toml"],
                &["aesec", "edit", "--input-type", "json", "Cargo.toml"],
            ),
        ];
        for (line, expected) in cases {
            assert_eq!(run(line), *expected, "{line:?}");
        }
    }

    #[test]
    fn subcommand_lines_are_left_alone() {
        for line in [
            &["aesec", "decrypt", "f.yaml"][..],
            &["aesec", "--config", "c", "decrypt", "-d"],
            &["aesec", "--help"],
            &["aesec"],
            &["aesec", "-v", "help"],
            &["aesec", "decrpyt", "f.yaml"],
        ] {
            let expected: Vec<String> = line.iter().map(|word| word.to_string()).collect();
            assert_eq!(run(line), expected, "{line:?}");
        }
    }

    #[test]
    fn a_set_argument_without_a_value_is_refused() {
        let args = ["aesec", "--set", "nonsense", "f.yaml"]
            .map(OsString::from)
            .to_vec();
        assert!(rewrite(args, SUBCOMMANDS).is_err());
    }

    #[test]
    fn a_second_mode_flag_is_left_for_clap_to_refuse() {
        assert_eq!(
            run(&["aesec", "-d", "-e", "f.yaml"]),
            ["aesec", "decrypt", "-e", "f.yaml"]
        );
    }
}
