//! Proving a producer id (docs/protocol.md): with `--producer-ids-from-cert`
//! a hello's id must be a name of the client's TLS certificate, and with
//! `--producer-secret FILE` every hello must carry the file's secret. End
//! to end with the real `tributary` binary and the crate's `SocketHandler`.

#![allow(clippy::unwrap_used)] // a test: a failure should fail it

mod common;
// One throwaway PKI for the TLS tests of both crates.
#[cfg(feature = "tls")]
#[path = "../../handlers/tests/pki/mod.rs"]
mod pki;

use common::*;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;
use tributary_core::frame::handshake::{Hello, Reply};
use tributary_handlers::Handler;
use tributary_handlers::net::SocketHandler;

/// How long a producer that is refused keeps trying before `close` gives
/// up: it can never succeed, so this bounds the test, not a condition.
const REFUSED_CLOSE: Duration = Duration::from_secs(1);

fn arg(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Sends `count` records saying `name` through `h`; what `close` said.
fn send(mut h: SocketHandler, name: &str, count: u64) -> std::io::Result<()> {
    for n in 0..count {
        h.handle(&rust_record(name, n)).unwrap();
    }
    h.close()
}

/// Says hello as `producer` on a raw connection and returns the reply.
fn raw_hello<S: Read + Write>(mut stream: S, producer: &str, secret: Option<&str>) -> Reply {
    let mut frame = Vec::new();
    Hello {
        producer: producer.into(),
        epoch: "e1".into(),
        next: 0,
        secret: secret.map(str::to_owned),
    }
    .encode(&mut frame);
    stream.write_all(&frame).unwrap();
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).unwrap();
    let mut payload = vec![0u8; u32::from_be_bytes(len) as usize];
    stream.read_exact(&mut payload).unwrap();
    Reply::parse(&payload).unwrap()
}

/// Writes `secret` and a line end to `dir/name` with `mode`.
fn secret_file(dir: &Path, name: &str, secret: &str, mode: u32) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("{secret}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[cfg(feature = "tls")]
#[test]
fn a_forged_id_with_a_valid_certificate_for_another_name_is_refused_and_the_real_producer_gets_everything_written()
 {
    use tributary_handlers::net::TlsClientConfig;

    let dir = tempfile::tempdir().unwrap();
    let ca = pki::Ca::new(dir.path(), "main");
    let server = ca.server();
    let web1 = ca.client("web-1");
    let web2 = ca.client("web-2");
    let t = Tributary::start(
        dir.path(),
        &[
            "--tcp",
            "127.0.0.1:0",
            "--unix",
            "in.sock",
            "--tls-cert",
            arg(&server.cert),
            "--tls-key",
            arg(&server.key),
            "--tls-client-ca",
            arg(&ca.cert),
            "--producer-ids-from-cert",
            "--out",
            "out.log",
        ],
    );
    let addr = t.tcp(0).to_string();
    let as_client = |id: &pki::Identity| {
        TlsClientConfig::from_ca_file(&ca.cert)
            .unwrap()
            .with_client_cert_files(&id.cert, &id.key)
            .unwrap()
    };

    // web-2's valid certificate, claiming web-1's id (and one under it).
    for forged in ["web-1", "web-1/worker-3"] {
        let forger = SocketHandler::tls(&addr, as_client(&web2))
            .unwrap()
            .with_producer_id(forged)
            .with_close_timeout(REFUSED_CLOSE);
        let err = send(forger, "forger", 5)
            .expect_err(&format!(
                "web-2's certificate said hello as {forged:?} and was welcomed"
            ))
            .to_string();
        assert!(err.contains("5 records could not be delivered"), "{err}");
    }
    // A hello on the Unix socket has no certificate to check the id with.
    let unix = std::os::unix::net::UnixStream::connect(dir.path().join("in.sock")).unwrap();
    match raw_hello(unix, "web-1", None) {
        Reply::Refused { reason } => assert!(reason.contains("no client certificate"), "{reason}"),
        other => panic!("a hello without a certificate was answered {other:?}"),
    }
    // The real web-1, as itself and as a worker under its name.
    for (id, name) in [("web-1", "real"), ("web-1/worker-3", "worker")] {
        let real = SocketHandler::tls(&addr, as_client(&web1))
            .unwrap()
            .with_producer_id(id);
        send(real, name, 400).unwrap();
    }

    let (_, stderr) = t.stop();
    let seen = tally(&read_json(&dir.path().join("out.log")));
    assert_exactly_once(
        &seen,
        &[("real".to_owned(), 400), ("worker".to_owned(), 400)],
    );
    assert_eq!(seen.len(), 800, "nothing but the real producers' records");
    for reason in [
        "producer id \"web-1\" is not the client certificate's (it names web-2)",
        "producer id \"web-1/worker-3\" is not the client certificate's (it names web-2)",
        "has no client certificate",
    ] {
        assert!(
            stderr.contains(reason),
            "no report of {reason:?}:\n{stderr}"
        );
    }
}

#[cfg(feature = "tls")]
#[test]
fn producer_ids_from_cert_without_client_certificates_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let err = Tributary::try_start(
        dir.path(),
        &[
            "--tcp",
            "127.0.0.1:0",
            "--producer-ids-from-cert",
            "--out",
            "out.log",
        ],
        1,
        &[],
    )
    .err()
    .expect("the listener started without client certificates to check ids with");
    assert!(
        err.contains("producer-ids-from-cert") && err.contains("--tls-client-ca"),
        "{err}"
    );
}

