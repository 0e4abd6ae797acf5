//! The settings a reload cannot change while the listener runs. A reload
//! that changes one is refused as a whole, naming them: the listener goes
//! on with the configuration in effect, which is then still the whole of
//! what the file said last time, never a mix.

use crate::settings::Settings;

/// The config keys whose values differ between `old` and `new` and need
/// a restart, with why where it is not obvious.
pub(crate) fn needs_restart(old: &Settings, new: &Settings) -> Vec<String> {
    // Every field named: a new setting fails to compile here until it is
    // sorted into reloadable or not.
    let Settings {
        inputs: _,  // reloaded: inputs added and removed
        outputs: _, // reloaded: outputs added, removed and changed
        max_frame,
        syslog_max_message,
        syslog_timezone,
        max_connections,
        idle_timeout,
        first_frame_timeout,
        max_connections_per_peer,
        frame_budget,
        stats_interval,
        admin,
        pid_file,
        queue_capacity,
        queue_bytes,
        frame_timeout,
        read_linger,
        diagnostics,
        lenient_pickle,
        drain_timeout,
        durable,
        ack_journal,
        tls,
        producer_ids_from_cert,
        producer_secret,
        allow_insecure_remote,
        forward,
        collect,
        http_credentials,
        http_max_body,
        http_ack,
    } = new;
    let mut keys: Vec<String> = Vec::new();
    let mut differ = |changed: bool, key: &str| {
        if changed {
            keys.push(key.to_owned());
        }
    };
    differ(*max_frame != old.max_frame, "max-frame");
    // The admin endpoint is bound once; the HTTP inputs share one set of
    // credentials, bounds and acknowledgement default, read at start.
    differ(*admin != old.admin, "admin");
    differ(
        *http_credentials != old.http_credentials,
        "http-credentials",
    );
    differ(*http_max_body != old.http_max_body, "http-max-body");
    differ(*http_ack != old.http_ack, "http-ack");
    differ(
        *syslog_max_message != old.syslog_max_message,
        "syslog-max-message",
    );
    differ(*syslog_timezone != old.syslog_timezone, "syslog-timezone");
    differ(*max_connections != old.max_connections, "max-connections");
    differ(*idle_timeout != old.idle_timeout, "idle-timeout");
    differ(
        *first_frame_timeout != old.first_frame_timeout,
        "first-frame-timeout",
    );
    differ(
        *max_connections_per_peer != old.max_connections_per_peer,
        "max-connections-per-peer",
    );
    differ(*frame_budget != old.frame_budget, "frame-budget");
    differ(*stats_interval != old.stats_interval, "stats-interval");
    differ(*pid_file != old.pid_file, "pid-file");
    differ(*queue_capacity != old.queue_capacity, "queue-capacity");
    differ(*queue_bytes != old.queue_bytes, "queue-bytes");
    differ(*frame_timeout != old.frame_timeout, "frame-timeout");
    differ(*read_linger != old.read_linger, "read-linger");
    differ(*diagnostics != old.diagnostics, "diagnostics");
    differ(*lenient_pickle != old.lenient_pickle, "lenient-pickle");
    differ(*drain_timeout != old.drain_timeout, "drain-timeout");
    differ(*durable != old.durable, "durable");
    differ(*ack_journal != old.ack_journal, "ack-journal");
    differ(
        *tls != old.tls,
        "tls-cert, tls-key, tls-client-ca, tls-handshake-timeout",
    );
    differ(
        *producer_ids_from_cert != old.producer_ids_from_cert,
        "producer-ids-from-cert",
    );
    differ(*producer_secret != old.producer_secret, "producer-secret");
    differ(
        *allow_insecure_remote != old.allow_insecure_remote,
        "allow-insecure-remote",
    );
    differ(*forward != old.forward, "forward-* ([forward])");
    differ(
        *collect != old.collect,
        "collect's --nats, --stream, --consumer",
    );
    // Two things hang on the first output's file.
    let first = |s: &Settings| s.effective_outputs().remove(0).path;
    let (was, now) = (first(old), first(new));
    if was != now {
        if ack_journal.is_none() {
            keys.push(format!(
                "the first output's file ({} → {}: the acknowledgement journal lives beside it unless ack-journal is set)",
                was.display(),
                now.display()
            ));
        } else if forward.is_active() {
            keys.push(format!(
                "the first output's file ({} → {}: forwarding reads it)",
                was.display(),
                now.display()
            ));
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OutputSpec;

    #[test]
    fn outputs_and_inputs_reload_the_rest_needs_a_restart() {
        let old = Settings {
            outputs: vec![OutputSpec::file("a.log")],
            ..Settings::default()
        };
        let mut new = old.clone();
        new.outputs.push(OutputSpec::file("b.log"));
        new.inputs.push(crate::InputSpec::Tcp("127.0.0.1:0".into()));
        assert!(needs_restart(&old, &new).is_empty());
        new.durable = true;
        new.max_frame = 1024;
        assert_eq!(needs_restart(&old, &new), ["max-frame", "durable"]);
        let mut moved = old.clone();
        moved.outputs = vec![OutputSpec::file("c.log")];
        let keys = needs_restart(&old, &moved);
        assert!(keys[0].contains("journal"), "{keys:?}");
        moved.ack_journal = Some("j.acks".into());
        let mut old_with_journal = old.clone();
        old_with_journal.ack_journal = Some("j.acks".into());
        assert!(needs_restart(&old_with_journal, &moved).is_empty());
    }
}
