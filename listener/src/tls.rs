//! TLS for the TCP inputs: the PEM files of [`TlsSettings`] loaded into a
//! rustls server configuration when the listener binds, so a missing,
//! unreadable or mismatched file stops it at start with the setting's name.
//! The handshake on each connection is `input::tls`.

use crate::config::ConfigError;
use crate::settings::TlsSettings;
#[cfg(feature = "tls")]
use std::path::Path;
#[cfg(feature = "tls")]
use std::sync::Arc;
use std::time::Duration;

/// A loaded server configuration, shared by every TCP input.
#[derive(Clone)]
#[cfg_attr(not(feature = "tls"), allow(dead_code))] // never built without TLS
pub(crate) struct ServerTls {
    #[cfg(feature = "tls")]
    pub(crate) acceptor: tokio_rustls::TlsAcceptor,
    pub(crate) handshake_timeout: Duration,
}

/// The warning for a TLS input that other hosts can reach and that takes
/// any client (no `tls-client-ca`): encrypted, but anyone who can reach
/// the port can write to the log. `None` for other inputs. A warning, not
/// a refusal: server-only TLS behind a firewall is a common, deliberate
/// setup, and the warning names the setting that closes the gap.
pub(crate) fn open_to_any_client(
    bound: &crate::input::BoundInput,
    tls: Option<&TlsSettings>,
) -> Option<String> {
    let addr = bound.socket_addr()?;
    let tls = tls?;
    let reachable = matches!(
        bound.kind(),
        crate::input::InputKind::Tcp
            | crate::input::InputKind::SyslogTcp
            | crate::input::InputKind::Http
    ) && !addr.ip().is_loopback();
    (reachable && tls.client_ca.is_none()).then(|| {
        format!(
            "{bound} serves TLS to any client: no tls-client-ca is set, so anyone who can reach it can write to the log; set --tls-client-ca to require client certificates"
        )
    })
}

fn invalid(key: &str, reason: String) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        reason,
    }
}

#[cfg(not(feature = "tls"))]
impl ServerTls {
    /// Without the `tls` feature, asking for TLS is an error at start.
    pub(crate) fn load(_settings: &TlsSettings) -> Result<ServerTls, ConfigError> {
        Err(invalid(
            "tls-cert",
            "this tributary was built without TLS support; rebuild it with the cargo feature `tls` (on by default)".to_owned(),
        ))
    }
}

#[cfg(feature = "tls")]
impl ServerTls {
    /// Reads and checks the certificate chain, the key and the client CA
    /// bundle; every error names the setting and says what is expected.
    pub(crate) fn load(settings: &TlsSettings) -> Result<ServerTls, ConfigError> {
        use rustls::pki_types::{PrivateKeyDer, pem::PemObject};
        use rustls::server::WebPkiClientVerifier;

        if settings.handshake_timeout.is_zero() {
            return Err(invalid(
                "tls-handshake-timeout",
                "must be longer than zero".to_owned(),
            ));
        }
        let chain = read_certs(
            "tls-cert",
            &settings.cert,
            "the listener's certificate chain",
        )?;
        let key_pem = read_file("tls-key", &settings.key)?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
            invalid(
                "tls-key",
                format!(
                    "{} holds no usable PEM private key ({}); expected a `-----BEGIN PRIVATE KEY-----` (PKCS#8), `RSA PRIVATE KEY` or `EC PRIVATE KEY` block",
                    settings.key.display(),
                    pem_reason(&e)
                ),
            )
        })?;

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid("tls-cert", format!("no usable TLS version: {e}")))?;
        let builder = match &settings.client_ca {
            None => builder.with_no_client_auth(),
            Some(path) => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in read_certs(
                    "tls-client-ca",
                    path,
                    "the CA certificates that sign client certificates",
                )? {
                    roots.add(cert).map_err(|e| {
                        invalid(
                            "tls-client-ca",
                            format!(
                                "{}: a certificate cannot be used as a CA: {e}",
                                path.display()
                            ),
                        )
                    })?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .map_err(|e| {
                            invalid("tls-client-ca", format!("{}: {e}", path.display()))
                        })?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder.with_single_cert(chain, key).map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => invalid(
                "tls-key",
                format!(
                    "{} is not the private key of the certificate in {}; give the key that was generated with that certificate",
                    settings.key.display(),
                    settings.cert.display()
                ),
            ),
            e => invalid(
                "tls-key",
                format!(
                    "{} cannot be used with {}: {e}",
                    settings.key.display(),
                    settings.cert.display()
                ),
            ),
        })?;
        // Producers keep one long connection: session tickets would only be
        // bytes a client has to read past.
        config.send_tls13_tickets = 0;
        Ok(ServerTls {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
            handshake_timeout: settings.handshake_timeout,
        })
    }
}

