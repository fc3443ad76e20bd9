//! One process per data directory: `open` takes an exclusive `flock` on
//! `<dir>/LOCK` and writes its pid into it. A second server, MCP process or
//! benchmark on the same directory is refused with the holder's pid, because two
//! writers would interleave their logs and a snapshot of one deletes the log the
//! other still appends to (acknowledged writes lost).
//!
//! `flock` locks belong to the open file description, so the lock is released when
//! the file is closed (`DirLock` dropped, `Engine::close`) or the process dies,
//! `kill -9` included: a stale LOCK file never blocks a restart.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{flock, FlockArg};

use super::error::{EngineError, Result};

/// Holds the lock until dropped.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the lock of `dir` (creating both), or says who holds it.
    pub fn acquire(dir: &Path) -> Result<DirLock> {
        let path = dir.join("LOCK");
        let storage = |e: std::io::Error| EngineError::Storage(format!("{}: {e}", path.display()));
        std::fs::create_dir_all(dir).map_err(storage)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(storage)?;
        match flock(file.as_raw_fd(), FlockArg::LockExclusiveNonblock) {
            Ok(()) => {}
            Err(Errno::EWOULDBLOCK) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                let holder = match text.trim().parse::<u32>() {
                    Ok(pid) => format!("pid {pid}"),
                    Err(_) => "another process".to_owned(),
                };
                return Err(EngineError::Locked {
                    dir: dir.display().to_string(),
                    holder,
                });
            }
            Err(e) => return Err(storage(std::io::Error::from(e))),
        }
        file.set_len(0).map_err(storage)?;
        file.seek(SeekFrom::Start(0)).map_err(storage)?;
        writeln!(file, "{}", std::process::id()).map_err(storage)?;
        file.sync_data().map_err(storage)?;
        Ok(DirLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    //! The lock excludes a second holder in the same process (locks are per open
    //! file description) and is free again once dropped.
    use super::*;

    #[test]
    fn second_holder_is_refused_with_the_pid() {
        let dir = std::env::temp_dir().join(format!("kektor-lock-{}", std::process::id()));
        let first = DirLock::acquire(&dir).unwrap();
        let err = DirLock::acquire(&dir).unwrap_err().to_string();
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(first);
        let again = DirLock::acquire(&dir).unwrap();
        let pid = std::fs::read_to_string(dir.join("LOCK")).unwrap();
        assert_eq!(pid.trim(), std::process::id().to_string());
        drop(again);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
