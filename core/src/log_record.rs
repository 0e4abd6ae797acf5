//! Python's `LogRecord` attributes and where each goes in a [`Record`]:
//! one table for every decoder of a record's `__dict__` (the pickles of
//! `SocketHandler`, the form fields of `HTTPHandler`).

use crate::{CompactString, Level, Record, Timestamp};
use std::borrow::Cow;

/// Where a LogRecord attribute goes.
pub(crate) enum Slot {
    Logger,
    Msg,
    LevelName,
    LevelNo,
    File,
    FileName,
    Module,
    Line,
    Func,
    Created,
    /// Whole milliseconds Python computed from the exact clock reading.
    Msecs,
    RelativeCreated,
    Tid,
    Thread,
    Process,
    Pid,
    Exc,
    Stack,
    /// Kept only when not None (Python 3.12+ sends None outside asyncio).
    TaskName,
    /// Derived or always-None attributes: `args`, `exc_info`, `message`,
    /// `asctime`.
    Consumed,
    Field,
}

pub(crate) fn slot(key: &[u8]) -> Slot {
    // Dispatch on length first: a plain string match compares the key with
    // every arm in turn, and this runs for every key of every record.
    match (key.len(), key) {
        (3, b"msg") => Slot::Msg,
        (4, b"name") => Slot::Logger,
        (4, b"args") => Slot::Consumed,
        (5, b"msecs") => Slot::Msecs,
        (6, b"module") => Slot::Module,
        (6, b"lineno") => Slot::Line,
        (6, b"thread") => Slot::Tid,
        (7, b"levelno") => Slot::LevelNo,
        (7, b"created") => Slot::Created,
        (7, b"process") => Slot::Pid,
        (7, b"message" | b"asctime") => Slot::Consumed,
        (8, b"pathname") => Slot::File,
        (8, b"filename") => Slot::FileName,
        (8, b"funcName") => Slot::Func,
        (8, b"exc_text") => Slot::Exc,
        (8, b"taskName") => Slot::TaskName,
        (8, b"exc_info") => Slot::Consumed,
        (9, b"levelname") => Slot::LevelName,
        (10, b"threadName") => Slot::Thread,
        (10, b"stack_info") => Slot::Stack,
        (11, b"processName") => Slot::Process,
        (15, b"relativeCreated") => Slot::RelativeCreated,
        _ => Slot::Field,
    }
}

/// What every LogRecord decoder ends with: the time (`created`, put back
/// within the millisecond Python computed `msecs` from), the logger
/// (`root` when absent) and the level (name and number as sent; a name
/// alone may be a custom level).
pub(crate) fn finish(
    r: &mut Record,
    ts: Option<Timestamp>,
    msecs: Option<f64>,
    logger: Option<CompactString>,
    level_name: Option<Cow<'_, str>>,
    level_no: Option<i32>,
) {
    r.ts = time(ts, msecs);
    r.logger = logger.unwrap_or_else(|| "root".into());
    r.level = level(level_name, level_no);
}

/// The record's time: `created` put back within the millisecond `msecs`
/// names, or now when the dict has no `created`.
pub(crate) fn time(ts: Option<Timestamp>, msecs: Option<f64>) -> Timestamp {
    match (ts, msecs) {
        (Some(ts), Some(ms)) => within_millisecond(ts, ms),
        (ts, _) => ts.unwrap_or_else(Timestamp::now),
    }
}

/// The record's level from `levelname` and `levelno` as sent: a name alone
/// may be a custom level (at INFO's number), neither is INFO.
pub(crate) fn level(name: Option<Cow<'_, str>>, no: Option<i32>) -> Level {
    match (name, no) {
        (Some(name), Some(no)) => Level::from_parts(&name, no),
        (Some(name), None) => Level::from_name(&name)
            .unwrap_or_else(|| Level::custom(Level::INFO.no(), name.into_owned())),
        (None, Some(no)) => Level::from_no(no),
        (None, None) => Level::INFO,
    }
}

/// `created` is a float of about 1.7e9 s, so it cannot hold nanoseconds: read
/// back, it can land a few hundred nanoseconds on the wrong side of a
/// millisecond boundary, and `%(msecs)03d` would then print one less than
/// Python's own formatter. Python computed `msecs` from the exact clock
/// reading, so the time is moved, by at most that rounding, into the
/// millisecond `msecs` names. A `msecs` that disagrees by more (a hand-made
/// dict) leaves the time as `created` says.
pub(crate) fn within_millisecond(ts: Timestamp, msecs: f64) -> Timestamp {
    const MS: i64 = 1_000_000;
    const SLACK: i64 = 1_000; // far above the float's rounding, far below 1 ms
    if !(0.0..1000.0).contains(&msecs) {
        return ts;
    }
    let ms = msecs as i64;
    let nanos = ts.unix_nanos();
    let second = nanos.div_euclid(1_000_000_000) * 1_000_000_000;
    // The named millisecond in this second, or in a neighbour when the
    // rounding crossed a second boundary.
    [second - 1_000_000_000, second, second + 1_000_000_000]
        .into_iter()
        .map(|s| (s + ms * MS, s + ms * MS + MS - 1))
        .map(|(lo, hi)| nanos.clamp(lo, hi))
        .filter(|at| (at - nanos).abs() <= SLACK)
        .min_by_key(|at| (at - nanos).abs())
        .map_or(ts, Timestamp::from_unix_nanos)
}

#[cfg(test)]
mod tests {
    use super::within_millisecond;
    use crate::Timestamp;

    #[test]
    fn created_rounding_is_pulled_into_pythons_millisecond() {
        // 549 ms exactly, read back from the float as 548.999_9xx ms.
        let ts = Timestamp::from_unix_nanos(1_763_784_384_548_999_900);
        let fixed = within_millisecond(ts, 549.0);
        assert_eq!(fixed.unix_nanos(), 1_763_784_384_549_000_000);
        // Across a second boundary.
        let ts = Timestamp::from_unix_nanos(1_763_784_384_999_999_950);
        assert_eq!(
            within_millisecond(ts, 0.0).unix_nanos(),
            1_763_784_385_000_000_000
        );
        // Already consistent: unchanged.
        let ts = Timestamp::from_unix_nanos(1_763_784_384_549_123_456);
        assert_eq!(within_millisecond(ts, 549.0), ts);
        // A msecs that disagrees by more than rounding is not trusted.
        assert_eq!(within_millisecond(ts, 100.0), ts);
        assert_eq!(within_millisecond(ts, f64::NAN), ts);
    }
}
