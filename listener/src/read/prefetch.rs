//! Gzip archives decoded ahead, on their own threads: while the reading
//! thread scans one file, the next archives are already being inflated (the
//! bench's "half gzipped" logs are decode-bound on one core). Each decoder
//! hands over 256 KiB chunks through a channel of four, so memory stays
//! bounded whatever the archive's size. Chunks read to their end go back
//! to a pool the decoders of later archives fill again: a fresh 256 KiB
//! allocation per chunk is a fresh `mmap` whose pages all fault in, which
//! cost more system time than the second core saved (bench s12,
//! `cat --threads 1` against the default: 100k page faults for 256 MiB).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex};

use super::position::{FileId, is_gzip};
use super::source::{Source, open_handle};

const CHUNK: usize = 256 * 1024;
const DEPTH: usize = 4;

/// A decoded stream, read from a decoder thread.
pub struct Decoded {
    rx: Receiver<io::Result<Vec<u8>>>,
    /// Where chunks read to their end go, for a decoder to fill again.
    pool: Pool,
    chunk: Vec<u8>,
    at: usize,
}

impl Read for Decoded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    let used = std::mem::replace(&mut self.chunk, chunk);
                    self.pool.put(used);
                    self.at = 0;
                }
                Ok(Err(e)) => return Err(e),
                // The decoder finished: end of stream.
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Drop for Decoded {
    fn drop(&mut self) {
        // The last chunk of an archive is as good as the others.
        self.pool.put(std::mem::take(&mut self.chunk));
    }
}

/// Chunks to fill again, shared by the decoders of one read; never more
/// than the chunks the decoders can have in flight.
#[derive(Clone)]
struct Pool {
    free: Arc<Mutex<Vec<Vec<u8>>>>,
    limit: usize,
}

impl Pool {
    fn take(&self) -> Vec<u8> {
        let mut chunk = match self.free.lock() {
            Ok(mut free) => free.pop().unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        chunk.resize(CHUNK, 0);
        chunk
    }

    fn put(&self, chunk: Vec<u8>) {
        if chunk.capacity() < CHUNK {
            return;
        }
        if let Ok(mut free) = self.free.lock()
            && free.len() < self.limit
        {
            free.push(chunk);
        }
    }
}

/// One archive to decode, and where its chunks go.
struct Job {
    file: File,
    tx: SyncSender<io::Result<Vec<u8>>>,
}

/// Decoders started ahead for the gzip sources of a list.
///
/// The decoding threads live as long as the read: one per archive cost a
/// thread, an allocator arena and freshly faulted buffers per 1 MiB
/// archive. At most `ahead + 1` archives are started (the one being read
/// and `ahead` after it) for `ahead` threads, and they take them in order,
/// so the one being read always has its thread.
pub struct Prefetch {
    pool: Pool,
    ahead: usize,
    started: HashMap<usize, (FileId, Decoded)>,
    next: usize,
    /// To the decoding threads (started with the first archive).
    jobs: Option<Sender<Job>>,
}

impl Prefetch {
    /// Decodes up to `ahead` gzip sources at once, starting at index `from`.
    pub fn new(ahead: usize, from: usize) -> Prefetch {
        Prefetch {
            pool: Pool {
                free: Arc::new(Mutex::new(Vec::new())),
                // Each decoder's channel, the chunk it fills, the one read.
                limit: ahead * (DEPTH + 2),
            },
            ahead,
            started: HashMap::new(),
            next: from,
            jobs: None,
        }
    }

    /// The decoded stream of source `i`, if it was started ahead; starts
    /// decoders for the gzip sources after it.
    pub fn take(&mut self, sources: &[Source], i: usize) -> Option<(FileId, Decoded)> {
        let taken = self.started.remove(&i);
        self.next = self.next.max(i + 1);
        while self.started.len() < self.ahead && self.next < sources.len() {
            let j = self.next;
            self.next += 1;
            if let Source::File(path) = &sources[j]
                && let Ok(file) = File::open(path)
                && is_gzip(&file).unwrap_or(false)
                && let Ok(id) = FileId::of(&file)
            {
                let decoded = self.start(file);
                self.started.insert(j, (id, decoded));
            }
        }
        taken
    }

    fn start(&mut self, file: File) -> Decoded {
        let (tx, rx) = sync_channel(DEPTH);
        let decoded = Decoded {
            rx,
            pool: self.pool.clone(),
            chunk: Vec::new(),
            at: 0,
        };
        if self.jobs.is_none() {
            match self.spawn_threads() {
                Ok(jobs) => self.jobs = Some(jobs),
                Err(e) => {
                    // No thread: the stream reports why when read.
                    let _ = tx.send(Err(e));
                    return decoded;
                }
            }
        }
        if let Some(jobs) = &self.jobs
            && let Err(lost) = jobs.send(Job { file, tx })
        {
            let _ = lost
                .0
                .tx
                .send(Err(io::Error::other("the gzip decoders stopped")));
        }
        decoded
    }

    /// The decoding threads; an error only when not even one starts.
    fn spawn_threads(&self) -> io::Result<Sender<Job>> {
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let mut started = 0;
        for _ in 0..self.ahead {
            let (queue, pool) = (queue.clone(), self.pool.clone());
            let spawned = std::thread::Builder::new()
                .name("tributary-gunzip".into())
                .spawn(move || {
                    loop {
                        // The lock is held while waiting only: decoding runs
                        // beside the other threads.
                        let job = match queue.lock() {
                            Ok(q) => q.recv(),
                            Err(_) => return,
                        };
                        // The sender is gone: the read is over.
                        let Ok(job) = job else { return };
                        decode(job.file, &job.tx, &pool);
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

fn decode(file: File, tx: &SyncSender<io::Result<Vec<u8>>>, pool: &Pool) {
    let mut reader = match open_handle(file) {
        Ok(r) => r,
        Err(e) => {
            let _ = tx.send(Err(e));
            return;
        }
    };
    loop {
        let mut chunk = pool.take();
        let mut filled = 0;
        while filled < CHUNK {
            match reader.read(&mut chunk[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    chunk.truncate(filled);
                    if filled > 0 && tx.send(Ok(chunk)).is_err() {
                        return;
                    }
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
        if filled == 0 {
            pool.put(chunk);
            return;
        }
        chunk.truncate(filled);
        // The reader went away (stdout closed): stop decoding.
        if tx.send(Ok(chunk)).is_err() {
            return;
        }
    }
}
