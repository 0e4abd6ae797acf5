//! Where the writer reads the time, so tests and simulations can drive time
//! rotation without sleeping.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;

/// A source of the current time.
///
/// The writer asks it once per record when a time policy is set, and for
/// `max_age` retention.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that moves only when told to: for tests and replays.
///
/// ```
/// use std::time::Duration;
/// use tributary_rotation::{Clock, ManualClock};
///
/// let clock = ManualClock::new(jiff::Timestamp::from_second(0).unwrap());
/// clock.advance(Duration::from_secs(90));
/// assert_eq!(clock.now().as_second(), 90);
/// ```
pub struct ManualClock {
    now: Mutex<Timestamp>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: Timestamp) -> Self {
        ManualClock {
            now: Mutex::new(start),
        }
    }

    /// Moves the clock to `t` (backwards too).
    pub fn set(&self, t: Timestamp) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = t;
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now = now.saturating_add(d).unwrap_or(*now);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ManualClock").field(&self.now()).finish()
    }
}
