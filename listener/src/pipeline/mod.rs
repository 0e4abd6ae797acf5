//! From decoded records to files: a bounded queue, one writer thread,
//! formatters and output sinks.

mod output;
mod queue;
mod sink;
mod writer;

pub(crate) use output::{Output, open_outputs};
pub(crate) use queue::{Batch, Closed, Msg, Queue};
pub(crate) use writer::spawn_writer;
