//! The queue: a cheap front end ([`QueueHandler`]) that hands records to one
//! dispatcher thread ([`QueueListener`]) running the slow handlers.

mod dispatcher;
mod draft;
mod line;
mod pool;
mod report;
mod room;
mod scratch;

pub use dispatcher::{QueueBuilder, QueueListener};
pub(crate) use draft::{Draft, SpanFields};
pub(crate) use line::{Line, format_line};
pub(crate) use scratch::{Scratch, set_opt, set_str};

use crate::Handler;
use crate::process;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tributary_core::{Formatter, Level, Record};

/// What a producer does when the queue is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Overflow {
    /// Wait for room: nothing is lost, the producer slows down to the
    /// handlers' pace (backpressure). A producer that finds the queue full
    /// waits until it has drained to half, and producers arriving meanwhile
    /// wait behind it, so a full queue costs a few calls a long wait rather
    /// than every call a short one. The default.
    #[default]
    Block,
    /// Drop the record being logged.
    DropNewest,
    /// Drop the oldest queued record to make room for the new one.
    DropOldest,
}

impl Overflow {
    fn describe(self) -> &'static str {
        match self {
            Overflow::Block => "block",
            Overflow::DropNewest => "drop-newest",
            Overflow::DropOldest => "drop-oldest",
        }
    }
}

/// Counters of a queue, for monitoring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Records dropped by the overflow policy (each drop is also reported
    /// in-band as a record saying how many were dropped).
    pub dropped: u64,
    /// Records logged after the listener stopped; they cannot be written.
    pub lost_after_stop: u64,
    /// Records the dispatcher took off the queue (drop reports included).
    pub processed: u64,
    /// Errors returned by handlers.
    pub handler_errors: u64,
    /// Panics caught in handlers.
    pub handler_panics: u64,
}

/// What travels through the queue. Kept small (records and drafts boxed)
/// because the channel moves every message twice and the dispatcher takes
/// them in batches.
pub(crate) enum Message {
    /// Formatted by the producer: every handler takes the same line.
    Line(Line),
    Record(Box<Record>),
    Draft(Box<Draft>),
    Flush(flume::Sender<()>),
    Stop,
}

impl Message {
    fn is_record(&self) -> bool {
        matches!(
            self,
            Message::Line(_) | Message::Record(_) | Message::Draft(_)
        )
    }
}

pub(crate) struct Shared {
    overflow: Overflow,
    /// The formatter all handlers share when they need nothing but its
    /// output: producers then send formatted lines.
    line_formatter: Option<Arc<dyn Formatter>>,
    /// Written line buffers on their way back to producers.
    pool: pool::Pool,
    /// Producers waiting for a full queue to drain (block policy).
    room: room::Room,
    dropped: AtomicU64,
    unreported: AtomicU64,
    lost_after_stop: AtomicU64,
    processed: AtomicU64,
    handler_errors: AtomicU64,
    handler_panics: AtomicU64,
    said_lost: AtomicBool,
    /// A receiver for evicting the oldest record (drop-oldest only); taken
    /// away when the dispatcher stops so the channel disconnects.
    evict: Mutex<Option<flume::Receiver<Message>>>,
}

impl Shared {
    fn stats(&self) -> QueueStats {
        QueueStats {
            dropped: self.dropped.load(Ordering::Relaxed),
            lost_after_stop: self.lost_after_stop.load(Ordering::Relaxed),
            processed: self.processed.load(Ordering::Relaxed),
            handler_errors: self.handler_errors.load(Ordering::Relaxed),
            handler_panics: self.handler_panics.load(Ordering::Relaxed),
        }
    }

    fn count_drop(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        self.unreported.fetch_add(1, Ordering::Release);
    }

    fn count_lost(&self) {
        self.lost_after_stop.fetch_add(1, Ordering::Relaxed);
        if !self.said_lost.swap(true, Ordering::Relaxed) {
            eprintln!(
                "tributary: a record was logged after the queue listener stopped; it and any later ones are not written (see QueueStats::lost_after_stop)"
            );
        }
    }
}

/// The producer side of a queue: clone it freely; logging costs building
/// the record, formatting it when every handler takes the same formatter's
/// output (see [`Handler::line_formatter`]), and one channel send. Records
/// reach the handlers in the order each thread sent them.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// # let dir = tempfile::tempdir()?;
/// use tributary_handlers::{FileHandler, QueueListener};
/// use tributary_core::{Level, Record};
/// let listener = QueueListener::builder()
///     .handler(FileHandler::append(dir.path().join("app.log"))?)
///     .start()?;
/// let queue = listener.queue_handler();
/// queue.log(Record::new(Level::INFO, "app", "hello"));
/// drop(listener); // drains the queue and flushes the file
/// # assert!(std::fs::read_to_string(dir.path().join("app.log"))?.contains("hello"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct QueueHandler {
    tx: flume::Sender<Message>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for QueueHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueHandler")
            .field("overflow", &self.shared.overflow)
            .field("queued", &self.tx.len())
            .field("stats", &self.shared.stats())
            .finish()
    }
}

