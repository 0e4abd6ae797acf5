//! A bounded, checksummed, crash-safe FIFO of frames on disk, for a
//! `SocketHandler` whose in-memory buffer is full during a long outage:
//! frames go to the spool and are read back, in order, after reconnecting.
//!
//! # Guarantees
//!
//! - **Order**: frames come back in the order pushed; sequence numbers must
//!   increase (they identify frames to a receiver that deduplicates by
//!   producer and sequence number, and they let the spool tell consumed
//!   entries from unconsumed ones after a crash).
//! - **Nothing unconsumed is lost silently.** Each entry carries a CRC-32 of
//!   its header and one of its payload ([`mod@format`] has the layout). On open,
//!   every unconsumed entry is checked. A damaged entry is reported
//!   ([`Corruption`]: offset, bytes cut, what was wrong, the intact sequence
//!   numbers around it) and cut out; the scan then **resynchronises** by
//!   testing each following byte offset for an intact entry, so the entries
//!   after the damage are still recovered. An incomplete last entry (the
//!   producer died mid-append) is reported as a torn tail and truncated.
//!   Damage noticed later, while reading, is cut out the same way and
//!   returned as [`SpoolError::Corrupt`].
//! - **Consumed frames stay consumed** across restarts: consuming writes the
//!   head position into the header (two alternating checksummed copies, so
//!   a torn write leaves the older one). After a crash at worst a few frames
//!   consumed just before it are read again, never one fewer.
//! - **Bounded**: the file never grows past `max_bytes`; a push that would
//!   is refused with [`SpoolError::Full`] (the caller drops and counts, as
//!   it does for its in-memory buffer). Lengths read from the file are
//!   trusted only after their header checksum matches and they fit in the
//!   file; payload checksums are computed in 64 KiB pieces, so garbage never
//!   causes an allocation.
//! - **One owner**: the file is `flock`ed; a second process is refused.
//!
//! # Space: one file, reset when drained, compacted when needed
//!
//! When every frame is consumed, the file is truncated to its header: the
//! common case (an outage ends, the spool drains) costs nothing more. When
//! a push does not fit but the consumed prefix is at least 1/8 of the bound
//! (the receiver is draining while new frames keep coming), the unconsumed
//! tail is copied into `<file>.compact.tmp`, which is renamed over the spool
//! (fsynced first with [`SpoolSync::Disk`]); a copy left by a crash is
//! deleted on the next open. The 1/8 threshold bounds the copying to eight
//! bytes per byte consumed, at the price that a spool whose reader keeps
//! pace may report `Full` with only 7/8 of the bound in use.
//!
//! A single file was chosen over a ring of segment files because every
//! crash state is then either the old file or the new one: there is no
//! directory of segments to keep consistent with a head pointer, and the
//! compaction copy is rare (a drained spool is reset, not copied).
//!
//! # Durability
//!
//! With [`SpoolSync::Os`] (default) each push is one `pwrite`: it survives
//! the producer being killed, not a power cut. With [`SpoolSync::Disk`],
//! [`Spool::commit`] (once per batch of pushes) also `fdatasync`s; head
//! updates ride on that flush, so after a power cut the frames consumed
//! since the last commit may be read again (never fewer).

mod config;
mod format;
mod fsio;
mod open;
mod report;
mod scan;
#[cfg(test)]
mod tests;
mod window;

pub use config::{SpoolConfig, SpoolSync};
#[allow(unused_imports)] // named by the spool's tests
pub(crate) use report::{Corruption, CorruptionKind, Recovered, SpoolError};

use format::{Drops, ENTRY_HEADER_LEN, EntryHeader, HEADER_LEN, Head};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use window::Window;

/// A frame read back from the spool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Spooled {
    /// The sequence number it was pushed with.
    pub seq: u64,
    /// The bytes pushed (a complete native frame).
    pub frame: Vec<u8>,
}

