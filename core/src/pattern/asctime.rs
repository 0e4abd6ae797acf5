//! `asctime`: Python's `Formatter.formatTime`, with the text of the
//! current second cached so most records only copy it.
//!
//! Without a `datefmt` Python writes `time.strftime("%Y-%m-%d %H:%M:%S")`
//! then `,` and the milliseconds as `%03d`; with one it writes only
//! `time.strftime(datefmt)`, which has no sub-second directive. Either way
//! the strftime part changes once per second, so it is made once per second
//! and copied for every record in between. `time.strftime` on Linux is
//! glibc's, in the C locale: that is what [`DateFormat`] implements,
//! including glibc's flags (`%-d`, `%_H`, `%^a`, `%#Z`, widths).

use std::sync::{Mutex, TryLockError};

use jiff::tz::TimeZone;

use super::PatternError;
use crate::Timestamp;

/// Makes `asctime` for records, in one time zone.
pub(crate) struct Clock {
    /// `None`: Python's default, `%Y-%m-%d %H:%M:%S,mmm`.
    datefmt: Option<DateFormat>,
    tz: TimeZone,
    cache: Mutex<Cached>,
}

/// The strftime text of one second.
struct Cached {
    second: Option<i64>,
    text: Vec<u8>,
}

impl Clock {
    pub(crate) fn new(datefmt: Option<DateFormat>, tz: TimeZone) -> Clock {
        Clock {
            datefmt,
            tz,
            cache: Mutex::new(Cached {
                second: None,
                text: Vec::with_capacity(32),
            }),
        }
    }

    pub(crate) fn datefmt(&self) -> Option<&DateFormat> {
        self.datefmt.as_ref()
    }

    pub(crate) fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// Appends `asctime` for a record made at `ts`.
    pub(crate) fn write(&self, ts: Timestamp, out: &mut Vec<u8>) {
        let second = ts.unix_secs();
        let guard = match self.cache.try_lock() {
            Ok(guard) => Some(guard),
            // A panic mid-render left at worst a stale second, which the check below redoes.
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            // Another thread is copying: render directly rather than wait.
            Err(TryLockError::WouldBlock) => None,
        };
        match guard {
            Some(mut cached) => {
                if cached.second != Some(second) {
                    cached.second = None;
                    cached.text.clear();
                    self.render_second(second, &mut cached.text);
                    cached.second = Some(second);
                }
                out.extend_from_slice(&cached.text);
            }
            None => self.render_second(second, out),
        }
        if self.datefmt.is_none() {
            let millis = ts.subsec_nanos() / 1_000_000;
            out.extend_from_slice(&[
                b',',
                b'0' + (millis / 100) as u8,
                b'0' + (millis / 10 % 10) as u8,
                b'0' + (millis % 10) as u8,
            ]);
        }
    }

    /// The strftime part for the second `second` since the epoch.
    fn render_second(&self, second: i64, out: &mut Vec<u8>) {
        // Every i64-nanosecond timestamp is within jiff's range.
        let ts = jiff::Timestamp::from_second(second).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let info = self.tz.to_offset_info(ts);
        let offset = info.offset();
        let civil = offset.to_datetime(ts);
        let iso = civil.date().iso_week_date();
        let tm = Tm {
            year: i64::from(civil.year()),
            month: civil.month() as u8,
            day: civil.day() as u8,
            hour: civil.hour() as u8,
            minute: civil.minute() as u8,
            second: civil.second() as u8,
            weekday: civil.weekday().to_sunday_zero_offset() as u8,
            yday: (civil.day_of_year() - 1) as u16,
            iso_year: i64::from(iso.year()),
            iso_week: iso.week() as u8,
            offset_secs: offset.seconds(),
            epoch: second,
            zone: info.abbreviation(),
        };
        match &self.datefmt {
            Some(format) => format.write(&tm, out),
            None => DEFAULT.iter().for_each(|item| write_item(item, &tm, out)),
        }
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clock")
            .field("datefmt", &self.datefmt.as_ref().map(|d| &d.source))
            .field("tz", &self.tz)
            .finish_non_exhaustive()
    }
}

