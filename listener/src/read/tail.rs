//! `tail -n N`: the last N records that pass the filters, read from the end
//! of the live file (a 1 GiB file costs a few reads), and from its
//! archives, newest first, when it holds fewer.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::error::ReadError;
use super::lines::LineReader;
use super::position::{is_gzip, open_file_at};
use super::scan::{Scan, Verdict};

const CHUNK: usize = 64 * 1024;

/// The last records of a live log.
pub struct Last {
    /// Lines and their verdicts, oldest first.
    pub lines: Vec<(Vec<u8>, Verdict)>,
    /// The live file, open: a follower continues from `end` in it.
    pub live: File,
    /// Offset just after the last complete line of the live file.
    pub end: u64,
}

/// The last `n` lines of `live` and its archives that `scan` would show.
///
/// # Errors
///
/// The live file cannot be opened or read (named in the error); an
/// archive that cannot be read is skipped.
pub fn last_records<W: Write>(scan: &Scan<W>, live: &Path, n: usize) -> Result<Last, ReadError> {
    let file = File::open(live).map_err(|e| ReadError::open(live, e))?;
    if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(ReadError::Directory(live.to_path_buf()));
    }
    let len = file.metadata().map_err(|e| ReadError::open(live, e))?.len();
    let end = complete_end(&file, len).map_err(|e| ReadError::open(live, e))?;
    let mut found: Vec<(Vec<u8>, Verdict)> = Vec::new();
    if n > 0 {
        backward(&file, end, |line| {
            let verdict = scan.judge(line, true);
            if !matches!(verdict, Verdict::Skip) {
                found.push((line.to_vec(), verdict));
            }
            found.len() < n
        })
        .map_err(|e| ReadError::open(live, e))?;
    }
    if found.len() < n {
        let archives =
            tributary_rotation::find_archives(live).map_err(|e| ReadError::open(live, e))?;
        for archive in archives.iter().rev() {
            let need = n - found.len();
            let Ok(f) = File::open(&archive.path) else {
                continue;
            };
            let mut older: Vec<(Vec<u8>, Verdict)> = Vec::new();
            let gz = is_gzip(&f).map_err(|e| ReadError::open(&archive.path, e))?;
            if gz {
                // A gzip stream reads forwards only: keep the last `need`.
                let mut ring = VecDeque::with_capacity(need);
                let opened = open_file_at(f, 0).map_err(|e| ReadError::open(&archive.path, e))?;
                let mut lines = LineReader::new(opened.reader, 0);
                while let Ok(Some(line)) = lines.next_line() {
                    let verdict = scan.judge(line.bytes, line.terminated);
                    if matches!(verdict, Verdict::Skip) {
                        continue;
                    }
                    if ring.len() == need {
                        ring.pop_front();
                    }
                    ring.push_back((line.bytes.to_vec(), verdict));
                }
                older.extend(ring.into_iter().rev());
            } else {
                let alen = f.metadata().map(|m| m.len()).unwrap_or(0);
                backward(&f, alen, |line| {
                    let verdict = scan.judge(line, true);
                    if !matches!(verdict, Verdict::Skip) {
                        older.push((line.to_vec(), verdict));
                    }
                    older.len() < need
                })
                .map_err(|e| ReadError::open(&archive.path, e))?;
            }
            found.extend(older);
            if found.len() >= n {
                break;
            }
        }
    }
    found.reverse();
    Ok(Last {
        lines: found,
        live: file,
        end,
    })
}

/// The offset after the last `\n` at or before `len`.
fn complete_end(file: &File, len: u64) -> io::Result<u64> {
    let mut pos = len;
    let mut buf = vec![0; CHUNK];
    while pos > 0 {
        let n = CHUNK.min(pos as usize);
        let at = pos - n as u64;
        file.read_exact_at(&mut buf[..n], at)?;
        if let Some(i) = memchr::memrchr(b'\n', &buf[..n]) {
            return Ok(at + i as u64 + 1);
        }
        pos = at;
    }
    Ok(0)
}

/// Calls `f` on each line before `end`, last first, until it returns false.
fn backward(file: &File, end: u64, mut f: impl FnMut(&[u8]) -> bool) -> io::Result<()> {
    let mut pos = end;
    // The start of the line being assembled, read by an earlier chunk.
    let mut carry: Vec<u8> = Vec::new();
    let mut buf = vec![0; CHUNK];
    let mut first = true;
    while pos > 0 {
        let n = CHUNK.min(pos as usize);
        pos -= n as u64;
        file.read_exact_at(&mut buf[..n], pos)?;
        let mut data = Vec::with_capacity(n + carry.len());
        data.extend_from_slice(&buf[..n]);
        data.extend_from_slice(&carry);
        let mut e = data.len();
        if first {
            // `end` is just after a `\n` (or the end of an archive).
            if data.last() == Some(&b'\n') {
                e -= 1;
            }
            first = false;
        }
        while let Some(i) = memchr::memrchr(b'\n', &data[..e]) {
            if !f(&data[i + 1..e]) {
                return Ok(());
            }
            e = i;
        }
        carry = data[..e].to_vec();
    }
    if !carry.is_empty() {
        f(&carry);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backward_yields_lines_last_first_across_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut text = String::new();
        for i in 0..20_000 {
            text.push_str(&format!("line {i}\n"));
        }
        std::fs::write(&path, &text).unwrap();
        let file = File::open(&path).unwrap();
        let mut got = Vec::new();
        backward(&file, text.len() as u64, |l| {
            got.push(String::from_utf8(l.to_vec()).unwrap());
            true
        })
        .unwrap();
        got.reverse();
        let want: Vec<String> = (0..20_000).map(|i| format!("line {i}")).collect();
        assert_eq!(got, want);
    }
}
