//! What a PATH argument means: a live log brings its archives (oldest first)
//! and then itself; an archive, a glob's matches or `-` are read as given.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::bufread::MultiGzDecoder;

use super::error::ReadError;

/// One input to read, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Standard input (`-`, or no PATH with a pipe).
    Stdin,
    /// A file, plain or gzip (sniffed from its first bytes, so a `.gz`
    /// renamed by hand still reads).
    File(PathBuf),
}

impl Source {
    /// How the source is named in messages.
    pub fn name(&self) -> String {
        match self {
            Source::Stdin => "<stdin>".to_string(),
            Source::File(p) => p.display().to_string(),
        }
    }

    /// Opens the source for reading from its start, gzip decoded (every
    /// member of a multi-member file).
    ///
    /// # Errors
    ///
    /// The file cannot be opened; the error names its path.
    pub fn open(&self) -> Result<Box<dyn Read + Send>, ReadError> {
        match self {
            Source::Stdin => Ok(decoded(BufReader::with_capacity(
                BUF,
                Box::new(io::stdin()) as Box<dyn Read + Send>,
            ))
            .map_err(|e| ReadError::Io {
                path: "<stdin>".into(),
                source: e,
            })?),
            Source::File(path) => open_file(path),
        }
    }
}

const BUF: usize = 256 * 1024;

/// Opens `path` from its start, gzip decoded when it starts with gzip's magic.
///
/// # Errors
///
/// The file cannot be opened or read; the error names its path.
pub fn open_file(path: &Path) -> Result<Box<dyn Read + Send>, ReadError> {
    let file = File::open(path).map_err(|e| ReadError::open(path, e))?;
    open_handle(file).map_err(|e| ReadError::open(path, e))
}

/// Reads an already open file from its current position, gzip decoded when
/// it starts there with gzip's magic.
///
/// # Errors
///
/// The first read fails.
pub fn open_handle(file: File) -> io::Result<Box<dyn Read + Send>> {
    decoded(BufReader::with_capacity(
        BUF,
        Box::new(file) as Box<dyn Read + Send>,
    ))
}

fn decoded(mut reader: BufReader<Box<dyn Read + Send>>) -> io::Result<Box<dyn Read + Send>> {
    let head = reader.fill_buf()?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(MultiGzDecoder::new(reader)))
    } else {
        Ok(Box::new(reader))
    }
}

/// Resolves PATH arguments into the sources to read, in order.
///
/// - no PATH: standard input when it is not a terminal;
/// - `-`: standard input;
/// - an existing file: its archives (found by
///   [`tributary_rotation::find_archives`], oldest first) and then the file,
///   unless one of those archives is itself among the PATHs (then the user
///   chose archives by hand and each file is read as given);
/// - a name with `*`, `?` or `[` that does not exist: a glob over its
///   directory, matches in name order;
/// - a directory: an error saying which file to pass.
///
/// # Errors
///
/// A PATH that does not exist (and matches nothing), a directory, no PATH
/// with a terminal on stdin.
pub fn resolve(paths: &[PathBuf], stdin_is_terminal: bool) -> Result<Vec<Source>, ReadError> {
    if paths.is_empty() {
        if stdin_is_terminal {
            return Err(ReadError::NothingToRead);
        }
        return Ok(vec![Source::Stdin]);
    }
    let mut expanded: Vec<(PathBuf, bool)> = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            expanded.push((path.clone(), false));
            continue;
        }
        match path.symlink_metadata() {
            Ok(_) => expanded.push((path.clone(), false)),
            Err(e) if e.kind() == io::ErrorKind::NotFound && is_glob(path) => {
                let matches = glob(path).map_err(|e| ReadError::open(path, e))?;
                if matches.is_empty() {
                    return Err(ReadError::NoMatch(path.clone()));
                }
                expanded.extend(matches.into_iter().map(|m| (m, true)));
            }
            Err(e) => return Err(ReadError::open(path, e)),
        }
    }
    let given: HashSet<PathBuf> = expanded.iter().map(|(p, _)| normal(p)).collect();
    let mut sources = Vec::new();
    for (path, from_glob) in expanded {
        if path.as_os_str() == "-" {
            sources.push(Source::Stdin);
            continue;
        }
        if path.is_dir() {
            return Err(ReadError::Directory(path));
        }
        if !from_glob {
            let archives =
                tributary_rotation::find_archives(&path).map_err(|e| ReadError::open(&path, e))?;
            if !archives.iter().any(|a| given.contains(&normal(&a.path))) {
                sources.extend(archives.into_iter().map(|a| Source::File(a.path)));
            }
        }
        sources.push(Source::File(path));
    }
    Ok(sources)
}

/// Paths compared as the user would: `./a` and `a` are the same file.
fn normal(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

fn is_glob(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.contains(['*', '?', '[']))
}

/// Matches a glob in its last component only (`logs/app.log.*.gz`).
fn glob(pattern: &Path) -> io::Result<Vec<PathBuf>> {
    let dir = match pattern.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = pattern
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let entry = entry?;
        if let Some(n) = entry.file_name().to_str()
            && wildcard(name.as_bytes(), n.as_bytes())
        {
            out.push(dir.join(n));
        }
    }
    out.sort();
    Ok(out)
}

/// `*`, `?` and `[abc]` / `[a-z]` / `[!x]`, as the shell does for one name.
fn wildcard(pat: &[u8], name: &[u8]) -> bool {
    match pat.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|i| wildcard(rest, &name[i..])),
        Some((b'?', rest)) => !name.is_empty() && wildcard(rest, &name[1..]),
        Some((b'[', rest)) => {
            let Some(close) = rest.iter().skip(1).position(|&c| c == b']').map(|i| i + 1) else {
                return name.first() == Some(&b'[') && wildcard(rest, &name[1..]);
            };
            let Some((&c, tail)) = name.split_first() else {
                return false;
            };
            let (negate, set) = match rest[..close].split_first() {
                Some((b'!', s)) => (true, s),
                _ => (false, &rest[..close]),
            };
            let mut hit = false;
            let mut i = 0;
            while i < set.len() {
                if i + 2 < set.len() && set[i + 1] == b'-' {
                    hit |= set[i] <= c && c <= set[i + 2];
                    i += 3;
                } else {
                    hit |= set[i] == c;
                    i += 1;
                }
            }
            hit != negate && wildcard(&rest[close + 1..], tail)
        }
        Some((&p, rest)) => name.first() == Some(&p) && wildcard(rest, &name[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::wildcard;

    #[test]
    fn wildcards() {
        assert!(wildcard(b"app.log.*.gz", b"app.log.3.gz"));
        assert!(!wildcard(b"app.log.*.gz", b"app.log.3"));
        assert!(wildcard(b"a?c", b"abc"));
        assert!(wildcard(b"a[0-9]", b"a7"));
        assert!(!wildcard(b"a[!0-9]", b"a7"));
    }
}
