//! Archives read ahead, on their own threads, and cut into lines there
//! too: while the reading thread prints, the next archives are being read
//! (gzip ones inflated), split at their newlines and passed through the
//! filter's quick test (level and time from the native prefix). The reading thread gets
//! chunks of whole lines with the few lines it must judge itself already
//! listed, and scans them where they lie: with every line going through it
//! (one more copy, a `memchr` and a prefix per line) it was the serial part
//! that kept two decoders from using two cores (bench s12, all-gzipped
//! layout: 1.31× the single-thread rate). Plain archives are read ahead
//! the same way: left to the reading thread, they were as serial (bench
//! s12, half-gzipped layout: 1.13×). The last source (the live file, still
//! being written, and where a cursor holds an unfinished line) is read
//! when its turn comes.
//!
//! Each archive's chunks (256 KiB, up to 512 KiB) go through a channel of
//! eight, and two archives per thread are started ahead, so memory stays
//! bounded whatever the archives' size (about 12 MiB with two threads, at
//! most 25 MiB), and a
//! reading thread that the scheduler lets wait (a loaded machine) finds
//! the decoders still busy when it comes back rather than long blocked. Chunks read
//! to their end go back to a pool the decoders fill again: a fresh 256 KiB
//! allocation per chunk is a fresh `mmap` whose pages all fault in, which
//! cost more system time than the second core saved (`cat --threads 1`
//! against the default: 100k page faults for 256 MiB).
//!
//! A line longer than a chunk makes its chunk grow, up to the longest line
//! kept whole (16 MiB). Only the archive being read may grow a chunk, and
//! only one grown chunk is on its way at a time ([`Turn`]): a channel of
//! eight holds eight chunks whatever their size, and archives without a
//! newline, tiny when gzipped, would otherwise each fill theirs with 16 MiB
//! pieces while they wait for their turn, multiplied by `--threads`.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, Read};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use super::filter::{Filter, Quick};
use super::lines::MAX_LINE;
use super::position::{FileId, is_gzip};
use super::prefix::native_prefix;
use flate2::bufread::MultiGzDecoder;

use super::source::Source;

const CHUNK: usize = 256 * 1024;
/// The compressed bytes read at once, into one buffer per thread.
const INPUT: usize = 128 * 1024;
const DEPTH: usize = 8;
/// Archives started ahead per thread.
const WINDOW: usize = 2;

/// A line of a [`Chunk`] the reading thread must judge (the filter's quick
/// test did not reject it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kept {
    /// Where it starts in the chunk's bytes.
    pub start: usize,
    /// Where it ends (before its `\n`, if any).
    pub end: usize,
    /// False for the last line of an archive without `\n`, a piece of an
    /// overlong line, or what was decoded after the last `\n` before a
    /// read error.
    pub terminated: bool,
    /// Lines the quick test rejected come between this one and the kept
    /// line before it: each would have ended a text record being gathered.
    pub after_rejected: bool,
}

/// Decoded bytes of one archive, cut after a `\n` (but for the archive's
/// last chunk and a piece of an overlong line), with the lines to judge.
#[derive(Debug, Default)]
pub struct Chunk {
    /// Room to decode into; `len` bytes of it hold data. Its length is
    /// never cut to the data, so a reused chunk is not zeroed again.
    buf: Vec<u8>,
    len: usize,
    kept: Vec<Kept>,
    error: Option<io::Error>,
}

impl Chunk {
    /// The decoded bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The lines the reading thread must judge, in order.
    pub fn kept(&self) -> &[Kept] {
        &self.kept
    }

    /// The read error that ended the archive after these bytes (a
    /// truncated gzip member), if any.
    pub fn take_error(&mut self) -> Option<io::Error> {
        self.error.take()
    }

    fn failed(e: io::Error) -> Chunk {
        Chunk {
            error: Some(e),
            ..Chunk::default()
        }
    }
}

/// A decoded archive, read chunk by chunk from its decoder thread.
pub struct Decoded {
    rx: Receiver<Chunk>,
    /// Where chunks read to their end go, for a decoder to fill again.
    pool: Pool,
    turn: Arc<Turn>,
}

impl Decoded {
    /// The next chunk, `None` at the end of the archive.
    pub fn next_chunk(&mut self) -> Option<Chunk> {
        // The decoder's sender dropped: it finished.
        let chunk = self.rx.recv().ok()?;
        if grown(&chunk) {
            self.turn.grown_taken();
        }
        Some(chunk)
    }

