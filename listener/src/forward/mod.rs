//! Forwarding to NATS JetStream (`--forward-nats`): the records the
//! listener writes to its first output are published, in batches of whole
//! lines, to subject `<prefix>.<host-id>` of a JetStream stream.
//!
//! The local output is the forwarding buffer ([`source`]): nothing is
//! held in memory beyond the batches in flight, the listener writes at its
//! own speed whatever NATS does, and the [`cursor`] file beside the output
//! says how far JetStream has acknowledged it. Each batch is recorded
//! before it is published, with its bytes' exact bounds and its number, so
//! a batch published again after an outage, a restart or `kill -9` has the
//! same bytes and the same `Nats-Msg-Id`, and JetStream drops the copy.

#[cfg(feature = "nats")]
pub(crate) mod cursor;
#[cfg(feature = "nats")]
pub(crate) mod jetstream;
pub(crate) mod settings;
#[cfg(feature = "nats")]
pub(crate) mod source;
#[cfg(feature = "nats")]
mod task;

#[cfg(feature = "nats")]
pub(crate) use task::{Forwarder, start};
