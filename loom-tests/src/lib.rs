//! loom models of kektordb's cross-thread handoffs (group commit, snapshot/AOF switch,
//! router <-> executor channels). The data plane built so far is single-threaded per
//! shard and shares nothing, so there is no handoff to model yet; models arrive with
//! the runtime and durability work. Run them with
//! `RUSTFLAGS="--cfg loom" cargo test -p loom-tests --release --target-dir target/loom`.
