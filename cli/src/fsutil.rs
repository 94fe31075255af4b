//! Private files: created 0600 in 0700 directories, replaced atomically
//! (temp file in the same directory + fsync + rename + fsync of the directory),
//! so a crash or a full disk leaves either the old file or the new one, never half.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// Creates `dir` (and parents) readable only by the owner.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

fn open_private_new(path: &Path) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

/// Replaces `path` with `data` atomically; the file is mode 0600 from its first byte.
pub fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other("path has no parent"))?;
    create_private_dir(dir)?;
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other("path has no file name"))?
        .to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}.{}.tmp", std::process::id(), unique()));
    let result = (|| {
        let mut f = open_private_new(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    nanos ^ (N.fetch_add(1, Ordering::Relaxed) << 32)
}

/// Makes a rename durable (Unix); a no-op elsewhere.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    let _ = dir;
    Ok(())
}

/// An exclusive advisory lock on a file, held until dropped: `flock(LOCK_EX)` on Unix,
/// `LockFileEx` (exclusive, whole file) on Windows, through std's `File::lock`. Serialises
/// refreshes of one profile across processes, so that parallel `deviceflow token` calls
/// (and other programs following the protocol in the README) never spend the same rotating
/// refresh token twice (which would revoke the grant). The lock file itself stays empty.
pub struct FileLock {
    _file: File,
}

impl FileLock {
    pub fn acquire(path: &Path) -> io::Result<FileLock> {
        if let Some(dir) = path.parent() {
            create_private_dir(dir)?;
        }
        let mut o = OpenOptions::new();
        o.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        let file = o.open(path)?;
        // Blocks until every other holder let go; released when `file` closes (also on a
        // crash: the kernel drops it with the descriptor).
        file.lock()?;
        Ok(FileLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "deviceflow-cli-test-{name}-{}-{}",
            std::process::id(),
            unique()
        ));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[cfg(unix)]
    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    #[cfg(unix)]
    fn files_are_0600_and_dirs_0700_even_with_a_permissive_umask() {
        let dir = scratch("perm");
        // SAFETY: umask only changes this process's file creation mask.
        let old = unsafe { libc::umask(0) };
        let path = dir.join("sub").join("profile.json");
        let r = write_atomic(&path, b"{}");
        unsafe { libc::umask(old) };
        r.unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.join("sub")), 0o700);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    #[cfg(unix)]
    fn replacing_a_world_readable_file_gives_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("replace");
        create_private_dir(&dir).unwrap();
        let path = dir.join("t.json");
        fs::write(&path, b"old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(mode(&path), 0o600);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn writes_leave_no_temp_files_and_never_a_partial_file() {
        let dir = scratch("atomic");
        let path = dir.join("t.json");
        // Readers racing with many writers only ever see a complete version.
        let big_a = vec![b'a'; 256 * 1024];
        let big_b = vec![b'b'; 256 * 1024];
        write_atomic(&path, &big_a).unwrap();
        let p2 = path.clone();
        let reader = std::thread::spawn(move || {
            for _ in 0..200 {
                let data = fs::read(&p2).unwrap();
                assert_eq!(data.len(), 256 * 1024, "partial file seen");
                assert!(data.iter().all(|&c| c == data[0]), "mixed file seen");
            }
        });
        for i in 0..100 {
            write_atomic(&path, if i % 2 == 0 { &big_b } else { &big_a }).unwrap();
        }
        reader.join().unwrap();
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["t.json".to_string()], "temp files left behind");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_lock_excludes_other_holders_until_dropped() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        let dir = scratch("lock");
        let path = dir.join(".p.lock");
        let first = FileLock::acquire(&path).unwrap();
        let got = Arc::new(AtomicBool::new(false));
        let (p2, g2) = (path.clone(), got.clone());
        // A second open file description (as another process has) must wait.
        let waiter = std::thread::spawn(move || {
            let _l = FileLock::acquire(&p2).unwrap();
            g2.store(true, Ordering::SeqCst);
        });
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(!got.load(Ordering::SeqCst), "two holders at once");
        drop(first);
        waiter.join().unwrap();
        assert!(got.load(Ordering::SeqCst));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let dir = scratch("fail");
        let path = dir.join("t.json");
        write_atomic(&path, b"old").unwrap();
        // Renaming a file over a non-empty directory fails: the old target must survive.
        let blocked = dir.join("blocked");
        fs::create_dir_all(blocked.join("inner")).unwrap();
        assert!(write_atomic(&blocked, b"new").is_err());
        assert!(blocked.join("inner").is_dir());
        assert_eq!(fs::read(&path).unwrap(), b"old");
        let temps = fs::read_dir(&dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .count();
        assert_eq!(temps, 0);
        fs::remove_dir_all(dir).unwrap();
    }
}
