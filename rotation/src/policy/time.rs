//! The time trigger, following CPython's `TimedRotatingFileHandler`
//! (<https://github.com/python/cpython/blob/v3.13.0/Lib/logging/handlers.py>),
//! with its DST correction replaced by civil-time arithmetic in a real time
//! zone.

use std::fmt;
use std::str::FromStr;

use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use crate::error::Error;

/// How often time rotation happens: Python's `when` values.
///
/// Parse Python's strings with [`str::parse`] (case-insensitive):
/// `"S"`, `"M"`, `"H"`, `"D"`, `"MIDNIGHT"`, `"W0"` (Monday) … `"W6"` (Sunday).
///
/// `S`, `M`, `H` and `D` count elapsed time from the start of the period (they
/// are not aligned to clock boundaries, as in Python). `Midnight` and `Weekly`
/// follow the wall clock of the configured time zone, so a day that is 23 or
/// 25 hours long because of DST still ends at midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum When {
    /// Every `interval` seconds.
    Seconds,
    /// Every `interval` minutes.
    Minutes,
    /// Every `interval` hours.
    Hours,
    /// Every `interval` × 24 hours.
    Days,
    /// At midnight (or `at_time`) every `interval` days.
    Midnight,
    /// On this weekday every `interval` weeks; without `at_time`, at the
    /// midnight that ends that day, as Python does.
    Weekly(Weekday),
}

impl When {
    fn base_seconds(self) -> i64 {
        match self {
            When::Seconds => 1,
            When::Minutes => 60,
            When::Hours => 3600,
            When::Days | When::Midnight => 86_400,
            When::Weekly(_) => 7 * 86_400,
        }
    }

    /// Python's `suffix` for archive names (a strftime format).
    pub fn suffix_format(self) -> &'static str {
        match self {
            When::Seconds => "%Y-%m-%d_%H-%M-%S",
            When::Minutes => "%Y-%m-%d_%H-%M",
            When::Hours => "%Y-%m-%d_%H",
            When::Days | When::Midnight | When::Weekly(_) => "%Y-%m-%d",
        }
    }
}

impl FromStr for When {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let up = s.to_ascii_uppercase();
        let when = match up.as_str() {
            "S" => When::Seconds,
            "M" => When::Minutes,
            "H" => When::Hours,
            "D" => When::Days,
            "MIDNIGHT" => When::Midnight,
            "W0" => When::Weekly(Weekday::Monday),
            "W1" => When::Weekly(Weekday::Tuesday),
            "W2" => When::Weekly(Weekday::Wednesday),
            "W3" => When::Weekly(Weekday::Thursday),
            "W4" => When::Weekly(Weekday::Friday),
            "W5" => When::Weekly(Weekday::Saturday),
            "W6" => When::Weekly(Weekday::Sunday),
            _ => return Err(Error::InvalidWhen(s.to_string())),
        };
        Ok(when)
    }
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            When::Seconds => f.write_str("S"),
            When::Minutes => f.write_str("M"),
            When::Hours => f.write_str("H"),
            When::Days => f.write_str("D"),
            When::Midnight => f.write_str("MIDNIGHT"),
            When::Weekly(d) => write!(f, "W{}", d.to_monday_zero_offset()),
        }
    }
}

/// The time policy: `when`, `interval`, `at_time` and the zone the wall clock
/// is read in.
#[derive(Debug, Clone)]
pub(crate) struct TimePolicy {
    pub(crate) when: When,
    pub(crate) interval: u32,
    pub(crate) at_time: Option<Time>,
    pub(crate) tz: TimeZone,
}

const DAY: i64 = 86_400;

impl TimePolicy {
    fn interval_seconds(&self) -> i64 {
        self.when.base_seconds() * i64::from(self.interval)
    }

    fn is_calendar(&self) -> bool {
        matches!(self.when, When::Midnight | When::Weekly(_))
    }

