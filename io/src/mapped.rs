//! Read-only memory maps of snapshot files (with `row_file.rs`, the only `unsafe`
//! in this crate).

use std::fs::File;
use std::path::Path;

pub use memmap2::Mmap;

/// Maps `path` read-only, asking the kernel to read it in ahead (`MAP_POPULATE`),
/// since a snapshot is read from start to end at once.
pub fn map_file(path: &Path) -> std::io::Result<Mmap> {
    let file = File::open(path)?;
    // SAFETY: the map is read-only and the files mapped are snapshots, which are
    // written to a temp file and renamed into place; no process writes to or
    // truncates a snapshot once it has its final name (a new snapshot gets a new
    // name), so the mapped bytes do not change under the reader.
    unsafe { memmap2::MmapOptions::new().populate().map(&file) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn maps_what_was_written() {
        let dir = std::env::temp_dir().join(format!("kektor-map-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("f.bin");
        std::fs::write(&p, b"0123456789").unwrap();
        let m = super::map_file(&p).unwrap();
        assert_eq!(&m[..], b"0123456789");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
