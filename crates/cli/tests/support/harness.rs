//! Support for the `aesec` CLI tests: a sandbox with its own HOME and a cleared environment,
//! a fresh age key, and runs whose failures print the whole context.
//!
//! Every run starts from `env_clear()` with only `PATH`, `HOME`, `XDG_RUNTIME_DIR` (inside the
//! sandbox) and the variables a test sets, so the developer's keys and editor never leak in.
//! Every run also checks that stderr holds no panic message.

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// A temporary HOME, a working directory and the environment for `aesec` runs.
pub(crate) struct Sandbox {
    _dir: tempfile::TempDir,
    /// The temporary HOME.
    pub(crate) home: PathBuf,
    /// The working directory of every run, where test files go.
    pub(crate) work: PathBuf,
    /// `XDG_RUNTIME_DIR` of every run (where `edit` puts its private directory).
    pub(crate) runtime: PathBuf,
    /// The recipient of the sandbox key (`SOPS_AGE_KEY_FILE`), if one was made.
    pub(crate) recipient: String,
    envs: Vec<(String, String)>,
}

impl Sandbox {
    /// A sandbox with a fresh age key in `SOPS_AGE_KEY_FILE`.
    pub(crate) fn new() -> Self {
        let mut sandbox = Self::bare();
        let key = sandbox.home.join("key.txt");
        sandbox
            .run(&[
                "keys",
                "generate",
                "-o",
                key.to_str().expect("utf-8 temp path"),
            ])
            .ok();
        let text = std::fs::read_to_string(&key).expect("generated key file");
        sandbox.recipient = text
            .lines()
            .find_map(|line| line.strip_prefix("# public key: "))
            .expect("identity file names its public key")
            .to_owned();
        sandbox.env("SOPS_AGE_KEY_FILE", key.to_str().expect("utf-8 temp path"));
        sandbox
    }

    /// A sandbox without any key.
    pub(crate) fn bare() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("aesec-cli-test-")
            .tempdir()
            .expect("temp dir");
        let home = dir.path().join("home");
        let work = dir.path().join("work");
        let runtime = dir.path().join("runtime");
        for path in [&home, &work, &runtime] {
            std::fs::create_dir(path).expect("sandbox dir");
        }
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700))
            .expect("runtime dir mode");
        Self {
            _dir: dir,
            home,
            work,
            runtime,
            recipient: String::new(),
            envs: Vec::new(),
        }
    }

    /// Sets an environment variable for every later run.
    pub(crate) fn env(&mut self, name: &str, value: &str) {
        self.envs.retain(|(existing, _)| existing != name);
        self.envs.push((name.to_owned(), value.to_owned()));
    }

    /// Removes an environment variable set with [`Sandbox::env`].
    pub(crate) fn unset_env(&mut self, name: &str) {
        self.envs.retain(|(existing, _)| existing != name);
    }

    /// The `aesec` command with the sandbox environment, run in [`Sandbox::work`].
    pub(crate) fn command(&self) -> Command {
        Command::from_std(self.std_command())
    }

    /// [`Sandbox::command`] as a `std` command, for a test that spawns it and signals it.
    pub(crate) fn std_command(&self) -> std::process::Command {
        let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("aesec"));
        command
            .env_clear()
            .env("PATH", path_var())
            .env("HOME", &self.home)
            .env("XDG_RUNTIME_DIR", &self.runtime)
            .current_dir(&self.work);
        for (name, value) in &self.envs {
            command.env(name, value);
        }
        command
    }

    /// Runs `aesec ARGS` with empty stdin.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        self.run_stdin(args, b"")
    }

    /// Runs `aesec ARGS` with `stdin`.
    pub(crate) fn run_stdin(&self, args: &[&str], stdin: &[u8]) -> Run {
        let mut command = self.command();
        command.args(args).write_stdin(stdin.to_vec());
        Run::of(&mut command, format!("aesec {}", args.join(" ")))
    }

    /// Writes a file in the working directory and returns its path.
    pub(crate) fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.work.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("parent dir");
        }
        std::fs::write(&path, content).expect("write test file");
        path
    }

    /// Writes an executable shell script (an editor, a key command) and returns its path.
    pub(crate) fn script(&self, name: &str, body: &str) -> PathBuf {
        let path = self.home.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("script mode");
        path
    }

    /// The bytes of a file in the working directory.
    pub(crate) fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.work.join(name)).expect("read test file")
    }

    /// The text of a file in the working directory.
    pub(crate) fn read_text(&self, name: &str) -> String {
        String::from_utf8(self.read(name)).expect("utf-8 test file")
    }

    /// The permission bits of a file in the working directory.
    pub(crate) fn mode(&self, name: &str) -> u32 {
        std::fs::metadata(self.work.join(name))
            .expect("file metadata")
            .permissions()
            .mode()
            & 0o7777
    }

    /// Encrypts `plaintext` as `name` for the sandbox key and returns the encrypted text.
    pub(crate) fn encrypted(&self, name: &str, plaintext: &str) -> String {
        let plain = format!("plain-{name}");
        self.write(&plain, plaintext);
        self.run(&[
            "encrypt",
            "--age",
            &self.recipient,
            "--output",
            name,
            &plain,
        ])
        .ok();
        self.read_text(name)
    }

    /// Runs `aesec ARGS` on a pseudo-terminal made by util-linux `script` (if present), typing
    /// `typed` into it: for passphrase prompts. Output is the terminal's (stdout and stderr).
    pub(crate) fn run_in_terminal(&self, args: &[&str], typed: &[u8]) -> Option<Run> {
        let script = peer("script")?;
        let binary = assert_cmd::cargo::cargo_bin("aesec");
        let line = std::iter::once(binary.display().to_string())
            .chain(args.iter().map(|arg| format!("'{arg}'")))
            .collect::<Vec<_>>()
            .join(" ");
        let mut command = Command::new(script);
        command
            .env_clear()
            .env("PATH", path_var())
            .env("HOME", &self.home)
            .env("SHELL", "/bin/sh")
            .current_dir(&self.work)
            .args(["-qec", &line, "/dev/null"])
            .write_stdin(typed.to_vec());
        for (name, value) in &self.envs {
            command.env(name, value);
        }
        Some(Run::of(&mut command, format!("script -qec {line:?}")))
    }

    /// Runs the real sops (if present) with the sandbox environment.
    pub(crate) fn sops(&self, args: &[&str]) -> Option<Run> {
        let program = peer("sops")?;
        let mut command = Command::new(&program);
        command
            .env_clear()
            .env("PATH", path_var())
            .env("HOME", &self.home)
            .current_dir(&self.work)
            .args(args);
        for (name, value) in &self.envs {
            command.env(name, value);
        }
        Some(Run::of(&mut command, format!("sops {}", args.join(" "))))
    }
}

