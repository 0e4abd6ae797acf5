//! The TOML config file: the same keys as the command-line flags, plus
//! `[[output]]` tables for routing.
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

mod values;

pub use values::{CompressName, DiagnosticsName, FormatName, LevelNo, ProfileName, Size, Span};

use crate::RouteFilter;
use crate::filter::MAX_OUTPUTS;
use crate::settings::{
    Compression, DEFAULT_OUT, DEFAULT_PATTERN, DiagnosticsMode, InputSpec, OutputFormat,
    OutputSpec, RotationSpec, Settings, TextFormat, TlsSettings,
};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use tributary_core::JsonProfile;

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
    /// The file is not valid TOML or has an unknown key or a bad value; the
    /// message names the key and line.
    #[error("invalid config file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's report.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// A value is well-formed but not usable.
    #[error("invalid setting `{key}`: {reason}")]
    Invalid {
        /// The key, e.g. `output[1].when` or `--max-frame`.
        key: String,
        /// What is wrong and what is expected.
        reason: String,
    },
}

fn invalid(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        reason: reason.into(),
    }
}

/// The config file, as parsed; every key is optional. The command line
/// fills the same structure (flags override the file), then
/// [`FileConfig::into_settings`] checks and resolves it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[allow(missing_docs)] // each key is a flag of the same name; see `tributary listen --help`
pub struct FileConfig {
    pub tcp: Option<Vec<String>>,
    pub udp: Option<Vec<String>>,
    pub unix: Option<Vec<PathBuf>>,
    pub unix_dgram: Option<Vec<PathBuf>>,
    pub out: Option<PathBuf>,
    pub format: Option<FormatName>,
    pub json_profile: Option<ProfileName>,
    pub pattern: Option<String>,
    pub pattern_fields: Option<Vec<String>>,
    pub max_bytes: Option<Size>,
    pub when: Option<String>,
    pub interval: Option<u32>,
    pub utc: Option<bool>,
    pub backup_count: Option<u32>,
    pub compress: Option<CompressName>,
    pub level: Option<LevelNo>,
    pub max_level: Option<LevelNo>,
    pub loggers: Option<Vec<String>>,
    pub exclude_loggers: Option<Vec<String>>,
    pub max_frame: Option<Size>,
    pub max_connections: Option<usize>,
    pub idle_timeout: Option<Span>,
    pub first_frame_timeout: Option<Span>,
    pub max_connections_per_peer: Option<usize>,
    pub frame_budget: Option<Size>,
    pub stats_interval: Option<Span>,
    pub queue_capacity: Option<usize>,
    pub queue_bytes: Option<Size>,
    pub frame_timeout: Option<Span>,
    pub diagnostics: Option<DiagnosticsName>,
    pub lenient_pickle: Option<bool>,
    pub drain_timeout: Option<Span>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_client_ca: Option<PathBuf>,
    pub tls_handshake_timeout: Option<Span>,
    pub allow_insecure_remote: Option<bool>,
    pub durable: Option<bool>,
    pub ack_journal: Option<PathBuf>,
    #[serde(default)]
    pub output: Vec<OutputTable>,
}

/// One `[[output]]` table.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[allow(missing_docs)] // same meanings as the top-level keys
pub struct OutputTable {
    pub file: PathBuf,
    pub format: Option<FormatName>,
    pub json_profile: Option<ProfileName>,
    pub pattern: Option<String>,
    pub pattern_fields: Option<Vec<String>>,
    pub max_bytes: Option<Size>,
    pub when: Option<String>,
    pub interval: Option<u32>,
    pub utc: Option<bool>,
    pub backup_count: Option<u32>,
    pub compress: Option<CompressName>,
    pub level: Option<LevelNo>,
    pub max_level: Option<LevelNo>,
    pub loggers: Option<Vec<String>>,
    pub exclude_loggers: Option<Vec<String>>,
}

