//! Metadata index of one index part: maps (field, value) to the set of node ids
//! (`u32`) whose metadata has that value, for the filter evaluator
//! ([`crate::filter::evaluate`]).
//!
//! What is indexed, per top-level field of a node's metadata object:
//! - strings: exact value -> nodes (inverted index), plus every token of the string
//!   (see [`tokens`]) -> nodes for `CONTAINS`;
//! - bools: `true` / `false` -> nodes;
//! - numbers (ints and floats alike, as `f64`): an ordered map (`BTreeMap` keyed by
//!   [`NumKey`]) from value to nodes, serving `=` and ranges;
//! - arrays: each string / number / bool element is indexed as above, individually,
//!   so `tags = 'x'` means "`'x'` is one of the tags";
//! - `null`, nested objects, and arrays or objects inside arrays are ignored: not
//!   indexed and never matched by any condition (a dotted field name such as `a.b`
//!   is just a top-level key spelled `a.b`).
//!
//! The caller passes [`MetadataIndex::remove`] the same metadata it gave
//! [`MetadataIndex::insert`]; an upsert is remove(old) + insert(new). Empty
//! bitmaps and fields are dropped, so memory follows the live content.

#[cfg(test)]
mod tests;
mod value;

pub use value::{scalars, tokens, NumKey, Scalar};

use roaring::{MultiOps, RoaringBitmap};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

/// Inverted, ordered and token indexes over one index part's node metadata.
#[derive(Debug, Default, Clone)]
pub struct MetadataIndex {
    strings: HashMap<String, HashMap<String, RoaringBitmap>>,
    bools: HashMap<String, [RoaringBitmap; 2]>,
    numbers: HashMap<String, BTreeMap<NumKey, RoaringBitmap>>,
    tokens: HashMap<String, HashMap<String, RoaringBitmap>>,
}

/// Rough bytes of one hash-map or tree entry besides its key and value payload.
const ENTRY_OVERHEAD_BYTES: usize = 48;

