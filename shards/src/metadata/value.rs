//! Value helpers shared by the metadata index and the filter's reference evaluator:
//! which parts of a JSON value take part in filtering ([`scalars`]), the
//! total-ordered number key ([`NumKey`]) and the CONTAINS tokenizer ([`tokens`]).
//!
//! Sharing these keeps [`super::MetadataIndex`] and `filter::matches` agreeing on
//! what a value "is"; the unit tests in `metadata::tests` pin the rules down.

use serde_json::Value;
use std::cmp::Ordering;

/// One filterable piece of a metadata value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar<'a> {
    Str(&'a str),
    /// Any JSON number as `f64` (ints and floats compare as `f64`); never NaN.
    Num(f64),
    Bool(bool),
}

impl<'a> Scalar<'a> {
    fn of(value: &'a Value) -> Option<Self> {
        match value {
            Value::String(s) => Some(Scalar::Str(s)),
            Value::Number(n) => n.as_f64().filter(|x| !x.is_nan()).map(Scalar::Num),
            Value::Bool(b) => Some(Scalar::Bool(*b)),
            Value::Null | Value::Array(_) | Value::Object(_) => None,
        }
    }
}

/// The scalars of a field's value: the value itself if it is a string, number or
/// bool; the string/number/bool elements if it is an array (one level only: arrays
/// and objects inside arrays are skipped); nothing for `null` and objects.
pub fn scalars(value: &Value) -> impl Iterator<Item = Scalar<'_>> {
    let (single, elements) = match value {
        Value::Array(elements) => (None, elements.as_slice()),
        other => (Scalar::of(other), &[][..]),
    };
    single
        .into_iter()
        .chain(elements.iter().filter_map(Scalar::of))
}

/// Tokens for CONTAINS: maximal runs of `char::is_alphanumeric() || c == '_'`,
/// each lowercased with [`str::to_lowercase`].
pub fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
}

/// A number key with a total order: `-0.0` is stored as `0.0` so that numeric
/// equality and the key agree; ordering is [`f64::total_cmp`]. NaN is never stored
/// (JSON has no NaN and lookups with a NaN literal return nothing).
#[derive(Debug, Clone, Copy)]
pub struct NumKey(f64);

impl NumKey {
    pub fn new(x: f64) -> Self {
        NumKey(if x == 0.0 { 0.0 } else { x })
    }
    pub fn get(self) -> f64 {
        self.0
    }
}

impl PartialEq for NumKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for NumKey {}
impl PartialOrd for NumKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for NumKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}
