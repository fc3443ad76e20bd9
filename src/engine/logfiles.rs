//! A shard's log files: `shard-N/aof.G.log`, G the generation (a compaction writes
//! generation G+1 beside G as `aof.G+1.log.tmp`, fsyncs it, renames it into place,
//! fsyncs the directory, then deletes G). The legacy name `aof.log` is generation 0.
//! On open, the newest generation is the log (it was renamed into place only once
//! complete); older generations and temp files are leftovers of an interrupted
//! compaction and are removed.

use std::path::{Path, PathBuf};

use kektordb_io::storage::FileStorage;

use super::executors::Ctx;

pub struct ShardLog {
    dir: PathBuf,
    generation: u64,
}

fn name(generation: u64) -> String {
    if generation == 0 {
        "aof.log".to_owned()
    } else {
        format!("aof.{generation}.log")
    }
}

fn parse_generation(file: &str) -> Option<u64> {
    if file == "aof.log" {
        return Some(0);
    }
    file.strip_prefix("aof.")?
        .strip_suffix(".log")?
        .parse()
        .ok()
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

impl ShardLog {
    /// Opens the newest log generation in `dir` (creating generation 1 in a new
    /// directory) and removes superseded generations and temp files.
    pub fn open(dir: &Path) -> std::io::Result<(FileStorage, ShardLog)> {
        std::fs::create_dir_all(dir)?;
        let mut generations = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let file = entry.file_name().to_string_lossy().into_owned();
            if file.ends_with(".tmp") {
                std::fs::remove_file(entry.path())?;
            } else if let Some(g) = parse_generation(&file) {
                generations.push(g);
            }
        }
        generations.sort_unstable();
        let newest = generations.last().copied().unwrap_or(1);
        for g in generations.iter().filter(|g| **g < newest) {
            std::fs::remove_file(dir.join(name(*g)))?;
        }
        let storage = FileStorage::open(&dir.join(name(newest)))?;
        sync_dir(dir)?;
        Ok((
            storage,
            ShardLog {
                dir: dir.to_owned(),
                generation: newest,
            },
        ))
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Compacts `ctx`'s log into the next generation; returns its size in bytes.
    pub fn compact(&mut self, ctx: &mut Ctx) -> std::io::Result<u64> {
        let next = self.generation + 1;
        let tmp = self.dir.join(format!("{}.tmp", name(next)));
        let fresh = FileStorage::open(&tmp)?;
        let bytes = match ctx.compact_into(fresh) {
            Ok(b) => b,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        std::fs::rename(&tmp, self.dir.join(name(next)))?;
        sync_dir(&self.dir)?;
        std::fs::remove_file(self.dir.join(name(self.generation)))?;
        sync_dir(&self.dir)?;
        self.generation = next;
        Ok(bytes)
    }
}
