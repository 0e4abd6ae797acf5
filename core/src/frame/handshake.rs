//! The acknowledged-delivery handshake (docs/protocol.md): the control
//! frames a producer and the listener exchange on a stream connection.
//!
//! A producer that wants acknowledgements sends a [`Hello`] as the first
//! frame of the connection. The listener answers with a
//! [`Reply::Welcome`] naming the first sequence number it has not yet
//! written for that producer, then sends [`Reply::Ack`]s as records reach
//! the output. Every later frame from the producer is a record whose
//! sequence number is implicit: the hello's `next`, then one more per frame.
//!
//! Control frames are ordinary length-prefixed frames whose JSON payload
//! starts with `{"tributary":`, which no record in the native profile does
//! (records start with `{"ts":`), so they cannot be mistaken for records.
//!
//! ```
//! use tributary_core::frame::handshake::{Hello, Reply};
//! let hello = Hello { producer: "web-1".into(), epoch: "9f2c51d0a3b84e17".into(), next: 0, secret: None };
//! let mut frame = Vec::new();
//! hello.encode(&mut frame);
//! assert_eq!(Hello::parse(&frame[4..]).unwrap(), Some(hello));
//!
//! let mut ack = Vec::new();
//! Reply::Ack { next: 120 }.encode(&mut ack);
//! assert_eq!(Reply::parse(&ack[4..]).unwrap(), Reply::Ack { next: 120 });
//! ```

use crate::json::escape::{write_str, write_u64};
use crate::json::parse::parse_value;
use crate::{Fields, Value};

/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// The longest producer id accepted, in bytes.
pub const MAX_PRODUCER_ID: usize = 256;

/// The longest epoch accepted, in characters.
pub const MAX_EPOCH: usize = 64;

/// The longest shared secret accepted, in bytes.
pub const MAX_SECRET: usize = 1024;

/// The prefix every control frame's payload starts with.
pub const CONTROL_PREFIX: &[u8] = b"{\"tributary\":";

/// A control frame that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// The payload is a control frame but not valid JSON of the expected shape.
    #[error("malformed control frame: {0}")]
    Malformed(String),
    /// The peer speaks a version this side does not.
    #[error(
        "protocol version {got} is not supported (this side speaks {PROTOCOL_VERSION}); upgrade the older side"
    )]
    Version {
        /// The version the peer announced.
        got: u32,
    },
    /// The producer id is empty, too long or contains control characters.
    #[error(
        "invalid producer id: {0} (use 1 to {MAX_PRODUCER_ID} printable bytes, e.g. host/pid/random)"
    )]
    ProducerId(String),
    /// The epoch is empty, too long or has characters outside
    /// `[0-9A-Za-z_-]`.
    #[error(
        "invalid epoch: {0} (use 1 to {MAX_EPOCH} characters from 0-9, A-Z, a-z, '_' and '-', e.g. 32 random hex digits)"
    )]
    Epoch(String),
    /// The secret is empty, too long or contains control characters. The
    /// message never repeats the secret.
    #[error("invalid secret: {0} (use 1 to {MAX_SECRET} printable bytes)")]
    Secret(&'static str),
    /// A control frame of a kind this side does not expect here.
    #[error("unexpected control frame {0:?}")]
    Unexpected(String),
}

/// The first frame of an acknowledged connection: who the producer is and
/// the sequence number of the frame that follows the hello.
///
/// Its `Debug` output never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Hello {
    /// A stable name for the producer's stream of records, unique among
    /// the listener's producers: the key of deduplication.
    pub producer: String,
    /// Which numbering of the producer the sequence numbers belong to:
    /// chosen at random when the producer starts a numbering (a process
    /// holding its records in memory, or a new spool), so a restarted
    /// producer is renumbered rather than taken for its predecessor, and a
    /// client that does not know it cannot make the producer skip records.
    /// Empty: no epoch (older producers); the key is then the id alone.
    pub epoch: String,
    /// Sequence number of the first record frame after the hello.
    pub next: u64,
    /// The shared secret a listener started with `--producer-secret`
    /// requires of every hello; `None` leaves the key out.
    pub secret: Option<String>,
}

