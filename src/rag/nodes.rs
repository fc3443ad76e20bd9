//! Removing a pipeline's node with every edge into or out of it (chunks, `doc:`
//! nodes, entities no longer mentioned).

use kektordb_shards::graph::Side;

use crate::engine::Engine;

/// Removes a node from `index` with every edge into or out of it.
pub async fn remove_node(engine: &Engine, index: &str, id: &str) -> crate::engine::Result<()> {
    for (rel, e) in engine.edges(id, None, Side::Out, i64::MAX).await? {
        engine.unlink(id, &e.other, &rel, true).await?;
    }
    for (rel, e) in engine.edges(id, None, Side::In, i64::MAX).await? {
        engine.unlink(&e.other, id, &rel, true).await?;
    }
    engine.delete(index, id).await?;
    Ok(())
}
