//! Conversion specs: Python's `%`-operator spec (`%(name)-8s`) and the
//! `str.format` mini-language (`{name:>8}`), parsed into one [`Spec`].

use super::attrs::PyType;

/// Where padding goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Right,
    Center,
    /// Between the sign (and `0x` prefix) and the digits: `=` or the `0` flag.
    AfterSign,
}

/// What positive numbers get in front.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sign {
    Minus,
    Plus,
    Space,
}

/// The base of an integer conversion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Radix {
    Dec,
    Hex { upper: bool },
    Oct,
    Bin,
}

/// The notation of a float conversion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FloatKind {
    /// `f`, `F`.
    Fixed,
    /// `e`, `E`.
    Exp,
    /// `g`, `G`, `n`.
    General,
    /// `%`: times 100, fixed, then a `%` sign.
    Percent,
}

/// What the value is turned into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Conv {
    /// `str()`.
    Str,
    /// `repr()`.
    Repr,
    /// `ascii()`.
    Ascii,
    Int(Radix),
    /// `chr()` of an int, or a one-character string.
    Char,
    Float {
        kind: FloatKind,
        upper: bool,
    },
    /// `str.format` without a type: the value's own `__format__` default.
    Auto,
    /// `str.format`'s `n`: `d` for ints, `g` for floats (the C locale).
    Locale,
}

/// Which language a spec came from: they differ in defaults (alignment)
/// and in which values a conversion accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    Percent,
    Brace,
}

/// A parsed conversion spec.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Spec {
    pub flavor: Flavor,
    /// `str.format`'s `!s`/`!r`/`!a`: the value becomes text first.
    pub pre: Option<Conv>,
    pub conv: Conv,
    pub fill: char,
    /// A fill character was written (then `0` is a width digit, not a fill).
    pub fill_given: bool,
    /// `None`: the flavor's default for the value's type.
    pub align: Option<Align>,
    pub sign: Sign,
    /// The sign was written (`str.format` refuses even `-` for strings).
    pub sign_given: bool,
    /// `#`.
    pub alt: bool,
    /// `0`: pad numbers with zeros after the sign.
    pub zero: bool,
    pub width: usize,
    pub precision: Option<usize>,
    /// A `str.format` field without a format spec (`{name}` or `{name!r}`):
    /// then `None`, bools and containers print as `str()` does.
    pub empty: bool,
}

/// Widths and precisions above this are refused: they can only be typos,
/// and every record would pay for them.
pub(crate) const MAX_WIDTH: usize = 10_000;

impl Spec {
    /// `str()` with no padding: `%(name)s`, `{name}`, `$name`.
    pub(crate) fn plain(flavor: Flavor) -> Spec {
        Spec {
            flavor,
            pre: None,
            conv: if flavor == Flavor::Brace {
                Conv::Auto
            } else {
                Conv::Str
            },
            fill: ' ',
            fill_given: false,
            align: None,
            sign: Sign::Minus,
            sign_given: false,
            alt: false,
            zero: false,
            width: 0,
            precision: None,
            empty: true,
        }
    }

    /// Parses what follows `%(name)` in a `%`-style template: flags,
    /// width, precision, an ignored length modifier and the conversion.
    /// Returns the spec and the bytes it used.
    pub(crate) fn parse_percent(s: &str) -> Result<(Spec, usize), String> {
        let b = s.as_bytes();
        let mut spec = Spec::plain(Flavor::Percent);
        spec.empty = false;
        let mut i = 0;
        while let Some(&c) = b.get(i) {
            match c {
                b'-' => spec.align = Some(Align::Left),
                b'+' => spec.sign = Sign::Plus,
                b' ' if spec.sign != Sign::Plus => spec.sign = Sign::Space,
                b' ' => {}
                b'#' => spec.alt = true,
                b'0' => spec.zero = true,
                _ => break,
            }
            i += 1;
        }
        if b.get(i) == Some(&b'*') {
            return Err("`*` widths need positional arguments, which logging does not pass; write the width as a number".into());
        }
        spec.width = parse_number(b, &mut i)?.unwrap_or(0);
        if b.get(i) == Some(&b'.') {
            i += 1;
            if b.get(i) == Some(&b'*') {
                return Err("`.*` precisions need positional arguments, which logging does not pass; write the precision as a number".into());
            }
            spec.precision = Some(parse_number(b, &mut i)?.unwrap_or(0));
        }
        if matches!(b.get(i), Some(b'h' | b'l' | b'L')) {
            i += 1;
        }
        let Some(&c) = b.get(i) else {
            return Err("incomplete conversion at the end of the template; end it with a type such as `s` or `d`".into());
        };
        spec.conv = match c {
            b's' => Conv::Str,
            b'r' => Conv::Repr,
            b'a' => Conv::Ascii,
            b'd' | b'i' | b'u' => Conv::Int(Radix::Dec),
            b'x' => Conv::Int(Radix::Hex { upper: false }),
            b'X' => Conv::Int(Radix::Hex { upper: true }),
            b'o' => Conv::Int(Radix::Oct),
            b'c' => Conv::Char,
            b'f' | b'F' | b'e' | b'E' | b'g' | b'G' => Conv::Float {
                kind: match c.to_ascii_lowercase() {
                    b'f' => FloatKind::Fixed,
                    b'e' => FloatKind::Exp,
                    _ => FloatKind::General,
                },
                upper: c.is_ascii_uppercase(),
            },
            _ => {
                let shown = s[i..].chars().next().unwrap_or('?');
                return Err(format!(
                    "unsupported conversion `{shown}`; Python's `%` operator knows s r a d i u x X o c e E f F g G (write `%%` for a literal %)"
                ));
            }
        };
        Ok((spec, i + 1))
    }

