//! Metadata filter language: [`parse`] text into an [`Expr`], then [`evaluate`] it
//! over a [`MetadataIndex`] (bitmaps) or check one node's metadata with [`matches`]
//! (the slow, obviously-correct reference, also usable for post-filtering).
//!
//! # Grammar
//!
//! ```text
//! or    := and (OR and)*
//! and   := unary (AND unary)*
//! unary := NOT unary | '(' or ')' | atom
//! atom  := field op value
//!        | field IN '(' value (',' value)* ')'
//!        | field NOT IN '(' value (',' value)* ')'
//!        | CONTAINS '(' field ',' string ')'
//! op    := '=' | '==' | '!=' | '<>' | '<' | '<=' | '>' | '>='
//! value := string | number | true | false
//! field := [A-Za-z_][A-Za-z0-9_.-]*      (not a keyword)
//! ```
//!
//! So precedence is NOT > AND > OR. Keywords (`AND OR NOT IN CONTAINS TRUE FALSE`)
//! are case-insensitive and reserved: they cannot be field names. Strings are
//! `'single'` or `"double"` quoted; a backslash escapes the quote character or a
//! backslash, and before any other character it is kept as is (`'C:\dir'`).
//! Numbers: optional sign, digits with optional fraction (`1`, `1.5`, `.5`, `1.`),
//! optional exponent (`1e-3`); they must be finite as `f64` (`1e999` is an error).
//! Whitespace is insignificant.
//!
//! # Semantics
//!
//! A field's value is viewed as a set of scalars (see [`crate::metadata::scalars`]):
//! a string, number or bool is itself; an array is its string/number/bool elements;
//! `null`, objects and anything nested deeper match nothing.
//! - `f = 'text'`: some string scalar of `f` equals `text` exactly (so for arrays:
//!   membership). `f = 5`: some number scalar equals 5 as `f64` (`5 = 5.0`,
//!   `-0 = 0`). `f = true`: some bool scalar is `true`. Types are strict:
//!   `year = '2024'` does not match the number 2024 and `flag = 1` not `true`.
//! - `f != v` is exactly `NOT (f = v)`: it includes nodes without `f` or with `f` of
//!   another type.
//! - `f < n`, `<=`, `>`, `>=`: some number scalar of `f` compares true with `n`.
//!   Only a number literal is allowed (a string is a parse error "expected a number").
//! - `f IN (v1, v2, ..)` is `f = v1 OR f = v2 OR ..`; `f NOT IN (..)` is
//!   `NOT (f IN (..))`.
//! - `CONTAINS(f, 'text')`: every token of `text` is among the tokens of `f`'s
//!   string scalars (for an array, of all its strings together). Tokens are maximal
//!   runs of alphanumeric characters and `_`, lowercased ([`crate::metadata::tokens`]),
//!   so this is case-insensitive and word-based. A `text` without tokens (`''`,
//!   `'!!'`) matches nothing.
//! - `NOT x` is "the live nodes (the universe) that do not match `x`".
//!
//! Errors are [`FilterError`]s whose `position` is a **byte** offset into the
//! input. Limits: input at most [`FILTER_BYTES_MAX`] bytes, at most
//! [`FILTER_DEPTH_MAX`] nested parentheses and NOTs, at most
//! [`FILTER_IN_VALUES_MAX`] values per IN list. `parse` never panics.
//!
//! [`MetadataIndex`]: crate::metadata::MetadataIndex
//! [`FILTER_BYTES_MAX`]: crate::limits::FILTER_BYTES_MAX
//! [`FILTER_DEPTH_MAX`]: crate::limits::FILTER_DEPTH_MAX
//! [`FILTER_IN_VALUES_MAX`]: crate::limits::FILTER_IN_VALUES_MAX

mod eval;
mod lexer;
mod parser;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use eval::{evaluate, matches};
pub use parser::parse;

use std::fmt;

/// A literal value in a filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Num(f64),
    Bool(bool),
}

/// The range operators; they take a number only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeOp {
    Lt,
    Le,
    Gt,
    Ge,
}

