//! The bytes of a spool file: a fixed 512-byte header, then entries.
//!
//! ```text
//! header (512 bytes, little-endian):
//!   0..8     magic "TRBSPOOL"
//!   8..12    format version (2; version 1 had no epoch)
//!   12..16   producer id length (at most 256)
//!   16..20   CRC-32 of bytes 0..16, the producer id, bytes 20..24 and
//!            the epoch (version 1: of bytes 0..16 and the producer id)
//!   20..24   epoch length (at most 64; version 1: zero, no epoch)
//!   64..96   head record A  } head offset u64, floor u64, generation u64,
//!   96..128  head record B  } CRC-32 of those 24 bytes u32, zero u32
//!   128..384 producer id (UTF-8)
//!   384..448 epoch (ASCII: the numbering's epoch in acknowledged delivery)
//!   448..480 drop record A  } records dropped and not yet reported u64,
//!   480..512 drop record B  } generation u64, CRC-32 of those 16 bytes
//!                             u32, zero u32 (added within version 2: older
//!                             builds ignore them, and the zeros older
//!                             builds left there read as no drops)
//! entry (20 bytes + payload):
//!   0..4     payload length u32
//!   4..12    sequence number u64
//!   12..16   CRC-32 of the payload
//!   16..20   CRC-32 of bytes 0..16 (so length, sequence number and the
//!            payload's checksum are all covered)
//! ```
//!
//! The two head records, and the two drop records, alternate: each update
//! writes the older one with a higher generation, so a write torn by a
//! power cut leaves the other intact. The header checksum on every entry lets a reader reject a
//! damaged length before trusting it and find the next entry after damage
//! by testing each byte offset (a false match needs two CRC-32 collisions).

pub(super) const MAGIC: &[u8; 8] = b"TRBSPOOL";
pub(super) const VERSION: u32 = 2;
/// The version before epochs, still read (as having no epoch).
pub(super) const VERSION_WITHOUT_EPOCH: u32 = 1;
/// Where the first entry starts.
pub(super) const HEADER_LEN: u64 = 512;
/// Longest producer id, in bytes: the one the handshake allows.
pub(super) use tributary_core::frame::handshake::MAX_PRODUCER_ID;
pub(super) const ENTRY_HEADER_LEN: u64 = 20;

const SLOT_AT: [usize; 2] = [64, 96];
const SLOT_LEN: usize = 32;
const ID_AT: usize = 128;
// The id's room in the header (128..384) is part of the file format.
const _: () = assert!(ID_AT + MAX_PRODUCER_ID <= 384);
const EPOCH_AT: usize = 384;
use tributary_core::frame::handshake::MAX_EPOCH;
const DROPS_AT: [usize; 2] = [448, 480];
const _: () = assert!(EPOCH_AT + MAX_EPOCH <= DROPS_AT[0]);
const _: () = assert!(DROPS_AT[1] + SLOT_LEN <= HEADER_LEN as usize);

/// Where reading resumes: the first unconsumed entry, and the lowest
/// sequence number not yet consumed (`floor`), which lets a reader
/// recognise consumed entries even when the offset is stale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Head {
    pub offset: u64,
    pub floor: u64,
    pub generation: u64,
}

impl Head {
    /// The file offset of the record this head is written to.
    pub fn slot_offset(&self) -> u64 {
        SLOT_AT[(self.generation % 2) as usize] as u64
    }

    pub fn encode(&self) -> [u8; SLOT_LEN] {
        let mut out = [0u8; SLOT_LEN];
        out[0..8].copy_from_slice(&self.offset.to_le_bytes());
        out[8..16].copy_from_slice(&self.floor.to_le_bytes());
        out[16..24].copy_from_slice(&self.generation.to_le_bytes());
        let crc = crc32fast::hash(&out[0..24]);
        out[24..28].copy_from_slice(&crc.to_le_bytes());
        out
    }

    fn decode(b: &[u8]) -> Option<Head> {
        if crc32fast::hash(&b[0..24]) != le32(&b[24..28]) {
            return None;
        }
        Some(Head {
            offset: le64(&b[0..8]),
            floor: le64(&b[8..16]),
            generation: le64(&b[16..24]),
        })
    }
}

/// Records the producer dropped (beyond the spool's bound, or its memory
/// buffer's) and has not reported in-band yet: kept in the file so that a
/// run which ends before it can report them leaves them to the next one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Drops {
    pub count: u64,
    pub generation: u64,
}

impl Drops {
    /// The file offset of the record this count is written to.
    pub fn slot_offset(&self) -> u64 {
        DROPS_AT[(self.generation % 2) as usize] as u64
    }

