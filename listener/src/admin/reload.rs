//! `POST /reload`: what the admin endpoint calls, as a small trait so the
//! listener's full reload (re-reading the configuration) can be put behind
//! it; until then [`ReopenOutputs`] does what SIGHUP does: reopen every
//! output file.

use crate::pipeline::{Msg, Queue};
use std::future::Future;
use std::pin::Pin;

/// What a reload did, in a sentence for the operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReloadReport(pub String);

/// Why a reload was refused (what was in force stays), in a sentence
/// saying what to fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReloadRefused(pub String);

/// The future a [`Reload`] returns.
pub type ReloadFuture<'a> =
    Pin<Box<dyn Future<Output = Result<ReloadReport, ReloadRefused>> + Send + 'a>>;

/// Something that reloads the running listener (`POST /reload`,
/// `tributary reload`).
pub trait Reload: Send + Sync {
    /// Reloads, and says what was done or why it was refused.
    fn reload(&self) -> ReloadFuture<'_>;
}

/// Reopens every output file, as SIGHUP does (after logrotate renamed
/// them); refused when an output could not be reopened (it goes on in the
/// file it had open).
pub(crate) struct ReopenOutputs {
    pub(crate) queue: Queue,
    pub(crate) outputs: usize,
}

impl Reload for ReopenOutputs {
    fn reload(&self) -> ReloadFuture<'_> {
        Box::pin(async move {
            let (answer, failed) = tokio::sync::oneshot::channel();
            self.queue.control(Msg::ReopenReport(answer));
            match failed.await {
                Ok(failed) if failed.is_empty() => Ok(ReloadReport(format!(
                    "reopened {} output file{}",
                    self.outputs,
                    if self.outputs == 1 { "" } else { "s" }
                ))),
                Ok(failed) => Err(ReloadRefused(format!(
                    "{}; the rest were reopened, and a failed one is written where it was until the next reopen works",
                    failed.join("; ")
                ))),
                Err(_) => Err(ReloadRefused(
                    "the listener is shutting down: its writer has stopped".into(),
                )),
            }
        })
    }
}
