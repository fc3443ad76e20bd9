//! A shard's files: snapshots `shard-N/snap.G.bin` and logs `shard-N/aof.G.log`.
//! `snap.G` holds the state at the start of `aof.G`, so `snap.G` followed by every
//! log `>= G` rebuilds the shard.
//!
//! A snapshot of generation G+1: on the shard's thread, pending writes are committed
//! and synced, the state is copied into memory and writes switch to a new, empty
//! `aof.G+1.log`. A background thread then checksums the copy, writes it to
//! `snap.G+1.bin.tmp`, fsyncs it, renames it into place, fsyncs the directory, reads
//! it back and verifies every checksum, and only then deletes what is no longer
//! needed. A crash at any point leaves either the old snapshot with `aof.G` and
//! `aof.G+1` after it, or the new snapshot: both give the same state.
//!
//! One previous generation is kept: after `snap.N` lands, the previous snapshot P
//! and every log `>= P` stay, and only generations `< P` are removed. If the newest
//! snapshot is damaged later (a flipped bit on disk), start-up falls back to P and
//! replays the logs from P on, which gives the same state; the damaged file is
//! renamed `*.corrupt` for inspection.
//!
//! Directories without a snapshot (new, or written by format v1, whose compacted
//! logs held the whole state; the legacy name `aof.log` is generation 0) are
//! recovered from their newest log alone and then snapshotted once at start-up.

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use kektordb_io::atomic::{sync_dir, write_file};
use kektordb_io::mapped::{map_file, Mmap};
use kektordb_io::storage::FileStorage;

use kektordb_shards::durable::DurableShard;

/// What a finished snapshot reports: its size in bytes, or why it failed.
pub type SnapshotDone = flume::Receiver<Result<u64, String>>;

pub struct ShardFiles {
    dir: PathBuf,
    /// Generation of the log being appended to.
    generation: u64,
    /// The newest snapshot on disk (the one start-up loads), if any.
    newest_snapshot: Option<u64>,
    /// The snapshot being written in the background; it reports the generation it
    /// made durable.
    in_flight: Option<JoinHandle<Option<u64>>>,
}

/// What a shard directory holds, as found at start-up.
pub struct Scan {
    dir: PathBuf,
    /// Snapshot generations, newest first.
    snapshots: Vec<u64>,
    /// Log generations, oldest first.
    logs: Vec<u64>,
}

/// A shard directory opened from one starting point.
pub struct Opened {
    /// The snapshot to load, mapped (None: the logs hold everything).
    pub snapshot: Option<Mmap>,
    /// Logs to replay after it, oldest first (the last one is appended to).
    pub logs: Vec<FileStorage>,
    /// No snapshot yet: take one as soon as the shard is recovered.
    pub needs_snapshot: bool,
    pub files: ShardFiles,
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

impl Scan {
    /// Lists `dir` (creating it) and removes leftover temp files.
    pub fn new(dir: &Path) -> std::io::Result<Scan> {
        std::fs::create_dir_all(dir)?;
        let (mut logs, mut snapshots) = (Vec::new(), Vec::new());
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let file = entry.file_name().to_string_lossy().into_owned();
            if file.ends_with(".tmp") {
                std::fs::remove_file(entry.path())?;
                continue;
            }
            match parse(&file) {
                Some((Kind::Log, g)) => logs.push(g),
                Some((Kind::Snap, g)) => snapshots.push(g),
                None => {}
            }
        }
        logs.sort_unstable();
        snapshots.sort_unstable_by(|a, b| b.cmp(a));
        Ok(Scan {
            dir: dir.to_owned(),
            snapshots,
            logs,
        })
    }

    /// Starting points to try, best first: each snapshot (newest first) whose logs
    /// after it are all present; without any snapshot, the logs alone (`None`).
    pub fn candidates(&self) -> Vec<Option<u64>> {
        if self.snapshots.is_empty() {
            return vec![None];
        }
        let newest_log = self.logs.last().copied();
        self.snapshots
            .iter()
            .copied()
            .filter(|&s| {
                // Every generation from s to the newest log must have its log
                // (a snapshot's own log may be absent only if nothing follows it).
                let end = newest_log.unwrap_or(s).max(s);
                (s..=end).all(|g| self.logs.contains(&g) || (g == s && g == end))
            })
            .map(Some)
            .collect()
    }

