//! Archive names: how they are made, and how a directory entry is recognised
//! as one of this file's archives (and nothing else).

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::tz::TimeZone;

use crate::policy::time::format_stamp;

/// How archives are named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Naming {
    /// Python's names. With a time policy: `app.log.2026-11-22` (the start of
    /// the period, in the suffix format of `when`). Size only: `app.log.1` is
    /// the newest and every rotation renames `.1..N` up by one, as
    /// `RotatingFileHandler` does — O(N) renames per rotation.
    #[default]
    Python,
    /// `app.log.1`, `app.log.2`, … with the **highest number the newest**.
    /// Old archives are never renamed: O(1) per rotation, for users who keep
    /// hundreds of archives.
    Index,
    /// `app.log.2026-11-22_10-15-30`: the start of the period with a time
    /// policy (as [`Naming::Python`]), otherwise the moment of rotation.
    /// Old archives are never renamed.
    Timestamp,
}

/// Maps a default archive path to the one to use (Python's `namer`). It must
/// be deterministic, keep the archive in the same directory, and keep the
/// number or timestamp in the name, since retention and recovery parse names
/// back.
pub type Namer = Arc<dyn Fn(&Path) -> PathBuf + Send + Sync>;

/// Moves the active file (`source`) to its first archive name (`dest`),
/// replacing the plain rename (Python's `rotator`). Only that first step goes
/// through it; shifting `.1..N` are plain renames.
pub type Rotator = Arc<dyn Fn(&Path, &Path) -> std::io::Result<()> + Send + Sync>;

/// Which archive, independent of its on-disk name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum ArchiveId {
    /// `base.N`.
    Index(u64),
    /// `base.STAMP` (`seq == 0`) or `base.STAMP.SEQ` when that name was taken.
    Stamp { stamp: String, seq: u64 },
}

/// The concrete scheme in force, derived from [`Naming`] and the policies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Python size-only: `.1` newest, renamed up on every rotation.
    Shift,
    /// Monotonic index, newest highest.
    Counter,
    /// Timestamped.
    Stamp,
}

/// What a directory entry is, for this file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    Plain,
    Gz,
    GzTmp,
}

pub(crate) const GZ: &str = ".gz";
pub(crate) const GZ_TMP: &str = ".gz.tmp";

/// Everything needed to name archives and to recognise them.
#[derive(Clone)]
pub(crate) struct Scheme {
    pub(crate) dir: PathBuf,
    pub(crate) base: PathBuf,
    base_name: String,
    pub(crate) mode: Mode,
    /// strftime format of stamps (Stamp mode).
    stamp_format: &'static str,
    /// The digit/literal shape of a stamp, e.g. `dddd-dd-dd` (Stamp mode).
    stamp_shape: String,
    pub(crate) tz: TimeZone,
    namer: Option<Namer>,
}

impl fmt::Debug for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scheme")
            .field("base", &self.base)
            .field("mode", &self.mode)
            .field("stamp_format", &self.stamp_format)
            .field("namer", &self.namer.is_some())
            .finish()
    }
}