impl FileConfig {
    /// Parses TOML text; `path` is only used in messages.
    pub fn from_toml(text: &str, path: &Path) -> Result<FileConfig, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(e),
        })
    }

    /// Reads and parses a TOML file.
    pub fn load(path: &Path) -> Result<FileConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        FileConfig::from_toml(&text, path)
    }

    /// Checks every value and resolves defaults and inheritance.
    pub fn into_settings(self) -> Result<Settings, ConfigError> {
        let mut s = Settings::default();
        let mut inputs = Vec::new();
        inputs.extend(self.tcp.iter().flatten().cloned().map(InputSpec::Tcp));
        inputs.extend(self.udp.iter().flatten().cloned().map(InputSpec::Udp));
        inputs.extend(self.unix.iter().flatten().cloned().map(InputSpec::Unix));
        inputs.extend(
            self.unix_dgram
                .iter()
                .flatten()
                .cloned()
                .map(InputSpec::UnixDgram),
        );
        s.inputs = inputs;

        if let Some(Size(n)) = self.max_frame {
            if !(16..=u64::from(u32::MAX)).contains(&n) {
                return Err(invalid(
                    "max-frame",
                    format!("{n} bytes is outside 16 B..4 GiB"),
                ));
            }
            s.max_frame = usize::try_from(n)
                .map_err(|_| invalid("max-frame", "too large for this platform"))?;
        }
        if let Some(n) = self.max_connections {
            if n == 0 {
                return Err(invalid("max-connections", "must be at least 1"));
            }
            s.max_connections = n;
        }
        if let Some(n) = self.queue_capacity {
            if n == 0 || n > u32::MAX as usize {
                return Err(invalid(
                    "queue-capacity",
                    "must be between 1 and 4294967295 records",
                ));
            }
            s.queue_capacity = n;
        }
        if let Some(Size(n)) = self.queue_bytes {
            if !(64 * 1024..=(1u64 << 40)).contains(&n) {
                return Err(invalid(
                    "queue-bytes",
                    format!("{n} bytes is outside 64 KiB..1 TiB"),
                ));
            }
            s.queue_bytes = usize::try_from(n)
                .map_err(|_| invalid("queue-bytes", "too large for this platform"))?;
        }
        if let Some(Span(d)) = self.frame_timeout {
            s.frame_timeout = Some(d).filter(|d| !d.is_zero());
        }
        s.idle_timeout = self.idle_timeout.map(|Span(d)| d).filter(|d| !d.is_zero());
        self.connection_limits(&mut s)?;
        s.stats_interval = self
            .stats_interval
            .map(|Span(d)| d)
            .filter(|d| !d.is_zero());
        if let Some(Span(d)) = self.drain_timeout {
            s.drain_timeout = d;
        }
        s.tls = self.tls()?;
        s.allow_insecure_remote = self.allow_insecure_remote.unwrap_or(false);
        s.durable = self.durable.unwrap_or(false);
        s.ack_journal.clone_from(&self.ack_journal);
        s.lenient_pickle = self.lenient_pickle.unwrap_or(false);
        s.diagnostics = match self.diagnostics {
            None | Some(DiagnosticsName::Stderr) => DiagnosticsMode::Stderr,
            Some(DiagnosticsName::Log) => DiagnosticsMode::Log,
            Some(DiagnosticsName::Both) => DiagnosticsMode::Both,
        };

        let top = OutputTable {
            file: self
                .out
                .clone()
                .unwrap_or_else(|| PathBuf::from(DEFAULT_OUT)),
            format: self.format,
            json_profile: self.json_profile,
            pattern: self.pattern.clone(),
            pattern_fields: self.pattern_fields.clone(),
            max_bytes: self.max_bytes,
            when: self.when.clone(),
            interval: self.interval,
            utc: self.utc,
            backup_count: self.backup_count,
            compress: self.compress,
            level: self.level,
            max_level: self.max_level,
            loggers: self.loggers.clone(),
            exclude_loggers: self.exclude_loggers.clone(),
        };
        let mut outputs = Vec::new();
        if self.output.is_empty() || self.out.is_some() {
            outputs.push(resolve_output("", &top, None)?);
        }
        for (i, table) in self.output.iter().enumerate() {
            outputs.push(resolve_output(&format!("output[{i}]."), table, Some(&top))?);
        }
        if outputs.len() > MAX_OUTPUTS {
            return Err(invalid(
                "output",
                format!("at most {MAX_OUTPUTS} outputs are supported"),
            ));
        }
        for (i, o) in outputs.iter().enumerate() {
            if outputs[..i].iter().any(|p| p.path == o.path) {
                return Err(invalid(
                    "output",
                    format!(
                        "{} is named twice; one file must have one writer",
                        o.path.display()
                    ),
                ));
            }
        }
        s.outputs = outputs;
        Ok(s)
    }
}

impl FileConfig {
    /// The connection limits of issue 13: first-frame timeout, per-peer
    /// cap, frame budget.
    fn connection_limits(&self, s: &mut Settings) -> Result<(), ConfigError> {
        if let Some(Span(d)) = self.first_frame_timeout {
            s.first_frame_timeout = Some(d).filter(|d| !d.is_zero());
        }
        if let Some(n) = self.max_connections_per_peer {
            s.max_connections_per_peer = n;
        }
        if let Some(Size(n)) = self.frame_budget {
            if n < 64 * 1024 {
                return Err(invalid(
                    "frame-budget",
                    format!("{n} bytes is below 64 KiB"),
                ));
            }
            s.frame_budget = usize::try_from(n).unwrap_or(usize::MAX);
        }
        Ok(())
    }
}

