//! Executors of HTTP's own (`-http-executors`): glommio executors with no shard,
//! each running one accept loop and its connections. When the shards leave CPUs
//! free (say one shard on a two-core machine), the accept loops run here instead
//! of on the shard executors, so a shard executor spends its core on its shard and
//! parsing, TCP and JSON take the free cores; requests reach the shards through the
//! engine's mailboxes exactly as they do from a shard executor's own loop.

use std::future::Future;

use glommio::{ExecutorJoinHandle, LocalExecutorBuilder, Placement};

use crate::limits::{HTTP_SPIN_BEFORE_PARK, IO_MEMORY_MIN_BYTES};

/// Starts HTTP executor `i` of those that sit beside `shards` shard executors:
/// pinned after the shards' CPUs (`(shards + i) % cpus`) when they are pinned.
/// `main` runs there and the executor ends when its future does. These executors
/// do no file I/O, so they take glommio's smallest registered-buffer area; they
/// poll [`HTTP_SPIN_BEFORE_PARK`] before sleeping.
pub fn start<F, Fut>(
    i: usize,
    shards: usize,
    pinned: bool,
    main: F,
) -> Result<ExecutorJoinHandle<()>, String>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let cpus = std::thread::available_parallelism().map_or(1, |p| p.get());
    let placement = if pinned {
        Placement::Fixed((shards + i) % cpus)
    } else {
        Placement::Unbound
    };
    LocalExecutorBuilder::new(placement)
        .spin_before_park(HTTP_SPIN_BEFORE_PARK)
        .name(&format!("http-{i}"))
        .io_memory(IO_MEMORY_MIN_BYTES)
        .spawn(main)
        .map_err(|e| format!("HTTP executor {i}: {e}"))
}
