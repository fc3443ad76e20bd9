//! Graph upkeep: the graph vacuum (edge versions soft-deleted longer ago than the
//! retention are removed, on every shard, as one logged op each) and self-repair
//! (the live edges of a deleted item are soft-deleted in the background, so
//! traversals stop reaching it while time travel still shows them).

use kektordb_shards::graph::Side;
use kektordb_shards::op::Op;
use kektordb_shards::router::shard_of;
use kektordb_shards::ShardError;

use super::error::Result;
use super::{now_nanos, Engine};

/// Deleted ids waiting for self-repair; past this, repairs are dropped (counted).
pub const REPAIR_QUEUE_MAX: usize = 65_536;

impl Engine {
    /// Removes edge versions soft-deleted before `before` (unix ns) on every shard;
    /// returns how many.
    pub async fn graph_vacuum(&self, before: i64) -> Result<usize> {
        let mut removed = 0;
        for s in 0..self.shards() {
            removed += self
                .write(s, move |ctx| -> std::result::Result<usize, ShardError> {
                    let n = ctx.shard().graph().deleted_before(before);
                    if n > 0 {
                        ctx.apply(Op::GraphVacuum { before })?;
                    }
                    Ok(n)
                })
                .await??;
        }
        Ok(removed)
    }

    /// Queues `id` for self-repair (called after a delete is acknowledged).
    pub(super) fn note_deleted(&self, id: &str) {
        if self.inner.repairs.0.try_send(id.to_owned()).is_err() {
            self.inner
                .repairs_dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Repairs dropped because the queue was full (since start).
    pub fn repairs_dropped(&self) -> u64 {
        self.inner
            .repairs_dropped
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Self-repair of up to `max` deleted ids: an id no longer live in any index
    /// gets its live outgoing and incoming edges soft-deleted (both halves). Returns
    /// the edges unlinked.
    pub async fn repair_edges(&self, max: usize) -> Result<usize> {
        let mut unlinked = 0;
        for _ in 0..max {
            let Ok(id) = self.inner.repairs.1.try_recv() else {
                break;
            };
            let owned = id.clone();
            let (exists, out, inc) = self
                .ask(shard_of(&id, self.shards()), move |sh| {
                    let exists = sh.indexes().any(|ix| ix.contains(&owned));
                    let now = now_nanos();
                    let out = sh.graph().edges(Side::Out, &owned, None, now);
                    let inc = sh.graph().edges(Side::In, &owned, None, now);
                    (exists, out, inc)
                })
                .await?;
            if exists {
                continue;
            }
            for (relation, e) in out {
                unlinked += usize::from(self.unlink(&id, &e.other, &relation, false).await?);
            }
            for (relation, e) in inc {
                unlinked += usize::from(self.unlink(&e.other, &id, &relation, false).await?);
            }
        }
        Ok(unlinked)
    }
}
