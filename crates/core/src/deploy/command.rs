//! A command as data: the program, its arguments and the variables it gets, runnable through
//! [`process::run`](crate::process::run) and printable as a line a POSIX shell would run the
//! same way (what `aesec deploy --dry-run` shows).
//!
//! Commands for the target go through `ssh`, which joins its remote words with spaces and hands
//! the line to the remote user's shell; [`remote_line`] quotes each word so that the remote
//! shell splits the line back into exactly those words.

use std::fmt;
use std::time::Duration;

use crate::process::{Finished, ProcessError, RunOptions, run};

/// One program to run, with its arguments and extra environment.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Command {
    /// The program (looked up in `PATH` when it has no `/`).
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Variables set for it, on top of the inherited environment.
    pub env: Vec<(String, String)>,
}

impl Command {
    /// A command without arguments or extra variables.
    pub(crate) fn new(program: impl Into<String>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    /// Appends one argument.
    pub(crate) fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Appends arguments.
    pub(crate) fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets a variable for the program.
    pub(crate) fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Runs it (no shell), killing it after `timeout` when one is given.
    pub(crate) fn run(&self, timeout: Option<Duration>) -> Result<Finished, ProcessError> {
        let options = RunOptions {
            timeout,
            env: self
                .env
                .iter()
                .map(|(name, value)| (name.into(), value.into()))
                .collect(),
        };
        run(&self.program, &self.args, &options)
    }
}

/// The command as a shell line: `NAME=value program arg…`, each word quoted when it needs it.
impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let assignments = self
            .env
            .iter()
            .map(|(name, value)| format!("{name}={}", quote(value)));
        let words = std::iter::once(quote(&self.program)).chain(self.args.iter().map(|a| quote(a)));
        let line: Vec<String> = assignments.chain(words).collect();
        f.write_str(&line.join(" "))
    }
}

/// The line `ssh` sends for `words`: each word quoted for the remote POSIX shell.
pub(crate) fn remote_line<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|word| quote(word.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A word as a POSIX shell reads it back: unchanged when it holds only characters no shell
/// treats specially (`#` too, except first, where it starts a comment), else in single quotes
/// (a `'` inside becomes `'\''`).
fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && !word.starts_with('#')
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,#".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_a_real_shell() {
        let words = [
            "plain",
            "",
            "two words",
            "it's",
            "$HOME",
            "a\nb",
            "*",
            "--x=y",
            "#c",
            ".#a",
        ];
        let line = remote_line(&words);
        let script = format!("for w in {line}; do printf '[%s]' \"$w\"; done");
        let finished = run("sh", ["-c", script.as_str()], &RunOptions::default()).expect("sh");
        assert_eq!(
            String::from_utf8_lossy(&finished.stdout),
            "[plain][][two words][it's][$HOME][a\nb][*][--x=y][#c][.#a]"
        );
    }

    #[test]
    fn display_puts_variables_first() {
        let command = Command::new("nix")
            .args(["copy", "--to"])
            .arg("ssh://web")
            .env("NIX_SSHOPTS", "-p 2222");
        assert_eq!(
            command.to_string(),
            "NIX_SSHOPTS='-p 2222' nix copy --to ssh://web"
        );
    }
}
