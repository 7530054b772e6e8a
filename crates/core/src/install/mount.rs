//! The RAM file system under the mount point: ramfs (never swapped), or tmpfs with `noswap`
//! when the manifest sets `useTmpfs` (retried without `noswap` on kernels before 6.4), mounted
//! `nodev,nosuid,noexec` with mode 0751, as sops-nix's `MountSecretFs` does.

use std::path::Path;

use rustix::mount::{MountFlags, mount};

use super::{InstallError, MountPolicy};

/// `statfs` magic of ramfs.
const RAMFS_MAGIC: i64 = 0x8584_58f6;
/// `statfs` magic of tmpfs.
const TMPFS_MAGIC: i64 = 0x0102_1994;

/// What happened at the mount point.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "outcome", content = "detail")]
#[non_exhaustive]
pub enum MountOutcome {
    /// A RAM file system was mounted now (`ramfs` or `tmpfs`).
    Mounted(String),
    /// A RAM file system was already there.
    AlreadyMounted(String),
    /// Nothing was mounted: the generations live in a plain directory. The reason says why.
    Skipped(String),
}

/// Mounts the RAM file system at `mount_point` (an existing directory) according to `policy`.
pub(crate) fn prepare(
    mount_point: &Path,
    use_tmpfs: bool,
    policy: MountPolicy,
) -> Result<MountOutcome, InstallError> {
    if policy == MountPolicy::Never {
        return Ok(MountOutcome::Skipped(
            "mounting disabled (user mode or --no-mount)".into(),
        ));
    }
    if let Some(kind) = ram_kind(mount_point) {
        return Ok(MountOutcome::AlreadyMounted(kind.to_owned()));
    }
    let flags = MountFlags::NODEV | MountFlags::NOSUID | MountFlags::NOEXEC;
    let attempt = if use_tmpfs {
        mount(
            "tmpfs",
            mount_point,
            "tmpfs",
            flags,
            Some(c"mode=0751,noswap"),
        )
        .or_else(|error| {
            if error == rustix::io::Errno::INVAL {
                mount("tmpfs", mount_point, "tmpfs", flags, Some(c"mode=0751"))
            } else {
                Err(error)
            }
        })
    } else {
        mount("none", mount_point, "ramfs", flags, Some(c"mode=0751"))
    };
    let kind = if use_tmpfs { "tmpfs" } else { "ramfs" };
    match attempt {
        Ok(()) => Ok(MountOutcome::Mounted(kind.to_owned())),
        Err(error) if policy == MountPolicy::IfPermitted => Ok(MountOutcome::Skipped(format!(
            "mounting {kind} at '{}' is not permitted here ({error}); using a plain directory",
            mount_point.display()
        ))),
        Err(error) => Err(InstallError::Mount {
            path: mount_point.to_owned(),
            kind,
            source: error.into(),
        }),
    }
}

/// `ramfs` or `tmpfs` if `path` is on one.
fn ram_kind(path: &Path) -> Option<&'static str> {
    let stat = rustix::fs::statfs(path).ok()?;
    #[expect(
        clippy::useless_conversion,
        reason = "f_type's width differs between targets"
    )]
    let magic = i64::from(stat.f_type);
    match magic {
        RAMFS_MAGIC => Some("ramfs"),
        TMPFS_MAGIC => Some("tmpfs"),
        _ => None,
    }
}
