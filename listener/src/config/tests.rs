//! The config file's keys and errors.

use super::*;
use crate::settings::{DEFAULT_PATTERN, DiagnosticsMode, OutputFormat, OutputSpec, TextFormat};
use tributary_core::JsonProfile;
use tributary_rotation::{Compression, When};

fn parse(text: &str) -> Result<Settings, ConfigError> {
    FileConfig::from_toml(text, Path::new("test.toml"))?.into_settings()
}

#[test]
fn empty_config_gives_the_documented_defaults() {
    let s = parse("").unwrap();
    assert!(s.inputs.is_empty());
    assert_eq!(s.effective_inputs().len(), 2);
    assert_eq!(s.outputs, vec![OutputSpec::file(DEFAULT_OUT)]);
    assert_eq!(s.max_frame, 1 << 20);
}

#[test]
fn every_key_parses() {
    let s = parse(
        r#"
        tcp = ["127.0.0.1:0", "[::1]:0"]
        udp = ["127.0.0.1:0"]
        unix = ["/tmp/a.sock"]
        unix-dgram = ["/tmp/b.sock"]
        out = "main.log"
        format = "text"
        pattern = "%(message)s"
        max-bytes = "10MiB"
        when = "midnight"
        interval = 2
        utc = true
        backup-count = 7
        compress = "gzip"
        level = "info"
        max-frame = 65536
        max-connections = 10
        idle-timeout = "5m"
        stats-interval = 30
        queue-capacity = 100
        diagnostics = "both"
        lenient-pickle = true
        drain-timeout = "2s"
        pattern-fields = ["user"]
        pattern-missing = "?"
        max-level = "critical"
        loggers = ["app"]
        exclude-loggers = ["app.noisy"]
        queue-bytes = "1MiB"
        frame-timeout = 0
        read-linger = "5ms"
        durable = true
        ack-journal = "a.acks"
        "#,
    )
    .unwrap();
    assert_eq!(s.inputs.len(), 5);
    assert_eq!(s.max_frame, 65536);
    assert_eq!(s.idle_timeout, Some(Duration::from_secs(300)));
    assert_eq!(s.stats_interval, Some(Duration::from_secs(30)));
    assert_eq!(s.diagnostics, DiagnosticsMode::Both);
    let o = &s.outputs[0];
    assert_eq!(
        o.format,
        OutputFormat::Text(TextFormat::new("%(message)s").fields(["user"]).missing("?"))
    );
    assert_eq!(o.filter.max_level, Some(50));
    assert_eq!(o.filter.loggers, ["app"]);
    assert_eq!(o.filter.exclude_loggers, ["app.noisy"]);
    assert_eq!(s.queue_bytes, 1 << 20);
    assert_eq!(s.frame_timeout, None);
    assert_eq!(s.read_linger, Some(Duration::from_millis(5)));
    assert!(s.durable);
    assert_eq!(s.ack_journal, Some(PathBuf::from("a.acks")));
    assert_eq!(o.rotation.max_bytes, Some(10 << 20));
    assert_eq!(o.rotation.when, Some(When::Midnight));
    assert_eq!(o.rotation.compress, Compression::gzip());
    assert_eq!(o.filter.min_level, Some(20));
}

#[test]
fn outputs_inherit_format_and_rotation_but_not_filters() {
    let s = parse(
        r#"
        json-profile = "ecs"
        max-bytes = "1MiB"
        level = "DEBUG"
        [[output]]
        file = "errors.log"
        level = "error"
        [[output]]
        file = "db.log"
        loggers = ["app.db"]
        format = "text"
        "#,
    )
    .unwrap();
    // `out` not set explicitly: only the routed outputs.
    assert_eq!(s.outputs.len(), 2);
    assert_eq!(s.outputs[0].format, OutputFormat::Json(JsonProfile::Ecs));
    assert_eq!(s.outputs[0].rotation.max_bytes, Some(1 << 20));
    assert_eq!(s.outputs[0].filter.min_level, Some(40));
    assert_eq!(
        s.outputs[1].format,
        OutputFormat::Text(TextFormat::new(DEFAULT_PATTERN))
    );
    assert_eq!(s.outputs[1].filter.min_level, None);
    assert_eq!(s.outputs[1].filter.loggers, vec!["app.db".to_string()]);

    let s = parse("out = \"all.log\"\n[[output]]\nfile = \"errors.log\"\nlevel = 40\n").unwrap();
    assert_eq!(s.outputs.len(), 2);
    assert_eq!(s.outputs[0].path, PathBuf::from("all.log"));
}

