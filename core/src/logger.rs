//! Python's logger hierarchy, the one rule every crate uses to say whether a
//! logger name falls under a prefix.
//!
//! ```
//! use tributary_core::logger_matches;
//!
//! assert!(logger_matches("app", "app"));
//! assert!(logger_matches("app", "app.db"));     // Python's children
//! assert!(logger_matches("app", "app::db"));    // Rust module paths (tracing targets)
//! assert!(!logger_matches("app", "application"));
//! assert!(logger_matches("root", "anything"));  // root and "" match every logger
//! ```

/// Whether the logger `name` is `prefix` itself or one of its descendants:
/// Python's `logging.Filter` rule, where children are separated by `.`, and
/// also by `::` so that Rust producers' targets (`app::db`) descend from
/// `app` as Python's `app.db` does. `root` and the empty prefix match every
/// logger.
///
/// Works on bytes as well as text (`&str`, `&[u8]`), so decoders that hold
/// a logger as raw bytes need not check its UTF-8 first.
pub fn logger_matches(prefix: impl AsRef<[u8]>, name: impl AsRef<[u8]>) -> bool {
    let prefix = prefix.as_ref();
    if prefix.is_empty() || prefix == b"root" {
        return true;
    }
    match name.as_ref().strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest[0] == b'.' || rest.starts_with(b"::"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::logger_matches;

    #[test]
    fn dots_and_double_colons_descend_other_suffixes_do_not() {
        assert!(logger_matches("a.b", "a.b"));
        assert!(logger_matches("a.b", "a.b.c"));
        assert!(logger_matches("a.b", "a.b::c"));
        assert!(logger_matches("a", b"a::b::c".as_slice()));
        assert!(!logger_matches("a.b", "a.bc"));
        assert!(!logger_matches("a.b", "a"));
        assert!(!logger_matches("a", "a:b"));
        assert!(!logger_matches("app", "ap"));
        assert!(logger_matches("root", "anything"));
        assert!(logger_matches("", "anything"));
    }
}
