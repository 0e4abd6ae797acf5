//! TLS for [`SocketHandler`]: what it trusts (a CA bundle, or Mozilla's
//! roots) and what it presents (an optional client certificate, for a
//! listener that requires one), loaded from PEM.

use super::SocketHandler;
use super::conn::Target;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a TLS configuration was refused; the message says what to give
/// instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// PEM text holds nothing usable of the kind asked for.
    #[error("{what}: {reason}")]
    Pem {
        /// What was read, e.g. `CA bundle ca.pem`.
        what: String,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// The name to verify the listener's certificate against is not a
    /// DNS name or an IP address.
    #[error(
        "{name:?} is not a DNS name or IP address to check the listener's certificate against; give the name its certificate carries with with_server_name"
    )]
    ServerName {
        /// The name.
        name: String,
    },
    /// The client certificate and key do not go together, or a
    /// certificate cannot be used.
    #[error("{0}")]
    Config(String),
}

/// What a TLS [`SocketHandler`] trusts and presents. The listener's
/// certificate must chain to one of the trusted CAs and carry the name the
/// handler connects to (the host of its address, or
/// [`with_server_name`](TlsClientConfig::with_server_name)).
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use tributary_handlers::net::{SocketHandler, TlsClientConfig};
/// let tls = TlsClientConfig::from_ca_file("/etc/tributary/ca.pem")?
///     // only for a listener started with --tls-client-ca
///     .with_client_cert_files("/etc/tributary/client.pem", "/etc/tributary/client.key")?;
/// let handler = SocketHandler::tls("logs.example.net:9020", tls)?;
/// # Ok(()) }
/// ```
pub struct TlsClientConfig {
    roots: rustls::RootCertStore,
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    server_name: Option<String>,
}

impl Clone for TlsClientConfig {
    fn clone(&self) -> Self {
        TlsClientConfig {
            roots: self.roots.clone(),
            identity: self
                .identity
                .as_ref()
                .map(|(chain, key)| (chain.clone(), key.clone_key())),
            server_name: self.server_name.clone(),
        }
    }
}

impl fmt::Debug for TlsClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsClientConfig")
            .field("trusted_cas", &self.roots.len())
            .field("client_cert", &self.identity.is_some())
            .field("server_name", &self.server_name)
            .finish()
    }
}

impl TlsClientConfig {
    /// Trusts the CA certificates in a PEM file (typically the private CA
    /// that signed the listener's certificate).
    pub fn from_ca_file(path: impl AsRef<Path>) -> Result<TlsClientConfig, TlsError> {
        let path = path.as_ref();
        let pem = read(path)?;
        TlsClientConfig::ca_certs(&format!("CA bundle {}", path.display()), &pem)
    }

    /// Trusts the CA certificates in PEM text.
    pub fn from_ca_pem(pem: &[u8]) -> Result<TlsClientConfig, TlsError> {
        TlsClientConfig::ca_certs("CA bundle", pem)
    }

