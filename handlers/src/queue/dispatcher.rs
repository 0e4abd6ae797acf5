//! The dispatcher thread and its handle.

use super::pool::{Pool, Returns};
use super::report::Reporter;
use super::room::Room;
use super::{Line, Message, Overflow, QueueHandler, QueueStats, Scratch, Shared};
use crate::{Handler, process};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tributary_core::{Formatter, Level, Record};

/// Configures and starts a [`QueueListener`].
#[must_use = "call .start() to run the listener"]
pub struct QueueBuilder {
    capacity: usize,
    overflow: Overflow,
    handlers: Vec<Box<dyn Handler>>,
    respect_handler_level: bool,
    shutdown_timeout: Option<Duration>,
    retry_interval: Duration,
}

impl Default for QueueBuilder {
    fn default() -> Self {
        QueueBuilder {
            capacity: 16_384,
            overflow: Overflow::Block,
            handlers: Vec::new(),
            respect_handler_level: true,
            shutdown_timeout: None,
            retry_interval: Duration::from_millis(100),
        }
    }
}

impl QueueBuilder {
    /// How many records the queue holds (default 16,384).
    pub fn capacity(mut self, records: usize) -> Self {
        self.capacity = records.max(1);
        self
    }

    /// What producers do when the queue is full (default [`Overflow::Block`]).
    pub fn overflow(mut self, policy: Overflow) -> Self {
        self.overflow = policy;
        self
    }

    /// Adds a handler; each record goes to every handler in the order added.
    pub fn handler(mut self, handler: impl Handler + 'static) -> Self {
        self.handlers.push(Box::new(handler));
        self
    }

    /// Adds a boxed handler.
    pub fn boxed_handler(mut self, handler: Box<dyn Handler>) -> Self {
        self.handlers.push(handler);
        self
    }

    /// Whether a handler only gets records at or above its level (default
    /// `true`). Python's `QueueListener` defaults to `false`, which makes a
    /// handler's level silently ineffective behind a queue.
    pub fn respect_handler_level(mut self, respect: bool) -> Self {
        self.respect_handler_level = respect;
        self
    }

    /// How long dropping the [`QueueListener`] may wait for the queue to
    /// drain and the handlers to flush (default: as long as it takes, so
    /// nothing logged before the drop is lost). On timeout the dispatcher
    /// keeps running in the background.
    pub fn shutdown_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// How often, while idle, the dispatcher retries handlers that hold
    /// undelivered output (a socket waiting to reconnect). Default 100 ms.
    pub fn retry_interval(mut self, interval: Duration) -> Self {
        self.retry_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Starts the dispatcher thread.
    pub fn start(self) -> std::io::Result<QueueListener> {
        let (tx, rx) = flume::bounded(self.capacity);
        let shared = Arc::new(Shared {
            overflow: self.overflow,
            line_formatter: common_line_formatter(&self.handlers),
            pool: Pool::new(self.capacity),
            room: Room::new(self.capacity),
            dropped: AtomicU64::new(0),
            unreported: AtomicU64::new(0),
            lost_after_stop: AtomicU64::new(0),
            processed: AtomicU64::new(0),
            handler_errors: AtomicU64::new(0),
            handler_panics: AtomicU64::new(0),
            said_lost: AtomicBool::new(false),
            evict: Mutex::new((self.overflow == Overflow::DropOldest).then(|| rx.clone())),
        });
        let levels = self.handlers.iter().map(|h| h.level().no()).collect();
        let names = self.handlers.iter().map(|h| h.name()).collect();
        let dispatcher = Dispatcher {
            rx,
            shared: shared.clone(),
            handlers: self.handlers,
            levels,
            names,
            respect_level: self.respect_handler_level,
            retry_interval: self.retry_interval,
            scratch: Some(Scratch::stamped()),
            reporter: Reporter::default(),
            returns: Returns::default(),
        };
        let (done_tx, done_rx) = flume::bounded::<()>(0);
        let closing = shared.clone();
        let thread = std::thread::Builder::new()
            .name("tributary-queue".into())
            .spawn(move || {
                let _done = done_tx;
                dispatcher.run();
                // The receivers are gone: producers waiting for room must
                // find the queue closed now, not at their next recheck.
                closing.room.release(None);
            })?;
        Ok(QueueListener {
            queue: QueueHandler { tx, shared },
            thread: Some(thread),
            done: done_rx,
            timeout: self.shutdown_timeout,
        })
    }
}

/// The formatter every handler needs nothing but the output of, if they all
/// share one: producers then format (see [`Handler::line_formatter`]).
fn common_line_formatter(handlers: &[Box<dyn Handler>]) -> Option<Arc<dyn Formatter>> {
    let mut common: Option<Arc<dyn Formatter>> = None;
    for handler in handlers {
        let formatter = handler.line_formatter()?;
        match &common {
            None => common = Some(formatter),
            Some(c) if Arc::ptr_eq(c, &formatter) => {}
            Some(_) => return None,
        }
    }
    common
}

/// The running dispatcher: a guard whose drop drains everything already
/// queued, flushes and closes every handler, and joins the thread.
///
/// Stopping twice is safe. Records logged after the stop are counted in
/// [`QueueStats::lost_after_stop`], never blocked on.
#[must_use = "dropping the listener stops it; keep it alive while logging"]
pub struct QueueListener {
    queue: QueueHandler,
    thread: Option<JoinHandle<()>>,
    done: flume::Receiver<()>,
    timeout: Option<Duration>,
}

impl std::fmt::Debug for QueueListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueListener")
            .field("queue", &self.queue)
            .field("running", &self.thread.is_some())
            .finish()
    }
}

