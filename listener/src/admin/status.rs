//! `GET /status` and `GET /status.json`: the live status page, one
//! self-contained HTML file built into the binary (inline script and
//! SVG, nothing fetched from elsewhere, so it works offline), which polls
//! `/status.json`, the same data for scripts.

use super::health;
use super::view::{View, address, protocol};
use crate::diag::recent::RecentDiagnostic;
use serde_json::{Value, json};

/// The page.
pub(crate) const PAGE: &str = include_str!("status.html");

/// The status document: inputs with their records/s over the last 5
/// minutes (`rates`, one list per input, oldest first), the queue's fill,
/// each output, the last diagnostics, the connected acknowledged
/// producers, the last reload and the health.
pub(crate) fn document(view: &View, rates: &[Vec<u64>], diagnostics: &[RecentDiagnostic]) -> Value {
    let stats = &view.stats;
    let inputs: Vec<Value> = stats
        .inputs
        .iter()
        .enumerate()
        .map(|(i, input)| {
            json!({
                "input": input.input,
                "protocol": protocol(&input.input),
                "address": address(&input.input),
                "connections": input.active,
                "connections_total": input.connections,
                "records": input.records,
                "bytes": input.bytes,
                "malformed": input.malformed,
                "dropped": input.dropped,
                "filtered": input.filtered,
                "duplicates": input.duplicates,
                "records_per_second": rates.get(i).cloned().unwrap_or_default(),
            })
        })
        .collect();
    let w = &stats.writer;
    let outputs: Vec<Value> = w
        .outputs
        .iter()
        .map(|o| {
            json!({
                "output": o.output,
                "records": o.records,
                "bytes": o.bytes,
                "rotations": o.rotations,
                "last_rotation_unix": o.last_rotation,
                "write_errors": o.write_errors,
                "stalled": o.stalled,
            })
        })
        .collect();
    let producers: Vec<Value> = view
        .producers
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "epoch": p.epoch,
                "accepted": p.accepted,
                "written": p.written,
                "lag": p.lag,
            })
        })
        .collect();
    let diagnostics: Vec<Value> = diagnostics
        .iter()
        .map(|d| json!({"at_unix_ms": d.at_unix_ms, "level": d.level, "message": d.message}))
        .collect();
    let reasons = health::reasons(view);
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": view.uptime_seconds,
        "inputs": inputs,
        "queue": {
            "records": w.queue_depth,
            "records_capacity": view.queue_capacity,
            "bytes": w.queue_bytes,
            "bytes_capacity": view.queue_bytes_capacity,
        },
        "writer": {
            "records": w.records,
            "bytes": w.bytes,
            "write_errors": w.write_errors,
        },
        "outputs": outputs,
        "diagnostics": diagnostics,
        "producers": producers,
        "reloads": {
            "ok": stats.reloads_ok,
            "failed": stats.reloads_failed,
            "last": view.last_reload.as_ref().map(|r| json!({
                "at_unix_ms": r.at_unix_ms,
                "ok": r.ok,
                "message": r.message,
            })),
        },
        "health": {
            "ok": reasons.is_empty(),
            "reasons": reasons,
        },
    })
}
