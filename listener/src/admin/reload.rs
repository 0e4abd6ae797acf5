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
        Box::pin(async move {
            crate::Controller::reload(self)
                .await
                .map(|report| ReloadReport(report.to_string()))
                .map_err(|e| ReloadRefused(e.to_string()))
        })
    }
}