    /// Opens the directory from `start` (a snapshot generation, or None for the
    /// logs alone; see [`Scan::candidates`]).
    pub fn open(&self, start: Option<u64>) -> std::io::Result<Opened> {
        let first = match start {
            Some(s) => s,
            // Format v1: the newest log holds the whole state.
            None => self.logs.last().copied().unwrap_or(1),
        };
        let mut replay: Vec<u64> = self.logs.iter().copied().filter(|g| *g >= first).collect();
        if replay.is_empty() {
            replay.push(first);
        }
        let generation = *replay.last().expect("one log at least");
        let logs = replay
            .iter()
            .map(|g| FileStorage::open(&self.dir.join(log_name(*g))))
            .collect::<std::io::Result<Vec<_>>>()?;
        let snapshot = match start {
            Some(s) => Some(map_file(&self.dir.join(snap_name(s)))?),
            None => None,
        };
        Ok(Opened {
            needs_snapshot: snapshot.is_none(),
            snapshot,
            logs,
            files: ShardFiles {
                dir: self.dir.clone(),
                generation,
                newest_snapshot: start,
                in_flight: None,
            },
        })
    }

    /// Renames snapshot `generation` to `*.corrupt` (it failed its checks; kept for
    /// inspection, never loaded again). Returns its name.
    pub fn set_aside(&self, generation: u64) -> std::io::Result<String> {
        let name = snap_name(generation);
        std::fs::rename(
            self.dir.join(&name),
            self.dir.join(format!("{name}.corrupt")),
        )?;
        sync_dir(&self.dir)?;
        Ok(name)
    }
}

impl ShardFiles {
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
            if let Ok(Some(g)) = h.join() {
                self.newest_snapshot = Some(g);
            }
        }
    }

    /// Starts a snapshot of `ctx` (see the module doc); the receiver reports when it
    /// is durable. Waits first for a snapshot still being written.
    pub fn snapshot(
        &mut self,
        ctx: &mut DurableShard<FileStorage>,
    ) -> std::io::Result<SnapshotDone> {
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
        let previous = self.newest_snapshot;
        let handle = std::thread::Builder::new()
            .name("snapshot".into())
            .spawn(move || {
                let bytes = writer.finish();
                let outcome =
                    write_snapshot(&dir, next, &bytes, previous).map_err(|e| e.to_string());
                if let Err(e) = &outcome {
                    eprintln!(
                        "kektordb: {}: snapshot {next} failed: {e} (its logs are kept)",
                        dir.display()
                    );
                }
                let landed = outcome.is_ok().then_some(next);
                let _ = tx.send(outcome.map(|()| bytes.len() as u64));
                landed
            })?;
        self.in_flight = Some(handle);
        Ok(rx)
    }
}

/// Writes snapshot `generation` durably, verifies it as start-up would read it,
/// then removes the generations before `previous` (the newest snapshot before this
/// one, which is kept with its logs as the fallback).
fn write_snapshot(
    dir: &Path,
    generation: u64,
    bytes: &[u8],
    previous: Option<u64>,
) -> std::io::Result<()> {
    let name = snap_name(generation);
    write_file(dir, &name, bytes)?;
    let mapped = map_file(&dir.join(&name))?;
    if let Err(e) = kektordb_io::snapfile::read(&mapped) {
        let _ = std::fs::rename(dir.join(&name), dir.join(format!("{name}.corrupt")));
        return Err(std::io::Error::other(format!(
            "{name} does not verify after writing: {e}"
        )));
    }
    remove_older(dir, previous.unwrap_or(generation))
}

#[cfg(test)]
mod tests {
    //! Which starting points a directory offers, and the generations kept.
    use super::*;

    fn dir_with(name: &str, files: &[&str]) -> PathBuf {
        let d = std::env::temp_dir().join(format!("kektor-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        for f in files {
            std::fs::write(d.join(f), b"").unwrap();
        }
        d
    }

    #[test]
    fn candidates_need_every_later_log() {
        let d = dir_with(
            "cand",
            &[
                "snap.3.bin",
                "snap.4.bin",
                "aof.3.log",
                "aof.4.log",
                "x.tmp",
            ],
        );
        let scan = Scan::new(&d).unwrap();
        assert_eq!(scan.candidates(), vec![Some(4), Some(3)]);
        assert!(!d.join("x.tmp").exists());
        std::fs::remove_file(d.join("aof.3.log")).unwrap();
        assert_eq!(Scan::new(&d).unwrap().candidates(), vec![Some(4)]);
        let logs_only = dir_with("logs", &["aof.log"]);
        assert_eq!(Scan::new(&logs_only).unwrap().candidates(), vec![None]);
        let fresh = dir_with("fresh", &["snap.2.bin"]);
        assert_eq!(Scan::new(&fresh).unwrap().candidates(), vec![Some(2)]);
        for d in [d, logs_only, fresh] {
            std::fs::remove_dir_all(d).unwrap();
        }
    }

    #[test]
    fn remove_older_keeps_the_fallback() {
        let d = dir_with(
            "keep",
            &[
                "snap.2.bin",
                "aof.2.log",
                "snap.3.bin",
                "aof.3.log",
                "aof.4.log",
            ],
        );
        remove_older(&d, 3).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["aof.3.log", "aof.4.log", "snap.3.bin"]);
        std::fs::remove_dir_all(d).unwrap();
    }
}