    /// Parses a `str.format` spec (what follows `:` in `{name:spec}`):
    /// `[[fill]align][sign][#][0][width][.precision][type]`.
    pub(crate) fn parse_brace(text: &str, pre: Option<Conv>) -> Result<Spec, String> {
        let mut spec = Spec::plain(Flavor::Brace);
        spec.pre = pre;
        spec.empty = text.is_empty();
        let align_of = |c: char| match c {
            '<' => Some(Align::Left),
            '>' => Some(Align::Right),
            '^' => Some(Align::Center),
            '=' => Some(Align::AfterSign),
            _ => None,
        };
        let mut rest = text;
        let mut it = text.chars();
        match (it.next(), it.next()) {
            (Some(fill), Some(a)) if align_of(a).is_some() => {
                spec.fill = fill;
                spec.fill_given = true;
                spec.align = align_of(a);
                rest = &text[fill.len_utf8() + 1..];
            }
            (Some(a), _) if align_of(a).is_some() => {
                spec.align = align_of(a);
                rest = &text[1..];
            }
            _ => {}
        }
        let b = rest.as_bytes();
        let mut i = 0;
        if let Some(sign) = match b.first() {
            Some(b'+') => Some(Sign::Plus),
            Some(b' ') => Some(Sign::Space),
            Some(b'-') => Some(Sign::Minus),
            _ => None,
        } {
            spec.sign = sign;
            spec.sign_given = true;
            i += 1;
        }
        if b.get(i) == Some(&b'z') {
            return Err("the `z` option (negative zero as zero) is not supported".into());
        }
        if b.get(i) == Some(&b'#') {
            spec.alt = true;
            i += 1;
        }
        if !spec.fill_given && b.get(i) == Some(&b'0') {
            spec.zero = true;
            i += 1;
        }
        spec.width = parse_number(b, &mut i)?.unwrap_or(0);
        if matches!(b.get(i), Some(b',' | b'_')) {
            return Err("digit grouping (`,` or `_`) is not supported".into());
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            spec.precision = Some(
                parse_number(b, &mut i)?.ok_or("format spec is missing the precision after `.`")?,
            );
        }
        if let Some(&c) = b.get(i) {
            let conv = match c {
                b's' => Some(Conv::Str),
                b'd' => Some(Conv::Int(Radix::Dec)),
                b'n' => Some(Conv::Locale),
                b'x' => Some(Conv::Int(Radix::Hex { upper: false })),
                b'X' => Some(Conv::Int(Radix::Hex { upper: true })),
                b'o' => Some(Conv::Int(Radix::Oct)),
                b'b' => Some(Conv::Int(Radix::Bin)),
                b'c' => Some(Conv::Char),
                b'f' | b'e' | b'g' | b'F' | b'E' | b'G' => Some(Conv::Float {
                    kind: match c.to_ascii_lowercase() {
                        b'f' => FloatKind::Fixed,
                        b'e' => FloatKind::Exp,
                        _ => FloatKind::General,
                    },
                    upper: c.is_ascii_uppercase(),
                }),
                b'%' => Some(Conv::Float {
                    kind: FloatKind::Percent,
                    upper: false,
                }),
                _ => None,
            };
            if let Some(conv) = conv {
                spec.conv = conv;
                i += 1;
            }
        }
        if i != b.len() {
            return Err(format!(
                "invalid format spec `{text}`; supported: [[fill]align][sign][#][0][width][.precision][type] \
                 with type one of s d n x X o b c e E f F g G %"
            ));
        }
        Ok(spec)
    }

