//! Templates to parts: literal text and placeholders, in Python's three
//! syntaxes (`%(name)s`, `{name:spec}`, `$name`).

use super::spec::{Conv, Flavor, Spec};
use super::{PatternError, Style};

/// A template piece before its attribute name is resolved.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum RawPart {
    Literal(String),
    Field {
        name: String,
        spec: Spec,
        /// The placeholder as written, for error messages.
        placeholder: String,
    },
}

/// Splits `template` into literal text and placeholders.
pub(crate) fn parse(template: &str, style: Style) -> Result<Vec<RawPart>, PatternError> {
    let mut parts = Vec::new();
    match style {
        Style::Percent => parse_percent(template, &mut parts)?,
        Style::Brace => parse_brace(template, &mut parts)?,
        Style::Dollar => parse_dollar(template, &mut parts)?,
    }
    Ok(parts)
}

fn syntax(at: usize, reason: impl Into<String>) -> PatternError {
    PatternError::Syntax {
        at,
        reason: reason.into(),
    }
}

fn push_literal(parts: &mut Vec<RawPart>, text: &str) {
    if text.is_empty() {
        return;
    }
    match parts.last_mut() {
        Some(RawPart::Literal(last)) => last.push_str(text),
        _ => parts.push(RawPart::Literal(text.to_owned())),
    }
}

/// Python's `%` operator with a mapping: `%(name)<spec>`, and `%%`.
fn parse_percent(t: &str, parts: &mut Vec<RawPart>) -> Result<(), PatternError> {
    let b = t.as_bytes();
    let mut i = 0;
    while let Some(pos) = memchr::memchr(b'%', &b[i..]) {
        let at = i + pos;
        push_literal(parts, &t[i..at]);
        match b.get(at + 1) {
            Some(b'%') => {
                push_literal(parts, "%");
                i = at + 2;
            }
            Some(b'(') => {
                // Python allows nested parentheses in the key.
                let mut depth = 1;
                let mut j = at + 2;
                while depth > 0 {
                    match b.get(j) {
                        Some(b'(') => depth += 1,
                        Some(b')') => depth -= 1,
                        Some(_) => {}
                        None => return Err(syntax(at, "`%(` without its closing `)`")),
                    }
                    j += 1;
                }
                let name = &t[at + 2..j - 1];
                let (spec, used) =
                    Spec::parse_percent(&t[j..]).map_err(|reason| syntax(at, reason))?;
                let end = j + used;
                parts.push(RawPart::Field {
                    name: name.to_owned(),
                    spec,
                    placeholder: t[at..end].to_owned(),
                });
                i = end;
            }
            Some(_) => {
                let shown: String = t[at..].chars().take(3).collect();
                return Err(syntax(
                    at,
                    format!(
                        "`{shown}` has no attribute name; write `%(name)s`-style placeholders, or `%%` for a literal %"
                    ),
                ));
            }
            None => return Err(syntax(at, "`%` at the end; write `%%` for a literal %")),
        }
    }
    push_literal(parts, &t[i..]);
    Ok(())
}

