//! Records of one request, formatted for the outputs as they are decoded
//! and held until the whole request is known good: nothing of a body is
//! queued before every record of it decoded (unless `partial=true`).

use super::HttpInput;
use crate::pipeline::Batch;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use tributary_core::{CompactString, Record};

/// One request's records, formatted and waiting to be queued.
pub(crate) struct RecordSink {
    pub(crate) batch: Batch,
    peer: SocketAddr,
    /// The `host` of the records without one: the peer's address, when
    /// it is on another host (the stream inputs' rule, `remote_ip`).
    remote_host: Option<CompactString>,
    /// Routed to no output: not queued, counted as filtered once queued.
    filtered: u64,
}

impl RecordSink {
    /// An empty sink for a body of about `bytes` bytes from `peer`.
    pub(crate) fn new(input: &HttpInput, peer: SocketAddr, bytes: usize) -> RecordSink {
        RecordSink {
            batch: input.ctx.batch(bytes),
            peer,
            remote_host: crate::input::remote_ip(peer.ip()).map(|ip| ip.to_string().into()),
            filtered: 0,
        }
    }

    /// Adds a decoded record: a record without `host` from another host
    /// gets the peer's address.
    pub(crate) fn push(&mut self, record: &mut Record) {
        if record.host.is_none() {
            record.host.clone_from(&self.remote_host);
        }
        // Routed and formatted as the batch's configuration says (a
        // reload may come between two requests, never inside one).
        let mask = self.batch.encoder().route(record);
        if mask == 0 {
            self.filtered += 1;
        } else {
            self.batch.push(record, mask);
        }
    }

    /// The client.
    pub(crate) fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Records that will be written.
    pub(crate) fn records(&self) -> usize {
        self.batch.records
    }

    /// The request was accepted: count what no output takes.
    pub(crate) fn count_filtered(&self, input: &HttpInput) {
        input
            .ctx
            .counters
            .filtered
            .fetch_add(self.filtered, Relaxed);
    }
}
