//! The commands of one host's deploy, as data: [`plan`] lists them in order, and the run builds
//! each with the same functions, so `--dry-run` prints exactly what a real run executes.

use super::activate;
use super::command::{Command, remote_line};
use super::{Action, Host, Options};

/// Experimental features every `nix` call enables (flakes and the `nix` command).
const NIX_FEATURES: &str = "nix-command flakes";

/// Stands for the toplevel store path in a plan made before the build.
pub const TOPLEVEL_PLACEHOLDER: &str = "<toplevel>";

/// Stands for each file read from the closure (the manifests, then the sops files they name).
const FILE_PLACEHOLDER: &str = "<manifest or sops file>";

/// What a step of a [`Plan`] does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StepKind {
    /// Build the toplevel (locally, or on the build host).
    Build,
    /// List the toplevel's closure, to find aesec's manifests in it.
    Closure,
    /// Read a manifest or a sops file from the store, for the check.
    Read,
    /// Copy the closure to the target.
    Copy,
    /// Point the system profile at the toplevel.
    Profile,
    /// Run `switch-to-configuration` (with magic rollback for `switch` and `test`).
    Activate,
    /// Remove the canary over a new connection, so that the target keeps the new system.
    Confirm,
}

/// One step: what it is for, and the command.
#[derive(Clone, Debug, serde::Serialize)]
#[non_exhaustive]
pub struct Step {
    /// What the step does.
    pub kind: StepKind,
    /// The command it runs.
    pub command: Command,
}

/// Every command of one host's deploy, in order (serializable for `--json`).
#[derive(Clone, Debug, serde::Serialize)]
#[non_exhaustive]
pub struct Plan {
    /// The host.
    pub host: String,
    /// Where it is reached (`user@addr`).
    pub target: String,
    /// The steps. The read step stands for one command per manifest and sops file.
    pub steps: Vec<Step>,
}

/// The commands deploying `host` would run, with `toplevel` standing for the store path the
/// build prints (use [`TOPLEVEL_PLACEHOLDER`] before building) and `run_id` naming the
/// activation directory.
///
/// ```
/// use aesec::deploy::{Host, Options, StepKind, TOPLEVEL_PLACEHOLDER, plan};
///
/// let mut options = Options::default();
/// options.ssh_options = vec!["-p".into(), "2222".into()];
/// let plan = plan(&Host::new("web"), &options, TOPLEVEL_PLACEHOLDER, "1");
/// let build = &plan.steps[0];
/// assert_eq!(build.kind, StepKind::Build);
/// assert!(build.command.to_string().ends_with(".#nixosConfigurations.web.config.system.build.toplevel"));
/// let copy = plan.steps.iter().find(|step| step.kind == StepKind::Copy).unwrap();
/// assert_eq!(
///     copy.command.to_string(),
///     "NIX_SSHOPTS='-p 2222' nix --extra-experimental-features 'nix-command flakes' copy --to ssh://web '<toplevel>'"
/// );
/// ```
pub fn plan(host: &Host, options: &Options, toplevel: &str, run_id: &str) -> Plan {
    let dir = activation_dir(host, options, run_id);
    let mut steps = vec![
        Step {
            kind: StepKind::Build,
            command: build(host, options),
        },
        Step {
            kind: StepKind::Closure,
            command: closure(options, toplevel),
        },
        Step {
            kind: StepKind::Read,
            command: read(options, FILE_PLACEHOLDER),
        },
        Step {
            kind: StepKind::Copy,
            command: copy(host, options, toplevel),
        },
    ];
    if options.action.sets_profile() {
        steps.push(Step {
            kind: StepKind::Profile,
            command: profile(host, options, toplevel),
        });
    }
    steps.push(Step {
        kind: StepKind::Activate,
        command: activate(host, options, toplevel, &dir),
    });
    if options.uses_magic_rollback() {
        steps.push(Step {
            kind: StepKind::Confirm,
            command: confirm(host, options, &dir),
        });
    }
    Plan {
        host: host.name.clone(),
        target: host.target.clone(),
        steps,
    }
}

/// The flake output to build for `host`: `--flake` as given when it names an attribute
/// (`REF#ATTR`), else `REF#nixosConfigurations.HOST.config.system.build.toplevel`.
pub(crate) fn installable(host: &Host, options: &Options) -> String {
    if options.flake.contains('#') {
        options.flake.clone()
    } else {
        format!(
            "{}#nixosConfigurations.{}.config.system.build.toplevel",
            options.flake, host.name
        )
    }
}

