//! Python literals as `repr()` prints them, read without evaluating
//! anything: strings, numbers, `None`, `True`, `False`, tuples, lists and
//! dicts. Anything else (a name, a call, an attribute, an object's
//! `<... at 0x...>`) is refused, so `__import__('os').system('x')` is an
//! error, never a call.

use super::FormError;

/// Nesting deeper than this is refused (repr of real log arguments is
/// shallow; the bound keeps the recursive reader's stack small).
const MAX_DEPTH: usize = 32;

/// A Python literal value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Literal {
    None,
    Bool(bool),
    Int(i64),
    /// An integer beyond 64 bits, as its decimal digits (with a `-`).
    BigInt(String),
    Float(f64),
    Str(String),
    Tuple(Vec<Literal>),
    List(Vec<Literal>),
    Dict(Vec<(Literal, Literal)>),
}

/// Reads exactly one literal from `text` (surrounding spaces allowed).
pub(crate) fn parse(text: &str) -> Result<Literal, FormError> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        at: 0,
    };
    let value = p.value(0)?;
    p.skip_space();
    if p.at != p.s.len() {
        return Err(p.refuse("text after the value"));
    }
    Ok(value)
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn refuse(&self, what: &str) -> FormError {
        let shown: String = self.text[self.at.min(self.text.len())..]
            .chars()
            .take(40)
            .collect();
        FormError::NotALiteral {
            reason: format!("{what} at offset {} (`{shown}`)", self.at),
        }
    }

    fn skip_space(&mut self) {
        while self
            .s
            .get(self.at)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.s.get(self.at).copied()
    }

    fn value(&mut self, depth: usize) -> Result<Literal, FormError> {
        if depth > MAX_DEPTH {
            return Err(self.refuse("nesting deeper than 32"));
        }
        match self.peek() {
            Some(b'(') => {
                self.at += 1;
                let (items, trailing_comma) = self.sequence(b')', depth)?;
                // `(x)` is x in Python; a tuple of one is `(x,)`.
                if items.len() == 1 && !trailing_comma {
                    return Ok(items.into_iter().next().unwrap_or(Literal::None));
                }
                Ok(Literal::Tuple(items))
            }
            Some(b'[') => {
                self.at += 1;
                Ok(Literal::List(self.sequence(b']', depth)?.0))
            }
            Some(b'{') => {
                self.at += 1;
                self.dict(depth)
            }
            Some(b'\'' | b'"') => {
                let mut s = self.string()?;
                // Adjacent strings concatenate, as in Python source.
                while matches!(self.peek(), Some(b'\'' | b'"')) {
                    s.push_str(&self.string()?);
                }
                Ok(Literal::Str(s))
            }
            Some(b'-' | b'+' | b'0'..=b'9' | b'.') => self.number(),
            Some(b'a'..=b'z' | b'A'..=b'Z' | b'_') => self.word(),
            Some(_) => Err(self.refuse("not a literal")),
            None => Err(self.refuse("a value was expected")),
        }
    }

    /// Items up to `close`; whether the last was followed by a comma.
    fn sequence(&mut self, close: u8, depth: usize) -> Result<(Vec<Literal>, bool), FormError> {
        let mut items = Vec::new();
        let mut comma = false;
        loop {
            if self.peek() == Some(close) {
                self.at += 1;
                return Ok((items, comma));
            }
            if !items.is_empty() && !comma {
                return Err(self.refuse("`,` expected"));
            }
            items.push(self.value(depth + 1)?);
            comma = self.peek() == Some(b',');
            if comma {
                self.at += 1;
            }
        }
    }

    fn dict(&mut self, depth: usize) -> Result<Literal, FormError> {
        let mut items = Vec::new();
        loop {
            if self.peek() == Some(b'}') {
                self.at += 1;
                return Ok(Literal::Dict(items));
            }
            let key = self.value(depth + 1)?;
            if self.peek() != Some(b':') {
                return Err(self.refuse("`:` expected"));
            }
            self.at += 1;
            let value = self.value(depth + 1)?;
            items.push((key, value));
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {}
                _ => return Err(self.refuse("`,` or `}` expected")),
            }
        }
    }

    fn word(&mut self) -> Result<Literal, FormError> {
        let start = self.at;
        while self
            .s
            .get(self.at)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            self.at += 1;
        }
        let word = &self.text[start..self.at];
        let value = match word {
            "None" => Literal::None,
            "True" => Literal::Bool(true),
            "False" => Literal::Bool(false),
            // repr(float('inf')) and repr(float('nan')).
            "inf" => Literal::Float(f64::INFINITY),
            "nan" => Literal::Float(f64::NAN),
            _ => {
                self.at = start;
                return Err(self.refuse("a name (only literals are read, nothing is evaluated)"));
            }
        };
        // A literal name followed by a call or an attribute is code.
        if matches!(self.peek(), Some(b'(' | b'.' | b'[')) {
            self.at = start;
            return Err(self.refuse("an expression (only literals are read, nothing is evaluated)"));
        }
        Ok(value)
    }

    fn number(&mut self) -> Result<Literal, FormError> {
        let start = self.at;
        let negative = match self.s[self.at] {
            b'-' => {
                self.at += 1;
                true
            }
            b'+' => {
                self.at += 1;
                false
            }
            _ => false,
        };
        if self.s[self.at..].starts_with(b"inf") {
            self.at += 3;
            return Ok(Literal::Float(if negative {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }));
        }
        let digits_start = self.at;
        let mut float = false;
        while let Some(&b) = self.s.get(self.at) {
            match b {
                b'0'..=b'9' | b'_' => {}
                b'.' => float = true,
                b'e' | b'E' => {
                    float = true;
                    if matches!(self.s.get(self.at + 1), Some(b'-' | b'+')) {
                        self.at += 1;
                    }
                }
                _ => break,
            }
            self.at += 1;
        }
        if self.at == digits_start {
            return Err(self.refuse("a number was expected"));
        }
        let text: String = self.text[start..self.at]
            .chars()
            .filter(|c| *c != '_')
            .collect();
        if self
            .s
            .get(self.at)
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'(')
        {
            self.at = start;
            return Err(self.refuse("not a number literal"));
        }
        if float {
            return text
                .parse::<f64>()
                .map(Literal::Float)
                .map_err(|_| self.refuse("not a float literal"));
        }
        let body = text.trim_start_matches(['-', '+']);
        if !body.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.refuse("not an integer literal"));
        }
        let text = text.trim_start_matches('+');
        Ok(match text.parse::<i64>() {
            Ok(i) => Literal::Int(i),
            Err(_) => Literal::BigInt(text.to_owned()),
        })
    }

    /// A quoted string with Python's escapes; a prefix (`b''`, `f''`) is
    /// not accepted.
    fn string(&mut self) -> Result<String, FormError> {
        let quote = self.s[self.at];
        self.at += 1;
        let mut out = String::new();
        loop {
            let Some(rest) = self.text.get(self.at..) else {
                return Err(self.refuse("unfinished string"));
            };
            let Some(c) = rest.chars().next() else {
                return Err(self.refuse("unfinished string"));
            };
            self.at += c.len_utf8();
            match c {
                c if c as u32 == u32::from(quote) => return Ok(out),
                '\\' => self.escape(&mut out)?,
                c => out.push(c),
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), FormError> {
        let Some(&b) = self.s.get(self.at) else {
            return Err(self.refuse("unfinished escape"));
        };
        self.at += 1;
        let hex = |p: &mut Parser<'_>, n: usize| -> Result<char, FormError> {
            let digits = p
                .text
                .get(p.at..p.at + n)
                .ok_or_else(|| p.refuse("short escape"))?;
            let cp = u32::from_str_radix(digits, 16).map_err(|_| p.refuse("bad escape"))?;
            p.at += n;
            char::from_u32(cp).ok_or_else(|| p.refuse("escape outside Unicode"))
        };
        match b {
            b'\\' => out.push('\\'),
            b'\'' => out.push('\''),
            b'"' => out.push('"'),
            b'n' => out.push('\n'),
            b'r' => out.push('\r'),
            b't' => out.push('\t'),
            b'a' => out.push('\x07'),
            b'b' => out.push('\x08'),
            b'f' => out.push('\x0c'),
            b'v' => out.push('\x0b'),
            b'0' => out.push('\0'),
            b'\n' => {}
            b'x' => out.push(hex(self, 2)?),
            b'u' => out.push(hex(self, 4)?),
            b'U' => out.push(hex(self, 8)?),
            _ => {
                // Python keeps an unknown escape as written.
                out.push('\\');
                self.at -= 1;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reprs_of_log_arguments_are_read() {
        assert_eq!(
            parse("('world', 3, -2.5, None, True, [1, 2], {'k': (1,)})").unwrap(),
            Literal::Tuple(vec![
                Literal::Str("world".into()),
                Literal::Int(3),
                Literal::Float(-2.5),
                Literal::None,
                Literal::Bool(true),
                Literal::List(vec![Literal::Int(1), Literal::Int(2)]),
                Literal::Dict(vec![(
                    Literal::Str("k".into()),
                    Literal::Tuple(vec![Literal::Int(1)])
                )]),
            ])
        );
        assert_eq!(parse("()").unwrap(), Literal::Tuple(vec![]));
        assert_eq!(
            parse(r#"("it's\n\x00\u00e9",)"#).unwrap(),
            Literal::Tuple(vec![Literal::Str("it's\n\0é".into())])
        );
        assert_eq!(
            parse("(123456789012345678901234567890,)").unwrap(),
            Literal::Tuple(vec![Literal::BigInt(
                "123456789012345678901234567890".into()
            )])
        );
    }

    #[test]
    fn code_is_refused_never_run() {
        for code in [
            "__import__('os').system('x')",
            "(__import__('os').system('x'),)",
            "(<object object at 0x7f>,)",
            "(None.__class__,)",
            "(1)(2)",
            "(b'bytes',)",
            "(1 + 2,)",
            "(os,)",
            "{'k': secret}",
            "('a' 'b' x,)",
        ] {
            let e = parse(code).expect_err(code);
            assert!(matches!(e, FormError::NotALiteral { .. }), "{code}: {e}");
        }
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert!(parse(&deep).is_err());
    }
}
