//! The activation with magic rollback, as the POSIX shell script the target runs.
//!
//! The deployer cannot run the switch itself: the switch may restart `sshd` or the network and
//! cut the connection it came through. So the target runs it, and decides by itself:
//!
//! 1. The script makes a fresh directory (`mkdir` refuses an existing one, so nothing planted
//!    in the temporary directory is followed) holding a canary file, writes the worker into
//!    it, and starts the worker in a session of its own (`setsid`), detached from the ssh
//!    connection, its output in `log`.
//! 2. The worker runs `<toplevel>/bin/switch-to-configuration <action>` and records its exit
//!    code in `status`. On failure it rolls back at once.
//! 3. Otherwise it waits up to the confirmation timeout for the canary to disappear: the
//!    deployer removes it over a **new** connection once it saw the switch succeed, which
//!    proves the host is still reachable. When the time is up, the worker claims the canary
//!    with one `mv` (so exactly one of the deployer's `rm` and the worker's `mv` wins) and rolls
//!    back.
//! 4. Rolling back: `nix-env -p <profile> --rollback` and the deletion of the failed
//!    generation (when the deploy set the profile, i.e. for `switch`; deleted, so that the next
//!    deploy's rollback does not land on it), then `<profile>/bin/switch-to-configuration
//!    <action>` of the generation the profile now names. The result is written to `outcome`:
//!    `confirmed`, `rolled-back` or `rollback-failed`. `--rollback` goes to the generation below
//!    the new one: the one that was live, unless the profile had been switched back by hand to
//!    an older generation before the deploy.
//!
//! The script in the foreground waits for `status` (and, after a failed switch, for `outcome`),
//! prints the worker's log to standard error and exits 0 only when the switch succeeded; it
//! stops waiting, and fails, when the worker is gone without writing the file (it could not
//! start, or was killed). A first
//! deploy to a profile without an earlier generation has nothing to roll back to: the worker
//! logs the failure and writes `rollback-failed`.