/// The outcome of a run, with everything needed to explain a failed assertion.
pub(crate) struct Run {
    /// The exit code.
    pub(crate) code: i32,
    /// Standard output as bytes.
    pub(crate) stdout_bytes: Vec<u8>,
    /// Standard output, lossily decoded.
    pub(crate) stdout: String,
    /// Standard error, lossily decoded.
    pub(crate) stderr: String,
    command: String,
}

impl Run {
    fn of(command: &mut Command, shown: String) -> Self {
        let output = command.output().expect("the program starts");
        let run = Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stdout_bytes: output.stdout,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            command: shown,
        };
        assert!(
            !run.stderr.contains("panicked"),
            "the program panicked\n{run}"
        );
        run
    }

    /// Asserts exit code 0.
    #[track_caller]
    pub(crate) fn ok(self) -> Self {
        self.code(0)
    }

    /// Asserts the exit code.
    #[track_caller]
    pub(crate) fn code(self, expected: i32) -> Self {
        assert_eq!(self.code, expected, "unexpected exit code\n{self}");
        self
    }

    /// Asserts that stderr contains `text`.
    #[track_caller]
    pub(crate) fn stderr_has(self, text: &str) -> Self {
        assert!(self.stderr.contains(text), "stderr lacks {text:?}\n{self}");
        self
    }

    /// Asserts that stdout contains `text`.
    #[track_caller]
    pub(crate) fn stdout_has(self, text: &str) -> Self {
        assert!(self.stdout.contains(text), "stdout lacks {text:?}\n{self}");
        self
    }

    /// Asserts that stderr has a `hint:` line.
    #[track_caller]
    pub(crate) fn hinted(self) -> Self {
        assert!(
            self.stderr.contains("\n\nhint: "),
            "stderr has no hint\n{self}"
        );
        self
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "command: {}\nexit code: {}\n--- stdout\n{}\n--- stderr\n{}",
            self.command, self.code, self.stdout, self.stderr
        )
    }
}

/// The `PATH` of every run: the project venv (sops) first, then the test process's `PATH`
/// (the peer harness' [`aesec_tests::child_path`]).
fn path_var() -> std::ffi::OsString {
    aesec_tests::child_path()
}

/// The workspace root (two levels above this package).
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// A file of `crates/core/tests/vectors`.
pub(crate) fn vector(path: &str) -> PathBuf {
    workspace_root()
        .join("crates/core/tests/vectors")
        .join(path)
}

/// A peer program, found by the peer harness' one version-checked lookup
/// ([`aesec_tests::Peer::require`]: `$SOPS` only when set, sops 3.11.0, age 1.1.x); `script`
/// (util-linux, not a peer whose version matters) is looked up in `PATH` with the same
/// missing-peer rule. Missing: a panic under `AESEC_REQUIRE_PEERS=1`, else a `skipping:` note
/// and `None`.
pub(crate) fn peer(program: &str) -> Option<PathBuf> {
    if let Some(peer) = aesec_tests::Peer::ALL
        .into_iter()
        .find(|peer| peer.program() == program)
    {
        return peer.require();
    }
    let found = std::env::split_paths(&path_var())
        .map(|dir| dir.join(program))
        .find(|candidate| std::fs::metadata(candidate).is_ok_and(|meta| meta.is_file()));
    if found.is_none() {
        assert!(
            !aesec_tests::peers_required(),
            "{program} missing from PATH and {}=1",
            aesec_tests::REQUIRE_PEERS_VAR
        );
        eprintln!("skipping: {program} missing from PATH");
    }
    found
}
