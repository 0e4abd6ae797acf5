//! How a Rust program's log calls become records and reach files, sockets
//! and the Tributary listener without blocking on slow I/O and without
//! losing records silently.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("app.log");
//! use tributary_core::Level;
//! use tributary_handlers::{filter::LevelRange, FileHandler, QueueListener, StreamHandler};
//!
//! // One dispatcher thread does the I/O; producers build the record, format
//! // it when the handlers allow (shared formatter, no filters) and make one
//! // channel send.
//! let listener = QueueListener::builder()
//!     .handler(FileHandler::append(&path)?) // everything to the file
//!     .handler(StreamHandler::stderr().with_level(Level::ERROR)) // errors to stderr
//!     .start()?;
//! let queue = listener.queue_handler(); // Clone + Send: give one to every thread
//! queue.log(tributary_core::Record::new(Level::INFO, "app", "started"));
//! drop(listener); // drains the queue, flushes and closes every handler
//! assert!(std::fs::read_to_string(&path)?.contains(r#""msg":"started""#));
//! # Ok(()) }
//! ```
//!
//! With the `tracing` feature (default), one line sets up the layer, the
//! queue and the handlers: `let _guard = tributary_handlers::init("app.log")?;`
//! or [`builder()`]`.file("app.log").json().init()?`.
//!
//! # What is here
//!
//! - [`Handler`] (handle, flush, close) with a level, [`filter`]s and a
//!   formatter; [`StreamHandler`], [`FileHandler`], `RotatingFileHandler`
//!   (feature `rotation`), [`SharedFileHandler`] (many processes, one file,
//!   `flock`-coordinated rotation), and the network clients in [`net`].
//! - [`QueueListener`]/[`QueueHandler`]: a bounded flume channel with an
//!   [`Overflow`] policy; every drop is counted ([`QueueStats`]) and written
//!   in-band as a record saying how many were dropped. Dropping the listener
//!   drains and flushes; a handler that errors or panics does not stop it.
//!   When every handler needs only the output of one shared formatter (see
//!   [`Handler::line_formatter`]), producers format in parallel and the
//!   dispatcher only writes lines.
//! - Every record carries host, pid, process name, thread id and name and a
//!   per-process `seq` ([`process`]), so a consumer can check for loss and
//!   duplicates.
//! - `TributaryLayer` (feature `tracing`) and `LogBridge` (feature `log`).
//!
//! Semantics follow CPython's `logging.handlers`
//! (<https://github.com/python/cpython/blob/v3.13.0/Lib/logging/handlers.py>);
//! where this crate differs (handler levels respected behind a queue by
//! default, records kept while a socket is down, drops reported), the item's
//! documentation says so.

mod file;
pub mod filter;
mod handler;
mod init;
#[cfg(feature = "log")]
mod log_bridge;
pub mod net;
pub mod process;
mod queue;
#[cfg(feature = "rotation")]
mod rotating;
mod shared_file;
mod stream;
#[cfg(feature = "tracing")]
mod tracing_layer;

pub use file::{AppendFile, FileHandler};
pub use handler::{FormatHandler, Handler, RecordSink};
#[cfg(feature = "tracing")]
pub use init::init;
pub use init::{Builder, InitError, builder};
#[cfg(feature = "log")]
pub use log_bridge::{LogBridge, log_level_of};
pub use queue::{Overflow, QueueBuilder, QueueHandler, QueueListener, QueueStats};
#[cfg(feature = "rotation")]
pub use rotating::{Rotating, RotatingFileHandler};
pub use shared_file::{SharedFile, SharedFileHandler};
pub use stream::{StdStream, Stream, StreamHandler};
#[cfg(feature = "tracing")]
pub use tracing_layer::{TributaryLayer, level_of};
