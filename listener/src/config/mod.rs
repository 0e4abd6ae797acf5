//! The TOML config file: the same keys as the command-line flags (every
//! setting is defined once, in `config/defs.rs`), plus `[[output]]` tables for
//! routing.
//!
//! ```toml
//! tcp = ["127.0.0.1:9020"]
//! udp = ["127.0.0.1:9021"]
//! unix = ["/run/app/log.sock"]
//! out = "logs/app.log"            # everything
//! max-bytes = "10MiB"
//! backup-count = 5
//! compress = "gzip"
//!
//! [[output]]                      # errors to their own file
//! file = "logs/errors.log"
//! level = "ERROR"
//! format = "text"
//!
//! [[output]]                      # one logger to its own file
//! file = "logs/db.log"
//! loggers = ["app.db"]
//! ```
//!
//! Unknown keys and bad values are refused at start with the key, the line
//! and the reason. An `[[output]]` inherits format and rotation keys it does
//! not set from the top level. When `[[output]]` tables are present, the
//! top-level `out` file is written only if `out` is set explicitly (like
//! inputs: naming any replaces the default).

pub(crate) mod defs;
mod effective;
mod output;
pub(crate) mod raw;

pub use effective::{CheckError, check_file, effective_toml};
pub(crate) use output::{FormatName, OutputDraft};

use crate::settings::{DEFAULT_OUT, Settings, TlsSettings};
use defs::{Apply, Scope};
use raw::Raw;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::de::{DeTable, DeValue};

/// The key of the `[[output]]` tables: file-only, as is [`OUTPUT_FILE`].
pub(crate) const OUTPUTS: &str = "output";
/// The `[forward]` table: the forwarding settings without their
/// `forward-` prefix.
pub(crate) const FORWARD: &str = "forward";
/// An `[[output]]` table's file: its one key that is no flag (the top
/// level's is `out`).
pub(crate) const OUTPUT_FILE: &str = "file";

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("invalid config file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's report.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// A key of the file is unknown or its value cannot be read.
    #[error("invalid config file {path}, line {line}: `{key}`: {reason}")]
    Key {
        /// The file.
        path: PathBuf,
        /// The line of the key, from 1.
        line: usize,
        /// The key, e.g. `output[1].when`.
        key: String,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// A value is well-formed but not usable.
    #[error("invalid setting `{key}`: {reason}")]
    Invalid {
        /// The key, e.g. `output[1].when` or `max-frame`.
        key: String,
        /// What is wrong and what is expected.
        reason: String,
    },
}

pub(crate) fn invalid(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        reason: reason.into(),
    }
}

/// The TLS keys as given; checked for completeness when resolved.
#[derive(Clone, Debug, Default)]
pub(crate) struct TlsDraft {
    pub(crate) cert: Option<PathBuf>,
    pub(crate) key: Option<PathBuf>,
    pub(crate) client_ca: Option<PathBuf>,
    pub(crate) handshake_timeout: Option<Duration>,
}

/// The configuration as given so far: the file's values, with the command
/// line's laid over them ([`crate::cli`]). [`FileConfig::into_settings`]
/// resolves outputs and TLS and checks everything.
#[derive(Clone, Debug, Default)]
pub struct FileConfig {
    /// Listener-wide values, applied as read.
    pub(crate) settings: Settings,
    pub(crate) tls: TlsDraft,
    /// The top level's output keys (`out` and what `[[output]]` inherits).
    pub(crate) top: OutputDraft,
    /// The `[[output]]` tables.
    pub(crate) outputs: Vec<OutputDraft>,
}

/// Where a value came from, for messages.
struct Place<'t> {
    text: &'t str,
    path: &'t Path,
}

impl Place<'_> {
    fn refuse(&self, span: std::ops::Range<usize>, key: String, reason: String) -> ConfigError {
        let line = 1 + self.text[..span.start.min(self.text.len())]
            .bytes()
            .filter(|b| *b == b'\n')
            .count();
        ConfigError::Key {
            path: self.path.to_owned(),
            line,
            key,
            reason,
        }
    }
}

