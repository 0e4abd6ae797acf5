//! Records of one request, formatted for the outputs as they are decoded
//! and held until the whole request is known good: nothing of a body is
//! queued before every record of it decoded (unless `partial=true`).

use super::HttpInput;
use crate::input::{Fast, PeerState};
use crate::pipeline::Batch;
use std::net::SocketAddr;
use tributary_core::{CompactString, DecodeError, Record, decode_payload_into};

/// One request's records, formatted and waiting to be queued.
pub(crate) struct RecordSink {
    pub(crate) batch: Batch,
    peer: SocketAddr,
    /// As a stream connection's: the `host` of the records without one
    /// (the peer's address, when it is on another host), the time cache
    /// and reorder scratch of the fast paths, the record JSON payloads are
    /// decoded into.
    state: PeerState,
    /// Routed to no output: not queued, counted as filtered once queued.
    filtered: u64,
}

impl RecordSink {
    /// An empty sink for a body of about `bytes` bytes from `peer`.
    pub(crate) fn new(input: &HttpInput, peer: SocketAddr, bytes: usize) -> RecordSink {
        let mut state = PeerState::default();
        state.peer_ip(Some(peer.ip()));
        RecordSink {
            batch: input.ctx.batch(bytes),
            peer,
            state,
            filtered: 0,
        }
    }

    /// Adds a decoded record: a record without `host` from another host
    /// gets the peer's address.
    pub(crate) fn push(&mut self, record: &mut Record) {
        let host = self.state.remote_host.as_ref().map(|(_, h)| h);
        push_into(&mut self.batch, &mut self.filtered, host, record);
    }

    /// Adds one JSON record as the stream inputs do
    /// ([`InputCtx::accept_fast`](crate::input::InputCtx::accept_fast)
    /// first, else decoded into the sink's reused record); why, when it is
    /// not one.
    pub(crate) fn push_payload(
        &mut self,
        input: &HttpInput,
        payload: &[u8],
    ) -> Result<(), DecodeError> {
        match input
            .ctx
            .accept_fast(payload, &mut self.batch, &mut self.state)
        {
            Fast::Written => {}
            Fast::Filtered => self.filtered += 1,
            Fast::Decode => {
                let state = &mut self.state;
                decode_payload_into(payload, input.ctx.decode, &mut state.record)?;
                let host = state.remote_host.as_ref().map(|(_, h)| h);
                push_into(&mut self.batch, &mut self.filtered, host, &mut state.record);
            }
        }
        Ok(())
    }

    /// The client.
    pub(crate) fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Records that will be written.
    pub(crate) fn records(&self) -> usize {
        self.batch.records
    }

    /// Records no output takes, to count once the request is queued.
    pub(crate) fn filtered(&self) -> u64 {
        self.filtered
    }
}

/// Routes and formats `record` into `batch` (as the batch's configuration
/// says: a reload may come between two requests, never inside one); a
/// record without `host` from another host gets the peer's address.
fn push_into(
    batch: &mut Batch,
    filtered: &mut u64,
    remote_host: Option<&CompactString>,
    record: &mut Record,
) {
    if record.host.is_none() {
        record.host = remote_host.cloned();
    }
    let mask = batch.encoder().route(record);
    if mask == 0 {
        *filtered += 1;
    } else {
        batch.push(record, mask);
    }
}
