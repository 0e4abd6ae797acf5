//! The elements of a JSON array, as byte slices, without parsing them:
//! each is then decoded by core's JSON decoder like an NDJSON line.

/// Splits `[a, b, ...]` into its top-level elements; an error names the
/// offset where the text stops being an array.
pub(crate) fn elements(text: &[u8]) -> Result<Vec<&[u8]>, String> {
    let start = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .filter(|&i| text[i] == b'[')
        .ok_or_else(|| "the body is not a JSON array".to_owned())?;
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut element_start = None;
    let mut i = start + 1;
    while i < text.len() {
        let b = text[i];
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                element_start.get_or_insert(i);
            }
            b'{' | b'[' => {
                depth += 1;
                element_start.get_or_insert(i);
            }
            b'}' | b']' if depth > 0 => depth -= 1,
            b']' => {
                if let Some(s) = element_start.take() {
                    out.push(trim(&text[s..i]));
                } else if !out.is_empty() {
                    return Err(format!("a value was expected before offset {i}"));
                }
                let rest = &text[i + 1..];
                if rest.iter().any(|b| !b.is_ascii_whitespace()) {
                    return Err(format!("text after the array at offset {}", i + 1));
                }
                return Ok(out);
            }
            b',' if depth == 0 => {
                let s = element_start
                    .take()
                    .ok_or_else(|| format!("a value was expected before offset {i}"))?;
                out.push(trim(&text[s..i]));
            }
            b if b.is_ascii_whitespace() => {}
            _ => {
                element_start.get_or_insert(i);
            }
        }
        i += 1;
    }
    Err("the JSON array is not closed".to_owned())
}

fn trim(s: &[u8]) -> &[u8] {
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_are_split_at_the_top_level() {
        let body = br#" [ {"msg":"a,]}"} , {"msg":"b","l":[1,{"x":"\""}]} ]  "#;
        let got = elements(body).unwrap();
        assert_eq!(
            got,
            vec![
                &br#"{"msg":"a,]}"}"#[..],
                br#"{"msg":"b","l":[1,{"x":"\""}]}"#
            ]
        );
        assert_eq!(elements(b"[]").unwrap(), Vec::<&[u8]>::new());
        assert!(elements(b"[{},]").is_err());
        assert!(elements(b"[{}").is_err());
        assert!(elements(b"[{}] x").is_err());
        assert!(elements(b"{}").is_err());
    }
}
