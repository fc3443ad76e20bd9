//! Maintenance in small steps, so a shard answers queries between them: vacuum and
//! compression prepare their work in steps that change no logical state (no log
//! record), and the logged op that ends them (`Vacuum`, `Compress`) then has little
//! left to do. Replaying that op without the steps does the whole work in one go and
//! reaches an equivalent state.

use roaring::RoaringBitmap;

use super::Index;
use crate::error::{Result, ShardError};
use crate::metric::Precision;
use crate::vectors::{Query, VectorStore};

/// A vacuum in progress: the dead nodes when it was planned and the lists to rebuild.
pub(super) struct VacuumPlan {
    dead: RoaringBitmap,
    lists: Vec<(u8, u32)>,
    next: usize,
}

/// A compression in progress: the rows converted so far.
pub(super) struct PendingStore {
    target: Precision,
    store: VectorStore,
}

impl Index {
    /// Rebuilds up to `max_lists` neighbour lists of a vacuum (planning it first);
    /// returns (lists done, lists planned). When all are done, unlinks the dead nodes
    /// and re-elects the entry point; the logged `Vacuum` op then finishes the work.
    pub fn vacuum_step(&mut self, max_lists: usize) -> (usize, usize) {
        let Some(store) = &self.store else {
            return (0, 0);
        };
        let plan = self.vacuum_plan.get_or_insert_with(|| {
            let mut dead = RoaringBitmap::new();
            dead.insert_range(0..self.ids.len() as u32);
            dead -= &self.live;
            let lists = self.hnsw.vacuum_plan(&|n| dead.contains(n));
            VacuumPlan {
                dead,
                lists,
                next: 0,
            }
        });
        let mut scratch = Query::default();
        let live = &self.live;
        let is_dead = |n: u32| !live.contains(n);
        let end = (plan.next + max_lists.max(1)).min(plan.lists.len());
        for &(level, node) in &plan.lists[plan.next..end] {
            self.hnsw
                .vacuum_rebuild(store, node, level as usize, &is_dead, &mut scratch);
        }
        plan.next = end;
        if end == plan.lists.len() {
            let dead = &plan.dead;
            // Only nodes dead at plan time: their neighbours were all repaired.
            self.hnsw
                .vacuum_finish(&|n| dead.contains(n) && !live.contains(n));
        }
        (end, plan.lists.len())
    }

    /// Converts up to `max_rows` rows towards `precision`; returns (rows done, rows).
    /// The logged `Compress` op swaps the converted store in (converting whatever is
    /// left); searches use the current store until then.
    pub fn compress_step(
        &mut self,
        precision: Precision,
        max_rows: usize,
    ) -> Result<(usize, usize)> {
        self.check_compress(precision)?;
        if !self
            .pending_store
            .as_ref()
            .is_some_and(|p| p.target == precision)
        {
            self.check_range_for(precision)?;
        }
        let Some(store) = &self.store else {
            return Ok((0, 0));
        };
        let pending = match &mut self.pending_store {
            Some(p) if p.target == precision => p,
            _ => self.pending_store.insert(PendingStore {
                target: precision,
                store: store.empty_like(precision),
            }),
        };
        let from = pending.store.len();
        let end = (from + max_rows.max(1)).min(store.len());
        for node in from..end {
            pending.store.push(&store.vector(node as u32));
        }
        Ok((end, store.len()))
    }

    /// Checks that this index may be compressed to `precision`.
    pub(super) fn check_compress(&self, precision: Precision) -> Result<()> {
        if precision != self.config.precision && !self.config.precision.can_compress_to(precision) {
            return Err(ShardError::invalid(
                "precision",
                format!(
                    "cannot compress {} to the larger {}",
                    self.config.precision.as_str(),
                    precision.as_str()
                ),
            ));
        }
        Ok(())
    }