/// The spool file, open and locked. See the module documentation.
#[derive(Debug)]
pub(crate) struct Spool {
    file: File,
    path: PathBuf,
    max_bytes: u64,
    sync: SpoolSync,
    producer_id: String,
    /// The epoch of the numbering of its frames ("" in a version 1 spool).
    epoch: String,
    /// Where the first unconsumed entry is, as last written to the header.
    head: Head,
    /// Records dropped and not yet reported, as last written to the header.
    drops: Drops,
    /// The end of the last entry.
    tail: u64,
    frames: usize,
    first_seq: Option<u64>,
    /// The highest sequence number ever pushed (consumed or not).
    max_seq: Option<u64>,
    /// Where [`read_after`](Spool::read_after) and
    /// [`read_next`](Spool::read_next) continue.
    cursor: u64,
    /// The last sequence number they returned.
    cursor_seq: Option<u64>,
    /// Pushes not yet fdatasynced (with `SpoolSync::Disk`).
    unsynced: bool,
    window: Window,
    scratch: Vec<u8>,
}

/// How far a walk over entry headers got.
struct Walk {
    /// Where it stopped: the first entry not taken, or the tail.
    end: u64,
    count: usize,
    /// The last entry taken.
    last_seq: Option<u64>,
    /// The first entry not taken.
    next_seq: Option<u64>,
}

impl Spool {
    /// Appends one frame under sequence number `seq`, which must be above
    /// every sequence number pushed before ([`max_seq`](Spool::max_seq)).
    /// With the default [`SpoolSync::Os`] it is in the OS when this returns.
    pub fn push(&mut self, seq: u64, frame: &[u8]) -> Result<(), SpoolError> {
        if seq == u64::MAX || self.max_seq.is_some_and(|m| seq <= m) {
            return Err(SpoolError::Sequence {
                last: self.max_seq,
                got: seq,
            });
        }
        let entry = ENTRY_HEADER_LEN + frame.len() as u64;
        let header = EntryHeader::for_payload(seq, frame).ok_or(SpoolError::Full {
            entry,
            max_bytes: self.max_bytes,
        })?;
        if self.tail + entry > self.max_bytes {
            self.make_room(entry)?;
        }
        self.scratch.clear();
        self.scratch.extend_from_slice(&header.encode());
        self.scratch.extend_from_slice(frame);
        if let Err(e) = self.file.write_all_at(&self.scratch, self.tail) {
            // A partial entry would read as damage later: cut it now.
            let _ = self.file.set_len(self.tail);
            return Err(self.io("write a frame to", e));
        }
        self.tail += entry;
        self.frames += 1;
        self.first_seq.get_or_insert(seq);
        self.max_seq = Some(seq);
        self.unsynced = true;
        Ok(())
    }

    /// Ends a batch of pushes: with [`SpoolSync::Disk`], `fdatasync`s so
    /// the batch survives a power cut. Nothing to do with `Os`.
    pub fn commit(&mut self) -> Result<(), SpoolError> {
        if self.sync == SpoolSync::Disk && self.unsynced {
            self.file.sync_data().map_err(|e| self.io("fdatasync", e))?;
            self.unsynced = false;
        }
        Ok(())
    }

    /// The oldest unconsumed frames, in order, up to `max_bytes` of frame
    /// bytes (at least one frame when any is left), without consuming them.
    #[allow(dead_code)] // complete API, exercised by the spool tests; the handler reads with read_after
    pub fn peek(&mut self, max_bytes: usize) -> Result<Vec<Spooled>, SpoolError> {
        let (frames, _) = self.read_from(self.head.offset, max_bytes, usize::MAX)?;
        Ok(frames)
    }

    /// The unconsumed frames numbered above `after` (all of them with
    /// `None`), in order, at most `max_frames` and up to `max_bytes` of
    /// frame bytes (at least one frame when any is left), without consuming
    /// them: for a reader that keeps what it read in memory until it is
    /// delivered and consumes it only then, so the file stays the truth
    /// until then. Reading on after the last frame the previous call
    /// returned costs no search.
    pub fn read_after(
        &mut self,
        after: Option<u64>,
        max_bytes: usize,
        max_frames: usize,
    ) -> Result<Vec<Spooled>, SpoolError> {
        if self.cursor_seq != after || self.cursor < self.head.offset {
            self.cursor = match after {
                None => self.head.offset,
                Some(after) => self.walk(|seq, _| seq > after)?.end,
            };
            self.cursor_seq = after;
        }
        let (frames, end) = self.read_from(self.cursor, max_bytes, max_frames)?;
        self.cursor = end;
        if let Some(last) = frames.last() {
            self.cursor_seq = Some(last.seq);
        }
        Ok(frames)
    }

