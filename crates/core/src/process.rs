//! Running an external program, the one way the core does it (the key command, `ssh-keyscan`,
//! `systemctl` during an install): no shell, standard input closed, standard output collected
//! into a buffer that is wiped when dropped (it may be a private key), standard error kept
//! (shortened) for the error, and an optional time limit after which the program is killed.
//!
//! Both pipes are drained on threads of their own while the program runs, so a program that
//! writes much to one of them never blocks on a full pipe.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

/// The longest standard error kept in an error, in characters.
const MAX_STDERR_CHARS: usize = 2000;

/// How often a program with a time limit is polled for its exit.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// How to run a program.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RunOptions {
    /// Kill the program when it has not exited after this long (`None`: wait for it).
    pub timeout: Option<Duration>,
    /// Variables set for the program, on top of the inherited environment.
    pub env: Vec<(OsString, OsString)>,
}

impl RunOptions {
    /// Options with a time limit.
    pub fn with_timeout(timeout: Duration) -> Self {
        Self {
            timeout: Some(timeout),
            env: Vec::new(),
        }
    }
}

/// What a program that exited successfully printed.
#[derive(Debug)]
#[non_exhaustive]
pub struct Finished {
    /// Its standard output, wiped when dropped.
    pub stdout: Zeroizing<Vec<u8>>,
    /// Its standard error (lossily decoded, trimmed, shortened).
    pub stderr: String,
}

/// Why a program did not run to a successful exit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessError {
    /// The program could not be started (not found, not executable).
    #[error("cannot run '{}'", program.display())]
    Spawn {
        /// The program.
        program: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The program ran past its time limit and was killed.
    #[error("'{}' did not finish within {} ms and was killed", program.display(), timeout.as_millis())]
    TimedOut {
        /// The program.
        program: PathBuf,
        /// The limit.
        timeout: Duration,
    },
    /// The program exited unsuccessfully (or was killed by a signal).
    #[error("'{}' failed ({status}){}", program.display(), if stderr.is_empty() { String::new() } else { format!(": {stderr}") })]
    Failed {
        /// The program.
        program: PathBuf,
        /// How it exited.
        status: ExitStatus,
        /// Its standard error (trimmed, shortened).
        stderr: String,
    },
}

/// Runs `program` with `args` and waits for it, as [`RunOptions`] says.
///
/// ```
/// use aesec::process::{RunOptions, run};
///
/// let finished = run("echo", ["hello"], &RunOptions::default())?;
/// assert_eq!(finished.stdout.as_slice(), b"hello\n");
/// assert!(run("false", [] as [&str; 0], &RunOptions::default()).is_err());
/// # Ok::<(), aesec::process::ProcessError>(())
/// ```
///
/// # Errors
///
/// [`ProcessError::Spawn`], [`ProcessError::TimedOut`] or [`ProcessError::Failed`].
pub fn run<I, S>(
    program: impl AsRef<OsStr>,
    args: I,
    options: &RunOptions,
) -> Result<Finished, ProcessError>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let program = PathBuf::from(program.as_ref());
    let mut command = Command::new(&program);
    command
        .args(args)
        .envs(options.env.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if options.timeout.is_some() {
        // A group of its own, so that a kill at the deadline reaches what it started too (a
        // shell's children hold the pipes open). Only then: outside the terminal's foreground
        // group a program cannot prompt on the terminal, and a key command may have to.
        command.process_group(0);
    }
    let mut child = command.spawn().map_err(|source| ProcessError::Spawn {
        program: program.clone(),
        source,
    })?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait(&mut child, options.timeout);
    let stdout = Zeroizing::new(stdout.join().unwrap_or_default());
    let stderr = shortened(&stderr.join().unwrap_or_default());
    match status {
        Some(status) if status.success() => Ok(Finished { stdout, stderr }),
        Some(status) => Err(ProcessError::Failed {
            program,
            status,
            stderr,
        }),
        None => Err(ProcessError::TimedOut {
            program,
            timeout: options.timeout.unwrap_or_default(),
        }),
    }
}

/// Reads a pipe to its end on a thread of its own.
fn drain(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            // A read error ends the output there: what came before is kept.
            let _partial = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

/// Waits for the child; `None` when it outlived `timeout` and was killed.
fn wait(child: &mut Child, timeout: Option<Duration>) -> Option<ExitStatus> {
    let Some(timeout) = timeout else {
        return child.wait().ok();
    };
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(POLL_INTERVAL),
            _ => {
                // Killing a group that has just exited fails harmlessly; reap the child either
                // way.
                let group = rustix::process::Pid::from_child(child);
                let _already_exited =
                    rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
                let _reaped = child.wait();
                return None;
            }
        }
    }
}

/// Standard error as kept in errors: decoded, trimmed, at most [`MAX_STDERR_CHARS`].
fn shortened(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .trim()
        .chars()
        .take(MAX_STDERR_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_and_failures() {
        let finished = run(
            "sh",
            ["-c", "printf out; printf err >&2"],
            &RunOptions::default(),
        )
        .expect("runs");
        assert_eq!(finished.stdout.as_slice(), b"out");
        assert_eq!(finished.stderr, "err");
        match run("sh", ["-c", "echo why >&2; exit 3"], &RunOptions::default()) {
            Err(ProcessError::Failed { status, stderr, .. }) => {
                assert_eq!(status.code(), Some(3));
                assert_eq!(stderr, "why");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            run(
                "/nonexistent/aesec-program",
                [""; 0],
                &RunOptions::default()
            ),
            Err(ProcessError::Spawn { .. })
        ));
    }

    #[test]
    fn a_program_past_its_time_limit_is_killed_with_what_it_started() {
        // In the second, the shell's `sleep` holds the pipes: killing only the shell would
        // leave the reader threads waiting for it.
        for args in [&["30"][..], &["-c", "sleep 30; echo never"][..]] {
            let program = if args.len() == 1 { "sleep" } else { "sh" };
            let started = Instant::now();
            let result = run(
                program,
                args,
                &RunOptions::with_timeout(Duration::from_millis(100)),
            );
            assert!(
                matches!(result, Err(ProcessError::TimedOut { .. })),
                "{result:?}"
            );
            assert!(started.elapsed() < Duration::from_secs(10));
        }
    }

    #[test]
    fn a_full_pipe_does_not_block() {
        // 1 MiB on each pipe: far past the 64 KiB a pipe holds.
        let script = "head -c 1048576 /dev/zero; head -c 1048576 /dev/zero >&2";
        let finished = run(
            "sh",
            ["-c", script],
            &RunOptions::with_timeout(Duration::from_secs(20)),
        )
        .expect("runs");
        assert_eq!(finished.stdout.len(), 1 << 20);
    }
}