/// `%Y-%m-%d_%H-%M-%S` → `dddd-dd-dd_dd-dd-dd`.
fn shape_of(format: &str) -> String {
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c == '%' {
            match chars.next() {
                Some('Y') => out.push_str("dddd"),
                Some(_) => out.push_str("dd"),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl Scheme {
    pub(crate) fn new(
        base: PathBuf,
        base_name: String,
        mode: Mode,
        stamp_format: &'static str,
        tz: TimeZone,
        namer: Option<Namer>,
    ) -> Self {
        let dir = match base.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Scheme {
            dir,
            base,
            base_name,
            mode,
            stamp_format,
            stamp_shape: shape_of(stamp_format),
            tz,
            namer,
        }
    }

    pub(crate) fn stamp_at(&self, t: i64) -> String {
        format_stamp(self.stamp_format, &self.tz, t)
    }

    /// The name before the namer: `base.N`, `base.STAMP`, `base.STAMP.SEQ`.
    fn default_path(&self, id: &ArchiveId) -> PathBuf {
        let mut s: OsString = self.base.clone().into_os_string();
        match id {
            ArchiveId::Index(n) => s.push(format!(".{n}")),
            ArchiveId::Stamp { stamp, seq: 0 } => s.push(format!(".{stamp}")),
            ArchiveId::Stamp { stamp, seq } => s.push(format!(".{stamp}.{seq}")),
        }
        PathBuf::from(s)
    }

    /// Where archive `id` lives, uncompressed.
    pub(crate) fn path(&self, id: &ArchiveId) -> PathBuf {
        let p = self.default_path(id);
        match &self.namer {
            Some(namer) => namer(&p),
            None => p,
        }
    }

    /// Where archive `id` lives in `form`.
    pub(crate) fn path_in(&self, id: &ArchiveId, form: Form) -> PathBuf {
        with_suffix(&self.path(id), form)
    }

    /// True if any form of `id` exists: such a name is never reused.
    pub(crate) fn taken(&self, id: &ArchiveId) -> bool {
        let p = self.path(id);
        // Not `.gz.tmp`: in Python naming, compression of `.1` may still be
        // running under that name after `.1` itself moved to `.2`.
        [Form::Plain, Form::Gz]
            .iter()
            .any(|f| with_suffix(&p, *f).symlink_metadata().is_ok())
    }

    /// Recognises `file_name` (an entry of `dir`) as an archive of this file.
    pub(crate) fn parse(&self, file_name: &str) -> Option<(ArchiveId, Form)> {
        let (stem, form) = if let Some(s) = file_name.strip_suffix(GZ_TMP) {
            (s, Form::GzTmp)
        } else if let Some(s) = file_name.strip_suffix(GZ) {
            (s, Form::Gz)
        } else {
            (file_name, Form::Plain)
        };
        let parse = |s: &str| match &self.namer {
            None => self.parse_default(s),
            Some(_) => self.parse_named(s),
        };
        match parse(stem) {
            Some(id) => Some((id, form)),
            // A namer may itself end in `.gz` (Python's cookbook does): then
            // the whole name is the plain form.
            None if form != Form::Plain && self.namer.is_some() => {
                parse(file_name).map(|id| (id, Form::Plain))
            }
            None => None,
        }
    }

    fn parse_default(&self, stem: &str) -> Option<ArchiveId> {
        let rest = stem.strip_prefix(&self.base_name)?.strip_prefix('.')?;
        match self.mode {
            Mode::Shift | Mode::Counter => canonical_u64(rest).map(ArchiveId::Index),
            Mode::Stamp => {
                let n = self.stamp_shape.len();
                let stamp = rest.get(..n)?;
                if !matches_shape(stamp, &self.stamp_shape) {
                    return None;
                }
                let seq = match &rest[n..] {
                    "" => 0,
                    tail => canonical_u64(tail.strip_prefix('.')?).filter(|s| *s > 0)?,
                };
                Some(ArchiveId::Stamp {
                    stamp: stamp.to_string(),
                    seq,
                })
            }
        }
    }

    /// With a namer the number or stamp can sit anywhere in the name: try each
    /// candidate and keep the one the namer maps back to this very name
    /// (CPython 3.13 `getFilesToDelete`).
    fn parse_named(&self, stem: &str) -> Option<ArchiveId> {
        let b = stem.as_bytes();
        let matches_back = |id: &ArchiveId| {
            let p = self.path(id);
            p.file_name().and_then(|n| n.to_str()) == Some(stem)
                && p.parent().map(|d| same_dir(d, &self.dir)).unwrap_or(false)
        };
        match self.mode {
            Mode::Shift | Mode::Counter => {
                let mut i = 0;
                while i < b.len() {
                    if b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_digit()) {
                        let end = i + b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
                        if let Some(n) = canonical_u64(&stem[i..end]) {
                            let id = ArchiveId::Index(n);
                            if matches_back(&id) {
                                return Some(id);
                            }
                        }
                        i = end;
                    } else {
                        i += 1;
                    }
                }
                None
            }
            Mode::Stamp => {
                let n = self.stamp_shape.len();
                if n == 0 {
                    return None;
                }
                for i in 0..b.len().saturating_sub(n - 1) {
                    let Some(cand) = stem.get(i..i + n) else {
                        continue;
                    };
                    let before_ok = i == 0 || !b[i - 1].is_ascii_digit();
                    let after_ok = b.get(i + n).is_none_or(|c| !c.is_ascii_digit());
                    if !(before_ok && after_ok && matches_shape(cand, &self.stamp_shape)) {
                        continue;
                    }
                    let mut id = ArchiveId::Stamp {
                        stamp: cand.to_string(),
                        seq: 0,
                    };
                    if matches_back(&id) {
                        return Some(id);
                    }
                    // A uniquifier may follow the stamp: `STAMP.SEQ`.
                    if b.get(i + n) == Some(&b'.') {
                        let digits = b[i + n + 1..]
                            .iter()
                            .take_while(|c| c.is_ascii_digit())
                            .count();
                        if let Some(seq) =
                            canonical_u64(&stem[i + n + 1..i + n + 1 + digits]).filter(|s| *s > 0)
                        {
                            id = ArchiveId::Stamp {
                                stamp: cand.to_string(),
                                seq,
                            };
                            if matches_back(&id) {
                                return Some(id);
                            }
                        }
                    }
                }
                None
            }
        }
    }

    /// A sort key on which older archives come first.
    pub(crate) fn age_order(&self, id: &ArchiveId) -> (i128, String, u64) {
        match (self.mode, id) {
            (Mode::Shift, ArchiveId::Index(n)) => (-i128::from(*n), String::new(), 0),
            (_, ArchiveId::Index(n)) => (i128::from(*n), String::new(), 0),
            (_, ArchiveId::Stamp { stamp, seq }) => (0, stamp.clone(), *seq),
        }
    }
}

pub(crate) fn with_suffix(p: &Path, form: Form) -> PathBuf {
    let suffix = match form {
        Form::Plain => return p.to_path_buf(),
        Form::Gz => GZ,
        Form::GzTmp => GZ_TMP,
    };
    let mut s = p.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

fn same_dir(a: &Path, b: &Path) -> bool {
    let norm = |p: &Path| {
        if p.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            p.to_path_buf()
        }
    };
    norm(a) == norm(b)
}

/// Digits without a leading zero, so that the name can be rebuilt exactly.
fn canonical_u64(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

fn matches_shape(s: &str, shape: &str) -> bool {
    s.len() == shape.len()
        && s.bytes().zip(shape.bytes()).all(|(c, p)| match p {
            b'd' => c.is_ascii_digit(),
            lit => c == lit,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scheme(base: &str, mode: Mode, fmt: &'static str, namer: Option<Namer>) -> Scheme {
        let base = PathBuf::from(base);
        let name = base.file_name().unwrap().to_str().unwrap().to_string();
        Scheme::new(base, name, mode, fmt, TimeZone::UTC, namer)
    }

    #[test]
    fn default_names() {
        let s = scheme("/l/app.log", Mode::Shift, "", None);
        assert_eq!(s.path(&ArchiveId::Index(3)), PathBuf::from("/l/app.log.3"));
        assert_eq!(
            s.path_in(&ArchiveId::Index(3), Form::Gz),
            PathBuf::from("/l/app.log.3.gz")
        );
        let s = scheme("/l/app.log", Mode::Stamp, "%Y-%m-%d", None);
        let id = ArchiveId::Stamp {
            stamp: "2026-11-22".into(),
            seq: 2,
        };
        assert_eq!(s.path(&id), PathBuf::from("/l/app.log.2026-11-22.2"));
        assert_eq!(s.parse("app.log.2026-11-22.2.gz"), Some((id, Form::Gz)));
    }

    #[test]
    fn parse_rejects_lookalikes() {
        let s = scheme("/l/app.log", Mode::Shift, "", None);
        assert_eq!(
            s.parse("app.log.12"),
            Some((ArchiveId::Index(12), Form::Plain))
        );
        for bad in [
            "app.log",
            "app.log.",
            "app.log.01",
            "app.log.1x",
            "app.logs.1",
            "xapp.log.1",
        ] {
            assert_eq!(s.parse(bad), None, "{bad}");
        }
        let s = scheme("/l/a.log", Mode::Stamp, "%Y-%m-%d", None);
        for bad in [
            "a.log.2026-11-2",
            "a.log.2026-11-222",
            "a.log.2026-11-22.0",
            "a.log.2026-11-22.c",
            "a.log.b.2026-11-22",
            "a.log.2026-11-22_10",
        ] {
            assert_eq!(s.parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn parse_with_namer_maps_back() {
        // CPython test_compute_files_to_delete: namers that move the stamp
        // inside the name (`prefix.TS.log`, `gTS.oldlog`).
        let namer: Namer = Arc::new(|p: &Path| {
            let s = p.to_str().unwrap();
            let (head, ts) = s.rsplit_once(".log.").unwrap();
            PathBuf::from(format!("{head}.{ts}.log"))
        });
        let s = scheme("/l/a.b.log", Mode::Stamp, "%Y-%m-%d_%H-%M-%S", Some(namer));
        let (id, _) = s.parse("a.b.2026-01-02_03-04-05.log").unwrap();
        assert_eq!(s.path(&id), PathBuf::from("/l/a.b.2026-01-02_03-04-05.log"));
        assert_eq!(s.parse("a.b.c.2026-01-02_03-04-05.log"), None);
        assert_eq!(s.parse("a.b.2026-01-02_03-04-05.log.x"), None);
        let idx_namer: Namer = Arc::new(|p: &Path| {
            let mut s = p.as_os_str().to_os_string();
            s.push(".test");
            PathBuf::from(s)
        });
        let s = scheme("/l/a.log", Mode::Shift, "", Some(idx_namer));
        assert_eq!(
            s.parse("a.log.7.test.gz"),
            Some((ArchiveId::Index(7), Form::Gz))
        );
        assert_eq!(s.parse("a.log.7"), None);
    }

    #[test]
    fn age_order_is_chronological() {
        let s = scheme("/l/app.log", Mode::Shift, "", None);
        assert!(s.age_order(&ArchiveId::Index(5)) < s.age_order(&ArchiveId::Index(1)));
        let s = scheme("/l/app.log", Mode::Counter, "", None);
        assert!(s.age_order(&ArchiveId::Index(1)) < s.age_order(&ArchiveId::Index(5)));
    }
}