    /// Gives a chunk read to its end back for a decoder to fill again.
    pub fn recycle(&self, chunk: Chunk) {
        self.pool.put(chunk);
    }
}

/// Chunks to fill again, shared by the decoders of one read; never more
/// than the chunks the decoders can have in flight.
#[derive(Clone)]
struct Pool {
    free: Arc<Mutex<Vec<Chunk>>>,
    limit: usize,
}

impl Pool {
    fn take(&self) -> Chunk {
        let mut chunk = match self.free.lock() {
            Ok(mut free) => free.pop().unwrap_or_default(),
            Err(_) => Chunk::default(),
        };
        if chunk.buf.len() < CHUNK {
            chunk.buf.resize(CHUNK, 0);
        }
        chunk
    }

    fn put(&self, mut chunk: Chunk) {
        // A chunk grown for an overlong line is not kept: memory stays
        // what the usual lines need.
        if chunk.buf.len() < CHUNK || chunk.buf.len() > 2 * CHUNK {
            return;
        }
        chunk.len = 0;
        chunk.kept.clear();
        chunk.error = None;
        if let Ok(mut free) = self.free.lock()
            && free.len() < self.limit
        {
            free.push(chunk);
        }
    }
}

/// Whether a chunk grew past the usual size for an overlong line.
fn grown(chunk: &Chunk) -> bool {
    chunk.buf.len() > 2 * CHUNK
}

/// Which archive the reading thread is on, and whether a grown chunk is on
/// its way to it: the two conditions under which a reader ahead may grow a
/// chunk or send a grown one (see the module's doc).
#[derive(Default)]
struct Turn {
    state: Mutex<TurnState>,
    changed: Condvar,
}

#[derive(Default)]
struct TurnState {
    /// The index of the source being read.
    reading: usize,
    /// A grown chunk was sent and not yet received.
    grown_out: bool,
    /// The read is over: nobody waits for anything any more.
    over: bool,
}

impl Turn {
    fn lock(&self) -> MutexGuard<'_, TurnState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until `ready` holds, and returns the state still locked;
    /// `None` once the read is over.
    fn wait(&self, ready: impl Fn(&TurnState) -> bool) -> Option<MutexGuard<'_, TurnState>> {
        let mut state = self.lock();
        while !state.over && !ready(&state) {
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        (!state.over).then_some(state)
    }

    fn update(&self, change: impl FnOnce(&mut TurnState)) {
        change(&mut self.lock());
        self.changed.notify_all();
    }

    /// Waits until archive `index` is being read; false when the read is over.
    fn wait_for(&self, index: usize) -> bool {
        self.wait(|s| s.reading == index).is_some()
    }

    /// Waits until no grown chunk is on its way, then marks one as sent;
    /// false when the read is over.
    fn send_grown(&self) -> bool {
        self.wait(|s| !s.grown_out)
            .map(|mut state| state.grown_out = true)
            .is_some()
    }

    fn grown_taken(&self) {
        self.update(|s| s.grown_out = false);
    }
}

/// One archive to read, and where its chunks go.
struct Job {
    file: File,
    gzip: bool,
    /// Its index among the sources ([`Turn::reading`]).
    index: usize,
    tx: SyncSender<Chunk>,
}

/// Readers started ahead for the archives of a list (every file but the
/// last).
///
/// The decoding threads live as long as the read: one per archive cost a
/// thread, an allocator arena and freshly faulted buffers per 1 MiB
/// archive. At most `2 × ahead + 1` archives are started (the one being
/// read and `2 × ahead` after it) for `ahead` threads, and they take them
/// in order, so the one being read always has its thread.
pub struct Prefetch {
    pool: Pool,
    turn: Arc<Turn>,
    ahead: usize,
    filter: Arc<Filter>,
    started: HashMap<usize, (FileId, Decoded)>,
    next: usize,
    /// To the decoding threads (started with the first archive).
    jobs: Option<Sender<Job>>,
}

