//! Clear errors: second writer, missing/unwritable directory, full disk
//! (a small tmpfs when this process may mount one, and always through the
//! storage double), failed syncs poisoning the writer, oversized payloads.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use journal::sim::SimStorage;
use journal::{
    JournalConfig, JournalReader, JournalWriter, LockError, OpenError, StorageError, SyncPolicy, WriteError,
};

/// flock locks belong to the open file description, which a child forked
/// by another test thread (mount, umount) shares until it execs: tests that
/// release and retake a lock must not overlap with tests that spawn.
static SPAWN_OR_RELOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SPAWN_OR_RELOCK.lock().unwrap_or_else(|p| p.into_inner())
}

fn config(segment_size: u64) -> JournalConfig {
    common::config(segment_size, SyncPolicy::Batch)
}

#[test]
fn second_writer_gets_an_error_naming_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let (_w, _) = JournalWriter::open(dir.path(), config(64 * 1024)).unwrap();
    let err = JournalWriter::open(dir.path(), config(64 * 1024)).err().unwrap();
    match &err {
        OpenError::Lock(LockError::AlreadyLocked { dir: d, .. }) => assert_eq!(d, dir.path()),
        other => panic!("unexpected {other}"),
    }
    assert!(err.to_string().contains(&dir.path().display().to_string()), "{err}");
}

#[test]
fn lock_is_released_when_the_writer_goes() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (w, _) = JournalWriter::open(dir.path(), config(64 * 1024)).unwrap();
    drop(w);
    JournalWriter::open(dir.path(), config(64 * 1024)).unwrap();
}

#[test]
fn missing_directory_and_not_a_directory() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    match JournalWriter::open(&missing, config(64 * 1024)) {
        Err(OpenError::DirMissing { dir: d }) => assert_eq!(d, missing),
        other => panic!("unexpected {:?}", other.err()),
    }
    // create_dir makes it.
    let cfg = JournalConfig { create_dir: true, ..config(64 * 1024) };
    JournalWriter::open(&missing, cfg).unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    assert!(matches!(JournalWriter::open(&file, config(64 * 1024)), Err(OpenError::NotADirectory { .. })));
}

#[test]
fn invalid_config_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    for size in [4096, 64 * 1024 + 8, 2 << 30] {
        assert!(matches!(JournalWriter::open(dir.path(), config(size)), Err(OpenError::InvalidConfig(_))));
    }
}

/// A tmpfs mounted for one test, unmounted on drop. `None` when this
/// process may not mount (not root, or no CAP_SYS_ADMIN in a container).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, options: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(at)
            .stderr(std::process::Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        ok.then(|| Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn unwritable_directory() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("ro");
    let _guard;
    if is_root() {
        // Root ignores permission bits: use a read-only file system.
        match Tmpfs::mount(&target, "ro,size=1m") {
            Some(t) => _guard = t,
            None => {
                eprintln!("skipped: cannot mount a read-only tmpfs here");
                return;
            }
        }
    } else {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir(&target).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o555)).unwrap();
    }
    let err = JournalWriter::open(&target, config(64 * 1024)).err().unwrap();
    match &err {
        OpenError::Lock(LockError::Storage(StorageError::PermissionDenied { path, .. })) => {
            assert!(path.starts_with(&target))
        }
        other => panic!("unexpected {other}"),
    }
    assert!(err.to_string().contains("permission denied"), "{err}");
}

#[test]
fn disk_full_on_a_small_tmpfs() {
    let _serial = serial();
    if !is_root() {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("small");
    let Some(_tmpfs) = Tmpfs::mount(&mnt, "size=600k") else {
        eprintln!("skipped: cannot mount a tmpfs here");
        return;
    };
    // At open: a 1 MiB segment cannot be allocated.
    let err = JournalWriter::open(&mnt, config(1 << 20)).err().unwrap();
    assert!(matches!(&err, OpenError::Storage(e) if e.is_no_space()), "unexpected {err}");
    assert!(err.to_string().contains("no space left"), "{err}");
    let leftovers: Vec<_> = std::fs::read_dir(&mnt)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != journal::LOCK_FILE_NAME)
        .collect();
    assert!(leftovers.is_empty(), "half-created files left: {leftovers:?}");

    // At rollover: two 256 KiB segments fit, the third does not.
    let (mut w, _) = JournalWriter::open(&mnt, config(256 * 1024)).unwrap();
    let payload = [7u8; 1000];
    let err = loop {
        match w.append(1, &payload) {
            Ok(_) => {
                w.commit().unwrap();
            }
            Err(e) => break e,
        }
    };
    match &err {
        WriteError::Rollover(e) => assert!(e.is_no_space(), "{e}"),
        other => panic!("unexpected {other}"),
    }
    // Not poisoned: what was written stays readable and durable.
    let written = w.written_seq();
    assert_eq!(w.commit().unwrap(), written);
    drop(w);
    let names: Vec<String> =
        std::fs::read_dir(&mnt).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert!(!names.iter().any(|n| n.ends_with(".pre")), "{names:?}");
    let mut r = JournalReader::open(&mnt, 1).unwrap();
    let mut n = 0;
    while let Some(rec) = r.next().unwrap() {
        assert_eq!(rec.payload, &payload[..]);
        n += 1;
    }
    assert_eq!(n, written);
}