    /// Why Python would refuse this spec for a value of type `ty` on every
    /// record; `None` when some record may format.
    pub(crate) fn refusal(&self, ty: PyType) -> Option<String> {
        let text = matches!(ty, PyType::Str | PyType::OptStr);
        match self.flavor {
            Flavor::Percent => match self.conv {
                Conv::Int(Radix::Dec) | Conv::Float { .. } if text => {
                    Some("it is a str in Python and this conversion needs a number; use `s`".into())
                }
                Conv::Int(Radix::Hex { .. } | Radix::Oct | Radix::Bin)
                    if text || ty == PyType::Float =>
                {
                    Some(format!(
                        "it is a {} in Python and this conversion needs an int; use `d` (which truncates) or `s`",
                        if text { "str" } else { "float" }
                    ))
                }
                Conv::Char if ty == PyType::Float => {
                    Some("it is a float in Python and `c` needs an int".into())
                }
                _ => None,
            },
            Flavor::Brace => {
                let ty = if self.pre.is_some() { PyType::Str } else { ty };
                let type_name = match ty {
                    PyType::Str | PyType::OptStr => "str",
                    PyType::Int | PyType::OptInt => "int",
                    PyType::Float => "float",
                    PyType::Any => return None,
                };
                let code = self.type_code();
                let unknown = || {
                    Some(format!(
                        "unknown format code `{code}` for a Python {type_name}"
                    ))
                };
                match (type_name, self.conv) {
                    ("str", Conv::Auto | Conv::Str) => {
                        if self.sign_given {
                            Some("sign not allowed in a string format spec".into())
                        } else if self.alt {
                            Some("alternate form (#) not allowed in a string format spec".into())
                        } else if self.align == Some(Align::AfterSign) {
                            Some("`=` alignment not allowed in a string format spec".into())
                        } else {
                            None
                        }
                    }
                    ("str", _) => unknown(),
                    ("int", Conv::Str) => unknown(),
                    ("int", Conv::Int(_) | Conv::Char | Conv::Auto | Conv::Locale) if self.precision.is_some() => {
                        Some("precision not allowed in an integer format spec; use a float type such as `.2f`".into())
                    }
                    ("int", Conv::Char) if self.sign != Sign::Minus => Some("sign not allowed with `c`".into()),
                    ("int", Conv::Char) if self.alt => Some("alternate form (#) not allowed with `c`".into()),
                    ("float", Conv::Str | Conv::Int(_) | Conv::Char) => {
                        Some(format!("unknown format code `{code}` for a Python float; use `.0f` for whole numbers"))
                    }
                    _ => None,
                }
            }
        }
    }

    fn type_code(&self) -> char {
        match self.conv {
            Conv::Str => 's',
            Conv::Repr => 'r',
            Conv::Ascii => 'a',
            Conv::Int(Radix::Dec) => 'd',
            Conv::Int(Radix::Hex { upper: false }) => 'x',
            Conv::Int(Radix::Hex { upper: true }) => 'X',
            Conv::Int(Radix::Oct) => 'o',
            Conv::Int(Radix::Bin) => 'b',
            Conv::Char => 'c',
            Conv::Float {
                kind: FloatKind::Fixed,
                upper,
            } => {
                if upper {
                    'F'
                } else {
                    'f'
                }
            }
            Conv::Float {
                kind: FloatKind::Exp,
                upper,
            } => {
                if upper {
                    'E'
                } else {
                    'e'
                }
            }
            Conv::Float {
                kind: FloatKind::General,
                upper,
            } => {
                if upper {
                    'G'
                } else {
                    'g'
                }
            }
            Conv::Float {
                kind: FloatKind::Percent,
                ..
            } => '%',
            Conv::Auto => ' ',
            Conv::Locale => 'n',
        }
    }
}

/// Parses a run of ASCII digits at `b[*i..]`, advancing `i`; `None` when
/// there is none.
fn parse_number(b: &[u8], i: &mut usize) -> Result<Option<usize>, String> {
    let start = *i;
    let mut n: usize = 0;
    while let Some(&c) = b.get(*i).filter(|c| c.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add(usize::from(c - b'0'));
        *i += 1;
    }
    if *i == start {
        return Ok(None);
    }
    if n > MAX_WIDTH {
        return Err(format!(
            "width or precision {n} is larger than the {MAX_WIDTH} allowed"
        ));
    }
    Ok(Some(n))
}
