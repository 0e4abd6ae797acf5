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

/// Where the attribute `key` goes.
///
/// Runs for every key of every record, so it compares words, not strings:
/// the key's length picks a handful of names, and the key read as one or
/// two little-endian integers (overlapping loads, see [`word`]) is matched
/// against theirs (a chain of string comparisons cost about 29
/// instructions per key, this about a third; callgrind,
/// `examples/hot_paths.rs pickle`). Always inlined: the listener's build
/// otherwise called it once per key.
#[inline(always)]
pub(crate) fn slot(key: &[u8]) -> Slot {
    match key.len() {
        3 => match word(key) {
            MSG => Slot::Msg,
            _ => Slot::Field,
        },
        4 => match word(key) {
            NAME => Slot::Logger,
            ARGS => Slot::Consumed,
            _ => Slot::Field,
        },
        5 => match word(key) {
            MSECS => Slot::Msecs,
            _ => Slot::Field,
        },
        6 => match word(key) {
            MODULE => Slot::Module,
            LINENO => Slot::Line,
            THREAD => Slot::Tid,
            _ => Slot::Field,
        },
        7 => match word(key) {
            LEVELNO => Slot::LevelNo,
            CREATED => Slot::Created,
            PROCESS => Slot::Pid,
            MESSAGE | ASCTIME => Slot::Consumed,
            _ => Slot::Field,
        },
        8 => match word(key) {
            PATHNAME => Slot::File,
            FILENAME => Slot::FileName,
            FUNCNAME => Slot::Func,
            EXC_TEXT => Slot::Exc,
            TASKNAME => Slot::TaskName,
            EXC_INFO => Slot::Consumed,
            _ => Slot::Field,
        },
        9..=16 => {
            // The first eight bytes and the last eight (overlapping).
            let (head, tail) = (word(&key[..8]), word(&key[key.len() - 8..]));
            match (key.len(), head, tail) {
                (9, LEVELNAM, EVELNAME) => Slot::LevelName,
                (10, THREADNA, READNAME) => Slot::Thread,
                (10, STACK_IN, ACK_INFO) => Slot::Stack,
                (11, PROCESSN, CESSNAME) => Slot::Process,
                (15, RELATIVE, VECREATED) => Slot::RelativeCreated,
                _ => Slot::Field,
            }
        }
        _ => Slot::Field,
    }
}

/// Up to eight bytes as a little-endian integer, zero-padded: what
/// [`slot`] compares. Two loads that overlap when the length is not a power
/// of two, so no byte is read twice into different places; with the length
/// known where it is inlined, the shifts are constants.
#[inline(always)]
const fn word(b: &[u8]) -> u64 {
    let n = b.len();
    if n >= 8 {
        u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    } else if n >= 4 {
        let lo = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64;
        let hi = u32::from_le_bytes([b[n - 4], b[n - 3], b[n - 2], b[n - 1]]) as u64;
        lo | hi << ((n - 4) * 8)
    } else if n >= 2 {
        let lo = u16::from_le_bytes([b[0], b[1]]) as u64;
        let hi = u16::from_le_bytes([b[n - 2], b[n - 1]]) as u64;
        lo | hi << ((n - 2) * 8)
    } else if n == 1 {
        b[0] as u64
    } else {
        0
    }
}

const MSG: u64 = word(b"msg");
const NAME: u64 = word(b"name");
const ARGS: u64 = word(b"args");
const MSECS: u64 = word(b"msecs");
const MODULE: u64 = word(b"module");
const LINENO: u64 = word(b"lineno");
const THREAD: u64 = word(b"thread");
const LEVELNO: u64 = word(b"levelno");
const CREATED: u64 = word(b"created");
const PROCESS: u64 = word(b"process");
const MESSAGE: u64 = word(b"message");
const ASCTIME: u64 = word(b"asctime");
const PATHNAME: u64 = word(b"pathname");
const FILENAME: u64 = word(b"filename");
const FUNCNAME: u64 = word(b"funcName");
const EXC_TEXT: u64 = word(b"exc_text");
const TASKNAME: u64 = word(b"taskName");
const EXC_INFO: u64 = word(b"exc_info");
// Longer names: their first eight bytes and their last eight.
const LEVELNAM: u64 = word(b"levelnam");
const EVELNAME: u64 = word(b"evelname");
const THREADNA: u64 = word(b"threadNa");
const READNAME: u64 = word(b"readName");
const STACK_IN: u64 = word(b"stack_in");
const ACK_INFO: u64 = word(b"ack_info");
const PROCESSN: u64 = word(b"processN");
const CESSNAME: u64 = word(b"cessName");
const RELATIVE: u64 = word(b"relative");
const VECREATED: u64 = word(b"eCreated");

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