impl QueueListener {
    /// A builder with the defaults: 16,384 records, [`Overflow::Block`],
    /// handler levels respected, no shutdown timeout.
    pub fn builder() -> QueueBuilder {
        QueueBuilder::default()
    }

    /// A producer handle for this queue.
    pub fn queue_handler(&self) -> QueueHandler {
        self.queue.clone()
    }

    /// The queue's counters.
    pub fn stats(&self) -> QueueStats {
        self.queue.stats()
    }

    /// Waits until every record queued before this call is handled and
    /// every handler flushed. `false` if the listener has stopped.
    pub fn flush(&self) -> bool {
        self.flush_inner(None)
    }

    /// [`QueueListener::flush`], giving up after `timeout` (`false`).
    pub fn flush_timeout(&self, timeout: Duration) -> bool {
        self.flush_inner(Some(timeout))
    }

    fn flush_inner(&self, timeout: Option<Duration>) -> bool {
        if self.thread.is_none() {
            return false;
        }
        let (ack_tx, ack_rx) = flume::bounded(1);
        if !self.queue.flush_marker(ack_tx) {
            return false;
        }
        match timeout {
            Some(t) => ack_rx.recv_timeout(t).is_ok(),
            None => ack_rx.recv().is_ok(),
        }
    }

    /// Drains the queue, flushes and closes the handlers and joins the
    /// dispatcher, waiting as long as the builder's `shutdown_timeout`
    /// allows. `true` when everything was written in time. Safe to call twice.
    pub fn stop(&mut self) -> bool {
        self.stop_timeout_inner(self.timeout)
    }

    /// [`QueueListener::stop`] with an explicit timeout.
    pub fn stop_timeout(&mut self, timeout: Duration) -> bool {
        self.stop_timeout_inner(Some(timeout))
    }