/// `nix` with the experimental features, then the subcommand.
fn nix(options: &Options, subcommand: &[&str]) -> Command {
    Command::new(options.nix.clone())
        .args(["--extra-experimental-features", NIX_FEATURES])
        .args(subcommand.iter().copied())
}

/// `--option NAME VALUE` for every option the caller passes on to nix.
fn nix_options(mut command: Command, options: &Options) -> Command {
    for (name, value) in &options.nix_options {
        command = command.args(["--option", name.as_str(), value.as_str()]);
    }
    command
}

/// `NIX_SSHOPTS` for the nix commands that open ssh connections themselves.
fn with_ssh_options(command: Command, options: &Options) -> Command {
    if options.ssh_options.is_empty() {
        command
    } else {
        command.env("NIX_SSHOPTS", options.ssh_options.join(" "))
    }
}

/// `--store ssh-ng://BUILD` when building elsewhere.
fn build_store(command: Command, options: &Options) -> Command {
    match &options.build_host {
        Some(build_host) => with_ssh_options(
            command.args(["--store".to_owned(), format!("ssh-ng://{build_host}")]),
            options,
        ),
        None => command,
    }
}

/// Builds the toplevel and prints its path as JSON (on the build host with `--build-host`).
pub(crate) fn build(host: &Host, options: &Options) -> Command {
    let mut command = build_store(nix(options, &["build", "--no-link", "--json"]), options);
    if options.build_host.is_some() {
        command = command.args(["--eval-store", "auto"]);
    }
    nix_options(command, options).arg(installable(host, options))
}

/// Lists the toplevel's closure, one store path a line.
pub(crate) fn closure(options: &Options, toplevel: &str) -> Command {
    nix_options(
        build_store(nix(options, &["path-info", "--recursive"]), options),
        options,
    )
    .arg(toplevel)
}

/// Prints a file of the store the toplevel was built in.
pub(crate) fn read(options: &Options, path: &str) -> Command {
    nix_options(
        build_store(nix(options, &["store", "cat"]), options),
        options,
    )
    .arg(path)
}

/// Copies the closure to the target's store.
pub(crate) fn copy(host: &Host, options: &Options, toplevel: &str) -> Command {
    let mut command = nix(options, &["copy"]);
    if let Some(build_host) = &options.build_host {
        command = command.args(["--from".to_owned(), format!("ssh-ng://{build_host}")]);
    }
    let destination = match &options.target_store {
        Some(store) => format!("ssh://{}?remote-store={store}", host.target),
        None => format!("ssh://{}", host.target),
    };
    let command = nix_options(command.args(["--to".to_owned(), destination]), options);
    with_ssh_options(command.arg(toplevel), options)
}

/// `ssh [options] -- TARGET [sudo] WORDS…`.
fn ssh(host: &Host, options: &Options, words: &[String]) -> Command {
    let mut remote = Vec::new();
    if options.sudo {
        remote.push("sudo".to_owned());
    }
    remote.extend(words.iter().cloned());
    Command::new(options.ssh.clone())
        .args(options.ssh_options.iter().cloned())
        .args(["--", host.target.as_str()])
        .arg(remote_line(&remote))
}

/// `nix-env` on the target, with `--store` when the target's store is not the default one.
fn nix_env(options: &Options, args: &[&str]) -> Vec<String> {
    let mut words = vec!["nix-env".to_owned()];
    if let Some(store) = &options.target_store {
        words.extend(["--store".to_owned(), store.clone()]);
    }
    words.extend(args.iter().map(|arg| (*arg).to_owned()));
    words
}

/// Points the profile at the toplevel (a new generation).
pub(crate) fn profile(host: &Host, options: &Options, toplevel: &str) -> Command {
    ssh(
        host,
        options,
        &nix_env(options, &["-p", &options.profile, "--set", toplevel]),
    )
}

/// Runs `switch-to-configuration` on the target: through the magic rollback script for
/// `switch` and `test`, directly otherwise.
pub(crate) fn activate(host: &Host, options: &Options, toplevel: &str, dir: &str) -> Command {
    let action = options.action.as_str();
    if !options.uses_magic_rollback() {
        let switch = format!("{toplevel}/bin/switch-to-configuration");
        return ssh(host, options, &[switch, action.to_owned()]);
    }
    let set_profile = if options.action.sets_profile() {
        "1"
    } else {
        "0"
    };
    let words = [
        "sh",
        "-c",
        activate::SCRIPT,
        activate::SCRIPT_NAME,
        toplevel,
        action,
        &options.profile,
        dir,
        &options.confirm_timeout.as_secs().max(1).to_string(),
        set_profile,
        options.target_store.as_deref().unwrap_or_default(),
    ];
    ssh(host, options, &words.map(str::to_owned))
}

