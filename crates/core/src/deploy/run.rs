//! Running the plan: one host's steps in order ([`deploy_host`]), and several hosts on a pool
//! of threads ([`deploy`]) with one [`HostReport`] each.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::error::DeployError;
use super::{Host, Options, activate, check, plan};
use crate::process::ProcessError;
use crate::progress::Observer;

/// The exit code of `ssh` when the connection failed or broke.
const SSH_CONNECTION_FAILED: i32 = 255;

/// How a host's deploy ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Status {
    /// Built, checked, copied, switched and confirmed.
    Deployed,
    /// Refused by the check before anything was copied.
    Refused,
    /// A step before the switch failed; the target runs what it ran before.
    Failed,
    /// The switch failed and the target rolled back to the previous generation.
    RolledBack,
    /// The switch was not confirmed (connection lost, confirmation failed): the target rolls
    /// back by itself within the confirmation timeout.
    Unconfirmed,
}

/// What happened to one host (serializable for `--json`).
#[derive(Debug, serde::Serialize)]
#[non_exhaustive]
pub struct HostReport {
    /// The host.
    pub host: String,
    /// Where it was reached.
    pub target: String,
    /// How it ended.
    pub status: Status,
    /// The toplevel built for it, once known.
    pub toplevel: Option<String>,
    /// How many sops files its configuration names (each checked).
    pub files_checked: usize,
    /// How long it took, in seconds.
    pub seconds: f64,
    /// Why it did not end [`Status::Deployed`].
    #[serde(serialize_with = "error_chain")]
    pub error: Option<DeployError>,
}

/// Every host's report, in the order the hosts were given.
#[derive(Debug, Default, serde::Serialize)]
#[non_exhaustive]
pub struct Report {
    /// One per host.
    pub hosts: Vec<HostReport>,
}

impl Report {
    /// Whether every host was deployed.
    pub fn is_success(&self) -> bool {
        self.hosts
            .iter()
            .all(|host| host.status == Status::Deployed)
    }
}

/// Deploys every host, `options.jobs` at a time, reporting each finished host to `observer`.
///
/// ```no_run
/// use aesec::deploy::{Host, Options, deploy};
/// use aesec::progress::NoProgress;
///
/// let mut options = Options::default();
/// options.flake = "/etc/fleet".into();
/// options.jobs = 2;
/// let hosts = ["oracle", "niobe", "trinity"].map(Host::new);
/// let report = deploy(&hosts, &options, &NoProgress);
/// for host in &report.hosts {
///     println!("{} {:?}", host.host, host.status);
/// }
/// ```
pub fn deploy(hosts: &[Host], options: &Options, observer: &dyn Observer) -> Report {
    observer.start(hosts.len() as u64, "deploying");
    let next = AtomicUsize::new(0);
    let workers = options.jobs.clamp(1, hosts.len().max(1));
    let mut done: Vec<(usize, HostReport)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(host) = hosts.get(index) else {
                            return mine;
                        };
                        mine.push((index, deploy_host(host, options)));
                        observer.advance(1);
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    observer.finish();
    done.sort_by_key(|(index, _)| *index);
    Report {
        hosts: done.into_iter().map(|(_, report)| report).collect(),
    }
}

/// Deploys one host: build, check, copy, profile, activate, confirm. A failure ends the run of
/// the host and is the report's [`Status`] and [`HostReport::error`].
pub fn deploy_host(host: &Host, options: &Options) -> HostReport {
    let started = Instant::now();
    let mut report = HostReport {
        host: host.name.clone(),
        target: host.target.clone(),
        status: Status::Deployed,
        toplevel: None,
        files_checked: 0,
        seconds: 0.0,
        error: None,
    };
    if let Err(error) = steps(host, options, &mut report) {
        report.status = status_of(&error);
        report.error = Some(error);
    }
    report.seconds = started.elapsed().as_secs_f64();
    report
}

/// The status a failed deploy ends in.
fn status_of(error: &DeployError) -> Status {
    match error {
        DeployError::NoRecipient { .. } | DeployError::CannotDecrypt { .. } => Status::Refused,
        DeployError::Activate {
            rolled_back: true, ..
        } => Status::RolledBack,
        DeployError::ConnectionLost { .. } | DeployError::Confirm { .. } => Status::Unconfirmed,
        _ => Status::Failed,
    }
}

fn steps(host: &Host, options: &Options, report: &mut HostReport) -> Result<(), DeployError> {
    let toplevel = build(host, options)?;
    report.toplevel = Some(toplevel.clone());
    report.files_checked = check::check(host, options, &toplevel)?;
    plan::copy(host, options, &toplevel)
        .run(None)
        .map_err(|source| DeployError::Copy {
            target: host.target.clone(),
            source,
        })?;
    if options.action.sets_profile() {
        plan::profile(host, options, &toplevel)
            .run(None)
            .map_err(|source| DeployError::Profile {
                target: host.target.clone(),
                profile: options.profile.clone(),
                source,
            })?;
    }
    let dir = plan::activation_dir(host, options, &run_id());
    plan::activate(host, options, &toplevel, &dir)
        .run(None)
        .map_err(|source| activation_failure(host, options, source))?;
    if options.uses_magic_rollback() {
        plan::confirm(host, options, &dir)
            .run(Some(options.confirm_timeout.max(Duration::from_secs(1))))
            .map_err(|source| DeployError::Confirm {
                target: host.target.clone(),
                source,
            })?;
    }
    Ok(())
}

/// Builds the toplevel and returns its store path.
fn build(host: &Host, options: &Options) -> Result<String, DeployError> {
    let installable = plan::installable(host, options);
    let finished = plan::build(host, options)
        .run(None)
        .map_err(|source| DeployError::Build {
            installable: installable.clone(),
            source,
        })?;
    let printed = String::from_utf8_lossy(&finished.stdout).trim().to_owned();
    let parsed: serde_json::Value = serde_json::from_str(&printed).unwrap_or_default();
    parsed
        .pointer("/0/outputs/out")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .ok_or(DeployError::BuildOutput { output: printed })
}

/// What a failed activation means: with magic rollback a broken connection leaves the target
/// to decide, and a failed switch was rolled back when the script's last line says so.
fn activation_failure(host: &Host, options: &Options, source: ProcessError) -> DeployError {
    let target = host.target.clone();
    match &source {
        ProcessError::Failed { status, .. }
            if options.uses_magic_rollback() && status.code() == Some(SSH_CONNECTION_FAILED) =>
        {
            DeployError::ConnectionLost {
                target,
                timeout_seconds: options.confirm_timeout.as_secs(),
                source,
            }
        }
        _ => DeployError::Activate {
            target,
            action: options.action.as_str(),
            rolled_back: matches!(&source, ProcessError::Failed { stderr, .. }
                if stderr.ends_with(&activate::outcome_line(activate::ROLLED_BACK))),
            source,
        },
    }
}

/// A fresh name part for this run's activation directory.
fn run_id() -> String {
    let mut bytes = [0u8; 8];
    // Without randomness the time keeps runs apart; `mkdir` refuses a clash either way.
    if getrandom::getrandom(&mut bytes).is_err() {
        bytes = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
            .to_le_bytes()[..8]
            .try_into()
            .unwrap_or_default();
    }
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Serializes an error as its message chain (`what: why: why`).
fn error_chain<S: serde::Serializer>(
    error: &Option<DeployError>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match error {
        None => serializer.serialize_none(),
        Some(error) => {
            let mut text = error.to_string();
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            serializer.serialize_str(&text)
        }
    }
}