#[test]
fn disk_full_through_the_storage_double() {
    let disk = SimStorage::new();
    disk.set_free_space(Some(40 * 1024));
    // Open: the first segment does not fit; nothing is left behind.
    let err = JournalWriter::open_with_storage(disk.clone(), config(64 * 1024)).err().unwrap();
    assert!(matches!(&err, OpenError::Storage(e) if e.is_no_space()), "{err}");
    assert!(disk.file_names().is_empty(), "{:?}", disk.file_names());

    // Rollover: room for two segments only.
    disk.set_free_space(Some(2 * 16 * 1024));
    let (mut w, _) = JournalWriter::open_with_storage(disk.clone(), config(16 * 1024)).unwrap();
    let err = loop {
        match w.append(3, &[1; 500]) {
            Ok(_) => {
                w.commit().unwrap();
            }
            Err(e) => break e,
        }
    };
    assert!(matches!(&err, WriteError::Rollover(e) if e.is_no_space()), "{err}");
    // Freeing space lets the same append succeed.
    disk.set_free_space(Some(1 << 20));
    let seq = w.append(3, &[1; 500]).unwrap();
    assert_eq!(w.commit().unwrap(), seq);
}

#[test]
fn failed_sync_poisons_the_writer() {
    let disk = SimStorage::new();
    let (mut w, _) = JournalWriter::open_with_storage(disk.clone(), config(16 * 1024)).unwrap();
    common::append_derived(&mut w, 10, 100);
    assert_eq!(w.commit().unwrap(), 10);
    common::append_derived(&mut w, 10, 100);
    disk.set_fail_syncs(true);
    assert!(matches!(w.commit(), Err(WriteError::SyncFailed(_))));
    assert!(w.is_poisoned());
    // Even once syncs work again, the writer refuses: never retry-and-continue.
    disk.set_fail_syncs(false);
    assert!(matches!(w.append(1, b"x"), Err(WriteError::Poisoned(_))));
    assert!(matches!(w.commit(), Err(WriteError::Poisoned(_))));
    assert!(matches!(w.sync_now(), Err(WriteError::Poisoned(_))));
    assert_eq!(w.durable_seq(), 10);
    assert!(matches!(w.close(), Err(WriteError::Poisoned(_))));
    // Reopening recovers from what is on disk.
    let (w, report) = JournalWriter::open_with_storage(disk, config(16 * 1024)).unwrap();
    assert!(report.last_good_seq >= 10);
    drop(w);
}

#[test]
fn payload_too_large() {
    let disk = SimStorage::new();
    let (mut w, _) = JournalWriter::open_with_storage(disk, config(16 * 1024)).unwrap();
    let max = w.max_payload();
    assert!(matches!(w.append(0, &vec![0; max + 1]), Err(WriteError::PayloadTooLarge { .. })));
    // The largest payload fits (in a segment of its own).
    w.append(0, b"a").unwrap();
    assert_eq!(w.append(0, &vec![9; max]).unwrap(), 2);
    assert_eq!(w.commit().unwrap(), 2);
    assert!(!w.is_poisoned());
}

#[test]
fn tailing_reader_in_the_same_process_across_rollovers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let (mut w, _) = JournalWriter::open(&path, common::config(16 * 1024, SyncPolicy::None)).unwrap();
    let total = 3000u64;
    let reader = std::thread::spawn(move || {
        let mut r = JournalReader::open(&path, 1).unwrap();
        let mut next = 1;
        while next <= total {
            match r.next().unwrap() {
                Some(rec) => {
                    assert_eq!(rec.seq, next);
                    common::check_record(rec.seq, rec.record_type, rec.payload, 200);
                    next += 1;
                }
                None => std::thread::yield_now(),
            }
        }
    });
    for _ in 0..total / 50 {
        common::append_derived(&mut w, 50, 200);
        w.commit().unwrap();
    }
    reader.join().unwrap();
}
