//! `GET /metrics`: the Prometheus text exposition format, version 0.0.4
//! (`# HELP` and `# TYPE` before each family, label values escaped),
//! rendered from one [`View`] on request.
//!
//! Every counter of the stats line has a metric with the same value (the
//! writer's totals are the sums of the per-output series while no reload
//! has removed an output — a removed output's counts stay in the totals,
//! its series go; `write_errors` adds the journal's); the test at the
//! bottom checks it from the stats line itself.

use super::view::{View, protocol};
use std::fmt::{Display, Write};

/// The `Content-Type` of the exposition.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The listener's version, in `tributary_build_info`.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Metrics text being written.
struct Exposition(String);

impl Exposition {
    /// Starts a family.
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let help = help.replace('\\', r"\\").replace('\n', r"\n");
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    /// One sample of the current family.
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (key, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                self.0.push_str(key);
                self.0.push_str("=\"");
                escape_label(&mut self.0, value);
                self.0.push('"');
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }

    /// A family with one sample per input.
    fn per_input(
        &mut self,
        view: &View,
        name: &str,
        kind: &str,
        help: &str,
        get: fn(&crate::InputSnapshot) -> u64,
    ) {
        self.family(name, kind, help);
        for input in &view.stats.inputs {
            self.sample(name, &[("input", &input.input)], get(input));
        }
    }

    /// A family with one sample per output.
    fn per_output(
        &mut self,
        view: &View,
        name: &str,
        kind: &str,
        help: &str,
        get: fn(&crate::OutputSnapshot) -> u64,
    ) {
        self.family(name, kind, help);
        for output in &view.stats.writer.outputs {
            self.sample(name, &[("output", &output.output)], get(output));
        }
    }

    /// A family of one unlabelled sample.
    fn single(&mut self, name: &str, kind: &str, help: &str, value: impl Display) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }
}

/// Escapes a label value: backslash, double quote and line feed.
fn escape_label(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str(r"\n"),
            c => out.push(c),
        }
    }
}

