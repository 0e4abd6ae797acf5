//! What a request body is, from its `Content-Type` (matched leniently:
//! parameters such as `; charset=utf-8` and letter case are ignored) and,
//! when it has none, from its first byte.

/// The forms of body `/log` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyKind {
    /// Python's `HTTPHandler`: one record, `application/x-www-form-urlencoded`.
    Form,
    /// One JSON object per line (`application/x-ndjson`,
    /// `application/jsonl`, `application/x-jsonlines`, and
    /// `application/json` whose body is not an array).
    Lines,
    /// RFC 7464 JSON text sequences (`application/json-seq`): records
    /// separated by the RS character.
    Sequence,
    /// A JSON array of records (`application/json` starting with `[`).
    Array,
}

/// The kind of body, or why it is not one `/log` takes.
pub(crate) fn body_kind(content_type: Option<&str>, body: &[u8]) -> Result<BodyKind, String> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let json = |first: Option<u8>| {
        if first == Some(b'[') {
            BodyKind::Array
        } else {
            BodyKind::Lines
        }
    };
    let Some(content_type) = content_type else {
        return Ok(match first {
            Some(b'[' | b'{') => json(first),
            _ => BodyKind::Form,
        });
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        // curl's `-d` declares a form whatever it sends: a body that starts
        // like JSON is JSON (no LogRecord form starts with `{` or `[`).
        "application/x-www-form-urlencoded" => Ok(match first {
            Some(b'[' | b'{') => json(first),
            _ => BodyKind::Form,
        }),
        "application/x-ndjson"
        | "application/ndjson"
        | "application/jsonl"
        | "application/x-jsonlines"
        | "application/jsonlines" => Ok(BodyKind::Lines),
        "application/json-seq" => Ok(BodyKind::Sequence),
        "application/json" | "text/plain" | "" => Ok(json(first)),
        other => Err(format!(
            "content type {other} is not one /log takes (application/x-www-form-urlencoded, application/x-ndjson, application/jsonl, application/json-seq or application/json)"
        )),
    }
}

/// Whether a `Content-Encoding` means gzip; `None` for one not taken.
pub(crate) fn is_gzip(encoding: Option<&str>) -> Option<bool> {
    match encoding.map(|e| e.trim().to_ascii_lowercase()).as_deref() {
        None | Some("" | "identity") => Some(false),
        Some("gzip" | "x-gzip") => Some(true),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_match_leniently() {
        let k = |ct: &str, body: &[u8]| body_kind(Some(ct), body);
        assert_eq!(
            k("application/x-ndjson; charset=utf-8", b"{}"),
            Ok(BodyKind::Lines)
        );
        assert_eq!(
            k("Application/JSON;charset=UTF-8", b" [{}]"),
            Ok(BodyKind::Array)
        );
        assert_eq!(k("application/json", b"{}\n{}"), Ok(BodyKind::Lines));
        assert_eq!(k("application/jsonl", b"{}"), Ok(BodyKind::Lines));
        assert_eq!(k("application/json-seq", b"\x1e{}"), Ok(BodyKind::Sequence));
        assert_eq!(
            k("application/x-www-form-urlencoded", b"msg=x"),
            Ok(BodyKind::Form)
        );
        assert_eq!(
            k("application/x-www-form-urlencoded", b"{\"msg\":1}"),
            Ok(BodyKind::Lines)
        );
        assert!(k("image/png", b"").is_err());
        assert_eq!(body_kind(None, b"msg=x"), Ok(BodyKind::Form));
        assert_eq!(body_kind(None, b"[]"), Ok(BodyKind::Array));
        assert_eq!(is_gzip(Some("GZIP")), Some(true));
        assert_eq!(is_gzip(None), Some(false));
        assert_eq!(is_gzip(Some("br")), None);
    }
}
