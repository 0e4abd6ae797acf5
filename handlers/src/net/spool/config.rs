//! What a user chooses about a spool: where it lives, how big it may grow,
//! and how hard it tries to survive a power cut.

use std::path::{Path, PathBuf};

/// How durable a pushed frame is before the next frame is accepted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SpoolSync {
    /// Every frame is written to the operating system as it is spooled: it
    /// survives the producer being killed (even with `SIGKILL`), not a power
    /// cut or a kernel crash. No fsync, so spooling costs one `pwrite` per
    /// record.
    #[default]
    Os,
    /// As [`Os`](SpoolSync::Os), and each batch of spooled frames is also
    /// `fdatasync`ed (once per batch, not per frame), so it survives a power
    /// cut. Compactions and resets are fsynced too. Costs a disk flush per
    /// batch, which on spinning disks or network file systems is
    /// milliseconds.
    Disk,
}

/// Where and how a `SocketHandler` spools frames to disk when its in-memory
/// buffer is full during a long outage.
///
/// The spool is one file, owned by one producer at a time (a second process
/// opening the same path is refused): give each producer its own path. A
/// restarted producer that opens the same path resumes under the producer
/// id stored in the file and sends what was left, in order.
///
/// ```
/// use tributary_handlers::net::{SpoolConfig, SpoolSync};
/// let spool = SpoolConfig::new("/var/spool/myapp/tributary.spool")
///     .with_max_bytes(512 << 20)
///     .with_sync(SpoolSync::Disk);
/// assert_eq!(spool.max_bytes(), 512 << 20);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpoolConfig {
    path: PathBuf,
    max_bytes: u64,
    sync: SpoolSync,
}

impl SpoolConfig {
    /// The default bound: big enough for about a million typical records,
    /// small enough not to fill a disk by surprise.
    pub const DEFAULT_MAX_BYTES: u64 = 256 << 20;

    /// A spool at `path` (created when missing; its directory must exist),
    /// bounded by [`DEFAULT_MAX_BYTES`](Self::DEFAULT_MAX_BYTES), with
    /// [`SpoolSync::Os`].
    pub fn new(path: impl Into<PathBuf>) -> SpoolConfig {
        SpoolConfig {
            path: path.into(),
            max_bytes: Self::DEFAULT_MAX_BYTES,
            sync: SpoolSync::default(),
        }
    }

    /// The most bytes the spool file may occupy, its 512-byte header and
    /// each frame's 20-byte entry header included. A frame that would go
    /// beyond it is dropped and counted, like an overflow of the in-memory
    /// buffer.
    #[must_use]
    pub fn with_max_bytes(mut self, max_bytes: u64) -> SpoolConfig {
        self.max_bytes = max_bytes;
        self
    }

    /// How durable spooled frames are (default [`SpoolSync::Os`]).
    #[must_use]
    pub fn with_sync(mut self, sync: SpoolSync) -> SpoolConfig {
        self.sync = sync;
        self
    }

    /// The spool file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The bound on the file's size.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The durability setting.
    pub fn sync(&self) -> SpoolSync {
        self.sync
    }
}
