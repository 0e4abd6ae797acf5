//! Finding a live file's archives on disk without knowing how it was
//! configured, for readers (`tributary cat`): every naming this crate
//! writes is recognised through the same [`Scheme::parse`] rotation and
//! retention use, so a reader never takes someone else's file for one.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use jiff::tz::TimeZone;

use crate::naming::{ArchiveId, Form, Mode, Scheme};
use crate::policy::time::When;

/// One archive of a live file, as found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveFile {
    /// Where it is.
    pub path: PathBuf,
    /// True for a finished gzip archive (`.gz`); `.gz.tmp` files, still
    /// being written, are never returned.
    pub compressed: bool,
    /// The number of a numbered archive (`app.log.3` → 3), `None` for a
    /// timestamped one. Numbers of one log run without gaps, except for a
    /// moment while Python's naming shifts them up: a reader that finds a
    /// gap lists again.
    pub number: Option<u64>,
    /// The inode the directory entry named when the directory was read
    /// (Unix; `None` elsewhere). Names move on under Python's renames and
    /// gzip: a reader that opens `path` later compares this with the file
    /// it got, to know it opened the file the listing meant.
    pub inode: Option<u64>,
}

/// The archives of `live` (`logs/app.log`) in its directory, oldest first,
/// in any naming [`crate::Naming`] writes: Python's `.1`…`.N` (`.1` the
/// newest), [`crate::Naming::Index`] (the highest number the newest) and
/// timestamps in the format of every `when`, each plain or `.gz`.
///
/// Python's and index names look alike (`app.log.3`); which way they run is
/// read from the first lines of the lowest and highest numbered archives (a
/// log line starts with its time, so two lines of one log that share their
/// first bytes compare as their times do), else from the files'
/// modification times (renames keep them: under Python's naming `.1` is
/// the most recently modified); when those tie, Python's naming is assumed.
/// With a single numbered archive there is nothing to order. When an archive exists both
/// plain and `.gz` (compression finished, the plain copy not yet removed),
/// the `.gz` is returned, since the plain one is about to go.
///
/// Archives made through a custom [`crate::Namer`] are not recognised (a
/// reader does not know the namer).
///
/// # Errors
///
/// The directory cannot be read.
pub fn find_archives(live: &Path) -> io::Result<Vec<ArchiveFile>> {
    let Some(base_name) = live.file_name().and_then(|n| n.to_str()) else {
        return Ok(Vec::new());
    };
    let scheme = |mode, format| {
        Scheme::new(
            live.to_path_buf(),
            base_name.to_string(),
            mode,
            format,
            TimeZone::UTC,
            None,
        )
    };
    let numbered = scheme(Mode::Counter, "");
    // Longest first: a day stamp is a prefix of the others and its parser
    // refuses what follows it, but trying the longest first is clearer.
    let stamped: Vec<Scheme> = [When::Seconds, When::Minutes, When::Hours, When::Midnight]
        .iter()
        .map(|w| scheme(Mode::Stamp, w.suffix_format()))
        .collect();
    let mut found: Vec<(ArchiveId, Form, PathBuf, Option<u64>)> = Vec::new();
    for entry in fs::read_dir(&numbered.dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        let parsed = numbered
            .parse(name)
            .or_else(|| stamped.iter().find_map(|s| s.parse(name)));
        match parsed {
            Some((_, Form::GzTmp)) | None => {}
            Some((id, form)) => found.push((id, form, entry.path(), inode_of(&entry))),
        }
    }
    // One entry per archive, the `.gz` when both forms exist.
    found.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then((a.1 == Form::Plain).cmp(&(b.1 == Form::Plain)))
    });
    found.dedup_by(|later, kept| later.0 == kept.0);

    let python_shift = numbers_run_backwards(&found);
    let order = |id: &ArchiveId| match id {
        // Stamps before numbers: a file is not normally rotated both ways.
        ArchiveId::Stamp { stamp, seq } => (0, stamp.clone(), *seq as i128),
        ArchiveId::Index(n) if python_shift => (1, String::new(), -i128::from(*n)),
        ArchiveId::Index(n) => (1, String::new(), i128::from(*n)),
    };
    found.sort_by_key(|(id, _, _, _)| order(id));
    Ok(found
        .into_iter()
        .map(|(id, form, path, inode)| ArchiveFile {
            path,
            compressed: form == Form::Gz,
            number: match id {
                ArchiveId::Index(n) => Some(n),
                ArchiveId::Stamp { .. } => None,
            },
            inode,
        })
        .collect())
}

/// The inode a directory entry names, as `readdir` returned it (no `stat`:
/// the name may name another file by now).
fn inode_of(entry: &fs::DirEntry) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirEntryExt;
        Some(entry.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = entry;
        None
    }
}

