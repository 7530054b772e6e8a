//! Tests of reads (whole at every size) and of atomic writes: modes, umask, kept modes,
//! symlinks, private targets and failures that leave the old file and no temporary behind.

use super::*;
use crate::test_support::TempDir;

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn writes_new_file_with_default_mode() {
    let dir = TempDir::new("new");
    let path = dir.0.join("out.yaml");
    write_atomic(&path, b"a: 1\n", WriteOptions::default()).unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"a: 1\n");
    assert_eq!(mode_of(&path), 0o600);
    assert_eq!(dir.entries(), ["out.yaml"]);
}

#[test]
fn fixed_mode_is_exact_despite_umask() {
    let dir = TempDir::new("fixed");
    let path = dir.0.join("out");
    // 0o664 has a group-write bit that the usual umask (022) would clear at creation.
    write_atomic(&path, b"x", WriteOptions::with_mode(0o664)).unwrap();
    assert_eq!(mode_of(&path), 0o664);
}

#[test]
fn replaces_existing_file_and_keeps_its_mode() {
    let dir = TempDir::new("keep");
    let path = dir.0.join("secrets.yaml");
    fs::write(&path, b"old content that is longer\n").unwrap();
    fs::set_permissions(&path, Permissions::from_mode(0o640)).unwrap();
    write_atomic(&path, b"new\n", WriteOptions::keep_mode_or(0o600)).unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"new\n");
    assert_eq!(mode_of(&path), 0o640);
    assert_eq!(dir.entries(), ["secrets.yaml"]);
}

#[test]
fn keep_mode_uses_default_for_new_file() {
    let dir = TempDir::new("keepnew");
    let path = dir.0.join("fresh");
    write_atomic(&path, b"x", WriteOptions::keep_mode_or(0o644)).unwrap();
    assert_eq!(mode_of(&path), 0o644);
}

#[test]
fn fixed_mode_overrides_existing_mode() {
    let dir = TempDir::new("override");
    let path = dir.0.join("plain");
    fs::write(&path, b"old").unwrap();
    fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
    write_atomic(&path, b"new", WriteOptions::default()).unwrap();
    assert_eq!(mode_of(&path), 0o600);
}

#[test]
fn failed_write_leaves_old_file_and_no_temp() {
    let dir = TempDir::new("fail");
    let path = dir.0.join("secrets.yaml");
    fs::write(&path, b"old\n").unwrap();
    let error = replace_with(&path, WriteOptions::default(), |file| {
        file.write_all(b"partial")?;
        Err(io::Error::other("disk full"))
    })
    .unwrap_err();
    assert!(matches!(
        error,
        FsError::Io {
            operation: Operation::Write,
            ..
        }
    ));
    assert_eq!(error.path(), path);
    assert_eq!(fs::read(&path).unwrap(), b"old\n");
    assert_eq!(dir.entries(), ["secrets.yaml"]);
}

#[test]
fn failed_rename_leaves_target_and_no_temp() {
    let dir = TempDir::new("rename");
    // A non-empty directory where the file should go: the rename must fail.
    let path = dir.0.join("target");
    fs::create_dir(&path).unwrap();
    fs::write(path.join("keep"), b"kept").unwrap();
    let error = write_atomic(&path, b"new", WriteOptions::default()).unwrap_err();
    assert!(matches!(
        error,
        FsError::Io {
            operation: Operation::Rename,
            ..
        }
    ));
    assert_eq!(fs::read(path.join("keep")).unwrap(), b"kept");
    assert_eq!(dir.entries(), ["target"]);
}

#[test]
fn missing_directory_is_a_create_error() {
    let dir = TempDir::new("missing");
    let path = dir.0.join("no/such/dir/file");
    let error = write_atomic(&path, b"x", WriteOptions::default()).unwrap_err();
    assert!(matches!(
        error,
        FsError::Io {
            operation: Operation::CreateTemp,
            ..
        }
    ));
    assert_eq!(error.path(), path);
}

#[test]
fn path_without_file_name_is_refused() {
    let error = write_atomic("/", b"x", WriteOptions::default()).unwrap_err();
    assert!(matches!(error, FsError::NotAFile { .. }));
}

#[test]
fn symlink_target_is_replaced_and_link_kept() {
    let dir = TempDir::new("symlink");
    let target = dir.0.join("real.yaml");
    let link = dir.0.join("link.yaml");
    fs::write(&target, b"old").unwrap();
    std::os::unix::fs::symlink("real.yaml", &link).unwrap();
    write_atomic(&link, b"new", WriteOptions::default()).unwrap();
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read(&target).unwrap(), b"new");
    assert_eq!(dir.entries(), ["link.yaml", "real.yaml"]);
}

