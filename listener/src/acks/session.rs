//! One acknowledged connection's side of the protocol: the hello that opens
//! it, the numbering of its record frames, the acknowledgement mark on each
//! batch, and when an acknowledgement is due (docs/protocol.md).
//!
//! The connection loop only asks three things of it: may this record go to
//! the queue ([`Session::admit`]), mark the batch ([`Session::mark`]), and
//! is an acknowledgement due ([`Session::due`], then [`Session::ack`]).

use super::{AckMark, Producer, Producers};
use crate::pipeline::Batch;
use std::sync::Arc;
use std::sync::atomic::Ordering::Acquire;
use tributary_core::frame::handshake::{Hello, Reply, is_control};

/// What the first frame of a connection asked for, when it was a control
/// frame.
pub(crate) enum Opening {
    /// Acknowledged delivery, as this hello asks.
    Hello(Hello),
    /// A control frame that is not a valid hello: the reason to refuse it.
    Refused(String),
}

impl Opening {
    /// `None` when `payload` is an ordinary record (an unacknowledged
    /// connection); otherwise the hello or why it is refused.
    pub(crate) fn parse(payload: &[u8]) -> Option<Opening> {
        if !is_control(payload) {
            return None;
        }
        Some(match Hello::parse(payload) {
            Ok(Some(hello)) => Opening::Hello(hello),
            Ok(None) => Opening::Refused("not a hello".into()),
            Err(e) => Opening::Refused(e.to_string()),
        })
    }
}

/// What to do with one record frame of an acknowledged connection.
pub(crate) enum Admit {
    /// A new record: queue it.
    Record,
    /// Already accepted before (a resend after a reconnect): drop it.
    Duplicate,
    /// A control frame where a record was expected: malformed.
    Control,
    /// The numbers ran out (the next would wrap, and a wrapped number
    /// would be taken for one already written): the connection is refused.
    Exhausted,
}

/// An acknowledged connection's numbering.
pub(crate) struct Session {
    producer: Arc<Producer>,
    generation: u64,
    /// Number of the next record frame.
    next: u64,
    /// One past the last number this connection accepted itself. A mark
    /// stops there: a duplicate's original may still wait in the queue in
    /// an older connection's batch, which carries its own mark, and a mark
    /// past it (in an empty batch, which takes no permits) could overtake
    /// it and acknowledge what is not written yet.
    accepted_to: u64,
    /// Numbers below this went to the queue with an acknowledgement mark.
    marked: u64,
    /// Numbers below this were acknowledged to the producer.
    told: u64,
}

impl Session {
    /// Opens the session a hello asks for, and the welcome to send back.
    pub(crate) fn open(producers: &Producers, hello: &Hello, durable: bool) -> (Session, Reply) {
        let (producer, generation, start) =
            producers.hello(&hello.producer, &hello.epoch, hello.next);
        let session = Session {
            producer,
            generation,
            next: start,
            accepted_to: start,
            marked: start,
            told: start,
        };
        let welcome = Reply::Welcome {
            next: start,
            durable,
        };
        (session, welcome)
    }

    /// Numbers the next record frame, `payload`, and says what to do with it.
    pub(crate) fn admit(&mut self, payload: &[u8]) -> Admit {
        let seq = self.next;
        // Refused, never wrapped.
        let Some(after) = seq.checked_add(1) else {
            return Admit::Exhausted;
        };
        self.next = after;
        if !self.producer.accept(seq) {
            return Admit::Duplicate;
        }
        self.accepted_to = after;
        if is_control(payload) {
            Admit::Control
        } else {
            Admit::Record
        }
    }

    /// Puts on `batch` the mark that acknowledges, once it is written,
    /// what this connection accepted since the last mark.
    pub(crate) fn mark(&mut self, batch: &mut Batch) {
        if self.accepted_to > self.marked {
            batch.ack = Some(AckMark {
                producer: self.producer.clone(),
                next: self.accepted_to,
            });
            self.marked = self.accepted_to;
        }
    }

    /// Whether a newer connection of the same producer took over.
    pub(crate) fn superseded(&self) -> bool {
        !self.producer.is_current(self.generation)
    }

    /// The acknowledgement to send now, and records it as sent.
    pub(crate) fn ack(&mut self) -> Reply {
        let next = self.producer.written.load(Acquire);
        self.told = next;
        Reply::Ack { next }
    }
}

/// Resolves when `session`'s producer has records written that it was not
/// told about yet (never, without a session).
pub(crate) async fn due(session: Option<&Session>) {
    let Some(s) = session else {
        return std::future::pending().await;
    };
    let notified = s.producer.notify.notified();
    tokio::pin!(notified);
    // Registered before looking, so a write in between is not missed.
    notified.as_mut().enable();
    if s.producer.written.load(Acquire) > s.told {
        return;
    }
    notified.await;
}
