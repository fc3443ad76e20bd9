//! Full-precision rows, in memory or paged: int8's full-precision copy is read only
//! to rescore final candidates, so once [`page_cold_rows_in`] names a directory it
//! lives in a scratch file read through the page cache ([`RowFile`]) instead of
//! the process's own memory. That keeps an int8 index's resident memory near its
//! codes and graph; the kernel keeps the pages it has room for, so rescoring costs
//! nothing more while they fit and reads from disk when they do not.
//!
//! The directory is one setting for the process (the server sets it to its data
//! directory, the ANN bench to `--cold-dir`); without it, rows stay in memory. A
//! failed write to the file moves the rows back into memory, so no row is lost.

use std::path::PathBuf;
use std::sync::OnceLock;

use kektordb_io::row_file::RowFile;

use crate::huge_pages;

static COLD_DIR: OnceLock<PathBuf> = OnceLock::new();

/// Pages int8's full-precision copies into scratch files under `dir` from now on
/// (stores made earlier keep theirs in memory). The first call wins.
pub fn page_cold_rows_in(dir: PathBuf) {
    let _ = COLD_DIR.set(dir);
}

pub enum F32Rows {
    Ram(Vec<f32>),
    Paged(RowFile),
}

impl F32Rows {
    /// Rows kept in memory.
    pub fn ram(cells: Vec<f32>) -> F32Rows {
        F32Rows::Ram(cells)
    }

    /// Rows read rarely: paged when a directory is set and the file opens (and
    /// takes the rows), in memory otherwise.
    pub fn cold(cells: Vec<f32>) -> F32Rows {
        let Some(dir) = COLD_DIR.get() else {
            return F32Rows::ram(cells);
        };
        match RowFile::create_in(dir) {
            Ok(mut f) => match f.extend(&cells) {
                Ok(()) => F32Rows::Paged(f),
                Err(_) => F32Rows::ram(cells),
            },
            Err(_) => F32Rows::ram(cells),
        }
    }

    /// Appends cells; if the file cannot take them, every row moves to memory.
    pub fn extend(&mut self, cells: &[f32]) {
        match self {
            F32Rows::Ram(v) => huge_pages::extend_from_slice(v, cells),
            F32Rows::Paged(f) => {
                if f.extend(cells).is_err() {
                    let mut v = f.cells().to_vec();
                    v.extend_from_slice(cells);
                    *self = F32Rows::Ram(v);
                }
            }
        }
    }

    /// Whether the rows live in the page cache rather than in memory.
    pub fn is_paged(&self) -> bool {
        matches!(self, F32Rows::Paged(_))
    }
}

impl std::ops::Deref for F32Rows {
    type Target = [f32];

    fn deref(&self) -> &[f32] {
        match self {
            F32Rows::Ram(v) => v,
            F32Rows::Paged(f) => f.cells(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paged_and_ram_rows_read_alike() {
        let mut ram = F32Rows::ram(vec![1.0, 2.0]);
        ram.extend(&[3.0]);
        assert_eq!(&ram[..], &[1.0, 2.0, 3.0]);
        assert!(!ram.is_paged());
        let dir = std::env::temp_dir().join(format!("kektor-cold-{}", std::process::id()));
        let mut paged = F32Rows::Paged(RowFile::create_in(&dir).unwrap());
        paged.extend(&[1.0, 2.0]);
        paged.extend(&[3.0]);
        assert_eq!(&paged[..], &ram[..]);
        assert!(paged.is_paged());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
