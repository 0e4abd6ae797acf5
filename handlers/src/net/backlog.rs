//! Frames waiting for a peer: bounded by count and bytes, oldest dropped
//! first, drops counted so the gap can be reported in-band.

use std::collections::VecDeque;

/// Bounds of the buffer kept while the peer is unreachable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferLimits {
    /// Most records kept.
    pub records: usize,
    /// Most bytes kept (frames included).
    pub bytes: usize,
}

impl Default for BufferLimits {
    fn default() -> Self {
        BufferLimits {
            records: 100_000,
            bytes: 64 << 20,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Backlog {
    frames: VecDeque<Vec<u8>>,
    bytes: usize,
    /// Dropped since the last report went out.
    pub unreported: u64,
    /// Dropped in total.
    pub dropped: u64,
    /// Sequence number of the front frame (acknowledged delivery numbers
    /// frames from the hello's `next`, one per frame, across drops).
    pub first_seq: u64,
    spare: Vec<Vec<u8>>,
    /// Capacity held in `spare`.
    spare_bytes: usize,
}

/// Most buffers kept for reuse: more than one send batch holds (64 KiB of
/// typical 300-600 byte frames), so a steady stream allocates no frames.
const SPARE_FRAMES: usize = 1024;
/// Most bytes kept in spare buffers.
const SPARE_BYTES: usize = 1 << 20;
/// Buffers bigger than this are freed rather than kept.
const SPARE_FRAME_CAPACITY: usize = 16 * 1024;

impl Backlog {
    /// A buffer to encode the next frame into (recycled when possible).
    pub fn buffer(&mut self) -> Vec<u8> {
        match self.spare.pop() {
            Some(f) => {
                self.spare_bytes -= f.capacity();
                f
            }
            None => Vec::new(),
        }
    }

    /// Appends a frame, dropping the oldest ones beyond `limits`.
    pub fn push(&mut self, frame: Vec<u8>, limits: BufferLimits) {
        self.bytes += frame.len();
        self.frames.push_back(frame);
        while self.frames.len() > limits.records.max(1)
            || (self.bytes > limits.bytes && self.frames.len() > 1)
        {
            if let Some(old) = self.frames.pop_front() {
                self.bytes -= old.len();
                self.first_seq += 1;
                self.unreported += 1;
                self.dropped += 1;
                self.recycle(old);
            }
        }
    }

    /// Puts a frame at the front (the drop report, which covers the gap
    /// before the oldest kept frame).
    pub fn push_front(&mut self, frame: Vec<u8>) {
        self.bytes += frame.len();
        self.first_seq = self.first_seq.wrapping_sub(1);
        self.frames.push_front(frame);
    }

    /// Appends a frame whatever the bounds (the drop report in
    /// acknowledged mode, where the front's sequence numbers are fixed).
    pub fn push_back_unbounded(&mut self, frame: Vec<u8>) {
        self.bytes += frame.len();
        self.frames.push_back(frame);
    }

    /// The `i`th frame from the front.
    pub fn get(&self, i: usize) -> Option<&Vec<u8>> {
        self.frames.get(i)
    }

    pub fn front(&self) -> Option<&Vec<u8>> {
        self.frames.front()
    }

    pub fn pop_front(&mut self) {
        if let Some(f) = self.frames.pop_front() {
            self.bytes -= f.len();
            self.first_seq += 1;
            self.recycle(f);
        }
    }

    /// Keeps `f`'s allocation for a later frame.
    pub fn recycle(&mut self, mut f: Vec<u8>) {
        let capacity = f.capacity();
        if self.spare.len() < SPARE_FRAMES
            && capacity <= SPARE_FRAME_CAPACITY
            && self.spare_bytes + capacity <= SPARE_BYTES
        {
            f.clear();
            self.spare_bytes += capacity;
            self.spare.push(f);
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Vec<u8>> {
        self.frames.iter()
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_oldest_and_counts() {
        let mut b = Backlog::default();
        let limits = BufferLimits {
            records: 3,
            bytes: 1 << 20,
        };
        for i in 0..5u8 {
            b.push(vec![i], limits);
        }
        assert_eq!(b.iter().map(|f| f[0]).collect::<Vec<_>>(), [2, 3, 4]);
        assert_eq!((b.unreported, b.len(), b.bytes()), (2, 3, 3));
        let limits = BufferLimits {
            records: 100,
            bytes: 5,
        };
        b.push(vec![9; 4], limits);
        assert_eq!(
            b.iter().map(|f| f.len()).collect::<Vec<_>>(),
            [1, 4],
            "byte bound drops from the front"
        );
        assert_eq!(b.dropped, 4);
        assert_eq!(b.first_seq, 4, "the front's sequence number follows drops");
        b.push(vec![7; 10], limits);
        assert_eq!(b.len(), 1, "a frame larger than the bound is still kept");
    }
}
