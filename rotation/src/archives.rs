//! The archives of one file on disk: listing, Python's rename cascade,
//! retention and the repair of what an interrupted run left behind.

use std::collections::HashMap;
use std::fs::{self, Metadata};
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::clock::Clock;
use crate::error::{ErrorSink, with_path};
use crate::naming::{ArchiveId, Form, Mode, Scheme};
use crate::retention::{Candidate, Retention};

/// State shared by the writer and the background worker.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// Bumped by every `.1..N` cascade, so a compression that started on
    /// `.K` knows it must finish on `.K + shifts`.
    pub(crate) generation: u64,
}

/// One archive: all the forms (plain, `.gz`, `.gz.tmp`) that exist of it.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) id: ArchiveId,
    pub(crate) forms: Vec<(Form, PathBuf, Metadata)>,
}

impl Entry {
    pub(crate) fn form(&self, form: Form) -> Option<&(Form, PathBuf, Metadata)> {
        self.forms.iter().find(|(f, _, _)| *f == form)
    }

    fn candidate(&self) -> Candidate {
        let mut len = 0u64;
        let mut mtime = i64::MIN;
        for (form, _, md) in &self.forms {
            if *form != Form::GzTmp {
                len = len.saturating_add(md.len());
            }
            mtime = mtime.max(mtime_secs(md));
        }
        Candidate { len, mtime }
    }
}

pub(crate) fn mtime_secs(md: &Metadata) -> i64 {
    md.modified()
        .ok()
        .and_then(|t| jiff::Timestamp::try_from(t).ok())
        .map_or(0, |t| t.as_second())
}

/// Identifies a file across renames.
#[cfg(unix)]
pub(crate) fn identity(md: &Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (md.dev(), md.ino())
}

/// Identifies a file across renames (best effort off Unix).
#[cfg(not(unix))]
pub(crate) fn identity(md: &Metadata) -> (u64, u64) {
    (md.len(), mtime_secs(md) as u64)
}

pub(crate) struct Archives {
    pub(crate) scheme: Scheme,
    pub(crate) retention: Retention,
    pub(crate) state: Mutex<State>,
    pub(crate) clock: Arc<dyn Clock>,
    #[cfg_attr(not(feature = "gzip"), allow(dead_code))]
    pub(crate) errors: Arc<ErrorSink>,
}

impl Archives {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// This file's archives, oldest first.
    pub(crate) fn list(&self) -> io::Result<Vec<Entry>> {
        let mut by_id: HashMap<ArchiveId, Entry> = HashMap::new();
        let dir = match fs::read_dir(&self.scheme.dir) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(with_path(e, "listing", &self.scheme.dir)),
        };
        for entry in dir {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Some((id, form)) = self.scheme.parse(name) else {
                continue;
            };
            let Ok(md) = entry.metadata() else { continue };
            if !md.is_file() {
                continue;
            }
            by_id
                .entry(id.clone())
                .or_insert_with(|| Entry {
                    id,
                    forms: Vec::new(),
                })
                .forms
                .push((form, entry.path(), md));
        }
        let mut out: Vec<Entry> = by_id.into_values().collect();
        out.sort_by_cached_key(|e| self.scheme.age_order(&e.id));
        Ok(out)
    }

    /// Finishes or undoes what an interrupted compression left: a `.gz.tmp`
    /// is never complete (the rename comes after fsync), and a plain archive
    /// next to its `.gz` was already compressed when the run stopped.
    pub(crate) fn repair(&self) -> io::Result<()> {
        let _st = self.lock();
        for entry in self.list()? {
            if let Some((_, tmp, _)) = entry.form(Form::GzTmp) {
                remove_quiet(tmp)?;
            }
            if let (Some((_, plain, _)), Some(_)) = (entry.form(Form::Plain), entry.form(Form::Gz))
            {
                remove_quiet(plain)?;
            }
        }
        Ok(())
    }

    /// Deletes the oldest archives beyond the retention limits.
    pub(crate) fn apply_retention(&self) -> io::Result<()> {
        if !self.retention.is_active() {
            return Ok(());
        }
        let _st = self.lock();
        self.apply_retention_locked()
    }

    pub(crate) fn apply_retention_locked(&self) -> io::Result<()> {
        if !self.retention.is_active() {
            return Ok(());
        }
        let entries = self.list()?;
        let candidates: Vec<Candidate> = entries.iter().map(Entry::candidate).collect();
        let cut = self
            .retention
            .count_to_delete(&candidates, self.clock.now().as_second());
        let mut first_err = None;
        for entry in &entries[..cut] {
            for (_, path, _) in &entry.forms {
                if let Err(e) = remove_quiet(path) {
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// The highest index in use (Counter mode), 0 if none.
    pub(crate) fn max_index(&self) -> u64 {
        self.list()
            .unwrap_or_default()
            .iter()
            .filter_map(|e| match e.id {
                ArchiveId::Index(n) => Some(n),
                ArchiveId::Stamp { .. } => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// Python's cascade: `.N-1 → .N`, …, `.1 → .2` (each in plain and `.gz`
    /// form), so that `.1` is free. With a limit, `.N` is deleted first;
    /// without one, the cascade starts at the highest contiguous index.
    pub(crate) fn shift(&self, state: &mut State, limit: Option<usize>) -> io::Result<()> {
        debug_assert_eq!(self.scheme.mode, Mode::Shift);
        state.generation += 1;
        let mut top = 0u64;
        while self.scheme.taken(&ArchiveId::Index(top + 1)) {
            top += 1;
        }
        let start = match limit {
            Some(n) => {
                let n = n as u64;
                if top >= n {
                    for form in [Form::Plain, Form::Gz] {
                        remove_quiet(&self.scheme.path_in(&ArchiveId::Index(n), form))?;
                    }
                }
                top.min(n.saturating_sub(1))
            }
            None => top,
        };
        for i in (1..=start).rev() {
            for form in [Form::Plain, Form::Gz] {
                let from = self.scheme.path_in(&ArchiveId::Index(i), form);
                if from.symlink_metadata().is_ok() {
                    let to = self.scheme.path_in(&ArchiveId::Index(i + 1), form);
                    fs::rename(&from, &to).map_err(|e| with_path(e, "renaming", &from))?;
                }
            }
        }
        Ok(())
    }
}

pub(crate) fn remove_quiet(path: &std::path::Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(with_path(e, "removing", path)),
        _ => Ok(()),
    }
}
