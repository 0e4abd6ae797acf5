//! From decoded records to files: formatting on the input tasks, a bounded
//! queue of formatted lines, one writer thread and the output sinks.

mod batch;
mod commit;
mod encode;
mod output;
mod queue;
mod sink;
mod writer;

pub(crate) use batch::Batch;
pub use commit::CommitLatencySnapshot;
pub(crate) use commit::{CommitLatency, Commits};
pub(crate) use encode::Encoder;
pub(crate) use output::{Output, open_outputs};
pub(crate) use queue::{Closed, Msg, Queue};
pub(crate) use writer::{Reconfigure, spawn_writer};