impl Prefetch {
    /// Reads up to `ahead` archives at once, from index `from` on; lines
    /// `filter`'s quick test rejects are not handed over.
    pub fn new(ahead: usize, from: usize, filter: &Filter) -> Prefetch {
        Prefetch {
            pool: Pool {
                free: Arc::new(Mutex::new(Vec::new())),
                // Each archive's channel, the chunk its decoder fills, the
                // one being read.
                limit: (WINDOW * ahead + 1) * (DEPTH + 2),
            },
            turn: Arc::default(),
            ahead,
            filter: Arc::new(filter.clone()),
            started: HashMap::new(),
            next: from,
            jobs: None,
        }
    }

    /// The stream of source `i`, if it is an archive started ahead (or
    /// now, when it is the first); starts readers for the archives after
    /// it.
    pub fn take(&mut self, sources: &[Source], i: usize) -> Option<(FileId, Decoded)> {
        if self.ahead == 0 {
            return None;
        }
        self.turn.update(|s| s.reading = i);
        // The last source is read at its turn: it may still be growing.
        let archives = sources.len().saturating_sub(1);
        if self.jobs.is_none() && self.next < archives {
            match self.spawn_threads() {
                Ok(jobs) => self.jobs = Some(jobs),
                // Not even one thread (a pids limit): the reading thread
                // reads every file itself, as with `--threads 1`.
                Err(_) => {
                    self.ahead = 0;
                    return None;
                }
            }
        }
        while self.started.len() <= WINDOW * self.ahead && self.next < archives {
            let j = self.next;
            self.next += 1;
            if let Source::File(path) = &sources[j]
                && let Ok(file) = File::open(path)
                && let Ok(gzip) = is_gzip(&file)
                && let Ok(id) = FileId::of(&file)
            {
                let decoded = self.start(file, gzip, j);
                self.started.insert(j, (id, decoded));
            }
        }
        self.started.remove(&i)
    }

    fn start(&mut self, file: File, gzip: bool, index: usize) -> Decoded {
        let (tx, rx) = sync_channel(DEPTH);
        let decoded = Decoded {
            rx,
            pool: self.pool.clone(),
            turn: self.turn.clone(),
        };
        let job = Job {
            file,
            gzip,
            index,
            tx,
        };
        let lost = match &self.jobs {
            Some(jobs) => jobs.send(job).err().map(|lost| lost.0),
            None => Some(job),
        };
        if let Some(job) = lost {
            let _ = job
                .tx
                .send(Chunk::failed(io::Error::other("the readers ahead stopped")));
        }
        decoded
    }

    /// The decoding threads; an error only when not even one starts.
    fn spawn_threads(&self) -> io::Result<Sender<Job>> {
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let mut started = 0;
        for _ in 0..self.ahead {
            let (queue, pool, filter) = (queue.clone(), self.pool.clone(), self.filter.clone());
            let turn = self.turn.clone();
            let spawned = std::thread::Builder::new()
                .name("tributary-ahead".into())
                .spawn(move || {
                    // Kept from one archive to the next: a fresh buffer per
                    // archive was a fresh `mmap` faulted in page by page.
                    let mut input = Vec::new();
                    loop {
                        // The lock is held while waiting only: decoding runs
                        // beside the other threads.
                        let job = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        // The sender is gone: the read is over.
                        let Ok(job) = job else { return };
                        decode(job, &mut input, &pool, &filter, &turn);
                    }
                });
            match spawned {
                Ok(_) => started += 1,
                Err(e) if started == 0 => return Err(e),
                Err(_) => break,
            }
        }
        Ok(jobs)
    }
}

/// Reads one archive into chunks of whole lines, sent in order (every
/// gzip member decoded, through `input`); a read error ends it, carried by
/// the last chunk.
fn decode(job: Job, input: &mut Vec<u8>, pool: &Pool, filter: &Filter, turn: &Turn) {
    let Job {
        mut file,
        gzip,
        index,
        tx,
    } = job;
    let out = Out {
        tx: &tx,
        index,
        turn,
    };
    if gzip {
        input.resize(INPUT, 0);
        let mut gz = MultiGzDecoder::new(Input {
            file,
            buf: std::mem::take(input),
            pos: 0,
            filled: 0,
        });
        cut(&mut gz, &out, pool, filter);
        *input = gz.into_inner().buf;
    } else {
        // Read straight into the chunks: no buffer between.
        cut(&mut file, &out, pool, filter);
    }
}

/// A file read through a buffer that outlives it (`BufReader` owns its own).
struct Input {
    file: File,
    buf: Vec<u8>,
    pos: usize,
    filled: usize,
}

