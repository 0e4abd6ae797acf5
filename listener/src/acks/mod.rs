//! Acknowledged delivery, the listener's side (docs/protocol.md).
//!
//! A producer that opens its connection with a hello gets its records
//! numbered; the input task drops numbers already accepted (a resend after
//! a reconnect), the writer acknowledges numbers once their records are in
//! every output (and in the [`Journal`]), and the journal lets a restarted
//! listener know what it wrote before, so a producer resending after a
//! crash gets neither loss nor duplicates.

mod forwarded;
mod identity;
mod journal;
mod registry;
mod session;

pub(crate) use forwarded::{FileKey, ForwardGate, Place};
pub(crate) use identity::ProducerAuth;
#[cfg(feature = "http")]
pub(crate) use identity::constant_time_eq;
pub(crate) use journal::{
    Journal, Numbering, OutputPos, default_path as default_journal_path, sync_dir,
};
#[cfg(feature = "http")]
pub(crate) use registry::ProducerStatus;
pub(crate) use registry::{AckMark, Producer, Producers};
pub(crate) use session::{Admit, Opening, Session, due as ack_due};