    fn stop_timeout_inner(&mut self, timeout: Option<Duration>) -> bool {
        let Some(thread) = self.thread.take() else {
            return true;
        };
        let deadline = timeout.map(|t| Instant::now() + t);
        let sent = match deadline {
            Some(d) => self.queue.tx.send_deadline(Message::Stop, d).is_ok(),
            None => self.queue.tx.send(Message::Stop).is_ok(),
        };
        if !sent && !self.queue.tx.is_disconnected() {
            return false; // timed out: the dispatcher carries on in the background
        }
        let finished = match deadline {
            Some(d) => !matches!(
                self.done.recv_deadline(d),
                Err(flume::RecvTimeoutError::Timeout)
            ),
            None => true,
        };
        if finished {
            let _ = thread.join();
        }
        finished
    }
}

impl Drop for QueueListener {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Dispatcher {
    rx: flume::Receiver<Message>,
    shared: Arc<Shared>,
    handlers: Vec<Box<dyn Handler>>,
    levels: Vec<i32>,
    names: Vec<String>,
    respect_level: bool,
    retry_interval: Duration,
    scratch: Option<Scratch>,
    reporter: Reporter,
    returns: Returns,
}

/// How long the queue must stay empty before handlers are flushed and the
/// dispatcher goes to sleep: a producer about as fast as the handlers would
/// otherwise cause one `write(2)` per record.
const IDLE_FLUSH: Duration = Duration::from_millis(1);
/// The longest buffered output waits under a steady stream of records.
const MAX_FLUSH_DELAY: Duration = Duration::from_millis(50);
/// The pause between looks at a queue that was busy a moment ago. Sleeping
/// instead of blocking on the channel means a producer never finds the
/// dispatcher waiting, so no log call pays for waking it (a futex system
/// call).
const POLL: Duration = Duration::from_micros(200);
/// Records taken between two hand-backs of written line buffers.
const RETURN_EVERY: usize = 256;
/// A batch this large (or half the queue, if smaller) means producers keep
/// the queue busy, maybe waiting for room: look again at once.
const BUSY_BATCH: usize = 256;

enum Step {
    Continue,
    Stop,
}

impl Dispatcher {
    fn run(mut self) {
        // A handle of our own, so batches can be taken while `self` is
        // borrowed mutably by the handlers.
        let rx = self.rx.clone();
        let busy = BUSY_BATCH
            .min(rx.capacity().unwrap_or(BUSY_BATCH) / 2)
            .max(1);
        // One queue's worth at most, so a flood cannot starve flushing.
        let batch_limit = rx.capacity().unwrap_or(usize::MAX);
        // When output was first buffered without a flush since.
        let mut dirty_since: Option<Instant> = None;
        // When the queue was first found empty since the last record.
        let mut quiet_since: Option<Instant> = None;
        loop {
            let mut taken = 0usize;
            // One message per lock (`try_iter`), not `drain`: that takes the
            // channel's whole buffer, which producers then grow again
            // under the channel's lock, in the middle of log calls.
            let mut batch = rx.try_iter().take(batch_limit);
            for msg in batch.by_ref() {
                taken += 1;
                if let Step::Stop = self.process(msg) {
                    return self.finish(batch);
                }
                self.make_room(taken);
                if taken.is_multiple_of(RETURN_EVERY) {
                    // Written buffers back to producers while the batch goes
                    // on: held until its end, they would double the buffers
                    // in circulation (all new memory, page by page).
                    self.returns.give_back(&self.shared.pool);
                }
            }
            drop(batch);
            self.make_room(0);
            self.returns.give_back(&self.shared.pool);
            let now = Instant::now();
            if taken > 0 {
                quiet_since = None;
                let since = *dirty_since.get_or_insert(now);
                if now.duration_since(since) >= MAX_FLUSH_DELAY {
                    self.flush_all();
                    dirty_since = None;
                }
                if taken < busy {
                    std::thread::sleep(POLL);
                }
                continue;
            }
            let quiet = *quiet_since.get_or_insert(now);
            if now.duration_since(quiet) < IDLE_FLUSH {
                std::thread::sleep(POLL);
                continue;
            }
            if dirty_since.take().is_some() {
                self.flush_all();
            }
            // Quiet: block until the next message, waking periodically
            // while a handler holds undelivered output.
            let next = if self.handlers.iter().any(|h| h.has_backlog()) {
                rx.recv_timeout(self.retry_interval)
            } else {
                rx.recv().map_err(|_| flume::RecvTimeoutError::Disconnected)
            };
            match next {
                Ok(msg) => {
                    quiet_since = None;
                    dirty_since = Some(Instant::now());
                    if let Step::Stop = self.process(msg) {
                        return self.finish(std::iter::empty());
                    }
                    self.returns.give_back(&self.shared.pool);
                }
                Err(flume::RecvTimeoutError::Timeout) => self.flush_all(),
                Err(flume::RecvTimeoutError::Disconnected) => break,
            }
        }
        self.finish(std::iter::empty());
    }