impl Read for Input {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = {
            let have = self.fill_buf()?;
            let n = have.len().min(out.len());
            out[..n].copy_from_slice(&have[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Input {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.filled {
            self.filled = self.file.read(&mut self.buf)?;
            self.pos = 0;
        }
        Ok(&self.buf[self.pos..self.filled])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.filled);
    }
}

/// Where one archive's chunks go.
struct Out<'a> {
    tx: &'a SyncSender<Chunk>,
    index: usize,
    turn: &'a Turn,
}

impl Out<'_> {
    /// Sends `chunk`, a grown one only when none is on its way; false when
    /// nobody reads any more.
    fn send(&self, chunk: Chunk) -> bool {
        if grown(&chunk) && !self.turn.send_grown() {
            return false;
        }
        self.tx.send(chunk).is_ok()
    }
}

/// Cuts `reader`'s bytes into chunks of whole lines, judged, sent in order.
fn cut<R: Read>(reader: &mut R, out: &Out<'_>, pool: &Pool, filter: &Filter) {
    // Whether lines were rejected since the last kept one (across chunks).
    let mut rejected = false;
    let mut chunk = pool.take();
    loop {
        if chunk.len == chunk.buf.len() {
            // Full without a `\n` (else it was cut and sent): a line longer
            // than the chunk, room for more of it, bounded by the longest
            // line kept whole. (Growing whenever little room was left grew
            // most chunks of 1 MiB archives to 512 KiB: a fresh allocation
            // faulted in page by page, each time.)
            let grown = (chunk.buf.len() * 2).min(MAX_LINE + CHUNK);
            let grown = grown.max(chunk.len + CHUNK / 4);
            if grown > 2 * CHUNK && !out.turn.wait_for(out.index) {
                return;
            }
            chunk.buf.resize(grown, 0);
        }
        let len = chunk.len;
        match reader.read(&mut chunk.buf[len..]) {
            Ok(0) => {
                if chunk.len > 0 {
                    judge(&mut chunk, filter, &mut rejected);
                    out.send(chunk);
                }
                return;
            }
            Ok(n) => chunk.len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // What was decoded is read, its last bytes as an
                // unterminated line, then the error is told.
                judge(&mut chunk, filter, &mut rejected);
                chunk.error = Some(e);
                out.send(chunk);
                return;
            }
        }
        if chunk.len < chunk.buf.len() {
            continue;
        }
        let cut = match memchr::memrchr(b'\n', chunk.bytes()) {
            Some(nl) => nl + 1,
            // No `\n` in the longest line kept whole: a piece goes out alone.
            None if chunk.len >= MAX_LINE => MAX_LINE,
            None => continue,
        };
        let mut next = pool.take();
        let rest = chunk.len - cut;
        if next.buf.len() < rest + CHUNK / 4 {
            if rest + CHUNK / 4 > 2 * CHUNK && !out.turn.wait_for(out.index) {
                return;
            }
            next.buf.resize(rest + CHUNK / 4, 0);
        }
        next.buf[..rest].copy_from_slice(&chunk.buf[cut..chunk.len]);
        next.len = rest;
        chunk.len = cut;
        judge(&mut chunk, filter, &mut rejected);
        // The reader went away (stdout closed): stop decoding.
        if !out.send(std::mem::replace(&mut chunk, next)) {
            return;
        }
    }
}

/// Lists the lines of `chunk` the reading thread must judge: all but those
/// whose native prefix the filter rejects (they would be skipped unread
/// there, having only ended a text record being gathered).
fn judge(chunk: &mut Chunk, filter: &Filter, rejected: &mut bool) {
    let Chunk { buf, len, kept, .. } = chunk;
    let bytes = &buf[..*len];
    kept.clear();
    let mut keep = |start: usize, end: usize, terminated: bool| {
        let line = &bytes[start..end];
        if native_prefix(line).is_some_and(|p| filter.quick(&p) == Quick::Reject) {
            *rejected = true;
        } else {
            kept.push(Kept {
                start,
                end,
                terminated,
                after_rejected: std::mem::take(rejected),
            });
        }
    };
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', bytes) {
        keep(start, nl, true);
        start = nl + 1;
    }
    if start < bytes.len() {
        keep(start, bytes.len(), false);
    }
}

impl Drop for Prefetch {
    /// Readers ahead waiting for their turn give up: the read is over.
    fn drop(&mut self) {
        self.turn.update(|s| s.over = true);
    }
}