    /// How many unconsumed frames are numbered in `seqs`.
    pub fn count_in(&mut self, seqs: std::ops::Range<u64>) -> Result<usize, SpoolError> {
        let mut n = 0;
        self.walk(|seq, _| {
            n += usize::from(seqs.contains(&seq));
            false
        })?;
        Ok(n)
    }

    /// The frames after those the previous calls returned (since the last
    /// [`rewind`](Spool::rewind) or consumption past them), up to
    /// `max_bytes` of frame bytes, without consuming them: for sending
    /// ahead of acknowledgements.
    #[allow(dead_code)] // complete API, exercised by the spool tests; the handler reads with read_after
    pub fn read_next(&mut self, max_bytes: usize) -> Result<Vec<Spooled>, SpoolError> {
        let from = self.cursor.max(self.head.offset);
        let (frames, end) = self.read_from(from, max_bytes, usize::MAX)?;
        self.cursor = end;
        if let Some(last) = frames.last() {
            self.cursor_seq = Some(last.seq);
        }
        Ok(frames)
    }

    /// Makes [`read_next`](Spool::read_next) start again at the oldest
    /// unconsumed frame (after a reconnect, unacknowledged frames are sent
    /// again).
    #[allow(dead_code)] // complete API, exercised by the spool tests; the handler reads with read_after
    pub fn rewind(&mut self) {
        self.cursor = self.head.offset;
        self.cursor_seq = None;
    }

    /// Whether a push of a `frame_len`-byte frame would be taken (at once
    /// or after compacting) rather than refused as [`SpoolError::Full`].
    pub fn fits(&self, frame_len: usize) -> bool {
        let entry = ENTRY_HEADER_LEN + frame_len as u64;
        self.tail + entry <= self.max_bytes || self.compaction_makes_room(entry)
    }

    /// Consumes the `n` oldest frames (fewer if fewer are left); returns
    /// how many.
    #[allow(dead_code)] // complete API, exercised by the spool tests; the handler consumes through acknowledged numbers
    pub fn consume(&mut self, n: usize) -> Result<usize, SpoolError> {
        let walk = self.walk(|_, i| i >= n)?;
        self.advance(walk)
    }

    /// Consumes every frame with a sequence number up to `seq` (a
    /// cumulative acknowledgement); returns how many.
    pub fn consume_through(&mut self, seq: u64) -> Result<usize, SpoolError> {
        let walk = self.walk(|s, _| s > seq)?;
        self.advance(walk)
    }

    /// Unconsumed frames.
    pub fn len(&self) -> usize {
        self.frames
    }

    /// Whether every frame is consumed.
    pub fn is_empty(&self) -> bool {
        self.frames == 0
    }

    /// Unconsumed bytes on disk, entry headers included.
    pub fn bytes(&self) -> u64 {
        self.tail - self.head.offset
    }

    /// The size of the file (header and consumed entries not yet reclaimed
    /// included): what counts against the bound.
    #[allow(dead_code)] // complete API, exercised by the spool tests
    pub fn file_bytes(&self) -> u64 {
        self.tail
    }

    /// The oldest unconsumed frame's sequence number.
    pub fn first_seq(&self) -> Option<u64> {
        self.first_seq
    }

    /// The highest sequence number ever pushed to this spool, consumed or
    /// not (kept across restarts): a restarted producer continues above it.
    pub fn max_seq(&self) -> Option<u64> {
        self.max_seq
    }

    /// Records the producer dropped and has not reported in-band yet, as
    /// kept in the file (see [`set_unreported_drops`](Spool::set_unreported_drops)).
    pub fn unreported_drops(&self) -> u64 {
        self.drops.count
    }

