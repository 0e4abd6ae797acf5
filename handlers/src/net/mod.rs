//! Client handlers that send native frames to a Tributary listener (or any
//! receiver of Python's `SocketHandler`/`DatagramHandler` framing): TCP and
//! Unix stream sockets, UDP and Unix datagram sockets.
//!
//! They do blocking I/O, so run them behind a [`QueueListener`](crate::QueueListener):
//! the caller then never waits on the network. Unlike Python's handlers,
//! records produced while the peer is unreachable are kept in a bounded
//! buffer and sent in order after reconnecting; only overflow beyond the
//! buffer is dropped, and the first thing sent after reconnecting is a
//! record saying how many were dropped.

mod ack;
mod backlog;
mod backoff;
mod conn;
mod datagram;
mod epoch;
mod socket;
mod spool;
#[cfg(feature = "tls")]
mod tls;
#[cfg(feature = "tls")]
mod tls_stream;
mod truncate;

pub use backlog::BufferLimits;
pub use backoff::Backoff;
pub use datagram::DatagramHandler;
pub use socket::SocketHandler;
pub use spool::{SpoolConfig, SpoolSync};
#[cfg(feature = "tls")]
pub use tls::{TlsClientConfig, TlsError};

use crate::filter::{self, Filter};
use crate::process;
use backlog::Backlog;
use backoff::Retry;
use std::sync::Arc;
use std::time::Duration;
use tributary_core::{Formatter, JsonFormatter, Level, Record};

/// What both network handlers share: filters, formatter, retry state and
/// the buffer of undelivered frames.
struct Common {
    level: Level,
    filters: Vec<Box<dyn Filter>>,
    formatter: JsonFormatter,
    /// `formatter` as a queue compares it (see
    /// [`Handler::line_formatter`](crate::Handler::line_formatter)): the
    /// process-wide native instance by default, shared with the file
    /// handlers, so a queue feeding a socket and a file formats each record
    /// once, on the producing thread.
    shared_formatter: Arc<dyn Formatter>,
    backoff: Backoff,
    connect_timeout: Duration,
    write_timeout: Duration,
    limits: BufferLimits,
    retry: Retry,
    backlog: Backlog,
    /// Whether the current outage was reported on stderr.
    outage_reported: bool,
}

impl Common {
    fn new() -> Common {
        Common {
            level: Level::NOTSET,
            filters: Vec::new(),
            formatter: JsonFormatter::native(),
            shared_formatter: crate::handler::default_formatter(),
            backoff: Backoff::default(),
            connect_timeout: Duration::from_secs(1),
            write_timeout: Duration::from_secs(5),
            limits: BufferLimits::default(),
            retry: Retry::default(),
            backlog: Backlog::default(),
            outage_reported: false,
        }
    }

    /// The record that reports `n` dropped records to the peer.
    fn drop_report(&self, target: &str, n: u64) -> Record {
        let mut record = Record::builder(
            Level::WARNING,
            format!("{n} records dropped: {target} was unreachable and the send buffer was full"),
        )
        .logger("tributary.network")
        .field("dropped", n)
        .build();
        process::stamp(&mut record);
        record
    }

    fn outage(&mut self, target: &str, what: &std::io::Error) {
        if !self.outage_reported {
            self.outage_reported = true;
            eprintln!(
                "tributary: {target}: {what}; buffering up to {} records / {} bytes and retrying with backoff",
                self.limits.records, self.limits.bytes
            );
        }
    }

    fn recovered(&mut self, target: &str) {
        if std::mem::take(&mut self.outage_reported) {
            eprintln!(
                "tributary: {target}: connected again; sending {} buffered records ({} dropped in total)",
                self.backlog.len(),
                self.backlog.dropped
            );
        }
    }

    /// The formatter producers may run for this handler: none when a
    /// filter must see the record first.
    fn line_formatter(&self) -> Option<Arc<dyn Formatter>> {
        self.filters
            .is_empty()
            .then(|| self.shared_formatter.clone())
    }

    fn filter<'r>(&self, record: &'r Record) -> Option<std::borrow::Cow<'r, Record>> {
        filter::apply(&self.filters, record)
    }
}

macro_rules! common_builders {
    ($ty:ty) => {
        impl $ty {
            /// Sets the handler's level.
            #[must_use]
            pub fn with_level(mut self, level: tributary_core::Level) -> Self {
                self.common.level = level;
                self
            }

            /// Adds a filter.
            #[must_use]
            pub fn with_filter(mut self, filter: impl crate::filter::Filter + 'static) -> Self {
                self.common.filters.push(Box::new(filter));
                self
            }

            /// The JSON formatter for the frames (default: native profile,
            /// which the Tributary listener decodes).
            #[must_use]
            pub fn with_formatter(mut self, formatter: tributary_core::JsonFormatter) -> Self {
                self.common.shared_formatter = std::sync::Arc::new(formatter.clone());
                self.common.formatter = formatter;
                self
            }

            /// The reconnect schedule (default: Python's 1 s, ×2, 30 s cap).
            #[must_use]
            pub fn with_backoff(mut self, backoff: crate::net::Backoff) -> Self {
                self.common.backoff = backoff;
                self
            }

            /// The connect timeout (default 1 s, as Python).
            #[must_use]
            pub fn with_connect_timeout(mut self, timeout: std::time::Duration) -> Self {
                self.common.connect_timeout = timeout.max(std::time::Duration::from_millis(1));
                self
            }

            /// How long one send may block before the connection is
            /// considered broken (default 5 s).
            #[must_use]
            pub fn with_write_timeout(mut self, timeout: std::time::Duration) -> Self {
                self.common.write_timeout = timeout.max(std::time::Duration::from_millis(1));
                self
            }

            /// Bounds of the buffer kept while the peer is unreachable
            /// (default 100,000 records / 64 MiB).
            #[must_use]
            pub fn with_buffer(mut self, limits: crate::net::BufferLimits) -> Self {
                self.common.limits = limits;
                self
            }

            /// Records dropped because the buffer overflowed during an outage.
            pub fn dropped(&self) -> u64 {
                self.common.backlog.dropped
            }

            /// Records waiting to be sent.
            pub fn buffered(&self) -> usize {
                self.common.backlog.len()
            }
        }
    };
}
pub(crate) use common_builders;
