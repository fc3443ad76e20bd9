//! Paging through an index's items, for browsing (the dashboard's points view and
//! graph sample) and export: the live items (entities included) in storage order,
//! shard after shard, optionally filtered by metadata. The shards are asked one
//! after the other and only as far as the page reaches, so a page holds at most
//! `limit + 1` items in memory. Cost on a shard: an unfiltered page skips whole
//! shards by their counts and walks `offset` items within one; a filtered page
//! walks the shard's items up to the end of the page (the filter is evaluated per
//! item), so deep pages of a filter over a large index are the slow case.

use std::sync::Arc;

use kektordb_shards::filter::{self, Expr};
use kektordb_shards::index::Item;
use kektordb_shards::ShardError;

use super::error::Result;
use super::Engine;
use crate::limits::EXPORT_PAGE_MAX;

/// One page of [`Engine::export`].
#[derive(Clone, Debug, PartialEq)]
pub struct ExportPage {
    pub items: Vec<Item>,
    /// Whether items follow this page.
    pub has_more: bool,
    /// Items in the index (or matching the filter) when known: always without a
    /// filter; with one, only when the walk reached the end of every shard.
    pub total: Option<usize>,
}

/// What one shard gives for a page: how many matches it passed (skipped or taken),
/// the items taken, and whether it was walked to its end.
struct Part {
    passed: usize,
    items: Vec<Item>,
    complete: bool,
}

fn take_part(items: impl Iterator<Item = Item>, skip: usize, take: usize) -> Part {
    let mut passed = 0;
    let mut out = Vec::new();
    for it in items {
        if out.len() == take {
            return Part {
                passed,
                items: out,
                complete: false,
            };
        }
        if passed >= skip {
            out.push(it);
        }
        passed += 1;
    }
    Part {
        passed,
        items: out,
        complete: true,
    }
}

impl Engine {
    /// The items at `offset..offset + limit` of `index` (of those matching
    /// `filter` when given), in storage order: shard 0's items first, each shard's
    /// in node order. Stable while the index does not change.
    pub async fn export(
        &self,
        index: &str,
        filter: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> Result<ExportPage> {
        self.catalog().get(index)?;
        if limit == 0 {
            return Err(ShardError::invalid("limit", "must be at least 1").into());
        }
        if limit > EXPORT_PAGE_MAX {
            return Err(ShardError::too_large("limit", limit, EXPORT_PAGE_MAX).into());
        }
        let expr: Option<Arc<Expr>> = match filter.map(str::trim).filter(|f| !f.is_empty()) {
            Some(f) => Some(Arc::new(filter::parse(f).map_err(ShardError::from)?)),
            None => None,
        };
        let (mut skip, mut items) = (offset, Vec::with_capacity(limit + 1));
        let mut total = Some(0usize);
        for s in 0..self.shards() {
            // One more than the page: whether anything follows.
            let take = limit + 1 - items.len();
            if take == 0 {
                total = None;
                break;
            }
            let (owned, expr) = (index.to_owned(), expr.clone());
            let part = self
                .ask(s, move |sh| -> std::result::Result<Part, ShardError> {
                    let ix = sh.index(&owned)?;
                    Ok(match &expr {
                        None if skip >= ix.len() => Part {
                            passed: ix.len(),
                            items: Vec::new(),
                            complete: true,
                        },
                        None => take_part(ix.live_items(), skip, take),
                        Some(e) => take_part(
                            ix.live_items()
                                .filter(|it| filter::matches(e, &it.metadata)),
                            skip,
                            take,
                        ),
                    })
                })
                .await??;
            skip -= part.passed.min(skip);
            items.extend(part.items);
            total = match (total, part.complete) {
                (Some(t), true) => Some(t + part.passed),
                _ => None,
            };
        }
        let has_more = items.len() > limit;
        items.truncate(limit);
        if expr.is_none() && total.is_none() {
            // Without a filter the count is known whatever the walk reached.
            total = Some(self.info(index).await?.len);
        }
        Ok(ExportPage {
            items,
            has_more,
            total,
        })
    }
}

#[cfg(test)]
mod tests {
    //! The page arithmetic of one shard's part.
    use super::*;

    fn items(n: usize) -> impl Iterator<Item = Item> {
        (0..n).map(|i| Item {
            id: format!("i{i}"),
            vector: Vec::new(),
            metadata: Default::default(),
            touched: 0,
        })
    }

    #[test]
    fn parts() {
        let p = take_part(items(10), 3, 4);
        assert_eq!(p.items.len(), 4);
        assert_eq!(p.items[0].id, "i3");
        assert_eq!((p.passed, p.complete), (7, false));
        let p = take_part(items(5), 3, 4);
        assert_eq!(p.items.len(), 2);
        assert_eq!((p.passed, p.complete), (5, true));
        let p = take_part(items(2), 3, 4);
        assert!(p.items.is_empty());
        assert_eq!((p.passed, p.complete), (2, true));
    }
}
