//! A read-ahead window over the spool file, so walking many small entries
//! costs one `pread` per 64 KiB rather than two per entry.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

const CHUNK: usize = 64 * 1024;

#[derive(Debug, Default)]
pub(super) struct Window {
    start: u64,
    buf: Vec<u8>,
}

impl Window {
    /// Forgets what was read: the file changed under earlier offsets.
    pub fn clear(&mut self) {
        self.buf.clear();
        if self.buf.capacity() > 4 * CHUNK {
            self.buf = Vec::new();
        }
    }

    /// The `n` bytes at `off`, reading ahead up to `limit` (the end of
    /// valid data). The caller has checked `off + n <= limit`, and `n` is
    /// only ever a verified entry's length, never an untrusted one.
    pub fn get(&mut self, file: &File, off: u64, n: usize, limit: u64) -> io::Result<&[u8]> {
        let end = off + n as u64;
        debug_assert!(end <= limit);
        let have = self.start + self.buf.len() as u64;
        if off < self.start || end > have {
            let want = (n.max(CHUNK) as u64).min(limit - off) as usize;
            self.buf.clear();
            self.buf.resize(want, 0);
            file.read_exact_at(&mut self.buf, off)?;
            self.start = off;
        }
        let at = (off - self.start) as usize;
        Ok(&self.buf[at..at + n])
    }

    /// The CRC-32 of `len` bytes at `off`, read in chunks: checking an
    /// entry whose length has not been verified yet allocates nothing
    /// beyond the window.
    pub fn crc(&mut self, file: &File, off: u64, len: u64, limit: u64) -> io::Result<u32> {
        let mut h = crc32fast::Hasher::new();
        let mut pos = off;
        while pos < off + len {
            let n = (off + len - pos).min(CHUNK as u64) as usize;
            h.update(self.get(file, pos, n, limit)?);
            pos += n as u64;
        }
        Ok(h.finalize())
    }
}
