//! Graph upkeep: the graph vacuum (edge versions soft-deleted longer ago than the
//! retention are removed, on every shard, as one logged op each) and self-repair
//! (the live edges of a deleted item are soft-deleted in the background, so
//! traversals stop reaching it while time travel still shows them; the queue of
//! ids to repair is part of the shard's durable state).

use kektordb_shards::graph::Side;
use kektordb_shards::op::Op;
use kektordb_shards::ShardError;

use super::error::Result;
use super::{now_nanos, Engine};

impl Engine {
    /// Removes edge versions soft-deleted before `before` (unix ns) on every shard;
    /// returns how many.
    pub async fn graph_vacuum(&self, before: i64) -> Result<usize> {
        let mut removed = 0;
        for s in 0..self.shards() {
            removed += self
                .write(s, move |st| -> std::result::Result<usize, ShardError> {
                    let n = st.durable.shard().graph().deleted_before(before);
                    if n > 0 {
                        st.durable.apply(Op::GraphVacuum { before })?;
                    }
                    Ok(n)
                })
                .await??;
        }
        Ok(removed)
    }

    /// Self-repair: on every shard, up to `max` ids whose delete queued them (a
    /// logged delete of an item with live edges does) get their live outgoing and
    /// incoming edges soft-deleted (both halves), unless the id is live again in
    /// some index; then a logged `RepairDone` clears them. Idempotent, so a crash in
    /// the middle only repeats work. Returns the edges unlinked.
    pub async fn repair_edges(&self, max: usize) -> Result<usize> {
        let mut unlinked = 0;
        for s in 0..self.shards() {
            let work = self
                .ask(s, move |sh| {
                    let now = now_nanos();
                    sh.graph()
                        .pending_repairs(max)
                        .into_iter()
                        .map(|id| {
                            let exists = sh.indexes().any(|ix| ix.contains(&id));
                            let out = sh.graph().edges(Side::Out, &id, None, now);
                            let inc = sh.graph().edges(Side::In, &id, None, now);
                            (id, exists, out, inc)
                        })
                        .collect::<Vec<_>>()
                })
                .await?;
            if work.is_empty() {
                continue;
            }
            let mut done = Vec::with_capacity(work.len());
            for (id, exists, out, inc) in work {
                if !exists {
                    for (relation, e) in out {
                        unlinked +=
                            usize::from(self.unlink(&id, &e.other, &relation, false).await?);
                    }
                    for (relation, e) in inc {
                        unlinked +=
                            usize::from(self.unlink(&e.other, &id, &relation, false).await?);
                    }
                }
                done.push(id);
            }
            self.write_try(s, move |st| st.durable.apply(Op::RepairDone { ids: done }))
                .await?;
        }
        Ok(unlinked)
    }
}