    /// Checks that every stored value fits `precision` (float16 holds at most
    /// 65504 outside cosine indexes): compression never turns a value into
    /// infinity.
    pub(super) fn check_range_for(&self, precision: Precision) -> Result<()> {
        let limit = super::value_limit(self.config.metric, precision);
        let Some(store) = &self.store else {
            return Ok(());
        };
        if limit.0 >= crate::limits::VALUE_ABS_MAX {
            return Ok(());
        }
        for node in 0..store.len() as u32 {
            if !self.live.contains(node) {
                continue;
            }
            if let Err(e) = super::check_values(&store.vector(node), limit) {
                return Err(ShardError::invalid(
                    "precision",
                    format!(
                        "cannot compress to {}: item '{}' has {e}",
                        precision.as_str(),
                        self.ids.id(node)
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The converted store if compression steps prepared all of it (finishing the
    /// rows added since), else a conversion in one go.
    pub(super) fn take_converted(&mut self, precision: Precision) -> Option<VectorStore> {
        let store = self.store.as_ref()?;
        match self.pending_store.take() {
            Some(mut p) if p.target == precision && p.store.len() <= store.len() => {
                for node in p.store.len()..store.len() {
                    p.store.push(&store.vector(node as u32));
                }
                Some(p.store)
            }
            _ => Some(store.to_precision(precision)),
        }
    }
}

#[cfg(test)]
mod tests {
    //! Steps interleaved with writes end in the same logical state as the one-shot
    //! op, and a searchable graph without deleted nodes.
    use super::*;
    use crate::index::{IndexConfig, PartQuery};
    use crate::metric::Metric;
    use crate::rng::SplitMix64;
    use serde_json::Map;

    fn index(n: usize, rng: &mut SplitMix64) -> Index {
        let mut cfg = IndexConfig::new("t");
        cfg.metric = Metric::Euclidean;
        cfg.m = 8;
        let mut ix = Index::new(cfg).unwrap();
        for i in 0..n {
            let v: Vec<f32> = (0..16).map(|_| rng.normal()).collect();
            ix.upsert(&format!("v{i}"), &v, Map::new()).unwrap();
        }
        ix
    }

    fn nearest(ix: &Index, q: &[f32]) -> Vec<String> {
        ix.search_part(
            &PartQuery {
                vector: Some(q),
                k: 5,
                ef: 64,
                filter: None,
                terms: None,
                only_ids: None,
                now: 0,
            },
            None,
        )
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect()
    }

    #[test]
    fn vacuum_in_steps_with_writes_between() {
        let mut rng = SplitMix64(5);
        let mut ix = index(1500, &mut rng);
        for i in (0..1500).step_by(3) {
            ix.delete(&format!("v{i}"));
        }
        let (mut done, mut total) = ix.vacuum_step(50);
        assert!(total > 50, "a real plan: {total} lists");
        let mut k = 0;
        while done < total {
            // Writes between steps: new items, and more deletes.
            let v: Vec<f32> = (0..16).map(|_| rng.normal()).collect();
            ix.upsert(&format!("new{k}"), &v, Map::new()).unwrap();
            ix.delete(&format!("v{}", 1 + 3 * k));
            k += 1;
            (done, total) = ix.vacuum_step(50);
        }
        ix.vacuum();
        assert_eq!(ix.node_slots(), ix.len(), "every deleted row freed");
        assert_eq!(ix.deleted(), 0);
        for i in 0..1500 {
            let id = format!("v{i}");
            let deleted = i % 3 == 0 || (i % 3 == 1 && i / 3 < k);
            assert_eq!(ix.contains(&id), !deleted, "{id}");
        }
        // Every live item finds itself.
        for i in (2..1500).step_by(3).take(100) {
            let item = ix.get(&format!("v{i}")).unwrap();
            assert_eq!(nearest(&ix, &item.vector)[0], format!("v{i}"));
        }
    }

    #[test]
    fn compress_in_steps_with_writes_between() {
        let mut rng = SplitMix64(6);
        let mut ix = index(900, &mut rng);
        let mut added = 0;
        loop {
            let (done, total) = ix.compress_step(Precision::Int8, 100).unwrap();
            if done >= total {
                break;
            }
            assert_eq!(ix.config().precision, Precision::Float32, "not swapped yet");
            let v: Vec<f32> = (0..16).map(|_| rng.normal()).collect();
            ix.upsert(&format!("late{added}"), &v, Map::new()).unwrap();
            added += 1;
        }
        // Rows added after the last step are converted by the op itself.
        let v: Vec<f32> = (0..16).map(|_| rng.normal()).collect();
        ix.upsert("last", &v, Map::new()).unwrap();
        ix.compress(Precision::Int8).unwrap();
        assert_eq!(ix.config().precision, Precision::Int8);
        assert_eq!(ix.len(), 900 + added + 1);
        assert_eq!(ix.memory().rows, ix.len());
        for id in ["v0", "v450", "late0", "last"] {
            let item = ix.get(id).unwrap();
            assert_eq!(nearest(&ix, &item.vector)[0], id);
        }
        assert!(
            ix.compress_step(Precision::Float16, 10).is_err(),
            "int8 cannot grow to float16"
        );
    }
}