impl RangeOp {
    /// `x op bound`.
    pub fn holds(self, x: f64, bound: f64) -> bool {
        match self {
            RangeOp::Lt => x < bound,
            RangeOp::Le => x <= bound,
            RangeOp::Gt => x > bound,
            RangeOp::Ge => x >= bound,
        }
    }
}

/// A parsed filter. `And`/`Or` are n-ary (a chain `a AND b AND c` is one node, so
/// nesting depth follows parentheses, not chain length); `And(vec![])` is true and
/// `Or(vec![])` is false (the parser never builds those, nor one-child lists).
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Eq {
        field: String,
        value: Literal,
    },
    Ne {
        field: String,
        value: Literal,
    },
    Range {
        field: String,
        op: RangeOp,
        value: f64,
    },
    In {
        field: String,
        values: Vec<Literal>,
    },
    NotIn {
        field: String,
        values: Vec<Literal>,
    },
    Contains {
        field: String,
        text: String,
    },
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

/// A parse error. `position` is a byte offset into the filter text.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[error("at position {position}: expected {expected}, found {found}")]
pub struct FilterError {
    pub position: usize,
    pub expected: String,
    pub found: String,
}

impl fmt::Display for Literal {
    /// Prints in filter syntax: strings single-quoted with `\` and `'` escaped;
    /// numbers so that they parse back to the same `f64`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Str(s) => {
                f.write_str("'")?;
                for c in s.chars() {
                    if c == '\\' || c == '\'' {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str("'")
            }
            Literal::Num(x) if x.fract() == 0.0 && x.abs() < 1e15 => write!(f, "{x}"),
            Literal::Num(x) => write!(f, "{x:?}"),
            Literal::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl fmt::Display for RangeOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RangeOp::Lt => "<",
            RangeOp::Le => "<=",
            RangeOp::Gt => ">",
            RangeOp::Ge => ">=",
        })
    }
}

impl fmt::Display for Expr {
    /// Prints in filter syntax with the parentheses precedence needs, so that
    /// `parse(&e.to_string()) == Ok(e)` for every `e` the parser can build (fields
    /// that are identifiers, finite numbers, `And`/`Or` with at least two children).
    /// `And(vec![])`/`Or(vec![])` print as `(AND)`/`(OR)`, which does not parse.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Eq { field, value } => write!(f, "{field} = {value}"),
            Expr::Ne { field, value } => write!(f, "{field} != {value}"),
            Expr::Range { field, op, value } => {
                write!(f, "{field} {op} {}", Literal::Num(*value))
            }
            Expr::In { field, values } => write!(f, "{field} IN ({})", List(values)),
            Expr::NotIn { field, values } => write!(f, "{field} NOT IN ({})", List(values)),
            Expr::Contains { field, text } => {
                write!(f, "CONTAINS({field}, {})", Literal::Str(text.clone()))
            }
            Expr::Not(inner) => match **inner {
                Expr::And(_) | Expr::Or(_) => write!(f, "NOT ({inner})"),
                _ => write!(f, "NOT {inner}"),
            },
            Expr::And(children) => join(f, children, " AND ", "(AND)", |c| {
                matches!(c, Expr::And(_) | Expr::Or(_))
            }),
            Expr::Or(children) => join(f, children, " OR ", "(OR)", |c| matches!(c, Expr::Or(_))),
        }
    }
}

struct List<'a>(&'a [Literal]);

impl fmt::Display for List<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, value) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{value}")?;
        }
        Ok(())
    }
}

fn join(
    f: &mut fmt::Formatter<'_>,
    children: &[Expr],
    separator: &str,
    empty: &str,
    needs_parens: impl Fn(&Expr) -> bool,
) -> fmt::Result {
    if children.is_empty() {
        return f.write_str(empty);
    }
    for (i, child) in children.iter().enumerate() {
        if i > 0 {
            f.write_str(separator)?;
        }
        if needs_parens(child) && children.len() > 1 {
            write!(f, "({child})")?;
        } else {
            write!(f, "{child}")?;
        }
    }
    Ok(())
}
