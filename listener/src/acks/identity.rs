//! Who may say hello as a producer (docs/protocol.md, "Proving a producer
//! id"): a hello alone claims an id, which lets anyone who can connect
//! write under it. Two optional checks bind the claim to something the
//! client must hold: its TLS client certificate's names
//! (`producer-ids-from-cert`) and a shared secret from a file
//! (`producer-secret`).

use crate::Settings;
use crate::config::{ConfigError, invalid};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use tributary_core::frame::handshake::{Hello, MAX_SECRET};

/// The checks every hello must pass before it gets a welcome; by default
/// none.
#[derive(Default)]
pub(crate) struct ProducerAuth {
    /// A hello's id must be a name of the connection's client certificate,
    /// or start with one followed by `/`.
    pub(crate) ids_from_cert: bool,
    /// Every hello must carry this secret.
    pub(crate) secret: Option<Secret>,
}

/// The shared secret, kept out of `Debug` output and compared in
/// constant time.
pub(crate) struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<hidden>)")
    }
}

impl Secret {
    /// Reads the secret from `path`: the file's content without a trailing
    /// line end. A file others may read is refused, as is an empty one.
    pub(crate) fn load(path: &Path) -> Result<Secret, ConfigError> {
        let bad = |why: String| invalid("producer-secret", format!("{}: {why}", path.display()));
        let meta = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?;
        let mode = meta.permissions().mode();
        if mode & 0o004 != 0 {
            return Err(bad(format!(
                "the file is readable by every user (mode {:o}), so anyone could claim any producer id; run chmod o-r on it",
                mode & 0o777
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let secret = text.strip_suffix('\n').unwrap_or(&text);
        let secret = secret.strip_suffix('\r').unwrap_or(secret);
        if secret.is_empty() {
            return Err(bad("the file is empty; put the secret in it".into()));
        }
        if secret.len() > MAX_SECRET {
            return Err(bad(format!("the secret is longer than {MAX_SECRET} bytes")));
        }
        if secret.chars().any(char::is_control) {
            return Err(bad(
                "the secret contains a control character (only a final line end is taken off)"
                    .into(),
            ));
        }
        Ok(Secret(secret.to_owned()))
    }

    /// Whether `given` is the secret, in time that depends only on the
    /// lengths: a client timing its refusals learns nothing of the content.
    fn matches(&self, given: &str) -> bool {
        constant_time_eq(self.0.as_bytes(), given.as_bytes())
    }
}

/// Whether `a` and `b` are equal, in time that depends only on their
/// lengths (secrets and credentials: a client timing its refusals learns
/// nothing of the content).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
        diff |= usize::from(std::hint::black_box(x));
    }
    diff == 0
}

impl ProducerAuth {
    /// The checks `settings` ask for, with the secret read from its file.
    /// Checked here rather than with the other settings: the flag is
    /// useful only with `tls-client-ca`, but a setting that needs another
    /// one is still a setting of its own.
    pub(crate) fn load(settings: &Settings) -> Result<ProducerAuth, ConfigError> {
        if settings.producer_ids_from_cert
            && settings
                .tls
                .as_ref()
                .and_then(|t| t.client_ca.as_ref())
                .is_none()
        {
            return Err(invalid(
                "producer-ids-from-cert",
                "needs client certificates to compare ids with: set --tls-cert, --tls-key and --tls-client-ca",
            ));
        }
        Ok(ProducerAuth {
            ids_from_cert: settings.producer_ids_from_cert,
            secret: settings
                .producer_secret
                .as_deref()
                .map(Secret::load)
                .transpose()?,
        })
    }

    /// Checks `hello` on a connection whose client certificate carries
    /// `cert_names` (`None`: no certificate: plain TCP, a Unix socket, TLS
    /// without client certificates). `Err` is the reason for the refusal;
    /// it never repeats the secret.
    pub(crate) fn check(&self, hello: &Hello, cert_names: Option<&[String]>) -> Result<(), String> {
        if let Some(secret) = &self.secret {
            match &hello.secret {
                None => {
                    return Err(
                        "the hello carries no secret; this listener requires the one in its producer-secret file"
                            .into(),
                    );
                }
                Some(given) if !secret.matches(given) => {
                    return Err(
                        "the hello's secret is not the one in the listener's producer-secret file"
                            .into(),
                    );
                }
                Some(_) => {}
            }
        }
        if self.ids_from_cert {
            let Some(names) = cert_names else {
                return Err(format!(
                    "producer id {:?} cannot be checked: this connection has no client certificate (plain TCP or a Unix socket), and producer-ids-from-cert is on; connect over TLS with a client certificate",
                    hello.producer
                ));
            };
            if !names.iter().any(|name| owns(name, &hello.producer)) {
                return Err(format!(
                    "producer id {:?} is not the client certificate's (it names {}): with producer-ids-from-cert the id must be one of the certificate's names, or start with one followed by '/'",
                    hello.producer,
                    if names.is_empty() {
                        "nothing usable".to_owned()
                    } else {
                        names.join(", ")
                    }
                ));
            }
        }
        Ok(())
    }
}

/// Whether a certificate named `name` may use producer id `id`.
fn owns(name: &str, id: &str) -> bool {
    !name.is_empty()
        && (id == name
            || id
                .strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('/')))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn hello(producer: &str, secret: Option<&str>) -> Hello {
        Hello {
            producer: producer.into(),
            epoch: String::new(),
            next: 0,
            secret: secret.map(str::to_owned),
        }
    }

    #[test]
    fn an_id_must_be_a_certificate_name_or_start_with_one_and_a_slash() {
        let auth = ProducerAuth {
            ids_from_cert: true,
            secret: None,
        };
        let names = ["web-1".to_owned(), "web-1.example.com".to_owned()];
        for ok in ["web-1", "web-1/42/abc", "web-1.example.com/x"] {
            assert_eq!(auth.check(&hello(ok, None), Some(&names)), Ok(()), "{ok}");
        }
        for bad in ["web-2", "web-10", "web-1x/1", "web", "/web-1"] {
            let err = auth.check(&hello(bad, None), Some(&names)).unwrap_err();
            assert!(err.contains("not the client certificate's"), "{bad}: {err}");
        }
        let err = auth.check(&hello("web-1", None), None).unwrap_err();
        assert!(err.contains("no client certificate"), "{err}");
        let err = auth
            .check(&hello("x", None), Some(&[String::new()]))
            .unwrap_err();
        assert!(err.contains("not the client certificate's"), "{err}");
    }

    #[test]
    fn the_secret_must_match_and_is_never_repeated() {
        let auth = ProducerAuth {
            ids_from_cert: false,
            secret: Some(Secret("open sesame".into())),
        };
        assert_eq!(auth.check(&hello("p", Some("open sesame")), None), Ok(()));
        for wrong in ["open sesam", "open sesame!", "Open sesame", "x"] {
            let err = auth.check(&hello("p", Some(wrong)), None).unwrap_err();
            assert!(
                err.contains("not the one") && !err.contains("sesame"),
                "{err}"
            );
        }
        let err = auth.check(&hello("p", None), None).unwrap_err();
        assert!(err.contains("no secret"), "{err}");
        assert!(!format!("{:?}", auth.secret).contains("sesame"));
    }

    #[test]
    fn a_secret_file_others_can_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "open sesame\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Secret::load(&path).unwrap_err().to_string();
        assert!(err.contains("readable by every user"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(Secret::load(&path).unwrap().matches("open sesame"));
        std::fs::write(&path, "\n").unwrap();
        let err = Secret::load(&path).unwrap_err().to_string();
        assert!(err.contains("empty"), "{err}");
    }
}
