//! Frames waiting for a peer: bounded by count and bytes, oldest dropped
//! first, drops counted so the gap can be reported in-band.

use std::collections::VecDeque;
use tributary_core::frame::{self, FrameError};

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

/// Frames in order, stored back to back in one buffer (what a batch
/// write sends is a slice of it, not a copy), with where each starts, so
/// acknowledged delivery can still count, resend and forget frame by frame.
#[derive(Debug, Default)]
pub(crate) struct Backlog {
    /// The frames; the live ones start at `starts[0]`, before it are frames
    /// already taken off the front (reclaimed when the buffer empties or
    /// the dead part outgrows the live one).
    buf: Vec<u8>,
    /// Where each live frame starts in `buf`; a frame ends where the next
    /// starts, the last at `buf.len()`.
    starts: VecDeque<usize>,
    /// Dropped since the last report went out.
    pub unreported: u64,
    /// Dropped in total.
    pub dropped: u64,
    /// Sequence number of the front frame (acknowledged delivery numbers
    /// frames from the hello's `next`, one per frame, across drops).
    pub first_seq: u64,
    /// Encoding buffers handed out by [`Backlog::buffer`] and given back
    /// by the push methods.
    spare: Vec<Vec<u8>>,
}

/// Encoding buffers kept for reuse.
const SPARE_BUFFERS: usize = 4;
/// Encoding buffers bigger than this are freed rather than kept.
const SPARE_CAPACITY: usize = 64 * 1024;
/// Dead bytes at the front are reclaimed (the live ones moved down) once
/// there are this many and more than live ones.
const RECLAIM: usize = 64 * 1024;
/// An empty buffer bigger than this is shrunk.
const SHRINK: usize = 1 << 20;

impl Backlog {
    /// A buffer to encode the next frame into (recycled when possible).
    pub fn buffer(&mut self) -> Vec<u8> {
        self.spare.pop().unwrap_or_default()
    }

    /// Where frame `i` ends.
    fn end(&self, i: usize) -> usize {
        self.starts.get(i + 1).copied().unwrap_or(self.buf.len())
    }

    /// Appends a copy of `frame` and keeps the buffer for the next one.
    fn append(&mut self, frame: Vec<u8>) {
        self.starts.push_back(self.buf.len());
        self.buf.extend_from_slice(&frame);
        self.recycle(frame);
    }

    /// Appends a frame, dropping the oldest ones beyond `limits`.
    pub fn push(&mut self, frame: Vec<u8>, limits: BufferLimits) {
        self.append(frame);
        self.enforce(limits);
    }

    /// Drops the oldest frames beyond `limits`, counting them.
    fn enforce(&mut self, limits: BufferLimits) {
        while self.starts.len() > limits.records.max(1)
            || (self.bytes() > limits.bytes && self.starts.len() > 1)
        {
            self.pop_front();
            self.unreported += 1;
            self.dropped += 1;
        }
    }

    /// Puts a frame at the front (the drop report, which covers the gap
    /// before the oldest kept frame).
    pub fn push_front(&mut self, frame: Vec<u8>) {
        self.first_seq = self.first_seq.wrapping_sub(1);
        match self.starts.front().copied() {
            None => return self.append(frame),
            // Room left by frames already taken off: write it there.
            Some(at) if at >= frame.len() => {
                let start = at - frame.len();
                self.buf[start..at].copy_from_slice(&frame);
                self.starts.push_front(start);
            }
            Some(at) => {
                let mut buf = Vec::with_capacity(frame.len() + self.buf.len() - at);
                buf.extend_from_slice(&frame);
                buf.extend_from_slice(&self.buf[at..]);
                for s in &mut self.starts {
                    *s = *s - at + frame.len();
                }
                self.starts.push_front(0);
                self.buf = buf;
            }
        }
        self.recycle(frame);
    }

    /// Appends the native frame of `payload` (length prefix and payload),
    /// encoded in place, dropping the oldest frames beyond `limits`.
    pub fn push_payload(&mut self, payload: &[u8], limits: BufferLimits) -> Result<(), FrameError> {
        let start = self.buf.len();
        frame::encode(payload, &mut self.buf)?;
        self.starts.push_back(start);
        self.enforce(limits);
        Ok(())
    }

    /// Appends a frame whatever the bounds (the drop report in
    /// acknowledged mode, where the front's sequence numbers are fixed).
    pub fn push_back_unbounded(&mut self, frame: Vec<u8>) {
        self.append(frame);
    }

