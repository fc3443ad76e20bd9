//! Router logic shared by every way of driving shards ([`crate::ShardSet`] on one
//! thread, the server's executors over channels): the catalog of indexes (config and
//! fixed dimension), batch checks, which shard owns an id, and a search split into
//! the plan sent to every shard and the merge of their answers. Nothing here touches
//! a shard.

mod catalog;
mod item;
mod partition;
mod plan;

pub use catalog::{Catalog, IndexEntry};
pub use item::{IndexInfo, NewItem};
pub use partition::{Partitioner, RouteHash};
pub use plan::SearchPlan;