    /// Lets producers waiting for room go on once the queue has drained to
    /// half. Looks at the queue's length (a lock) every 64 records taken,
    /// and at the end of a batch (`taken` 0).
    fn make_room(&self, taken: usize) {
        if taken.is_multiple_of(64) && self.shared.room.asleep() {
            self.shared.room.release(Some(self.rx.len()));
        }
    }

    fn process(&mut self, msg: Message) -> Step {
        match msg {
            Message::Line(line) => {
                self.shared.processed.fetch_add(1, Ordering::Relaxed);
                self.dispatch_line(&line);
                self.returns.keep(line.bytes);
                self.report_drops();
            }
            Message::Record(record) => self.dispatch_owned(&record),
            Message::Draft(draft) => {
                let mut scratch = self.scratch.take().unwrap_or_else(Scratch::stamped);
                draft.fill(&mut scratch);
                self.dispatch_owned(&scratch.record);
                self.scratch = Some(scratch);
            }
            Message::Flush(ack) => {
                self.report_drops();
                self.flush_all();
                let _ = ack.send(());
            }
            Message::Stop => return Step::Stop,
        }
        Step::Continue
    }

    fn dispatch_owned(&mut self, record: &Record) {
        self.shared.processed.fetch_add(1, Ordering::Relaxed);
        self.dispatch(record);
        self.report_drops();
    }

    /// Writes the in-band drop report as soon as the queue has made room.
    fn report_drops(&mut self) {
        if self.shared.unreported.load(Ordering::Acquire) == 0 {
            return;
        }
        let n = self.shared.unreported.swap(0, Ordering::AcqRel);
        if n == 0 {
            return;
        }
        let mut record = Record::builder(
            Level::WARNING,
            format!(
                "{n} records dropped: the log queue was full (overflow policy {})",
                self.shared.overflow.describe()
            ),
        )
        .logger("tributary.queue")
        .field("dropped", n)
        .build();
        process::stamp(&mut record);
        self.shared.processed.fetch_add(1, Ordering::Relaxed);
        self.dispatch(&record);
    }

    fn dispatch(&mut self, record: &Record) {
        let level = record.level.no();
        for i in 0..self.handlers.len() {
            if self.respect_level && level < self.levels[i] {
                continue;
            }
            let handler = &mut self.handlers[i];
            let outcome = catch_unwind(AssertUnwindSafe(|| handler.handle(record)));
            self.check(i, outcome);
        }
    }

    fn dispatch_line(&mut self, line: &Line) {
        for i in 0..self.handlers.len() {
            if self.respect_level && line.level < self.levels[i] {
                continue;
            }
            let handler = &mut self.handlers[i];
            let outcome = catch_unwind(AssertUnwindSafe(|| handler.handle_formatted(&line.bytes)));
            self.check(i, outcome);
        }
    }

    /// Counts and reports what went wrong when handler `i` handled a record.
    fn check(&mut self, i: usize, outcome: std::thread::Result<std::io::Result<()>>) {
        self.report_outcome(i, Op::Handle, outcome);
    }

