//! The config file and routing: several outputs with their own filters and
//! formats; bad configs refused at start with the key and the reason;
//! diagnostics into the log; the default output path.

#![allow(clippy::unwrap_used)] // helpers of tests: a failure should fail the test

mod common;

use common::*;
use std::io::Write;
use std::net::TcpStream;
use std::process::Command;

fn send_json(addr: std::net::SocketAddr, lines: &[String]) {
    let mut s = TcpStream::connect(addr).unwrap();
    for l in lines {
        s.write_all(l.as_bytes()).unwrap();
        s.write_all(b"\n").unwrap();
    }
}

#[test]
fn outputs_take_what_their_filters_select() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("routes.toml"),
        r#"
tcp = ["127.0.0.1:0"]
out = "all.log"
exclude-loggers = ["app.noisy"]

[[output]]   # errors and worse, as text
file = "errors.log"
level = "ERROR"
pattern = "%(levelname)s %(name)s %(message)s"

[[output]]   # one logger (and its children) to its own file
file = "db.log"
loggers = ["app.db"]
"#,
    )
    .unwrap();
    let t = Tributary::start_expecting(dir.path(), &["--config", "routes.toml"], 1);
    let records = [
        ("INFO", "app.web", "page served"),
        ("ERROR", "app.web", "page failed"),
        ("DEBUG", "app.db.pool", "connection taken"),
        ("CRITICAL", "app.db", "database down"),
        ("INFO", "app.dbx", "not the db"),
        ("WARNING", "app.noisy.loop", "noise"),
    ];
    let lines: Vec<String> = records
        .iter()
        .map(|(level, logger, msg)| {
            format!(r#"{{"level":"{level}","logger":"{logger}","msg":"{msg}"}}"#)
        })
        .collect();
    send_json(t.tcp(0), &lines);
    wait_for_lines(&dir.path().join("all.log"), 5);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");

    let msgs = |file: &str| -> Vec<String> {
        read_json(&dir.path().join(file))
            .iter()
            .map(|l| l["msg"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        msgs("all.log"),
        [
            "page served",
            "page failed",
            "connection taken",
            "database down",
            "not the db"
        ]
    );
    assert_eq!(msgs("db.log"), ["connection taken", "database down"]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("errors.log")).unwrap(),
        "ERROR app.web page failed\nCRITICAL app.db database down\n"
    );
}

fn refused(config: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.toml"), config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args(["listen", "--config", "bad.toml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "nothing may be bound");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn invalid_configs_are_refused_with_the_key_and_reason() {
    let e = refused("out = \"a.log\"\nmax-byte = \"10MiB\"\n");
    assert!(
        e.contains("max-byte") && e.contains("line 2") && e.contains("max-bytes"),
        "{e}"
    );
    let e = refused("[[output]]\nfile = \"e.log\"\nlevel = \"LOUD\"\n");
    assert!(e.contains("level") && e.contains("LOUD"), "{e}");
    let e = refused("[[output]]\nfile = \"e.log\"\nwhen = \"fortnightly\"\n");
    assert!(
        e.contains("output[0].when") && e.contains("fortnightly"),
        "{e}"
    );
    // With declared fields, the pattern may use no other.
    let e = refused("pattern = \"%(nosuchattr)s\"\npattern-fields = [\"user\"]\n");
    assert!(
        e.contains("nosuchattr") && e.contains("pattern-fields"),
        "{e}"
    );
    let e = refused("tcp = [\"127.0.0.1:0\"]\nunix = [\"/nonexistent-dir/x.sock\"]\n");
    assert!(e.contains("/nonexistent-dir/x.sock"), "{e}");
}

#[test]
fn diagnostics_can_go_into_the_log_labelled() {
    let dir = tempfile::tempdir().unwrap();
    let t = Tributary::start(
        dir.path(),
        &["--tcp", "127.0.0.1:0", "--diagnostics", "log"],
    );
    send_json(
        t.tcp(0),
        &[r#"{"msg":"fine"}"#.to_owned(), "not json".to_owned()],
    );
    // The default output path, relative to the working directory.
    let log = dir.path().join("logs/tributary.log");
    wait_for_lines(&log, 2);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");
    let lines = read_json(&log);
    assert_eq!(lines.len(), 2);
    let (own, theirs): (Vec<_>, Vec<_>) = lines.iter().partition(|l| l["logger"] == "tributary");
    assert_eq!(theirs[0]["msg"], "fine");
    assert_eq!(own[0]["level"], "WARNING");
    let msg = own[0]["msg"].as_str().unwrap();
    assert!(
        msg.contains("record skipped") && msg.contains("from 127.0.0.1:"),
        "{msg}"
    );
    assert!(!stderr.contains("record skipped"), "{stderr}");
}