    /// Trusts Mozilla's root CAs, for a listener whose certificate comes
    /// from a public CA.
    #[cfg(feature = "tls-webpki-roots")]
    pub fn with_webpki_roots() -> TlsClientConfig {
        TlsClientConfig {
            roots: rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            },
            identity: None,
            server_name: None,
        }
    }

    fn ca_certs(what: &str, pem: &[u8]) -> Result<TlsClientConfig, TlsError> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in certs(what, pem)? {
            roots.add(cert).map_err(|e| TlsError::Pem {
                what: what.to_owned(),
                reason: format!("a certificate cannot be used as a CA: {e}"),
            })?;
        }
        Ok(TlsClientConfig {
            roots,
            identity: None,
            server_name: None,
        })
    }

    /// Presents this certificate chain (PEM, own certificate first) and its
    /// private key (PEM: PKCS#8, PKCS#1 or SEC1), for a listener that
    /// requires client certificates.
    pub fn with_client_cert_files(
        self,
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<TlsClientConfig, TlsError> {
        let (cert, key) = (cert.as_ref(), key.as_ref());
        let cert_pem = read(cert)?;
        let key_pem = read(key)?;
        self.identity(
            &format!("client certificate {}", cert.display()),
            &cert_pem,
            &format!("client key {}", key.display()),
            &key_pem,
        )
    }

    /// [`with_client_cert_files`](TlsClientConfig::with_client_cert_files)
    /// from PEM text.
    pub fn with_client_cert_pem(
        self,
        cert: &[u8],
        key: &[u8],
    ) -> Result<TlsClientConfig, TlsError> {
        self.identity("client certificate", cert, "client key", key)
    }

    fn identity(
        mut self,
        cert_what: &str,
        cert: &[u8],
        key_what: &str,
        key: &[u8],
    ) -> Result<TlsClientConfig, TlsError> {
        let chain = certs(cert_what, cert)?;
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| TlsError::Pem {
            what: key_what.to_owned(),
            reason: format!(
                "no usable private key ({}); expected a `-----BEGIN PRIVATE KEY-----` (PKCS#8), `RSA PRIVATE KEY` or `EC PRIVATE KEY` block",
                pem_reason(&e)
            ),
        })?;
        // Checked now rather than at the first connection.
        rustls::sign::CertifiedKey::from_der(chain.clone(), key.clone_key(), &provider())
            .map_err(|e| match e {
                rustls::Error::InconsistentKeys(_) => TlsError::Config(format!(
                    "{key_what} is not the private key of {cert_what}; give the key generated with that certificate"
                )),
                e => TlsError::Config(format!("{cert_what} and {key_what}: {e}")),
            })?;
        self.identity = Some((chain, key));
        Ok(self)
    }

    /// Checks the listener's certificate against this name instead of the
    /// host of the address connected to (e.g. when connecting by IP
    /// address to a listener whose certificate names its host).
    #[must_use]
    pub fn with_server_name(mut self, name: impl Into<String>) -> TlsClientConfig {
        self.server_name = Some(name.into());
        self
    }

    /// The rustls configuration and the name to verify, for `addr`.
    fn resolve(&self, addr: &str) -> Result<TlsTarget, TlsError> {
        let name = match &self.server_name {
            Some(name) => name.clone(),
            None => host_of(addr).to_owned(),
        };
        let server_name = ServerName::try_from(name.clone())
            .map_err(|_| TlsError::ServerName { name: name.clone() })?;
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_root_certificates(self.roots.clone());
        let config = match &self.identity {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain.clone(), key.clone_key())
                .map_err(|e| TlsError::Config(format!("client certificate: {e}")))?,
            None => builder.with_no_client_auth(),
        };
        Ok(TlsTarget {
            addr: addr.to_owned(),
            config: Arc::new(config),
            server_name,
        })
    }
}

/// Where a TLS handler connects, with what it verifies there.
#[derive(Clone, Debug)]
pub(crate) struct TlsTarget {
    pub(crate) addr: String,
    pub(crate) config: Arc<rustls::ClientConfig>,
    pub(crate) server_name: ServerName<'static>,
}

impl SocketHandler {
    /// A handler for a listener's TLS input at `addr` (`host:port`). The
    /// listener's certificate is checked against `host` (or the config's
    /// server name) and the config's trusted CAs when connecting; the
    /// handshake is bounded by the write timeout. Connects lazily, like
    /// [`SocketHandler::tcp`].
    pub fn tls(
        addr: impl Into<String>,
        config: TlsClientConfig,
    ) -> Result<SocketHandler, TlsError> {
        let addr = addr.into();
        let target = config.resolve(&addr)?;
        Ok(SocketHandler::new(
            format!("tls {addr}"),
            Target::Tls(Box::new(target)),
        ))
    }
}

fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// `example.net` of `example.net:9020`, `::1` of `[::1]:9020`.
fn host_of(addr: &str) -> &str {
    let host = match addr.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => addr,
    };
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Every `CERTIFICATE` block; none is an error.
fn certs(what: &str, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            what: what.to_owned(),
            reason: format!("not valid PEM: {}", pem_reason(&e)),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            what: what.to_owned(),
            reason: "holds no `-----BEGIN CERTIFICATE-----` block; expected PEM certificates"
                .to_owned(),
        });
    }
    Ok(certs)
}

fn pem_reason(e: &pem::Error) -> String {
    match e {
        pem::Error::NoItemsFound => "no PEM block of that kind".to_owned(),
        e => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_of_an_address_is_what_the_certificate_must_name() {
        assert_eq!(host_of("logs.example.net:9020"), "logs.example.net");
        assert_eq!(host_of("127.0.0.1:9020"), "127.0.0.1");
        assert_eq!(host_of("[::1]:9020"), "::1");
        assert_eq!(host_of("logs.example.net"), "logs.example.net");
    }

    #[test]
    fn pem_without_certificates_is_refused_with_what_was_expected() {
        let e = TlsClientConfig::from_ca_pem(b"not pem at all\n").unwrap_err();
        assert!(e.to_string().contains("BEGIN CERTIFICATE"), "{e}");
        let e = TlsClientConfig::from_ca_file("/nonexistent/ca.pem").unwrap_err();
        assert!(matches!(e, TlsError::Read { .. }), "{e}");
        assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
    }
}
