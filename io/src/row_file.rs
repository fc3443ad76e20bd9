//! A growable array of f32 rows kept in a scratch file and read through a memory
//! map, so the rows live in the page cache rather than in the process's own memory:
//! the kernel keeps the pages it has room for and reads back the rest on demand.
//! Used for what is read rarely (int8's full-precision copies, read only to rescore
//! final candidates). The file is unlinked as soon as it is open: nothing is left on
//! disk after a crash, and durability stays with the log and the snapshots.
//!
//! Rows are written with `pwrite` and read through a read-only shared map of the
//! same file; Linux's page cache is unified, so a written row is visible through
//! the map at once.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::Mmap;

/// The first capacity, in f32 cells (4 MiB); doubled when full.
const FIRST_CELLS: usize = 1 << 20;

pub struct RowFile {
    file: File,
    map: Option<Mmap>,
    /// Cells written.
    len: usize,
    /// Cells the file (and the map) can hold.
    cap: usize,
}

fn unique_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "rows-{}-{}.tmp",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl RowFile {
    /// A new, empty row file in `dir` (created if missing), already unlinked.
    pub fn create_in(dir: &Path) -> std::io::Result<RowFile> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(unique_name());
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        std::fs::remove_file(&path)?;
        Ok(RowFile {
            file,
            map: None,
            len: 0,
            cap: 0,
        })
    }

    /// Cells (f32 values) written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Everything written, in order.
    pub fn cells(&self) -> &[f32] {
        match &self.map {
            None => &[],
            Some(m) => &bytemuck::cast_slice::<u8, f32>(&m[..self.cap * 4])[..self.len],
        }
    }

    /// Appends `cells`. On an error nothing is appended (the caller may keep the
    /// rows elsewhere).
    pub fn extend(&mut self, cells: &[f32]) -> std::io::Result<()> {
        let need = self.len + cells.len();
        if need > self.cap {
            let mut cap = self.cap.max(FIRST_CELLS);
            while cap < need {
                cap *= 2;
            }
            self.file.set_len(cap as u64 * 4)?;
            // Drop the old map before making the new one (never two at once).
            self.map = None;
            // SAFETY: the file is private to this value: created with create_new
            // and unlinked at once, so no other process or handle writes or
            // truncates it. It is only ever grown (set_len above, before mapping),
            // so every mapped byte stays inside the file and no access can fault
            // with SIGBUS. Writes go through `pwrite` under `&mut self`, so no
            // slice handed out by `cells` (borrowing `&self`) is alive while bytes
            // under it change.
            self.map = Some(unsafe { memmap2::MmapOptions::new().map(&self.file)? });
            self.cap = cap;
        }
        self.file
            .write_all_at(bytemuck::cast_slice(cells), self.len as u64 * 4)?;
        self.len = need;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_written_read_back_across_growth() {
        let dir = std::env::temp_dir().join(format!("kektor-rows-{}", std::process::id()));
        let mut f = RowFile::create_in(&dir).unwrap();
        assert!(f.is_empty() && f.cells().is_empty());
        // Leaves no file behind: it is unlinked at once.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        let mut want = Vec::new();
        let mut x = 0.0f32;
        // Past the first capacity twice, in uneven pieces.
        while want.len() < 3 * FIRST_CELLS {
            let piece: Vec<f32> = (0..1537)
                .map(|_| {
                    x += 0.5;
                    x
                })
                .collect();
            f.extend(&piece).unwrap();
            want.extend_from_slice(&piece);
        }
        assert_eq!(f.len(), want.len());
        assert_eq!(f.cells(), &want[..]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