    /// Counts an error or a panic of handler `i` and reports it (rate-limited).
    fn report_outcome(
        &mut self,
        i: usize,
        op: Op,
        outcome: std::thread::Result<std::io::Result<()>>,
    ) {
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                self.shared.handler_errors.fetch_add(1, Ordering::Relaxed);
                let (kind, what) = match op {
                    Op::Handle => (format!("{:?}", e.kind()), "cannot write a record"),
                    Op::Flush => (format!("flush {:?}", e.kind()), "cannot flush"),
                };
                self.reporter
                    .report(&self.names[i], &kind, &format_args!("{what}: {e}"));
            }
            Err(panic) => {
                self.shared.handler_panics.fetch_add(1, Ordering::Relaxed);
                let what = panic_message(&panic);
                let message = match op {
                    Op::Handle => format!("handler panicked: {what}; it stays in service"),
                    Op::Flush => format!("handler panicked in flush: {what}"),
                };
                self.reporter
                    .report(&self.names[i], "panic", &format_args!("{message}"));
            }
        }
    }

    fn flush_all(&mut self) {
        for i in 0..self.handlers.len() {
            let handler = &mut self.handlers[i];
            let outcome = catch_unwind(AssertUnwindSafe(|| handler.flush()));
            self.report_outcome(i, Op::Flush, outcome);
        }
    }

    /// After the stop marker: handle what producers queued meanwhile (the
    /// rest of the batch holding the marker, then at most one queue's
    /// worth, so a busy producer cannot keep us here), report drops, close
    /// every handler, and disconnect the channel so later producers fail
    /// fast instead of blocking.
    fn finish(mut self, rest_of_batch: impl Iterator<Item = Message>) {
        // Records in the batch are off the channel already: all of them.
        for m in rest_of_batch {
            self.process_after_stop(m);
        }
        // Producers asleep for room logged before the stop reached us (its
        // marker needed one free slot and overtook them): wake them, and
        // wait for their records.
        self.shared.room.release(None);
        let budget = self.rx.capacity().unwrap_or(usize::MAX);
        let mut taken = 0;
        // A producer woken here needs a moment to get a CPU; one that never
        // comes back (blocked elsewhere) must not hold the stop forever.
        let patience = Instant::now() + Duration::from_secs(1);
        while taken < budget {
            match self.rx.try_recv() {
                Ok(m) => {
                    taken += 1;
                    self.process_after_stop(m);
                    self.make_room(taken);
                }
                Err(flume::TryRecvError::Empty)
                    if self.shared.room.pending_count() > 0 && Instant::now() < patience =>
                {
                    self.make_room(0);
                    std::thread::sleep(Duration::from_micros(50));
                }
                Err(_) => break,
            }
        }
        self.report_drops();
        for i in 0..self.handlers.len() {
            let handler = &mut self.handlers[i];
            match catch_unwind(AssertUnwindSafe(|| handler.close())) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    self.shared.handler_errors.fetch_add(1, Ordering::Relaxed);
                    eprintln!("tributary: {}: cannot close: {e}", self.names[i]);
                }
                Err(_) => {
                    self.shared.handler_panics.fetch_add(1, Ordering::Relaxed);
                    eprintln!(
                        "tributary: {}: handler panicked while closing",
                        self.names[i]
                    );
                }
            }
        }
        // Records queued after that cannot be written any more: counted,
        // so that no loss is silent.
        for m in self.rx.drain() {
            match m {
                Message::Flush(ack) => {
                    let _ = ack.send(());
                }
                m if m.is_record() => self.shared.count_lost(),
                _ => {}
            }
        }
        if let Ok(mut evict) = self.shared.evict.lock() {
            *evict = None;
        }
    }

    /// Handles a message after the stop marker: flushes need only their
    /// answer (the handlers are about to close), and a second stop
    /// changes nothing.
    fn process_after_stop(&mut self, m: Message) {
        if let Message::Flush(ack) = m {
            let _ = ack.send(());
        } else {
            self.process(m);
        }
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// What a handler was doing when it failed, for the report.
#[derive(Clone, Copy)]
enum Op {
    Handle,
    Flush,
}
