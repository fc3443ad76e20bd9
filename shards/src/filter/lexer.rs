//! Tokenizer of the filter language, pulled one token at a time by the parser so
//! that the first error in reading order is the one reported. Characters the
//! language does not know become [`Tok::Unknown`] and the parser reports them with
//! what it expected at that point.

use super::FilterError;

const KEYWORDS: [&str; 7] = ["AND", "OR", "NOT", "IN", "CONTAINS", "TRUE", "FALSE"];

/// True if `word` is a keyword (any case); keywords cannot be field names.
pub(super) fn is_keyword(word: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

/// Comparison operator tokens (`==` lexes as `Eq`, `<>` as `Ne`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OpTok {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    /// An identifier: a field name or a keyword (the parser decides).
    Ident(String),
    Str(String),
    Num(f64),
    LParen,
    RParen,
    Comma,
    Op(OpTok),
    Unknown(char),
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub tok: Tok,
    /// Byte offset of the token's first character.
    pub pos: usize,
}

/// How a token is shown in "found ..." of an error message.
pub(super) fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Ident(name) if is_keyword(name) => format!("keyword '{name}'"),
        Tok::Ident(name) => format!("'{}'", snippet(name)),
        Tok::Str(s) => format!("string '{}'", snippet(s)),
        Tok::Num(x) => format!("number {x}"),
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::Comma => "','".into(),
        Tok::Op(op) => format!(
            "'{}'",
            match op {
                OpTok::Eq => "=",
                OpTok::Ne => "!=",
                OpTok::Lt => "<",
                OpTok::Le => "<=",
                OpTok::Gt => ">",
                OpTok::Ge => ">=",
            }
        ),
        Tok::Unknown(c) => format!("'{}'", c.escape_debug()),
        Tok::Eof => "end of input".into(),
    }
}

/// At most 40 characters of `s`, with `...` when cut.
fn snippet(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((cut, _)) => format!("{}...", &s[..cut]),
        None => s.to_owned(),
    }
}

pub(super) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_continue(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a str) -> Self {
        Lexer { src, pos: 0 }
    }

    fn byte(&self, at: usize) -> Option<u8> {
        self.src.as_bytes().get(at).copied()
    }

    fn digits_at(&self, at: usize) -> bool {
        self.byte(at).is_some_and(|b| b.is_ascii_digit())
    }

    pub fn next_token(&mut self) -> Result<Token, FilterError> {
        while self.byte(self.pos).is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(b) = self.byte(start) else {
            return Ok(Token {
                tok: Tok::Eof,
                pos: start,
            });
        };
        let next = self.byte(start + 1);
        let (tok, len) = match b {
            b'(' => (Tok::LParen, 1),
            b')' => (Tok::RParen, 1),
            b',' => (Tok::Comma, 1),
            b'=' if next == Some(b'=') => (Tok::Op(OpTok::Eq), 2),
            b'=' => (Tok::Op(OpTok::Eq), 1),
            b'!' if next == Some(b'=') => (Tok::Op(OpTok::Ne), 2),
            b'<' if next == Some(b'>') => (Tok::Op(OpTok::Ne), 2),
            b'<' if next == Some(b'=') => (Tok::Op(OpTok::Le), 2),
            b'<' => (Tok::Op(OpTok::Lt), 1),
            b'>' if next == Some(b'=') => (Tok::Op(OpTok::Ge), 2),
            b'>' => (Tok::Op(OpTok::Gt), 1),
            b'\'' | b'"' => return self.string(b),
            b if is_ident_start(b) => {
                let end = (start..self.src.len())
                    .find(|&i| !is_ident_continue(self.src.as_bytes()[i]))
                    .unwrap_or(self.src.len());
                (Tok::Ident(self.src[start..end].to_owned()), end - start)
            }
            b'0'..=b'9' | b'.' | b'+' | b'-' => match self.number_len(start) {
                Some(len) => return self.number(start, len),
                None => (Tok::Unknown(char::from(b)), 1),
            },
            _ => {
                let c = self.src[start..].chars().next().unwrap_or('\u{fffd}');
                (Tok::Unknown(c), c.len_utf8())
            }
        };
        self.pos = start + len;
        Ok(Token { tok, pos: start })
    }

    /// Length of `[+-]?(d+(.d*)?|.d+)([eE][+-]?d+)?` at `start`, if one starts there.
    fn number_len(&self, start: usize) -> Option<usize> {
        let mut i = start;
        if matches!(self.byte(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let int_start = i;
        while self.digits_at(i) {
            i += 1;
        }
        let has_int = i > int_start;
        if self.byte(i) == Some(b'.') && (has_int || self.digits_at(i + 1)) {
            i += 1;
            while self.digits_at(i) {
                i += 1;
            }
        } else if !has_int {
            return None;
        }
        if matches!(self.byte(i), Some(b'e' | b'E')) {
            let mut j = i + 1;
            if matches!(self.byte(j), Some(b'+' | b'-')) {
                j += 1;
            }
            if self.digits_at(j) {
                while self.digits_at(j) {
                    j += 1;
                }
                i = j;
            }
        }
        Some(i - start)
    }

    fn number(&mut self, start: usize, len: usize) -> Result<Token, FilterError> {
        let text = &self.src[start..start + len];
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() => {
                self.pos = start + len;
                Ok(Token {
                    tok: Tok::Num(x),
                    pos: start,
                })
            }
            _ => Err(FilterError {
                position: start,
                expected: "a finite number".into(),
                found: format!("'{}'", snippet(text)),
            }),
        }
    }

    /// A quoted string; `\` escapes the quote character and `\`, and is kept
    /// literally before anything else.
    fn string(&mut self, quote: u8) -> Result<Token, FilterError> {
        let start = self.pos;
        let mut out = String::new();
        let mut chars = self.src[start + 1..].char_indices();
        while let Some((i, c)) = chars.next() {
            if c == char::from(quote) {
                self.pos = start + 1 + i + 1;
                return Ok(Token {
                    tok: Tok::Str(out),
                    pos: start,
                });
            }
            if c == '\\' {
                match chars.next() {
                    Some((_, e)) if e == char::from(quote) || e == '\\' => out.push(e),
                    Some((_, e)) => {
                        out.push('\\');
                        out.push(e);
                    }
                    None => break,
                }
            } else {
                out.push(c);
            }
        }
        Err(FilterError {
            position: self.src.len(),
            expected: format!(
                "a closing {} for the string starting at position {start}",
                char::from(quote)
            ),
            found: "end of input".into(),
        })
    }
}