/// Python's `default_time_format`, `%Y-%m-%d %H:%M:%S`.
const DEFAULT: &[Item] = &[
    Item::dir(Directive::Year),
    Item::Literal(Lit::Static("-")),
    Item::dir(Directive::Month),
    Item::Literal(Lit::Static("-")),
    Item::dir(Directive::Day),
    Item::Literal(Lit::Static(" ")),
    Item::dir(Directive::Hour),
    Item::Literal(Lit::Static(":")),
    Item::dir(Directive::Minute),
    Item::Literal(Lit::Static(":")),
    Item::dir(Directive::Second),
];

/// Broken-down local time, as C's `struct tm`.
struct Tm<'z> {
    year: i64,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    /// 0 = Sunday.
    weekday: u8,
    /// 0-based day of the year.
    yday: u16,
    iso_year: i64,
    iso_week: u8,
    offset_secs: i32,
    epoch: i64,
    zone: &'z str,
}

/// A parsed `datefmt`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DateFormat {
    source: String,
    items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
enum Lit {
    Static(&'static str),
    Owned(Box<str>),
}

#[derive(Clone, Debug, PartialEq)]
enum Item {
    Literal(Lit),
    Directive {
        directive: Directive,
        pad: Pad,
        width: Option<usize>,
        case: Case,
    },
}

impl Item {
    const fn dir(directive: Directive) -> Item {
        Item::Directive {
            directive,
            pad: Pad::Default,
            width: None,
            case: Case::Keep,
        }
    }
}

/// glibc's padding flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pad {
    Default,
    /// `-`.
    None,
    /// `_`.
    Space,
    /// `0`.
    Zero,
}

/// glibc's case flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    Keep,
    /// `^`.
    Upper,
    /// `#`: upper for names, lower for `%p` and `%Z`.
    Swap,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Directive {
    WeekdayShort,
    WeekdayLong,
    MonthShort,
    MonthLong,
    /// `%c`: `%a %b %e %H:%M:%S %Y`.
    DateTime,
    Century,
    Day,
    /// `%D`, `%x`: `%m/%d/%y`.
    DateSlashes,
    DaySpace,
    /// `%F`: `%Y-%m-%d`.
    DateIso,
    IsoYear,
    IsoYearShort,
    Hour,
    Hour12,
    YearDay,
    HourSpace,
    Hour12Space,
    Month,
    Minute,
    Newline,
    AmPm,
    AmPmLower,
    /// `%r`: `%I:%M:%S %p`.
    Time12,
    /// `%R`: `%H:%M`.
    TimeShort,
    EpochSeconds,
    Second,
    Tab,
    /// `%T`, `%X`: `%H:%M:%S`.
    Time,
    WeekdayMonday1,
    WeekOfYearSunday,
    IsoWeek,
    WeekdaySunday0,
    WeekOfYearMonday,
    YearShort,
    Year,
    Offset,
    ZoneName,
    Percent,
}

impl Directive {
    fn from_letter(c: u8) -> Option<Directive> {
        use Directive::*;
        Some(match c {
            b'a' => WeekdayShort,
            b'A' => WeekdayLong,
            b'b' | b'h' => MonthShort,
            b'B' => MonthLong,
            b'c' => DateTime,
            b'C' => Century,
            b'd' => Day,
            b'D' | b'x' => DateSlashes,
            b'e' => DaySpace,
            b'F' => DateIso,
            b'G' => IsoYear,
            b'g' => IsoYearShort,
            b'H' => Hour,
            b'I' => Hour12,
            b'j' => YearDay,
            b'k' => HourSpace,
            b'l' => Hour12Space,
            b'm' => Month,
            b'M' => Minute,
            b'n' => Newline,
            b'p' => AmPm,
            b'P' => AmPmLower,
            b'r' => Time12,
            b'R' => TimeShort,
            b's' => EpochSeconds,
            b'S' => Second,
            b't' => Tab,
            b'T' | b'X' => Time,
            b'u' => WeekdayMonday1,
            b'U' => WeekOfYearSunday,
            b'V' => IsoWeek,
            b'w' => WeekdaySunday0,
            b'W' => WeekOfYearMonday,
            b'y' => YearShort,
            b'Y' => Year,
            b'z' => Offset,
            b'Z' => ZoneName,
            b'%' => Percent,
            _ => return None,
        })
    }
}

