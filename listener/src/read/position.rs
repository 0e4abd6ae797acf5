//! Where reading stands, in terms that survive rotation: a file's identity
//! (device, inode), an offset in its decoded bytes, and the hash of the
//! line that ends there. A file renamed keeps its identity; one gzipped or
//! copied keeps its bytes, so the line before the offset finds it again.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;

use super::error::ReadError;
use super::lines::MAX_LINE;
use super::source::open_handle;

/// A file's identity on its file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    /// Device.
    pub dev: u64,
    /// Inode.
    pub ino: u64,
}

impl FileId {
    /// The identity of an open file.
    ///
    /// # Errors
    ///
    /// `fstat` failed.
    pub fn of(file: &File) -> io::Result<FileId> {
        let m = file.metadata()?;
        Ok(FileId {
            dev: m.dev(),
            ino: m.ino(),
        })
    }

    /// The identity of the file at `path` now.
    ///
    /// # Errors
    ///
    /// `stat` failed (`NotFound` included).
    pub fn at(path: &Path) -> io::Result<(FileId, u64)> {
        let m = std::fs::metadata(path)?;
        Ok((
            FileId {
                dev: m.dev(),
                ino: m.ino(),
            },
            m.len(),
        ))
    }
}

/// FNV-1a over a line's bytes: enough to tell two log lines apart (they
/// carry a time and usually a sequence number), cheap, and stable across
/// versions (it is stored in cursor files).
pub fn line_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// [`line_hash`] of `bytes` followed by `\n` (a line as split, without
/// its terminator).
pub fn line_hash_nl(bytes: &[u8]) -> u64 {
    let mut h = line_hash(bytes);
    h ^= u64::from(b'\n');
    h.wrapping_mul(0x0000_0100_0000_01b3)
}

/// The hash of the first complete line of a decoded stream (with its
/// `\n`), `None` when there is none yet.
///
/// # Errors
///
/// Reading failed.
pub fn first_line_hash(reader: &mut dyn Read) -> io::Result<Option<u64>> {
    let mut line = Vec::new();
    let mut byte = [0u8; 4096];
    loop {
        let n = reader.read(&mut byte)?;
        if n == 0 {
            return Ok(None);
        }
        if let Some(i) = memchr::memchr(b'\n', &byte[..n]) {
            line.extend_from_slice(&byte[..=i]);
            return Ok(Some(line_hash(&line)));
        }
        line.extend_from_slice(&byte[..n]);
        if line.len() > MAX_LINE {
            return Ok(None);
        }
    }
}

/// The first line's hash of an open plain file, read with `pread` (the
/// file's own position is left alone).
///
/// # Errors
///
/// Reading failed.
pub fn first_line_hash_at(file: &File) -> io::Result<Option<u64>> {
    struct At<'a>(&'a File, u64);
    impl Read for At<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.read_at(buf, self.1)?;
            self.1 += n as u64;
            Ok(n)
        }
    }
    first_line_hash(&mut At(file, 0))
}

/// True when `file` starts with gzip's magic.
///
/// # Errors
///
/// Reading failed.
pub fn is_gzip(file: &File) -> io::Result<bool> {
    let mut magic = [0u8; 2];
    let n = file.read_at(&mut magic, 0)?;
    Ok(n == 2 && magic == [0x1f, 0x8b])
}

/// An open file, decoded, from `offset` of its decoded bytes: a plain
/// file seeks, a gzip one is decoded up to there.
pub struct Opened {
    /// The decoded bytes from the offset asked.
    pub reader: Box<dyn Read + Send>,
    /// The file's identity.
    pub id: FileId,
}

/// Opens `path` at `offset` of its decoded bytes.
///
/// # Errors
///
/// The file cannot be opened or read (the error names the path), or it is
/// shorter than `offset`.
pub fn open_at(path: &Path, offset: u64) -> Result<Opened, ReadError> {
    let file = File::open(path).map_err(|e| ReadError::open(path, e))?;
    open_file_at(file, offset).map_err(|e| ReadError::open(path, e))
}

/// [`open_at`] on a file already open.
///
/// # Errors
///
/// Reading failed, or the file is shorter than `offset`.
pub fn open_file_at(mut file: File, offset: u64) -> io::Result<Opened> {
    let id = FileId::of(&file)?;
    let compressed = is_gzip(&file)?;
    if compressed {
        file.seek(SeekFrom::Start(0))?;
        let mut reader = open_handle(file)?;
        skip(&mut reader, offset)?;
        Ok(Opened { reader, id })
    } else {
        file.seek(SeekFrom::Start(offset))?;
        Ok(Opened {
            reader: Box::new(file),
            id,
        })
    }
}

/// Reads and drops `n` bytes.
///
/// # Errors
///
/// Reading failed, or the stream ended before.
pub fn skip(reader: &mut dyn Read, n: u64) -> io::Result<()> {
    let skipped = io::copy(&mut reader.take(n), &mut io::sink())?;
    if skipped < n {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("ends after {skipped} bytes, before offset {n}"),
        ));
    }
    Ok(())
}

/// True when the decoded bytes of `path` hold, just before `offset`, the
/// line of length `len` whose hash is `hash`.
pub fn line_ends_at(path: &Path, offset: u64, len: u64, hash: u64) -> bool {
    if len == 0 || len > offset || len > MAX_LINE as u64 {
        return false;
    }
    let Ok(mut opened) = open_at(path, offset - len) else {
        return false;
    };
    let mut line = Vec::with_capacity(len as usize);
    match (&mut opened.reader).take(len).read_to_end(&mut line) {
        Ok(n) if n as u64 == len => line_hash(&line) == hash,
        _ => false,
    }
}
