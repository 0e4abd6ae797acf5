//! The forwarding cursor: how far JetStream has acknowledged the local
//! file, and the batches published beyond that point, each with the exact
//! bytes it covers. One JSON line per event, appended before a publish and
//! after an acknowledgement, so a restarted listener (even after `kill -9`)
//! publishes the same batches again under the same message ids, and
//! JetStream drops those it already has.
//!
//! ```text
//! {"epoch":1765012345}                                  first line
//! {"plan":7,"dev":2049,"ino":131,"start":0,"end":65501,"records":312}
//! {"acked":7,"dev":2049,"ino":131,"offset":65501}
//! ```
//!
//! A torn last line (a crash while appending) is ignored: a plan it
//! described was never published, an acknowledgement it described is
//! received again. The file is rewritten (temp file, rename) when it grows
//! past [`COMPACT_AT`].

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Size that triggers a rewrite of the cursor file.
const COMPACT_AT: u64 = 1 << 20;

/// A file by identity: it keeps it through renames (rotation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileId {
    pub(crate) dev: u64,
    pub(crate) ino: u64,
}

impl std::fmt::Display for FileId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "device {} inode {}", self.dev, self.ino)
    }
}

/// A place in the local output: a file and an offset in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) file: FileId,
    pub(crate) offset: u64,
}

/// One batch: whole lines `start..end` of one file, published as one
/// message with id `<host>/<epoch>/<number>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Planned {
    #[serde(rename = "plan")]
    pub(crate) number: u64,
    #[serde(flatten)]
    pub(crate) file: FileId,
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) records: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Line {
    Epoch {
        epoch: u64,
    },
    Plan(Planned),
    Acked {
        acked: u64,
        #[serde(flatten)]
        file: FileId,
        offset: u64,
    },
}

/// The cursor file and what it says.
pub(crate) struct Cursor {
    path: PathBuf,
    file: File,
    size: u64,
    durable: bool,
    /// Chosen when the cursor file is created; part of every message id,
    /// so a deleted cursor cannot reuse ids JetStream still remembers.
    pub(crate) epoch: u64,
    /// Everything up to here is acknowledged; `None` until the first
    /// batch (start at the output's beginning).
    pub(crate) acked: Option<Position>,
    /// Number of the last acknowledged batch (0: none).
    pub(crate) acked_number: u64,
    /// Published (or about to be) and not acknowledged, in order.
    pub(crate) planned: VecDeque<Planned>,
    /// Notes for the operator from reading the file.
    pub(crate) notes: Vec<String>,
}

