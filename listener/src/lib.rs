//! The tributary listener: many processes send log records over TCP, UDP
//! or Unix sockets; one listener writes them to one file (or several,
//! routed by level and logger). Python's stdlib `SocketHandler` and
//! `DatagramHandler` work against it unchanged, as does anything that can
//! write a line of JSON to a socket.
//!
//! Embedded in a program, on its own thread:
//!
//! ```
//! use std::io::Write;
//! use tributary_listener::{Listener, OutputSpec};
//!
//! let dir = tempfile::tempdir()?;
//! let log = dir.path().join("app.log");
//! let listener = Listener::builder()
//!     .tcp("127.0.0.1:0")
//!     .output(OutputSpec::file(&log))
//!     .spawn()?;
//! let addr = listener.bound()[0].socket_addr().expect("a TCP input");
//!
//! // Any process: one JSON object per line (or Python's SocketHandler).
//! let mut producer = std::net::TcpStream::connect(addr)?;
//! producer.write_all(b"{\"msg\":\"hello\",\"logger\":\"app\",\"user\":\"ann\"}\n")?;
//! drop(producer);
//!
//! // The counters show it received; a graceful shutdown writes everything
//! // already received.
//! while listener.stats().inputs[0].records < 1 {
//!     std::thread::sleep(std::time::Duration::from_millis(5));
//! }
//! let summary = listener.shutdown()?;
//! assert_eq!(summary.stats.writer.records, 1);
//! let line = std::fs::read_to_string(&log)?;
//! assert!(line.contains(r#""logger":"app","msg":"hello""#));
//! assert!(line.contains(r#""fields":{"user":"ann"}"#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Inside an existing tokio runtime, use [`ListenerBuilder::bind`] and
//! [`Listener::run`] instead. The `tributary` binary (`tributary listen`)
//! is a thin shell over this library; its flags, defaults, readiness lines
//! and signals are the contract in the repository's `docs/contracts.md`.
//!
//! The pipeline: inputs decode frames (length-prefixed native JSON or
//! Python pickle, or newline-delimited JSON) on tokio tasks, route each
//! record to the outputs whose filters take it, format it for each of them
//! there (so formatting runs on every runtime thread, in parallel), and
//! queue the lines on a bounded queue; one writer thread writes them. A
//! native JSON frame that is already exactly the line the native JSON
//! formatter would write is written as it came, unparsed into a record.
//! When the writer falls behind, stream inputs stop reading (backpressure,
//! nothing lost); datagram inputs drop, count, and write a record saying
//! how many.

mod acks;
#[cfg(feature = "http")]
pub mod admin;
pub mod cli;
mod collect;
pub mod config;
mod diag;
mod error;
mod filter;
mod forward;
mod handle;
mod host_name;
#[cfg(feature = "http")]
mod http_server;
mod input;
mod listener;
mod output_lock;
mod passthrough;
mod pid_file;
mod pipeline;
pub mod read;
mod reload;
mod settings;
mod stats;
mod test_hooks;
mod tls;
pub mod units;

pub use collect::settings::{CollectSettings, DEFAULT_CONSUMER};
pub use diag::LOGGER;
pub use error::ListenerError;
pub use filter::{MAX_OUTPUTS, RouteFilter};
pub use forward::settings::{
    DEFAULT_FORWARD_LAG_WARN, DEFAULT_FORWARD_STREAM, DEFAULT_SUBJECT_PREFIX, ForwardAcknowledge,
    ForwardSettings,
};
pub use handle::ListenerHandle;
pub use input::{BoundInput, InputKind};
pub use listener::{Controller, Listener, ListenerBuilder, Summary};
pub use reload::{ReloadError, ReloadReport, ReloadSource};
pub use settings::{
    DEFAULT_HTTP_MAX_BODY, DEFAULT_MAX_CONNECTIONS, DEFAULT_MISSING, DEFAULT_OUT, DEFAULT_PATTERN,
    DEFAULT_QUEUE_CAPACITY, DEFAULT_SYSLOG_MAX_MESSAGE, DEFAULT_TCP, DEFAULT_TLS_HANDSHAKE_TIMEOUT,
    DEFAULT_UDP, DiagnosticsMode, HttpAck, InputSpec, OutputFormat, OutputSpec, RotationSpec,
    Settings, TextFormat, TlsSettings,
};
pub use stats::{
    CommitLatencySnapshot, ForwardSnapshot, InputSnapshot, LastReload, OutputSnapshot, Stats,
    StatsSnapshot, WriterSnapshot,
};
/// Rotation's own types, carried through [`RotationSpec`] as they are.
pub use tributary_rotation::{Compression, When};
