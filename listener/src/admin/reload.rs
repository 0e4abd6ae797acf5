//! `POST /reload`: what the admin endpoint calls, as a small trait
//! ([`Reload`]) so the endpoint does not depend on how the listener
//! reloads; [`Controller`](crate::Controller) implements it with the same
//! reload SIGHUP does.

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

/// `POST /reload` is the listener's one reload, as SIGHUP's: the
/// configuration file and the start-up flags read again and applied.
impl Reload for crate::Controller {
    fn reload(&self) -> ReloadFuture<'_> {
        // On its own task, as SIGHUP's: a client that hangs up (or gives
        // up waiting) must not stop a reload halfway through.
        let controller = self.clone();
        Box::pin(async move {
            match tokio::spawn(async move { controller.reload().await }).await {
                Ok(Ok(report)) => Ok(ReloadReport(report.to_string())),
                Ok(Err(e)) => Err(ReloadRefused(e.to_string())),
                Err(e) => Err(ReloadRefused(format!("the reload failed: {e}"))),
            }
        })
    }
}

/// An embedding program's own reload ([`Listener::with_reload`](crate::Listener::with_reload)),
/// counted and kept as the last reload like the listener's own, so
/// `tributary_reloads_total` and the status page show it too.
pub(crate) struct Counted {
    pub(crate) inner: std::sync::Arc<dyn Reload>,
    pub(crate) reloads: std::sync::Arc<crate::stats::ReloadCounters>,
}

impl Reload for Counted {
    fn reload(&self) -> ReloadFuture<'_> {
        Box::pin(async move {
            let outcome = self.inner.reload().await;
            match &outcome {
                Ok(report) => self.reloads.record(true, report.0.clone()),
                Err(refused) => self.reloads.record(false, refused.0.clone()),
            }
            outcome
        })
    }
}