#[cfg(feature = "tls")]
fn read_file(key: &str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|e| {
        invalid(
            key,
            format!(
                "cannot read {}: {e}; give the path of a readable PEM file",
                path.display()
            ),
        )
    })
}

/// Every `CERTIFICATE` block of a PEM file; none is an error.
#[cfg(feature = "tls")]
fn read_certs(
    key: &str,
    path: &Path,
    what: &str,
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, ConfigError> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let pem = read_file(key, path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            invalid(
                key,
                format!("{} is not valid PEM: {}", path.display(), pem_reason(&e)),
            )
        })?;
    if certs.is_empty() {
        return Err(invalid(
            key,
            format!(
                "{} holds no `-----BEGIN CERTIFICATE-----` block; expected {what} in PEM",
                path.display()
            ),
        ));
    }
    Ok(certs)
}

#[cfg(feature = "tls")]
fn pem_reason(e: &rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match e {
        Error::NoItemsFound => "no PEM block of that kind".to_owned(),
        e => e.to_string(),
    }
}

#[cfg(test)]
mod exposure_tests {
    use super::*;
    use crate::input::{BoundInput, InputKind};

    fn tcp(addr: &str) -> BoundInput {
        BoundInput::for_test(InputKind::Tcp, addr.parse().ok())
    }

    #[test]
    fn a_reachable_tls_input_without_client_certificates_is_warned_about() {
        let tls = TlsSettings::new("cert.pem", "key.pem");
        let warning = open_to_any_client(&tcp("0.0.0.0:9020"), Some(&tls)).unwrap();
        assert!(
            warning.starts_with("tcp 0.0.0.0:9020 serves TLS to any client")
                && warning.contains("--tls-client-ca"),
            "{warning}"
        );
        assert!(open_to_any_client(&tcp("192.0.2.7:9020"), Some(&tls)).is_some());
        let mutual = tls.clone().client_ca("ca.pem");
        assert_eq!(
            open_to_any_client(&tcp("0.0.0.0:9020"), Some(&mutual)),
            None
        );
        assert_eq!(open_to_any_client(&tcp("127.0.0.1:9020"), Some(&tls)), None);
        assert_eq!(open_to_any_client(&tcp("[::1]:9020"), Some(&tls)), None);
        assert_eq!(open_to_any_client(&tcp("0.0.0.0:9020"), None), None);
        let udp = BoundInput::for_test(InputKind::Udp, "0.0.0.0:9021".parse().ok());
        assert_eq!(
            open_to_any_client(&udp, Some(&tls)),
            None,
            "TLS is for TCP only"
        );
        // Syslog over TCP is served with the same TLS (RFC 5425).
        let syslog = BoundInput::for_test(InputKind::SyslogTcp, "0.0.0.0:6514".parse().ok());
        assert!(open_to_any_client(&syslog, Some(&tls)).is_some());
        let syslog_udp = BoundInput::for_test(InputKind::SyslogUdp, "0.0.0.0:514".parse().ok());
        assert_eq!(open_to_any_client(&syslog_udp, Some(&tls)), None);
    }
}
