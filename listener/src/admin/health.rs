//! `GET /health`: `200 ok` while the listener can do its job, `503` with
//! one reason a line while it cannot: an output it cannot write (records
//! are held, inputs pause once the queue fills), forwarding lagging past
//! `forward-lag-warn`, or an acknowledgement journal it cannot write
//! (acknowledged producers wait).

use super::view::View;

/// Why the listener is unhealthy now; empty when it is healthy.
pub(crate) fn reasons(view: &View) -> Vec<String> {
    let mut reasons = Vec::new();
    for output in view.stats.writer.outputs.iter().filter(|o| o.stalled) {
        reasons.push(format!(
            "output stalled: {} cannot be written; its records are held and retried, and inputs pause once the queue is full (the listener's stderr says why)",
            output.output
        ));
    }
    if let Some(forward) = view.stats.forward.as_ref().filter(|f| f.lagging) {
        reasons.push(format!(
            "forwarding lag over its bound: {} bytes of the first output are not yet in JetStream (forward-lag-warn {}); the file keeps them meanwhile",
            forward.lag_bytes, forward.lag_bound
        ));
    }
    if view.stats.writer.journal_failing {
        reasons.push(
            "journal failing: the acknowledgement journal cannot be written; acknowledged producers are not acknowledged until it can".to_owned(),
        );
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::OutputSnapshot;

    #[test]
    fn a_stalled_output_and_a_failing_journal_are_reasons() {
        let mut view = View::default();
        assert!(reasons(&view).is_empty());
        view.stats.writer.outputs = vec![
            OutputSnapshot {
                output: "logs/ok.log".into(),
                ..OutputSnapshot::default()
            },
            OutputSnapshot {
                output: "logs/full.log".into(),
                stalled: true,
                ..OutputSnapshot::default()
            },
        ];
        view.stats.writer.journal_failing = true;
        view.stats.forward = Some(crate::stats::ForwardSnapshot {
            lag_bytes: 100,
            lag_bound: 64,
            lagging: true,
            ..Default::default()
        });
        let r = reasons(&view);
        assert_eq!(r.len(), 3, "{r:?}");
        assert!(r[0].starts_with("output stalled: logs/full.log "), "{r:?}");
        assert!(
            r[1].starts_with("forwarding lag over its bound: 100 bytes "),
            "{r:?}"
        );
        assert!(r[2].starts_with("journal failing: "), "{r:?}");
    }
}