/// The level of a standard `levelname` and `levelno` pair as sent, from
/// the name's bytes (no UTF-8 check, no lookup): what nearly every record
/// carries. `None` for anything else, for [`level`].
pub(crate) fn standard_level(name: &[u8], no: i32) -> Option<Level> {
    match (no, name) {
        (20, b"INFO") => Some(Level::INFO),
        (10, b"DEBUG") => Some(Level::DEBUG),
        (30, b"WARNING") => Some(Level::WARNING),
        (40, b"ERROR") => Some(Level::ERROR),
        (50, b"CRITICAL") => Some(Level::CRITICAL),
        _ => None,
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
    // Already in the named millisecond (most records): nothing to move.
    if (nanos - second) / MS == ms {
        return ts;
    }
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
    use super::{Slot, slot, within_millisecond};
    use crate::Timestamp;

    /// Whether a slot is the expected one.
    type IsSlot = fn(&Slot) -> bool;

    /// Every attribute name and where it goes.
    const NAMES: [(&str, IsSlot); 25] = [
        ("name", |s| matches!(s, Slot::Logger)),
        ("msg", |s| matches!(s, Slot::Msg)),
        ("args", |s| matches!(s, Slot::Consumed)),
        ("levelname", |s| matches!(s, Slot::LevelName)),
        ("levelno", |s| matches!(s, Slot::LevelNo)),
        ("pathname", |s| matches!(s, Slot::File)),
        ("filename", |s| matches!(s, Slot::FileName)),
        ("module", |s| matches!(s, Slot::Module)),
        ("exc_info", |s| matches!(s, Slot::Consumed)),
        ("exc_text", |s| matches!(s, Slot::Exc)),
        ("stack_info", |s| matches!(s, Slot::Stack)),
        ("lineno", |s| matches!(s, Slot::Line)),
        ("funcName", |s| matches!(s, Slot::Func)),
        ("created", |s| matches!(s, Slot::Created)),
        ("msecs", |s| matches!(s, Slot::Msecs)),
        ("relativeCreated", |s| matches!(s, Slot::RelativeCreated)),
        ("thread", |s| matches!(s, Slot::Tid)),
        ("threadName", |s| matches!(s, Slot::Thread)),
        ("processName", |s| matches!(s, Slot::Process)),
        ("process", |s| matches!(s, Slot::Pid)),
        ("taskName", |s| matches!(s, Slot::TaskName)),
        ("message", |s| matches!(s, Slot::Consumed)),
        ("asctime", |s| matches!(s, Slot::Consumed)),
        ("", |s| matches!(s, Slot::Field)),
        ("user", |s| matches!(s, Slot::Field)),
    ];

    #[test]
    fn every_attribute_name_has_its_slot() {
        for (name, is) in NAMES {
            assert!(is(&slot(name.as_bytes())), "{name:?}");
        }
    }

    #[test]
    fn a_name_one_byte_off_is_a_field() {
        // Each byte of each name changed (and each name cut and extended):
        // a word comparison that missed a byte would take one of these.
        for (name, _) in NAMES
            .into_iter()
            .filter(|(n, _)| !n.is_empty() && *n != "user")
        {
            let bytes = name.as_bytes();
            for at in 0..bytes.len() {
                for new in [b'_', b'x', bytes[at] ^ 0x20, 0] {
                    let mut changed = bytes.to_vec();
                    changed[at] = new;
                    if changed != bytes {
                        assert!(matches!(slot(&changed), Slot::Field), "{changed:?}");
                    }
                }
            }
            assert!(
                matches!(slot(&bytes[..bytes.len() - 1]), Slot::Field),
                "{name} cut"
            );
            let longer = [bytes, b"s"].concat();
            assert!(matches!(slot(&longer), Slot::Field), "{name}s");
        }
    }

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
