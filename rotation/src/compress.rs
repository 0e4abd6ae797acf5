//! Background gzip compression of archives.
//!
//! The writer only renames; this worker turns plain archives into `.gz`. It
//! follows a crash-safe protocol: compress `X` into `X.gz.tmp`, fsync it,
//! rename it to `X.gz`, then remove `X`. A run killed at any point leaves
//! either a `.gz.tmp` (incomplete, deleted on the next start, `X` still
//! there), or `X.gz` next to `X` (complete, `X` is deleted on the next
//! start). The worker compresses oldest first, and applies retention before
//! each archive so that archives about to be deleted are not compressed.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use flate2::write::GzEncoder;

use crate::archives::{Archives, identity, remove_quiet};
use crate::error::with_path;
use crate::naming::{ArchiveId, Form, Mode, with_suffix};

/// Compresses the rest of `src` into a new `dest`, and fsyncs it.
pub(crate) fn gzip_into(src: &mut File, dest: &Path, level: u32) -> io::Result<()> {
    let out = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(dest)?;
    let mut enc = GzEncoder::new(
        BufWriter::with_capacity(128 * 1024, out),
        flate2::Compression::new(level),
    );
    let mut chunk = vec![0u8; 128 * 1024];
    loop {
        let n = match src.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        enc.write_all(&chunk[..n])?;
        #[cfg(feature = "test-hooks")]
        crate::test_hooks::compression_checkpoint();
    }
    let out = enc.finish()?.into_inner().map_err(|e| e.into_error())?;
    out.sync_all()
}

#[derive(Default)]
struct Flags {
    pending: bool,
    busy: bool,
    shutdown: bool,
}

#[derive(Default)]
struct Control {
    flags: Mutex<Flags>,
    cv: Condvar,
}

impl Control {
    fn flags(&self) -> std::sync::MutexGuard<'_, Flags> {
        self.flags.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The compression thread of one `RotatingFile`.
pub(crate) struct Worker {
    control: Arc<Control>,
    handle: Option<JoinHandle<()>>,
}

impl Worker {
    pub(crate) fn spawn(archives: Arc<Archives>, level: u32) -> io::Result<Worker> {
        let control = Arc::new(Control::default());
        let ctl = Arc::clone(&control);
        let name = format!(
            "rotation-gzip:{}",
            archives
                .scheme
                .base
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        );
        let handle = std::thread::Builder::new()
            .name(name)
            .spawn(move || run(&ctl, &archives, level))?;
        Ok(Worker {
            control,
            handle: Some(handle),
        })
    }

    /// Asks for a sweep: new archives may be waiting.
    pub(crate) fn notify(&self) {
        self.control.flags().pending = true;
        self.control.cv.notify_all();
    }