impl Cursor {
    /// Opens (or creates) the cursor file at `path`. `durable`: fsync
    /// each line, so the cursor survives a power cut as the output does.
    pub(crate) fn open(path: &Path, durable: bool) -> io::Result<Cursor> {
        let text = match fs::read(path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let mut epoch = None;
        let mut acked = None;
        let mut acked_number = 0;
        let mut planned: VecDeque<Planned> = VecDeque::new();
        let mut notes = Vec::new();
        let mut good_len = 0usize;
        for raw in text.split_inclusive(|&b| b == b'\n') {
            let Some(line) = raw
                .strip_suffix(b"\n")
                .and_then(|l| serde_json::from_slice::<Line>(l).ok())
            else {
                notes.push(format!(
                    "{}: ignored an unreadable line at byte {good_len} and what follows (the listener stopped while writing it)",
                    path.display()
                ));
                break;
            };
            good_len += raw.len();
            match line {
                Line::Epoch { epoch: e } => epoch = Some(e),
                Line::Plan(p) => {
                    if p.number > acked_number {
                        planned.retain(|q| q.number < p.number);
                        planned.push_back(p);
                    }
                }
                Line::Acked {
                    acked: n,
                    file,
                    offset,
                } => {
                    acked_number = acked_number.max(n);
                    acked = Some(Position { file, offset });
                    planned.retain(|p| p.number > n);
                }
            }
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        if good_len < text.len() {
            // Drop the torn tail so the next line starts clean.
            file.set_len(good_len as u64)?;
        }
        let mut cursor = Cursor {
            path: path.to_owned(),
            size: good_len as u64,
            file,
            durable,
            epoch: epoch.unwrap_or(0),
            acked,
            acked_number,
            planned,
            notes,
        };
        if epoch.is_none() {
            cursor.epoch = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_secs());
            // A file without its epoch line starts over: nothing in it can
            // be trusted to match ids published before.
            cursor.acked = None;
            cursor.acked_number = 0;
            cursor.planned.clear();
            cursor.rewrite()?;
        }
        Ok(cursor)
    }

    /// The cursor file, for messages.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Number the next new batch gets.
    pub(crate) fn next_number(&self) -> u64 {
        self.planned.back().map_or(self.acked_number, |p| p.number) + 1
    }

    /// Where the next new batch starts: after the last planned one, or at
    /// the acknowledged position.
    pub(crate) fn frontier(&self) -> Option<Position> {
        self.planned
            .back()
            .map(|p| Position {
                file: p.file,
                offset: p.end,
            })
            .or(self.acked)
    }

    /// Records `batch` before it is published.
    pub(crate) fn plan(&mut self, batch: Planned) -> io::Result<()> {
        self.append(&Line::Plan(batch))?;
        self.planned.push_back(batch);
        Ok(())
    }

    /// JetStream acknowledged the oldest planned batch.
    pub(crate) fn acknowledge_front(&mut self) -> io::Result<()> {
        let Some(p) = self.planned.pop_front() else {
            return Ok(());
        };
        let position = Position {
            file: p.file,
            offset: p.end,
        };
        self.acked = Some(position);
        self.acked_number = p.number;
        self.append(&Line::Acked {
            acked: p.number,
            file: p.file,
            offset: p.end,
        })?;
        if self.size > COMPACT_AT {
            self.rewrite()?;
        }
        Ok(())
    }

    /// Forgets planned batches that cannot be read any more (their file
    /// is gone) and moves the acknowledged position past them.
    pub(crate) fn skip_to(&mut self, position: Position) -> io::Result<()> {
        self.planned.clear();
        self.acked = Some(position);
        self.rewrite()
    }

    fn append(&mut self, line: &Line) -> io::Result<()> {
        let mut text = serde_json::to_vec(line).map_err(io::Error::other)?;
        text.push(b'\n');
        self.file.write_all(&text)?;
        if self.durable {
            self.file.sync_data()?;
        }
        self.size += text.len() as u64;
        Ok(())
    }

    /// Writes the state as a fresh file and renames it over the old one.
    fn rewrite(&mut self) -> io::Result<()> {
        let mut lines = vec![Line::Epoch { epoch: self.epoch }];
        if let Some(a) = self.acked {
            lines.push(Line::Acked {
                acked: self.acked_number,
                file: a.file,
                offset: a.offset,
            });
        }
        lines.extend(self.planned.iter().copied().map(Line::Plan));
        let mut text = Vec::new();
        for line in &lines {
            serde_json::to_writer(&mut text, line).map_err(io::Error::other)?;
            text.push(b'\n');
        }
        let tmp = self.path.with_extension("tmp");
        {
            let mut f = File::create(&tmp)?;
            f.write_all(&text)?;
            f.sync_all()?;
        }
        fs::rename(&tmp, &self.path)?;
        self.file = OpenOptions::new().append(true).open(&self.path)?;
        self.size = text.len() as u64;
        Ok(())
    }
}

/// The cursor file of the output at `first_output`: a hidden file beside
/// it, as the acknowledgement journal is (`logs/.tributary.log.forward`).
pub(crate) fn default_path(first_output: &Path) -> PathBuf {
    let name = first_output
        .file_name()
        .map_or_else(|| "tributary".into(), |n| n.to_string_lossy().into_owned());
    first_output.with_file_name(format!(".{name}.forward"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(number: u64, start: u64, end: u64) -> Planned {
        Planned {
            number,
            file: FileId { dev: 1, ino: 2 },
            start,
            end,
            records: 1,
        }
    }

    #[test]
    fn planned_batches_survive_a_restart_with_their_numbers_and_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".x.forward");
        let epoch = {
            let mut c = Cursor::open(&path, false).unwrap();
            assert_eq!(c.next_number(), 1);
            c.plan(batch(1, 0, 10)).unwrap();
            c.plan(batch(2, 10, 25)).unwrap();
            c.plan(batch(3, 25, 30)).unwrap();
            c.acknowledge_front().unwrap();
            c.epoch
        };
        // A torn line, as after kill -9 in the middle of an append.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"plan\":4,\"dev\"").unwrap();
        drop(f);
        let c = Cursor::open(&path, false).unwrap();
        assert_eq!(c.epoch, epoch);
        assert_eq!(c.acked_number, 1);
        assert_eq!(
            c.acked,
            Some(Position {
                file: FileId { dev: 1, ino: 2 },
                offset: 10
            })
        );
        assert_eq!(
            c.planned.iter().copied().collect::<Vec<_>>(),
            [batch(2, 10, 25), batch(3, 25, 30)]
        );
        assert_eq!(c.next_number(), 4);
        assert_eq!(c.notes.len(), 1, "{:?}", c.notes);
    }

    #[test]
    fn compaction_keeps_the_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".x.forward");
        let mut c = Cursor::open(&path, false).unwrap();
        let mut n = 0;
        while fs::metadata(&path).unwrap().len() < COMPACT_AT / 2 || n < 20_000 {
            n += 1;
            c.plan(batch(n, n * 10, n * 10 + 10)).unwrap();
            c.acknowledge_front().unwrap();
        }
        c.plan(batch(n + 1, n * 10 + 10, n * 10 + 20)).unwrap();
        assert!(fs::metadata(&path).unwrap().len() < COMPACT_AT);
        let again = Cursor::open(&path, false).unwrap();
        assert_eq!(again.acked_number, n);
        assert_eq!(again.planned.len(), 1);
        assert_eq!(again.next_number(), n + 2);
    }
}
