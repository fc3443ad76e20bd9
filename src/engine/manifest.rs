//! `MANIFEST` in the data directory records the layout the logs were written with:
//! the shard count and the hash that routes ids to shards. Opening the data with
//! another count would put ids on the wrong shard: that is refused with a clear
//! message (resharding on start is not implemented).
//!
//! Version 1 (`kektordb-rs data v1`) has no hash line: those directories route with
//! FNV-1a and keep doing so. New directories are written as version 2 with the
//! mixed hash (`hash fnv1a-fmix64`); a binary that only knows version 1 refuses
//! them instead of misrouting.

use std::path::Path;

use kektordb_shards::router::RouteHash;

use super::error::{EngineError, Result};

const HEADER_V1: &str = "kektordb-rs data v1";
const HEADER_V2: &str = "kektordb-rs data v2";

/// The hash new data directories are written with.
pub const NEW_DIR_HASH: RouteHash = RouteHash::Fnv1aMix;

/// Checks `dir`'s manifest against `shards` (or writes one for a new directory);
/// returns the hash its ids are routed with.
pub fn check_or_create(dir: &Path, shards: usize) -> Result<RouteHash> {
    let path = dir.join("MANIFEST");
    let err = |e: std::io::Error| EngineError::Storage(format!("{}: {e}", path.display()));
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let mut lines = text.lines();
            let hash = match lines.next() {
                Some(HEADER_V1) => RouteHash::Fnv1a,
                Some(HEADER_V2) => {
                    let name = text
                        .lines()
                        .find_map(|l| l.strip_prefix("hash "))
                        .map(str::trim);
                    name.and_then(RouteHash::from_name).ok_or_else(|| {
                        EngineError::Manifest(format!(
                            "{} names no known id hash ({name:?})",
                            path.display()
                        ))
                    })?
                }
                _ => {
                    return Err(EngineError::Manifest(format!(
                        "{} is not a kektordb-rs manifest (v1 or v2)",
                        path.display()
                    )))
                }
            };
            let found: Option<usize> = text
                .lines()
                .find_map(|l| l.strip_prefix("shards "))
                .and_then(|v| v.trim().parse().ok());
            match found {
                Some(n) if n == shards => Ok(hash),
                Some(n) => Err(EngineError::Manifest(format!(
                    "the data in {} was written by {n} shards; start with -shards {n} (resharding is not supported yet)",
                    dir.display()
                ))),
                None => Err(EngineError::Manifest(format!("{} has no shard count", path.display()))),
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let text = format!(
                "{HEADER_V2}\nshards {shards}\nhash {}\n",
                NEW_DIR_HASH.name()
            );
            kektordb_io::atomic::write_file(dir, "MANIFEST", text.as_bytes()).map_err(err)?;
            Ok(NEW_DIR_HASH)
        }
        Err(e) => Err(err(e)),
    }
}

#[cfg(test)]
mod tests {
    //! Old manifests keep FNV-1a; new ones record the mixed hash; a wrong shard
    //! count or an unknown hash is refused.
    use super::*;

    fn dir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("kektor-manifest-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn versions_and_hashes() {
        let d = dir("new");
        assert_eq!(check_or_create(&d, 2).unwrap(), RouteHash::Fnv1aMix);
        assert_eq!(check_or_create(&d, 2).unwrap(), RouteHash::Fnv1aMix);
        assert!(check_or_create(&d, 3)
            .unwrap_err()
            .to_string()
            .contains("-shards 2"));
        let old = dir("old");
        std::fs::write(old.join("MANIFEST"), "kektordb-rs data v1\nshards 2\n").unwrap();
        assert_eq!(check_or_create(&old, 2).unwrap(), RouteHash::Fnv1a);
        let bad = dir("bad");
        std::fs::write(
            bad.join("MANIFEST"),
            "kektordb-rs data v2\nshards 2\nhash md5\n",
        )
        .unwrap();
        assert!(check_or_create(&bad, 2).is_err());
        for d in [d, old, bad] {
            std::fs::remove_dir_all(d).unwrap();
        }
    }
}
