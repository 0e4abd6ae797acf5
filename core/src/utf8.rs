//! UTF-8 validation with an ASCII shortcut.
//!
//! Log records are mostly ASCII. `std::str::from_utf8` validates a short
//! ASCII string in about a hundred instructions and a 200-byte JSON record
//! in about 370; `<[u8]>::is_ascii` reads words at a time and costs a
//! fraction of that (callgrind, `examples/hot_paths.rs pickle` and
//! `foreign_native`). Text that is not ASCII takes the standard path.

/// `std::str::from_utf8`, faster on ASCII.
#[inline]
pub(crate) fn from_utf8(b: &[u8]) -> Result<&str, std::str::Utf8Error> {
    if b.is_ascii() {
        // SAFETY: ASCII is valid UTF-8.
        Ok(unsafe { std::str::from_utf8_unchecked(b) })
    } else {
        std::str::from_utf8(b)
    }
}

#[cfg(test)]
mod tests {
    use super::from_utf8;

    #[test]
    fn agrees_with_the_standard_library() {
        for b in [
            &b""[..],
            b"plain",
            "é😀".as_bytes(),
            b"\xff",
            b"ok\xc3",
            b"\x7f\x00",
        ] {
            assert_eq!(from_utf8(b), std::str::from_utf8(b), "{b:?}");
        }
    }
}
