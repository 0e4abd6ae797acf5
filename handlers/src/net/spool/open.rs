//! Opening a spool: create it, or read back what an earlier run left.

use super::format::{
    self, Drops, ENTRY_HEADER_LEN, HEADER_LEN, Head, MAGIC, MAX_PRODUCER_ID, VERSION,
    VERSION_WITHOUT_EPOCH,
};
use super::report::{Corruption, CorruptionKind, Recovered, SpoolError};
use super::window::Window;
use super::{Spool, SpoolConfig, SpoolSync, fsio, scan};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;

/// Spooled records may be sensitive; only the owner reads them.
const MODE: u32 = 0o600;

/// Creates (or truncates) `path` for reading and writing, owner-only.
pub(super) fn create_private(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .mode(MODE)
        .open(path)
}

impl Spool {
    /// Opens the spool at `config.path()`, creating it (under
    /// `producer_id_if_new` and a new random epoch) when missing. An
    /// existing spool keeps its producer id, epoch and unconsumed frames; what was found, including any
    /// damage cut out, is in the returned [`Recovered`]: report it.
    pub fn open(
        config: &SpoolConfig,
        producer_id_if_new: &str,
    ) -> Result<(Spool, Recovered), SpoolError> {
        let path = config.path();
        let bad_config = |reason: String| SpoolError::Config {
            path: path.to_path_buf(),
            reason,
        };
        if producer_id_if_new.len() > MAX_PRODUCER_ID {
            return Err(bad_config(format!(
                "the producer id is {} bytes; at most {MAX_PRODUCER_ID} fit",
                producer_id_if_new.len()
            )));
        }
        let least = HEADER_LEN + ENTRY_HEADER_LEN + 1;
        if config.max_bytes() < least {
            return Err(bad_config(format!(
                "max_bytes {} leaves no room for a frame; use at least {least} (a few MiB is sensible)",
                config.max_bytes()
            )));
        }
        if path.file_name().is_none() {
            return Err(bad_config("the path names no file".into()));
        }
        let io_err = |op, source| SpoolError::Io {
            path: path.to_path_buf(),
            op,
            source,
        };
        let file = open_locked(path)?;
        // A compaction cut short by a crash leaves its copy; the spool
        // itself is whole (the rename comes last).
        match std::fs::remove_file(fsio::temp_path(path)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("remove the leftover compaction copy of", e)),
        }
        let len = file.metadata().map_err(|e| io_err("stat", e))?.len();
        let mut header = [0u8; HEADER_LEN as usize];
        let have = len.min(HEADER_LEN) as usize;
        file.read_exact_at(&mut header[..have], 0)
            .map_err(|e| io_err("read", e))?;
        let magic_len = have.min(MAGIC.len());
        if header[..magic_len] != MAGIC[..magic_len] {
            return Err(SpoolError::NotASpool {
                path: path.to_path_buf(),
            });
        }
        let mut spool = Spool {
            file,
            path: path.to_path_buf(),
            max_bytes: config.max_bytes(),
            sync: config.sync(),
            producer_id: producer_id_if_new.to_owned(),
            epoch: crate::net::epoch::new_epoch(),
            head: Head {
                offset: HEADER_LEN,
                floor: 0,
                generation: 0,
            },
            drops: Drops::default(),
            tail: HEADER_LEN,
            frames: 0,
            first_seq: None,
            max_seq: None,
            cursor: HEADER_LEN,
            cursor_seq: None,
            unsynced: false,
            window: Window::default(),
            scratch: Vec::new(),
        };
        if len < HEADER_LEN {
            // Empty, or creation cut short before the header was complete:
            // nothing was ever spooled.
            spool.write_header()?;
            spool
                .file
                .set_len(HEADER_LEN)
                .map_err(|e| io_err("size", e))?;
            if spool.sync == SpoolSync::Disk {
                spool.file.sync_all().map_err(|e| io_err("fsync", e))?;
                fsio::sync_dir(path).map_err(|e| io_err("fsync the directory of", e))?;
            }
            let recovered = spool.recovered(true, Vec::new());
            return Ok((spool, recovered));
        }
        let parsed = format::parse_header(&header);
        if parsed.version != VERSION && parsed.version != VERSION_WITHOUT_EPOCH {
            return Err(SpoolError::UnsupportedVersion {
                path: path.to_path_buf(),
                version: parsed.version,
            });
        }
        let mut damage = Vec::new();
        let header_damaged = parsed.producer_id.is_none();
        match parsed.producer_id.zip(parsed.epoch) {
            Some((id, epoch)) => {
                spool.producer_id = id;
                // A version 1 spool keeps numbering without an epoch, as
                // the listener knows its records.
                spool.epoch = epoch;
            }
            None => damage.push(whole_file(CorruptionKind::FileHeader)),
        }
        spool.tail = len;
        match parsed.head {
            Some(h) if (HEADER_LEN..=len).contains(&h.offset) => spool.head = h,
            Some(h) => {
                // Keep the floor: it still tells consumed entries apart.
                spool.head = Head {
                    offset: HEADER_LEN,
                    ..h
                };
                damage.push(whole_file(CorruptionKind::Head));
            }
            None => damage.push(whole_file(CorruptionKind::Head)),
        }
        spool.drops = parsed.drops.unwrap_or_default();
        if header_damaged {
            spool.write_header()?;
        }
        spool.max_seq = spool.head.floor.checked_sub(1);
        let scan = scan::scan(
            &spool.file,
            &mut spool.window,
            spool.head.offset,
            len,
            spool.head.floor,
        )
        .map_err(|e| io_err("read", e))?;
        damage.extend(scan.damage.iter().cloned());
        spool.apply(scan)?;
        spool.cursor = spool.head.offset;
        let recovered = spool.recovered(false, damage);
        Ok((spool, recovered))
    }

    /// Writes the whole header: the producer id and the current head.
    fn write_header(&mut self) -> Result<(), SpoolError> {
        let bytes = format::encode_header(&self.producer_id, &self.epoch, self.head, self.drops);
        self.file
            .write_all_at(&bytes, 0)
            .map_err(|e| self.io("write the header of", e))
    }

    fn recovered(&self, created: bool, corruption: Vec<Corruption>) -> Recovered {
        Recovered {
            created,
            producer_id: self.producer_id.clone(),
            frames: self.frames,
            bytes: self.bytes(),
            dropped: self.drops.count,
            first_seq: self.first_seq,
            last_seq: (self.frames > 0).then_some(self.max_seq).flatten(),
            corruption,
        }
    }
}

/// Damage to the header, which concerns the whole file rather than bytes.
fn whole_file(kind: CorruptionKind) -> Corruption {
    Corruption {
        offset: 0,
        bytes: 0,
        kind,
        after_seq: None,
        before_seq: None,
    }
}

/// Opens (creating when missing) and locks the spool; retries when another
/// process's compaction replaced the file between the open and the lock.
fn open_locked(path: &Path) -> Result<File, SpoolError> {
    let io_err = |op, source| SpoolError::Io {
        path: path.to_path_buf(),
        op,
        source,
    };
    for _ in 0..8 {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(MODE)
            .open(path)
            .map_err(|e| io_err("open", e))?;
        if !fsio::try_lock(&file).map_err(|e| io_err("lock", e))? {
            break;
        }
        if fsio::is_current(&file, path).map_err(|e| io_err("stat", e))? {
            return Ok(file);
        }
    }
    Err(SpoolError::Locked {
        path: path.to_path_buf(),
    })
}
