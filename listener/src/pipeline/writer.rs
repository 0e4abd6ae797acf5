//! The one writer thread: writes the lines the input tasks formatted, so
//! each file has exactly one writer.

use super::{Msg, Output};
use crate::diag::Diag;
use crate::stats::WriterCounters;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::thread::JoinHandle;
use tokio::sync::Semaphore;
use tributary_core::Level;

struct Writer {
    outputs: Vec<Output>,
    rx: flume::Receiver<Msg>,
    permits: Arc<Semaphore>,
    counters: Arc<WriterCounters>,
    diag: Arc<Diag>,
}

/// Starts the writer thread; it exits after [`Msg::Stop`], having written
/// and flushed everything queued before it.
pub(crate) fn spawn_writer(
    outputs: Vec<Output>,
    rx: flume::Receiver<Msg>,
    permits: Arc<Semaphore>,
    counters: Arc<WriterCounters>,
    diag: Arc<Diag>,
) -> std::io::Result<JoinHandle<()>> {
    let writer = Writer {
        outputs,
        rx,
        permits,
        counters,
        diag,
    };
    std::thread::Builder::new()
        .name("tributary-writer".into())
        .spawn(move || writer.run())
}

impl Writer {
    fn run(mut self) {
        // Block for one message, then take whatever else is queued before
        // flushing: under load few flushes, when idle every record on disk.
        while let Ok(first) = self.rx.recv() {
            let mut next = Some(first);
            while let Some(msg) = next {
                if !self.handle(msg) {
                    self.close();
                    return;
                }
                next = self.rx.try_recv().ok();
            }
            self.flush();
        }
        self.close();
    }

    /// Handles one message; false on `Stop`.
    fn handle(&mut self, msg: Msg) -> bool {
        match msg {
            Msg::Batch { records, permits } => {
                let mut bytes = 0u64;
                for (output, lines) in self.outputs.iter_mut().zip(&records.outputs) {
                    bytes += output.write(lines, |path, e| {
                        self.counters.write_errors.fetch_add(1, Relaxed);
                        self.diag.stderr(
                            Level::ERROR,
                            format_args!("cannot write to {}: {e}", path.display()),
                        );
                    });
                }
                let n = records.records as u64;
                drop(records);
                let rotations = self.outputs.iter().map(Output::rotations).sum();
                self.counters.rotations.store(rotations, Relaxed);
                self.counters.records.fetch_add(n, Relaxed);
                self.counters.bytes.fetch_add(bytes, Relaxed);
                self.counters.queued.fetch_sub(n, Relaxed);
                self.permits.add_permits(permits as usize);
                true
            }
            Msg::Reopen => {
                for output in &mut self.outputs {
                    if let Err(e) = output.reopen() {
                        self.counters.write_errors.fetch_add(1, Relaxed);
                        self.diag.stderr(
                            Level::ERROR,
                            format_args!(
                                "cannot reopen {}: {e}; still writing to the old file",
                                output.path.display()
                            ),
                        );
                    }
                }
                true
            }
            Msg::Stop => false,
        }
    }

    fn flush(&mut self) {
        for output in &mut self.outputs {
            if let Err(e) = output.flush() {
                self.counters.write_errors.fetch_add(1, Relaxed);
                self.diag.stderr(
                    Level::ERROR,
                    format_args!("cannot flush {}: {e}", output.path.display()),
                );
            }
        }
    }

    /// Flushes every output and waits for background compression, so the
    /// archives are complete when the listener exits.
    fn close(&mut self) {
        for output in self.outputs.drain(..) {
            let path = output.path.clone();
            match output.close() {
                Ok(errors) => {
                    for e in errors {
                        self.diag
                            .stderr(Level::ERROR, format_args!("{}: {e}", path.display()));
                    }
                }
                Err(e) => {
                    self.counters.write_errors.fetch_add(1, Relaxed);
                    self.diag.stderr(
                        Level::ERROR,
                        format_args!("cannot flush {}: {e}", path.display()),
                    );
                }
            }
        }
    }
}
