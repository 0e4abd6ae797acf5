//! What a reload changes and starts from: the settings in effect and the
//! inputs running, with what starting a new input takes.

use super::ReloadSource;
use crate::diag::Diag;
use crate::input::{BoundInput, InputTemplate, Serving, StopHandle};
use crate::settings::{InputSpec, Settings};
use crate::stats::{InputCounters, Stats};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

/// A running listener's configuration, held behind one lock so reloads
/// run one at a time.
pub(crate) struct Live {
    /// The settings in effect.
    pub(crate) settings: Settings,
    /// The socket inputs running, in order.
    pub(crate) inputs: Vec<LiveInput>,
    /// What each input shares.
    pub(crate) template: Arc<InputTemplate>,
    /// What starting an input's task takes; `None` until the listener runs
    /// and again once it shuts down (the listener waits for the task guard
    /// it holds).
    pub(crate) serving: Option<Serving>,
    /// Where reloads read the settings from.
    pub(crate) source: Option<ReloadSource>,
    pub(crate) stats: Stats,
    /// The writer's older configurations still open (see
    /// `pipeline::writer::reconfigure`).
    pub(crate) generations: Arc<AtomicUsize>,
    pub(crate) diag: Arc<Diag>,
}

/// One running socket input.
pub(crate) struct LiveInput {
    /// As configured (a port 0 stays 0 here: the same spec is the same
    /// input).
    pub(crate) spec: InputSpec,
    pub(crate) bound: BoundInput,
    pub(crate) counters: Arc<InputCounters>,
    /// How a reload stops it.
    pub(crate) stop: StopHandle,
}

impl Live {
    /// The specs of the inputs running.
    pub(crate) fn inputs_specs(&self) -> Vec<InputSpec> {
        self.inputs.iter().map(|i| i.spec.clone()).collect()
    }
}
