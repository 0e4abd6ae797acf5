//! `--cursor FILE`: where the last run stopped, so the next one starts
//! exactly after it, across rotations (journalctl's `--cursor-file`).

use std::fs;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::ReadError;
use super::position::{FileId, line_ends_at, line_hash, line_hash_nl};
use super::source::Source;

/// The position after the last line read: the file it was in (identity),
/// the offset in its decoded bytes, and that last line's length and hash
/// (which find it again after the file was renamed, gzipped or copied).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Device of the file read last.
    pub dev: u64,
    /// Inode of the file read last.
    pub ino: u64,
    /// Offset just after the last line read (decoded bytes).
    pub offset: u64,
    /// Length of that line, with its `\n`.
    pub line_len: u64,
    /// [`line_hash`] of that line, with its `\n`.
    pub line_hash: u64,
}

impl Cursor {
    /// The position after `line` (as split: without its `\n`), whose `\n`
    /// ends at `offset` of the file `id`.
    pub fn after(id: FileId, offset: u64, line: &[u8]) -> Cursor {
        Cursor {
            dev: id.dev,
            ino: id.ino,
            offset,
            line_len: line.len() as u64 + 1,
            line_hash: line_hash_nl(line),
        }
    }

    /// Reads a cursor file; `None` when it does not exist yet (first run).
    ///
    /// # Errors
    ///
    /// It exists but cannot be read or parsed.
    pub fn load(path: &Path) -> Result<Option<Cursor>, ReadError> {
        let text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ReadError::open(path, e)),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| ReadError::Cursor {
                path: path.to_path_buf(),
                reason: format!(
                    "not a cursor written by tributary ({e}); delete it to read from the start"
                ),
            })
    }

    /// Writes the cursor atomically (a temporary file renamed over it), so
    /// a run killed while saving leaves the previous cursor whole.
    ///
    /// # Errors
    ///
    /// The file cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), ReadError> {
        let mut tmp = PathBuf::from(path);
        tmp.as_mut_os_string().push(".tmp");
        let text = serde_json::to_string(self).map_err(|e| ReadError::Cursor {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let write = || -> std::io::Result<()> {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.write_all(b"\n")?;
            fs::rename(&tmp, path)
        };
        write().map_err(|e| ReadError::open(path, e))
    }

    /// Where to resume among `sources` (oldest first): the index of the
    /// source holding the cursor's line and the offset after it. The file
    /// with the cursor's identity is tried first, then every source from the
    /// newest by content. `None` when no source holds the line (its file was
    /// deleted): the caller reads everything and says so.
    pub fn locate(&self, sources: &[Source]) -> Option<(usize, u64)> {
        let files: Vec<(usize, &Path)> = sources
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                Source::File(p) => Some((i, p.as_path())),
                Source::Stdin => None,
            })
            .collect();
        // Same file, still in place: check its bytes with one pread.
        for &(i, path) in files.iter().rev() {
            let Ok(file) = fs::File::open(path) else {
                continue;
            };
            if FileId::of(&file).ok()
                != Some(FileId {
                    dev: self.dev,
                    ino: self.ino,
                })
            {
                continue;
            }
            let mut line = vec![0; self.line_len as usize];
            if self.line_len <= self.offset
                && file
                    .read_exact_at(&mut line, self.offset - self.line_len)
                    .is_ok()
                && line_hash(&line) == self.line_hash
            {
                return Some((i, self.offset));
            }
        }
        // Renamed and gzipped, or copied: find its bytes.
        files
            .iter()
            .rev()
            .find(|(_, path)| line_ends_at(path, self.offset, self.line_len, self.line_hash))
            .map(|&(i, _)| (i, self.offset))
    }
}