impl std::fmt::Debug for Hello {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A hello is printed in diagnostics and test failures: the secret
        // would end up in logs.
        f.debug_struct("Hello")
            .field("producer", &self.producer)
            .field("epoch", &self.epoch)
            .field("next", &self.next)
            .field("secret", &self.secret.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

/// What the listener sends back on an acknowledged connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The answer to a hello: records with a sequence number below `next`
    /// are already written, so the producer may forget them and should
    /// send from `next` on. `durable` says whether acknowledgements mean
    /// fsynced (`--durable`) or handed to the operating system.
    Welcome {
        /// First sequence number not yet written.
        next: u64,
        /// Whether acknowledgements follow an fsync.
        durable: bool,
    },
    /// Cumulative: every record with a sequence number below `next` is
    /// written to every output that takes it.
    Ack {
        /// First sequence number not yet written.
        next: u64,
    },
    /// The listener refuses the connection (bad hello, unsupported
    /// version); it closes the connection after this frame.
    Refused {
        /// Why, for the producer's diagnostics.
        reason: String,
    },
}

/// A control frame's keys, read or to be written.
#[derive(Default)]
struct Wire<'a> {
    kind: &'a str,
    version: Option<u32>,
    producer: Option<&'a str>,
    epoch: Option<&'a str>,
    next: Option<u64>,
    durable: Option<bool>,
    reason: Option<&'a str>,
    secret: Option<&'a str>,
}

impl<'a> Wire<'a> {
    fn empty(kind: &'static str) -> Wire<'static> {
        Wire {
            kind,
            ..Wire::default()
        }
    }

    fn frame(&self, out: &mut Vec<u8>) {
        // A control frame holds a few short fields (the producer id is
        // bounded): it always fits the length prefix.
        let _ = super::framed(out, |out| self.payload(out));
    }

    fn payload(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(CONTROL_PREFIX);
        write_str(out, self.kind);
        if let Some(v) = self.version {
            out.extend_from_slice(b",\"version\":");
            write_u64(out, u64::from(v));
        }
        if let Some(p) = self.producer {
            out.extend_from_slice(b",\"producer\":");
            write_str(out, p);
        }
        if let Some(e) = self.epoch {
            out.extend_from_slice(b",\"epoch\":");
            write_str(out, e);
        }
        if let Some(n) = self.next {
            out.extend_from_slice(b",\"next\":");
            write_u64(out, n);
        }
        if let Some(s) = self.secret {
            out.extend_from_slice(b",\"secret\":");
            write_str(out, s);
        }
        if let Some(d) = self.durable {
            out.extend_from_slice(if d {
                b",\"durable\":true"
            } else {
                b",\"durable\":false"
            });
        }
        if let Some(r) = self.reason {
            out.extend_from_slice(b",\"reason\":");
            write_str(out, r);
        }
        out.push(b'}');
    }

    fn read(fields: &'a Fields) -> Result<Wire<'a>, HandshakeError> {
        let bad =
            |key: &str, what: &str| HandshakeError::Malformed(format!("\"{key}\" must be {what}"));
        let mut wire = Wire::default();
        for (key, value) in fields.iter() {
            match key {
                "tributary" => wire.kind = value.as_str().ok_or_else(|| bad(key, "a string"))?,
                "version" => {
                    wire.version = Some(
                        as_u64(value)
                            .and_then(|v| u32::try_from(v).ok())
                            .ok_or_else(|| bad(key, "a small unsigned integer"))?,
                    );
                }
                "producer" => {
                    wire.producer = Some(value.as_str().ok_or_else(|| bad(key, "a string"))?)
                }
                "epoch" => wire.epoch = Some(value.as_str().ok_or_else(|| bad(key, "a string"))?),
                "next" => {
                    wire.next =
                        Some(as_u64(value).ok_or_else(|| bad(key, "an unsigned 64-bit integer"))?)
                }
                "durable" => match value {
                    Value::Bool(b) => wire.durable = Some(*b),
                    _ => return Err(bad(key, "true or false")),
                },
                "reason" => wire.reason = Some(value.as_str().ok_or_else(|| bad(key, "a string"))?),
                "secret" => wire.secret = Some(value.as_str().ok_or_else(|| bad(key, "a string"))?),
                // Unknown keys are for later versions to add.
                _ => {}
            }
        }
        Ok(wire)
    }

    fn check_version(&self) -> Result<(), HandshakeError> {
        match self.version {
            Some(PROTOCOL_VERSION) => Ok(()),
            Some(got) => Err(HandshakeError::Version { got }),
            None => Err(HandshakeError::Malformed("missing \"version\"".into())),
        }
    }

    fn need_next(&self) -> Result<u64, HandshakeError> {
        self.next
            .ok_or_else(|| HandshakeError::Malformed("missing \"next\"".into()))
    }
}

fn as_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Int(i) => u64::try_from(*i).ok(),
        Value::BigInt(digits) => digits.parse().ok(),
        _ => None,
    }
}

