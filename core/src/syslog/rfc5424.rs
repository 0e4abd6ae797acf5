//! RFC 5424: `VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP
//! MSGID SP STRUCTURED-DATA [SP MSG]`, every header field possibly the
//! NILVALUE `-` (the timestamp too, which some parsers reject).

use crate::{CompactString, Fields, Timestamp, Value};

/// The parts of an RFC 5424 message after its PRI.
#[derive(Debug, PartialEq)]
pub(super) struct Message<'a> {
    /// `None` for the NILVALUE.
    pub(super) ts: Option<Timestamp>,
    pub(super) host: Option<&'a str>,
    pub(super) app: Option<&'a str>,
    pub(super) procid: Option<&'a str>,
    pub(super) msgid: Option<&'a str>,
    /// One entry per SD-ELEMENT: its SD-ID → its parameters.
    pub(super) sd: Vec<(&'a str, Fields)>,
    pub(super) msg: &'a str,
}

/// Splits off the next space-terminated header field.
fn field<'a>(rest: &mut &'a str, what: &str) -> Result<Option<&'a str>, String> {
    let (value, tail) = rest
        .split_once(' ')
        .ok_or_else(|| format!("RFC 5424 header ends before its {what}"))?;
    *rest = tail;
    if value.is_empty() {
        return Err(format!("RFC 5424 {what} is empty"));
    }
    Ok((value != "-").then_some(value))
}

/// Parses what follows `<PRI>`. `Ok(None)`: not RFC 5424 at all (no
/// version `1 `); `Err`: it says it is, and is malformed.
pub(super) fn parse(text: &str) -> Result<Option<Message<'_>>, String> {
    let Some(mut rest) = text.strip_prefix("1 ") else {
        return Ok(None);
    };
    let ts = match field(&mut rest, "TIMESTAMP")? {
        None => None,
        Some(t) => Some(
            Timestamp::parse_rfc3339(t)
                .ok_or_else(|| format!("RFC 5424 TIMESTAMP {t:?} is not RFC 3339"))?,
        ),
    };
    let host = field(&mut rest, "HOSTNAME")?;
    let app = field(&mut rest, "APP-NAME")?;
    let procid = field(&mut rest, "PROCID")?;
    let msgid = field(&mut rest, "MSGID")?;
    let (sd, rest) = structured_data(rest)?;
    let msg = match rest.strip_prefix(' ') {
        Some(m) => m.strip_prefix('\u{feff}').unwrap_or(m),
        None if rest.is_empty() => "",
        None => return Err("RFC 5424 STRUCTURED-DATA is not followed by a space".into()),
    };
    Ok(Some(Message {
        ts,
        host,
        app,
        procid,
        msgid,
        sd,
        msg,
    }))
}

type Sd<'a> = Vec<(&'a str, Fields)>;

/// `-`, or one or more `[SD-ID (SP PARAM-NAME="PARAM-VALUE")*]`.
fn structured_data(text: &str) -> Result<(Sd<'_>, &str), String> {
    if let Some(rest) = text.strip_prefix('-') {
        return Ok((Vec::new(), rest));
    }
    let mut rest = text;
    let mut elements = Vec::new();
    while let Some(body) = rest.strip_prefix('[') {
        let id_end = body
            .find([' ', ']'])
            .ok_or("RFC 5424 SD-ELEMENT is not closed")?;
        let id = &body[..id_end];
        if id.is_empty() || id.contains(['=', '"']) {
            return Err(format!("RFC 5424 SD-ID {id:?} is not valid"));
        }
        let mut params = Fields::new();
        let mut at = &body[id_end..];
        loop {
            if let Some(after) = at.strip_prefix(']') {
                at = after;
                break;
            }
            let p = at
                .strip_prefix(' ')
                .ok_or_else(|| format!("RFC 5424 SD-ELEMENT [{id} has a stray character"))?;
            // A PARAM-NAME holds no `=`: the first one ends it. (A
            // two-byte `split_once("=\"")` built a substring searcher per
            // parameter.)
            let (name, value_and_rest) = p
                .split_once('=')
                .and_then(|(name, rest)| Some((name, rest.strip_prefix('"')?)))
                .ok_or_else(|| format!("RFC 5424 SD-PARAM in [{id} has no =\"value\""))?;
            let (value, after) = param_value(value_and_rest)
                .ok_or_else(|| format!("RFC 5424 SD-PARAM {name:?} in [{id} is not closed"))?;
            params.insert(name, value);
            at = after;
        }
        elements.push((id, params));
        rest = at;
    }
    if elements.is_empty() {
        return Err("RFC 5424 STRUCTURED-DATA is neither - nor [...]".into());
    }
    Ok((elements, rest))
}