    pub fn encode(&self) -> [u8; SLOT_LEN] {
        let mut out = [0u8; SLOT_LEN];
        out[0..8].copy_from_slice(&self.count.to_le_bytes());
        out[8..16].copy_from_slice(&self.generation.to_le_bytes());
        let crc = crc32fast::hash(&out[0..16]);
        out[16..20].copy_from_slice(&crc.to_le_bytes());
        out
    }

    fn decode(b: &[u8]) -> Option<Drops> {
        if crc32fast::hash(&b[0..16]) != le32(&b[16..20]) {
            return None;
        }
        Some(Drops {
            count: le64(&b[0..8]),
            generation: le64(&b[8..16]),
        })
    }
}

/// A header as read back: what could be trusted of it.
#[derive(Debug)]
pub(super) struct ParsedHeader {
    pub version: u32,
    /// `None` when the header checksum (or the id's UTF-8) is bad.
    pub producer_id: Option<String>,
    /// The numbering's epoch ("" in a version 1 spool); `None` with the id.
    pub epoch: Option<String>,
    /// The newest intact head record.
    pub head: Option<Head>,
    /// The newest intact drop record (none in a spool written before
    /// drops were kept, or whose two records are both damaged).
    pub drops: Option<Drops>,
}

/// A header for `producer_id` and `epoch` (at most [`MAX_EPOCH`] ASCII
/// characters, as the handshake allows) in the current version.
pub(super) fn encode_header(
    producer_id: &str,
    epoch: &str,
    head: Head,
    drops: Drops,
) -> [u8; HEADER_LEN as usize] {
    let mut out = [0u8; HEADER_LEN as usize];
    out[0..8].copy_from_slice(MAGIC);
    out[8..12].copy_from_slice(&VERSION.to_le_bytes());
    let id = producer_id.as_bytes();
    out[12..16].copy_from_slice(&(id.len() as u32).to_le_bytes());
    out[ID_AT..ID_AT + id.len()].copy_from_slice(id);
    let epoch = &epoch.as_bytes()[..epoch.len().min(MAX_EPOCH)];
    out[20..24].copy_from_slice(&(epoch.len() as u32).to_le_bytes());
    out[EPOCH_AT..EPOCH_AT + epoch.len()].copy_from_slice(epoch);
    let crc = header_crc(&out, id, epoch);
    out[16..20].copy_from_slice(&crc.to_le_bytes());
    let at = head.slot_offset() as usize;
    out[at..at + SLOT_LEN].copy_from_slice(&head.encode());
    let at = drops.slot_offset() as usize;
    out[at..at + SLOT_LEN].copy_from_slice(&drops.encode());
    out
}

/// Parses a full header whose magic has been checked.
pub(super) fn parse_header(b: &[u8; HEADER_LEN as usize]) -> ParsedHeader {
    let version = le32(&b[8..12]);
    let id_len = le32(&b[12..16]) as usize;
    let epoch_len = match version {
        VERSION_WITHOUT_EPOCH => 0,
        _ => le32(&b[20..24]) as usize,
    };
    let identity = (id_len <= MAX_PRODUCER_ID && epoch_len <= MAX_EPOCH)
        .then(|| {
            (
                &b[ID_AT..ID_AT + id_len],
                &b[EPOCH_AT..EPOCH_AT + epoch_len],
            )
        })
        .filter(|(id, epoch)| {
            let crc = if version == VERSION_WITHOUT_EPOCH {
                header_crc_v1(&b[0..16], id)
            } else {
                header_crc(b, id, epoch)
            };
            crc == le32(&b[16..20])
        })
        .and_then(|(id, epoch)| {
            Some((
                String::from_utf8(id.to_vec()).ok()?,
                String::from_utf8(epoch.to_vec()).ok()?,
            ))
        });
    let (producer_id, epoch) = identity.unzip();
    let head = SLOT_AT
        .iter()
        .filter_map(|&at| Head::decode(&b[at..at + SLOT_LEN]))
        .max_by_key(|h| h.generation);
    let drops = DROPS_AT
        .iter()
        .filter_map(|&at| Drops::decode(&b[at..at + SLOT_LEN]))
        .max_by_key(|d| d.generation);
    ParsedHeader {
        version,
        producer_id,
        epoch,
        head,
        drops,
    }
}

fn header_crc(header: &[u8], id: &[u8], epoch: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&header[0..16]);
    h.update(id);
    h.update(&header[20..24]);
    h.update(epoch);
    h.finalize()
}

fn header_crc_v1(fixed: &[u8], id: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(fixed);
    h.update(id);
    h.finalize()
}

/// The fixed part of an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct EntryHeader {
    pub len: u32,
    pub seq: u64,
    pub payload_crc: u32,
}

