//! How a Rust program's log calls become records and reach files, sockets
//! and the Tributary listener without blocking on slow I/O and without
//! losing records silently.
//!
//! (crate docs: see README)

mod file;
pub mod filter;
mod handler;
mod init;
#[cfg(feature = "log")]
mod log_bridge;
pub mod net;
pub mod process;
mod queue;
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
pub use shared_file::{SharedFile, SharedFileHandler};
pub use stream::{StdStream, Stream, StreamHandler};
#[cfg(feature = "tracing")]
pub use tracing_layer::{TributaryLayer, level_of};
