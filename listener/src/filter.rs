//! Which records an output takes: level ranges and logger-name prefixes,
//! like the handler levels and filters of Python's `dictConfig`.

use tributary_core::{Record, logger_matches};

/// Selects records for one output.
///
/// Logger names match hierarchically, as Python's `logging.Filter(name)`
/// does: `app.db` matches `app.db` and `app.db.pool`, not `app.dbx`. An
/// empty filter takes everything.
///
/// ```
/// use tributary_core::{Level, Record};
/// use tributary_listener::RouteFilter;
/// let errors = RouteFilter { min_level: Some(Level::ERROR.no()), ..Default::default() };
/// assert!(errors.accepts(&Record::new(Level::CRITICAL, "app", "boom")));
/// assert!(!errors.accepts(&Record::new(Level::INFO, "app", "fine")));
///
/// let db = RouteFilter { loggers: vec!["app.db".into()], ..Default::default() };
/// assert!(db.accepts(&Record::new(Level::INFO, "app.db.pool", "")));
/// assert!(!db.accepts(&Record::new(Level::INFO, "app.dbx", "")));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteFilter {
    /// Lowest level number taken (inclusive), e.g. 40 for errors and above.
    pub min_level: Option<i32>,
    /// Highest level number taken (inclusive), e.g. 30 to keep errors out.
    pub max_level: Option<i32>,
    /// Logger names (with their descendants) taken; empty means all.
    pub loggers: Vec<String>,
    /// Logger names (with their descendants) refused, even when `loggers`
    /// takes them.
    pub exclude_loggers: Vec<String>,
}

impl RouteFilter {
    /// Whether this output takes `record`.
    pub fn accepts(&self, record: &Record) -> bool {
        self.accepts_parts(record.level.no(), record.logger.as_bytes())
    }

    /// Whether this output takes a record of level number `no` from logger `name`.
    pub(crate) fn accepts_parts(&self, no: i32, name: &[u8]) -> bool {
        if self.min_level.is_some_and(|min| no < min) || self.max_level.is_some_and(|max| no > max)
        {
            return false;
        }
        if !self.loggers.is_empty() && !self.loggers.iter().any(|p| logger_matches(p, name)) {
            return false;
        }
        !self.exclude_loggers.iter().any(|p| logger_matches(p, name))
    }
}

/// A bit per output: which outputs take a record. Computed on the input
/// tasks, which also format, so the writer thread only writes.
pub(crate) type OutputMask = u64;

/// The most outputs one listener writes (each gets one bit of a routing mask).
pub const MAX_OUTPUTS: usize = 64;

/// The filters of every output, in output order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Router {
    filters: Vec<RouteFilter>,
}

impl Router {
    pub(crate) fn new(filters: Vec<RouteFilter>) -> Router {
        Router { filters }
    }

    /// The outputs that take `record`; 0 when none does.
    pub(crate) fn route(&self, record: &Record) -> OutputMask {
        self.route_parts(record.level.no(), record.logger.as_bytes())
    }

    /// The outputs that take a record of level number `no` from logger `name`.
    pub(crate) fn route_parts(&self, no: i32, name: &[u8]) -> OutputMask {
        self.filters
            .iter()
            .enumerate()
            .filter(|(_, f)| f.accepts_parts(no, name))
            .fold(0, |mask, (i, _)| mask | (1 << i))
    }

    /// Every output: for the listener's own notices (drops), which must
    /// not be filtered away.
    pub(crate) fn all(&self) -> OutputMask {
        match self.filters.len() {
            MAX_OUTPUTS => OutputMask::MAX,
            n => (1 << n) - 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tributary_core::Level;

    fn rec(level: Level, logger: &str) -> Record {
        Record::new(level, logger, "m")
    }

    #[test]
    fn level_range_is_inclusive() {
        let f = RouteFilter {
            min_level: Some(20),
            max_level: Some(30),
            ..Default::default()
        };
        assert!(!f.accepts(&rec(Level::DEBUG, "a")));
        assert!(f.accepts(&rec(Level::INFO, "a")));
        assert!(f.accepts(&rec(Level::WARNING, "a")));
        assert!(!f.accepts(&rec(Level::ERROR, "a")));
        assert!(f.accepts(&rec(Level::custom(25, "NOTICE"), "a")));
    }

    #[test]
    fn loggers_match_hierarchically() {
        let f = RouteFilter {
            loggers: vec!["app".into()],
            exclude_loggers: vec!["app.noisy".into()],
            ..Default::default()
        };
        assert!(f.accepts(&rec(Level::INFO, "app.web")));
        // A tracing producer's target descends with `::`.
        assert!(f.accepts(&rec(Level::INFO, "app::db")));
        assert!(!f.accepts(&rec(Level::INFO, "app.noisy::pool")));
        assert!(!f.accepts(&rec(Level::INFO, "application")));
        assert!(!f.accepts(&rec(Level::INFO, "app.noisy.sub")));
        assert!(!f.accepts(&rec(Level::INFO, "other")));
    }

    #[test]
    fn router_sets_one_bit_per_accepting_output() {
        let router = Router::new(vec![
            RouteFilter::default(),
            RouteFilter {
                min_level: Some(40),
                ..Default::default()
            },
            RouteFilter {
                loggers: vec!["db".into()],
                ..Default::default()
            },
        ]);
        assert_eq!(router.route(&rec(Level::INFO, "web")), 0b001);
        assert_eq!(router.route(&rec(Level::ERROR, "web")), 0b011);
        assert_eq!(router.route(&rec(Level::ERROR, "db.pool")), 0b111);
        assert_eq!(router.all(), 0b111);
        assert_eq!(
            Router::new(vec![RouteFilter::default(); 64]).all(),
            u64::MAX
        );
    }
}