    /// The next rollover instant after `t` (Python's `computeRollover`).
    pub(crate) fn compute_rollover(&self, t: i64) -> i64 {
        if !self.is_calendar() {
            return t.saturating_add(self.interval_seconds());
        }
        self.calendar_rollover(t)
            .unwrap_or_else(|| t.saturating_add(self.interval_seconds()))
    }

    /// The rollover after `t` that lies strictly after `now`, as Python's
    /// `doRollover` does after an idle gap.
    pub(crate) fn next_rollover_after(&self, now: i64) -> i64 {
        let mut at = self.compute_rollover(now);
        while at <= now {
            at = at.saturating_add(self.interval_seconds().max(1));
        }
        at
    }

    fn calendar_rollover(&self, t: i64) -> Option<i64> {
        let zdt = Timestamp::from_second(t).ok()?.to_zoned(self.tz.clone());
        let secs_today =
            i64::from(zdt.hour()) * 3600 + i64::from(zdt.minute()) * 60 + i64::from(zdt.second());
        // Python: no at_time means "at 24:00", which makes W0 roll at the end
        // of Monday, while an explicit at_time of 00:00 rolls at its start.
        let rotate_secs = self.at_time.map_or(DAY, |a| {
            i64::from(a.hour()) * 3600 + i64::from(a.minute()) * 60 + i64::from(a.second())
        });
        let mut day: Date = zdt.date();
        if rotate_secs - secs_today <= 0 {
            day = day.tomorrow().ok()?;
        }
        let extra_days = match self.when {
            When::Weekly(dow) => {
                while day.weekday() != dow {
                    day = day.tomorrow().ok()?;
                }
                7 * (i64::from(self.interval) - 1)
            }
            _ => i64::from(self.interval) - 1,
        };
        day = day.checked_add(extra_days.days()).ok()?;
        let at = match self.at_time {
            Some(a) => day.to_datetime(a),
            None => day.tomorrow().ok()?.to_datetime(Time::midnight()),
        };
        self.resolve(at)
    }

    /// Wall-clock time to an instant; a time skipped by DST resolves to the
    /// same instant Python's `datetime.timestamp()` gives (fold=0).
    fn resolve(&self, dt: DateTime) -> Option<i64> {
        let ts = self.tz.to_ambiguous_timestamp(dt).compatible().ok()?;
        Some(ts.as_second())
    }

    /// The instant the period ending at `rollover_at` began: archive names
    /// carry it, as Python's `rolloverAt - interval`.
    pub(crate) fn period_start(&self, rollover_at: i64) -> i64 {
        if !self.is_calendar() {
            return rollover_at.saturating_sub(self.interval_seconds());
        }
        let back = match self.when {
            When::Weekly(_) => 7 * i64::from(self.interval),
            _ => i64::from(self.interval),
        };
        Timestamp::from_second(rollover_at)
            .ok()
            .map(|ts| ts.to_zoned(self.tz.clone()).datetime())
            .and_then(|dt| dt.checked_sub(back.days()).ok())
            .and_then(|dt| self.resolve(dt))
            .unwrap_or_else(|| rollover_at.saturating_sub(self.interval_seconds()))
    }

    /// The archive stamp for the period that began at `start`.
    pub(crate) fn stamp(&self, start: i64) -> String {
        format_stamp(self.when.suffix_format(), &self.tz, start)
    }
}