impl FileConfig {
    /// The TLS keys, checked for completeness; the files are read when the
    /// listener binds.
    fn tls(&self) -> Result<Option<TlsSettings>, ConfigError> {
        let (cert, key) = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => (cert, key),
            (None, None) => {
                if self.tls_client_ca.is_some() {
                    return Err(invalid(
                        "tls-client-ca",
                        "client certificates are checked only on TLS inputs: set tls-cert and tls-key too",
                    ));
                }
                if self.tls_handshake_timeout.is_some() {
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
        tls.client_ca.clone_from(&self.tls_client_ca);
        if let Some(Span(d)) = self.tls_handshake_timeout {
            if d.is_zero() {
                return Err(invalid("tls-handshake-timeout", "must be longer than zero"));
            }
            tls.handshake_timeout = d;
        }
        Ok(Some(tls))
    }
}

/// One output from its table, inheriting format and rotation keys from
/// `parent` (the top level) where unset. Filters are never inherited.
fn resolve_output(
    prefix: &str,
    t: &OutputTable,
    parent: Option<&OutputTable>,
) -> Result<OutputSpec, ConfigError> {
    let key = |k: &str| format!("{prefix}{k}");
    if t.format == Some(FormatName::Json) && t.pattern.is_some() {
        return Err(invalid(
            key("pattern"),
            "a pattern applies to format \"text\", but format is \"json\"",
        ));
    }
    if t.format == Some(FormatName::Text) && t.json_profile.is_some() {
        return Err(invalid(
            key("json-profile"),
            "a JSON profile applies to format \"json\", but format is \"text\"",
        ));
    }
    let pattern = t
        .pattern
        .as_deref()
        .or(parent.and_then(|p| p.pattern.as_deref()));
    // A pattern on its own table implies text; otherwise the format inherits.
    let format = t
        .format
        .or(t.pattern.as_ref().map(|_| FormatName::Text))
        .or(parent.and_then(|p| p.format.or(p.pattern.as_ref().map(|_| FormatName::Text))))
        .unwrap_or(FormatName::Json);
    let format = match format {
        FormatName::Json => {
            let profile = t.json_profile.or(parent.and_then(|p| p.json_profile));
            OutputFormat::Json(profile.map_or(JsonProfile::Native, JsonProfile::from))
        }
        FormatName::Text => OutputFormat::Text(TextFormat {
            pattern: pattern.unwrap_or(DEFAULT_PATTERN).to_owned(),
            fields: t
                .pattern_fields
                .clone()
                .or_else(|| parent.and_then(|p| p.pattern_fields.clone()))
                .unwrap_or_default(),
        }),
    };

    let when = t.when.as_deref().or(parent.and_then(|p| p.when.as_deref()));
    if let Some(w) = when {
        values::check_when(w).map_err(|r| invalid(key("when"), r))?;
    }
    let interval = t.interval.or(parent.and_then(|p| p.interval));
    if interval == Some(0) {
        return Err(invalid(key("interval"), "must be at least 1"));
    }
    let rotation = RotationSpec {
        max_bytes: t
            .max_bytes
            .or(parent.and_then(|p| p.max_bytes))
            .map(|Size(n)| n),
        when: when.map(str::to_owned),
        interval,
        utc: t.utc.or(parent.and_then(|p| p.utc)).unwrap_or(false),
        backup_count: t.backup_count.or(parent.and_then(|p| p.backup_count)),
        compress: match t.compress.or(parent.and_then(|p| p.compress)) {
            Some(CompressName::Gzip) => Compression::Gzip,
            None | Some(CompressName::None) => Compression::None,
        },
    };
    let filter = RouteFilter {
        min_level: t.level.map(|LevelNo(n)| n),
        max_level: t.max_level.map(|LevelNo(n)| n),
        loggers: t.loggers.clone().unwrap_or_default(),
        exclude_loggers: t.exclude_loggers.clone().unwrap_or_default(),
    };
    if let (Some(min), Some(max)) = (filter.min_level, filter.max_level)
        && min > max
    {
        return Err(invalid(
            key("max-level"),
            format!("{max} is below level {min}; no record would match"),
        ));
    }
    if t.file.as_os_str().is_empty() {
        return Err(invalid(
            key(if prefix.is_empty() { "out" } else { "file" }),
            "the path is empty",
        ));
    }
    Ok(OutputSpec {
        path: t.file.clone(),
        format,
        rotation,
        filter,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
            "#,
        )
        .unwrap();
        assert_eq!(s.inputs.len(), 5);
        assert_eq!(s.max_frame, 65536);
        assert_eq!(s.idle_timeout, Some(Duration::from_secs(300)));
        assert_eq!(s.stats_interval, Some(Duration::from_secs(30)));
        assert_eq!(s.diagnostics, DiagnosticsMode::Both);
        let o = &s.outputs[0];
        assert_eq!(o.format, OutputFormat::Text(TextFormat::new("%(message)s")));
        assert_eq!(o.rotation.max_bytes, Some(10 << 20));
        assert_eq!(o.rotation.when.as_deref(), Some("midnight"));
        assert_eq!(o.rotation.compress, Compression::Gzip);
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

        let s =
            parse("out = \"all.log\"\n[[output]]\nfile = \"errors.log\"\nlevel = 40\n").unwrap();
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
        assert!(e.contains("tcp"), "{e}");
    }
}