/// Parses a control frame's payload into its keys.
fn parse_fields(payload: &[u8]) -> Result<Fields, HandshakeError> {
    let text = std::str::from_utf8(payload)
        .map_err(|e| HandshakeError::Malformed(format!("invalid UTF-8: {e}")))?;
    match parse_value(text) {
        Ok(Value::Map(fields)) => Ok(fields),
        Ok(_) => Err(HandshakeError::Malformed("not a JSON object".into())),
        Err(e) => Err(HandshakeError::Malformed(format!(
            "{} at byte {}",
            e.reason, e.offset
        ))),
    }
}

/// Whether `payload` is a control frame (rather than a record).
pub fn is_control(payload: &[u8]) -> bool {
    payload.starts_with(CONTROL_PREFIX)
}

fn check_producer(id: &str) -> Result<(), HandshakeError> {
    if id.is_empty() {
        return Err(HandshakeError::ProducerId("empty".into()));
    }
    if id.len() > MAX_PRODUCER_ID {
        return Err(HandshakeError::ProducerId(format!(
            "{} bytes long",
            id.len()
        )));
    }
    if id.chars().any(char::is_control) {
        return Err(HandshakeError::ProducerId(
            "contains a control character".into(),
        ));
    }
    Ok(())
}

fn check_epoch(epoch: &str) -> Result<(), HandshakeError> {
    if epoch.is_empty() {
        return Err(HandshakeError::Epoch(
            "empty (leave the key out for no epoch)".into(),
        ));
    }
    if epoch.len() > MAX_EPOCH {
        return Err(HandshakeError::Epoch(format!(
            "{} characters long",
            epoch.len()
        )));
    }
    if !epoch
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(HandshakeError::Epoch(format!("{epoch:?}")));
    }
    Ok(())
}

fn check_secret(secret: &str) -> Result<(), HandshakeError> {
    if secret.is_empty() {
        return Err(HandshakeError::Secret("empty"));
    }
    if secret.len() > MAX_SECRET {
        return Err(HandshakeError::Secret("too long"));
    }
    if secret.chars().any(char::is_control) {
        return Err(HandshakeError::Secret("contains a control character"));
    }
    Ok(())
}

impl Hello {
    /// Appends the hello as a frame (length prefix included); an empty
    /// epoch is left out.
    pub fn encode(&self, out: &mut Vec<u8>) {
        Wire {
            version: Some(PROTOCOL_VERSION),
            producer: Some(&self.producer),
            epoch: Some(self.epoch.as_str()).filter(|e| !e.is_empty()),
            next: Some(self.next),
            secret: self.secret.as_deref(),
            ..Wire::empty("hello")
        }
        .frame(out);
    }