impl MetadataIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
            && self.bools.is_empty()
            && self.numbers.is_empty()
            && self.tokens.is_empty()
    }

    /// Indexes `node` under every filterable value of `meta`.
    pub fn insert(&mut self, node: u32, meta: &Map<String, Value>) {
        for (field, value) in meta {
            for scalar in scalars(value) {
                match scalar {
                    Scalar::Str(text) => {
                        entry(entry(&mut self.strings, field), text).insert(node);
                        for token in tokens(text) {
                            entry(entry(&mut self.tokens, field), &token).insert(node);
                        }
                    }
                    Scalar::Num(x) => {
                        entry(&mut self.numbers, field)
                            .entry(NumKey::new(x))
                            .or_default()
                            .insert(node);
                    }
                    Scalar::Bool(b) => {
                        entry(&mut self.bools, field)[usize::from(b)].insert(node);
                    }
                }
            }
        }
    }

    /// Removes `node` from every entry `meta` put it in (`meta` must be what was
    /// inserted for `node`). Entries and fields left empty are dropped.
    pub fn remove(&mut self, node: u32, meta: &Map<String, Value>) {
        for (field, value) in meta {
            for scalar in scalars(value) {
                match scalar {
                    Scalar::Str(text) => {
                        remove_posting(&mut self.strings, field, text, node);
                        for token in tokens(text) {
                            remove_posting(&mut self.tokens, field, &token, node);
                        }
                    }
                    Scalar::Num(x) => {
                        let Some(tree) = self.numbers.get_mut(field.as_str()) else {
                            continue;
                        };
                        let key = NumKey::new(x);
                        if let Some(bitmap) = tree.get_mut(&key) {
                            bitmap.remove(node);
                            if bitmap.is_empty() {
                                tree.remove(&key);
                            }
                        }
                        if tree.is_empty() {
                            self.numbers.remove(field.as_str());
                        }
                    }
                    Scalar::Bool(b) => {
                        let Some(pair) = self.bools.get_mut(field.as_str()) else {
                            continue;
                        };
                        pair[usize::from(b)].remove(node);
                        if pair.iter().all(RoaringBitmap::is_empty) {
                            self.bools.remove(field.as_str());
                        }
                    }
                }
            }
        }
    }

    /// Nodes whose `field` is, or is an array containing, the string `value`.
    pub fn string_eq(&self, field: &str, value: &str) -> Option<&RoaringBitmap> {
        self.strings.get(field)?.get(value)
    }

    /// Nodes whose `field` is, or is an array containing, the bool `value`.
    pub fn bool_eq(&self, field: &str, value: bool) -> Option<&RoaringBitmap> {
        let bitmap = &self.bools.get(field)?[usize::from(value)];
        (!bitmap.is_empty()).then_some(bitmap)
    }

    /// Nodes whose `field` is, or is an array containing, a number equal to `value`
    /// (as `f64`; `-0.0 == 0.0`). `None` for NaN.
    pub fn number_eq(&self, field: &str, value: f64) -> Option<&RoaringBitmap> {
        if value.is_nan() {
            return None;
        }
        self.numbers.get(field)?.get(&NumKey::new(value))
    }

    /// Nodes with a number in `field` (or in its array) within the bounds. Empty when
    /// a bound is NaN or the range is empty (never panics).
    pub fn number_range(&self, field: &str, lo: Bound<f64>, hi: Bound<f64>) -> RoaringBitmap {
        let Some(tree) = self.numbers.get(field) else {
            return RoaringBitmap::new();
        };
        let (Some(lo), Some(hi)) = (num_bound(lo), num_bound(hi)) else {
            return RoaringBitmap::new();
        };
        let inverted = match (lo, hi) {
            (Bound::Included(a), Bound::Included(b)) => a > b,
            (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => {
                a >= b
            }
            _ => false,
        };
        if inverted {
            return RoaringBitmap::new();
        }
        tree.range((lo, hi)).map(|(_, bitmap)| bitmap).union()
    }

    /// Nodes whose `field` (a string, or strings in an array) has the lowercase
    /// `token` (as produced by [`tokens`]).
    pub fn token(&self, field: &str, token: &str) -> Option<&RoaringBitmap> {
        self.tokens.get(field)?.get(token)
    }

    /// Estimated heap bytes: keys, serialized bitmap sizes and a fixed per-entry
    /// overhead. Walks every entry (O(entries)); meant for stats, not hot paths.
    pub fn memory_bytes(&self) -> usize {
        fn postings(map: &HashMap<String, HashMap<String, RoaringBitmap>>) -> usize {
            map.iter()
                .map(|(field, inner)| {
                    field.len()
                        + ENTRY_OVERHEAD_BYTES
                        + inner
                            .iter()
                            .map(|(k, b)| k.len() + ENTRY_OVERHEAD_BYTES + b.serialized_size())
                            .sum::<usize>()
                })
                .sum()
        }
        let bools: usize = self
            .bools
            .iter()
            .map(|(field, pair)| {
                field.len()
                    + ENTRY_OVERHEAD_BYTES
                    + pair
                        .iter()
                        .map(RoaringBitmap::serialized_size)
                        .sum::<usize>()
            })
            .sum();
        let numbers: usize = self
            .numbers
            .iter()
            .map(|(field, tree)| {
                field.len()
                    + ENTRY_OVERHEAD_BYTES
                    + tree
                        .values()
                        .map(|b| {
                            std::mem::size_of::<NumKey>()
                                + ENTRY_OVERHEAD_BYTES
                                + b.serialized_size()
                        })
                        .sum::<usize>()
            })
            .sum();
        std::mem::size_of::<Self>()
            + postings(&self.strings)
            + postings(&self.tokens)
            + bools
            + numbers
    }
}

/// The value under `key`, inserted as default first if missing; allocates the key
/// only when inserting.
fn entry<'m, V: Default>(map: &'m mut HashMap<String, V>, key: &str) -> &'m mut V {
    if !map.contains_key(key) {
        map.insert(key.to_owned(), V::default());
    }
    map.get_mut(key).expect("present: inserted above")
}

fn remove_posting(
    map: &mut HashMap<String, HashMap<String, RoaringBitmap>>,
    field: &str,
    key: &str,
    node: u32,
) {
    let Some(inner) = map.get_mut(field) else {
        return;
    };
    if let Some(bitmap) = inner.get_mut(key) {
        bitmap.remove(node);
        if bitmap.is_empty() {
            inner.remove(key);
        }
    }
    if inner.is_empty() {
        map.remove(field);
    }
}

fn num_bound(bound: Bound<f64>) -> Option<Bound<NumKey>> {
    match bound {
        Bound::Included(x) if !x.is_nan() => Some(Bound::Included(NumKey::new(x))),
        Bound::Excluded(x) if !x.is_nan() => Some(Bound::Excluded(NumKey::new(x))),
        Bound::Unbounded => Some(Bound::Unbounded),
        _ => None,
    }
}

/// Length of a value's JSON encoding, counted without building the string.
pub fn json_len(v: &Map<String, Value>) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    match serde_json::to_writer(&mut c, v) {
        Ok(()) => c.0,
        Err(_) => usize::MAX,
    }
}
