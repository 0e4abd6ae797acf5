//! A reload's outcome, one line on stderr each (their context is not
//! in-band: a reload is about the listener, not about a record), so an
//! operator who sent SIGHUP sees what happened in the journal. Never
//! rate-limited: each answers a request someone waits on.

use super::Event;
use crate::reload::{ReloadError, ReloadReport};
use std::fmt;
use tributary_core::Level;

/// The new configuration took effect.
pub(crate) struct Reloaded<'a>(pub(crate) &'a ReloadReport);

impl Event for Reloaded<'_> {
    type Context = ();
    const LEVEL: Level = Level::INFO;
    const RATE_LIMITED: bool = false;
    fn describe(&self, _: &(), f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "reloaded: {}", self.0)
    }
}

/// The new configuration was refused; the one in effect stays.
pub(crate) struct Refused<'a>(pub(crate) &'a ReloadError);

impl Event for Refused<'_> {
    type Context = ();
    const LEVEL: Level = Level::ERROR;
    const RATE_LIMITED: bool = false;
    fn describe(&self, _: &(), f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "reload refused, the configuration in effect is kept: {}",
            self.0
        )
    }
}