const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

impl DateFormat {
    /// Parses a `time.strftime` format; refuses what glibc does not know
    /// (it would print such a directive unchanged, which is never meant).
    pub(crate) fn parse(source: &str) -> Result<DateFormat, PatternError> {
        let err = |at: usize, reason: String| PatternError::Datefmt {
            datefmt: source.to_owned(),
            at,
            reason,
        };
        let b = source.as_bytes();
        let mut items = Vec::new();
        let mut literal_start = 0;
        let mut i = 0;
        while let Some(pos) = memchr::memchr(b'%', &b[i..]) {
            let at = i + pos;
            if at > literal_start {
                items.push(Item::Literal(Lit::Owned(source[literal_start..at].into())));
            }
            let mut j = at + 1;
            let mut pad = Pad::Default;
            let mut case = Case::Keep;
            while let Some(&c) = b.get(j) {
                match c {
                    b'-' => pad = Pad::None,
                    b'_' => pad = Pad::Space,
                    b'0' => pad = Pad::Zero,
                    b'^' => case = Case::Upper,
                    b'#' => case = Case::Swap,
                    _ => break,
                }
                j += 1;
            }
            let digits_start = j;
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            let width = match &source[digits_start..j] {
                "" => None,
                digits => match digits.parse::<usize>() {
                    Ok(w) if w <= 1024 => Some(w),
                    _ => return Err(err(at, format!("width `{digits}` is too large"))),
                },
            };
            // `%E…` and `%O…` pick a locale's alternative forms; the C locale has none.
            if matches!(b.get(j), Some(b'E' | b'O')) {
                j += 1;
            }
            let Some(&letter) = b.get(j) else {
                return Err(err(at, "`%` at the end; write `%%` for a literal %".into()));
            };
            let Some(directive) = Directive::from_letter(letter) else {
                let shown = source[j..].chars().next().unwrap_or('?');
                let hint = if letter == b'f' {
                    "; time.strftime has no sub-second directive: leave datefmt unset for Python's `,mmm`, or put `%(msecs)03d` in the template"
                } else {
                    ""
                };
                return Err(err(at, format!("unknown directive `%{shown}`{hint}")));
            };
            items.push(Item::Directive {
                directive,
                pad,
                width,
                case,
            });
            i = j + 1;
            literal_start = i;
        }
        if literal_start < b.len() {
            items.push(Item::Literal(Lit::Owned(source[literal_start..].into())));
        }
        Ok(DateFormat {
            source: source.to_owned(),
            items,
        })
    }

    /// The format as given.
    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    fn write(&self, tm: &Tm<'_>, out: &mut Vec<u8>) {
        for item in &self.items {
            write_item(item, tm, out);
        }
    }
}

fn write_item(item: &Item, tm: &Tm<'_>, out: &mut Vec<u8>) {
    match item {
        Item::Literal(Lit::Static(s)) => out.extend_from_slice(s.as_bytes()),
        Item::Literal(Lit::Owned(s)) => out.extend_from_slice(s.as_bytes()),
        Item::Directive {
            directive,
            pad,
            width,
            case,
        } => write_directive(*directive, *pad, *width, *case, tm, out),
    }
}