/// `str.format`: `{name}`, `{name!r}`, `{name:spec}`, `{{`, `}}`.
fn parse_brace(t: &str, parts: &mut Vec<RawPart>) -> Result<(), PatternError> {
    let b = t.as_bytes();
    let mut i = 0;
    let mut literal_start = 0;
    while i < b.len() {
        match b[i] {
            b'{' if b.get(i + 1) == Some(&b'{') => {
                push_literal(parts, &t[literal_start..=i]);
                i += 2;
                literal_start = i;
            }
            b'}' if b.get(i + 1) == Some(&b'}') => {
                push_literal(parts, &t[literal_start..=i]);
                i += 2;
                literal_start = i;
            }
            b'}' => return Err(syntax(i, "single `}`; write `}}` for a literal }")),
            b'{' => {
                push_literal(parts, &t[literal_start..i]);
                let at = i;
                let Some(len) = memchr::memchr(b'}', &b[at..]) else {
                    return Err(syntax(
                        at,
                        "`{` without its closing `}`; write `{{` for a literal {",
                    ));
                };
                let end = at + len;
                let inner = &t[at + 1..end];
                if inner.contains('{') {
                    return Err(syntax(
                        at,
                        "nested `{}` inside a field is not supported; write the width as a number",
                    ));
                }
                let (head, format_spec) = match inner.split_once(':') {
                    Some((head, format_spec)) => (head, Some(format_spec)),
                    None => (inner, None),
                };
                let (name, pre) = match head.split_once('!') {
                    Some((name, conv)) => {
                        let pre = match conv {
                            "s" => Conv::Str,
                            "r" => Conv::Repr,
                            "a" => Conv::Ascii,
                            _ => {
                                return Err(syntax(
                                    at,
                                    format!("unknown conversion `!{conv}`; use `!s`, `!r` or `!a`"),
                                ));
                            }
                        };
                        (name, Some(pre))
                    }
                    None => (head, None),
                };
                check_brace_name(name, at)?;
                let spec = Spec::parse_brace(format_spec.unwrap_or(""), pre)
                    .map_err(|reason| syntax(at, reason))?;
                parts.push(RawPart::Field {
                    name: name.to_owned(),
                    spec,
                    placeholder: t[at..=end].to_owned(),
                });
                i = end + 1;
                literal_start = i;
            }
            _ => i += 1,
        }
    }
    push_literal(parts, &t[literal_start..]);
    Ok(())
}

fn check_brace_name(name: &str, at: usize) -> Result<(), PatternError> {
    if name.is_empty() || name.bytes().all(|b| b.is_ascii_digit()) {
        return Err(syntax(
            at,
            "positional fields (`{}`, `{0}`) have nothing to refer to in logging; name an attribute such as `{message}`",
        ));
    }
    if name.contains(['.', '[']) {
        return Err(syntax(
            at,
            format!(
                "attribute access and indexing (`{{{name}}}`) are not supported; name a record attribute or field"
            ),
        ));
    }
    Ok(())
}