impl EntryHeader {
    pub fn for_payload(seq: u64, payload: &[u8]) -> Option<EntryHeader> {
        Some(EntryHeader {
            len: u32::try_from(payload.len()).ok()?,
            seq,
            payload_crc: crc32fast::hash(payload),
        })
    }

    pub fn encode(&self) -> [u8; ENTRY_HEADER_LEN as usize] {
        let mut out = [0u8; ENTRY_HEADER_LEN as usize];
        out[0..4].copy_from_slice(&self.len.to_le_bytes());
        out[4..12].copy_from_slice(&self.seq.to_le_bytes());
        out[12..16].copy_from_slice(&self.payload_crc.to_le_bytes());
        let crc = crc32fast::hash(&out[0..16]);
        out[16..20].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// `None` when the header checksum does not match: nothing in it,
    /// least of all the length, can be trusted.
    pub fn decode(b: &[u8]) -> Option<EntryHeader> {
        if crc32fast::hash(&b[0..16]) != le32(&b[16..20]) {
            return None;
        }
        Some(EntryHeader {
            len: le32(&b[0..4]),
            seq: le64(&b[4..12]),
            payload_crc: le32(&b[12..16]),
        })
    }

    /// Entry header and payload.
    pub fn entry_len(&self) -> u64 {
        ENTRY_HEADER_LEN + u64::from(self.len)
    }
}

fn le32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_le_bytes(a)
}

fn le64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_newest_head_wins() {
        let a = Head {
            offset: 512,
            floor: 0,
            generation: 1,
        };
        let d = Drops {
            count: 7,
            generation: 3,
        };
        let mut h = encode_header("host:42:abc", "9f2c51d0a3b84e17", a, d);
        let b = Head {
            offset: 700,
            floor: 9,
            generation: 2,
        };
        let at = b.slot_offset() as usize;
        h[at..at + SLOT_LEN].copy_from_slice(&b.encode());
        let p = parse_header(&h);
        assert_eq!(p.version, VERSION);
        assert_eq!(p.producer_id.as_deref(), Some("host:42:abc"));
        assert_eq!(p.epoch.as_deref(), Some("9f2c51d0a3b84e17"));
        assert_eq!(p.head, Some(b));
        assert_eq!(p.drops, Some(d));
        let e = Drops {
            count: 0,
            generation: 4,
        };
        let drops_at = e.slot_offset() as usize;
        h[drops_at..drops_at + SLOT_LEN].copy_from_slice(&e.encode());
        assert_eq!(parse_header(&h).drops, Some(e));
        // A torn newest record leaves the older one.
        h[drops_at + 2] ^= 1;
        assert_eq!(parse_header(&h).drops, Some(d));
        h[at + 3] ^= 1;
        assert_eq!(parse_header(&h).head, Some(a));
        h[ID_AT] ^= 1;
        assert_eq!(parse_header(&h).producer_id, None);
        h[ID_AT] ^= 1;
        h[EPOCH_AT] ^= 1;
        assert_eq!(
            parse_header(&h).producer_id,
            None,
            "the epoch is checked too"
        );
    }

    /// A version 1 header (before epochs) is read as having no epoch.
    #[test]
    fn a_version_1_header_has_no_epoch() {
        let head = Head {
            offset: 512,
            floor: 3,
            generation: 1,
        };
        let mut h = [0u8; HEADER_LEN as usize];
        h[0..8].copy_from_slice(MAGIC);
        h[8..12].copy_from_slice(&1u32.to_le_bytes());
        h[12..16].copy_from_slice(&4u32.to_le_bytes());
        h[ID_AT..ID_AT + 4].copy_from_slice(b"old1");
        let crc = header_crc_v1(&h[0..16], b"old1");
        h[16..20].copy_from_slice(&crc.to_le_bytes());
        let at = head.slot_offset() as usize;
        h[at..at + SLOT_LEN].copy_from_slice(&head.encode());
        let p = parse_header(&h);
        assert_eq!(p.version, VERSION_WITHOUT_EPOCH);
        assert_eq!(p.producer_id.as_deref(), Some("old1"));
        assert_eq!(p.epoch.as_deref(), Some(""));
        assert_eq!(p.head, Some(head));
        assert_eq!(p.drops, None, "zeros are no drop record");
    }

    #[test]
    fn entry_header_rejects_any_flipped_bit() {
        let e = EntryHeader::for_payload(77, b"payload").unwrap();
        let bytes = e.encode();
        assert_eq!(EntryHeader::decode(&bytes), Some(e));
        for bit in 0..ENTRY_HEADER_LEN as usize * 8 {
            let mut b = bytes;
            b[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(EntryHeader::decode(&b), None, "bit {bit}");
        }
    }
}
