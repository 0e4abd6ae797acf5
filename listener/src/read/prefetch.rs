//! Gzip archives decoded ahead, on their own threads: while the reading
//! thread scans one file, the next archives are already being inflated (the
//! bench's "half gzipped" logs are decode-bound on one core). Each decoder
//! hands over 256 KiB chunks through a channel of four, so memory stays
//! bounded whatever the archive's size.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use super::position::{FileId, is_gzip};
use super::source::{Source, open_handle};

const CHUNK: usize = 256 * 1024;
const DEPTH: usize = 4;

/// A decoded stream, read from a decoder thread.
pub struct Decoded {
    rx: Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    at: usize,
}

impl Read for Decoded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    self.chunk = chunk;
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

/// Decoders started ahead for the gzip sources of a list.
pub struct Prefetch {
    ahead: usize,
    started: HashMap<usize, (FileId, Decoded)>,
    next: usize,
}

impl Prefetch {
    /// Decodes up to `ahead` gzip sources at once, starting at index `from`.
    pub fn new(ahead: usize, from: usize) -> Prefetch {
        Prefetch {
            ahead,
            started: HashMap::new(),
            next: from,
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
                self.started.insert(j, (id, spawn(file)));
            }
        }
        taken
    }
}

fn spawn(file: File) -> Decoded {
    let (tx, rx) = sync_channel(DEPTH);
    let spawned = std::thread::Builder::new()
        .name("tributary-gunzip".into())
        .spawn(move || decode(file, &tx));
    if let Err(e) = spawned {
        // No thread: the stream reports why when read.
        let (tx, rx2) = sync_channel(1);
        let _ = tx.send(Err(e));
        return Decoded {
            rx: rx2,
            chunk: Vec::new(),
            at: 0,
        };
    }
    Decoded {
        rx,
        chunk: Vec::new(),
        at: 0,
    }
}

fn decode(file: File, tx: &SyncSender<io::Result<Vec<u8>>>) {
    let mut reader = match open_handle(file) {
        Ok(r) => r,
        Err(e) => {
            let _ = tx.send(Err(e));
            return;
        }
    };
    loop {
        let mut chunk = vec![0; CHUNK];
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
            return;
        }
        chunk.truncate(filled);
        // The reader went away (stdout closed): stop decoding.
        if tx.send(Ok(chunk)).is_err() {
            return;
        }
    }
}
