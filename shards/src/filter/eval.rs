//! Evaluation of a filter [`Expr`]: [`evaluate`] over the bitmaps of a
//! [`MetadataIndex`], and [`matches`], the direct reference on one node's metadata.
//! Both follow the semantics in the `filter` module docs; a proptest in
//! `filter::proptests` checks that they agree.

use super::{Expr, Literal, RangeOp};
use crate::metadata::{scalars, tokens, MetadataIndex, Scalar};
use roaring::{MultiOps, RoaringBitmap};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::ops::Bound;

/// The nodes of `universe` (the live nodes) that satisfy `expr`. The result is
/// always a subset of `universe`; `NOT x` is `universe` minus the nodes matching
/// `x`. Recursion depth follows the expression's nesting (bounded for parsed input).
pub fn evaluate(expr: &Expr, index: &MetadataIndex, universe: &RoaringBitmap) -> RoaringBitmap {
    match expr {
        Expr::Eq { field, value } => within(eq_set(index, field, value), universe),
        Expr::Ne { field, value } => without(universe, eq_set(index, field, value)),
        Expr::Range { field, op, value } => {
            let (lo, hi) = match op {
                RangeOp::Lt => (Bound::Unbounded, Bound::Excluded(*value)),
                RangeOp::Le => (Bound::Unbounded, Bound::Included(*value)),
                RangeOp::Gt => (Bound::Excluded(*value), Bound::Unbounded),
                RangeOp::Ge => (Bound::Included(*value), Bound::Unbounded),
            };
            let mut found = index.number_range(field, lo, hi);
            found &= universe;
            found
        }
        Expr::In { field, values } => in_set(index, field, values) & universe,
        Expr::NotIn { field, values } => universe - in_set(index, field, values),
        Expr::Contains { field, text } => {
            let mut acc: Option<RoaringBitmap> = None;
            for token in tokens(text) {
                let Some(bitmap) = index.token(field, &token) else {
                    return RoaringBitmap::new();
                };
                let next = match acc {
                    None => bitmap & universe,
                    Some(acc) => acc & bitmap,
                };
                if next.is_empty() {
                    return next;
                }
                acc = Some(next);
            }
            acc.unwrap_or_default()
        }
        Expr::Not(inner) => universe - evaluate(inner, index, universe),
        Expr::And(children) => {
            // Each child is evaluated within what the previous ones left, so a NOT
            // child subtracts from the running result instead of the universe.
            let mut acc: Option<RoaringBitmap> = None;
            for child in children {
                let next = evaluate(child, index, acc.as_ref().unwrap_or(universe));
                if next.is_empty() {
                    return next;
                }
                acc = Some(next);
            }
            acc.unwrap_or_else(|| universe.clone())
        }
        Expr::Or(children) => {
            let mut acc = RoaringBitmap::new();
            for child in children {
                acc |= evaluate(child, index, universe);
            }
            acc
        }
    }
}

fn eq_set<'i>(index: &'i MetadataIndex, field: &str, value: &Literal) -> Option<&'i RoaringBitmap> {
    match value {
        Literal::Str(s) => index.string_eq(field, s),
        Literal::Num(x) => index.number_eq(field, *x),
        Literal::Bool(b) => index.bool_eq(field, *b),
    }
}

fn in_set(index: &MetadataIndex, field: &str, values: &[Literal]) -> RoaringBitmap {
    values
        .iter()
        .filter_map(|value| eq_set(index, field, value))
        .union()
}

fn within(found: Option<&RoaringBitmap>, universe: &RoaringBitmap) -> RoaringBitmap {
    found.map_or_else(RoaringBitmap::new, |bitmap| bitmap & universe)
}

fn without(universe: &RoaringBitmap, found: Option<&RoaringBitmap>) -> RoaringBitmap {
    found.map_or_else(|| universe.clone(), |bitmap| universe - bitmap)
}

/// Whether one node with metadata `meta` satisfies `expr`: the straightforward
/// reference for [`evaluate`], also usable to post-filter candidates.
pub fn matches(expr: &Expr, meta: &Map<String, Value>) -> bool {
    match expr {
        Expr::Eq { field, value } => has_value(meta, field, value),
        Expr::Ne { field, value } => !has_value(meta, field, value),
        Expr::Range { field, op, value } => {
            field_scalars(meta, field).any(|s| matches!(s, Scalar::Num(x) if op.holds(x, *value)))
        }
        Expr::In { field, values } => values.iter().any(|v| has_value(meta, field, v)),
        Expr::NotIn { field, values } => !values.iter().any(|v| has_value(meta, field, v)),
        Expr::Contains { field, text } => {
            let wanted: Vec<String> = tokens(text).collect();
            let present: HashSet<String> = field_scalars(meta, field)
                .filter_map(|s| match s {
                    Scalar::Str(text) => Some(tokens(text)),
                    _ => None,
                })
                .flatten()
                .collect();
            !wanted.is_empty() && wanted.iter().all(|t| present.contains(t))
        }
        Expr::Not(inner) => !matches(inner, meta),
        Expr::And(children) => children.iter().all(|c| matches(c, meta)),
        Expr::Or(children) => children.iter().any(|c| matches(c, meta)),
    }
}

fn field_scalars<'m>(
    meta: &'m Map<String, Value>,
    field: &str,
) -> impl Iterator<Item = Scalar<'m>> {
    meta.get(field).into_iter().flat_map(scalars)
}

fn has_value(meta: &Map<String, Value>, field: &str, value: &Literal) -> bool {
    field_scalars(meta, field).any(|s| match (s, value) {
        (Scalar::Str(a), Literal::Str(b)) => a == b,
        (Scalar::Num(a), Literal::Num(b)) => a == *b,
        (Scalar::Bool(a), Literal::Bool(b)) => a == *b,
        _ => false,
    })
}
