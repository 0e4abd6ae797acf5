//! What goes through the queue: records already formatted for each output
//! that takes them. The input tasks format (in parallel, one task per
//! connection), so the single writer thread only writes.

use super::Encoder;
use crate::acks::AckMark;
use crate::filter::OutputMask;
use std::sync::Arc;

/// Lines for one output: their bytes back to back (each with its `\n`),
/// and where each ends, so the file can rotate between any two of them.
#[derive(Debug, Default)]
pub(crate) struct Lines {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Lines {
    /// Appends what `write` writes, and a newline, as one line.
    pub(crate) fn push_with(&mut self, reserve: usize, write: impl FnOnce(&mut Vec<u8>)) {
        if self.bytes.capacity() == 0 {
            self.bytes.reserve(reserve);
        }
        write(&mut self.bytes);
        self.bytes.push(b'\n');
        self.ends.push(self.bytes.len());
    }

    /// Bytes of all the lines.
    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    /// How many lines.
    pub(crate) fn count(&self) -> usize {
        self.ends.len()
    }

    /// The lines back to back, each with its newline.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The lines, each with its newline.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let line = &self.bytes[start..end];
            start = end;
            line
        })
    }
}

/// Records from one socket read (or a few datagrams), formatted for every
/// output that takes them.
pub(crate) struct Batch {
    /// The routing and formats its records were given: the configuration
    /// in effect when the batch was started. A reload swaps the queue's
    /// encoder while batches of the old one are still on their way; the
    /// writer writes each batch to the outputs of its own encoder, so a
    /// record is written as it was routed, once.
    encoder: Arc<Encoder>,
    /// Records in the batch, each counted once whatever the number of
    /// outputs taking it: the unit of the queue's capacity.
    pub(crate) records: usize,
    /// One entry per output, in output order.
    pub(crate) outputs: Vec<Lines>,
    /// Bytes to reserve for an output's lines on its first line: about
    /// what the read that produced them held.
    reserve: usize,
    /// From an acknowledged connection: what to acknowledge once written
    /// (sent through the queue even with no record, so acknowledgements
    /// keep the order of the writes).
    pub(crate) ack: Option<AckMark>,
}

impl Batch {
    /// An empty batch for the outputs of `encoder`; `reserve` bytes are
    /// set aside for an output once it gets a line.
    pub(crate) fn new(encoder: Arc<Encoder>, reserve: usize) -> Batch {
        Batch {
            records: 0,
            outputs: (0..encoder.outputs()).map(|_| Lines::default()).collect(),
            encoder,
            reserve,
            ack: None,
        }
    }

    /// The routing and formats of this batch's records.
    pub(crate) fn encoder(&self) -> &Arc<Encoder> {
        &self.encoder
    }

    /// Adds `record`, formatted for each output in `mask`.
    pub(crate) fn push(&mut self, record: &tributary_core::Record, mask: OutputMask) {
        let encoder = &self.encoder;
        let reserve = self.reserve;
        encoder.format_into(record, mask, &mut self.outputs, reserve);
        self.records += 1;
    }

    /// Adds a native JSON line as it is to each output in `mask` (all of
    /// which write native JSON; see [`Encoder::all_native`]).
    pub(crate) fn push_native(&mut self, line: &[u8], mask: OutputMask) {
        self.push_native_parts(&[line], mask);
    }

    /// Adds the native JSON line made of `parts`, one after the other, as
    /// [`push_native`](Self::push_native) adds a whole one.
    pub(crate) fn push_native_parts(&mut self, parts: &[&[u8]], mask: OutputMask) {
        self.push_native_with(mask, |out| {
            for part in parts {
                out.extend_from_slice(part);
            }
        });
    }

    /// Adds the native JSON line `write` writes, once for each output in
    /// `mask` (all of which write native JSON), as
    /// [`push_native`](Self::push_native) adds a whole one.
    pub(crate) fn push_native_with(&mut self, mask: OutputMask, write: impl Fn(&mut Vec<u8>)) {
        for (i, lines) in self.outputs.iter_mut().enumerate() {
            if mask & (1 << i) != 0 {
                lines.push_with(self.reserve, &write);
            }
        }
        self.records += 1;
    }

    /// Appends a line for output `i` (not counted as a record: see
    /// [`Batch::records`]).
    #[cfg(test)]
    pub(crate) fn push_line(&mut self, i: usize, write: impl FnOnce(&mut Vec<u8>)) {
        self.outputs[i].push_with(self.reserve, write);
    }

    /// Bytes of formatted lines over all outputs: the queue's byte bound.
    pub(crate) fn bytes(&self) -> usize {
        self.outputs.iter().map(Lines::len).sum()
    }

    /// Whether it holds nothing to write or acknowledge.
    pub(crate) fn is_empty(&self) -> bool {
        self.records == 0 && self.ack.is_none()
    }
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("records", &self.records)
            .field("outputs", &self.outputs)
            .field("ack", &self.ack)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_come_back_one_by_one_with_their_newlines() {
        let specs = [
            crate::OutputSpec::file("a.log"),
            crate::OutputSpec::file("b.log"),
        ];
        let mut batch = Batch::new(Arc::new(Encoder::new(&specs).unwrap()), 64);
        batch.push_line(1, |out| out.extend_from_slice(b"first"));
        batch.push_line(1, |out| out.extend_from_slice(b"two\nlines"));
        batch.records = 2;
        assert_eq!(batch.outputs[0].iter().count(), 0);
        let lines: Vec<_> = batch.outputs[1].iter().collect();
        assert_eq!(lines, [&b"first\n"[..], b"two\nlines\n"]);
        assert!(!batch.is_empty());
    }
}
