//! The key command (`SOPS_AGE_KEY_CMD`): split into words like a POSIX shell and run without
//! one, as sops does; its stdout is the identity text.

use zeroize::Zeroizing;

use super::DiscoveryError;
use crate::process::{RunOptions, run};

/// Runs `SOPS_AGE_KEY_CMD` without a shell, as sops does, and returns its stdout. No time
/// limit, as in sops: the command may wait for a hardware key to be touched.
pub(super) fn run_key_command(command: &str) -> Result<Zeroizing<Vec<u8>>, DiscoveryError> {
    let words =
        split_command(command).map_err(|reason| DiscoveryError::KeyCommandSyntax { reason })?;
    let (program, args) = words
        .split_first()
        .ok_or(DiscoveryError::KeyCommandSyntax {
            reason: "the command is empty",
        })?;
    run(program, args, &RunOptions::default())
        .map(|finished| finished.stdout)
        .map_err(|source| DiscoveryError::KeyCommand { source })
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