/// The script run with `sh -c SCRIPT aesec-deploy TOPLEVEL ACTION PROFILE DIR TIMEOUT
/// SET_PROFILE STORE` (`SET_PROFILE` is `1` or `0`, `STORE` is empty for the default store).
pub(crate) const SCRIPT: &str = r#"set -u
dir=$4
mkdir -m 700 "$dir" || exit 1
: > "$dir/canary"
cat > "$dir/worker" <<'AESEC_WORKER'
set -u
toplevel=$1 action=$2 profile=$3 dir=$4 timeout=$5 set_profile=$6 store=$7
finish() {
  echo "$1" > "$dir/outcome.tmp" && mv "$dir/outcome.tmp" "$dir/outcome"
}
rollback() {
  echo "aesec deploy: rolling back: $1"
  if [ "$set_profile" = 1 ]; then
    failed=$(readlink "$profile")
    if ! nix-env ${store:+--store "$store"} -p "$profile" --rollback; then
      finish rollback-failed
      return
    fi
    generation=${failed%-link}
    generation=${generation##*-}
    nix-env ${store:+--store "$store"} -p "$profile" --delete-generations "$generation" ||
      echo "aesec deploy: cannot delete the failed generation $generation"
  fi
  if "$profile/bin/switch-to-configuration" "$action"; then
    finish rolled-back
  else
    finish rollback-failed
  fi
}
"$toplevel/bin/switch-to-configuration" "$action"
code=$?
echo "$code" > "$dir/status.tmp" && mv "$dir/status.tmp" "$dir/status"
if [ "$code" -ne 0 ]; then
  rm -f "$dir/canary"
  rollback "switch-to-configuration $action exited with $code"
  exit 0
fi
waited=0
while [ -e "$dir/canary" ] && [ "$waited" -lt "$timeout" ]; do
  sleep 1
  waited=$((waited + 1))
done
if mv "$dir/canary" "$dir/expired" 2>/dev/null; then
  rollback "no confirmation within $timeout seconds"
else
  finish confirmed
fi
AESEC_WORKER
setsid sh "$dir/worker" "$@" < /dev/null > "$dir/log" 2>&1 &
worker=$!
wait_for() {
  while [ ! -e "$dir/$1" ]; do
    if ! kill -0 "$worker" 2>/dev/null && [ ! -e "$dir/$1" ]; then
      cat "$dir/log" >&2
      echo "aesec deploy: the activation stopped without writing $1" >&2
      exit 1
    fi
    sleep 1
  done
}
wait_for status
if [ "$(cat "$dir/status")" = 0 ]; then
  cat "$dir/log" >&2
  exit 0
fi
wait_for outcome
cat "$dir/log" >&2
echo "aesec deploy: $(cat "$dir/outcome")" >&2
exit 1
"#;

/// The outcome the worker writes when it rolled back (the last line of a failed activation
/// is [`outcome_line`] of it).
pub(crate) const ROLLED_BACK: &str = "rolled-back";

/// The last line the script prints after a failed switch, naming the worker's outcome.
pub(crate) fn outcome_line(outcome: &str) -> String {
    format!("aesec deploy: {outcome}")
}

/// The name the script runs under (`$0`).
pub(crate) const SCRIPT_NAME: &str = "aesec-deploy";

/// The file the deployer removes to confirm, inside the activation directory.
pub(crate) fn canary(dir: &str) -> String {
    format!("{dir}/canary")
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::process::{ProcessError, RunOptions, run};
    use crate::test_support::TempDir;

    /// A profile directory with generation 1 (`old`) and a toplevel `new`, each a directory
    /// whose `bin/switch-to-configuration` appends its name to `marker` and exits with `code`.
    fn system(dir: &Path, new_code: i32) {
        for (name, code) in [("old", 0), ("new", new_code)] {
            let bin = dir.join(name).join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            let script = bin.join("switch-to-configuration");
            let marker = dir.join("marker");
            std::fs::write(
                &script,
                format!(
                    "#!/bin/sh\necho \"{name} $1\" >> '{}'\nexit {code}\n",
                    marker.display()
                ),
            )
            .unwrap();
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::os::unix::fs::symlink(dir.join("old"), dir.join("profile")).unwrap();
    }

    fn activate(dir: &Path, timeout: &str) -> Result<crate::process::Finished, ProcessError> {
        activate_with(
            dir,
            timeout,
            RunOptions::with_timeout(Duration::from_secs(60)),
        )
    }

    fn activate_with(
        dir: &Path,
        timeout: &str,
        options: RunOptions,
    ) -> Result<crate::process::Finished, ProcessError> {
        let toplevel = dir.join("new");
        let profile = dir.join("profile");
        let work = dir.join("work");
        run(
            "sh",
            [
                "-c",
                SCRIPT,
                SCRIPT_NAME,
                toplevel.to_str().unwrap(),
                "test",
                profile.to_str().unwrap(),
                work.to_str().unwrap(),
                timeout,
                "0",
                "",
            ],
            &options,
        )
    }

    fn wait_for(path: &Path) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !path.exists() {
            assert!(
                Instant::now() < deadline,
                "{} never appeared",
                path.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        std::fs::read_to_string(path).unwrap().trim().to_owned()
    }

    // `test` leaves the profile alone, so these run without nix: the rollback re-activates
    // what the profile names. The `switch` path (nix-env) runs in tests/tests/deploy_sshd.rs.
    #[test]
    fn confirmed_in_time_keeps_the_new_system() {
        let temp = TempDir::new("deploy-activate-confirm");
        let dir = &temp.0;
        system(dir, 0);
        activate(dir, "30").expect("switch succeeds");
        std::fs::remove_file(canary(dir.join("work").to_str().unwrap())).expect("confirm");
        assert_eq!(wait_for(&dir.join("work/outcome")), "confirmed");
        let marker = std::fs::read_to_string(dir.join("marker")).unwrap();
        assert_eq!(marker, "new test\n");
    }

    #[test]
    fn unconfirmed_rolls_back_after_the_timeout() {
        let temp = TempDir::new("deploy-activate-timeout");
        let dir = &temp.0;
        system(dir, 0);
        activate(dir, "1").expect("switch succeeds");
        assert_eq!(wait_for(&dir.join("work/outcome")), "rolled-back");
        let marker = std::fs::read_to_string(dir.join("marker")).unwrap();
        assert_eq!(marker, "new test\nold test\n");
        assert!(
            std::fs::read_to_string(dir.join("work/log"))
                .unwrap()
                .contains("no confirmation")
        );
    }

    #[test]
    fn a_failed_switch_rolls_back_at_once() {
        let temp = TempDir::new("deploy-activate-fail");
        let dir = &temp.0;
        system(dir, 3);
        let error = activate(dir, "30").unwrap_err();
        match error {
            ProcessError::Failed { stderr, .. } => {
                assert!(stderr.contains("exited with 3"), "{stderr}");
                assert!(stderr.ends_with(&outcome_line(ROLLED_BACK)), "{stderr}");
            }
            other => panic!("{other:?}"),
        }
        let marker = std::fs::read_to_string(dir.join("marker")).unwrap();
        assert_eq!(marker, "new test\nold test\n");
    }

    #[test]
    fn a_worker_that_cannot_start_is_not_waited_for() {
        let temp = TempDir::new("deploy-activate-no-setsid");
        let dir = &temp.0;
        system(dir, 0);
        // A PATH with what the foreground needs, without `setsid`.
        let bin = dir.join("bin");
        std::fs::create_dir(&bin).unwrap();
        for program in ["sh", "mkdir", "cat", "sleep"] {
            let found = ["/usr/bin", "/bin"]
                .iter()
                .map(|prefix| Path::new(prefix).join(program))
                .find(|path| path.exists())
                .unwrap();
            std::os::unix::fs::symlink(found, bin.join(program)).unwrap();
        }
        let mut options = RunOptions::with_timeout(Duration::from_secs(60));
        options.env = vec![("PATH".into(), bin.into_os_string())];
        match activate_with(dir, "30", options) {
            Err(ProcessError::Failed { stderr, .. }) => {
                assert!(
                    stderr.ends_with("stopped without writing status"),
                    "{stderr}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(!dir.join("marker").exists());
    }

    #[test]
    fn an_existing_directory_is_refused() {
        let temp = TempDir::new("deploy-activate-exists");
        let dir = &temp.0;
        system(dir, 0);
        std::fs::create_dir(dir.join("work")).unwrap();
        assert!(matches!(
            activate(dir, "1"),
            Err(ProcessError::Failed { .. })
        ));
        assert!(!dir.join("marker").exists());
    }
}