/// Formats `t` with a strftime `format` in `tz`.
pub(crate) fn format_stamp(format: &str, tz: &TimeZone, t: i64) -> String {
    match Timestamp::from_second(t) {
        Ok(ts) => ts.to_zoned(tz.clone()).strftime(format).to_string(),
        Err(_) => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(when: &str, interval: u32, at: Option<Time>) -> TimePolicy {
        TimePolicy {
            when: when.parse().unwrap(),
            interval,
            at_time: at,
            tz: TimeZone::UTC,
        }
    }

    #[test]
    fn invalid_when() {
        // CPython test_invalid.
        for bad in ["X", "W", "W7", "", "MIDNIGHTS"] {
            assert!(bad.parse::<When>().is_err(), "{bad}");
        }
        assert_eq!("midnight".parse::<When>().unwrap(), When::Midnight);
        assert_eq!("w6".parse::<When>().unwrap(), When::Weekly(Weekday::Sunday));
    }

    #[test]
    fn compute_rollover_generated_cases() {
        // CPython test_compute_rollover_{S,M,H,D,MIDNIGHT,W0}[_interval]:
        // from t=0 (a Thursday) in UTC.
        let cases = [
            ("S", 1),
            ("M", 60),
            ("H", 3600),
            ("D", 86_400),
            ("MIDNIGHT", 86_400),
            ("W0", 4 * 86_400 + 86_400),
        ];
        for (when, exp) in cases {
            assert_eq!(utc(when, 1, None).compute_rollover(0), exp, "{when}");
            let interval = 3;
            let exp3 = if when == "W0" {
                exp + 7 * 86_400 * (interval - 1)
            } else {
                exp * interval
            };
            assert_eq!(
                utc(when, interval as u32, None).compute_rollover(0),
                exp3,
                "{when} interval {interval}"
            );
        }
    }

    #[test]
    fn compute_rollover_daily_attime() {
        // CPython test_compute_rollover_daily_attime.
        let p = utc("MIDNIGHT", 1, None);
        assert_eq!(p.compute_rollover(0), 86_400);
        assert_eq!(p.compute_rollover(86_399), 86_400);
        assert_eq!(p.compute_rollover(86_400), 2 * 86_400);
        let noon = Some(Time::constant(12, 0, 0, 0));
        let p = utc("MIDNIGHT", 1, noon);
        assert_eq!(p.compute_rollover(0), 43_200);
        assert_eq!(p.compute_rollover(43_199), 43_200);
        assert_eq!(p.compute_rollover(43_200), 43_200 + 86_400);
        assert_eq!(p.compute_rollover(13 * 3600), 36 * 3600);
    }

    #[test]
    fn compute_rollover_weekly_attime() {
        // CPython test_compute_rollover_weekly_attime, for every day of a
        // fixed week instead of "today".
        let noon = Some(Time::constant(12, 0, 0, 0));
        for today_days in 0..7i64 {
            let today = (20_000 + today_days) * 86_400;
            let wday = Timestamp::from_second(today)
                .unwrap()
                .to_zoned(TimeZone::UTC)
                .weekday()
                .to_monday_zero_offset() as i64;
            for day in 0..7i64 {
                let p = utc(&format!("W{day}"), 1, noon);
                let mut expected = if wday > day {
                    7 - wday + day
                } else {
                    day - wday
                };
                expected = today + expected * 86_400 + 12 * 3600;
                assert_eq!(p.compute_rollover(today), expected, "W{day} wday {wday}");
                if day == wday {
                    expected += 7 * 86_400;
                }
                assert_eq!(
                    p.compute_rollover(today + 13 * 3600),
                    expected,
                    "W{day} wday {wday} after noon"
                );
            }
        }
    }

    fn est() -> TimeZone {
        TimeZone::posix("EST+05EDT,M3.2.0,M11.1.0").unwrap()
    }

    fn local(when: &str, interval: u32, at: Option<(i8, i8)>) -> TimePolicy {
        TimePolicy {
            when: when.parse().unwrap(),
            interval,
            at_time: at.map(|(h, m)| Time::constant(h, m, 0, 0)),
            tz: est(),
        }
    }

    /// Python's naive `datetime(...).timestamp()` in the test zone (fold=0).
    fn ts(y: i16, mo: i8, d: i8, h: i8, mi: i8, s: i8) -> i64 {
        let dt = jiff::civil::date(y, mo, d).at(h, mi, s, 0);
        est()
            .to_ambiguous_timestamp(dt)
            .compatible()
            .unwrap()
            .as_second()
    }

    type Dt = (i16, i8, i8, i8, i8, i8);

    fn check(p: &TimePolicy, cases: &[(Dt, Dt)]) {
        for &(cur, exp) in cases {
            let (a, b) = (
                ts(cur.0, cur.1, cur.2, cur.3, cur.4, cur.5),
                ts(exp.0, exp.1, exp.2, exp.3, exp.4, exp.5),
            );
            assert_eq!(
                p.compute_rollover(a),
                b,
                "{} from {cur:?}: want {exp:?}, off by {}s",
                p.when,
                p.compute_rollover(a) - b
            );
        }
    }

    #[test]
    fn compute_rollover_midnight_local() {
        // CPython test_compute_rollover_MIDNIGHT_local: DST starts
        // 2012-03-11 02:00 and ends 2012-11-04 02:00.
        check(
            &local("MIDNIGHT", 1, None),
            &[
                ((2012, 3, 10, 23, 59, 59), (2012, 3, 11, 0, 0, 0)),
                ((2012, 3, 11, 0, 0, 0), (2012, 3, 12, 0, 0, 0)),
                ((2012, 3, 11, 1, 0, 0), (2012, 3, 12, 0, 0, 0)),
                ((2012, 11, 3, 23, 59, 59), (2012, 11, 4, 0, 0, 0)),
                ((2012, 11, 4, 0, 0, 0), (2012, 11, 5, 0, 0, 0)),
                ((2012, 11, 4, 1, 0, 0), (2012, 11, 5, 0, 0, 0)),
            ],
        );
        check(
            &local("MIDNIGHT", 1, Some((12, 0))),
            &[
                ((2012, 3, 10, 11, 59, 59), (2012, 3, 10, 12, 0, 0)),
                ((2012, 3, 10, 12, 0, 0), (2012, 3, 11, 12, 0, 0)),
                ((2012, 3, 10, 13, 0, 0), (2012, 3, 11, 12, 0, 0)),
                ((2012, 11, 3, 11, 59, 59), (2012, 11, 3, 12, 0, 0)),
                ((2012, 11, 3, 12, 0, 0), (2012, 11, 4, 12, 0, 0)),
                ((2012, 11, 3, 13, 0, 0), (2012, 11, 4, 12, 0, 0)),
            ],
        );
        // 02:00 and 02:30 do not exist on 2012-03-11.
        check(
            &local("MIDNIGHT", 1, Some((2, 0))),
            &[
                ((2012, 3, 10, 1, 59, 59), (2012, 3, 10, 2, 0, 0)),
                ((2012, 3, 10, 2, 0, 0), (2012, 3, 11, 3, 0, 0)),
                ((2012, 3, 10, 3, 0, 0), (2012, 3, 11, 3, 0, 0)),
                ((2012, 11, 3, 1, 59, 59), (2012, 11, 3, 2, 0, 0)),
                ((2012, 11, 3, 2, 0, 0), (2012, 11, 4, 2, 0, 0)),
                ((2012, 11, 3, 3, 0, 0), (2012, 11, 4, 2, 0, 0)),
            ],
        );
        check(
            &local("MIDNIGHT", 1, Some((2, 30))),
            &[
                ((2012, 3, 10, 2, 29, 59), (2012, 3, 10, 2, 30, 0)),
                ((2012, 3, 10, 2, 30, 0), (2012, 3, 11, 3, 30, 0)),
                ((2012, 3, 10, 3, 0, 0), (2012, 3, 11, 3, 30, 0)),
                ((2012, 11, 3, 2, 29, 59), (2012, 11, 3, 2, 30, 0)),
                ((2012, 11, 3, 2, 30, 0), (2012, 11, 4, 2, 30, 0)),
                ((2012, 11, 3, 3, 0, 0), (2012, 11, 4, 2, 30, 0)),
            ],
        );
        // 01:30 happens twice on 2012-11-04; only the first one rotates.
        check(
            &local("MIDNIGHT", 1, Some((1, 30))),
            &[
                ((2012, 3, 11, 1, 29, 59), (2012, 3, 11, 1, 30, 0)),
                ((2012, 3, 11, 1, 30, 0), (2012, 3, 12, 1, 30, 0)),
                ((2012, 3, 11, 1, 59, 59), (2012, 3, 12, 1, 30, 0)),
                ((2012, 3, 11, 3, 0, 0), (2012, 3, 12, 1, 30, 0)),
                ((2012, 3, 11, 3, 30, 0), (2012, 3, 12, 1, 30, 0)),
                ((2012, 11, 4, 1, 29, 59), (2012, 11, 4, 1, 30, 0)),
                ((2012, 11, 4, 1, 30, 0), (2012, 11, 5, 1, 30, 0)),
                ((2012, 11, 4, 1, 59, 59), (2012, 11, 5, 1, 30, 0)),
                ((2012, 11, 4, 2, 0, 0), (2012, 11, 5, 1, 30, 0)),
                ((2012, 11, 4, 2, 30, 0), (2012, 11, 5, 1, 30, 0)),
            ],
        );
    }

    #[test]
    fn compute_rollover_w6_local() {
        // CPython test_compute_rollover_W6_local: 2012-03-11 and 2012-11-04
        // are Sundays.
        check(
            &local("W6", 1, None),
            &[
                ((2012, 3, 4, 23, 59, 59), (2012, 3, 5, 0, 0, 0)),
                ((2012, 3, 5, 0, 0, 0), (2012, 3, 12, 0, 0, 0)),
                ((2012, 3, 5, 1, 0, 0), (2012, 3, 12, 0, 0, 0)),
                ((2012, 3, 11, 23, 59, 59), (2012, 3, 12, 0, 0, 0)),
                ((2012, 3, 12, 0, 0, 0), (2012, 3, 19, 0, 0, 0)),
                ((2012, 10, 28, 23, 59, 59), (2012, 10, 29, 0, 0, 0)),
                ((2012, 10, 29, 0, 0, 0), (2012, 11, 5, 0, 0, 0)),
                ((2012, 11, 4, 23, 59, 59), (2012, 11, 5, 0, 0, 0)),
                ((2012, 11, 5, 0, 0, 0), (2012, 11, 12, 0, 0, 0)),
            ],
        );
        check(
            &local("W6", 1, Some((0, 0))),
            &[
                ((2012, 3, 10, 23, 59, 59), (2012, 3, 11, 0, 0, 0)),
                ((2012, 3, 11, 0, 0, 0), (2012, 3, 18, 0, 0, 0)),
                ((2012, 3, 11, 1, 0, 0), (2012, 3, 18, 0, 0, 0)),
                ((2012, 11, 3, 23, 59, 59), (2012, 11, 4, 0, 0, 0)),
                ((2012, 11, 4, 0, 0, 0), (2012, 11, 11, 0, 0, 0)),
                ((2012, 11, 4, 1, 0, 0), (2012, 11, 11, 0, 0, 0)),
            ],
        );
        check(
            &local("W6", 1, Some((2, 0))),
            &[
                ((2012, 3, 4, 1, 59, 59), (2012, 3, 4, 2, 0, 0)),
                ((2012, 3, 4, 2, 0, 0), (2012, 3, 11, 3, 0, 0)),
                ((2012, 3, 4, 3, 0, 0), (2012, 3, 11, 3, 0, 0)),
                ((2012, 10, 28, 1, 59, 59), (2012, 10, 28, 2, 0, 0)),
                ((2012, 10, 28, 2, 0, 0), (2012, 11, 4, 2, 0, 0)),
                ((2012, 10, 28, 3, 0, 0), (2012, 11, 4, 2, 0, 0)),
            ],
        );
    }

    #[test]
    fn compute_rollover_local_interval() {
        // CPython test_compute_rollover_MIDNIGHT_local_interval and
        // _W6_local_interval: interval=3 across the DST switches.
        check(
            &local("MIDNIGHT", 3, None),
            &[
                ((2012, 3, 8, 23, 59, 59), (2012, 3, 11, 0, 0, 0)),
                ((2012, 3, 9, 0, 0, 0), (2012, 3, 12, 0, 0, 0)),
                ((2012, 3, 9, 1, 0, 0), (2012, 3, 12, 0, 0, 0)),
                ((2012, 3, 10, 23, 59, 59), (2012, 3, 13, 0, 0, 0)),
                ((2012, 3, 11, 0, 0, 0), (2012, 3, 14, 0, 0, 0)),
                ((2012, 3, 11, 1, 0, 0), (2012, 3, 14, 0, 0, 0)),
                ((2012, 11, 1, 23, 59, 59), (2012, 11, 4, 0, 0, 0)),
                ((2012, 11, 2, 0, 0, 0), (2012, 11, 5, 0, 0, 0)),
                ((2012, 11, 3, 23, 59, 59), (2012, 11, 6, 0, 0, 0)),
                ((2012, 11, 4, 0, 0, 0), (2012, 11, 7, 0, 0, 0)),
                ((2012, 11, 4, 1, 0, 0), (2012, 11, 7, 0, 0, 0)),
            ],
        );
        check(
            &local("MIDNIGHT", 3, Some((12, 0))),
            &[
                ((2012, 3, 8, 11, 59, 59), (2012, 3, 10, 12, 0, 0)),
                ((2012, 3, 8, 12, 0, 0), (2012, 3, 11, 12, 0, 0)),
                ((2012, 3, 8, 13, 0, 0), (2012, 3, 11, 12, 0, 0)),
                ((2012, 3, 10, 11, 59, 59), (2012, 3, 12, 12, 0, 0)),
                ((2012, 3, 10, 12, 0, 0), (2012, 3, 13, 12, 0, 0)),
                ((2012, 3, 10, 13, 0, 0), (2012, 3, 13, 12, 0, 0)),
                ((2012, 11, 1, 11, 59, 59), (2012, 11, 3, 12, 0, 0)),
                ((2012, 11, 1, 12, 0, 0), (2012, 11, 4, 12, 0, 0)),
                ((2012, 11, 3, 12, 0, 0), (2012, 11, 6, 12, 0, 0)),
            ],
        );
        check(
            &local("W6", 3, None),
            &[
                ((2012, 2, 19, 23, 59, 59), (2012, 3, 5, 0, 0, 0)),
                ((2012, 2, 20, 0, 0, 0), (2012, 3, 12, 0, 0, 0)),
                ((2012, 3, 4, 23, 59, 59), (2012, 3, 19, 0, 0, 0)),
                ((2012, 3, 5, 0, 0, 0), (2012, 3, 26, 0, 0, 0)),
                ((2012, 10, 14, 23, 59, 59), (2012, 10, 29, 0, 0, 0)),
                ((2012, 10, 15, 0, 0, 0), (2012, 11, 5, 0, 0, 0)),
                ((2012, 10, 28, 23, 59, 59), (2012, 11, 12, 0, 0, 0)),
            ],
        );
        check(
            &local("W6", 3, Some((12, 0))),
            &[
                ((2012, 2, 26, 11, 59, 59), (2012, 3, 11, 12, 0, 0)),
                ((2012, 2, 26, 12, 0, 0), (2012, 3, 18, 12, 0, 0)),
                ((2012, 10, 21, 11, 59, 59), (2012, 11, 4, 12, 0, 0)),
                ((2012, 10, 21, 12, 0, 0), (2012, 11, 11, 12, 0, 0)),
            ],
        );
    }

    #[test]
    fn period_start_names_the_day_that_ended() {
        let p = local("MIDNIGHT", 1, None);
        // The period ending at 2012-03-12 00:00 EDT is 2012-03-11 (23 h).
        let at = ts(2012, 3, 12, 0, 0, 0);
        let start = p.period_start(at);
        assert_eq!(start, ts(2012, 3, 11, 0, 0, 0));
        assert_eq!(p.stamp(start), "2012-03-11");
        let p = utc("S", 10, None);
        assert_eq!(p.period_start(100), 90);
        assert_eq!(p.stamp(90), "1970-01-01_00-01-30");
    }

    #[test]
    fn next_rollover_skips_idle_periods() {
        let p = utc("S", 10, None);
        assert_eq!(p.next_rollover_after(95), 105);
        let p = utc("MIDNIGHT", 1, None);
        assert_eq!(p.next_rollover_after(3 * 86_400 + 5), 4 * 86_400);
    }
}