impl QueueHandler {
    /// Queues `record`, first stamping what it lacks of the producer's
    /// identity (thread, sequence number, host, pid, process name).
    pub fn log(&self, mut record: Record) {
        process::stamp(&mut record);
        if let Some(line) = self.format(&record) {
            return self.send(Message::Line(line));
        }
        self.send(Message::Record(Box::new(record)));
    }

    /// The record as the line every handler would write, when the handlers
    /// allow formatting on this thread (see [`Handler::line_formatter`]).
    pub(crate) fn format(&self, record: &Record) -> Option<Line> {
        format_line(
            self.shared.line_formatter.as_deref()?,
            record,
            &self.shared.pool,
        )
    }

    /// Whether producers format records themselves.
    pub(crate) fn formats_lines(&self) -> bool {
        self.shared.line_formatter.is_some()
    }

    pub(crate) fn send_draft(&self, draft: Draft) {
        self.send(Message::Draft(Box::new(draft)));
    }

    pub(crate) fn send_line(&self, line: Line) {
        self.send(Message::Line(line));
    }

    pub(crate) fn send_record(&self, record: Record) {
        self.send(Message::Record(Box::new(record)));
    }

    fn send(&self, msg: Message) {
        match self.shared.overflow {
            Overflow::Block => self.send_waiting(msg),
            Overflow::DropNewest => match self.tx.try_send(msg) {
                Ok(()) => {}
                Err(flume::TrySendError::Full(_)) => self.shared.count_drop(),
                Err(flume::TrySendError::Disconnected(_)) => self.shared.count_lost(),
            },
            Overflow::DropOldest => self.send_evicting(msg),
        }
    }

    /// Queues `msg` if there is room; a closed queue counts it as lost.
    /// Gives it back when the queue is full.
    fn try_queue(&self, msg: Message) -> Result<(), Message> {
        match self.tx.try_send(msg) {
            Ok(()) => Ok(()),
            Err(flume::TrySendError::Disconnected(_)) => {
                self.shared.count_lost();
                Ok(())
            }
            Err(flume::TrySendError::Full(m)) => Err(m),
        }
    }

    /// Sends `msg`, waiting while the queue is full until it has drained
    /// to half (see [`room`]).
    fn send_waiting(&self, mut msg: Message) {
        let room = &self.shared.room;
        // Queue behind producers already asleep: otherwise the others keep
        // the queue near full and a sleeping one never sees it drain.
        if !room.asleep() {
            match self.try_queue(msg) {
                Ok(()) => return,
                Err(m) => msg = m,
            }
        }
        // Counted until the record is queued: a stop that overtakes us
        // (its marker needs only one free slot) waits for it.
        let _pending = room.pending();
        loop {
            room.wait(|| self.tx.len(), || self.tx.is_disconnected());
            match self.try_queue(msg) {
                Ok(()) => return,
                Err(m) => msg = m,
            }
        }
    }

    fn send_evicting(&self, mut msg: Message) {
        loop {
            match self.try_queue(msg) {
                Ok(()) => return,
                Err(m) => msg = m,
            }
            let evicted = match self.shared.evict.lock() {
                Ok(guard) => match guard.as_ref() {
                    Some(rx) => rx.try_recv().ok(),
                    None => return self.shared.count_lost(),
                },
                Err(_) => return self.shared.count_drop(),
            };
            match evicted {
                Some(old) if old.is_record() => self.shared.count_drop(),
                // A flush or stop marker must not be lost: queue it again
                // behind us (it then covers more records, which is harmless).
                Some(marker) => {
                    let requeued = self.tx.send(marker);
                    if requeued.is_err() {
                        return self.shared.count_lost();
                    }
                }
                None => {}
            }
        }
    }

    /// The queue's counters.
    pub fn stats(&self) -> QueueStats {
        self.shared.stats()
    }

    /// Records dropped by the overflow policy so far.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Records waiting in the queue.
    pub fn queued(&self) -> usize {
        self.tx.len()
    }

    pub(crate) fn flush_marker(&self, ack: flume::Sender<()>) -> bool {
        self.tx.send(Message::Flush(ack)).is_ok()
    }
}

/// A queue handler is itself a handler, so one pipeline can feed another
/// (Python's `QueueHandler` is a `Handler` too).
impl Handler for QueueHandler {
    fn name(&self) -> String {
        "queue".into()
    }

    fn level(&self) -> Level {
        Level::NOTSET
    }

    fn handle(&mut self, record: &Record) -> io::Result<()> {
        self.log(record.clone());
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