    /// Keeps the number of records dropped and not yet reported in the
    /// file (one small write, only when it changed): a run that ends, or is
    /// killed, before its drop report went out leaves the count to the next
    /// run, which reports it. Set it back to zero once the report is on its
    /// way. With [`SpoolSync::Disk`] it reaches the disk at the next
    /// [`commit`](Spool::commit).
    pub fn set_unreported_drops(&mut self, count: u64) -> Result<(), SpoolError> {
        if count == self.drops.count {
            return Ok(());
        }
        let drops = Drops {
            count,
            generation: self.drops.generation + 1,
        };
        self.file
            .write_all_at(&drops.encode(), drops.slot_offset())
            .map_err(|e| self.io("write the drop count to", e))?;
        self.drops = drops;
        self.unsynced = true;
        Ok(())
    }

    /// The producer id stored in the spool.
    pub fn producer_id(&self) -> &str {
        &self.producer_id
    }

    /// The epoch of the numbering of the spooled frames: the next run
    /// that resumes the spool says it in its hello, so the listener
    /// recognises what it already wrote.
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// The spool file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads intact entries from `from` (an entry boundary) until
    /// `max_bytes` of frames or `max_frames` frames; returns them and where
    /// it stopped.
    fn read_from(
        &mut self,
        from: u64,
        max_bytes: usize,
        max_frames: usize,
    ) -> Result<(Vec<Spooled>, u64), SpoolError> {
        self.window.clear();
        let mut out = Vec::new();
        let mut total = 0usize;
        let mut pos = from;
        while pos < self.tail && out.len() < max_frames {
            // Past the budget already (a first frame larger than it): even
            // an empty frame does not fit.
            if !out.is_empty() && total > max_bytes {
                break;
            }
            match self.read_entry(pos, max_bytes - total.min(max_bytes), out.is_empty()) {
                Ok(Some((frame, next))) => {
                    total += frame.frame.len();
                    out.push(frame);
                    pos = next;
                }
                Ok(None) => break,
                Err(None) => return Err(self.damaged()),
                Err(Some(e)) => return Err(self.io("read", e)),
            }
        }
        Ok((out, pos))
    }

    /// The entry at `pos` if its frame fits in `room` (or `first`), and
    /// where the next one starts. `Err(None)` when it is damaged.
    #[allow(clippy::type_complexity)]
    fn read_entry(
        &mut self,
        pos: u64,
        room: usize,
        first: bool,
    ) -> Result<Option<(Spooled, u64)>, Option<io::Error>> {
        if self.tail - pos < ENTRY_HEADER_LEN {
            return Err(None);
        }
        let raw = self
            .window
            .get(&self.file, pos, ENTRY_HEADER_LEN as usize, self.tail)
            .map_err(Some)?;
        let h = EntryHeader::decode(raw).ok_or(None)?;
        if h.entry_len() > self.tail - pos {
            return Err(None);
        }
        let len = h.len as usize;
        if !first && len > room {
            return Ok(None);
        }
        let payload = self
            .window
            .get(&self.file, pos + ENTRY_HEADER_LEN, len, self.tail)
            .map_err(Some)?;
        if crc32fast::hash(payload) != h.payload_crc {
            return Err(None);
        }
        let frame = Spooled {
            seq: h.seq,
            frame: payload.to_vec(),
        };
        Ok(Some((frame, pos + h.entry_len())))
    }

    /// Walks entry headers from the head until `stop(seq, index)`.
    fn walk(&mut self, stop: impl FnMut(u64, usize) -> bool) -> Result<Walk, SpoolError> {
        match self.walk_raw(stop) {
            Ok(w) => Ok(w),
            Err(Some(e)) => Err(self.io("read", e)),
            Err(None) => Err(self.damaged()),
        }
    }

