//! HTTP Basic credentials (`--http-credentials FILE`): the file's
//! `user:password` lines, compared with a request's `Authorization` header
//! in constant time.

use crate::config::ConfigError;
use std::path::Path;

/// The accepted `Authorization` header values, `Basic <base64>`.
pub(crate) struct Credentials {
    accepted: Vec<Vec<u8>>,
}

impl Credentials {
    /// Reads FILE: one `user:password` per line; blank lines and lines
    /// starting with `#` are skipped. An empty or unreadable file stops the
    /// listener at start.
    pub(crate) fn load(path: &Path) -> Result<Credentials, ConfigError> {
        let invalid = |reason: String| ConfigError::Invalid {
            key: "http-credentials".to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
        let mut accepted = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            if !line.contains(':') {
                return Err(invalid(format!(
                    "{} line {}: expected `user:password`",
                    path.display(),
                    n + 1
                )));
            }
            accepted.push(format!("Basic {}", base64(line.as_bytes())).into_bytes());
        }
        if accepted.is_empty() {
            return Err(invalid(format!(
                "{} holds no `user:password` line",
                path.display()
            )));
        }
        Ok(Credentials { accepted })
    }

    /// Whether `header` (the `Authorization` value) is one of the accepted
    /// credentials. Every entry is compared in full, so the time taken
    /// says nothing about which bytes matched.
    pub(crate) fn allows(&self, header: &[u8]) -> bool {
        let mut any = 0u8;
        for expected in &self.accepted {
            any |= u8::from(crate::acks::constant_time_eq(expected, header));
        }
        any == 1
    }
}

/// Standard base64 with padding (RFC 4648), as HTTP Basic uses.
fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_is_rfc_4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"ann:s3cret"), "YW5uOnMzY3JldA==");
    }

    #[test]
    fn only_a_listed_pair_is_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("creds");
        std::fs::write(&path, "# users\nann:s3cret\n\nbob:pw:with:colons\n").unwrap();
        let c = Credentials::load(&path).unwrap();
        assert!(c.allows(b"Basic YW5uOnMzY3JldA=="));
        assert!(c.allows(format!("Basic {}", base64(b"bob:pw:with:colons")).as_bytes()));
        assert!(!c.allows(b"Basic YW5uOnMzY3JldB=="));
        assert!(!c.allows(b""));
        std::fs::write(&path, "# nobody\n").unwrap();
        assert!(Credentials::load(&path).is_err());
    }
}
