//! Unit tests of the filter language: parse results for each operator, keyword
//! case, quoting and number forms; precedence (NOT > AND > OR); parse errors with
//! their byte positions and expected text; the limits; printing back to text; and
//! the semantics of `evaluate` / `matches` on a small hand-written data set.

use super::*;
use crate::limits::{FILTER_BYTES_MAX, FILTER_DEPTH_MAX, FILTER_IN_VALUES_MAX};
use crate::metadata::MetadataIndex;
use roaring::RoaringBitmap;
use serde_json::{json, Map, Value};

fn eq(field: &str, value: Literal) -> Expr {
    Expr::Eq {
        field: field.into(),
        value,
    }
}
fn s(text: &str) -> Literal {
    Literal::Str(text.into())
}
fn n(x: f64) -> Literal {
    Literal::Num(x)
}
fn not(e: Expr) -> Expr {
    Expr::Not(Box::new(e))
}
fn err(input: &str) -> (usize, String, String) {
    let e = parse(input).expect_err(input);
    (e.position, e.expected, e.found)
}

#[test]
fn each_operator() {
    assert_eq!(parse("a = 'x'"), Ok(eq("a", s("x"))));
    assert_eq!(parse("a==1"), Ok(eq("a", n(1.0))));
    assert_eq!(
        parse("a != true"),
        Ok(Expr::Ne {
            field: "a".into(),
            value: Literal::Bool(true)
        })
    );
    assert_eq!(
        parse("a<>FALSE"),
        Ok(Expr::Ne {
            field: "a".into(),
            value: Literal::Bool(false)
        })
    );
    for (text, op) in [
        ("<", RangeOp::Lt),
        ("<=", RangeOp::Le),
        (">", RangeOp::Gt),
        (">=", RangeOp::Ge),
    ] {
        let want = Expr::Range {
            field: "y.z-w_1".into(),
            op,
            value: -2.5,
        };
        assert_eq!(parse(&format!("y.z-w_1{text}-2.5")), Ok(want));
    }
    assert_eq!(
        parse("t in ('x', \"y\", 3)"),
        Ok(Expr::In {
            field: "t".into(),
            values: vec![s("x"), s("y"), n(3.0)]
        })
    );
    assert_eq!(
        parse("t NOT IN (true)"),
        Ok(Expr::NotIn {
            field: "t".into(),
            values: vec![Literal::Bool(true)]
        })
    );
    assert_eq!(
        parse("Contains( title , 'rust db')"),
        Ok(Expr::Contains {
            field: "title".into(),
            text: "rust db".into()
        })
    );
}

#[test]
fn precedence_not_and_or() {
    let (a, b, c) = (eq("a", n(1.0)), eq("b", n(2.0)), eq("c", n(3.0)));
    assert_eq!(
        parse("a=1 OR b=2 AND NOT c=3"),
        Ok(Expr::Or(vec![
            a.clone(),
            Expr::And(vec![b.clone(), not(c.clone())])
        ]))
    );
    assert_eq!(
        parse("NOT a=1 and b=2 or c=3"),
        Ok(Expr::Or(vec![
            Expr::And(vec![not(a.clone()), b.clone()]),
            c.clone()
        ]))
    );
    assert_eq!(
        parse("not (a=1 OR b=2) AND c=3"),
        Ok(Expr::And(vec![
            not(Expr::Or(vec![a.clone(), b.clone()])),
            c.clone()
        ]))
    );
    assert_eq!(parse("((a=1))"), Ok(a.clone()));
    assert_eq!(parse("NOT NOT a=1"), Ok(not(not(a))));
}

