//! Reading sources one after the other, from a start position, through a
//! [`Scan`]; where reading ended is returned for the cursor.

use std::io::Write;

use super::cursor::Cursor;
use super::error::ReadError;
use super::lines::LineReader;
use super::position::open_at;
use super::prefetch::{Decoded, Prefetch};
use super::scan::Scan;
use super::source::Source;

/// How a run of [`read_sources`] ended.
#[derive(Debug, Default)]
pub struct ReadEnd {
    /// With `hold_unfinished`: the position after the last complete line of
    /// the last file read (`None` for stdin, or when no file had a complete
    /// line).
    pub cursor: Option<Cursor>,
    /// Problems that did not stop reading (a truncated gzip member, a file
    /// that vanished), one sentence each, naming the file.
    pub warnings: Vec<String>,
}

/// Reads `sources` in order, starting at `start` (source index, decoded
/// offset) or at the beginning, with one reader ahead per core (see
/// [`read_sources_with`]).
///
/// # Errors
///
/// As [`read_sources_with`].
pub fn read_sources<W: Write>(
    scan: &mut Scan<W>,
    sources: &[Source],
    start: Option<(usize, u64)>,
    hold_unfinished: bool,
) -> Result<ReadEnd, ReadError> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    read_sources_with(scan, sources, start, hold_unfinished, cores)
}

/// Reads `sources` in order, starting at `start` (source index, decoded
/// offset) or at the beginning. With `decoders` above 1, that many threads
/// read the archives (every source but the last) ahead, gzip ones
/// decoded, cut into lines and passed through the filter's quick test
/// (`tributary cat --threads`); with 1, each is read on this thread when
/// its turn comes. With `hold_unfinished` (for a cursor), the
/// position after the last complete line is returned, and a last line
/// without `\n` in the last source is left unread (a writer is still
/// writing it; the next run with the cursor reads it whole); otherwise it
/// is judged like any line (and is usually broken: truncated).
///
/// # Errors
///
/// A file that cannot be opened, or a write to the output that failed.
/// Read errors inside a file (a truncated gzip member) are warnings.
pub fn read_sources_with<W: Write>(
    scan: &mut Scan<W>,
    sources: &[Source],
    start: Option<(usize, u64)>,
    hold_unfinished: bool,
    decoders: usize,
) -> Result<ReadEnd, ReadError> {
    let mut end = ReadEnd::default();
    let (first, first_offset) = start.unwrap_or((0, 0));
    // The readers ahead inflate, cut and pre-filter while the reading
    // thread prints; one would only move the work to another thread.
    let ahead = if decoders > 1 { decoders } else { 0 };
    // A first source read from an offset (a cursor's) is opened there.
    let from = if first_offset == 0 { first } else { first + 1 };
    let mut prefetch = Prefetch::new(ahead, from, scan.filter());
    let mut last_line = Vec::new();
    // One line buffer for every source read here: a fresh one per 1 MiB
    // archive had all its pages faulted in again.
    let mut buffer = Vec::new();
    for (i, source) in sources.iter().enumerate().skip(first) {
        let offset = if i == first { first_offset } else { 0 };
        let last = i + 1 == sources.len();
        if let Some((id, decoded)) = prefetch.take(sources, i) {
            // Never the last source: it may still grow, so it is read here.
            debug_assert!(!last, "the last source is not read ahead");
            let last_end = scan_decoded(scan, decoded, source, &mut last_line, &mut end)?;
            if let (true, Some(line_end)) = (hold_unfinished, last_end) {
                end.cursor = Some(Cursor::after(id, line_end, &last_line));
            }
            scan.finish_record().map_err(stdout_error)?;
            continue;
        }
        let (reader, id): (Box<dyn std::io::Read + Send>, _) = match source {
            Source::Stdin => (source.open()?, None),
            Source::File(path) => match open_at(path, offset) {
                Ok(o) => (o.reader, Some(o.id)),
                // An archive rotated away (retention, Python's renames)
                // between listing and opening: say so, go on.
                Err(ReadError::Io { source: e, .. })
                    if e.kind() == std::io::ErrorKind::NotFound && !last =>
                {
                    end.warnings.push(format!(
                        "{}: vanished before it could be read",
                        path.display()
                    ));
                    continue;
                }
                Err(e) => return Err(e),
            },
        };
        let mut lines = LineReader::with_buffer(reader, offset, std::mem::take(&mut buffer));
        let mut last_end = None;
        loop {
            match lines.next_line() {
                Ok(Some(line)) => {
                    if !line.terminated && last && hold_unfinished {
                        break;
                    }
                    // The cursor is hashed once at the end: hashing every
                    // line cost more than scanning it.
                    if hold_unfinished && line.terminated {
                        last_line.clear();
                        last_line.extend_from_slice(line.bytes);
                        last_end = Some(line.end);
                    }
                    scan.line(line.bytes, line.terminated)
                        .map_err(stdout_error)?;
                }
                Ok(None) => break,
                Err(e) => {
                    end.warnings.push(format!(
                        "{}: {e} after {} bytes (a truncated gzip member?); the rest of this file is skipped",
                        source.name(),
                        lines.offset() + lines.pending() as u64
                    ));
                    if let Some(rest) = lines.take_rest() {
                        scan.line(rest.bytes, false).map_err(stdout_error)?;
                    }
                    break;
                }
            }
        }
        buffer = lines.into_buffer();
        if let (Some(id), Some(line_end)) = (id, last_end) {
            end.cursor = Some(Cursor::after(id, line_end, &last_line));
        }
        // A text record ends with its file.
        scan.finish_record().map_err(stdout_error)?;
    }
    Ok(end)
}