fn raw<'a>(value: &'a DeValue<'a>) -> Result<Raw<'a>, String> {
    Ok(match value {
        DeValue::String(s) => Raw::Text(s),
        DeValue::Integer(n) => Raw::Int(
            i64::from_str_radix(n.as_str(), n.radix())
                .map_err(|_| format!("{} is out of range", n.as_str()))?,
        ),
        DeValue::Boolean(b) => Raw::Bool(*b),
        DeValue::Array(items) => Raw::List(
            items
                .iter()
                .map(|i| raw(i.get_ref()))
                .collect::<Result<_, _>>()?,
        ),
        other => {
            return Err(format!(
                "a {} is not a value of any setting",
                other.type_str()
            ));
        }
    })
}

/// The known keys of a table, for an unknown key's message.
fn suggestion(key: &str, known: &[&str]) -> String {
    let dashed = key.replace('_', "-").to_ascii_lowercase();
    if known.contains(&dashed.as_str()) {
        format!("unknown key; did you mean `{dashed}`?")
    } else {
        format!("unknown key; expected one of: {}", known.join(", "))
    }
}

impl FileConfig {
    /// Parses TOML text; `path` is only used in messages.
    pub fn from_toml(text: &str, path: &Path) -> Result<FileConfig, ConfigError> {
        let place = Place { text, path };
        let doc = DeTable::parse(text).map_err(|mut e| {
            e.set_input(Some(text));
            ConfigError::Parse {
                path: path.to_owned(),
                source: Box::new(e),
            }
        })?;
        let mut config = FileConfig::default();
        let top_keys: Vec<&str> = defs::SETTINGS
            .iter()
            .map(|s| s.name)
            .chain([OUTPUTS, FORWARD])
            .collect();
        for (key, value) in doc.get_ref() {
            let name = key.get_ref().as_ref();
            if name == OUTPUTS {
                config.read_outputs(&place, value)?;
                continue;
            }
            if name == FORWARD {
                config.read_forward(&place, value)?;
                continue;
            }
            let Some(setting) = defs::find(name) else {
                return Err(place.refuse(key.span(), name.to_owned(), suggestion(name, &top_keys)));
            };
            let refuse = |reason| place.refuse(value.span(), name.to_owned(), reason);
            let given = raw(value.get_ref()).map_err(refuse)?;
            match setting.apply {
                Apply::Listener(apply) => apply(&mut config, &given),
                Apply::Output(apply) => apply(&mut config.top, &given),
            }
            .map_err(refuse)?;
        }
        Ok(config)
    }

    fn read_outputs(
        &mut self,
        place: &Place<'_>,
        value: &toml::Spanned<DeValue<'_>>,
    ) -> Result<(), ConfigError> {
        let DeValue::Array(tables) = value.get_ref() else {
            return Err(place.refuse(
                value.span(),
                "output".into(),
                "expected [[output]] tables".into(),
            ));
        };
        let table_keys: Vec<&str> = std::iter::once(OUTPUT_FILE)
            .chain(
                defs::SETTINGS
                    .iter()
                    .filter(|s| matches!(s.scope, Scope::Output | Scope::Route))
                    .map(|s| s.name),
            )
            .collect();
        for (i, table) in tables.iter().enumerate() {
            let DeValue::Table(table) = table.get_ref() else {
                return Err(place.refuse(
                    table.span(),
                    format!("output[{i}]"),
                    "expected a table".into(),
                ));
            };
            let mut draft = OutputDraft::default();
            for (key, value) in table {
                let name = key.get_ref().as_ref();
                let shown = format!("output[{i}].{name}");
                let refuse = |reason| place.refuse(value.span(), shown.clone(), reason);
                let given = raw(value.get_ref()).map_err(refuse)?;
                if name == OUTPUT_FILE {
                    draft.file = Some(given.text().map(PathBuf::from).map_err(refuse)?);
                    continue;
                }
                match defs::find(name).map(|s| s.apply) {
                    Some(Apply::Output(apply)) => apply(&mut draft, &given).map_err(refuse)?,
                    _ => {
                        return Err(place.refuse(
                            key.span(),
                            shown.clone(),
                            suggestion(name, &table_keys),
                        ));
                    }
                }
            }
            if draft.file.is_none() {
                return Err(place.refuse(
                    tables[i].span(),
                    format!("output[{i}].file"),
                    "missing: every [[output]] names its file".into(),
                ));
            }
            self.outputs.push(draft);
        }
        Ok(())
    }

