//! Start-up of a data directory: every shard recovers on its own thread (snapshot,
//! then the logs after it), falling back to the previous snapshot generation when
//! the newest one fails its checks; then the shards are checked against each other
//! (every index must exist on every shard).

use std::path::Path;

use kektordb_shards::durable::{
    DurableShard, FsyncPolicy, RecoverError, RecoveryReport, SnapshotPolicy,
};
use kektordb_shards::op::Op;

use super::error::{EngineError, Result};
use super::files::{Opened, Scan};
use super::state::ShardState;

/// How the shards of one directory are recovered.
#[derive(Clone, Copy)]
pub struct Recovery {
    pub fsync: FsyncPolicy,
    pub skip_corrupt: bool,
    pub policy: SnapshotPolicy,
}

fn storage(dir: &Path) -> impl Fn(std::io::Error) -> EngineError + '_ {
    move |e| EngineError::Storage(format!("{}: {e}", dir.display()))
}

/// A recovered shard, and whether it still needs its first snapshot.
type Recovered = (ShardState, RecoveryReport, bool);

/// Recovers shard `i` from `dir`.
fn recover_shard(i: usize, dir: &Path, how: Recovery) -> Result<Recovered> {
    let scan = Scan::new(dir).map_err(storage(dir))?;
    let candidates = scan.candidates();
    let mut failures = Vec::new();
    for (n, start) in candidates.iter().enumerate() {
        let Opened {
            snapshot,
            logs,
            needs_snapshot,
            files,
        } = scan.open(*start).map_err(storage(dir))?;
        let recovered =
            DurableShard::recover_chain(snapshot.as_deref(), logs, how.fsync, how.skip_corrupt);
        let (ctx, mut report) = match recovered {
            Ok(r) => r,
            // A damaged snapshot fails before any log is touched: try the previous.
            Err(RecoverError::Snapshot(e)) if n + 1 < candidates.len() => {
                failures.push((start.unwrap_or(0), e.to_string()));
                continue;
            }
            Err(error) => return Err(EngineError::Recover { shard: i, error }),
        };
        for (g, why) in &failures {
            let name = scan.set_aside(*g).map_err(storage(dir))?;
            report.notes.push(format!(
                "shard {i}: {name} failed its checks ({why}); renamed {name}.corrupt and recovered from the previous generation"
            ));
        }
        return Ok((
            ShardState::new(ctx, Some(files), how.policy),
            report,
            needs_snapshot,
        ));
    }
    unreachable!("there is always one candidate");
}

fn snapshot_now(st: &mut ShardState, dir: &Path) -> Result<()> {
    let (ctx, files) = (
        &mut st.durable,
        st.files.as_mut().expect("a shard on disk has files"),
    );
    let done = files.snapshot(ctx).map_err(storage(dir))?;
    done.recv()
        .unwrap_or_else(|_| Err("snapshot thread died".into()))
        .map_err(|e| EngineError::Storage(format!("{}: {e}", dir.display())))?;
    Ok(())
}

/// Recovers every shard of `dir` in parallel (one thread each), checks that every
/// index exists on every shard, and only then takes the first snapshot of shards
/// that have none (so a refused start changes no file).
pub fn recover_all(
    dir: &Path,
    shards: usize,
    how: Recovery,
) -> Result<(Vec<ShardState>, Vec<RecoveryReport>)> {
    let recovered: Vec<Result<Recovered>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..shards)
            .map(|i| {
                let shard_dir = dir.join(format!("shard-{i}"));
                scope.spawn(move || recover_shard(i, &shard_dir, how))
            })
            .collect();
        handles
            .into_iter()
            .enumerate()
            .map(|(i, h)| {
                h.join()
                    .unwrap_or(Err(EngineError::RecoverPanicked { shard: i }))
            })
            .collect()
    });
    let mut states = Vec::with_capacity(shards);
    let mut reports = Vec::with_capacity(shards);
    let mut first_snapshot = Vec::new();
    for (i, r) in recovered.into_iter().enumerate() {
        let (st, report, needs) = r?;
        states.push(st);
        reports.push(report);
        if needs {
            first_snapshot.push(i);
        }
    }
    check_indexes(&mut states, &mut reports, how.skip_corrupt)?;
    for i in first_snapshot {
        snapshot_now(&mut states[i], &dir.join(format!("shard-{i}")))?;
    }
    Ok((states, reports))
}

/// Every index must exist on every shard (an index is created on all of them
/// before any write reaches one). A part missing means a lost or emptied file: the
/// start is refused naming the index and the shards, unless `repair` (the
/// skip-corrupt option) asks to re-create the missing parts empty, which is logged.
fn check_indexes(
    states: &mut [ShardState],
    reports: &mut [RecoveryReport],
    repair: bool,
) -> Result<()> {
    let mut all: Vec<(String, kektordb_shards::IndexConfig)> = Vec::new();
    for st in states.iter() {
        for ix in st.durable.shard().indexes() {
            let name = &ix.config().name;
            if !all.iter().any(|(n, _)| n == name) {
                all.push((name.clone(), ix.config().clone()));
            }
        }
    }
    all.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, config) in all {
        let missing: Vec<usize> = (0..states.len())
            .filter(|&s| states[s].durable.shard().index(&name).is_err())
            .collect();
        if missing.is_empty() {
            continue;
        }
        if !repair {
            return Err(EngineError::Inconsistent {
                index: name,
                missing,
            });
        }
        for &s in &missing {
            let ctx = &mut states[s].durable;
            ctx.apply(Op::CreateIndex(config.clone()))?;
            ctx.commit()
                .map_err(|e| EngineError::Storage(format!("shard {s}: {e}")))?;
            reports[s].notes.push(format!(
                "shard {s}: index '{name}' was missing (its items on this shard are lost); re-created empty"
            ));
        }
    }
    Ok(())
}
