//! Sigma `condition` expressions: text → a small tree, with the byte range
//! of every identifier for diagnostics.
//!
//! `and`, `or`, `not` (not binds tightest, then and, then or),
//! parentheses, search identifiers, `1 of PATTERN`, `any of PATTERN`,
//! `all of PATTERN` and `them`. An aggregation after `|` is read into an
//! [`Aggregation`].

use std::ops::Range;

/// A condition expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Every child holds.
    And(Vec<Expr>),
    /// Some child holds.
    Or(Vec<Expr>),
    /// The child does not hold.
    Not(Box<Expr>),
    /// A search identifier.
    Ident(String, Range<usize>),
    /// `1 of x*` / `all of x*` / `1 of them`.
    Of {
        /// `all of` rather than `1 of`.
        all: bool,
        /// The identifier pattern (with `*`), `None` for `them`.
        pattern: Option<String>,
        /// Where it was written.
        at: Range<usize>,
    },
}

/// `| count(FIELD) by GROUP > N` after the expression (Sigma's older
/// aggregation syntax).
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregation {
    /// The field whose distinct values are counted; `None` counts records.
    pub field: Option<(String, Range<usize>)>,
    /// The group-by field.
    pub by: Option<(String, Range<usize>)>,
    /// The comparison: `>`, `>=`, `<`, `<=`, `=`.
    pub cmp: String,
    /// The bound.
    pub value: u64,
    /// Where the aggregation was written.
    pub at: Range<usize>,
}

/// A mistake in a condition: what, and where in its text.
#[derive(Debug, Clone, PartialEq)]
pub struct CondError {
    /// What is wrong.
    pub message: String,
    /// Where.
    pub at: Range<usize>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Open,
    Close,
    Pipe,
}

fn tokens(text: &str) -> Vec<(Tok, Range<usize>)> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '(' => out.push((Tok::Open, i..i + 1)),
            ')' => out.push((Tok::Close, i..i + 1)),
            '|' => out.push((Tok::Pipe, i..i + 1)),
            c if c.is_whitespace() => {}
            _ => {
                let mut end = i + c.len_utf8();
                while let Some(&(j, d)) = chars.peek() {
                    if d.is_whitespace() || matches!(d, '(' | ')' | '|') {
                        break;
                    }
                    end = j + d.len_utf8();
                    chars.next();
                }
                out.push((
                    Tok::Word(text.get(i..end).unwrap_or_default().to_string()),
                    i..end,
                ));
            }
        }
    }
    out
}

struct Parser {
    toks: Vec<(Tok, Range<usize>)>,
    pos: usize,
    len: usize,
}

fn is_kw(word: &str, kw: &str) -> bool {
    word.eq_ignore_ascii_case(kw)
}

impl Parser {
    fn peek(&self) -> Option<&(Tok, Range<usize>)> {
        self.toks.get(self.pos)
    }

    fn peek_word(&self, kw: &str) -> bool {
        matches!(self.peek(), Some((Tok::Word(w), _)) if is_kw(w, kw))
    }

    fn end(&self) -> Range<usize> {
        self.len..self.len
    }

    fn or(&mut self) -> Result<Expr, CondError> {
        let mut parts = vec![self.and()?];
        while self.peek_word("or") {
            self.pos += 1;
            parts.push(self.and()?);
        }
        Ok(single(parts, Expr::Or))
    }

    fn and(&mut self) -> Result<Expr, CondError> {
        let mut parts = vec![self.not()?];
        while self.peek_word("and") {
            self.pos += 1;
            parts.push(self.not()?);
        }
        Ok(single(parts, Expr::And))
    }

