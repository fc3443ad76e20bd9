//! Threads lent to a shard for the read-only phases of a batch insertion
//! (`DurableShard::with_batch_linking`: searches, neighbour choices, rebuilt
//! back-link lists). With fewer shards than cores, one executor
//! would otherwise build its part of a large batch on one core while the others
//! idle. The threads are scoped to each call (a chunk of up to
//! `LINK_CHUNK_MAX` searches, tens of milliseconds against ~30 µs to start a
//! thread), so none outlives the job that borrowed them; they compute only (no I/O,
//! no locks, no waiting on anything but each other).

use std::sync::atomic::{AtomicUsize, Ordering};

use kektordb_shards::parallel::ParallelFor;

/// `.0` threads in all: the caller's and `.0 - 1` scoped ones.
pub struct LentThreads(pub usize);

impl LentThreads {
    /// What each of `shards` executors may use on this machine: its share of the
    /// cores, at least 1.
    pub fn per_shard(shards: usize) -> LentThreads {
        let cpus = std::thread::available_parallelism().map_or(1, |p| p.get());
        LentThreads((cpus / shards.max(1)).max(1))
    }
}

impl ParallelFor for LentThreads {
    fn threads(&self) -> usize {
        self.0
    }

    fn run(&self, jobs: usize, f: &(dyn Fn(usize) + Sync)) {
        let next = AtomicUsize::new(0);
        let work = || loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= jobs {
                break;
            }
            f(i);
        };
        if self.0 <= 1 || jobs <= 1 {
            return work();
        }
        std::thread::scope(|s| {
            for _ in 1..self.0.min(jobs) {
                s.spawn(work);
            }
            work();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_runs_exactly_once_on_any_thread_count() {
        for threads in [1, 2, 5] {
            let hits: Vec<AtomicUsize> = (0..100).map(|_| AtomicUsize::new(0)).collect();
            LentThreads(threads).run(hits.len(), &|i| {
                hits[i].fetch_add(1, Ordering::Relaxed);
            });
            assert!(
                hits.iter().all(|h| h.load(Ordering::Relaxed) == 1),
                "{threads}"
            );
        }
        assert!(LentThreads::per_shard(1).0 >= LentThreads::per_shard(64).0);
        assert_eq!(LentThreads::per_shard(usize::MAX).0, 1);
    }
}
