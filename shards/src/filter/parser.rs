//! Recursive-descent parser of the filter grammar (see the module docs of
//! `filter`). Recursion depth is bounded by [`FILTER_DEPTH_MAX`] (each `(` and
//! `NOT` counts one level), so no input can overflow the stack.

use super::lexer::{describe, is_keyword, Lexer, OpTok, Tok, Token};
use super::{Expr, FilterError, Literal, RangeOp};
use crate::limits::{FILTER_BYTES_MAX, FILTER_DEPTH_MAX, FILTER_IN_VALUES_MAX};

/// Parses a filter. Errors carry a byte position; see the module docs for the
/// grammar, semantics and limits.
pub fn parse(input: &str) -> Result<Expr, FilterError> {
    if input.len() > FILTER_BYTES_MAX {
        return Err(FilterError {
            position: FILTER_BYTES_MAX,
            expected: format!("a filter of at most {FILTER_BYTES_MAX} bytes"),
            found: format!("{} bytes", input.len()),
        });
    }
    let mut lexer = Lexer::new(input);
    let peek = lexer.next_token()?;
    let mut parser = Parser {
        lexer,
        peek,
        depth: 0,
    };
    let expr = parser.or()?;
    if parser.peek.tok != Tok::Eof {
        return Err(parser.unexpected("AND, OR or end of input"));
    }
    Ok(expr)
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    peek: Token,
    depth: usize,
}

impl Parser<'_> {
    fn bump(&mut self) -> Result<Token, FilterError> {
        let next = self.lexer.next_token()?;
        Ok(std::mem::replace(&mut self.peek, next))
    }

    fn unexpected(&self, expected: &str) -> FilterError {
        FilterError {
            position: self.peek.pos,
            expected: expected.to_owned(),
            found: describe(&self.peek.tok),
        }
    }

    fn at_keyword(&self, keyword: &str) -> bool {
        matches!(&self.peek.tok, Tok::Ident(word) if word.eq_ignore_ascii_case(keyword))
    }

    fn expect(&mut self, tok: Tok, expected: &str) -> Result<(), FilterError> {
        if self.peek.tok != tok {
            return Err(self.unexpected(expected));
        }
        self.bump()?;
        Ok(())
    }

    /// Enters one level of `(` or `NOT` nesting at the current token.
    fn enter(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > FILTER_DEPTH_MAX {
            return Err(FilterError {
                position: self.peek.pos,
                expected: format!("at most {FILTER_DEPTH_MAX} nested parentheses and NOTs"),
                found: "deeper nesting".into(),
            });
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut children = vec![self.and()?];
        while self.at_keyword("OR") {
            self.bump()?;
            children.push(self.and()?);
        }
        Ok(if children.len() == 1 {
            children.swap_remove(0)
        } else {
            Expr::Or(children)
        })
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut children = vec![self.unary()?];
        while self.at_keyword("AND") {
            self.bump()?;
            children.push(self.unary()?);
        }
        Ok(if children.len() == 1 {
            children.swap_remove(0)
        } else {
            Expr::And(children)
        })
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        if self.at_keyword("NOT") {
            self.enter()?;
            self.bump()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        if self.peek.tok == Tok::LParen {
            self.enter()?;
            self.bump()?;
            let inner = self.or()?;
            self.expect(Tok::RParen, "')', AND or OR")?;
            self.depth -= 1;
            return Ok(inner);
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Expr, FilterError> {
        if self.at_keyword("CONTAINS") {
            self.bump()?;
            self.expect(Tok::LParen, "'(' after CONTAINS")?;
            let field = self.field("a field name")?;
            self.expect(Tok::Comma, "','")?;
            let Tok::Str(text) = self.peek.tok.clone() else {
                return Err(self.unexpected("a quoted string"));
            };
            self.bump()?;
            self.expect(Tok::RParen, "')'")?;
            return Ok(Expr::Contains { field, text });
        }
        let field = self.field("a condition (a field name, NOT, CONTAINS or '(')")?;
        if let Tok::Op(op) = self.peek.tok {
            self.bump()?;
            return Ok(match op {
                OpTok::Eq => Expr::Eq {
                    field,
                    value: self.literal()?,
                },
                OpTok::Ne => Expr::Ne {
                    field,
                    value: self.literal()?,
                },
                OpTok::Lt => self.range(field, RangeOp::Lt)?,
                OpTok::Le => self.range(field, RangeOp::Le)?,
                OpTok::Gt => self.range(field, RangeOp::Gt)?,
                OpTok::Ge => self.range(field, RangeOp::Ge)?,
            });
        }
        if self.at_keyword("IN") {
            self.bump()?;
            let values = self.list()?;
            return Ok(Expr::In { field, values });
        }
        if self.at_keyword("NOT") {
            self.bump()?;
            if !self.at_keyword("IN") {
                return Err(self.unexpected("IN after NOT"));
            }
            self.bump()?;
            let values = self.list()?;
            return Ok(Expr::NotIn { field, values });
        }
        Err(self.unexpected("an operator (=, !=, <, <=, >, >=), IN or NOT IN"))
    }

    fn field(&mut self, expected: &str) -> Result<String, FilterError> {
        match &self.peek.tok {
            Tok::Ident(name) if !is_keyword(name) => {
                let name = name.clone();
                self.bump()?;
                Ok(name)
            }
            _ => Err(self.unexpected(expected)),
        }
    }

    fn range(&mut self, field: String, op: RangeOp) -> Result<Expr, FilterError> {
        let Tok::Num(value) = self.peek.tok else {
            return Err(self.unexpected("a number"));
        };
        self.bump()?;
        Ok(Expr::Range { field, op, value })
    }

    fn literal(&mut self) -> Result<Literal, FilterError> {
        let value = match &self.peek.tok {
            Tok::Str(s) => Literal::Str(s.clone()),
            Tok::Num(x) => Literal::Num(*x),
            Tok::Ident(w) if w.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Tok::Ident(w) if w.eq_ignore_ascii_case("false") => Literal::Bool(false),
            _ => return Err(self.unexpected("a value")),
        };
        self.bump()?;
        Ok(value)
    }

    fn list(&mut self) -> Result<Vec<Literal>, FilterError> {
        self.expect(Tok::LParen, "'(' to start the list of values")?;
        let mut values = Vec::new();
        loop {
            if values.len() == FILTER_IN_VALUES_MAX {
                return Err(FilterError {
                    position: self.peek.pos,
                    expected: format!("at most {FILTER_IN_VALUES_MAX} values in an IN list"),
                    found: "more values".into(),
                });
            }
            values.push(self.literal()?);
            match self.peek.tok {
                Tok::Comma => {
                    self.bump()?;
                }
                Tok::RParen => {
                    self.bump()?;
                    return Ok(values);
                }
                _ => return Err(self.unexpected("',' or ')'")),
            }
        }
    }
}
