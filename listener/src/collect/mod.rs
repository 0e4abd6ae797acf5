//! `tributary collect`: a listener whose one input is a JetStream stream.
//!
//! The stream's messages (batches of native JSON lines published by
//! forwarding listeners, docs/protocol.md) go through the listener's own
//! pipeline: routing, formatting, the writer, rotation. Exactly once across
//! `kill -9` comes from acknowledged delivery's machinery: the consumer is
//! one acknowledged producer whose numbers are the stream's sequence
//! numbers. Each message's records travel through the queue with the mark
//! "written below sequence + 1"; after the writer's commit (journal line,
//! fsync with `--durable`) the consumer acknowledges those messages to
//! JetStream. A restarted collector cuts its output back to the journal,
//! learns from it which sequences it wrote, acknowledges their
//! redeliveries without writing them again, and writes the rest.

pub(crate) mod settings;
#[cfg(feature = "nats")]
mod task;

#[cfg(feature = "nats")]
pub(crate) use task::{Attached, attach, serve};