fn write_directive(
    d: Directive,
    pad: Pad,
    width: Option<usize>,
    case: Case,
    tm: &Tm<'_>,
    out: &mut Vec<u8>,
) {
    use Directive::*;
    let hour12 = match tm.hour % 12 {
        0 => 12,
        h => h,
    };
    let am = tm.hour < 12;
    // (value, default width, default pad is space)
    let number = |v: i64, w: usize, space: bool| (v, w, space);
    let num = match d {
        Century => Some(number(tm.year.div_euclid(100), 2, false)),
        Day => Some(number(tm.day.into(), 2, false)),
        DaySpace => Some(number(tm.day.into(), 2, true)),
        IsoYear => Some(number(tm.iso_year, 1, false)),
        IsoYearShort => Some(number(tm.iso_year.rem_euclid(100), 2, false)),
        Hour => Some(number(tm.hour.into(), 2, false)),
        Hour12 => Some(number(hour12.into(), 2, false)),
        YearDay => Some(number(i64::from(tm.yday) + 1, 3, false)),
        HourSpace => Some(number(tm.hour.into(), 2, true)),
        Hour12Space => Some(number(hour12.into(), 2, true)),
        Month => Some(number(tm.month.into(), 2, false)),
        Minute => Some(number(tm.minute.into(), 2, false)),
        EpochSeconds => Some(number(tm.epoch, 1, false)),
        Second => Some(number(tm.second.into(), 2, false)),
        WeekdayMonday1 => Some(number(
            if tm.weekday == 0 {
                7
            } else {
                tm.weekday.into()
            },
            1,
            false,
        )),
        WeekOfYearSunday => Some(number(
            (i64::from(tm.yday) + 7 - i64::from(tm.weekday)) / 7,
            2,
            false,
        )),
        IsoWeek => Some(number(tm.iso_week.into(), 2, false)),
        WeekdaySunday0 => Some(number(tm.weekday.into(), 1, false)),
        WeekOfYearMonday => Some(number(
            (i64::from(tm.yday) + 7 - (i64::from(tm.weekday) + 6) % 7) / 7,
            2,
            false,
        )),
        YearShort => Some(number(tm.year.rem_euclid(100), 2, false)),
        Year => Some(number(tm.year, 1, false)),
        _ => None,
    };
    if let Some((value, default_width, space)) = num {
        let (fill, min) = match pad {
            // glibc: `-` drops the default padding, but an explicit width
            // still pads, with spaces.
            Pad::None => (b' ', width.unwrap_or(0)),
            Pad::Space => (b' ', width.unwrap_or(default_width)),
            Pad::Zero => (b'0', width.unwrap_or(default_width)),
            Pad::Default => (
                if space { b' ' } else { b'0' },
                width.unwrap_or(default_width),
            ),
        };
        let mut buf = itoa::Buffer::new();
        let digits = buf.format(value.unsigned_abs());
        let len = digits.len() + usize::from(value < 0);
        if value < 0 {
            out.push(b'-');
        }
        out.extend(std::iter::repeat_n(fill, min.saturating_sub(len)));
        out.extend_from_slice(digits.as_bytes());
        return;
    }
    let start = out.len();
    let mut upper = case == Case::Upper;
    let mut lower = false;
    match d {
        WeekdayShort => {
            out.extend_from_slice(&WEEKDAYS[usize::from(tm.weekday % 7)].as_bytes()[..3])
        }
        WeekdayLong => out.extend_from_slice(WEEKDAYS[usize::from(tm.weekday % 7)].as_bytes()),
        MonthShort => out.extend_from_slice(
            &MONTHS[usize::from(tm.month.saturating_sub(1) % 12)].as_bytes()[..3],
        ),
        MonthLong => {
            out.extend_from_slice(MONTHS[usize::from(tm.month.saturating_sub(1) % 12)].as_bytes())
        }
        AmPm => out.extend_from_slice(if am { b"AM" } else { b"PM" }),
        AmPmLower => out.extend_from_slice(if am { b"am" } else { b"pm" }),
        ZoneName => out.extend_from_slice(tm.zone.as_bytes()),
        Newline => out.push(b'\n'),
        Tab => out.push(b'\t'),
        Percent => out.push(b'%'),
        Offset => {
            let secs = tm.offset_secs;
            out.push(if secs < 0 { b'-' } else { b'+' });
            let minutes = secs.unsigned_abs() / 60;
            let hhmm = minutes / 60 * 100 + minutes % 60;
            out.extend_from_slice(&[
                b'0' + (hhmm / 1000 % 10) as u8,
                b'0' + (hhmm / 100 % 10) as u8,
                b'0' + (hhmm / 10 % 10) as u8,
                b'0' + (hhmm % 10) as u8,
            ]);
        }
        DateTime => {
            for (i, part) in [WeekdayShort, MonthShort, DaySpace, Time, Year]
                .into_iter()
                .enumerate()
            {
                if i > 0 {
                    out.push(b' ');
                }
                write_directive(part, Pad::Default, None, Case::Keep, tm, out);
            }
        }
        DateSlashes => write_joined(&[Month, Day, YearShort], b'/', tm, out),
        DateIso => write_joined(&[Year, Month, Day], b'-', tm, out),
        Time => write_joined(&[Hour, Minute, Second], b':', tm, out),
        TimeShort => write_joined(&[Hour, Minute], b':', tm, out),
        Time12 => {
            write_joined(&[Hour12, Minute, Second], b':', tm, out);
            out.push(b' ');
            write_directive(AmPm, Pad::Default, None, Case::Keep, tm, out);
        }
        _ => {}
    }
    if case == Case::Swap {
        match d {
            AmPm | ZoneName => lower = true,
            WeekdayShort | WeekdayLong | MonthShort | MonthLong => upper = true,
            _ => {}
        }
    }
    if upper {
        out[start..].make_ascii_uppercase();
    } else if lower {
        out[start..].make_ascii_lowercase();
    }
    if let Some(width) = width {
        let len = out[start..].iter().filter(|b| (**b & 0xc0) != 0x80).count();
        if width > len {
            let fill = if pad == Pad::Zero { b'0' } else { b' ' };
            let n = width - len;
            out.extend(std::iter::repeat_n(fill, n));
            out[start..].rotate_right(n);
        }
    }
}

