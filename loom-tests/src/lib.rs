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
//! - `generation_switch`: a compaction writes generation G+1 as a temp file, fsyncs it,
//!   renames it into place, then deletes G (`src/engine/logfiles.rs`); a start-up at
//!   any point of that sequence lists the directory and takes the newest non-temporary
//!   generation. Invariant: what it takes is complete and holds every committed op.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p loom-tests --release --target-dir target/loom`.