/// Removes the canary: the target keeps the new system.
pub(crate) fn confirm(host: &Host, options: &Options, dir: &str) -> Command {
    ssh(host, options, &["rm".to_owned(), activate::canary(dir)])
}

/// The target's activation directory of this run.
pub(crate) fn activation_dir(host: &Host, options: &Options, run_id: &str) -> String {
    format!(
        "{}/aesec-deploy-{}-{run_id}",
        options.temp_dir.trim_end_matches('/'),
        host.name
    )
}

impl Action {
    /// The word `switch-to-configuration` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Switch => "switch",
            Self::Boot => "boot",
            Self::Test => "test",
            Self::DryActivate => "dry-activate",
        }
    }

    /// Whether the action makes a new generation of the profile (`switch`, `boot`).
    pub fn sets_profile(self) -> bool {
        matches!(self, Self::Switch | Self::Boot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flag_reaches_its_command() {
        let mut host = Host::new("web");
        host.target = "deploy@10.0.0.5".into();
        let options = Options {
            sudo: true,
            build_host: Some("builder".into()),
            target_store: Some("/srv/store".into()),
            profile: "/tmp/profiles/system".into(),
            nix_options: vec![("sandbox".into(), "false".into())],
            ssh_options: vec!["-p".into(), "2222".into()],
            ..Options::default()
        };
        let plan = plan(&host, &options, "/nix/store/abc-toplevel", "7");
        let lines: Vec<String> = plan.steps.iter().map(|s| s.command.to_string()).collect();
        let features = "--extra-experimental-features 'nix-command flakes'";
        assert_eq!(
            lines,
            [
                format!(
                    "NIX_SSHOPTS='-p 2222' nix {features} build --no-link --json --store ssh-ng://builder --eval-store auto --option sandbox false .#nixosConfigurations.web.config.system.build.toplevel"
                ),
                format!(
                    "NIX_SSHOPTS='-p 2222' nix {features} path-info --recursive --store ssh-ng://builder --option sandbox false /nix/store/abc-toplevel"
                ),
                format!(
                    "NIX_SSHOPTS='-p 2222' nix {features} store cat --store ssh-ng://builder --option sandbox false '<manifest or sops file>'"
                ),
                format!(
                    "NIX_SSHOPTS='-p 2222' nix {features} copy --from ssh-ng://builder --to 'ssh://deploy@10.0.0.5?remote-store=/srv/store' --option sandbox false /nix/store/abc-toplevel"
                ),
                "ssh -p 2222 -- deploy@10.0.0.5 'sudo nix-env --store /srv/store -p /tmp/profiles/system --set /nix/store/abc-toplevel'".to_owned(),
                lines[5].clone(),
                "ssh -p 2222 -- deploy@10.0.0.5 'sudo rm /tmp/aesec-deploy-web-7/canary'".to_owned(),
            ]
        );
        let activate = &plan.steps[5].command;
        let remote = activate.args.last().unwrap();
        assert!(remote.starts_with("sudo sh -c 'set -u"), "{remote}");
        assert!(
            remote.ends_with(
                "aesec-deploy /nix/store/abc-toplevel switch /tmp/profiles/system /tmp/aesec-deploy-web-7 30 1 /srv/store"
            ),
            "{remote}"
        );
    }

    #[test]
    fn boot_sets_the_profile_without_rollback() {
        let options = Options {
            action: Action::Boot,
            flake: "path:/fleet#custom".into(),
            ..Options::default()
        };
        let plan = plan(&Host::new("web"), &options, "/nix/store/t", "1");
        let kinds: Vec<StepKind> = plan.steps.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                StepKind::Build,
                StepKind::Closure,
                StepKind::Read,
                StepKind::Copy,
                StepKind::Profile,
                StepKind::Activate
            ]
        );
        assert!(
            plan.steps[0]
                .command
                .to_string()
                .ends_with(" path:/fleet#custom")
        );
        assert_eq!(
            plan.steps[5].command.to_string(),
            "ssh -- web '/nix/store/t/bin/switch-to-configuration boot'"
        );
    }

    #[test]
    fn test_and_dry_activate_leave_the_profile_alone() {
        for (action, confirm) in [(Action::Test, true), (Action::DryActivate, false)] {
            let options = Options {
                action,
                ..Options::default()
            };
            let plan = plan(&Host::new("web"), &options, "/nix/store/t", "1");
            assert!(plan.steps.iter().all(|s| s.kind != StepKind::Profile));
            assert_eq!(
                plan.steps.iter().any(|s| s.kind == StepKind::Confirm),
                confirm
            );
        }
    }
}
