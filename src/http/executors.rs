//! Executors of HTTP's own (`-http-executors`): glommio executors with no shard,
//! each running one accept loop and its connections. When the shards leave CPUs
//! free (say one shard on a two-core machine), the accept loops run here instead
//! of on the shard executors, so a shard executor spends its core on its shard and
//! parsing, TCP and JSON take the free cores; requests reach the shards through the
//! engine's mailboxes exactly as they do from a shard executor's own loop.

use std::future::Future;

use glommio::{ExecutorJoinHandle, LocalExecutorBuilder, Placement};

use crate::limits::{HTTP_SPIN_BEFORE_PARK, IO_MEMORY_MIN_BYTES};

/// Starts HTTP executor `i` at `placement` (`Engine::placement_beside_shards`).
/// `main` runs there and the executor ends when its future does. These executors
/// do no file I/O, so they take glommio's smallest registered-buffer area; they
/// poll [`HTTP_SPIN_BEFORE_PARK`] before sleeping.
pub fn start<F, Fut>(
    i: usize,
    placement: Placement,
    main: F,
) -> Result<ExecutorJoinHandle<()>, String>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + 'static,
{
    LocalExecutorBuilder::new(placement)
        .spin_before_park(HTTP_SPIN_BEFORE_PARK)
        .name(&format!("http-{i}"))
        .io_memory(IO_MEMORY_MIN_BYTES)
        .spawn(main)
        .map_err(|e| format!("HTTP executor {i}: {e}"))
}
