//! Merging per-shard top-k lists into one global top-k.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Merges lists that are each sorted ascending into the `k` smallest items overall,
/// ascending. Ties keep the order of `Ord` (callers include the id in the order so
/// results are deterministic).
pub fn merge_top_k<T: Ord>(lists: Vec<Vec<T>>, k: usize) -> Vec<T> {
    let mut iters: Vec<std::vec::IntoIter<T>> = lists.into_iter().map(Vec::into_iter).collect();
    let mut heap = BinaryHeap::with_capacity(iters.len());
    for (i, it) in iters.iter_mut().enumerate() {
        if let Some(x) = it.next() {
            heap.push(Reverse((x, i)));
        }
    }
    let mut out = Vec::with_capacity(k);
    while out.len() < k {
        let Some(Reverse((x, i))) = heap.pop() else {
            break;
        };
        out.push(x);
        if let Some(next) = iters[i].next() {
            heap.push(Reverse((next, i)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    //! The k-way merge equals sorting everything and taking the first k (proptest).
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn equals_global_sort(
            mut lists in proptest::collection::vec(proptest::collection::vec((0u32..50, 0u32..1000), 0..40), 0..6),
            k in 0usize..100,
        ) {
            for l in &mut lists {
                l.sort();
            }
            let mut all: Vec<(u32, u32)> = lists.iter().flatten().copied().collect();
            all.sort();
            all.truncate(k);
            prop_assert_eq!(merge_top_k(lists, k), all);
        }
    }
}