    /// The `i`th frame from the front.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let start = *self.starts.get(i)?;
        Some(&self.buf[start..self.end(i)])
    }

    pub fn front(&self) -> Option<&[u8]> {
        self.get(0)
    }

    /// Frames `from`, `from + 1`, ... as one slice, as many as fit in
    /// `max` bytes (at least one), and how many they are.
    pub fn run(&self, from: usize, max: usize) -> (&[u8], usize) {
        let Some(&start) = self.starts.get(from) else {
            return (&[], 0);
        };
        let limit = start.saturating_add(max);
        if self.buf.len() <= limit {
            return (&self.buf[start..], self.starts.len() - from);
        }
        // Frames starting at or before `limit`: all but the last of them
        // also end there.
        let k = self.starts.partition_point(|&s| s <= limit);
        let n = (k - 1 - from).max(1);
        (&self.buf[start..self.end(from + n - 1)], n)
    }

    pub fn pop_front(&mut self) {
        if self.starts.pop_front().is_none() {
            return;
        }
        self.first_seq = self.first_seq.wrapping_add(1);
        match self.starts.front().copied() {
            None => {
                self.buf.clear();
                // After a long outage, give back what it took.
                if self.buf.capacity() > SHRINK {
                    self.buf.shrink_to(SHRINK / 4);
                    self.starts.shrink_to(SHRINK / 4 / 256);
                }
            }
            Some(at) if at >= RECLAIM && at > self.buf.len() - at => {
                self.buf.drain(..at);
                for s in &mut self.starts {
                    *s -= at;
                }
            }
            Some(_) => {}
        }
    }

    /// Keeps `f`'s allocation for a later frame.
    pub fn recycle(&mut self, mut f: Vec<u8>) {
        if self.spare.len() < SPARE_BUFFERS && f.capacity() <= SPARE_CAPACITY {
            f.clear();
            self.spare.push(f);
        }
    }

    /// The frames, front first.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.starts.len()).filter_map(|i| self.get(i))
    }

    pub fn len(&self) -> usize {
        self.starts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// Bytes of the live frames.
    pub fn bytes(&self) -> usize {
        self.starts.front().map_or(0, |&at| self.buf.len() - at)
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

    #[test]
    fn frames_keep_their_bounds_through_pops_reports_and_reclaims() {
        let mut b = Backlog::default();
        let unbounded = BufferLimits {
            records: usize::MAX,
            bytes: usize::MAX,
        };
        // Frames of different sizes: byte i of frame n is n.
        let frame = |n: u8| vec![n; 1 + usize::from(n) * 7];
        for n in 0..40u8 {
            b.push(frame(n), unbounded);
        }
        let (run, k) = b.run(3, 60);
        assert_eq!(k, 2, "frames 3 (22 bytes) and 4 (29) fit in 60, 5 does not");
        assert_eq!(run.len(), 22 + 29);
        assert_eq!(
            b.run(0, 0).1,
            1,
            "at least one frame, however small the bound"
        );
        assert_eq!(b.run(40, 100), (&[][..], 0));
        for _ in 0..10 {
            b.pop_front();
        }
        assert_eq!(b.first_seq, 10);
        // The report goes into the room the popped frames left...
        b.push_front(vec![200; 5]);
        assert_eq!(b.first_seq, 9);
        assert_eq!(b.front(), Some(&[200u8; 5][..]));
        assert_eq!(b.get(1), Some(&frame(10)[..]));
        b.pop_front();
        // ...or, with no room before the front, in a new buffer.
        let mut c = Backlog::default();
        c.push(frame(1), unbounded);
        c.push_front(vec![9; 100]);
        assert_eq!(c.iter().map(<[u8]>::len).collect::<Vec<_>>(), [100, 8]);
        assert_eq!(c.bytes(), 108);
        // Popping most of a big buffer reclaims the front without moving
        // any frame's bytes out of place.
        for n in 0..200u16 {
            b.push(vec![(n % 251) as u8; 1000], unbounded);
        }
        let before = b.len();
        for _ in 0..(before - 5) {
            b.pop_front();
        }
        assert_eq!(b.len(), 5);
        assert!(b.buf.len() < 64 * 1024, "dead bytes were reclaimed");
        let tail: Vec<u8> = b.iter().map(|f| f[0]).collect();
        assert_eq!(
            tail,
            (195..200u16).map(|n| (n % 251) as u8).collect::<Vec<_>>()
        );
        assert_eq!(b.bytes(), 5000);
        while !b.is_empty() {
            b.pop_front();
        }
        assert_eq!((b.bytes(), b.buf.len()), (0, 0));
    }

    #[test]
    fn payloads_are_framed_in_place_and_bounded_like_frames() {
        let mut b = Backlog::default();
        let limits = BufferLimits {
            records: 2,
            bytes: 1 << 20,
        };
        for p in [&b"{}"[..], b"{\"a\":1}", b"{\"b\":2}"] {
            b.push_payload(p, limits).unwrap();
        }
        assert_eq!(b.len(), 2);
        assert_eq!((b.dropped, b.first_seq), (1, 1));
        assert_eq!(b.front(), Some(&b"\0\0\0\x07{\"a\":1}"[..]));
        let (run, n) = b.run(0, 1000);
        assert_eq!(n, 2);
        assert_eq!(run, b"\0\0\0\x07{\"a\":1}\0\0\0\x07{\"b\":2}");
    }
}
