//! `MANIFEST` in the data directory records the layout the logs were written with.
//! Ids are routed by hash modulo the shard count, so opening the data with another
//! count would put ids on the wrong shard: that is refused with a clear message
//! (resharding on start is not implemented).

use std::path::Path;

use super::error::{EngineError, Result};

const HEADER: &str = "kektordb-rs data v1";

pub fn check_or_create(dir: &Path, shards: usize) -> Result<()> {
    let path = dir.join("MANIFEST");
    let err = |e: std::io::Error| EngineError::Storage(format!("{}: {e}", path.display()));
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let mut lines = text.lines();
            if lines.next() != Some(HEADER) {
                return Err(EngineError::Manifest(format!(
                    "{} is not a kektordb-rs v1 manifest",
                    path.display()
                )));
            }
            let found: Option<usize> = lines
                .find_map(|l| l.strip_prefix("shards "))
                .and_then(|v| v.trim().parse().ok());
            match found {
                Some(n) if n == shards => Ok(()),
                Some(n) => Err(EngineError::Manifest(format!(
                    "the data in {} was written by {n} shards; start with -shards {n} (resharding is not supported yet)",
                    dir.display()
                ))),
                None => Err(EngineError::Manifest(format!("{} has no shard count", path.display()))),
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(err)?;
            let tmp = dir.join("MANIFEST.tmp");
            std::fs::write(&tmp, format!("{HEADER}\nshards {shards}\n")).map_err(err)?;
            std::fs::File::open(&tmp)
                .and_then(|f| f.sync_all())
                .map_err(err)?;
            std::fs::rename(&tmp, &path).map_err(err)?;
            std::fs::File::open(dir)
                .and_then(|f| f.sync_all())
                .map_err(err)?;
            Ok(())
        }
        Err(e) => Err(err(e)),
    }
}
