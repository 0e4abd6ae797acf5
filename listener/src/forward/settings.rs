//! What forwarding to NATS JetStream needs to know: where the servers are,
//! which stream, and this host's name in subjects and message ids.

use std::time::Duration;

/// The JetStream stream records are forwarded to, by default.
pub const DEFAULT_FORWARD_STREAM: &str = "TRIBUTARY";
/// The first token of every subject: records of host `web-1` go to
/// `tributary.web-1`, and the stream takes `tributary.>`.
pub const DEFAULT_SUBJECT_PREFIX: &str = "tributary";
/// Forwarding lag, in bytes of the local file not yet acknowledged by
/// JetStream, past which the listener warns.
pub const DEFAULT_FORWARD_LAG_WARN: u64 = 64 << 20;

/// When an acknowledged producer's records count as delivered, with
/// forwarding on (`forward-acknowledge`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ForwardAcknowledge {
    /// Once written (and journaled, fsynced with `--durable`) to the
    /// local output; forwarding follows on its own.
    #[default]
    Local,
    /// Once JetStream has acknowledged the batch holding the record (end
    /// to end); while NATS is away, acknowledgements wait and producers'
    /// buffers fill, though the local file keeps every record.
    Forwarded,
}

impl std::str::FromStr for ForwardAcknowledge {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        crate::config::raw::one_of(
            s,
            "forward-acknowledge",
            &[
                ("local", ForwardAcknowledge::Local),
                ("forwarded", ForwardAcknowledge::Forwarded),
            ],
        )
    }
}

/// Forwarding of the first output's records to NATS JetStream; off while
/// [`nats`](ForwardSettings::nats) is empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardSettings {
    /// Server URLs (`nats://127.0.0.1:4222`); several name one cluster.
    pub nats: Vec<String>,
    /// The stream, created when missing.
    pub stream: String,
    /// The subjects' first token.
    pub subject_prefix: String,
    /// This host's name in subjects, message ids and records without a
    /// `host`; `None`: the host name.
    pub host_id: Option<String>,
    /// Stream limit on stored bytes, used when the stream is created.
    pub stream_max_bytes: Option<u64>,
    /// Stream limit on message age, used when the stream is created.
    pub stream_max_age: Option<Duration>,
    /// Lag (bytes) past which a warning is printed.
    pub lag_warn: u64,
    /// When acknowledged producers get their acknowledgements.
    pub acknowledge: ForwardAcknowledge,
}

impl Default for ForwardSettings {
    fn default() -> Self {
        ForwardSettings {
            nats: Vec::new(),
            stream: DEFAULT_FORWARD_STREAM.to_owned(),
            subject_prefix: DEFAULT_SUBJECT_PREFIX.to_owned(),
            host_id: None,
            stream_max_bytes: None,
            stream_max_age: None,
            lag_warn: DEFAULT_FORWARD_LAG_WARN,
            acknowledge: ForwardAcknowledge::Local,
        }
    }
}

impl ForwardSettings {
    /// Whether records are forwarded at all.
    pub fn is_active(&self) -> bool {
        !self.nats.is_empty()
    }

    /// The host id in use: the one given, or the host name with every
    /// character a subject token cannot hold replaced by `_` (dots too, so
    /// `web-1.example.com` becomes `web-1_example_com`).
    pub fn effective_host_id(&self) -> String {
        if let Some(id) = &self.host_id {
            return id.clone();
        }
        let name = crate::host_name::host_name().unwrap_or_default();
        let cleaned: String = name
            .chars()
            .map(|c| if token_char(c) { c } else { '_' })
            .take(MAX_TOKEN)
            .collect();
        if cleaned.is_empty() {
            "localhost".to_owned()
        } else {
            cleaned
        }
    }

    /// Checks names: each problem with the key it belongs to.
    pub(crate) fn check(&self) -> Result<(), (&'static str, String)> {
        if let Some(id) = &self.host_id {
            check_token(id).map_err(|e| ("host-id", e))?;
        }
        check_token(&self.subject_prefix).map_err(|e| ("forward-subject-prefix", e))?;
        if self.stream.is_empty()
            || self.stream.len() > MAX_TOKEN
            || !self.stream.chars().all(token_char)
        {
            return Err((
                "forward-stream",
                format!(
                    "`{}` is not a stream name: use 1..{MAX_TOKEN} letters, digits, `-` or `_`",
                    self.stream
                ),
            ));
        }
        for url in &self.nats {
            if url.trim().is_empty() || url.contains(char::is_whitespace) {
                return Err((
                    "forward-nats",
                    format!("`{url}` is not a server URL, e.g. nats://127.0.0.1:4222"),
                ));
            }
        }
        Ok(())
    }
}

/// Longest host id, subject prefix or stream name accepted.
const MAX_TOKEN: usize = 128;

/// Characters a subject token (and so a host id) may hold: no `.`, `*`,
/// `>` or white space, and nothing a shell or a message id would trip on.
fn token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

fn check_token(text: &str) -> Result<(), String> {
    if text.is_empty() || text.len() > MAX_TOKEN || !text.chars().all(token_char) {
        return Err(format!(
            "`{text}` cannot be a subject token: use 1..{MAX_TOKEN} letters, digits, `-` or `_`"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FileConfig;
    use std::path::Path;

    #[test]
    fn the_forward_table_is_the_forward_flags() {
        let table = FileConfig::from_toml(
            "[forward]\nnats = [\"nats://a:4222\", \"nats://b:4222\"]\nstream = \"LOGS\"\nhost-id = \"web-1\"\nmax-age = \"7d\"\nacknowledge = \"forwarded\"\n",
            Path::new("t.toml"),
        )
        .unwrap()
        .into_settings()
        .unwrap();
        let flat = FileConfig::from_toml(
            "forward-nats = [\"nats://a:4222\", \"nats://b:4222\"]\nforward-stream = \"LOGS\"\nhost-id = \"web-1\"\nforward-max-age = \"7d\"\nforward-acknowledge = \"forwarded\"\n",
            Path::new("t.toml"),
        )
        .unwrap()
        .into_settings()
        .unwrap();
        assert_eq!(table.forward, flat.forward);
        assert_eq!(table.forward.nats.len(), 2);
        assert_eq!(table.forward.host_id.as_deref(), Some("web-1"));
        assert_eq!(table.forward.acknowledge, ForwardAcknowledge::Forwarded);
        let e = FileConfig::from_toml("[forward]\nstreem = \"X\"\n", Path::new("t.toml"))
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("forward.streem") && e.contains("line 2") && e.contains("stream"),
            "{e}"
        );
    }

    #[test]
    fn host_ids_are_subject_tokens() {
        let s = ForwardSettings::default();
        let id = s.effective_host_id();
        assert!(!id.is_empty() && id.chars().all(token_char), "{id}");
        let bad = ForwardSettings {
            host_id: Some("web.1".into()),
            ..ForwardSettings::default()
        };
        let (key, why) = bad.check().unwrap_err();
        assert_eq!(key, "host-id");
        assert!(why.contains("web.1"), "{why}");
    }
}