    /// As `walk`; `Err(None)` when an entry header is damaged.
    fn walk_raw(
        &mut self,
        mut stop: impl FnMut(u64, usize) -> bool,
    ) -> Result<Walk, Option<io::Error>> {
        self.window.clear();
        let mut w = Walk {
            end: self.head.offset,
            count: 0,
            last_seq: None,
            next_seq: None,
        };
        while w.end < self.tail {
            if self.tail - w.end < ENTRY_HEADER_LEN {
                return Err(None);
            }
            let raw = self
                .window
                .get(&self.file, w.end, ENTRY_HEADER_LEN as usize, self.tail)
                .map_err(Some)?;
            let room = self.tail - w.end;
            let h = EntryHeader::decode(raw)
                .filter(|h| h.entry_len() <= room)
                .ok_or(None)?;
            if stop(h.seq, w.count) {
                w.next_seq = Some(h.seq);
                break;
            }
            w.end += h.entry_len();
            w.count += 1;
            w.last_seq = Some(h.seq);
        }
        Ok(w)
    }

    /// Persists a walk's consumption.
    fn advance(&mut self, walk: Walk) -> Result<usize, SpoolError> {
        let Some(last) = walk.last_seq else {
            return Ok(0);
        };
        let floor = last + 1;
        if walk.end == self.tail {
            self.reset(floor)?;
        } else {
            self.write_head(walk.end, floor)?;
            self.frames -= walk.count;
            self.first_seq = walk.next_seq;
        }
        if self.cursor < self.head.offset {
            self.cursor = self.head.offset;
        }
        Ok(walk.count)
    }

    /// Persists where reading starts.
    fn write_head(&mut self, offset: u64, floor: u64) -> Result<(), SpoolError> {
        let head = Head {
            offset,
            floor,
            generation: self.head.generation + 1,
        };
        self.file
            .write_all_at(&head.encode(), head.slot_offset())
            .map_err(|e| self.io("write the head position to", e))?;
        self.head = head;
        Ok(())
    }

    /// Everything is consumed: truncate to the header. The head is written
    /// first (and, with `Disk`, synced), so a crash in between leaves
    /// entries the floor marks as consumed, never a head past the end.
    fn reset(&mut self, floor: u64) -> Result<(), SpoolError> {
        self.write_head(HEADER_LEN, floor)?;
        self.frames = 0;
        self.first_seq = None;
        if self.sync == SpoolSync::Disk {
            self.file.sync_data().map_err(|e| self.io("fdatasync", e))?;
        }
        self.window.clear();
        if let Err(e) = self.file.set_len(HEADER_LEN) {
            // Keep appending after the consumed entries; on disk the floor
            // already marks them consumed.
            self.head.offset = self.tail;
            self.cursor = self.tail;
            return Err(self.io("truncate", e));
        }
        self.tail = HEADER_LEN;
        self.cursor = HEADER_LEN;
        self.cursor_seq = None;
        Ok(())
    }

    /// Compacts when that makes room for an `entry`-byte push and is worth
    /// it (see the module documentation), else reports `Full`.
    fn make_room(&mut self, entry: u64) -> Result<(), SpoolError> {
        if !self.compaction_makes_room(entry) {
            return Err(SpoolError::Full {
                entry,
                max_bytes: self.max_bytes,
            });
        }
        let old_head = self.head.offset;
        self.rewrite(&[(old_head, self.tail)])?;
        self.cursor = self.cursor.max(old_head) - old_head + HEADER_LEN;
        Ok(())
    }

    /// Whether compacting would make room for an `entry`-byte push and is
    /// worth it (see the module documentation).
    fn compaction_makes_room(&self, entry: u64) -> bool {
        let dead = self.head.offset - HEADER_LEN;
        let live = self.tail - self.head.offset;
        let capacity = self.max_bytes.saturating_sub(HEADER_LEN);
        HEADER_LEN + live + entry <= self.max_bytes && dead >= (capacity / 8).max(1)
    }

