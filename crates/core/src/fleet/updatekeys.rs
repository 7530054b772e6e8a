//! Applying a [`Plan`]: every changing file re-wrapped or rotated, verify first, then written.

use super::apply::{ApplyOptions, Change, Job, Report, apply};
use super::discover::remove_stale_temps;
use super::error::FleetError;
use super::plan::{Action, Plan};
use crate::progress::Observer;
use crate::sops::KeyDecryptor;

/// Applies `plan`: files marked [`Action::Rewrap`] get the same data key wrapped for their
/// rule's groups (values, MAC and `lastmodified` byte-identical, as sops' `updatekeys`);
/// files marked [`Action::Rotate`] get a new data key and every value re-encrypted.
///
/// Every changing file is opened with `decryptors` (MAC checked) and its new content made,
/// verified and staged beside it before any file is replaced; then each is replaced atomically.
/// `observer` sees three units per changing file (opened, re-encrypted, written). Temporary
/// files that a killed earlier run left beside the plan's files are removed first
/// ([`Report::stale_temps_removed`]).
///
/// Runs on the same files must not overlap: a second run removes the first one's temporary
/// files, so the first fails to write them (each file stays old or new).
///
/// ```
/// use aesec::config::Config;
/// use aesec::file::{EncryptOptions, encrypt};
/// use aesec::fleet::{self, Action, ApplyOptions, PlanOptions};
/// use aesec::keys::age::{GeneratedIdentity, Identities};
/// use aesec::age::secrecy::ExposeSecret;
/// use aesec::progress::NoProgress;
/// use aesec::sops::{AgeDecryptor, AgeMasterKey, Recipients};
/// use aesec::store::Format;
///
/// # let dir = std::env::temp_dir().join(format!("aesec-doc-updatekeys-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let (admin, host) = (GeneratedIdentity::generate(), GeneratedIdentity::generate());
/// let recipients = Recipients::single_group(vec![Box::new(AgeMasterKey::new(admin.recipient()))]);
/// let file = encrypt(b"token: abc\n", &recipients, &EncryptOptions::new(Format::Yaml, Format::Yaml))?;
/// std::fs::write(dir.join("app.yaml"), file)?;
/// let rules = format!("creation_rules:\n  - age: {}, {}\n", admin.recipient(), host.recipient());
/// std::fs::write(dir.join(".sops.yaml"), rules)?;
///
/// let config = Config::load(dir.join(".sops.yaml"))?;
/// let files = fleet::discover(&config, &[], &dir)?;
/// let plan = fleet::plan(&config, &files, &dir, &PlanOptions::default())?;
/// assert_eq!(plan.files[0].action, Action::Rewrap);
///
/// let mut identities = Identities::new();
/// identities.add_identity_file_text(admin.to_identity_file("now").expose_secret(), "admin")?;
/// let options = ApplyOptions::with_emit(config.stores);
/// let report = fleet::update_keys(&plan, &[&AgeDecryptor::new(&identities)], &options, &NoProgress)?;
/// assert_eq!(report.rewrapped, 1);
/// assert!(fleet::check(&config, &[], &dir)?.is_clean());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// [`FleetError::Unsupported`] when a changing file names a key type aesec cannot wrap,
/// [`FleetError::Open`] / [`FleetError::Seal`] listing every failing file (no file is replaced
/// then), [`FleetError::Write`] when some writes failed.
pub fn update_keys(
    plan: &Plan,
    decryptors: &[&dyn KeyDecryptor],
    options: &ApplyOptions,
    observer: &dyn Observer,
) -> Result<Report, FleetError> {
    let unsupported: Vec<_> = plan
        .changed()
        .filter(|file| !file.unsupported.is_empty())
        .map(|file| file.path.clone())
        .collect();
    if !unsupported.is_empty() {
        return Err(FleetError::Unsupported { files: unsupported });
    }
    for file in plan.changed().filter(|file| file.revocation_skipped) {
        observer.warn(&format_args!(
            "{}: recipients removed without a new data key (revocation skipped)",
            file.path.display()
        ));
    }
    let stale = remove_stale_temps(plan.files.iter().map(|file| file.path.as_path()));
    let jobs: Vec<Job> = plan
        .changed()
        .map(|file| Job {
            path: file.path.clone(),
            format: file.format,
            change: match file.action {
                Action::Rotate => Change::Rotate(file.target.clone()),
                Action::Rewrap | Action::Nothing => Change::Rewrap(file.target.clone()),
            },
            last_modified: Some(file.last_modified.clone()),
        })
        .collect();
    let mut report = apply(jobs, decryptors, options, observer, "updating keys")?;
    report.stale_temps_removed = stale;
    for file in plan.files.iter().filter(|f| f.action == Action::Nothing) {
        report.record(
            file.path.clone(),
            Action::Nothing,
            Some(file.last_modified.clone()),
        );
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::fleet::FilePlan;
    use crate::fleet::key_groups::DesiredGroups;
    use crate::progress::NoProgress;
    use crate::store::Format;

    #[test]
    fn unsupported_keys_block_the_whole_plan() {
        let file = FilePlan {
            path: PathBuf::from("/nonexistent/a.yaml"),
            rule: 0,
            changes: Vec::new(),
            threshold: None,
            action: Action::Rewrap,
            revocation_skipped: false,
            unsupported: vec!["pgp 'ABCD'".to_owned()],
            non_age_keys: vec!["pgp 'ABCD'".to_owned()],
            format: Format::Yaml,
            target: DesiredGroups {
                groups: Vec::new(),
                threshold: None,
            },
            last_modified: String::new(),
        };
        let plan = Plan { files: vec![file] };
        let error = update_keys(&plan, &[], &ApplyOptions::default(), &NoProgress).unwrap_err();
        assert!(matches!(error, FleetError::Unsupported { ref files } if files.len() == 1));
    }

    #[test]
    fn a_missing_file_fails_before_anything_is_written() {
        let file = FilePlan {
            path: PathBuf::from("/nonexistent/a.yaml"),
            rule: 0,
            changes: Vec::new(),
            threshold: None,
            action: Action::Rotate,
            revocation_skipped: false,
            unsupported: Vec::new(),
            non_age_keys: Vec::new(),
            format: Format::Yaml,
            target: DesiredGroups {
                groups: Vec::new(),
                threshold: None,
            },
            last_modified: String::new(),
        };
        let plan = Plan { files: vec![file] };
        let error = update_keys(&plan, &[], &ApplyOptions::default(), &NoProgress).unwrap_err();
        assert!(matches!(
            error,
            FleetError::Open { ref failures }
                if matches!(failures[0].error, crate::fleet::FleetFileError::Fs(_))
        ));
    }
}
