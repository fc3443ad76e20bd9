//! A shard's files: snapshots `shard-N/snap.G.bin` and logs `shard-N/aof.G.log`.
//! `snap.G` holds the state at the start of `aof.G`. Recovery loads the newest
//! snapshot S and replays every log G >= S in order; older files are superseded
//! and removed.
//!
//! A snapshot of generation G+1: on the shard's thread, pending writes are committed
//! and synced, the state is copied into memory and writes switch to a new, empty
//! `aof.G+1.log`. A background thread then checksums the copy, writes it to
//! `snap.G+1.bin.tmp`, fsyncs it, renames it into place, fsyncs the directory and
//! only then deletes the older generations. A crash at any point leaves either the
//! old snapshot with `aof.G` and `aof.G+1` after it, or the new snapshot: both give
//! the same state.
//!
//! Directories without a snapshot (new, or written by format v1, whose compacted
//! logs held the whole state; the legacy name `aof.log` is generation 0) are
//! recovered from their newest log alone and then snapshotted once at start-up.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use kektordb_io::mapped::{map_file, Mmap};
use kektordb_io::storage::FileStorage;

use super::executors::Ctx;

/// What a finished snapshot reports: its size in bytes, or why it failed.
pub type SnapshotDone = flume::Receiver<Result<u64, String>>;

pub struct ShardLog {
    dir: PathBuf,
    /// Generation of the log being appended to.
    generation: u64,
    /// The snapshot being written in the background.
    in_flight: Option<JoinHandle<()>>,
}

/// A shard directory as found at start-up.
pub struct Opened {
    /// The newest snapshot, mapped.
    pub snapshot: Option<Mmap>,
    /// Logs to replay after it, oldest first (the last one is appended to).
    pub logs: Vec<FileStorage>,
    /// No snapshot yet: take one as soon as the shard is recovered.
    pub needs_snapshot: bool,
    pub files: ShardLog,
}

fn log_name(generation: u64) -> String {
    if generation == 0 {
        "aof.log".to_owned()
    } else {
        format!("aof.{generation}.log")
    }
}

fn snap_name(generation: u64) -> String {
    format!("snap.{generation}.bin")
}

enum Kind {
    Log,
    Snap,
}

fn parse(file: &str) -> Option<(Kind, u64)> {
    if file == "aof.log" {
        return Some((Kind::Log, 0));
    }
    if let Some(g) = file
        .strip_prefix("aof.")
        .and_then(|f| f.strip_suffix(".log"))
    {
        return g.parse().ok().map(|g| (Kind::Log, g));
    }
    let g = file.strip_prefix("snap.")?.strip_suffix(".bin")?;
    g.parse().ok().map(|g| (Kind::Snap, g))
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Removes every log and snapshot of a generation below `keep`.
fn remove_older(dir: &Path, keep: u64) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if let Some((_, g)) = parse(&entry.file_name().to_string_lossy()) {
            if g < keep {
                std::fs::remove_file(entry.path())?;
            }
        }
    }
    sync_dir(dir)
}

impl ShardLog {
    /// Opens `dir` (creating it): finds the newest snapshot and the logs after it,
    /// removes superseded generations and temp files.
    pub fn open(dir: &Path) -> std::io::Result<Opened> {
        std::fs::create_dir_all(dir)?;
        let (mut logs, mut snaps) = (Vec::new(), Vec::new());
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let file = entry.file_name().to_string_lossy().into_owned();
            if file.ends_with(".tmp") {
                std::fs::remove_file(entry.path())?;
                continue;
            }
            match parse(&file) {
                Some((Kind::Log, g)) => logs.push(g),
                Some((Kind::Snap, g)) => snaps.push(g),
                None => {}
            }
        }
        logs.sort_unstable();
        let newest_snap = snaps.iter().max().copied();
        let first = match newest_snap {
            Some(s) => s,
            // Format v1: the newest log holds the whole state.
            None => logs.last().copied().unwrap_or(1),
        };
        remove_older(dir, first)?;
        let mut replay: Vec<u64> = logs.into_iter().filter(|g| *g >= first).collect();
        if replay.is_empty() {
            replay.push(first);
        }
        let generation = *replay.last().expect("one log at least");
        let logs = replay
            .iter()
            .map(|g| FileStorage::open(&dir.join(log_name(*g))))
            .collect::<std::io::Result<Vec<_>>>()?;
        let snapshot = match newest_snap {
            Some(s) => Some(map_file(&dir.join(snap_name(s)))?),
            None => None,
        };
        Ok(Opened {
            needs_snapshot: snapshot.is_none(),
            snapshot,
            logs,
            files: ShardLog {
                dir: dir.to_owned(),
                generation,
                in_flight: None,
            },
        })
    }

    /// The log being appended to.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join(log_name(self.generation))
    }

    /// Whether a snapshot is still being written.
    pub fn busy(&self) -> bool {
        self.in_flight.as_ref().is_some_and(|h| !h.is_finished())
    }

    /// Waits for the snapshot being written, if any.
    pub fn wait(&mut self) {
        if let Some(h) = self.in_flight.take() {
            let _ = h.join();
        }
    }

    /// Starts a snapshot of `ctx` (see the module doc); the receiver reports when it
    /// is durable. Waits first for a snapshot still being written.
    pub fn snapshot(&mut self, ctx: &mut Ctx) -> std::io::Result<SnapshotDone> {
        self.wait();
        let next = self.generation + 1;
        let log_path = self.dir.join(log_name(next));
        let fresh = FileStorage::open(&log_path)?;
        let writer = match ctx.snapshot_begin(fresh) {
            Ok(w) => w,
            Err(e) => {
                let _ = std::fs::remove_file(&log_path);
                return Err(e);
            }
        };
        self.generation = next;
        let (tx, rx) = flume::bounded(1);
        let dir = self.dir.clone();
        let handle = std::thread::Builder::new()
            .name("snapshot".into())
            .spawn(move || {
                let bytes = writer.finish();
                let outcome = write_snapshot(&dir, next, &bytes).map_err(|e| e.to_string());
                if let Err(e) = &outcome {
                    eprintln!(
                        "kektordb: {}: snapshot {next} failed: {e} (its logs are kept)",
                        dir.display()
                    );
                }
                let _ = tx.send(outcome.map(|()| bytes.len() as u64));
            })?;
        self.in_flight = Some(handle);
        Ok(rx)
    }
}

fn write_snapshot(dir: &Path, generation: u64, bytes: &[u8]) -> std::io::Result<()> {
    let name = snap_name(generation);
    let tmp = dir.join(format!("{name}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, dir.join(&name))?;
    sync_dir(dir)?;
    remove_older(dir, generation)
}