/// A PARAM-VALUE up to its closing `"`, with `\"`, `\\` and `\]`
/// unescaped; and what follows the quote.
fn param_value(text: &str) -> Option<(Value, &str)> {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut from = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            // Without escapes the value is a slice: no `String` is built
            // (a short one stays inline in the `CompactString`).
            b'"' if from == 0 => {
                return Some((Value::Str(CompactString::from(&text[..i])), &text[i + 1..]));
            }
            b'"' => {
                out.push_str(&text[from..i]);
                return Some((Value::Str(out.into()), &text[i + 1..]));
            }
            b'\\' if matches!(bytes.get(i + 1), Some(b'"' | b'\\' | b']')) => {
                out.push_str(&text[from..i]);
                from = i + 1;
                i += 2;
            }
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logger_rfc5424_capture() {
        let m = parse(
            "1 2026-12-05T13:03:49.123456+00:00 vm myapp - - [timeQuality tzKnown=\"1\" isSynced=\"0\"] msg here",
        )
        .unwrap()
        .unwrap();
        assert_eq!(m.host, Some("vm"));
        assert_eq!(m.app, Some("myapp"));
        assert_eq!(m.procid, None);
        assert_eq!(m.msg, "msg here");
        assert_eq!(m.sd.len(), 1);
        assert_eq!(m.sd[0].0, "timeQuality");
        assert_eq!(m.sd[0].1.get("isSynced").and_then(Value::as_str), Some("0"));
        assert_eq!(m.ts.unwrap().to_rfc3339(), "2026-12-05T13:03:49.123456Z");
    }

    #[test]
    fn nil_values_everywhere_including_the_timestamp() {
        let m = parse("1 - - - - - -").unwrap().unwrap();
        assert_eq!(
            m,
            Message {
                ts: None,
                host: None,
                app: None,
                procid: None,
                msgid: None,
                sd: vec![],
                msg: ""
            }
        );
        let m = parse("1 - h a 42 ID47 - \u{feff}text").unwrap().unwrap();
        assert_eq!(
            (m.procid, m.msgid, m.msg),
            (Some("42"), Some("ID47"), "text")
        );
    }

    #[test]
    fn escapes_and_several_elements() {
        let m = parse(r#"1 - h a - - [a x="q\"b\\c\]d" y=""][b@1 z="]"] m"#)
            .unwrap()
            .unwrap();
        assert_eq!(
            m.sd[0].1.get("x").and_then(Value::as_str),
            Some(r#"q"b\c]d"#)
        );
        assert_eq!(m.sd[0].1.get("y").and_then(Value::as_str), Some(""));
        assert_eq!(m.sd[1].0, "b@1");
        assert_eq!(m.sd[1].1.get("z").and_then(Value::as_str), Some("]"));
        assert_eq!(m.msg, "m");
    }

    #[test]
    fn malformed_is_an_error_and_not_5424_is_none() {
        assert_eq!(parse("Dec  5 13:03:49 vm x: m"), Ok(None));
        assert!(parse("1 - h a - -").is_err());
        assert!(parse("1 yesterday h a - - - m").is_err());
        assert!(parse("1 - h a - - [x a=\"b] m").is_err());
        assert!(parse("1 - h a - - [x a=b] m").is_err());
        assert!(parse("1 - h a - - x m").is_err());
        assert!(parse("1 - h a - - [x]m").is_err());
    }
}