/// Scans an archive decoded ahead: its lines come cut, and only those the
/// filter's quick test did not reject are judged. Returns the offset after
/// its last complete line, whose bytes are left in `last_line` (for a
/// cursor). An archive is never the last source, so an unterminated last
/// line is read as it stands.
fn scan_decoded<W: Write>(
    scan: &mut Scan<W>,
    mut decoded: Decoded,
    source: &Source,
    last_line: &mut Vec<u8>,
    end: &mut ReadEnd,
) -> Result<Option<u64>, ReadError> {
    let mut offset = 0u64;
    let mut last_end = None;
    while let Some(mut chunk) = decoded.next_chunk() {
        let error = chunk.take_error();
        let bytes = chunk.bytes();
        for kept in chunk.kept() {
            if kept.after_rejected {
                scan.finish_record().map_err(stdout_error)?;
            }
            scan.line(&bytes[kept.start..kept.end], kept.terminated)
                .map_err(stdout_error)?;
        }
        // The cursor is taken from the bytes once per chunk: its last
        // complete line, judged here or rejected by a decoder alike.
        if let Some((start, nl)) = last_complete_line(bytes) {
            last_line.clear();
            last_line.extend_from_slice(&bytes[start..nl]);
            last_end = Some(offset + nl as u64 + 1);
        }
        offset += bytes.len() as u64;
        if let Some(e) = error {
            end.warnings.push(format!(
                "{}: {e} after {offset} bytes (a truncated gzip member?); the rest of this file is skipped",
                source.name(),
            ));
            break;
        }
        decoded.recycle(chunk);
    }
    Ok(last_end)
}

/// The start and the `\n` of the last complete line in `bytes`.
fn last_complete_line(bytes: &[u8]) -> Option<(usize, usize)> {
    let nl = memchr::memrchr(b'\n', bytes)?;
    let start = memchr::memrchr(b'\n', &bytes[..nl]).map_or(0, |p| p + 1);
    Some((start, nl))
}

/// A failed write to the output.
pub(crate) fn stdout_error(e: std::io::Error) -> ReadError {
    ReadError::Io {
        path: "<stdout>".into(),
        source: e,
    }
}