#[test]
fn tls_keys_parse_and_must_come_together() {
    let s = parse(
        r#"
        tcp = ["0.0.0.0:9020"]
        tls-cert = "server.pem"
        tls-key = "server.key"
        tls-client-ca = "clients-ca.pem"
        tls-handshake-timeout = "3s"
        allow-insecure-remote = true
        "#,
    )
    .unwrap();
    let tls = s.tls.unwrap();
    assert_eq!(tls.cert, PathBuf::from("server.pem"));
    assert_eq!(tls.key, PathBuf::from("server.key"));
    assert_eq!(tls.client_ca, Some(PathBuf::from("clients-ca.pem")));
    assert_eq!(tls.handshake_timeout, Duration::from_secs(3));
    assert!(s.allow_insecure_remote);
    let s = parse("").unwrap();
    assert_eq!(s.tls, None);
    assert!(!s.allow_insecure_remote);

    let e = err("tls-cert = \"a.pem\"\n");
    assert!(e.contains("`tls-key`") && e.contains("missing"), "{e}");
    let e = err("tls-key = \"a.key\"\n");
    assert!(e.contains("`tls-cert`") && e.contains("missing"), "{e}");
    let e = err("tls-client-ca = \"ca.pem\"\n");
    assert!(
        e.contains("`tls-client-ca`") && e.contains("tls-cert"),
        "{e}"
    );
    let e = err("tls-cert = \"a\"\ntls-key = \"b\"\ntls-handshake-timeout = 0\n");
    assert!(e.contains("`tls-handshake-timeout`"), "{e}");
    let e = err("tls_cert = \"a\"\n");
    assert!(e.contains("tls_cert"), "{e}");
}

fn err(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn errors_name_the_key_and_the_reason() {
    let e = err("max_bytes = 10\n");
    assert!(e.contains("max_bytes") && e.contains("max-bytes"), "{e}");
    let e = err("max-bytes = \"10 parsecs\"\n");
    assert!(e.contains("max-bytes") && e.contains("invalid size"), "{e}");
    let e = err("format = \"xml\"\n");
    assert!(
        e.contains("format") && e.contains("xml") && e.contains("json"),
        "{e}"
    );
    let e = err("[[output]]\nfile = \"a\"\nwhen = \"weekly\"\n");
    assert!(e.contains("output[0].when") && e.contains("W0..W6"), "{e}");
    let e = err("[[output]]\nfile = \"a\"\ncolour = \"red\"\n");
    assert!(e.contains("colour"), "{e}");
    let e = err("max-frame = 4\n");
    assert!(e.contains("max-frame"), "{e}");
    let e = err("out = \"a\"\n[[output]]\nfile = \"a\"\n");
    assert!(e.contains("named twice"), "{e}");
    let e = err("format = \"json\"\npattern = \"%(message)s\"\n");
    assert!(e.contains("pattern"), "{e}");
    let e = err("level = \"ERROR\"\nmax-level = \"INFO\"\n");
    assert!(e.contains("max-level"), "{e}");
    let e = err("tcp = \"127.0.0.1:1\"\n");
    assert!(e.contains("tcp") && e.contains("array"), "{e}");
    let e = err("\n\nmax-bytes = \"10 parsecs\"\n");
    assert!(
        e.contains("line 3") && e.contains("e.g. 1048576, 512KiB"),
        "{e}"
    );
    let e = err("[[output]]\nlevel = \"ERROR\"\n");
    assert!(e.contains("output[0].file") && e.contains("missing"), "{e}");
    let e = err("[[output]]\nfile = \"a\"\nmax-frame = 65536\n");
    assert!(
        e.contains("output[0].max-frame") && e.contains("unknown key"),
        "{e}"
    );
    let e = err("max-connections = 0\n");
    assert!(
        e.contains("max-connections") && e.contains("at least 1"),
        "{e}"
    );
    let e = err("compress = \"zip\"\n");
    assert!(e.contains("compress") && e.contains("none or gzip"), "{e}");
}
