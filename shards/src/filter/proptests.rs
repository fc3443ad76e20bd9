//! Property tests of the filter language.
//!
//! - `parse` never panics: arbitrary Unicode strings, printable ASCII and a soup of
//!   filter fragments; whatever parses must print back to text that parses to the
//!   same AST, and must evaluate without panicking.
//! - `evaluate` agrees with `matches`: random metadata for 50-200 nodes (fields from
//!   a small set; strings from a small alphabet, ints, floats, bools, arrays, nulls,
//!   objects, missing fields) and random ASTs, printed to text and parsed back. Then
//!   some nodes are removed and some upserted (remove old + insert new): on the live
//!   universe the result must equal the nodes `matches` accepts, and on a universe
//!   that still holds the removed nodes they must behave as nodes without metadata
//!   (so no stale index entry survives a removal).

use super::*;
use crate::metadata::MetadataIndex;
use proptest::prelude::*;
use roaring::RoaringBitmap;
use serde_json::{json, Map, Value};

const FIELDS: [&str; 5] = ["cat", "year", "tags", "title", "flag"];
const WORDS: [&str; 8] = ["A", "B", "a", "x y", "Rust db", "rust", "", "X_1"];
const FLOATS: [f64; 5] = [-1.5, 0.5, 2.0, -0.0, 1e300];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(&WORDS[..]).prop_map(|w| json!(w)),
        (-3i64..=3).prop_map(|i| json!(i)),
        prop::sample::select(&FLOATS[..]).prop_map(|x| json!(x)),
        any::<bool>().prop_map(|b| json!(b)),
    ]
}

fn field_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => scalar(),
        3 => prop::collection::vec(
            prop_oneof![4 => scalar(), 1 => Just(json!(null)), 1 => Just(json!(["x"]))],
            0..4
        )
        .prop_map(Value::Array),
        1 => Just(json!(null)),
        1 => Just(json!({"cat": "A"})),
    ]
}

fn metadata() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::vec(prop::option::of(field_value()), FIELDS.len()).prop_map(|values| {
        FIELDS
            .iter()
            .zip(values)
            .filter_map(|(f, v)| Some((f.to_string(), v?)))
            .collect()
    })
}

fn field() -> impl Strategy<Value = String> {
    prop::sample::select(&["cat", "year", "tags", "title", "flag", "missing"][..])
        .prop_map(str::to_owned)
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        prop::sample::select(&["A", "B", "a", "x y", "rust", "", "nope"][..])
            .prop_map(|w| Literal::Str(w.into())),
        (-3i64..=3).prop_map(|i| Literal::Num(i as f64)),
        prop::sample::select(&FLOATS[..]).prop_map(Literal::Num),
        any::<bool>().prop_map(Literal::Bool),
    ]
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        (-4i64..=4).prop_map(|i| i as f64),
        prop::sample::select(&FLOATS[..])
    ]
}

fn leaf() -> impl Strategy<Value = Expr> {
    let op = prop::sample::select(&[RangeOp::Lt, RangeOp::Le, RangeOp::Gt, RangeOp::Ge][..]);
    let texts = prop::sample::select(&["rust", "RUST db", "x", "y x", "", "!!", "x_1"][..]);
    prop_oneof![
        (field(), literal()).prop_map(|(field, value)| Expr::Eq { field, value }),
        (field(), literal()).prop_map(|(field, value)| Expr::Ne { field, value }),
        (field(), op, number()).prop_map(|(field, op, value)| Expr::Range { field, op, value }),
        (field(), prop::collection::vec(literal(), 1..4))
            .prop_map(|(field, values)| Expr::In { field, values }),
        (field(), prop::collection::vec(literal(), 1..4))
            .prop_map(|(field, values)| Expr::NotIn { field, values }),
        (field(), texts).prop_map(|(field, text)| Expr::Contains {
            field,
            text: text.into()
        }),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
            prop::collection::vec(inner, 2..4).prop_map(Expr::Or),
        ]
    })
}

