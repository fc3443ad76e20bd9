//! loom models of kektordb's cross-thread handoffs. Each model restates one protocol
//! of the engine with loom's primitives and checks its invariant under every
//! interleaving loom explores:
//!
//! - `group_commit`: writers enqueue ops; the shard thread drains the queue, makes the
//!   batch durable, then acknowledges (`src/engine/executors.rs`). Invariant: a writer
//!   that sees its acknowledgement finds its op in the durable image.
//! - `create_before_use`: creating an index enqueues its create job on the shard while
//!   holding the catalog lock; a writer checks the catalog under the lock and then
//!   enqueues (`src/engine/mod.rs`). Invariant: the shard never receives a write for an
//!   index before the index's create job.
//! - `snapshot_switch`: the executor switches writes to a new log generation and hands
//!   a copy of the state to a background writer, which writes the snapshot as a temp
//!   file, renames it and deletes the older generation, while the executor keeps
//!   acknowledging writes into the new log (`src/engine/logfiles.rs`). A start-up at
//!   any point loads the newest snapshot and replays every log of its generation or
//!   later. Invariant: it rebuilds a prefix of the ops holding every acknowledged one.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p loom-tests --release --target-dir target/loom`.