    /// Reads a payload: `Ok(None)` when it is not a control frame at all
    /// (an ordinary record), an error when it is a control frame but not a
    /// valid hello.
    pub fn parse(payload: &[u8]) -> Result<Option<Hello>, HandshakeError> {
        if !is_control(payload) {
            return Ok(None);
        }
        let fields = parse_fields(payload)?;
        let wire = Wire::read(&fields)?;
        if wire.kind != "hello" {
            return Err(HandshakeError::Unexpected(wire.kind.to_owned()));
        }
        wire.check_version()?;
        let next = wire.need_next()?;
        let producer = wire
            .producer
            .ok_or_else(|| HandshakeError::Malformed("missing \"producer\"".into()))?;
        check_producer(producer)?;
        if let Some(epoch) = wire.epoch {
            check_epoch(epoch)?;
        }
        if let Some(secret) = wire.secret {
            check_secret(secret)?;
        }
        Ok(Some(Hello {
            producer: producer.to_owned(),
            epoch: wire.epoch.unwrap_or_default().to_owned(),
            next,
            secret: wire.secret.map(str::to_owned),
        }))
    }
}

impl Reply {
    /// Appends the reply as a frame (length prefix included).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let wire = match self {
            Reply::Welcome { next, durable } => Wire {
                version: Some(PROTOCOL_VERSION),
                next: Some(*next),
                durable: Some(*durable),
                ..Wire::empty("welcome")
            },
            Reply::Ack { next } => Wire {
                next: Some(*next),
                ..Wire::empty("ack")
            },
            Reply::Refused { reason } => Wire {
                reason: Some(reason),
                ..Wire::empty("refused")
            },
        };
        wire.frame(out);
    }

    /// Reads a reply payload (without its length prefix).
    pub fn parse(payload: &[u8]) -> Result<Reply, HandshakeError> {
        if !is_control(payload) {
            return Err(HandshakeError::Malformed(
                "not a control frame (is the peer a Tributary listener?)".into(),
            ));
        }
        let fields = parse_fields(payload)?;
        let wire = Wire::read(&fields)?;
        match wire.kind {
            "welcome" => {
                wire.check_version()?;
                Ok(Reply::Welcome {
                    next: wire.need_next()?,
                    durable: wire.durable.unwrap_or(false),
                })
            }
            "ack" => Ok(Reply::Ack {
                next: wire.need_next()?,
            }),
            "refused" => Ok(Reply::Refused {
                reason: wire.reason.unwrap_or_default().to_owned(),
            }),
            other => Err(HandshakeError::Unexpected(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(frame: &[u8]) -> &[u8] {
        let len = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
        assert_eq!(frame.len(), len + 4);
        &frame[4..]
    }

    #[test]
    fn every_frame_round_trips() {
        let hello = Hello {
            producer: "h\u{e9}te/1/\"q\"".into(),
            epoch: "9f2c51d0a3b84e17_-Z".into(),
            next: u64::MAX,
            secret: Some("s\u{e9}sa\"me".into()),
        };
        let mut f = Vec::new();
        hello.encode(&mut f);
        assert!(is_control(payload(&f)));
        assert_eq!(Hello::parse(payload(&f)).unwrap(), Some(hello));
        for reply in [
            Reply::Welcome {
                next: 7,
                durable: true,
            },
            Reply::Ack { next: 0 },
            Reply::Refused {
                reason: "no\nway".into(),
            },
        ] {
            let mut f = Vec::new();
            reply.encode(&mut f);
            assert_eq!(Reply::parse(payload(&f)).unwrap(), reply);
        }
    }

    #[test]
    fn the_epoch_is_optional_and_checked() {
        let old = br#"{"tributary":"hello","version":1,"producer":"web-1","next":3}"#;
        let hello = Hello::parse(old).unwrap().unwrap();
        assert_eq!(hello.epoch, "", "a hello without epoch has none");
        let mut f = Vec::new();
        hello.encode(&mut f);
        assert!(
            !String::from_utf8_lossy(payload(&f)).contains("epoch"),
            "no epoch, no key: older listeners read it as before"
        );
        let with = br#"{"tributary":"hello","version":1,"producer":"web-1","epoch":"9f2c51d0a3b84e17","next":0}"#;
        assert_eq!(
            Hello::parse(with).unwrap().unwrap().epoch,
            "9f2c51d0a3b84e17"
        );
        let long = "a".repeat(MAX_EPOCH + 1);
        for bad in ["", "a b", "é", "a/b", long.as_str()] {
            let text = format!(
                r#"{{"tributary":"hello","version":1,"producer":"p","epoch":"{bad}","next":0}}"#
            );
            assert!(
                matches!(Hello::parse(text.as_bytes()), Err(HandshakeError::Epoch(_))),
                "{bad:?} is refused"
            );
        }
        let max = "Z".repeat(MAX_EPOCH);
        let text = format!(
            r#"{{"tributary":"hello","version":1,"producer":"p","epoch":"{max}","next":0}}"#
        );
        assert!(Hello::parse(text.as_bytes()).is_ok());
    }

    #[test]
    fn the_secret_is_optional_checked_and_never_printed() {
        let old = br#"{"tributary":"hello","version":1,"producer":"web-1","next":3}"#;
        assert_eq!(Hello::parse(old).unwrap().unwrap().secret, None);
        let with = br#"{"tributary":"hello","version":1,"producer":"web-1","next":3,"secret":"open sesame"}"#;
        let hello = Hello::parse(with).unwrap().unwrap();
        assert_eq!(hello.secret.as_deref(), Some("open sesame"));
        let shown = format!("{hello:?}");
        assert!(
            !shown.contains("sesame") && shown.contains("<hidden>"),
            "Debug hides the secret: {shown}"
        );
        let mut f = Vec::new();
        Hello {
            secret: None,
            ..hello
        }
        .encode(&mut f);
        assert!(
            !String::from_utf8_lossy(payload(&f)).contains("secret"),
            "no secret, no key"
        );
        for bad in [r#""""#, r#""a\u0001""#, "7"] {
            let text = format!(
                r#"{{"tributary":"hello","version":1,"producer":"p","next":0,"secret":{bad}}}"#
            );
            let err = Hello::parse(text.as_bytes()).unwrap_err();
            assert!(
                matches!(
                    err,
                    HandshakeError::Secret(_) | HandshakeError::Malformed(_)
                ),
                "{bad} is refused: {err}"
            );
        }
        let long = format!(
            r#"{{"tributary":"hello","version":1,"producer":"p","next":0,"secret":"{}"}}"#,
            "k".repeat(MAX_SECRET + 1)
        );
        let err = Hello::parse(long.as_bytes()).unwrap_err().to_string();
        assert!(!err.contains("kkk"), "the error does not repeat it: {err}");
    }

    #[test]
    fn records_are_not_control_frames() {
        assert_eq!(Hello::parse(br#"{"ts":"x","msg":"hi"}"#).unwrap(), None);
        assert_eq!(Hello::parse(b"\x80\x04}").unwrap(), None);
        assert!(Reply::parse(br#"{"ts":1}"#).is_err());
    }

    #[test]
    fn bad_hellos_say_what_is_wrong() {
        let cases: [(&[u8], &str); 6] = [
            (br#"{"tributary":"hello"#, "malformed"),
            (
                br#"{"tributary":"hello","version":2,"producer":"p","next":0}"#,
                "version 2",
            ),
            (br#"{"tributary":"hello","version":1,"next":0}"#, "producer"),
            (
                br#"{"tributary":"hello","version":1,"producer":"","next":0}"#,
                "empty",
            ),
            (
                br#"{"tributary":"hello","version":1,"producer":"a\u0000","next":0}"#,
                "control",
            ),
            (br#"{"tributary":"ack","next":3}"#, "unexpected"),
        ];
        for (payload, want) in cases {
            let err = Hello::parse(payload).unwrap_err().to_string();
            assert!(err.contains(want), "{err:?} should mention {want:?}");
        }
        let long = format!(
            r#"{{"tributary":"hello","version":1,"producer":"{}","next":0}}"#,
            "x".repeat(MAX_PRODUCER_ID + 1)
        );
        assert!(matches!(
            Hello::parse(long.as_bytes()),
            Err(HandshakeError::ProducerId(_))
        ));
    }
}