    /// The `[forward]` table: its key `K` is the setting `forward-K`
    /// (`host-id` as it is), so `[forward] nats = [...]` is
    /// `forward-nats = [...]`.
    fn read_forward(
        &mut self,
        place: &Place<'_>,
        value: &toml::Spanned<DeValue<'_>>,
    ) -> Result<(), ConfigError> {
        let DeValue::Table(table) = value.get_ref() else {
            return Err(place.refuse(
                value.span(),
                FORWARD.into(),
                "expected a [forward] table".into(),
            ));
        };
        let known: Vec<&str> = defs::SETTINGS
            .iter()
            .filter_map(|s| {
                s.name
                    .strip_prefix("forward-")
                    .or((s.name == "host-id").then_some(s.name))
            })
            .collect();
        for (key, value) in table {
            let name = key.get_ref().as_ref();
            let shown = format!("{FORWARD}.{name}");
            let full = if name == "host-id" {
                name.to_owned()
            } else {
                format!("forward-{name}")
            };
            let Some(Apply::Listener(apply)) = defs::find(&full).map(|s| s.apply) else {
                return Err(place.refuse(key.span(), shown, suggestion(name, &known)));
            };
            let refuse = |reason| place.refuse(value.span(), shown.clone(), reason);
            let given = raw(value.get_ref()).map_err(refuse)?;
            apply(self, &given).map_err(refuse)?;
        }
        Ok(())
    }

    /// Reads and parses a TOML file.
    pub fn load(path: &Path) -> Result<FileConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        FileConfig::from_toml(&text, path)
    }

    /// Resolves outputs (with inheritance) and TLS, and checks every value.
    pub fn into_settings(self) -> Result<Settings, ConfigError> {
        let mut s = self.settings;
        s.tls = self.tls.resolve()?;
        let mut outputs = Vec::new();
        if self.outputs.is_empty() || self.top.file.is_some() {
            let mut top = self.top.clone();
            top.file.get_or_insert_with(|| PathBuf::from(DEFAULT_OUT));
            outputs.push(top.resolve("", None)?);
        }
        for (i, table) in self.outputs.iter().enumerate() {
            outputs.push(table.resolve(&format!("output[{i}]."), Some(&self.top))?);
        }
        s.outputs = outputs;
        s.check()?;
        Ok(s)
    }
}

impl TlsDraft {
    /// The TLS keys, checked for completeness; the files are read when the
    /// listener binds.
    fn resolve(&self) -> Result<Option<TlsSettings>, ConfigError> {
        let (cert, key) = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => (cert, key),
            (None, None) => {
                if self.client_ca.is_some() {
                    return Err(invalid(
                        "tls-client-ca",
                        "client certificates are checked only on TLS inputs: set tls-cert and tls-key too",
                    ));
                }
                if self.handshake_timeout.is_some() {
                    return Err(invalid(
                        "tls-handshake-timeout",
                        "applies only to TLS inputs: set tls-cert and tls-key too",
                    ));
                }
                return Ok(None);
            }
            (Some(_), None) => {
                return Err(invalid(
                    "tls-key",
                    "missing: tls-cert needs the certificate's private key (a PEM file)",
                ));
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "tls-cert",
                    "missing: tls-key needs the certificate chain it belongs to (a PEM file)",
                ));
            }
        };
        let mut tls = TlsSettings::new(cert, key);
        tls.client_ca.clone_from(&self.client_ca);
        if let Some(d) = self.handshake_timeout {
            tls.handshake_timeout = d;
        }
        Ok(Some(tls))
    }
}

#[cfg(test)]
mod tests;
