//! The key command (`SOPS_AGE_KEY_CMD`): split into words like a POSIX shell and run without
//! one, as sops does; its stdout is the identity text.

use std::process::{Command, Stdio};

use zeroize::Zeroizing;

use super::DiscoveryError;

/// The longest key command stderr kept in an error.
const MAX_STDERR_CHARS: usize = 2000;

/// Runs `SOPS_AGE_KEY_CMD` without a shell, as sops does, and returns its stdout.
pub(super) fn run_key_command(command: &str) -> Result<Zeroizing<Vec<u8>>, DiscoveryError> {
    let words =
        split_command(command).map_err(|reason| DiscoveryError::KeyCommandSyntax { reason })?;
    let (program, args) = words
        .split_first()
        .ok_or(DiscoveryError::KeyCommandSyntax {
            reason: "the command is empty",
        })?;
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| DiscoveryError::KeyCommandSpawn {
            program: program.clone(),
            source,
        })?;
    let stdout = Zeroizing::new(output.stdout);
    if !output.status.success() {
        let stderr: String = String::from_utf8_lossy(&output.stderr)
            .trim()
            .chars()
            .take(MAX_STDERR_CHARS)
            .collect();
        return Err(DiscoveryError::KeyCommandFailed {
            program: program.clone(),
            status: output.status,
            stderr,
        });
    }
    Ok(stdout)
}

/// A command line that cannot be split into words.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot split command line: {reason}")]
pub struct CommandLineError {
    /// What is wrong (e.g. an unterminated quote).
    pub reason: &'static str,
}

/// Splits a command line (`SOPS_AGE_KEY_CMD`, `EDITOR`) into words like a POSIX shell, without
/// expansions.
///
/// ```
/// let words = aesec::keys::discovery::split_command_line(r#"code --wait "my file""#)?;
/// assert_eq!(words, ["code", "--wait", "my file"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn split_command_line(command: &str) -> Result<Vec<String>, CommandLineError> {
    split_command(command).map_err(|reason| CommandLineError { reason })
}

/// Splits a command line into words like a POSIX shell (without expansions): white space
/// separates words; `'…'` is literal; in `"…"` a backslash escapes `"`, `\`, `$`, `` ` `` and a
/// newline; elsewhere a backslash escapes any character.
pub(super) fn split_command(command: &str) -> Result<Vec<String>, &'static str> {
    #[derive(PartialEq)]
    enum State {
        Between,
        Word,
        Single,
        Double,
    }
    let mut words = Vec::new();
    let mut word = String::new();
    let mut state = State::Between;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match state {
            State::Between | State::Word => match c {
                c if c.is_whitespace() => {
                    if state == State::Word {
                        words.push(std::mem::take(&mut word));
                        state = State::Between;
                    }
                }
                '\'' => state = State::Single,
                '"' => state = State::Double,
                '\\' => {
                    let escaped = chars.next().ok_or("trailing backslash")?;
                    if escaped != '\n' {
                        word.push(escaped);
                    }
                    state = State::Word;
                }
                c => {
                    word.push(c);
                    state = State::Word;
                }
            },
            State::Single => match c {
                '\'' => state = State::Word,
                c => word.push(c),
            },
            State::Double => match c {
                '"' => state = State::Word,
                '\\' => {
                    let escaped = chars.next().ok_or("unterminated double quote")?;
                    match escaped {
                        '"' | '\\' | '$' | '`' => word.push(escaped),
                        '\n' => {}
                        other => {
                            word.push('\\');
                            word.push(other);
                        }
                    }
                }
                c => word.push(c),
            },
        }
    }
    match state {
        State::Single => Err("unterminated single quote"),
        State::Double => Err("unterminated double quote"),
        State::Word => {
            words.push(word);
            Ok(words)
        }
        State::Between => Ok(words),
    }
}
