//! Mutual TLS end to end on one machine: makes a throwaway CA, a listener
//! certificate and two client certificates (one from another CA), starts an
//! embedded listener that requires client certificates, and has a
//! `SocketHandler` log to it over TLS. The client whose certificate the
//! listener does not trust is refused and counted; the other's records land.
//!
//! ```text
//! cargo run -p tributary-listener --example tls
//! ```
//!
//! For a real deployment, the same files come from your CA (or `openssl`,
//! see the README) and go to `tributary listen --tls-cert … --tls-key …
//! --tls-client-ca …` and to `TlsClientConfig` in each producer.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
};
use std::path::{Path, PathBuf};
use tributary_core::{Level, Record};
use tributary_handlers::Handler;
use tributary_handlers::net::{SocketHandler, TlsClientConfig};
use tributary_listener::{Listener, OutputSpec, TlsSettings};

type Error = Box<dyn std::error::Error>;

/// Writes `NAME.pem` (and `NAME.key`) into `dir`.
fn write_pair(
    dir: &Path,
    name: &str,
    cert: &str,
    key: &KeyPair,
) -> Result<(PathBuf, PathBuf), Error> {
    let (c, k) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&c, cert)?;
    std::fs::write(&k, key.serialize_pem())?;
    Ok((c, k))
}

fn ca() -> Result<CertifiedIssuer<'static, KeyPair>, Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    Ok(CertifiedIssuer::self_signed(params, KeyPair::generate()?)?)
}

fn issue(
    ca: &CertifiedIssuer<'static, KeyPair>,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
) -> Result<(String, KeyPair), Error> {
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())?;
    params.extended_key_usages = vec![usage];
    let key = KeyPair::generate()?;
    Ok((params.signed_by(&key, ca)?.pem(), key))
}

/// Logs `count` records through a TLS `SocketHandler`.
fn produce(addr: &str, tls: TlsClientConfig, who: &str, count: u64) -> Result<(), Error> {
    let mut handler = SocketHandler::tls(addr, tls)?;
    for n in 0..count {
        let record = Record::builder(Level::INFO, format!("{who} says hello #{n}"))
            .logger(format!("app.{who}"))
            .field("n", n)
            .build();
        handler.handle(&record)?;
    }
    handler.close()?;
    Ok(())
}

fn main() -> Result<(), Error> {
    let dir = std::env::temp_dir().join(format!("tributary-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;

    let ours = ca()?;
    let ca_pem = dir.join("ca.pem");
    std::fs::write(&ca_pem, ours.pem())?;
    let (cert, key) = issue(
        &ours,
        &["localhost", "127.0.0.1"],
        ExtendedKeyUsagePurpose::ServerAuth,
    )?;
    let (server_cert, server_key) = write_pair(&dir, "server", &cert, &key)?;
    let (cert, key) = issue(&ours, &[], ExtendedKeyUsagePurpose::ClientAuth)?;
    let (client_cert, client_key) = write_pair(&dir, "client", &cert, &key)?;
    let theirs = ca()?;
    let (cert, key) = issue(&theirs, &[], ExtendedKeyUsagePurpose::ClientAuth)?;
    let (rogue_cert, rogue_key) = write_pair(&dir, "rogue", &cert, &key)?;

    let log = dir.join("app.log");
    let listener = Listener::builder()
        .tcp("127.0.0.1:0")
        .tls(TlsSettings::new(&server_cert, &server_key).client_ca(&ca_pem))
        .output(OutputSpec::file(&log))
        .spawn()?;
    let addr = listener.bound()[0]
        .socket_addr()
        .ok_or("no TCP input")?
        .to_string();
    println!(
        "listening {} (TLS, client certificates required)",
        listener.bound()[0]
    );

    let trusted = TlsClientConfig::from_ca_file(&ca_pem)?;
    produce(
        &addr,
        trusted
            .clone()
            .with_client_cert_files(&client_cert, &client_key)?,
        "client",
        1000,
    )?;
    // Refused by the listener; with TLS 1.3 the client learns it only from
    // the listener's alert, so its records are simply never written.
    let _ = produce(
        &addr,
        trusted.with_client_cert_files(&rogue_cert, &rogue_key)?,
        "rogue",
        10,
    );

    let summary = listener.shutdown()?;
    let input = &summary.stats.inputs[0];
    println!(
        "{} records written to {}; {} connection(s) served, {} refused",
        summary.stats.writer.records,
        log.display(),
        input.connections,
        input.rejected
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
