//! float32 vectors in JSON, both ways.
//!
//! Out: numbers in their shortest float32 form. `serde_json` keeps numbers as
//! f64, so `0.1f32` would be written `0.10000000149011612`; Go (upstream) and
//! clients write `0.1`. Every front end that returns stored vectors goes through
//! here.
//!
//! In: a vector field (`query_vector`, `vector`) is taken as raw JSON text and
//! parsed here, not number by number through serde: serde_json's number path was
//! 6% of the server's CPU under search over HTTP (384 numbers a query). The fast
//! path is one integer loop (19 significant digits kept) and one or two f64
//! multiplies or divides: exact when the digits fit 53 bits and the power is
//! within 10^±22 (the classic exact case), otherwise within 2 f64 ulps, which
//! decides the f32 unless the value lies within a few ulps of the midpoint of two
//! f32 values (clients that print f64s, like Python, send 17 digits). Those and
//! every other number go to the standard library's correctly rounded parser. The
//! result is always the f32 of the f64 nearest the text, as serde_json gives.

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::Value;

/// `x` as the f64 closest to its shortest float32 decimal (so it prints as that
/// decimal); non-finite values (never stored) become `null`.
pub fn f32_json(x: f32) -> Value {
    // Rust's Display for f32 is the shortest decimal that reads back as `x`.
    let shortest: f64 = x.to_string().parse().unwrap_or(f64::from(x));
    serde_json::Number::from_f64(shortest).map_or(Value::Null, Value::Number)
}

/// A vector as a JSON array of shortest float32 numbers.
pub fn f32s_json(v: &[f32]) -> Value {
    Value::Array(v.iter().map(|x| f32_json(*x)).collect())
}

/// For `#[serde(default, deserialize_with = ...)]` on an `Option<Vec<f32>>`
/// field: `null` is None, an array of numbers is parsed by [`parse_f32s`]. The
/// text is borrowed from the body (bodies are decoded with `from_slice`), so no
/// copy of it is made.
pub fn opt_f32s<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<f32>>, D::Error> {
    let raw = <&RawValue>::deserialize(d)?;
    let text = raw.get();
    if text == "null" {
        return Ok(None);
    }
    parse_f32s(text).map(Some).map_err(serde::de::Error::custom)
}

/// A JSON array of numbers (`[0.1, -2e-3, 4]`) as float32 values.
pub fn parse_f32s(text: &str) -> Result<Vec<f32>, String> {
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'[') {
        return Err("expected an array of numbers".into());
    }
    i = skip_ws(b, i + 1);
    // One number per comma, plus one: the exact length for a well-formed array,
    // so the vector is allocated once and never copied.
    let mut out = Vec::with_capacity(b.iter().filter(|&&c| c == b',').count() + 1);
    if b.get(i) == Some(&b']') {
        i += 1;
    } else {
        loop {
            let bad = || format!("element {} is not a number", out.len());
            let (x, next) = number(b, i).ok_or_else(bad)?;
            out.push(x);
            i = skip_ws(b, next);
            match b.get(i) {
                Some(b',') => i = skip_ws(b, i + 1),
                Some(b']') => {
                    i += 1;
                    break;
                }
                _ => {
                    return Err(format!(
                        "expected ',' or ']' after element {}",
                        out.len() - 1
                    ))
                }
            }
        }
    }
    if skip_ws(b, i) != b.len() {
        return Err("trailing characters after the array".into());
    }
    Ok(out)
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// Powers of ten that f64 holds exactly.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// One JSON number at `b[start..]`: its value and the index after it.
fn number(b: &[u8], start: usize) -> Option<(f32, usize)> {
    let mut i = start;
    let negative = b.get(i) == Some(&b'-');
    i += usize::from(negative);
    // Significant digits in `mantissa` (up to 19), the rest only counted.
    let (mut mantissa, mut exp10, mut inexact) = (0u64, 0i64, false);
    let mut digit = |d: u8, fraction: bool, mantissa: &mut u64, exp10: &mut i64| {
        if *mantissa < 1_000_000_000_000_000_000 {
            *mantissa = *mantissa * 10 + u64::from(d - b'0');
            *exp10 -= i64::from(fraction);
        } else {
            inexact |= d != b'0';
            *exp10 += i64::from(!fraction);
        }
    };
    match b.get(i)? {
        b'0' => i += 1,
        b'1'..=b'9' => {
            while let Some(&d @ b'0'..=b'9') = b.get(i) {
                digit(d, false, &mut mantissa, &mut exp10);
                i += 1;
            }
        }
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        let from = i;
        while let Some(&d @ b'0'..=b'9') = b.get(i) {
            digit(d, true, &mut mantissa, &mut exp10);
            i += 1;
        }
        if i == from {
            return None;
        }
    }
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        let minus = b.get(i) == Some(&b'-');
        i += usize::from(minus || b.get(i) == Some(&b'+'));
        let (from, mut e) = (i, 0i64);
        while let Some(&d @ b'0'..=b'9') = b.get(i) {
            e = (e * 10 + i64::from(d - b'0')).min(1 << 20);
            i += 1;
        }
        if i == from {
            return None;
        }
        exp10 += if minus { -e } else { e };
    }
    let exact = !inexact && mantissa <= 1 << 53 && (-22..=22).contains(&exp10);
    let x = match near(mantissa, exp10) {
        Some(v) if exact || clear_of_a_tie(v) => v,
        // Outside both cases: the standard library rounds correctly.
        _ => {
            let text = std::str::from_utf8(&b[start + usize::from(negative)..i]).ok()?;
            text.parse::<f64>().ok()?
        }
    };
    let x = if negative { -x } else { x };
    Some((x as f32, i))
}