    fn not(&mut self) -> Result<Expr, CondError> {
        if self.peek_word("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Expr, CondError> {
        let Some((tok, at)) = self.peek().cloned() else {
            return Err(CondError {
                message: "the condition ends where a search identifier was expected".into(),
                at: self.end(),
            });
        };
        self.pos += 1;
        match tok {
            Tok::Open => {
                let inner = self.or()?;
                match self.peek() {
                    Some((Tok::Close, _)) => {
                        self.pos += 1;
                        Ok(inner)
                    }
                    _ => Err(CondError {
                        message: "`(` is not closed".into(),
                        at,
                    }),
                }
            }
            Tok::Close | Tok::Pipe => Err(CondError {
                message: format!(
                    "`{}` where a search identifier was expected",
                    if tok == Tok::Close { ")" } else { "|" }
                ),
                at,
            }),
            Tok::Word(w) => {
                let quantity = if w == "1" || is_kw(&w, "any") {
                    Some(false)
                } else if is_kw(&w, "all") {
                    Some(true)
                } else {
                    None
                };
                if self.peek_word("of") {
                    let Some(all) = quantity else {
                        return Err(CondError {
                            message: format!(
                                "`{w} of` is not supported: Sigma has `1 of` and `all of`"
                            ),
                            at,
                        });
                    };
                    self.pos += 1;
                    let Some((Tok::Word(target), t_at)) = self.peek().cloned() else {
                        return Err(CondError {
                            message: "`of` needs a search identifier pattern or `them`".into(),
                            at,
                        });
                    };
                    self.pos += 1;
                    let pattern = (!is_kw(&target, "them")).then_some(target);
                    return Ok(Expr::Of {
                        all,
                        pattern,
                        at: at.start..t_at.end,
                    });
                }
                if ["and", "or", "not", "of", "them"]
                    .iter()
                    .any(|k| is_kw(&w, k))
                {
                    return Err(CondError {
                        message: format!("`{w}` where a search identifier was expected"),
                        at,
                    });
                }
                Ok(Expr::Ident(w, at))
            }
        }
    }

    fn aggregation(&mut self, pipe: Range<usize>) -> Result<Aggregation, CondError> {
        let bad = |at: Range<usize>| CondError {
            message:
                "an aggregation reads `| count(FIELD) by GROUP > N`; only `count` is supported"
                    .into(),
            at,
        };
        let word = |p: &mut Parser| match p.peek().cloned() {
            Some((Tok::Word(w), at)) => {
                p.pos += 1;
                Some((w, at))
            }
            _ => None,
        };
        let (func, at) = word(self).ok_or_else(|| bad(pipe.clone()))?;
        if !is_kw(&func, "count") {
            return Err(CondError {
                message: format!("aggregation `{func}` is not supported: only `count` is"),
                at,
            });
        }
        if !matches!(self.peek(), Some((Tok::Open, _))) {
            return Err(bad(at));
        }
        self.pos += 1;
        let field = match self.peek().cloned() {
            Some((Tok::Close, _)) => None,
            _ => Some(word(self).ok_or_else(|| bad(at.clone()))?),
        };
        if !matches!(self.peek(), Some((Tok::Close, _))) {
            return Err(bad(at));
        }
        self.pos += 1;
        let by = if self.peek_word("by") {
            self.pos += 1;
            Some(word(self).ok_or_else(|| bad(at.clone()))?)
        } else {
            None
        };
        let (cmp, cmp_at) = word(self).ok_or_else(|| bad(at.clone()))?;
        if !matches!(cmp.as_str(), ">" | ">=" | "<" | "<=" | "=" | "==") {
            return Err(CondError {
                message: format!("`{cmp}` is not a comparison (>, >=, <, <=, =)"),
                at: cmp_at,
            });
        }
        let (n, n_at) = word(self).ok_or_else(|| bad(cmp_at.clone()))?;
        let value = n.parse::<u64>().map_err(|_| CondError {
            message: format!("`{n}` is not a whole number"),
            at: n_at.clone(),
        })?;
        Ok(Aggregation {
            field,
            by,
            cmp: if cmp == "==" { "=".into() } else { cmp },
            value,
            at: pipe.start..n_at.end,
        })
    }
}

fn single(mut parts: Vec<Expr>, wrap: fn(Vec<Expr>) -> Expr) -> Expr {
    if parts.len() == 1
        && let Some(one) = parts.pop()
    {
        return one;
    }
    wrap(parts)
}

/// Parses a condition, with its aggregation when there is one.
pub fn parse(text: &str) -> Result<(Expr, Option<Aggregation>), CondError> {
    let mut p = Parser {
        toks: tokens(text),
        pos: 0,
        len: text.len(),
    };
    let expr = p.or()?;
    let aggregation = match p.peek().cloned() {
        None => None,
        Some((Tok::Pipe, at)) => {
            p.pos += 1;
            Some(p.aggregation(at)?)
        }
        Some((tok, at)) => {
            return Err(CondError {
                message: match tok {
                    Tok::Close => "`)` has no `(`".to_string(),
                    Tok::Word(w) => format!("`{w}` where `and`, `or` or the end was expected"),
                    _ => "unexpected text".to_string(),
                },
                at,
            });
        }
    };
    if let Some((_, at)) = p.peek() {
        return Err(CondError {
            message: "text after the aggregation".into(),
            at: at.clone(),
        });
    }
    Ok((expr, aggregation))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ident(s: &str) -> String {
        s.to_string()
    }

    #[test]
    fn precedence_is_not_and_or() {
        let (e, _) = parse("a or not b and c").unwrap_or((Expr::And(vec![]), None));
        let Expr::Or(parts) = e else {
            panic!("or at the top")
        };
        assert!(matches!(&parts[0], Expr::Ident(n, r) if *n == ident("a") && *r == (0..1)));
        assert!(matches!(&parts[1], Expr::And(inner) if matches!(inner[0], Expr::Not(_))));
    }

    #[test]
    fn quantifiers_and_parentheses() {
        let (e, _) =
            parse("(1 of sel_* or all of them) and not filter").unwrap_or((Expr::Or(vec![]), None));
        let Expr::And(parts) = e else { panic!() };
        assert!(matches!(&parts[0], Expr::Or(x) if x.len() == 2));
        assert!(parse("2 of sel*").is_err());
        assert!(parse("a and").is_err());
        assert!(parse("(a").is_err());
        assert!(parse("a b").is_err());
    }

    #[test]
    fn aggregations() {
        let (_, agg) = parse("sel | count(UserPrincipalName) by IPAddress > 3")
            .unwrap_or((Expr::Or(vec![]), None));
        let agg = agg.unwrap_or_else(|| panic!("an aggregation"));
        assert_eq!(agg.field.map(|f| f.0).as_deref(), Some("UserPrincipalName"));
        assert_eq!(agg.by.map(|f| f.0).as_deref(), Some("IPAddress"));
        assert_eq!((agg.cmp.as_str(), agg.value), (">", 3));
        assert!(parse("sel | sum(x) > 3").is_err());
    }
}