fn write_joined(parts: &[Directive], sep: u8, tm: &Tm<'_>, out: &mut Vec<u8>) {
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push(sep);
        }
        write_directive(*part, Pad::Default, None, Case::Keep, tm, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(datefmt: Option<&str>, nanos: i64, tz: &str) -> String {
        let format = datefmt.map(|f| DateFormat::parse(f).unwrap());
        let clock = Clock::new(format, TimeZone::get(tz).unwrap());
        let mut out = Vec::new();
        clock.write(Timestamp::from_unix_nanos(nanos), &mut out);
        // A second call hits the cache and must agree.
        let mut again = Vec::new();
        clock.write(Timestamp::from_unix_nanos(nanos), &mut again);
        assert_eq!(out, again);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn default_format_is_pythons() {
        assert_eq!(
            render(None, 1_763_774_682_044_999_999, "UTC"),
            "2025-11-22 01:24:42,044"
        );
        assert_eq!(
            render(None, 1_763_774_682_999_999_999, "America/New_York"),
            "2025-11-21 20:24:42,999"
        );
    }

    #[test]
    fn glibc_directives_in_the_c_locale() {
        // Saturday 2025-11-22 01:24:42 UTC; expected strings come from Python's time.strftime.
        let t = 1_763_774_682_000_000_000;
        assert_eq!(
            render(
                Some("%-d|%_d|%5Y|%^a|%#p|%#Z|%Ey|%Od|%k|%l|%P|%s|%C|%G|%g|%V|%u|%U|%W|%e|%j"),
                t,
                "UTC"
            ),
            "22|22|02025|SAT|am|utc|25|22| 1| 1|am|1763774682|20|2025|25|47|6|46|46|22|326"
        );
        assert_eq!(
            render(Some("%D|%F|%r|%R|%T|%x|%X|%c|%h|%n|%t|%Z|%z|%%"), t, "UTC"),
            "11/22/25|2025-11-22|01:24:42 AM|01:24|01:24:42|11/22/25|01:24:42|Sat Nov 22 01:24:42 2025|Nov|\n|\t|UTC|+0000|%"
        );
        assert_eq!(
            render(Some("%Z %z %A %B"), t, "America/New_York"),
            "EST -0500 Friday November"
        );
        assert_eq!(
            render(Some("%Z %z"), 1_752_000_000_000_000_000, "America/New_York"),
            "EDT -0400"
        );
    }

    #[test]
    fn unknown_directives_are_refused_with_a_hint() {
        let err = DateFormat::parse("%H:%M:%S.%f").unwrap_err().to_string();
        assert!(err.contains("%f") && err.contains("msecs"), "{err}");
        assert!(DateFormat::parse("%Q").is_err());
        assert!(DateFormat::parse("50%").is_err());
    }
}
