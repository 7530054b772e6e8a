//! Deploying NixOS hosts from a flake, with the secrets checked before and installed by the
//! activation itself.
//!
//! For each host, [`deploy()`] runs the commands [`plan()`] lists (all through
//! [`process`](crate::process): no shell on the deployer's side, output captured):
//!
//! 1. **build** the toplevel: `nix build --no-link --json
//!    FLAKE#nixosConfigurations.HOST.config.system.build.toplevel` (on the build host with
//!    [`Options::build_host`]: `--store ssh-ng://BUILD --eval-store auto`);
//! 2. **check** that the host can decrypt every sops file its configuration names, before
//!    anything leaves the deployer: the aesec manifests in the closure list the files, and each
//!    file's metadata must hold the host's recipient (from `.sops.yaml`'s member of the host's
//!    name) in enough key groups. No key is needed, nothing is decrypted. A host that cannot is
//!    refused ([`Status::Refused`]): the classic "forgot updatekeys" outage never reaches it;
//! 3. **copy** the closure: `nix copy --to ssh://TARGET` (`NIX_SSHOPTS` carries the ssh
//!    options; [`Options::target_store`] adds `?remote-store=`);
//! 4. **profile** (`switch`, `boot`): `ssh TARGET nix-env -p PROFILE --set TOPLEVEL`;
//! 5. **activate**: `TOPLEVEL/bin/switch-to-configuration ACTION` on the target. The secrets are
//!    installed by this activation (the NixOS module's `aesec install`): the deployer never
//!    decrypts anything and never sends a plaintext;
//! 6. **confirm** (magic rollback, `switch` and `test`): remove the canary over a new
//!    connection.
//!
//! # Magic rollback
//!
//! As deploy-rs does it: the target runs the switch detached from the ssh connection, then waits
//! [`Options::confirm_timeout`] for the deployer to remove a canary file over a **new**
//! connection, which proves the new system still lets the deployer in. Without that, or when
//! the switch itself fails, the target rolls back by itself: `nix-env -p PROFILE --rollback`
//! and the deletion of the failed generation (for `switch`), then the previous generation's
//! `switch-to-configuration`, whose activation installs the previous secrets from its own
//! manifest. The script and its guarantees are described in
//! `crates/core/src/deploy/activate.rs`. `boot` and `dry-activate` have nothing to confirm and
//! run directly.
//!
//! # Example
//!
//! What `aesec deploy --dry-run web` prints:
//!
//! ```
//! use aesec::deploy::{Host, Options, TOPLEVEL_PLACEHOLDER, plan};
//!
//! let mut options = Options::default();
//! options.flake = "/etc/fleet".into();
//! options.sudo = true;
//! let mut host = Host::new("web");
//! host.target = "deploy@10.0.0.5".into();
//! for step in plan(&host, &options, TOPLEVEL_PLACEHOLDER, "1").steps {
//!     println!("{:?}: {}", step.kind, step.command);
//! }
//! ```

mod activate;
mod check;
mod command;
mod error;
mod plan;
mod run;

use std::time::Duration;

pub use command::Command;
pub use error::{Denied, DeployError};
pub use plan::{Plan, Step, StepKind, TOPLEVEL_PLACEHOLDER, plan};
pub use run::{HostReport, Report, Status, deploy, deploy_host};

/// What `switch-to-configuration` does with the new system.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Action {
    /// Make it the boot default and activate it now.
    #[default]
    Switch,
    /// Make it the boot default only.
    Boot,
    /// Activate it now, without making it the boot default.
    Test,
    /// Show what activating it would do.
    DryActivate,
}

/// One host to deploy.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Host {
    /// Its name: the `nixosConfigurations` attribute and the `.sops.yaml` member.
    pub name: String,
    /// Where ssh reaches it (`user@addr`; the name by default).
    pub target: String,
    /// Its age recipient, when not the `.sops.yaml` member of its name.
    pub recipient: Option<String>,
}

impl Host {
    /// A host reached under its name, its recipient taken from `.sops.yaml`.
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        Self {
            target: name.clone(),
            name,
            recipient: None,
        }
    }
}

/// How to deploy (one set for all hosts of a run).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Options {
    /// The flake (`.` by default). With `#ATTR` it names the toplevel to build as is.
    pub flake: String,
    /// What to do with the new system.
    pub action: Action,
    /// Options for every ssh connection (`-p 2222`, `-i KEY`, `-o …`), also given to nix as
    /// `NIX_SSHOPTS` (which splits at spaces: no option may contain one).
    pub ssh_options: Vec<String>,
    /// Run the commands on the target through `sudo`.
    pub sudo: bool,
    /// Build on this host (`user@addr`) instead of the deployer.
    pub build_host: Option<String>,
    /// The system profile on the target.
    pub profile: String,
    /// The target's store, when not its default (a path: a store rooted there).
    pub target_store: Option<String>,
    /// Where the target keeps the activation directory (canary, worker, log).
    pub temp_dir: String,
    /// Whether `switch` and `test` roll back unless confirmed (see the module docs).
    pub magic_rollback: bool,
    /// How long the target waits for the confirmation after a successful switch.
    pub confirm_timeout: Duration,
    /// `--option NAME VALUE` pairs for every nix command on the deployer.
    pub nix_options: Vec<(String, String)>,
    /// `(name, recipient)` of the `.sops.yaml` members: a host's recipient is the member of
    /// its name.
    pub members: Vec<(String, String)>,
    /// The `nix` program.
    pub nix: String,
    /// The `ssh` program.
    pub ssh: String,
    /// How many hosts are deployed at once.
    pub jobs: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            flake: ".".to_owned(),
            action: Action::Switch,
            ssh_options: Vec::new(),
            sudo: false,
            build_host: None,
            profile: "/nix/var/nix/profiles/system".to_owned(),
            target_store: None,
            temp_dir: "/tmp".to_owned(),
            magic_rollback: true,
            confirm_timeout: Duration::from_secs(30),
            nix_options: Vec::new(),
            members: Vec::new(),
            nix: "nix".to_owned(),
            ssh: "ssh".to_owned(),
            jobs: 4,
        }
    }
}

impl Options {
    /// Whether the activation goes through the magic rollback script.
    fn uses_magic_rollback(&self) -> bool {
        self.magic_rollback && matches!(self.action, Action::Switch | Action::Test)
    }
}
