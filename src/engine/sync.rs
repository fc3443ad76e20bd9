//! The engine's cross-thread primitives in one place. The protocol files that use
//! them (`queue.rs`, `oneshot.rs`, `commit.rs`) import only this module and the data
//! plane, so `loom-tests/` compiles those same files against loom's instrumented
//! `Arc` and `Mutex` (its own `sync` module) and explores every interleaving of the
//! real code.

pub use std::sync::{Arc, Mutex, MutexGuard};

/// Locks, ignoring poisoning (a panicked job must not take the shard's queue down
/// with it; the data under these locks stays consistent between statements).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
