//! Helpers the data plane's integration tests share.

use kektordb_shards::index::IndexConfig;
use kektordb_shards::shard_set::NewItem;
use kektordb_shards::ShardSet;
use serde_json::{Map, Value};

/// `cfg`'s index on `shards` shards, holding `data` (row i has id `i`, metadata
/// `meta(i)`), added as one batch.
pub fn index_of(
    cfg: IndexConfig,
    shards: usize,
    data: &[Vec<f32>],
    meta: impl Fn(usize) -> Map<String, Value>,
) -> ShardSet {
    let name = cfg.name.clone();
    let mut set = ShardSet::new(shards);
    set.create_index(cfg).unwrap();
    let items = data
        .iter()
        .enumerate()
        .map(|(i, v)| NewItem {
            id: i.to_string(),
            vector: v.clone(),
            metadata: meta(i),
        })
        .collect();
    set.add_batch(&name, items).unwrap();
    set
}
