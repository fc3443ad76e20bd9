//! float32 values as JSON numbers in their shortest float32 form. `serde_json`
//! keeps numbers as f64, so `0.1f32` would be written `0.10000000149011612`;
//! Go (upstream) and clients write `0.1`. Every front end that returns stored
//! vectors goes through here.

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

#[cfg(test)]
mod tests {
    use super::*;

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
