//! `--filter`: which cases a bench runs.
//!
//! A filter is one or more names separated by commas; a case runs when its
//! label contains any of them, ignoring case. Several names let one run
//! hold the two sides of a ratio that no single name selects (`s1 ,s7 `
//! for the listener against rsyslog).

/// Whether `label` is selected by `filter` (no filter selects everything).
pub fn matches(label: &str, filter: Option<&str>) -> bool {
    let Some(filter) = filter else {
        return true;
    };
    let label = label.to_lowercase();
    names(filter).any(|name| label.contains(&name))
}

/// The filter as a regular expression for criterion, which matches its
/// benchmark ids against one: the names, escaped, as alternatives.
pub fn criterion_regex(filter: &str) -> String {
    names(filter)
        .map(|name| regex_escape(&name))
        .collect::<Vec<_>>()
        .join("|")
}

/// The filter's names, lowercased; empty names (a trailing comma) are
/// left out.
fn names(filter: &str) -> impl Iterator<Item = String> + '_ {
    filter
        .split(',')
        .filter(|name| !name.is_empty())
        .map(str::to_lowercase)
}

/// `text` with the characters a regular expression gives a meaning
/// escaped.
fn regex_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_name_of_the_list_selects_ignoring_case() {
        assert!(matches("s1 tributary tcp n=4", Some("s1 ,s7 ")));
        assert!(matches("s7 rsyslog n=4", Some("s1 ,s7 ")));
        assert!(!matches("s10 scale-out", Some("s1 ,s7 ")));
        assert!(matches("s5 Tributary layer", Some("TRIBUTARY")));
        assert!(matches("anything", None));
        assert!(!matches("s2 listener", Some(",")));
    }

    #[test]
    fn criterion_gets_the_names_as_escaped_alternatives() {
        assert_eq!(
            criterion_regex("json_decode/foreign,s1 (tcp)"),
            r"json_decode/foreign|s1 \(tcp\)"
        );
    }
}
