//! Making a record fit in one datagram without losing it.

use tributary_core::frame::encode_record;
use tributary_core::{Fields, JsonFormatter, Record};

/// The longest a name-like field (logger, host, file …) may stay in a
/// truncated record.
const NAME_CAP: usize = 256;

fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn cap(slot: &mut Option<tributary_core::CompactString>) {
    if let Some(s) = slot {
        let keep = cut(s, NAME_CAP).len();
        s.truncate(keep);
    }
}

/// How [`encode_fitting`] went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fit {
    /// The whole record fits.
    Whole,
    /// The record was cut to fit, with a marker.
    Truncated,
    /// Not even the cut record fits.
    Impossible,
}

/// Encodes `record` as one native frame of at most `max` bytes into `out`
/// (cleared first). A record that does not fit is re-encoded with its
/// message cut to fit, its fields replaced by `truncated: true` and
/// `original_size` (the full frame's size), and `exc`/`stack` removed.
/// Fails only if even that cannot fit (`max` below a few hundred bytes).
pub(crate) fn encode_fitting(
    record: &Record,
    formatter: &JsonFormatter,
    max: usize,
    out: &mut Vec<u8>,
) -> Fit {
    out.clear();
    let original = match encode_record(record, formatter, out) {
        Ok(()) if out.len() <= max => return Fit::Whole,
        Ok(()) => out.len(),
        Err(_) => usize::MAX,
    };
    let mut small = record.clone();
    let msg = std::mem::take(&mut small.msg);
    let mut fields = Fields::with_capacity(2);
    fields.insert("truncated", true);
    fields.insert("original_size", original as u64);
    small.fields = fields;
    small.exc = None;
    small.stack = None;
    let logger_keep = cut(&small.logger, NAME_CAP).len();
    small.logger.truncate(logger_keep);
    for slot in [
        &mut small.host,
        &mut small.process,
        &mut small.thread,
        &mut small.file,
        &mut small.func,
        &mut small.module,
    ] {
        cap(slot);
    }
    out.clear();
    if encode_record(&small, formatter, out).is_err() || out.len() > max {
        return Fit::Impossible;
    }
    let base = out.len();
    let mut budget = max - base;
    loop {
        small.msg.clear();
        small.msg.push_str(cut(&msg, budget));
        out.clear();
        if encode_record(&small, formatter, out).is_ok() && out.len() <= max {
            return Fit::Truncated;
        }
        // Escaping made the message longer than its raw bytes: shrink the
        // raw budget in proportion.
        if budget == 0 {
            return Fit::Impossible;
        }
        let escaped = out.len().saturating_sub(base).max(1);
        let scaled = budget * (max - base) / escaped;
        budget = scaled.min(budget - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tributary_core::{Level, Value, decode_json};

    #[test]
    fn oversized_record_is_cut_with_a_marker() {
        let big = "é\"\n".repeat(20_000);
        let record = Record::builder(Level::INFO, big.clone())
            .logger("app")
            .field("blob", big)
            .build();
        let mut out = Vec::new();
        assert_eq!(
            encode_fitting(&record, &JsonFormatter::native(), 8192, &mut out),
            Fit::Truncated
        );
        assert!(out.len() <= 8192 && out.len() > 7000, "{}", out.len());
        let back = decode_json(&out[4..]).unwrap();
        assert_eq!(back.fields.get("truncated"), Some(&Value::Bool(true)));
        let original = back
            .fields
            .get("original_size")
            .and_then(Value::as_i64)
            .unwrap();
        assert!(original > 100_000);
        assert!(record.msg.starts_with(back.msg.as_str()) && !back.msg.is_empty());

        let small = Record::new(Level::INFO, "app", "short");
        assert_eq!(
            encode_fitting(&small, &JsonFormatter::native(), 8192, &mut out),
            Fit::Whole
        );
        assert!(decode_json(&out[4..]).unwrap().fields.is_empty());
    }
}
