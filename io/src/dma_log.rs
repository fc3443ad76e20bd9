//! The log as the server writes it: a glommio DMA file (O_DIRECT through io_uring),
//! so a write and its fdatasync are awaited by the shard's executor instead of
//! blocking its thread, and the executor keeps serving while they are in flight.
//! It is the asynchronous counterpart of [`crate::storage::Storage`], which serves
//! recovery (reading, truncating a torn tail) and the crash-consistency tests.
//!
//! O_DIRECT writes whole aligned blocks. An append writes from the start of the
//! block that holds the log's end: the kept tail of that block (bytes already in
//! the file, rewritten identically), the new bytes, then zeros up to the next block
//! boundary. So the file can end in zero padding after the last record; recovery
//! reads it as a torn tail of zeros and truncates it. A crash in the middle of a
//! block rewrite can only tear bytes after the log's previous end: the earlier bytes
//! of the block are rewritten with their own value.

use std::io;
use std::path::{Path, PathBuf};

use glommio::io::{DmaFile, OpenOptions};

pub struct DmaLog {
    file: DmaFile,
    path: PathBuf,
    /// Logical length: the bytes of records, without padding.
    len: u64,
    /// The bytes from the start of the last partial block to `len`.
    tail: Vec<u8>,
    align: u64,
}

impl DmaLog {
    /// Opens an existing log (recovery made it end on a record boundary) for
    /// appending. Must run inside a glommio executor. (Opening with O_DSYNC instead
    /// of syncing was measured: slower here, by extending the file in every write.)
    pub async fn open(path: &Path) -> io::Result<DmaLog> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .dma_open(path)
            .await?;
        let len = file.file_size().await?;
        let align = file.alignment().max(512);
        let start = len / align * align;
        // The partial last block, read once with a plain read (direct reads are
        // refused on some kernels and filesystems that accept direct writes).
        let mut tail = vec![0u8; (len - start) as usize];
        std::os::unix::fs::FileExt::read_exact_at(&std::fs::File::open(path)?, &mut tail, start)?;
        Ok(DmaLog {
            file,
            path: path.to_owned(),
            len,
            tail,
            align,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Logical length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `bytes` (not yet durable: see [`DmaLog::sync`]).
    pub async fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let start = self.len - self.tail.len() as u64;
        let used = self.tail.len() + bytes.len();
        let padded = (used as u64).div_ceil(self.align) * self.align;
        let mut buf = self.file.alloc_dma_buffer(padded as usize);
        let out = buf.as_bytes_mut();
        out[..self.tail.len()].copy_from_slice(&self.tail);
        out[self.tail.len()..used].copy_from_slice(bytes);
        out[used..].fill(0);
        let written = self.file.write_at(buf, start).await?;
        if (written as u64) < padded {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("short log write: {written} of {padded} bytes"),
            ));
        }
        self.len += bytes.len() as u64;
        let keep = (self.len % self.align) as usize;
        let mut tail = Vec::with_capacity(keep);
        if keep <= bytes.len() {
            tail.extend_from_slice(&bytes[bytes.len() - keep..]);
        } else {
            tail.extend_from_slice(&self.tail[self.tail.len() - (keep - bytes.len())..]);
            tail.extend_from_slice(bytes);
        }
        self.tail = tail;
        Ok(())
    }

    /// Makes everything appended durable (fdatasync).
    pub async fn sync(&self) -> io::Result<()> {
        self.file.fdatasync().await?;
        Ok(())
    }

    pub async fn close(self) -> io::Result<()> {
        self.file.close().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glommio::LocalExecutorBuilder;

    /// Appends of every size across block boundaries, reopened in between, read
    /// back with std: the logical bytes, then only zero padding.
    #[test]
    fn appends_read_back_exactly_across_blocks_and_reopens() {
        let dir = std::env::temp_dir().join(format!("kektor-dma-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("aof.1.log");
        std::fs::write(&path, b"").unwrap();
        let p = path.clone();
        let expected = LocalExecutorBuilder::default()
            .io_memory(512 * 1024)
            .spawn(move || async move {
                let mut expected = Vec::new();
                let mut log = DmaLog::open(&p).await.unwrap();
                for (i, size) in [1usize, 7, 500, 4096, 3, 9000, 511, 512, 1]
                    .into_iter()
                    .enumerate()
                {
                    let bytes: Vec<u8> = (0..size).map(|j| (i * 31 + j) as u8 | 1).collect();
                    log.append(&bytes).await.unwrap();
                    log.sync().await.unwrap();
                    expected.extend_from_slice(&bytes);
                    assert_eq!(log.len(), expected.len() as u64);
                    if i % 3 == 2 {
                        log.close().await.unwrap();
                        // Recovery truncates the padding before reopening.
                        let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
                        f.set_len(expected.len() as u64).unwrap();
                        log = DmaLog::open(&p).await.unwrap();
                    }
                }
                log.close().await.unwrap();
                expected
            })
            .unwrap()
            .join()
            .unwrap();
        let on_disk = std::fs::read(&path).unwrap();
        assert_eq!(&on_disk[..expected.len()], &expected[..]);
        assert!(on_disk[expected.len()..].iter().all(|b| *b == 0));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
