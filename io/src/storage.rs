//! Where log bytes go: a `Storage` appends, syncs, reads back and truncates. Three
//! implementations: files (`FileStorage`, `fdatasync` for durability), memory
//! (`MemStorage`), and `CrashStorage` for tests, which keeps what was written apart
//! from what a sync made durable and can freeze or fail at the Nth sync.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub trait Storage: Send {
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()>;
    /// Makes everything appended so far durable.
    fn sync(&mut self) -> std::io::Result<()>;
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn read_all(&mut self) -> std::io::Result<Vec<u8>>;
    fn truncate(&mut self, len: u64) -> std::io::Result<()>;
}

/// An append-only file. `sync` is `fdatasync`. A failed append is cut back to the
/// last good length (now, or before the next append if that fails too), so a
/// retried append never leaves a torn record in the middle of the log.
pub struct FileStorage {
    file: File,
    path: PathBuf,
    len: u64,
    /// Bytes past `len` may be on disk from a failed append.
    dirty: bool,
}

impl FileStorage {
    /// Opens or creates `path` (and its directory, which is synced when the file is
    /// new so the file's existence is durable too).
    pub fn open(path: &Path) -> std::io::Result<FileStorage> {
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let existed = path.exists();
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
        if !existed {
            File::open(dir)?.sync_all()?;
        }
        let len = file.metadata()?.len();
        Ok(FileStorage {
            file,
            path: path.to_owned(),
            len,
            dirty: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Storage for FileStorage {
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.dirty {
            self.file.set_len(self.len)?;
            self.dirty = false;
        }
        if let Err(e) = self.file.write_all(bytes) {
            self.dirty = self.file.set_len(self.len).is_err();
            return Err(e);
        }
        self.len += bytes.len() as u64;
        Ok(())
    }
    fn sync(&mut self) -> std::io::Result<()> {
        self.file.sync_data()
    }
    fn len(&self) -> u64 {
        self.len
    }
    fn read_all(&mut self) -> std::io::Result<Vec<u8>> {
        let mut buf = Vec::with_capacity(self.len as usize);
        self.file.seek(SeekFrom::Start(0))?;
        self.file.read_to_end(&mut buf)?;
        Ok(buf)
    }
    fn truncate(&mut self, len: u64) -> std::io::Result<()> {
        self.file.set_len(len)?;
        self.file.sync_all()?;
        self.len = len;
        Ok(())
    }
}

/// Bytes in memory.
#[derive(Default, Clone)]
pub struct MemStorage {
    pub bytes: Vec<u8>,
}

impl Storage for MemStorage {
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.bytes.extend_from_slice(bytes);
        Ok(())
    }
    fn sync(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }
    fn read_all(&mut self) -> std::io::Result<Vec<u8>> {
        Ok(self.bytes.clone())
    }
    fn truncate(&mut self, len: u64) -> std::io::Result<()> {
        self.bytes.truncate(len as usize);
        Ok(())
    }
}

/// What happens at the Nth sync of a `CrashStorage`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashAt {
    Never,
    /// Syncs from the Nth on (1-based) succeed but no longer make anything durable:
    /// the machine lost power at that moment.
    Freeze(u64),
    /// The Nth sync and every later one fail with an I/O error.
    Fail(u64),
}

#[derive(Debug, Default)]
pub struct CrashImages {
    /// Everything appended (what the process believes is there).
    pub written: Vec<u8>,
    /// What survives a crash: `written` as of the last effective sync.
    pub durable: Vec<u8>,
    pub syncs: u64,
}

/// A storage whose images the test keeps (through the shared handle) after the
/// "process" that owned it is gone.
#[derive(Clone)]
pub struct CrashStorage {
    pub images: Arc<Mutex<CrashImages>>,
    pub crash_at: CrashAt,
}

impl CrashStorage {
    pub fn new(crash_at: CrashAt) -> CrashStorage {
        CrashStorage {
            images: Arc::default(),
            crash_at,
        }
    }

    /// A fresh storage holding only the durable image (the state after a crash).
    pub fn after_crash(&self) -> CrashStorage {
        let durable = self.images.lock().expect("images").durable.clone();
        CrashStorage {
            images: Arc::new(Mutex::new(CrashImages {
                written: durable.clone(),
                durable,
                syncs: 0,
            })),
            crash_at: CrashAt::Never,
        }
    }
}

impl Storage for CrashStorage {
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.images
            .lock()
            .expect("images")
            .written
            .extend_from_slice(bytes);
        Ok(())
    }
    fn sync(&mut self) -> std::io::Result<()> {
        let mut im = self.images.lock().expect("images");
        im.syncs += 1;
        match self.crash_at {
            CrashAt::Fail(n) if im.syncs >= n => {
                Err(std::io::Error::other("injected sync failure"))
            }
            CrashAt::Freeze(n) if im.syncs >= n => Ok(()),
            _ => {
                im.durable = im.written.clone();
                Ok(())
            }
        }
    }
    fn len(&self) -> u64 {
        self.images.lock().expect("images").written.len() as u64
    }
    fn read_all(&mut self) -> std::io::Result<Vec<u8>> {
        Ok(self.images.lock().expect("images").written.clone())
    }
    fn truncate(&mut self, len: u64) -> std::io::Result<()> {
        let mut im = self.images.lock().expect("images");
        im.written.truncate(len as usize);
        let l = im.durable.len().min(len as usize);
        im.durable.truncate(l);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! Files round-trip and survive reopening; CrashStorage keeps only synced bytes.
    use super::*;

    #[test]
    fn file_storage_round_trip() {
        let dir = std::env::temp_dir().join(format!("kektor-storage-{}", std::process::id()));
        let p = dir.join("sub/log");
        let mut s = FileStorage::open(&p).unwrap();
        s.append(b"hello ").unwrap();
        s.append(b"world").unwrap();
        s.sync().unwrap();
        drop(s);
        let mut s = FileStorage::open(&p).unwrap();
        assert_eq!(s.len(), 11);
        assert_eq!(s.read_all().unwrap(), b"hello world");
        s.truncate(5).unwrap();
        s.append(b"!").unwrap();
        assert_eq!(s.read_all().unwrap(), b"hello!");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn crash_storage_keeps_synced_prefix() {
        let mut s = CrashStorage::new(CrashAt::Freeze(2));
        s.append(b"a").unwrap();
        s.sync().unwrap();
        s.append(b"b").unwrap();
        s.sync().unwrap(); // frozen: not durable
        s.append(b"c").unwrap();
        assert_eq!(s.read_all().unwrap(), b"abc");
        let mut after = s.after_crash();
        assert_eq!(after.read_all().unwrap(), b"a");
        let mut f = CrashStorage::new(CrashAt::Fail(1));
        f.append(b"x").unwrap();
        assert!(f.sync().is_err());
        assert!(f.after_crash().read_all().unwrap().is_empty());
    }
}
