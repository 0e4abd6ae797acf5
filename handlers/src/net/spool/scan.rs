//! Reading a spool file back after a restart (or after damage was noticed):
//! which entries are intact and unconsumed, and which regions are damaged.
//!
//! After a damaged entry the scan resynchronises: it tests every following
//! byte offset for an intact entry (header checksum, a length that fits,
//! payload checksum, and a sequence number above the last intact one), so
//! one bad sector costs the frames in it, not everything after it.

use super::format::{ENTRY_HEADER_LEN, EntryHeader};
use super::report::{Corruption, CorruptionKind};
use super::window::Window;
use std::fs::File;
use std::io;

/// The intact, unconsumed entries of `[start, end)` and the damage around
/// them.
#[derive(Debug)]
pub(super) struct Scan {
    /// The first unconsumed entry (intact entries below the floor before it
    /// were consumed before a crash and are skipped).
    pub live_start: u64,
    /// The end of the last intact unconsumed entry.
    pub valid_end: u64,
    pub frames: usize,
    pub bytes: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// Damaged regions in file order.
    pub damage: Vec<Corruption>,
}

impl Scan {
    /// Damage between unconsumed entries: cutting it out needs a rewrite
    /// (damage after the last one is cut by truncating, damage before the
    /// first by moving the head).
    pub fn damage_inside(&self) -> impl Iterator<Item = &Corruption> {
        self.damage
            .iter()
            .filter(|c| c.offset >= self.live_start && c.offset < self.valid_end)
    }
}

/// Why the bytes at an offset are not an intact entry.
#[derive(Clone, Copy, Debug)]
enum Problem {
    /// Fewer bytes left than an entry header.
    Incomplete,
    Header,
    PastEnd(u32),
    Payload(u64),
    OutOfOrder(u64),
}

impl Problem {
    fn kind(self, reaches_end: bool) -> CorruptionKind {
        match self {
            Problem::Incomplete => CorruptionKind::TornTail,
            Problem::PastEnd(_) if reaches_end => CorruptionKind::TornTail,
            Problem::PastEnd(len) => CorruptionKind::Length { len },
            Problem::Header => CorruptionKind::EntryHeader,
            Problem::Payload(seq) => CorruptionKind::Payload { seq },
            Problem::OutOfOrder(seq) => CorruptionKind::OutOfOrder { seq },
        }
    }
}

/// The entry at `pos`, if intact. Its length is trusted only after the
/// header checksum matches and it fits before `end`; the payload checksum
/// is computed in window-sized pieces, so a garbage length never causes an
/// allocation.
fn check(
    file: &File,
    win: &mut Window,
    pos: u64,
    end: u64,
) -> io::Result<Result<EntryHeader, Problem>> {
    if end - pos < ENTRY_HEADER_LEN {
        return Ok(Err(Problem::Incomplete));
    }
    let Some(h) = EntryHeader::decode(win.get(file, pos, ENTRY_HEADER_LEN as usize, end)?) else {
        return Ok(Err(Problem::Header));
    };
    if h.entry_len() > end - pos {
        return Ok(Err(Problem::PastEnd(h.len)));
    }
    if win.crc(file, pos + ENTRY_HEADER_LEN, u64::from(h.len), end)? != h.payload_crc {
        return Ok(Err(Problem::Payload(h.seq)));
    }
    Ok(Ok(h))
}

/// Scans `[start, end)`; entries with a sequence number below `floor` that
/// come before the first unconsumed one are consumed ones.
pub(super) fn scan(
    file: &File,
    win: &mut Window,
    start: u64,
    end: u64,
    floor: u64,
) -> io::Result<Scan> {
    win.clear();
    let mut s = Scan {
        live_start: start,
        valid_end: start,
        frames: 0,
        bytes: 0,
        first_seq: None,
        last_seq: None,
        damage: Vec::new(),
    };
    let mut pos = start;
    // The last intact entry's sequence number, consumed or not.
    let mut prev: Option<u64> = None;
    let mut bad: Option<(u64, Problem)> = None;
    while pos < end {
        let h = match check(file, win, pos, end)? {
            Ok(h) => h,
            Err(p) => {
                bad.get_or_insert((pos, p));
                pos += 1;
                continue;
            }
        };
        if s.last_seq.is_some_and(|last| h.seq <= last) {
            bad.get_or_insert((pos, Problem::OutOfOrder(h.seq)));
            pos += h.entry_len();
            continue;
        }
        if let Some((at, p)) = bad.take() {
            s.damage.push(Corruption {
                offset: at,
                bytes: pos - at,
                kind: p.kind(false),
                after_seq: prev,
                before_seq: Some(h.seq),
            });
        }
        prev = Some(h.seq);
        pos += h.entry_len();
        if h.seq < floor && s.first_seq.is_none() {
            s.live_start = pos;
        } else {
            s.frames += 1;
            s.bytes += h.entry_len();
            s.first_seq.get_or_insert(h.seq);
            s.last_seq = Some(h.seq);
        }
        s.valid_end = pos;
    }
    if let Some((at, p)) = bad {
        s.damage.push(Corruption {
            offset: at,
            bytes: end - at,
            kind: p.kind(true),
            after_seq: prev,
            before_seq: None,
        });
    }
    Ok(s)
}