    /// Blocks until every archive known so far has been processed.
    pub(crate) fn wait_idle(&self) {
        let mut f = self.control.flags();
        while f.pending || f.busy {
            f = self.control.cv.wait(f).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Finishes the queued work, then stops the thread.
    pub(crate) fn shutdown(&mut self) {
        self.control.flags().shutdown = true;
        self.control.cv.notify_all();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Compression is background work: when the machine is busy, the writing
/// thread should get the CPU first. Nice 19, the lowest the scheduler
/// offers without starving the thread (`SCHED_IDLE` could keep archives
/// uncompressed for as long as the machine stays busy): at nice 10 the
/// compressor still took about a tenth of a contended core, and the
/// listener with rotation and gzip wrote 0.79× the records/s it writes
/// without (bench s6, medians of 5); at 19, 0.83×. The compression is
/// the same work, done a little later.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority takes no pointers; on Linux, PRIO_PROCESS with 0
    // means the calling thread only.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 19);
    }
}

fn run(ctl: &Control, archives: &Archives, level: u32) {
    lower_priority();
    loop {
        {
            let mut f = ctl.flags();
            while !f.pending && !f.shutdown {
                f = ctl.cv.wait(f).unwrap_or_else(|p| p.into_inner());
            }
            if !f.pending {
                f.busy = false;
                ctl.cv.notify_all();
                return;
            }
            f.pending = false;
            f.busy = true;
        }
        sweep(archives, level);
        let mut f = ctl.flags();
        f.busy = false;
        ctl.cv.notify_all();
    }
}

struct Job {
    id: ArchiveId,
    path: std::path::PathBuf,
    generation: u64,
    file: File,
    ident: (u64, u64),
}

/// Compresses every plain archive, oldest first.
fn sweep(archives: &Archives, level: u32) {
    // Archives that failed in this sweep are kept plain and retried on the
    // next rotation (or next start), not in a tight loop.
    let mut failed: HashSet<(u64, u64)> = HashSet::new();
    loop {
        let job = match next_job(archives, &failed) {
            Ok(Some(job)) => job,
            Ok(None) => return,
            Err(e) => {
                archives.errors.report(e);
                return;
            }
        };
        let ident = job.ident;
        if let Err(e) = compress_one(archives, job, level) {
            failed.insert(ident);
            archives.errors.report(e);
        }
    }
}

fn next_job(archives: &Archives, failed: &HashSet<(u64, u64)>) -> io::Result<Option<Job>> {
    let st = archives.lock();
    if let Err(e) = archives.apply_retention_locked() {
        archives.errors.report(e);
    }
    for entry in archives.list()? {
        if entry.form(Form::Gz).is_some() {
            continue;
        }
        let Some((_, path, md)) = entry.form(Form::Plain) else {
            continue;
        };
        let ident = identity(md);
        if failed.contains(&ident) {
            continue;
        }
        // Opened under the lock, so it is this archive even if a cascade
        // renames it while it is being compressed.
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(with_path(e, "opening", path)),
        };
        return Ok(Some(Job {
            id: entry.id.clone(),
            path: path.clone(),
            generation: st.generation,
            file,
            ident,
        }));
    }
    Ok(None)
}

fn compress_one(archives: &Archives, mut job: Job, level: u32) -> io::Result<()> {
    let tmp = with_suffix(&job.path, Form::GzTmp);
    if let Err(e) = gzip_into(&mut job.file, &tmp, level) {
        let _ = remove_quiet(&tmp);
        return Err(with_path(e, "compressing", &job.path));
    }
    let scheme = &archives.scheme;
    {
        let st = archives.lock();
        let Some(source) = current_source(archives, &job, st.generation) else {
            // Deleted by retention (or moved by someone else) meanwhile.
            return remove_quiet(&tmp);
        };
        let dest = with_suffix(&source, Form::Gz);
        if dest.symlink_metadata().is_ok() {
            remove_quiet(&tmp)?;
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "not compressing {}: {} exists",
                    source.display(),
                    dest.display()
                ),
            ));
        }
        fs::rename(&tmp, &dest).map_err(|e| with_path(e, "renaming", &tmp))?;
    }
    // The rename must be durable before the source goes. Not under the lock:
    // a directory fsync can take milliseconds and the writer may be waiting.
    sync_dir(&scheme.dir);
    let st = archives.lock();
    if let Some(source) = current_source(archives, &job, st.generation) {
        remove_quiet(&source)?;
    }
    Ok(())
}

/// Where the job's source is now (a cascade may have moved it), if it is
/// still the same file.
fn current_source(archives: &Archives, job: &Job, generation: u64) -> Option<std::path::PathBuf> {
    let current = match (archives.scheme.mode, &job.id) {
        (Mode::Shift, ArchiveId::Index(n)) => ArchiveId::Index(n + (generation - job.generation)),
        (_, id) => id.clone(),
    };
    let source = archives.scheme.path(&current);
    fs::symlink_metadata(&source)
        .ok()
        .filter(|md| identity(md) == job.ident)
        .map(|_| source)
}

/// Makes a rename durable: the directory entry, not just the data.
fn sync_dir(dir: &std::path::Path) {
    #[cfg(unix)]
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}