/// `string.Template`: `$name`, `${name}` and `$$`.
fn parse_dollar(t: &str, parts: &mut Vec<RawPart>) -> Result<(), PatternError> {
    let b = t.as_bytes();
    let mut i = 0;
    let is_start = |c: u8| c == b'_' || c.is_ascii_alphabetic();
    let is_cont = |c: u8| c == b'_' || c.is_ascii_alphanumeric();
    while let Some(pos) = memchr::memchr(b'$', &b[i..]) {
        let at = i + pos;
        push_literal(parts, &t[i..at]);
        let (name, end) = match b.get(at + 1) {
            Some(b'$') => {
                push_literal(parts, "$");
                i = at + 2;
                continue;
            }
            Some(&c) if is_start(c) => {
                let mut j = at + 2;
                while b.get(j).is_some_and(|&c| is_cont(c)) {
                    j += 1;
                }
                (&t[at + 1..j], j)
            }
            Some(b'{') if b.get(at + 2).is_some_and(|&c| is_start(c)) => {
                let mut j = at + 3;
                while b.get(j).is_some_and(|&c| is_cont(c)) {
                    j += 1;
                }
                if b.get(j) != Some(&b'}') {
                    return Err(syntax(
                        at,
                        "invalid `${…}` placeholder; write `${name}` with a Python identifier",
                    ));
                }
                (&t[at + 2..j], j + 1)
            }
            _ => {
                return Err(syntax(
                    at,
                    "bare `$`; write `$$` for a literal $, or `$name` / `${name}`",
                ));
            }
        };
        parts.push(RawPart::Field {
            name: name.to_owned(),
            spec: Spec::plain(Flavor::Percent),
            placeholder: t[at..end].to_owned(),
        });
        i = end;
    }
    push_literal(parts, &t[i..]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::spec::{Align, FloatKind, Radix, Sign};

    fn fields(t: &str, style: Style) -> Vec<(String, Spec)> {
        parse(t, style)
            .unwrap()
            .into_iter()
            .filter_map(|p| match p {
                RawPart::Field { name, spec, .. } => Some((name, spec)),
                RawPart::Literal(_) => None,
            })
            .collect()
    }

    fn literals(t: &str, style: Style) -> Vec<String> {
        parse(t, style)
            .unwrap()
            .into_iter()
            .filter_map(|p| match p {
                RawPart::Literal(s) => Some(s),
                RawPart::Field { .. } => None,
            })
            .collect()
    }

    #[test]
    fn percent_specs() {
        let f = fields(
            "%(levelname)-8s %(msecs)03d %(created)+.3f %(process)#x %(a(b))5.2r %(n)ld",
            Style::Percent,
        );
        let names: Vec<_> = f.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["levelname", "msecs", "created", "process", "a(b)", "n"]
        );
        assert_eq!(
            (f[0].1.align, f[0].1.width, f[0].1.conv),
            (Some(Align::Left), 8, Conv::Str)
        );
        assert_eq!(
            (f[1].1.zero, f[1].1.width, f[1].1.conv),
            (true, 3, Conv::Int(Radix::Dec))
        );
        assert_eq!(
            (f[2].1.sign, f[2].1.precision, f[2].1.conv),
            (
                Sign::Plus,
                Some(3),
                Conv::Float {
                    kind: FloatKind::Fixed,
                    upper: false
                }
            )
        );
        assert_eq!(
            (f[3].1.alt, f[3].1.conv),
            (true, Conv::Int(Radix::Hex { upper: false }))
        );
        assert_eq!(
            (f[4].1.width, f[4].1.precision, f[4].1.conv),
            (5, Some(2), Conv::Repr)
        );
        assert_eq!(literals("100%% %(m)s%%", Style::Percent), ["100% ", "%"]);
    }

    #[test]
    fn percent_errors_point_at_the_placeholder() {
        for (t, at) in [
            ("ab %d", 3),
            ("%(x", 0),
            ("x %(x)q", 2),
            ("%(x)*d", 0),
            ("%(x)5", 0),
            ("50%", 2),
        ] {
            match parse(t, Style::Percent) {
                Err(PatternError::Syntax { at: got, .. }) => assert_eq!(got, at, "{t}"),
                other => panic!("{t}: {other:?}"),
            }
        }
    }

    #[test]
    fn brace_specs() {
        let f = fields(
            "{levelname:<8} {lineno:>5d} {created:.3f} {msecs:03.0f} {x:*^9} {m!r:>6} {p:+#010x}",
            Style::Brace,
        );
        assert_eq!((f[0].1.align, f[0].1.width), (Some(Align::Left), 8));
        assert_eq!(
            (f[1].1.align, f[1].1.conv),
            (Some(Align::Right), Conv::Int(Radix::Dec))
        );
        assert_eq!(f[2].1.precision, Some(3));
        assert_eq!(
            (f[3].1.zero, f[3].1.width, f[3].1.precision),
            (true, 3, Some(0))
        );
        assert_eq!(
            (f[4].1.fill, f[4].1.align, f[4].1.width),
            ('*', Some(Align::Center), 9)
        );
        assert_eq!((f[5].1.pre, f[5].1.width), (Some(Conv::Repr), 6));
        assert_eq!(
            (f[6].1.sign, f[6].1.alt, f[6].1.zero, f[6].1.width),
            (Sign::Plus, true, true, 10)
        );
        assert!(f[0].1.fill == ' ' && !f[0].1.empty);
        assert_eq!(literals("{{x}} {m}}}", Style::Brace), ["{x} ", "}"]);
    }

    #[test]
    fn brace_errors() {
        for t in [
            "{}", "{0}", "{a.b}", "{a[0]}", "{a", "a}", "{a!x}", "{a:{w}}", "{a:,}", "{a:q}",
            "{a:.}",
        ] {
            assert!(
                matches!(parse(t, Style::Brace), Err(PatternError::Syntax { .. })),
                "{t}"
            );
        }
    }

    #[test]
    fn dollar_placeholders() {
        let f = fields("$levelname ${name}x $$ $_a1", Style::Dollar);
        let names: Vec<_> = f.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["levelname", "name", "_a1"]);
        assert_eq!(literals("$$5 ${m}", Style::Dollar), ["$5 "]);
        for t in ["$", "$ x", "${x", "${1}", "$1"] {
            assert!(
                matches!(parse(t, Style::Dollar), Err(PatternError::Syntax { .. })),
                "{t}"
            );
        }
    }
}