/// `mantissa * 10^exp10` in f64 with at most three roundings (within 2 ulps of
/// the exact value; exactly rounded when the mantissa fits 53 bits and the power
/// 10^±22); None outside 10^±44.
fn near(mantissa: u64, exp10: i64) -> Option<f64> {
    let m = mantissa as f64;
    Some(match exp10 {
        0..=22 => m * POW10[exp10 as usize],
        -22..=-1 => m / POW10[(-exp10) as usize],
        -44..=-23 => m / POW10[22] / POW10[(-exp10 - 22) as usize],
        _ => return None,
    })
}

/// Whether `v` (within 2 f64 ulps of the number written) rounds to the same f32
/// as the exact value: it is in f32's normal range and more than 4 ulps from the
/// midpoint between two f32 values (the 29 bits f32 drops are then not near
/// `1000...0`), so neither that rounding nor the reference's f64-then-f32 one can
/// fall on the other side.
fn clear_of_a_tie(v: f64) -> bool {
    const DROPPED: u64 = (1 << 29) - 1;
    const MIDPOINT: u64 = 1 << 28;
    const TOP: f64 = (1u128 << 127) as f64;
    let a = v.abs();
    let low = a.to_bits() & DROPPED;
    a == 0.0 || ((f32::MIN_POSITIVE as f64..TOP).contains(&a) && low.abs_diff(MIDPOINT) > 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: the standard library's correctly rounded f64, then f32.
    fn reference(text: &str) -> f32 {
        text.parse::<f64>().unwrap() as f32
    }

    #[test]
    fn parses_every_number_as_the_correctly_rounded_reference() {
        let mut texts: Vec<String> = [
            "0",
            "-0",
            "1",
            "-1",
            "0.1",
            "0.5",
            "1e0",
            "1E+2",
            "1e-2",
            "-3.25e-10",
            "123456789",
            "0.000001234",
            "12345678901234567890123",
            "1.00000000000000000000001",
            "9007199254740993",
            "3.4028235e38",
            "3.5e38",
            "1e-46",
            "1e400",
            "4.9e-324",
            "0.30000000000000004",
            "1e22",
            "1e23",
            "123.456e-30",
            "100000000000000000000e-20",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Floats as clients write them: shortest f32, f64, fixed and exponent forms.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let x = f32::from_bits((state >> 32) as u32);
            if !x.is_finite() {
                continue;
            }
            texts.push(x.to_string());
            texts.push(format!("{:e}", x));
            texts.push(f64::from(x).to_string());
            // Midpoints between two f32 values, and a hair either side of them.
            if x.is_normal() && x.abs() < 1e37 {
                let up = f32::from_bits(x.to_bits() + 1);
                let mid = (f64::from(x) + f64::from(up)) / 2.0;
                for m in [
                    mid,
                    f64::from_bits(mid.to_bits() - 1),
                    f64::from_bits(mid.to_bits() + 3),
                ] {
                    texts.push(m.to_string());
                    texts.push(format!("{m:e}"));
                }
            }
            let small = (state % 2_000_001) as f64 / 1_000_000.0 - 1.0;
            texts.push(format!("{small:.9}"));
            texts.push(format!("{}", small as f32));
        }
        let joined = format!("[{}]", texts.join(", "));
        let ours = parse_f32s(&joined).unwrap();
        assert_eq!(ours.len(), texts.len());
        for (t, x) in texts.iter().zip(&ours) {
            assert_eq!(x.to_bits(), reference(t).to_bits(), "{t}");
        }
    }

    #[test]
    fn refuses_what_is_not_an_array_of_json_numbers() {
        for bad in [
            "", "1", "[", "[1,]", "[,1]", "[01]", "[1.]", "[.5]", "[1e]", "[-]", "[+1]", "[\"1\"]",
            "[1 2]", "[1]x", "[null]", "[NaN]", "[1,,2]", "{}",
        ] {
            assert!(parse_f32s(bad).is_err(), "{bad:?} was taken");
        }
        assert_eq!(parse_f32s(" [ ] ").unwrap(), Vec::<f32>::new());
        assert_eq!(parse_f32s("[ 1 ,\n-2.5e1\t]").unwrap(), vec![1.0, -25.0]);
    }

    #[test]
    fn a_vector_field_takes_null_absent_or_an_array() {
        #[derive(serde::Deserialize)]
        struct Body {
            #[serde(default, deserialize_with = "opt_f32s")]
            v: Option<Vec<f32>>,
        }
        let parse = |s: &str| serde_json::from_str::<Body>(s).map(|b| b.v);
        assert_eq!(parse(r#"{"v": [0.1, 2]}"#).unwrap(), Some(vec![0.1, 2.0]));
        assert_eq!(parse(r#"{"v": null}"#).unwrap(), None);
        assert_eq!(parse("{}").unwrap(), None);
        let e = parse(r#"{"v": [1, "x"]}"#).unwrap_err().to_string();
        assert!(e.contains("element 1 is not a number"), "{e}");
        assert!(parse(r#"{"v": 3}"#).is_err());
    }

    #[test]
    fn shortest_float32_text() {
        let v = f32s_json(&[0.1, 0.2, 0.3, -1.5, 1e-8, 3.4028235e38, 0.0]);
        assert_eq!(v.to_string(), "[0.1,0.2,0.3,-1.5,1e-8,3.4028235e+38,0.0]");
        // Every value reads back as the same float32.
        for x in [0.1f32, 1.0 / 3.0, 123456.79, f32::MIN_POSITIVE, -7.0e-45] {
            let back: f64 = f32_json(x).as_f64().unwrap();
            assert_eq!(back as f32, x);
        }
    }
}
