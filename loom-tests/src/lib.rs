//! loom model checks of kektordb's cross-thread code. Under `--cfg loom` this crate
//! compiles the engine's own protocol files from `src/engine/` — the shard mailbox
//! (`queue.rs`), the one-shot answers (`oneshot.rs`) and group commit
//! (`commit.rs`) — against loom's instrumented `Arc` and `Mutex` (the [`sync`]
//! module here stands in for the engine's `sync.rs` facade), so the models in
//! `tests/models.rs` explore every interleaving of the real code:
//!
//! - `mailbox_*`: every item arrives once, in each sender's order; a full queue
//!   wakes waiting senders; the end is seen once every sender is gone; a sender
//!   whose receiver is gone gets its item back instead of hanging.
//! - `oneshot_*`: the answer arrives, or `Canceled` when the sender is dropped.
//! - `group_commit`: writers send real write jobs through the real mailbox to a
//!   shard thread running the real `run_group` + `commit_buffered` on a real
//!   `DurableShard` over `CrashStorage`; a writer that sees its acknowledgement
//!   finds its write in the durable image.
//!
//! Two protocols are still models that restate the engine's logic with loom
//! primitives (their real code touches the catalog lock and the file system):
//! `create_before_use` (`src/engine/indexes.rs`, `items.rs`) and `snapshot_switch`
//! (`src/engine/files.rs`, `recover.rs`).
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p loom-tests --release --target-dir target/loom`.
#![cfg(loom)]

/// loom's primitives under the names the engine's `sync.rs` gives std's.
pub mod sync {
    pub use loom::sync::{Arc, Mutex, MutexGuard};

    pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[path = "../../src/engine/commit.rs"]
pub mod commit;
#[path = "../../src/engine/oneshot.rs"]
pub mod oneshot;
#[path = "../../src/engine/queue.rs"]
pub mod queue;