/// Issue 6 item 8: a private write replaces neither a link nor another user's file.
#[test]
fn private_writes_refuse_links_and_other_kinds_of_file() {
    let dir = TempDir::new("private");
    let victim = dir.0.join("victim");
    fs::write(&victim, b"old").unwrap();
    let link = dir.0.join("key");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let error = write_atomic(&link, b"secret", WriteOptions::private(0o600)).unwrap_err();
    assert!(matches!(
        error,
        FsError::Unsafe {
            reason: UnsafeReason::Symlink,
            ..
        }
    ));
    assert_eq!(fs::read(&victim).unwrap(), b"old");
    let error = write_atomic(&dir.0, b"secret", WriteOptions::private(0o600)).unwrap_err();
    assert!(matches!(
        error,
        FsError::Unsafe { .. } | FsError::NotAFile { .. }
    ));
    let sub = dir.0.join("sub");
    fs::create_dir(&sub).unwrap();
    let error = write_atomic(&sub, b"secret", WriteOptions::private(0o600)).unwrap_err();
    assert!(matches!(
        error,
        FsError::Unsafe {
            reason: UnsafeReason::NotRegularFile,
            ..
        }
    ));
    // The caller's own regular file is replaced, with the exact mode.
    write_atomic(&victim, b"new", WriteOptions::private(0o600)).unwrap();
    assert_eq!(fs::read(&victim).unwrap(), b"new");
    assert_eq!(mode_of(&victim), 0o600);
    assert_eq!(dir.entries(), ["key", "sub", "victim"]);
}

#[test]
fn empty_path_is_refused() {
    let error = write_atomic("", b"x", WriteOptions::default()).unwrap_err();
    assert!(matches!(error, FsError::NotAFile { .. }));
}

#[test]
fn read_names_the_path() {
    let dir = TempDir::new("read");
    let path = dir.0.join("absent");
    let error = read(&path).unwrap_err();
    assert!(matches!(
        error,
        FsError::Io {
            operation: Operation::Read,
            ..
        }
    ));
    assert!(error.to_string().contains("absent"));
    fs::write(&path, b"present").unwrap();
    assert_eq!(read(&path).unwrap(), b"present");
}

#[test]
fn staged_content_is_invisible_until_renamed_and_dropping_it_removes_the_temp() {
    let dir = TempDir::new("staged");
    let kept = dir.0.join("kept.yaml");
    let dropped = dir.0.join("dropped.yaml");
    for path in [&kept, &dropped] {
        fs::write(path, b"old").unwrap();
        fs::set_permissions(path, Permissions::from_mode(0o640)).unwrap();
    }
    let write = |bytes: &'static [u8]| move |file: &mut File| file.write_all(bytes);
    let first = stage(&kept, WriteOptions::keep_mode_or(0o600), write(b"new")).unwrap();
    let second = stage(&dropped, WriteOptions::keep_mode_or(0o600), write(b"new")).unwrap();
    // Both temporary files exist, flushed; the targets are untouched.
    assert_eq!(dir.entries().len(), 4);
    assert_eq!(fs::read(&kept).unwrap(), b"old");
    drop(second);
    let renamed_into = first.rename().unwrap();
    assert_eq!(renamed_into, dir.0);
    sync_directory(&renamed_into).unwrap();
    assert_eq!(fs::read(&kept).unwrap(), b"new");
    assert_eq!(mode_of(&kept), 0o640);
    assert_eq!(fs::read(&dropped).unwrap(), b"old");
    assert_eq!(dir.entries(), ["dropped.yaml", "kept.yaml"]);
}

#[test]
fn a_failed_stage_leaves_no_temporary_file() {
    let dir = TempDir::new("stage-fails");
    let path = dir.0.join("target");
    let failing = |_: &mut File| Err(io::Error::other("disk full"));
    let error = stage(&path, WriteOptions::default(), failing).unwrap_err();
    assert!(matches!(
        error,
        FsError::Io {
            operation: Operation::Write,
            ..
        }
    ));
    assert!(dir.entries().is_empty());
}

/// Large files are read in parallel parts: every size around the threshold and the part size
/// reads back byte for byte, as a small file does.
#[test]
fn reads_files_of_every_size_whole() {
    let dir = TempDir::new("read-sizes");
    let threshold = usize::try_from(PARALLEL_READ_BYTES).unwrap();
    for size in [
        0,
        1,
        threshold - 1,
        threshold,
        threshold + 1,
        threshold + READ_PART_BYTES,
        3 * threshold + 17,
    ] {
        let path = dir.0.join(format!("file-{size}"));
        let content: Vec<u8> = (0..size).map(|i| u8::try_from(i % 251).unwrap()).collect();
        fs::write(&path, &content).unwrap();
        assert!(read(&path).unwrap() == content, "{size} bytes");
    }
}

#[test]
fn reading_a_missing_file_names_it() {
    let dir = TempDir::new("read-missing");
    let path = dir.0.join("absent.yaml");
    let error = read(&path).unwrap_err().to_string();
    assert!(error.contains("absent.yaml"), "{error}");
}
