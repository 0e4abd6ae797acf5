//! What goes through the queue: records already formatted for each output
//! that takes them. The input tasks format (in parallel, one task per
//! connection), so the single writer thread only writes.

use crate::acks::AckMark;

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
#[derive(Debug)]
pub(crate) struct Batch {
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
    /// An empty batch for `outputs` outputs; `reserve` bytes are set
    /// aside for an output once it gets a line.
    pub(crate) fn new(outputs: usize, reserve: usize) -> Batch {
        Batch {
            records: 0,
            outputs: (0..outputs).map(|_| Lines::default()).collect(),
            reserve,
            ack: None,
        }
    }

    /// Appends a line for output `i` (not counted as a record: see
    /// [`Batch::records`]).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_come_back_one_by_one_with_their_newlines() {
        let mut batch = Batch::new(2, 64);
        batch.push_line(1, |out| out.extend_from_slice(b"first"));
        batch.push_line(1, |out| out.extend_from_slice(b"two\nlines"));
        batch.records = 2;
        assert_eq!(batch.outputs[0].iter().count(), 0);
        let lines: Vec<_> = batch.outputs[1].iter().collect();
        assert_eq!(lines, [&b"first\n"[..], b"two\nlines\n"]);
        assert!(!batch.is_empty());
    }
}