/// What happens to a node after the initial load.
#[derive(Debug, Clone)]
enum Change {
    Keep,
    Remove,
    Upsert(Map<String, Value>),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        6 => Just(Change::Keep),
        2 => Just(Change::Remove),
        2 => metadata().prop_map(Change::Upsert),
    ]
}

/// Asserts `evaluate` on `universe` equals the nodes of `universe` that `matches`
/// accepts, taking nodes absent from `model` as having no metadata.
fn assert_agree(
    expr: &Expr,
    index: &MetadataIndex,
    model: &[Option<Map<String, Value>>],
    universe: &RoaringBitmap,
) {
    let empty = Map::new();
    let fast = evaluate(expr, index, universe);
    let slow: RoaringBitmap = universe
        .iter()
        .filter(|&n| matches(expr, model[n as usize].as_ref().unwrap_or(&empty)))
        .collect();
    assert_eq!(fast, slow, "filter: {expr}");
}

fn fragment() -> impl Strategy<Value = &'static str> {
    prop::sample::select(
        &[
            "a", "year", " ", "=", "==", "!=", "<>", "<", ">=", "(", ")", ",", "NOT", "and", "Or",
            "IN", "contains", "true", "'x'", "\"y\"", "'", "\"", "\\", "1", "-2.5e3", "1e", ".",
            "+", "-", "é", "\u{0}", "1e999", "`",
        ][..],
    )
}

fn check_no_panic(text: &str) {
    if let Ok(parsed) = parse(text) {
        let printed = parsed.to_string();
        assert_eq!(
            parse(&printed),
            Ok(parsed.clone()),
            "{text:?} printed as {printed:?}"
        );
        let meta = json!({"a": ["x", 1], "year": 2020})
            .as_object()
            .unwrap()
            .clone();
        let mut index = MetadataIndex::new();
        index.insert(0, &meta);
        let universe: RoaringBitmap = (0..2).collect();
        let fast = evaluate(&parsed, &index, &universe);
        assert_eq!(fast.contains(0), matches(&parsed, &meta));
        assert_eq!(fast.contains(1), matches(&parsed, &Map::new()));
    }
}

proptest! {
    #[test]
    fn parse_never_panics_on_unicode(text in any::<String>()) {
        check_no_panic(&text);
    }

    #[test]
    fn parse_never_panics_on_printable_ascii(text in "[ -~]{0,200}") {
        check_no_panic(&text);
    }

    #[test]
    fn parse_never_panics_on_fragment_soup(parts in prop::collection::vec(fragment(), 0..40)) {
        check_no_panic(&parts.concat());
        check_no_panic(&parts.join(" "));
    }

    #[test]
    fn evaluate_agrees_with_matches(
        metas in prop::collection::vec(metadata(), 50..200),
        changes in prop::collection::vec(change(), 200),
        exprs in prop::collection::vec(expr(), 4),
    ) {
        let exprs: Vec<Expr> = exprs
            .iter()
            .map(|e| {
                let parsed = parse(&e.to_string()).expect("printed filter parses");
                assert_eq!(&parsed, e, "round trip of {e}");
                parsed
            })
            .collect();
        let mut index = MetadataIndex::new();
        let mut model: Vec<Option<Map<String, Value>>> = Vec::new();
        for (node, meta) in metas.iter().enumerate() {
            index.insert(node as u32, meta);
            model.push(Some(meta.clone()));
        }
        let all: RoaringBitmap = (0..metas.len() as u32).collect();
        for e in &exprs {
            assert_agree(e, &index, &model, &all);
        }
        for (node, change) in changes.iter().enumerate().take(metas.len()) {
            match change {
                Change::Keep => {}
                Change::Remove => {
                    index.remove(node as u32, &metas[node]);
                    model[node] = None;
                }
                Change::Upsert(new) => {
                    index.remove(node as u32, &metas[node]);
                    index.insert(node as u32, new);
                    model[node] = Some(new.clone());
                }
            }
        }
        let live: RoaringBitmap = all.iter().filter(|&n| model[n as usize].is_some()).collect();
        for e in &exprs {
            assert_agree(e, &index, &model, &live);
            assert_agree(e, &index, &model, &all);
        }
    }
}
