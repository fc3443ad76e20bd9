//! Replacing a file so that a crash leaves either the old or the new contents:
//! write `name.tmp`, fsync it, rename it over `name`, fsync the directory.

use std::io::Write;
use std::path::Path;

/// Makes the directory entries of `dir` (creations, renames, removals) durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Atomically replaces `dir/name` with `bytes` (see the module doc).
pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("{name}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, dir.join(name))?;
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    //! The file holds the new bytes and no temp file is left behind.
    use super::*;

    #[test]
    fn replaces_and_leaves_no_temp() {
        let dir = std::env::temp_dir().join(format!("kektor-atomic-{}", std::process::id()));
        write_file(&dir, "f", b"one").unwrap();
        write_file(&dir, "f", b"two").unwrap();
        assert_eq!(std::fs::read(dir.join("f")).unwrap(), b"two");
        assert!(!dir.join("f.tmp").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
