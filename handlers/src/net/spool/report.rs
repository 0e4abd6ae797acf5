//! What a spool tells its caller about damage it found and cut out, so
//! the caller can report it in-band and on stderr.

use std::fmt;
use std::path::PathBuf;

/// One damaged region of a spool file, cut out when found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Corruption {
    /// Where the damage starts in the file.
    pub offset: u64,
    /// How many bytes were cut out (frames in them are lost).
    pub bytes: u64,
    /// What was wrong at `offset`.
    pub kind: CorruptionKind,
    /// The sequence number of the intact frame before the damage, if any.
    pub after_seq: Option<u64>,
    /// The sequence number of the intact frame after the damage, if any:
    /// with consecutive sequence numbers, the frames in between are the
    /// ones lost.
    pub before_seq: Option<u64>,
}

/// What was wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CorruptionKind {
    /// The last entry is incomplete: the producer died (or the machine lost
    /// power) in the middle of spooling it. That one frame is lost.
    TornTail,
    /// An entry header's checksum does not match.
    EntryHeader,
    /// An entry's payload checksum does not match; the frame with this
    /// sequence number is lost.
    Payload {
        /// The damaged frame's sequence number (its header is intact).
        seq: u64,
    },
    /// An intact entry header whose length runs past the end of the file.
    Length {
        /// The length it claims.
        len: u32,
    },
    /// An intact entry whose sequence number is not above the one before it.
    OutOfOrder {
        /// Its sequence number.
        seq: u64,
    },
    /// The file header's checksum does not match: the producer id in it is
    /// lost, and the frames will be sent under the new producer id (a
    /// receiver that deduplicates by producer may then get some twice).
    FileHeader,
    /// Neither copy of the head position could be used: reading starts
    /// over at the first intact entry, so frames already consumed may be
    /// sent again.
    Head,
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            CorruptionKind::TornTail => write!(
                f,
                "incomplete last entry at byte {} ({} bytes; the producer stopped while spooling it)",
                self.offset, self.bytes
            )?,
            CorruptionKind::EntryHeader => write!(
                f,
                "entry header checksum mismatch at byte {}; cut {} bytes",
                self.offset, self.bytes
            )?,
            CorruptionKind::Payload { seq } => write!(
                f,
                "payload checksum mismatch in frame seq {seq} at byte {}; cut {} bytes",
                self.offset, self.bytes
            )?,
            CorruptionKind::Length { len } => write!(
                f,
                "entry at byte {} claims {len} bytes, past the end of the file; cut {} bytes",
                self.offset, self.bytes
            )?,
            CorruptionKind::OutOfOrder { seq } => write!(
                f,
                "frame seq {seq} at byte {} is out of order; cut {} bytes",
                self.offset, self.bytes
            )?,
            CorruptionKind::FileHeader => {
                return f.write_str(
                    "file header checksum mismatch; the stored producer id is lost and a new one is used",
                );
            }
            CorruptionKind::Head => {
                return f.write_str(
                    "head position unreadable; reading from the first intact frame (some may be sent again)",
                );
            }
        }
        match (self.after_seq, self.before_seq) {
            (Some(a), Some(b)) => write!(f, " between frames seq {a} and seq {b}"),
            (Some(a), None) => write!(f, " after frame seq {a}"),
            (None, Some(b)) => write!(f, " before frame seq {b}"),
            (None, None) => Ok(()),
        }
    }
}

/// What opening a spool found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Recovered {
    /// Whether the file was created now (no earlier spool at the path).
    pub created: bool,
    /// The producer id to send under: the stored one when the spool
    /// already existed, so a receiver that deduplicates by producer and
    /// sequence number recognises frames sent before the restart.
    pub producer_id: String,
    /// Unconsumed frames found.
    pub frames: usize,
    /// Their size on disk, entry headers included.
    pub bytes: u64,
    /// Records an earlier run dropped and could not report in-band (see
    /// `Spool::set_unreported_drops`): the caller reports them.
    pub dropped: u64,
    /// The first and last unconsumed sequence numbers.
    pub first_seq: Option<u64>,
    /// See `first_seq`.
    pub last_seq: Option<u64>,
    /// Damage found and cut out, in file order. Empty for a clean file.
    pub corruption: Vec<Corruption>,
}

impl Recovered {
    /// Whether nothing was wrong.
    pub fn is_clean(&self) -> bool {
        self.corruption.is_empty()
    }

    /// Bytes cut out because of damage.
    pub fn bytes_cut(&self) -> u64 {
        self.corruption.iter().map(|c| c.bytes).sum()
    }
}

impl fmt::Display for Recovered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.first_seq, self.last_seq) {
            (Some(a), Some(b)) => write!(
                f,
                "{} unsent frames (seq {a}..={b}, {} bytes)",
                self.frames, self.bytes
            )?,
            _ => f.write_str("no unsent frames")?,
        }
        if self.dropped > 0 {
            write!(f, "; {} dropped records not yet reported", self.dropped)?;
        }
        if !self.corruption.is_empty() {
            write!(
                f,
                "; {} damaged regions ({} bytes) cut out:",
                self.corruption.len(),
                self.bytes_cut()
            )?;
            for c in &self.corruption {
                write!(f, " [{c}]")?;
            }
        }
        Ok(())
    }
}

/// Why a spool operation failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SpoolError {
    /// The file system refused.
    #[error("spool {}: cannot {op}: {source}", path.display())]
    Io {
        /// The spool file (or its temporary copy).
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The configuration cannot work.
    #[error("spool {}: {reason}", path.display())]
    Config {
        /// The spool file.
        path: PathBuf,
        /// What to change.
        reason: String,
    },
    /// The path holds something else; it is never overwritten.
    #[error(
        "{} exists and is not a Tributary spool (no TRBSPOOL header); choose another spool path or move the file away",
        path.display()
    )]
    NotASpool {
        /// The path.
        path: PathBuf,
    },
    /// A spool written by a newer version.
    #[error(
        "spool {} has format version {version}, this build reads versions 1 and 2; use the newer build or another path",
        path.display()
    )]
    UnsupportedVersion {
        /// The path.
        path: PathBuf,
        /// The version found.
        version: u32,
    },
    /// Another process has the spool open.
    #[error(
        "spool {} is in use by another process; give each producer its own spool path",
        path.display()
    )]
    Locked {
        /// The path.
        path: PathBuf,
    },
    /// The frame does not fit: the caller drops and counts it.
    #[error("spool full: a {entry}-byte entry would take the file past its {max_bytes}-byte bound")]
    Full {
        /// The entry's size, header included.
        entry: u64,
        /// The bound.
        max_bytes: u64,
    },
    /// Sequence numbers must increase, or consumed frames could not be
    /// told apart from unconsumed ones after a crash.
    #[error(
        "spool: frame seq {got} is not above the last spooled seq {last:?} (sequence numbers must increase and u64::MAX is reserved)"
    )]
    Sequence {
        /// The highest sequence number spooled or consumed so far.
        last: Option<u64>,
        /// The one offered.
        got: u64,
    },
    /// Damage found while reading; it has already been cut out, so the
    /// caller reports it and calls again.
    #[error("spool {}: damaged data cut out: {}", path.display(), list(found))]
    Corrupt {
        /// The path.
        path: PathBuf,
        /// What was cut.
        found: Vec<Corruption>,
    },
}

fn list(found: &[Corruption]) -> String {
    let parts: Vec<String> = found.iter().map(ToString::to_string).collect();
    parts.join("; ")
}