#[test]
fn quoting_and_numbers() {
    assert_eq!(parse(r"a = 'it\'s'"), Ok(eq("a", s("it's"))));
    assert_eq!(parse(r#"a = "say \"hi\"""#), Ok(eq("a", s("say \"hi\""))));
    assert_eq!(parse(r#"a = "it's""#), Ok(eq("a", s("it's"))));
    assert_eq!(parse(r"a = 'a\\b'"), Ok(eq("a", s(r"a\b"))));
    assert_eq!(parse(r"a = 'C:\dir'"), Ok(eq("a", s(r"C:\dir"))));
    assert_eq!(parse("a = 'héllo ✓'"), Ok(eq("a", s("héllo ✓"))));
    for (text, x) in [
        ("+2", 2.0),
        ("-1.5e3", -1500.0),
        (".5", 0.5),
        ("1.", 1.0),
        ("1E-2", 0.01),
    ] {
        assert_eq!(parse(&format!("a = {text}")), Ok(eq("a", n(x))), "{text}");
    }
}

#[test]
fn errors_have_position_and_expectation() {
    let e = parse("year >= 2020 AND )").unwrap_err();
    assert_eq!(
        e.to_string(),
        "at position 17: expected a condition (a field name, NOT, CONTAINS or '('), found ')'"
    );
    assert_eq!(err("a = "), (4, "a value".into(), "end of input".into()));
    assert_eq!(err("a IN (1, )"), (9, "a value".into(), "')'".into()));
    assert_eq!(err("a IN ()"), (6, "a value".into(), "')'".into()));
    assert_eq!(
        err("year >= '2024'"),
        (8, "a number".into(), "string '2024'".into())
    );
    assert_eq!(
        err("year < true"),
        (7, "a number".into(), "keyword 'true'".into())
    );
    assert_eq!(
        err("a = 1 b = 2"),
        (6, "AND, OR or end of input".into(), "'b'".into())
    );
    assert_eq!(
        err("(a = 1"),
        (6, "')', AND or OR".into(), "end of input".into())
    );
    assert_eq!(err("a # 1").2, "'#'");
    assert_eq!(err("a = 'abc").0, 8);
    assert!(err("a = 'abc")
        .1
        .contains("closing ' for the string starting at position 4"));
    assert_eq!(err("= 1").0, 0);
    assert_eq!(err("and = 1").2, "keyword 'and'");
    assert_eq!(err("").2, "end of input");
    assert_eq!(
        err("a = 1e999"),
        (4, "a finite number".into(), "'1e999'".into())
    );
    assert_eq!(err("a NOT 1").1, "IN after NOT");
    assert_eq!(
        err("a 1").1,
        "an operator (=, !=, <, <=, >, >=), IN or NOT IN"
    );
    assert_eq!(
        err("CONTAINS(a, 1)"),
        (12, "a quoted string".into(), "number 1".into())
    );
    assert_eq!(err("a = 'é' é").0, 9, "byte offsets");
}

#[test]
fn limits() {
    let long = format!("a = '{}'", "x".repeat(FILTER_BYTES_MAX));
    assert_eq!(err(&long).0, FILTER_BYTES_MAX);
    let nested = |d: usize| format!("{}a=1{}", "(".repeat(d), ")".repeat(d));
    assert!(parse(&nested(FILTER_DEPTH_MAX)).is_ok());
    assert_eq!(err(&nested(FILTER_DEPTH_MAX + 1)).0, FILTER_DEPTH_MAX);
    let nots = |d: usize| format!("{}a=1", "NOT ".repeat(d));
    assert!(parse(&nots(FILTER_DEPTH_MAX)).is_ok());
    assert_eq!(err(&nots(FILTER_DEPTH_MAX + 1)).0, FILTER_DEPTH_MAX * 4);
    let deep = "(".repeat(FILTER_BYTES_MAX);
    assert!(err(&deep).1.contains("nested"));
    let list = |k: usize| format!("a IN ({})", vec!["1"; k].join(","));
    assert!(parse(&list(FILTER_IN_VALUES_MAX)).is_ok());
    assert!(err(&list(FILTER_IN_VALUES_MAX + 1))
        .1
        .contains("values in an IN list"));
    let chain = vec!["a = 1"; 1500].join(" AND ");
    assert!(matches!(parse(&chain), Ok(Expr::And(children)) if children.len() == 1500));
}

#[test]
fn display_round_trips() {
    for text in [
        "a = 'x' AND (b = 1 OR NOT c IN ('it\\'s', 2.5, true)) AND d NOT IN (-0.001)",
        "(a = 1 AND b = 2) AND c = 3 OR (d = 4 OR e = 5)",
        "NOT (a = 1 OR b != false) AND CONTAINS(t, 'a\\\\b') AND y >= 1e300 AND z < 1.5e-7",
        "NOT NOT a < 3",
    ] {
        let expr = parse(text).unwrap();
        assert_eq!(parse(&expr.to_string()), Ok(expr.clone()), "{expr}");
    }
    assert_eq!(
        parse("a=1 or b<>'x'").unwrap().to_string(),
        "a = 1 OR b != 'x'"
    );
}

fn data() -> Vec<Map<String, Value>> {
    let rows = [
        json!({"cat": "A", "year": 2024, "tags": ["x", "y"], "draft": true, "title": "Rust DB: fast"}),
        json!({"cat": "B", "year": "2024", "tags": "x", "draft": false, "title": "rusty db"}),
        json!({"cat": "A", "year": 2024.0, "tags": [1, 2.5], "title": ["Go", "RUST"]}),
        json!({"year": -0.0, "obj": {"cat": "A"}, "draft": 1}),
    ];
    rows.into_iter()
        .map(|r| r.as_object().unwrap().clone())
        .collect()
}

/// Nodes selected by `filter`, checked to be the same through both evaluators.
fn select(filter: &str) -> Vec<u32> {
    let expr = parse(filter).unwrap();
    let rows = data();
    let mut index = MetadataIndex::new();
    for (node, m) in rows.iter().enumerate() {
        index.insert(node as u32, m);
    }
    let universe: RoaringBitmap = (0..rows.len() as u32).collect();
    let fast: Vec<u32> = evaluate(&expr, &index, &universe).iter().collect();
    let slow: Vec<u32> = (0..rows.len() as u32)
        .filter(|&i| matches(&expr, &rows[i as usize]))
        .collect();
    assert_eq!(fast, slow, "{filter}");
    fast
}

#[test]
fn semantics() {
    assert_eq!(select("cat = 'A'"), [0, 2]);
    assert_eq!(select("cat != 'A'"), [1, 3], "!= includes missing");
    assert_eq!(select("year = 2024"), [0, 2], "int == float, strict types");
    assert_eq!(select("year = '2024'"), [1]);
    assert_eq!(select("year = 0"), [3]);
    assert_eq!(select("year >= 2024"), [0, 2]);
    assert_eq!(select("year < 1"), [3]);
    assert_eq!(select("tags = 'x'"), [0, 1], "array membership");
    assert_eq!(select("tags > 2"), [2]);
    assert_eq!(select("tags IN ('y', 1)"), [0, 2]);
    assert_eq!(select("tags NOT IN ('y', 1)"), [1, 3]);
    assert_eq!(select("draft = true"), [0]);
    assert_eq!(select("NOT draft = true"), [1, 2, 3]);
    assert_eq!(select("draft = 1"), [3]);
    assert_eq!(
        select("CONTAINS(title, 'rust')"),
        [0, 2],
        "case-insensitive, arrays"
    );
    assert_eq!(select("CONTAINS(title, 'DB rust!')"), [0]);
    assert_eq!(select("CONTAINS(title, ' !! ')"), Vec::<u32>::new());
    assert_eq!(select("CONTAINS(title, 'go rust')"), [2]);
    assert_eq!(
        select("obj = 'A' OR cat = 'C'"),
        Vec::<u32>::new(),
        "objects ignored"
    );
    assert_eq!(
        select("cat = 'A' AND NOT tags = 'x' OR year = '2024'"),
        [1, 2]
    );
}

#[test]
fn evaluate_stays_within_the_universe() {
    let rows = data();
    let mut index = MetadataIndex::new();
    for (node, m) in rows.iter().enumerate() {
        index.insert(node as u32, m);
    }
    let universe: RoaringBitmap = [0, 1].into_iter().collect();
    for filter in [
        "cat = 'A'",
        "cat != 'A'",
        "NOT cat = 'Z'",
        "year >= 0",
        "tags NOT IN (1)",
    ] {
        let got = evaluate(&parse(filter).unwrap(), &index, &universe);
        assert!(got.is_subset(&universe), "{filter}");
    }
    assert!(evaluate(&Expr::And(vec![]), &index, &universe) == universe);
    assert!(evaluate(&Expr::Or(vec![]), &index, &universe).is_empty());
}
