//! The `pretty` format: one line per record for people, with the
//! exception and stack indented under it.

use std::fmt::Write as _;

use jiff::tz::TimeZone;
use tributary_core::{Record, Value};

use super::Broken;

const RESET: &str = "\x1b[0m";
const DIM: &str = "\x1b[2m";
const BOLD_RED: &str = "\x1b[1;31m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const GREEN: &str = "\x1b[32m";
const BLUE: &str = "\x1b[34m";
const MAGENTA: &str = "\x1b[35m";
const CYAN: &str = "\x1b[36m";

/// Settings of the `pretty` format.
#[derive(Debug, Clone)]
pub struct Pretty {
    color: bool,
    tz: TimeZone,
}

impl Pretty {
    /// Times shown in `tz`; ANSI colors when `color`.
    pub fn new(color: bool, tz: TimeZone) -> Self {
        Pretty { color, tz }
    }

    fn paint(&self, out: &mut String, color: &str, text: &str) {
        if self.color {
            out.push_str(color);
            out.push_str(text);
            out.push_str(RESET);
        } else {
            out.push_str(text);
        }
    }

    /// Appends `record`, without the final newline.
    pub fn format(&self, r: &Record, out: &mut Vec<u8>) {
        let mut s = String::with_capacity(160);
        let time = i128::from(r.ts.unix_nanos());
        let when = jiff::Timestamp::from_nanosecond(time)
            .map(|t| {
                t.to_zoned(self.tz.clone())
                    .strftime("%Y-%m-%d %H:%M:%S%.3f")
                    .to_string()
            })
            .unwrap_or_else(|_| r.ts.to_rfc3339());
        self.paint(&mut s, DIM, &when);
        s.push(' ');
        let no = r.level.no();
        let color = match no {
            n if n >= 50 => BOLD_RED,
            n if n >= 40 => RED,
            n if n >= 30 => YELLOW,
            n if n >= 20 => GREEN,
            n if n >= 10 => BLUE,
            _ => DIM,
        };
        self.paint(&mut s, color, &format!("{:<8}", r.level.name()));
        s.push(' ');
        self.paint(&mut s, CYAN, &r.logger);
        s.push_str(": ");
        s.push_str(&r.msg);
        for (key, value) in r.fields.iter() {
            s.push(' ');
            self.paint(&mut s, DIM, &format!("{key}="));
            push_value(&mut s, value);
        }
        for block in [&r.exc, &r.stack].into_iter().flatten() {
            for line in block.lines() {
                s.push_str("\n    ");
                s.push_str(line);
            }
        }
        out.extend_from_slice(s.as_bytes());
    }

    /// Appends a marked broken line, without the final newline.
    pub fn broken(&self, line: &[u8], why: Broken, out: &mut Vec<u8>) {
        let mut s = String::new();
        self.paint(
            &mut s,
            MAGENTA,
            &format!("[broken line: {}]", why.describe()),
        );
        s.push(' ');
        s.push_str(&String::from_utf8_lossy(line));
        out.extend_from_slice(s.as_bytes());
    }
}

/// Strings bare unless they need quotes to stay one token.
fn push_value(s: &mut String, value: &Value) {
    match value {
        Value::Str(text)
            if text.is_empty()
                || text.contains(|c: char| c.is_whitespace() || c == '"' || c == '=') =>
        {
            let _ = write!(s, "{text:?}");
        }
        other => {
            let _ = write!(s, "{other}");
        }
    }
}