    /// Replaces the file by a new one holding the byte ranges `spans`
    /// (whole entries): built under a temporary name, then renamed over
    /// the spool, so a crash leaves either file whole.
    fn rewrite(&mut self, spans: &[(u64, u64)]) -> Result<(), SpoolError> {
        let tmp = fsio::temp_path(&self.path);
        let head = Head {
            offset: HEADER_LEN,
            floor: self.head.floor,
            generation: 0,
        };
        let built = self.build_copy(&tmp, spans, head);
        let (file, tail) = match built {
            Ok(done) => done,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        self.file = file;
        self.head = head;
        self.tail = tail;
        self.window.clear();
        if self.sync == SpoolSync::Disk {
            fsio::sync_dir(&self.path).map_err(|e| self.io("fsync the directory of", e))?;
        }
        Ok(())
    }

    fn build_copy(
        &self,
        tmp: &Path,
        spans: &[(u64, u64)],
        head: Head,
    ) -> Result<(File, u64), SpoolError> {
        let io_tmp = |op, e| SpoolError::Io {
            path: tmp.to_path_buf(),
            op,
            source: e,
        };
        let out = open::create_private(tmp).map_err(|e| io_tmp("create", e))?;
        if !fsio::try_lock(&out).map_err(|e| io_tmp("lock", e))? {
            return Err(SpoolError::Locked {
                path: tmp.to_path_buf(),
            });
        }
        out.write_all_at(
            &format::encode_header(&self.producer_id, &self.epoch, head, self.drops),
            0,
        )
        .map_err(|e| io_tmp("write", e))?;
        let mut pos = HEADER_LEN;
        let mut buf = vec![0u8; 256 * 1024];
        for &(start, end) in spans {
            let mut at = start;
            while at < end {
                let n = (end - at).min(buf.len() as u64) as usize;
                self.file
                    .read_exact_at(&mut buf[..n], at)
                    .map_err(|e| self.io("read", e))?;
                out.write_all_at(&buf[..n], pos)
                    .map_err(|e| io_tmp("write", e))?;
                at += n as u64;
                pos += n as u64;
            }
        }
        if self.sync == SpoolSync::Disk {
            out.sync_all().map_err(|e| io_tmp("fsync", e))?;
        }
        std::fs::rename(tmp, &self.path).map_err(|e| io_tmp("rename over the spool", e))?;
        Ok((out, pos))
    }

    /// Damage was noticed while reading: cut it out (as on open) and
    /// report what was cut.
    fn damaged(&mut self) -> SpoolError {
        match self.repair() {
            Ok(found) => SpoolError::Corrupt {
                path: self.path.clone(),
                found,
            },
            Err(e) => e,
        }
    }

    fn repair(&mut self) -> Result<Vec<Corruption>, SpoolError> {
        let scan = scan::scan(
            &self.file,
            &mut self.window,
            self.head.offset,
            self.tail,
            self.head.floor,
        )
        .map_err(|e| self.io("read", e))?;
        let found = scan.damage.clone();
        self.apply(scan)?;
        // Continue reading after the last frame handed out.
        self.cursor = self.head.offset;
        if let Some(after) = self.cursor_seq
            && let Ok(w) = self.walk_raw(|seq, _| seq > after)
        {
            self.cursor = w.end;
        }
        Ok(found)
    }

    /// Makes the file hold exactly the intact unconsumed entries a scan
    /// found: moves the head past consumed ones, truncates damage at the
    /// end, rewrites around damage in the middle.
    fn apply(&mut self, scan: scan::Scan) -> Result<(), SpoolError> {
        self.frames = scan.frames;
        self.first_seq = scan.first_seq;
        self.max_seq = self.max_seq.max(scan.last_seq);
        if scan.frames == 0 {
            if self.tail > HEADER_LEN || self.head.offset != HEADER_LEN {
                self.reset(self.head.floor)?;
            }
            return Ok(());
        }
        let mut spans = Vec::new();
        let mut from = scan.live_start;
        for c in scan.damage_inside() {
            spans.push((from, c.offset));
            from = c.offset + c.bytes;
        }
        if !spans.is_empty() {
            spans.push((from, scan.valid_end));
            spans.retain(|(a, b)| a < b);
            return self.rewrite(&spans);
        }
        if scan.valid_end < self.tail {
            self.file
                .set_len(scan.valid_end)
                .map_err(|e| self.io("truncate", e))?;
            self.tail = scan.valid_end;
        }
        if scan.live_start != self.head.offset {
            self.write_head(scan.live_start, self.head.floor)?;
        }
        Ok(())
    }

    fn io(&self, op: &'static str, source: io::Error) -> SpoolError {
        SpoolError::Io {
            path: self.path.clone(),
            op,
            source,
        }
    }
}
