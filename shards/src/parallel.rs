//! Work the data plane can spread over threads it does not own. The data plane has
//! no threads (tests/architecture.rs); a caller that has some (a build tool, the
//! engine's helpers) lends them through [`ParallelFor`] for the read-only phases of
//! a batch insertion (`Hnsw::link_batch`).

/// Runs `f(i)` for every `i` in `0..jobs`, on as many threads as it has, and returns
/// when every call has returned. Calls may run in any order and at once.
pub trait ParallelFor: Sync {
    /// Threads the calls are spread over (1: all on the caller's).
    fn threads(&self) -> usize;
    fn run(&self, jobs: usize, f: &(dyn Fn(usize) + Sync));
}

/// Every call on the caller's thread, in order.
pub struct Sequential;

impl ParallelFor for Sequential {
    fn threads(&self) -> usize {
        1
    }
    fn run(&self, jobs: usize, f: &(dyn Fn(usize) + Sync)) {
        (0..jobs).for_each(f);
    }
}