/// True when the lowest-numbered archive is newer than the highest-numbered
/// one (Python's `.1` newest).
fn numbers_run_backwards(found: &[(ArchiveId, Form, PathBuf, Option<u64>)]) -> bool {
    let numbered: Vec<_> = found
        .iter()
        .filter_map(|(id, _, path, _)| match id {
            ArchiveId::Index(n) => Some((*n, path)),
            ArchiveId::Stamp { .. } => None,
        })
        .collect();
    let (Some(low), Some(high)) = (
        numbered.iter().min_by_key(|(n, _)| *n),
        numbered.iter().max_by_key(|(n, _)| *n),
    ) else {
        return true;
    };
    if low.0 == high.0 {
        return true;
    }
    // Log lines start with their time (`{"ts":"2026-…`, `2026-12-06 10:…`):
    // when both first lines share their first bytes, the times compare as
    // text. File times come second: gzip archives carry the time they were
    // compressed, which a slow compression can put after a newer archive's.
    if let (Some(l), Some(h)) = (first_line(low.1), first_line(high.1))
        && l.len() >= 8
        && h.len() >= 8
        && l[..8] == h[..8]
        && l != h
    {
        return l > h;
    }
    let modified = |p: &Path| {
        fs::metadata(p)
            .and_then(|m| m.modified())
            .unwrap_or(SystemTime::UNIX_EPOCH)
    };
    // Ties (coarse clocks) fall back to Python's naming, the default.
    modified(low.1) >= modified(high.1)
}

/// The first line (up to 256 bytes) of a plain or gzip file.
fn first_line(path: &Path) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut file = fs::File::open(path).ok()?;
    let mut head = vec![0u8; 256];
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(_) => return None,
        }
    }
    head.truncate(n);
    #[cfg(feature = "gzip")]
    if head.starts_with(&[0x1f, 0x8b]) {
        let file = fs::File::open(path).ok()?;
        let mut decoded = Vec::with_capacity(256);
        flate2::read::MultiGzDecoder::new(file)
            .take(256)
            .read_to_end(&mut decoded)
            .ok()?;
        head = decoded;
    }
    let end = head.iter().position(|&c| c == b'\n').unwrap_or(head.len());
    head.truncate(end);
    Some(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::time::Duration;

    fn touch(dir: &Path, name: &str, age_s: u64) {
        let f = File::create(dir.join(name)).unwrap();
        let t = SystemTime::now() - Duration::from_secs(age_s);
        f.set_modified(t).unwrap();
    }

    fn names(found: Vec<ArchiveFile>) -> Vec<String> {
        found
            .into_iter()
            .map(|a| a.path.file_name().unwrap().to_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn python_numbers_run_backwards_index_numbers_forwards() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        touch(d, "app.log", 0);
        touch(d, "app.log.1", 10);
        touch(d, "app.log.2.gz", 20);
        touch(d, "app.log.3.gz", 30);
        touch(d, "app.log.3.gz.tmp", 0);
        touch(d, "app.log.01", 0);
        touch(d, "other.log.4", 0);
        let found = find_archives(&d.join("app.log")).unwrap();
        assert_eq!(names(found), ["app.log.3.gz", "app.log.2.gz", "app.log.1"]);
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        touch(d, "app.log.1.gz", 30);
        touch(d, "app.log.2", 20);
        touch(d, "app.log.2.gz", 20);
        touch(d, "app.log.10", 10);
        let found = find_archives(&d.join("app.log")).unwrap();
        assert_eq!(names(found), ["app.log.1.gz", "app.log.2.gz", "app.log.10"]);
    }

    #[test]
    fn first_lines_outrank_file_times() {
        // Python's naming, `.2` compressed after `.1` was last written: its
        // file time is newer, its records are older.
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("app.log.1"), "{\"ts\":\"2026-12-06T10:02:00Z\"}\n").unwrap();
        std::fs::write(d.join("app.log.2"), "{\"ts\":\"2026-12-06T10:01:00Z\"}\n").unwrap();
        let t = SystemTime::now();
        File::options()
            .write(true)
            .open(d.join("app.log.1"))
            .unwrap()
            .set_modified(t - Duration::from_secs(5))
            .unwrap();
        File::options()
            .write(true)
            .open(d.join("app.log.2"))
            .unwrap()
            .set_modified(t)
            .unwrap();
        let found = find_archives(&d.join("app.log")).unwrap();
        assert_eq!(names(found), ["app.log.2", "app.log.1"]);
    }

    #[test]
    fn stamps_in_every_format_sort_by_time() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        touch(d, "app.log.2026-11-22_10-15-30.gz", 0);
        touch(d, "app.log.2026-11-22_10-15-30.1", 0);
        touch(d, "app.log.2026-11-21", 0);
        touch(d, "app.log.2026-11-22_09", 0);
        let found = find_archives(&d.join("app.log")).unwrap();
        assert_eq!(
            names(found),
            [
                "app.log.2026-11-21",
                "app.log.2026-11-22_09",
                "app.log.2026-11-22_10-15-30.gz",
                "app.log.2026-11-22_10-15-30.1",
            ]
        );
    }
}
