//! Unit tests of the metadata index: builds small indexes from JSON literals and
//! checks each lookup (strings, bools, numbers, ranges, tokens), what is ignored
//! (null, nested objects, nested arrays), removal down to an empty index, and the
//! value helpers (`scalars`, `tokens`, `NumKey`).

use super::*;
use serde_json::json;

fn meta(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn ids(bitmap: Option<&RoaringBitmap>) -> Vec<u32> {
    bitmap.map(|b| b.iter().collect()).unwrap_or_default()
}

fn sample() -> (MetadataIndex, Vec<Map<String, Value>>) {
    let metas = vec![
        meta(
            json!({"cat": "A", "year": 2020, "draft": true, "tags": ["x", "y"], "title": "Rust DB, fast!"}),
        ),
        meta(
            json!({"cat": "B", "year": 2021.5, "draft": false, "tags": ["y", 3, true], "title": "rust_db"}),
        ),
        meta(
            json!({"cat": "A", "year": "2020", "nested": {"cat": "A"}, "tags": [["x"]], "n": null}),
        ),
        meta(json!({"year": -0.0, "score": 0})),
    ];
    let mut index = MetadataIndex::new();
    for (node, m) in metas.iter().enumerate() {
        index.insert(node as u32, m);
    }
    (index, metas)
}

#[test]
fn strings_and_array_membership() {
    let (index, _) = sample();
    assert_eq!(ids(index.string_eq("cat", "A")), [0, 2]);
    assert_eq!(ids(index.string_eq("tags", "y")), [0, 1]);
    assert_eq!(
        ids(index.string_eq("tags", "x")),
        [0],
        "nested array ignored"
    );
    assert_eq!(ids(index.string_eq("year", "2020")), [2]);
    assert_eq!(ids(index.string_eq("cat", "a")), Vec::<u32>::new());
}

#[test]
fn bools_and_numbers() {
    let (index, _) = sample();
    assert_eq!(ids(index.bool_eq("draft", true)), [0]);
    assert_eq!(ids(index.bool_eq("draft", false)), [1]);
    assert_eq!(ids(index.bool_eq("tags", true)), [1]);
    assert_eq!(ids(index.number_eq("year", 2020.0)), [0]);
    assert_eq!(ids(index.number_eq("tags", 3.0)), [1]);
    assert_eq!(ids(index.number_eq("year", 0.0)), [3], "-0.0 == 0.0");
    assert_eq!(ids(index.number_eq("score", -0.0)), [3]);
    assert!(index.number_eq("year", f64::NAN).is_none());
}

#[test]
fn ranges_and_their_edge_cases() {
    let (index, _) = sample();
    let range = |lo, hi| {
        index
            .number_range("year", lo, hi)
            .iter()
            .collect::<Vec<_>>()
    };
    assert_eq!(range(Bound::Included(2020.0), Bound::Unbounded), [0, 1]);
    assert_eq!(range(Bound::Excluded(2020.0), Bound::Unbounded), [1]);
    assert_eq!(range(Bound::Unbounded, Bound::Excluded(2020.0)), [3]);
    assert_eq!(range(Bound::Included(-0.0), Bound::Included(0.0)), [3]);
    assert_eq!(
        range(Bound::Included(5.0), Bound::Included(1.0)),
        Vec::<u32>::new()
    );
    assert_eq!(
        range(Bound::Excluded(1.0), Bound::Excluded(1.0)),
        Vec::<u32>::new()
    );
    assert_eq!(
        range(Bound::Included(1.0), Bound::Excluded(1.0)),
        Vec::<u32>::new()
    );
    assert_eq!(
        range(Bound::Included(f64::NAN), Bound::Unbounded),
        Vec::<u32>::new()
    );
    assert_eq!(range(Bound::Unbounded, Bound::Unbounded), [0, 1, 3]);
}

#[test]
fn tokens_are_lowercase_word_runs() {
    let (index, _) = sample();
    assert_eq!(ids(index.token("title", "rust")), [0]);
    assert_eq!(ids(index.token("title", "rust_db")), [1]);
    assert_eq!(ids(index.token("title", "fast")), [0]);
    assert_eq!(ids(index.token("tags", "y")), [0, 1]);
    assert!(
        index.token("nested", "a").is_none(),
        "objects are not indexed"
    );
    let toks: Vec<String> = tokens("Héllo, WORLD_1 — ÄÖ  x-y").collect();
    assert_eq!(toks, ["héllo", "world_1", "äö", "x", "y"]);
    assert_eq!(tokens(" ,!? ").count(), 0);
}

#[test]
fn scalars_of_values() {
    let v = json!(["a", 1, true, null, {"k": 1}, [2]]);
    let got: Vec<Scalar> = scalars(&v).collect();
    assert_eq!(
        got,
        [Scalar::Str("a"), Scalar::Num(1.0), Scalar::Bool(true)]
    );
    assert_eq!(scalars(&json!(null)).count(), 0);
    assert_eq!(scalars(&json!({"a": 1})).count(), 0);
    assert_eq!(scalars(&json!(2.5)).collect::<Vec<_>>(), [Scalar::Num(2.5)]);
}

#[test]
fn num_key_orders_totally_and_merges_zeroes() {
    assert_eq!(NumKey::new(-0.0), NumKey::new(0.0));
    assert!(NumKey::new(-1.0) < NumKey::new(0.0));
    assert!(NumKey::new(f64::NEG_INFINITY) < NumKey::new(-1e308));
    assert_eq!(NumKey::new(-0.0).get().to_bits(), 0.0f64.to_bits());
}

#[test]
fn remove_everything_leaves_an_empty_index() {
    let (mut index, metas) = sample();
    let full = index.memory_bytes();
    index.remove(1, &metas[1]);
    assert!(index.memory_bytes() < full);
    assert_eq!(ids(index.string_eq("tags", "y")), [0]);
    assert!(index.bool_eq("draft", false).is_none());
    assert!(index.token("title", "rust_db").is_none());
    for (node, m) in metas.iter().enumerate() {
        index.remove(node as u32, m);
    }
    assert!(index.is_empty());
    assert_eq!(index.memory_bytes(), std::mem::size_of::<MetadataIndex>());
}

#[test]
fn upsert_replaces_values() {
    let (mut index, metas) = sample();
    let new = meta(json!({"cat": "C", "tags": ["x", "x"]}));
    index.remove(0, &metas[0]);
    index.insert(0, &new);
    assert_eq!(ids(index.string_eq("cat", "A")), [2]);
    assert_eq!(ids(index.string_eq("cat", "C")), [0]);
    assert!(index.number_eq("year", 2020.0).is_none());
    index.remove(0, &new);
    assert!(
        index.string_eq("tags", "x").is_none(),
        "duplicates removed once is enough"
    );
}