/// The exposition of `view`.
pub(crate) fn render(view: &View) -> String {
    let mut m = Exposition(String::with_capacity(8 * 1024));
    let stats = &view.stats;

    m.family(
        "tributary_received_records_total",
        "counter",
        "Records decoded and queued, per input.",
    );
    for i in &stats.inputs {
        m.sample(
            "tributary_received_records_total",
            &[("input", &i.input), ("protocol", protocol(&i.input))],
            i.records,
        );
    }
    m.family(
        "tributary_received_bytes_total",
        "counter",
        "Bytes received, per input.",
    );
    for i in &stats.inputs {
        m.sample(
            "tributary_received_bytes_total",
            &[("input", &i.input), ("protocol", protocol(&i.input))],
            i.bytes,
        );
    }
    m.family(
        "tributary_malformed_total",
        "counter",
        "Payloads, frames or connections that could not be decoded, per input and reason.",
    );
    for i in &stats.inputs {
        for (reason, n) in &i.malformed_by {
            m.sample(
                "tributary_malformed_total",
                &[("input", &i.input), ("reason", reason)],
                n,
            );
        }
    }
    m.family(
        "tributary_dropped_records_total",
        "counter",
        "Records not written, per input and reason: queue_full (datagrams while the queue was full), filtered (no output's filter took them), duplicate (resent by an acknowledged producer, already received).",
    );
    for i in &stats.inputs {
        for (reason, n) in [
            ("queue_full", i.dropped),
            ("filtered", i.filtered),
            ("duplicate", i.duplicates),
        ] {
            m.sample(
                "tributary_dropped_records_total",
                &[("input", &i.input), ("reason", reason)],
                n,
            );
        }
    }
    m.per_input(
        view,
        "tributary_connections",
        "gauge",
        "Connections open now, per input.",
        |i| i.active,
    );
    m.per_input(
        view,
        "tributary_connections_accepted_total",
        "counter",
        "Connections served, per input (over TLS: those whose handshake succeeded).",
        |i| i.connections,
    );
    m.per_input(
        view,
        "tributary_connections_rejected_total",
        "counter",
        "Connections refused: max-connections reached, or the TLS handshake failed.",
        |i| i.rejected,
    );
    m.per_input(
        view,
        "tributary_connections_evicted_total",
        "counter",
        "Connections closed to keep the others served (frame budget, room for a new connection).",
        |i| i.evicted,
    );
    m.per_input(
        view,
        "tributary_acknowledged_connections_total",
        "counter",
        "Connections that asked for acknowledged delivery.",
        |i| i.acknowledged,
    );
    m.per_input(
        view,
        "tributary_syslog_lenient_total",
        "counter",
        "Syslog messages that matched no syslog form, kept raw as msg.",
        |i| i.lenient,
    );
    m.per_input(
        view,
        "tributary_replaced_utf8_total",
        "counter",
        "Records whose invalid UTF-8 was replaced with U+FFFD.",
        |i| i.replaced_utf8,
    );

    let w = &stats.writer;
    m.single(
        "tributary_writer_records_total",
        "counter",
        "Records written, each counted once whatever the number of outputs taking it.",
        w.records,
    );
    m.per_output(
        view,
        "tributary_written_records_total",
        "counter",
        "Records written, per output.",
        |o| o.records,
    );
    m.per_output(
        view,
        "tributary_written_bytes_total",
        "counter",
        "Bytes written, per output.",
        |o| o.bytes,
    );
    m.per_output(
        view,
        "tributary_rotations_total",
        "counter",
        "Rotations of the output file.",
        |o| o.rotations,
    );
    m.family(
        "tributary_last_rotation_timestamp_seconds",
        "gauge",
        "When the output file last rotated, in seconds since the Unix epoch (outputs that rotated only).",
    );
    for o in &w.outputs {
        if let Some(at) = o.last_rotation {
            m.sample(
                "tributary_last_rotation_timestamp_seconds",
                &[("output", &o.output)],
                at,
            );
        }
    }
    m.per_output(
        view,
        "tributary_write_errors_total",
        "counter",
        "Failed write attempts, retries included, per output.",
        |o| o.write_errors,
    );
    m.single(
        "tributary_journal_errors_total",
        "counter",
        "Failed writes of the acknowledgement journal.",
        w.journal_errors,
    );
    m.single(
        "tributary_journal_failing",
        "gauge",
        "1 while the acknowledgement journal cannot be written (no acknowledgement is sent meanwhile).",
        u8::from(w.journal_failing),
    );
    m.per_output(
        view,
        "tributary_output_stalled",
        "gauge",
        "1 while the output cannot be written: the writer holds its records and retries.",
        |o| u64::from(o.stalled),
    );
    m.per_output(
        view,
        "tributary_output_stalls_total",
        "counter",
        "Outages of the output: times it began failing.",
        |o| o.stalls,
    );
    m.per_output(view, "tributary_unwritten_records_total", "counter", "Records given up on because the output still failed when a shutdown's drain timeout ran out.", |o| o.unwritten);
    m.single(
        "tributary_queue_records",
        "gauge",
        "Records queued for the writer now.",
        w.queue_depth,
    );
    m.single(
        "tributary_queue_records_capacity",
        "gauge",
        "The queue's bound in records (queue-capacity).",
        view.queue_capacity,
    );
    m.single(
        "tributary_queue_bytes",
        "gauge",
        "Bytes of formatted lines queued for the writer now.",
        w.queue_bytes,
    );
    m.single(
        "tributary_queue_bytes_capacity",
        "gauge",
        "The queue's bound in bytes (queue-bytes).",
        view.queue_bytes_capacity,
    );

    let h = &w.ack_commit;
    m.family(
        "tributary_ack_commit_seconds",
        "histogram",
        "Time of each commit that acknowledges producers: flush, fsync with --durable, journal line.",
    );
    for (bound, n) in &h.buckets {
        m.sample(
            "tributary_ack_commit_seconds_bucket",
            &[("le", &bound.to_string())],
            n,
        );
    }
    m.sample(
        "tributary_ack_commit_seconds_bucket",
        &[("le", "+Inf")],
        h.count,
    );
    m.sample("tributary_ack_commit_seconds_sum", &[], h.sum_seconds);
    m.sample("tributary_ack_commit_seconds_count", &[], h.count);

    m.single(
        "tributary_acknowledged_producers",
        "gauge",
        "Acknowledged producers connected now (or with records queued).",
        view.producers.len(),
    );
    m.family(
        "tributary_reloads_total",
        "counter",
        "Reloads asked for, by result: ok (applied) or error (refused; what was in force stays).",
    );
    m.sample(
        "tributary_reloads_total",
        &[("result", "ok")],
        stats.reloads_ok,
    );
    m.sample(
        "tributary_reloads_total",
        &[("result", "error")],
        stats.reloads_failed,
    );
    if let Some(missing) = view.missing_fields {
        m.single(
            "tributary_records_missing_fields_total",
            "counter",
            "Records written to a text output without a field its pattern uses.",
            missing,
        );
    }
    if let Some(f) = &stats.forward {
        m.single(
            "tributary_forward_published_batches_total",
            "counter",
            "Batches of the first output that NATS JetStream acknowledged.",
            f.published_batches,
        );
        m.single(
            "tributary_forward_lag_bytes",
            "gauge",
            "Bytes of the first output not yet acknowledged by JetStream (measured about once a second).",
            f.lag_bytes,
        );
        m.single(
            "tributary_forward_lag_bound_bytes",
            "gauge",
            "forward-lag-warn: past it /health is 503 until the lag is back under half.",
            f.lag_bound,
        );
    }
    m.single(
        "tributary_uptime_seconds",
        "gauge",
        "Seconds since the listener started serving.",
        view.uptime_seconds,
    );
    m.family(
        "tributary_build_info",
        "gauge",
        "The listener's version; always 1.",
    );
    m.sample("tributary_build_info", &[("version", VERSION)], 1);
    m.0
}

#[cfg(test)]
mod tests;