#[test]
fn a_wrong_or_missing_secret_is_refused_and_the_right_one_gets_everything_written() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "correct horse battery staple";
    let file = secret_file(dir.path(), "producer.secret", secret, 0o600);
    let t = Tributary::start(
        dir.path(),
        &[
            "--tcp",
            "127.0.0.1:0",
            "--producer-secret",
            arg(&file),
            "--out",
            "out.log",
        ],
    );
    let addr = t.tcp(0).to_string();

    let missing = SocketHandler::tcp(&addr)
        .with_producer_id("p-missing")
        .with_close_timeout(REFUSED_CLOSE);
    let wrong = SocketHandler::tcp(&addr)
        .with_producer_id("p-wrong")
        .with_producer_secret("correct horse battery stapler")
        .with_close_timeout(REFUSED_CLOSE);
    for (h, name) in [(missing, "missing"), (wrong, "wrong")] {
        let err = send(h, name, 5)
            .expect_err(&format!("a hello with the {name} secret was welcomed"))
            .to_string();
        assert!(
            err.contains("5 records could not be delivered"),
            "{name}: {err}"
        );
    }
    let right = SocketHandler::tcp(&addr)
        .with_producer_id("p-right")
        .with_producer_secret(secret);
    send(right, "right", 500).unwrap();

    let (_, stderr) = t.stop();
    let seen = tally(&read_json(&dir.path().join("out.log")));
    assert_exactly_once(&seen, &[("right".to_owned(), 500)]);
    assert_eq!(seen.len(), 500, "nothing of the refused producers");
    for reason in ["carries no secret", "secret is not the one"] {
        assert!(
            stderr.contains(reason),
            "no report of {reason:?}:\n{stderr}"
        );
    }
    assert!(
        !stderr.contains("battery"),
        "the secret is in stderr:\n{stderr}"
    );
}

#[test]
fn a_secret_file_every_user_can_read_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = secret_file(dir.path(), "producer.secret", "hunter2", 0o644);
    let err = Tributary::try_start(
        dir.path(),
        &[
            "--tcp",
            "127.0.0.1:0",
            "--producer-secret",
            arg(&file),
            "--out",
            "out.log",
        ],
        1,
        &[],
    )
    .err()
    .expect("the listener started with a secret every user can read");
    assert!(
        err.contains("producer-secret") && err.contains("readable by every user"),
        "{err}"
    );
    assert!(
        !err.contains("hunter2"),
        "the secret is in the message: {err}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["producer.secret"], "the refused start created files");
}
