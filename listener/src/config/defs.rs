//! Every setting of `tributary listen`, each defined once: its name (the
//! flag is `--NAME`, the config key `NAME`), its value, its help, the
//! default shown in `--help` and the README, where it applies, how its
//! value is read, and the [`ListenerBuilder`] setter that gives a program
//! the same setting.
//!
//! The command line ([`crate::cli`]) and the config file
//! ([`super::FileConfig`]) are both built from [`SETTINGS`]: neither lists
//! a setting of its own. Values are checked for range and consistency once,
//! by [`Settings::check`], whether they came from flags, a file or the
//! builder. The README's flag table is generated from `--help` and a test
//! fails when they differ.
//!
//! # Adding a setting
//!
//! 1. A field on [`Settings`] (or, for an output's format, rotation or
//!    filter, on [`super::OutputDraft`] and the `OutputSpec` it resolves
//!    to), with its default in `Settings::default`.
//! 2. One [`Setting`] here: name, value, help, default, scope, `apply`
//!    (reads the value into the draft) and, for a listener-wide setting, the
//!    builder setter, with a `sample` value that differs from the default.
//! 3. Its range check, if any, in [`Settings::check`].
//! 4. The builder setter in `listener.rs`, and `cargo test -p
//!    tributary-listener --lib settings_table` with
//!    `TRIBUTARY_BLESS_README=1` to regenerate the README's flag table.
//!
//! The tests in this file fail when one of these is missing: a config key
//! without a flag or the reverse, a default that is not the real one, a
//! builder setter that does not set its setting, a README table that is
//! not `--help`'s.

use super::raw::{Raw, Refusal};
use super::{FileConfig, FormatName, OutputDraft};
use crate::ListenerBuilder;
use crate::settings::{
    DEFAULT_MISSING, DEFAULT_PATTERN, DiagnosticsMode, InputSpec, OutputFormat, OutputSpec,
    Settings, TextFormat,
};
use std::path::PathBuf;
use tributary_core::JsonProfile;

/// How a setting is given on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Form {
    /// `--NAME`; `NAME = true` in the file.
    Switch,
    /// `--NAME VALUE`.
    Value(&'static str),
    /// `--NAME VALUE`, repeatable; an array in the file.
    Repeated(&'static str),
}

/// Where a setting applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The listener as a whole (top level of the file only).
    Listener,
    /// An input: naming any input on the command line replaces the file's.
    Input,
    /// An output's format or rotation: top level (the `--out` output) and
    /// `[[output]]` tables, which inherit it from the top level.
    Output,
    /// An output's filter: like [`Scope::Output`], but never inherited.
    Route,
}

/// The default shown in `--help` and the README.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shown {
    /// No default worth showing (switches: off).
    Nothing,
    /// A value of the setting that is the default: a test checks that
    /// giving it changes nothing.
    Value(&'static str),
    /// Words, for a default that is not a value (`never`, `all`).
    Words(&'static str),
}

/// How a setting's value in effect is shown, as the TOML value that sets
/// it (`None`: unset, the default of no value).
#[derive(Clone, Copy)]
pub(crate) enum Show {
    /// From the listener-wide settings.
    Listener(fn(&Settings) -> Option<String>),
    /// From one output.
    Output(fn(&OutputSpec) -> Option<String>),
    /// The output's file: `file` in an `[[output]]` table.
    File,
}

/// A TOML string.
fn text(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// A TOML array of strings.
fn list(items: &[String]) -> String {
    toml::Value::Array(items.iter().cloned().map(toml::Value::String).collect()).to_string()
}

fn path_shown(p: &std::path::Path) -> String {
    text(&p.display().to_string())
}

/// A duration as the config reads it; `None` (never) is 0.
fn duration(d: Option<std::time::Duration>) -> String {
    match d {
        None => "0".to_owned(),
        Some(d) if d.subsec_nanos() == 0 => text(&format!("{}s", d.as_secs())),
        Some(d) => text(&format!("{}ms", d.as_millis())),
    }
}

/// The inputs in effect (the defaults when none is named) of one kind.
fn inputs_shown(s: &Settings, kind: fn(&InputSpec) -> Option<String>) -> Option<String> {
    let found: Vec<String> = s.effective_inputs().iter().filter_map(kind).collect();
    (!found.is_empty()).then(|| list(&found))
}

fn text_format(o: &OutputSpec) -> Option<&TextFormat> {
    match &o.format {
        OutputFormat::Text(t) => Some(t),
        OutputFormat::Json(_) => None,
    }
}

/// How a setting's value is read into the draft configuration.
#[derive(Clone, Copy)]
pub(crate) enum Apply {
    /// Into the listener-wide part of the draft.
    Listener(fn(&mut FileConfig, &Raw<'_>) -> Result<(), Refusal>),
    /// Into an output's draft (the top level's or an `[[output]]` table's).
    Output(fn(&mut OutputDraft, &Raw<'_>) -> Result<(), Refusal>),
}

/// How a program gives the setting to [`ListenerBuilder`]. Read only by
/// the tests, which prove every setter sets what its flag sets.
#[derive(Clone, Copy)]
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) enum Builder {
    /// This setter, fed from resolved settings; a test checks it sets what
    /// the flag sets.
    Setter(fn(ListenerBuilder, &Settings) -> ListenerBuilder),
    /// Part of a value given to the named builder method (`output`, `tls`).
    Via(&'static str),
}

/// One setting; see the [module docs](self).
#[derive(Clone, Copy)]
#[cfg_attr(not(test), allow(dead_code))] // `builder` and `sample`: for the tests
pub(crate) struct Setting {
    /// Flag without its dashes, and config key.
    pub(crate) name: &'static str,
    pub(crate) form: Form,
    /// One line of help; `--help` and the README show it.
    pub(crate) doc: &'static str,
    pub(crate) default: Shown,
    pub(crate) scope: Scope,
    /// Its value in effect, as a TOML value (`tributary check-config`).
    pub(crate) show: Show,
    pub(crate) apply: Apply,
    pub(crate) builder: Builder,
    /// A valid value other than the default, for the tests.
    pub(crate) sample: &'static str,
}

impl Setting {
    /// `doc`, with the default as `--help` shows it.
    pub(crate) fn help(&self) -> String {
        match self.default {
            Shown::Nothing => self.doc.to_owned(),
            Shown::Value(v) | Shown::Words(v) => format!("{} [default: {v}]", self.doc),
        }
    }
}

/// The setting called `name` (flag without dashes, or config key).
pub(crate) fn find(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name == name)
}

fn path(v: &Raw<'_>) -> Result<PathBuf, Refusal> {
    v.text().map(PathBuf::from)
}

fn paths(v: &Raw<'_>) -> Result<Vec<PathBuf>, Refusal> {
    Ok(v.list()?.into_iter().map(PathBuf::from).collect())
}

fn profile(v: &Raw<'_>) -> Result<JsonProfile, Refusal> {
    let choices = [
        JsonProfile::Native,
        JsonProfile::Ecs,
        JsonProfile::Otel,
        JsonProfile::Tracing,
    ]
    .map(|p| (p.name(), p));
    super::raw::one_of(v.text()?, "JSON profile", &choices)
}

fn inputs_of(s: &Settings, kind: fn(&InputSpec) -> Option<String>) -> Vec<String> {
    s.inputs.iter().filter_map(kind).collect()
}

/// Every setting, in the order of `--help` and the README.
pub(crate) static SETTINGS: &[Setting] = &[
    // Inputs.
    Setting {
        name: "tcp",
        form: Form::Repeated("ADDR"),
        doc: "Listen on a TCP address (repeatable; port 0 picks a free port). Naming any input replaces the default inputs",
        default: Shown::Words("127.0.0.1:9020, and UDP 127.0.0.1:9021"),
        scope: Scope::Input,
        show: Show::Listener(|s| {
            inputs_shown(s, |i| match i {
                InputSpec::Tcp(a) => Some(a.clone()),
                _ => None,
            })
        }),
        apply: Apply::Listener(|c, v| {
            let list = v.list()?;
            c.settings
                .inputs
                .extend(list.into_iter().map(InputSpec::Tcp));
            Ok(())
        }),
        builder: Builder::Setter(|b, s| {
            let addrs = inputs_of(s, |i| match i {
                InputSpec::Tcp(a) => Some(a.clone()),
                _ => None,
            });
            addrs.into_iter().fold(b, ListenerBuilder::tcp)
        }),
        sample: "127.0.0.1:0",
    },
    Setting {
        name: "udp",
        form: Form::Repeated("ADDR"),
        doc: "Listen on a UDP address (repeatable)",
        default: Shown::Nothing,
        scope: Scope::Input,
        show: Show::Listener(|s| {
            inputs_shown(s, |i| match i {
                InputSpec::Udp(a) => Some(a.clone()),
                _ => None,
            })
        }),
        apply: Apply::Listener(|c, v| {
            let list = v.list()?;
            c.settings
                .inputs
                .extend(list.into_iter().map(InputSpec::Udp));
            Ok(())
        }),
        builder: Builder::Setter(|b, s| {
            let addrs = inputs_of(s, |i| match i {
                InputSpec::Udp(a) => Some(a.clone()),
                _ => None,
            });
            addrs.into_iter().fold(b, ListenerBuilder::udp)
        }),
        sample: "127.0.0.1:0",
    },
    Setting {
        name: "unix",
        form: Form::Repeated("PATH"),
        doc: "Listen on a Unix stream socket, created with mode 0600 (repeatable); an existing socket is replaced only if connecting to it is refused (stale)",
        default: Shown::Nothing,
        scope: Scope::Input,
        show: Show::Listener(|s| {
            inputs_shown(s, |i| match i {
                InputSpec::Unix(p) => Some(p.display().to_string()),
                _ => None,
            })
        }),
        apply: Apply::Listener(|c, v| {
            let list = paths(v)?;
            c.settings
                .inputs
                .extend(list.into_iter().map(InputSpec::Unix));
            Ok(())
        }),
        builder: Builder::Setter(|b, s| {
            let found = inputs_of(s, |i| match i {
                InputSpec::Unix(p) => Some(p.display().to_string()),
                _ => None,
            });
            found.into_iter().fold(b, ListenerBuilder::unix)
        }),
        sample: "/tmp/tributary-sample.sock",
    },
    Setting {
        name: "unix-dgram",
        form: Form::Repeated("PATH"),
        doc: "Listen on a Unix datagram socket, created with mode 0600 (repeatable)",
        default: Shown::Nothing,
        scope: Scope::Input,
        show: Show::Listener(|s| {
            inputs_shown(s, |i| match i {
                InputSpec::UnixDgram(p) => Some(p.display().to_string()),
                _ => None,
            })
        }),
        apply: Apply::Listener(|c, v| {
            let list = paths(v)?;
            c.settings
                .inputs
                .extend(list.into_iter().map(InputSpec::UnixDgram));
            Ok(())
        }),
        builder: Builder::Setter(|b, s| {
            let found = inputs_of(s, |i| match i {
                InputSpec::UnixDgram(p) => Some(p.display().to_string()),
                _ => None,
            });
            found.into_iter().fold(b, ListenerBuilder::unix_dgram)
        }),
        sample: "/tmp/tributary-sample.dgram",
    },
    Setting {
        name: "syslog-tcp",
        form: Form::Repeated("ADDR"),
        doc: "Listen for syslog on a TCP address (repeatable): RFC 5424, RFC 3164 or Python's SysLogHandler messages, framed by octet counting, LF, NUL or NUL+LF (detected per message); TLS with the TLS settings (RFC 5425)",
        default: Shown::Nothing,
        scope: Scope::Input,
        show: Show::Listener(|s| {
            inputs_shown(s, |i| match i {
                InputSpec::SyslogTcp(a) => Some(a.clone()),
                _ => None,
            })
        }),
        apply: Apply::Listener(|c, v| {
            let list = v.list()?;
            c.settings
                .inputs
                .extend(list.into_iter().map(InputSpec::SyslogTcp));
            Ok(())
        }),
        builder: Builder::Setter(|b, s| {
            let found = inputs_of(s, |i| match i {
                InputSpec::SyslogTcp(a) => Some(a.clone()),
                _ => None,
            });
            found.into_iter().fold(b, ListenerBuilder::syslog_tcp)
        }),
        sample: "127.0.0.1:0",
    },
    Setting {
        name: "syslog-udp",
        form: Form::Repeated("ADDR"),
        doc: "Listen for syslog on a UDP address (repeatable); one datagram is one message",
        default: Shown::Nothing,
        scope: Scope::Input,
        show: Show::Listener(|s| {
            inputs_shown(s, |i| match i {
                InputSpec::SyslogUdp(a) => Some(a.clone()),
                _ => None,
            })
        }),
        apply: Apply::Listener(|c, v| {
            let list = v.list()?;
            c.settings
                .inputs
                .extend(list.into_iter().map(InputSpec::SyslogUdp));
            Ok(())
        }),
        builder: Builder::Setter(|b, s| {
            let found = inputs_of(s, |i| match i {
                InputSpec::SyslogUdp(a) => Some(a.clone()),
                _ => None,
            });
            found.into_iter().fold(b, ListenerBuilder::syslog_udp)
        }),
        sample: "127.0.0.1:0",
    },
    Setting {
        name: "syslog-unix",
        form: Form::Repeated("PATH"),
        doc: "Listen for syslog on a Unix datagram socket like /dev/log, created with mode 0600 (repeatable)",
        default: Shown::Nothing,
        scope: Scope::Input,
        show: Show::Listener(|s| {
            inputs_shown(s, |i| match i {
                InputSpec::SyslogUnix(p) => Some(p.display().to_string()),
                _ => None,
            })
        }),
        apply: Apply::Listener(|c, v| {
            let list = paths(v)?;
            c.settings
                .inputs
                .extend(list.into_iter().map(InputSpec::SyslogUnix));
            Ok(())
        }),
        builder: Builder::Setter(|b, s| {
            let found = inputs_of(s, |i| match i {
                InputSpec::SyslogUnix(p) => Some(p.display().to_string()),
                _ => None,
            });
            found.into_iter().fold(b, ListenerBuilder::syslog_unix)
        }),
        sample: "/tmp/tributary-sample.syslog",
    },
    Setting {
        name: "syslog-unix-stream",
        form: Form::Repeated("PATH"),
        doc: "Listen for syslog on a Unix stream socket, created with mode 0600 (repeatable)",
        default: Shown::Nothing,
        scope: Scope::Input,
        show: Show::Listener(|s| {
            inputs_shown(s, |i| match i {
                InputSpec::SyslogUnixStream(p) => Some(p.display().to_string()),
                _ => None,
            })
        }),
        apply: Apply::Listener(|c, v| {
            let list = paths(v)?;
            c.settings
                .inputs
                .extend(list.into_iter().map(InputSpec::SyslogUnixStream));
            Ok(())
        }),
        builder: Builder::Setter(|b, s| {
            let found = inputs_of(s, |i| match i {
                InputSpec::SyslogUnixStream(p) => Some(p.display().to_string()),
                _ => None,
            });
            found
                .into_iter()
                .fold(b, ListenerBuilder::syslog_unix_stream)
        }),
        sample: "/tmp/tributary-sample.syslog-stream",
    },
    Setting {
        name: "http",
        form: Form::Repeated("ADDR"),
        doc: "Listen for HTTP on a TCP address (repeatable): POST or GET /log from Python's HTTPHandler, NDJSON or a JSON array of records POSTed to /log, OpenTelemetry OTLP/HTTP logs POSTed to /v1/logs (gzip accepted); TLS with the TLS settings",
        default: Shown::Nothing,
        scope: Scope::Input,
        show: Show::Listener(|s| {
            inputs_shown(s, |i| match i {
                InputSpec::Http(a) => Some(a.clone()),
                _ => None,
            })
        }),
        apply: Apply::Listener(|c, v| {
            let list = v.list()?;
            c.settings
                .inputs
                .extend(list.into_iter().map(InputSpec::Http));
            Ok(())
        }),
        builder: Builder::Setter(|b, s| {
            let found = inputs_of(s, |i| match i {
                InputSpec::Http(a) => Some(a.clone()),
                _ => None,
            });
            found.into_iter().fold(b, ListenerBuilder::http)
        }),
        sample: "127.0.0.1:0",
    },
    // The output, its format and rotation.
    Setting {
        name: "out",
        form: Form::Value("FILE"),
        doc: "Output file (its directory is created); with [[output]] tables in the config file, written only when set",
        default: Shown::Value(crate::settings::DEFAULT_OUT),
        scope: Scope::Listener,
        show: Show::File,
        apply: Apply::Listener(|c, v| {
            c.top.file = Some(path(v)?);
            Ok(())
        }),
        builder: Builder::Via("output(OutputSpec::file(path))"),
        sample: "logs/sample.log",
    },
    Setting {
        name: "format",
        form: Form::Value("json|text"),
        doc: "Output format",
        default: Shown::Value("json"),
        scope: Scope::Output,
        show: Show::Output(|o| {
            Some(text(match o.format {
                OutputFormat::Json(_) => "json",
                OutputFormat::Text(_) => "text",
            }))
        }),
        apply: Apply::Output(|o, v| {
            o.format = Some(v.parse::<FormatName>()?);
            Ok(())
        }),
        builder: Builder::Via("output(OutputSpec::file(path).format(..))"),
        sample: "text",
    },
    Setting {
        name: "json-profile",
        form: Form::Value("native|ecs|otel|tracing"),
        doc: "Key layout of JSON lines (see docs/contracts.md for native)",
        default: Shown::Value("native"),
        scope: Scope::Output,
        show: Show::Output(|o| match o.format {
            OutputFormat::Json(p) => Some(text(p.name())),
            OutputFormat::Text(_) => None,
        }),
        apply: Apply::Output(|o, v| {
            o.json_profile = Some(profile(v)?);
            Ok(())
        }),
        builder: Builder::Via("output(OutputSpec::file(path).format(OutputFormat::Json(..)))"),
        sample: "ecs",
    },
    Setting {
        name: "pattern",
        form: Form::Value("TEMPLATE"),
        doc: "Python logging.Formatter template for text lines (implies --format text); names that are not LogRecord attributes are the record's fields, as Python's extra= attributes",
        default: Shown::Words(DEFAULT_PATTERN), // with --format text: a pattern implies it
        scope: Scope::Output,
        show: Show::Output(|o| text_format(o).map(|t| text(&t.pattern))),
        apply: Apply::Output(|o, v| {
            o.pattern = Some(v.text()?.to_owned());
            Ok(())
        }),
        builder: Builder::Via("output(OutputSpec::file(path).format(OutputFormat::Text(..)))"),
        sample: "%(message)s",
    },
    Setting {
        name: "pattern-fields",
        form: Form::Repeated("NAME"),
        doc: "The only fields the pattern may use besides LogRecord attributes (repeatable): a strictness check, so a typo is refused at start",
        default: Shown::Words("any field"),
        scope: Scope::Output,
        show: Show::Output(|o| {
            text_format(o)
                .filter(|t| !t.fields.is_empty())
                .map(|t| list(&t.fields))
        }),
        apply: Apply::Output(|o, v| {
            o.pattern_fields = Some(v.list()?);
            Ok(())
        }),
        builder: Builder::Via("output(OutputSpec::file(path).format(OutputFormat::Text(..)))"),
        sample: "user",
    },
    Setting {
        name: "pattern-missing",
        form: Form::Value("TEXT"),
        doc: "What a field the pattern uses prints on a record that lacks it (the record is still written, and counted)",
        default: Shown::Value(DEFAULT_MISSING),
        scope: Scope::Output,
        show: Show::Output(|o| text_format(o).map(|t| text(&t.missing))),
        apply: Apply::Output(|o, v| {
            o.pattern_missing = Some(v.text()?.to_owned());
            Ok(())
        }),
        builder: Builder::Via("output(OutputSpec::file(path).format(OutputFormat::Text(..)))"),
        sample: "n/a",
    },
    Setting {
        name: "text-escape-newlines",
        form: Form::Switch,
        doc: "Write line feeds and carriage returns from a record (message, fields, traceback) as \\n and \\r in text lines, so each record is one line and no producer can forge lines of another; Python writes them as they are",
        default: Shown::Nothing,
        scope: Scope::Output,
        show: Show::Output(|o| text_format(o).map(|t| t.escape_newlines.to_string())),
        apply: Apply::Output(|o, v| {
            o.text_escape_newlines = Some(v.switch()?);
            Ok(())
        }),
        builder: Builder::Via("output(OutputSpec::file(path).format(OutputFormat::Text(..)))"),
        sample: "",
    },
    Setting {
        name: "max-bytes",
        form: Form::Value("SIZE"),
        doc: "Rotate before the file would pass this size, e.g. 10MiB",
        default: Shown::Words("no size rotation"),
        scope: Scope::Output,
        show: Show::Output(|o| o.rotation.max_bytes.map(|n| n.to_string())),
        apply: Apply::Output(|o, v| {
            o.max_bytes = Some(v.size()?);
            Ok(())
        }),
        builder: Builder::Via("output(OutputSpec::file(path).rotation(..))"),
        sample: "10MiB",
    },
    Setting {
        name: "when",
        form: Form::Value("S|M|H|D|midnight|W0..W6"),
        doc: "Rotate on time, as Python's TimedRotatingFileHandler (W0 is Monday)",
        default: Shown::Words("no time rotation"),
        scope: Scope::Output,
        show: Show::Output(|o| o.rotation.when.map(|w| text(&w.to_string()))),
        apply: Apply::Output(|o, v| {
            o.when = Some(v.parse()?);
            Ok(())
        }),
        builder: Builder::Via("output(OutputSpec::file(path).rotation(..))"),
        sample: "midnight",
    },
    Setting {
        name: "interval",
        form: Form::Value("N"),
        doc: "Units of --when per rotation period",
        default: Shown::Words("1"),
        scope: Scope::Output,
        show: Show::Output(|o| o.rotation.interval.map(|n| n.to_string())),
        apply: Apply::Output(|o, v| {
            o.interval = Some(v.number()?);
            Ok(())
        }),
        builder: Builder::Via("output(OutputSpec::file(path).rotation(..))"),
        sample: "2",
    },
    Setting {
        name: "utc",
        form: Form::Switch,
        doc: "Compute rotation times in UTC instead of local time",
        default: Shown::Nothing,
        scope: Scope::Output,
        show: Show::Output(|o| Some(o.rotation.utc.to_string())),
        apply: Apply::Output(|o, v| {
            o.utc = Some(v.switch()?);
            Ok(())
        }),
        builder: Builder::Via("output(OutputSpec::file(path).rotation(..))"),
        sample: "",
    },
    Setting {
        name: "backup-count",
        form: Form::Value("N"),
        doc: "Archives to keep (0 keeps all)",
        default: Shown::Words("all"),
        scope: Scope::Output,
        show: Show::Output(|o| o.rotation.backup_count.map(|n| n.to_string())),
        apply: Apply::Output(|o, v| {
            o.backup_count = Some(v.number()?);
            Ok(())
        }),
        builder: Builder::Via("output(OutputSpec::file(path).rotation(..))"),
        sample: "7",
    },
    Setting {
        name: "compress",
        form: Form::Value("none|gzip"),
        doc: "Compress archives, off the write path",
        default: Shown::Value("none"),
        scope: Scope::Output,
        show: Show::Output(|o| Some(text(&o.rotation.compress.to_string()))),
        apply: Apply::Output(|o, v| {
            o.compress = Some(v.parse()?);
            Ok(())
        }),
        builder: Builder::Via("output(OutputSpec::file(path).rotation(..))"),
        sample: "gzip",
    },
    // Which records an output takes.
    Setting {
        name: "level",
        form: Form::Value("LEVEL"),
        doc: "Write only records at this level or above (name or number)",
        default: Shown::Words("all"),
        scope: Scope::Route,
        show: Show::Output(|o| o.filter.min_level.map(|n| n.to_string())),
        apply: Apply::Output(|o, v| {
            o.level = Some(v.level()?);
            Ok(())
        }),
        builder: Builder::Via("output(OutputSpec::file(path).filter(..))"),
        sample: "ERROR",
    },
    Setting {
        name: "max-level",
        form: Form::Value("LEVEL"),
        doc: "Write only records at this level or below (name or number)",
        default: Shown::Words("all"),
        scope: Scope::Route,
        show: Show::Output(|o| o.filter.max_level.map(|n| n.to_string())),
        apply: Apply::Output(|o, v| {
            o.max_level = Some(v.level()?);
            Ok(())
        }),
        builder: Builder::Via("output(OutputSpec::file(path).filter(..))"),
        sample: "INFO",
    },
    Setting {
        name: "loggers",
        form: Form::Repeated("NAME"),
        doc: "Write only records of these loggers and their children (repeatable; `.` and `::` separate levels)",
        default: Shown::Words("all"),
        scope: Scope::Route,
        show: Show::Output(|o| (!o.filter.loggers.is_empty()).then(|| list(&o.filter.loggers))),
        apply: Apply::Output(|o, v| {
            o.loggers = Some(v.list()?);
            Ok(())
        }),
        builder: Builder::Via("output(OutputSpec::file(path).filter(..))"),
        sample: "app.db",
    },
    Setting {
        name: "exclude-loggers",
        form: Form::Repeated("NAME"),
        doc: "Leave out records of these loggers and their children (repeatable)",
        default: Shown::Words("none"),
        scope: Scope::Route,
        show: Show::Output(|o| {
            (!o.filter.exclude_loggers.is_empty()).then(|| list(&o.filter.exclude_loggers))
        }),
        apply: Apply::Output(|o, v| {
            o.exclude_loggers = Some(v.list()?);
            Ok(())
        }),
        builder: Builder::Via("output(OutputSpec::file(path).filter(..))"),
        sample: "app.noisy",
    },
    // Limits.
    Setting {
        name: "max-frame",
        form: Form::Value("SIZE"),
        doc: "Largest frame, line or datagram accepted (16 B..4 GiB); a larger frame closes its connection and is never allocated",
        default: Shown::Value("1MiB"),
        scope: Scope::Listener,
        show: Show::Listener(|s| Some(s.max_frame.to_string())),
        apply: Apply::Listener(|c, v| {
            c.settings.max_frame =
                usize::try_from(v.size()?).map_err(|_| "too large for this platform".to_owned())?;
            Ok(())
        }),
        builder: Builder::Setter(|b, s| b.max_frame(s.max_frame)),
        sample: "64KiB",
    },
    Setting {
        name: "syslog-timezone",
        form: Form::Value("ZONE"),
        doc: "Time zone of RFC 3164 timestamps, which carry none: an IANA name (Europe/Paris), UTC, or local",
        default: Shown::Value("local"),
        scope: Scope::Listener,
        show: Show::Listener(|s| Some(text(s.syslog_timezone.as_deref().unwrap_or("local")))),
        apply: Apply::Listener(|c, v| {
            let zone = v.text()?;
            // `local` is the default itself, not a zone to look up.
            c.settings.syslog_timezone =
                (!zone.eq_ignore_ascii_case("local")).then(|| zone.to_owned());
            Ok(())
        }),
        builder: Builder::Setter(|b, s| match &s.syslog_timezone {
            Some(z) => b.syslog_timezone(z),
            None => b,
        }),
        sample: "UTC",
    },
    Setting {
        name: "syslog-max-message",
        form: Form::Value("SIZE"),
        doc: "Largest syslog message accepted on the syslog inputs (480 B..4 GiB); a larger octet count closes its connection unallocated, a longer unterminated message is skipped to its end",
        default: Shown::Value("64KiB"),
        scope: Scope::Listener,
        show: Show::Listener(|s| Some(s.syslog_max_message.to_string())),
        apply: Apply::Listener(|c, v| {
            c.settings.syslog_max_message =
                usize::try_from(v.size()?).map_err(|_| "too large for this platform".to_owned())?;
            Ok(())
        }),
        builder: Builder::Setter(|b, s| b.syslog_max_message(s.syslog_max_message)),
        sample: "128KiB",
    },
    Setting {
        name: "max-connections",
        form: Form::Value("N"),
        doc: "Most stream connections open at once (at least 1); at the limit a new connection takes the slot of the oldest one that completed no frame (counted as evicted), else it is accepted and closed at once, counted as rejected",
        default: Shown::Value("1024"),
        scope: Scope::Listener,
        show: Show::Listener(|s| Some(s.max_connections.to_string())),
        apply: Apply::Listener(|c, v| {
            c.settings.max_connections = v.number()?;
            Ok(())
        }),
        builder: Builder::Setter(|b, s| b.max_connections(s.max_connections)),
        sample: "10",
    },
    Setting {
        name: "idle-timeout",
        form: Form::Value("DURATION"),
        doc: "Close connections silent this long, e.g. 10m; 0 never (Python's SocketHandler keeps its connection between records and loses the first record sent on one the peer closed)",
        default: Shown::Words("never"),
        scope: Scope::Listener,
        show: Show::Listener(|s| Some(duration(s.idle_timeout))),
        apply: Apply::Listener(|c, v| {
            c.settings.idle_timeout = Some(v.duration()?).filter(|d| !d.is_zero());
            Ok(())
        }),
        builder: Builder::Setter(|b, s| b.idle_timeout(s.idle_timeout)),
        sample: "5m",
    },
    // Connection limits (issue 13).
    Setting {
        name: "first-frame-timeout",
        form: Form::Value("DURATION"),
        doc: "Close a connection that completes no frame or line this long after it opens (it holds a slot and sends nothing; producers send as soon as they connect); 0 turns it off",
        default: Shown::Value("10s"),
        scope: Scope::Listener,
        show: Show::Listener(|s| Some(duration(s.first_frame_timeout))),
        apply: Apply::Listener(|c, v| {
            c.settings.first_frame_timeout = Some(v.duration()?).filter(|d| !d.is_zero());
            Ok(())
        }),
        builder: Builder::Setter(|b, s| b.first_frame_timeout(s.first_frame_timeout)),
        sample: "30s",
    },
    Setting {
        name: "max-connections-per-peer",
        form: Form::Value("N"),
        doc: "Most stream connections from one peer: a remote address, or a Unix socket's process (its pid); TCP on loopback is not counted per peer; 0: no cap",
        default: Shown::Value("256"),
        scope: Scope::Listener,
        show: Show::Listener(|s| Some(s.max_connections_per_peer.to_string())),
        apply: Apply::Listener(|c, v| {
            c.settings.max_connections_per_peer = v.number()?;
            Ok(())
        }),
        builder: Builder::Setter(|b, s| b.max_connections_per_peer(s.max_connections_per_peer)),
        sample: "16",
    },
    Setting {
        name: "frame-budget",
        form: Form::Value("SIZE"),
        doc: "Most bytes held in unfinished frames and lines over all connections (at least 64 KiB); past it the connections holding the largest are closed, counted as evicted. HTTP request bodies being received share a budget of the same size (at least --http-max-body); past it a body is answered 503",
        default: Shown::Value("16MiB"),
        scope: Scope::Listener,
        show: Show::Listener(|s| Some(s.frame_budget.to_string())),
        apply: Apply::Listener(|c, v| {
            c.settings.frame_budget =
                usize::try_from(v.size()?).map_err(|_| "too large for this platform".to_owned())?;
            Ok(())
        }),
        builder: Builder::Setter(|b, s| b.frame_budget(s.frame_budget)),
        sample: "4MiB",
    },
    Setting {
        name: "frame-timeout",
        form: Form::Value("DURATION"),
        doc: "Close a connection whose started frame or line does not complete within this time (slow-loris); 0 turns it off",
        default: Shown::Value("30s"),
        scope: Scope::Listener,
        show: Show::Listener(|s| Some(duration(s.frame_timeout))),
        apply: Apply::Listener(|c, v| {
            c.settings.frame_timeout = Some(v.duration()?).filter(|d| !d.is_zero());
            Ok(())
        }),
        builder: Builder::Setter(|b, s| b.frame_timeout(s.frame_timeout)),
        sample: "0",
    },
    Setting {
        name: "read-linger",
        form: Form::Value("DURATION"),
        doc: "After a read of under 16 KiB from a stream producer that waits for no acknowledgement (Python's SocketHandler, syslog) and sends steadily, let its bytes gather at least this long before reading again: fewer wake-ups, reads and writes per record; at most 1s; 0 reads at once",
        default: Shown::Value("2ms"),
        scope: Scope::Listener,
        show: Show::Listener(|s| Some(duration(s.read_linger))),
        apply: Apply::Listener(|c, v| {
            c.settings.read_linger = Some(v.duration()?).filter(|d| !d.is_zero());
            Ok(())
        }),
        builder: Builder::Setter(|b, s| b.read_linger(s.read_linger)),
        sample: "0",
    },
    Setting {
        name: "queue-capacity",
        form: Form::Value("N"),
        doc: "Records in flight between the inputs and the writer (1..4294967295)",
        default: Shown::Value("16384"),
        scope: Scope::Listener,
        show: Show::Listener(|s| Some(s.queue_capacity.to_string())),
        apply: Apply::Listener(|c, v| {
            c.settings.queue_capacity = v.number()?;
            Ok(())
        }),
        builder: Builder::Setter(|b, s| b.queue_capacity(s.queue_capacity)),
        sample: "100",
    },
    Setting {
        name: "queue-bytes",
        form: Form::Value("SIZE"),
        doc: "Bytes of formatted records in flight between the inputs and the writer (64 KiB..1 TiB)",
        default: Shown::Value("64MiB"),
        scope: Scope::Listener,
        show: Show::Listener(|s| Some(s.queue_bytes.to_string())),
        apply: Apply::Listener(|c, v| {
            c.settings.queue_bytes =
                usize::try_from(v.size()?).map_err(|_| "too large for this platform".to_owned())?;
            Ok(())
        }),
        builder: Builder::Setter(|b, s| b.queue_bytes(s.queue_bytes)),
        sample: "1MiB",
    },
    // Delivery.
    Setting {
        name: "durable",
        form: Form::Switch,
        doc: "Acknowledge records to acknowledged producers only once outputs and journal are fsynced (group commit), not merely written",
        default: Shown::Nothing,
        scope: Scope::Listener,
        show: Show::Listener(|s| Some(s.durable.to_string())),
        apply: Apply::Listener(|c, v| {
            c.settings.durable = v.switch()?;
            Ok(())
        }),
        builder: Builder::Setter(|b, s| b.durable(s.durable)),
        sample: "",
    },
    Setting {
        name: "ack-journal",
        form: Form::Value("PATH"),
        doc: "The acknowledgement journal (docs/protocol.md)",
        default: Shown::Words(".FILE.acks beside the first output"),
        scope: Scope::Listener,
        show: Show::Listener(|s| s.ack_journal.as_deref().map(path_shown)),
        apply: Apply::Listener(|c, v| {
            c.settings.ack_journal = Some(path(v)?);
            Ok(())
        }),
        builder: Builder::Setter(|b, s| match &s.ack_journal {
            Some(p) => b.ack_journal(p),
            None => b,
        }),
        sample: "logs/sample.acks",
    },
    Setting {
        name: "drain-timeout",
        form: Form::Value("DURATION"),
        doc: "On shutdown, how long to wait for connections to deliver what they already sent",
        default: Shown::Value("5s"),
        scope: Scope::Listener,
        show: Show::Listener(|s| Some(duration(Some(s.drain_timeout)))),
        apply: Apply::Listener(|c, v| {
            c.settings.drain_timeout = v.duration()?;
            Ok(())
        }),
        builder: Builder::Setter(|b, s| b.drain_timeout(s.drain_timeout)),
        sample: "2s",
    },
    // Reporting.
    Setting {
        name: "pid-file",
        form: Form::Value("PATH"),
        doc: "Write the listener's pid to this file once every input is bound, and remove it at exit; refused when the file names a process that is running",
        default: Shown::Words("none"),
        scope: Scope::Listener,
        show: Show::Listener(|s| s.pid_file.as_deref().map(path_shown)),
        apply: Apply::Listener(|c, v| {
            c.settings.pid_file = Some(path(v)?);
            Ok(())
        }),
        builder: Builder::Setter(|b, s| match &s.pid_file {
            Some(p) => b.pid_file(p),
            None => b,
        }),
        sample: "/run/tributary.pid",
    },
    Setting {
        name: "stats-interval",
        form: Form::Value("DURATION"),
        doc: "Print a stats line to stderr this often, e.g. 60s; 0 never",
        default: Shown::Words("never"),
        scope: Scope::Listener,
        show: Show::Listener(|s| Some(duration(s.stats_interval))),
        apply: Apply::Listener(|c, v| {
            c.settings.stats_interval = Some(v.duration()?).filter(|d| !d.is_zero());
            Ok(())
        }),
        builder: Builder::Setter(|b, s| b.stats_interval(s.stats_interval)),
        sample: "30",
    },
    Setting {
        name: "admin",
        form: Form::Value("ADDR"),
        doc: "Serve the admin endpoint on this TCP address: GET /metrics (Prometheus), /health, /status (live page), /status.json, POST /reload. Loopback only unless TLS or allow-insecure-remote",
        default: Shown::Words("off"),
        scope: Scope::Listener,
        show: Show::Listener(|s| s.admin.as_deref().map(text)),
        apply: Apply::Listener(|c, v| {
            c.settings.admin = Some(v.text()?.to_owned());
            Ok(())
        }),
        builder: Builder::Setter(|b, s| match &s.admin {
            Some(addr) => b.admin(addr.clone()),
            None => b,
        }),
        sample: "127.0.0.1:0",
    },
    Setting {
        name: "diagnostics",
        form: Form::Value("stderr|log|both"),
        doc: "Where the listener's own diagnostics go; log writes them as records of logger tributary",
        default: Shown::Value("stderr"),
        scope: Scope::Listener,
        show: Show::Listener(|s| {
            Some(text(match s.diagnostics {
                DiagnosticsMode::Stderr => "stderr",
                DiagnosticsMode::Log => "log",
                DiagnosticsMode::Both => "both",
            }))
        }),
        apply: Apply::Listener(|c, v| {
            c.settings.diagnostics = v.parse::<DiagnosticsMode>()?;
            Ok(())
        }),
        builder: Builder::Setter(|b, s| b.diagnostics(s.diagnostics)),
        sample: "both",
    },
    Setting {
        name: "lenient-pickle",
        form: Form::Switch,
        doc: "Render pickled objects that need code to rebuild (a datetime in extra) as strings instead of refusing the record; nothing is ever executed",
        default: Shown::Nothing,
        scope: Scope::Listener,
        show: Show::Listener(|s| Some(s.lenient_pickle.to_string())),
        apply: Apply::Listener(|c, v| {
            c.settings.lenient_pickle = v.switch()?;
            Ok(())
        }),
        builder: Builder::Setter(|b, s| b.lenient_pickle(s.lenient_pickle)),
        sample: "",
    },
    // TLS and exposure.
    Setting {
        name: "tls-cert",
        form: Form::Value("PATH"),
        doc: "Serve TLS on every TCP input with this certificate chain (PEM, the listener's own certificate first; needs --tls-key)",
        default: Shown::Words("no TLS"),
        scope: Scope::Listener,
        show: Show::Listener(|s| s.tls.as_ref().map(|t| path_shown(&t.cert))),
        apply: Apply::Listener(|c, v| {
            c.tls.cert = Some(path(v)?);
            Ok(())
        }),
        builder: Builder::Via("tls(TlsSettings::new(cert, key))"),
        sample: "server.pem",
    },
    Setting {
        name: "tls-key",
        form: Form::Value("PATH"),
        doc: "The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1)",
        default: Shown::Nothing,
        scope: Scope::Listener,
        show: Show::Listener(|s| s.tls.as_ref().map(|t| path_shown(&t.key))),
        apply: Apply::Listener(|c, v| {
            c.tls.key = Some(path(v)?);
            Ok(())
        }),
        builder: Builder::Via("tls(TlsSettings::new(cert, key))"),
        sample: "server.key",
    },
    Setting {
        name: "tls-client-ca",
        form: Form::Value("PATH"),
        doc: "Require TLS clients to present a certificate signed by a CA in this PEM bundle (mutual TLS); others are refused",
        default: Shown::Words("none"),
        scope: Scope::Listener,
        show: Show::Listener(|s| {
            s.tls
                .as_ref()
                .and_then(|t| t.client_ca.as_deref())
                .map(path_shown)
        }),
        apply: Apply::Listener(|c, v| {
            c.tls.client_ca = Some(path(v)?);
            Ok(())
        }),
        builder: Builder::Via("tls(TlsSettings::new(cert, key).client_ca(bundle))"),
        sample: "clients-ca.pem",
    },
    Setting {
        name: "producer-ids-from-cert",
        form: Form::Switch,
        doc: "A hello's producer id must be a name of the client's TLS certificate (its CN or a DNS name), or start with one followed by '/'; hellos without a client certificate (plain TCP, Unix sockets) are refused. Needs --tls-client-ca",
        default: Shown::Nothing,
        scope: Scope::Listener,
        show: Show::Listener(|s| Some(s.producer_ids_from_cert.to_string())),
        apply: Apply::Listener(|c, v| {
            c.settings.producer_ids_from_cert = v.switch()?;
            Ok(())
        }),
        builder: Builder::Setter(|b, s| b.producer_ids_from_cert(s.producer_ids_from_cert)),
        sample: "",
    },
    Setting {
        name: "producer-secret",
        form: Form::Value("FILE"),
        doc: "Every hello must carry the shared secret held in FILE (without its final line end); others are refused. A FILE every user can read is refused at start",
        default: Shown::Words("none"),
        scope: Scope::Listener,
        show: Show::Listener(|s| s.producer_secret.as_deref().map(path_shown)),
        apply: Apply::Listener(|c, v| {
            c.settings.producer_secret = Some(path(v)?);
            Ok(())
        }),
        builder: Builder::Setter(|b, s| match &s.producer_secret {
            Some(p) => b.producer_secret(p),
            None => b,
        }),
        sample: "producer.secret",
    },
    Setting {
        name: "tls-handshake-timeout",
        form: Form::Value("DURATION"),
        doc: "Disconnect a client that has not finished its TLS handshake in this long",
        default: Shown::Words("10s"),
        scope: Scope::Listener,
        show: Show::Listener(|s| s.tls.as_ref().map(|t| duration(Some(t.handshake_timeout)))),
        apply: Apply::Listener(|c, v| {
            c.tls.handshake_timeout = Some(v.duration()?);
            Ok(())
        }),
        builder: Builder::Via("tls(TlsSettings::new(cert, key).handshake_timeout(d))"),
        sample: "3s",
    },
    Setting {
        name: "allow-insecure-remote",
        form: Form::Switch,
        doc: "Allow TCP without TLS, and UDP, on addresses other hosts can reach (refused otherwise); prints a warning per such input",
        default: Shown::Nothing,
        scope: Scope::Listener,
        show: Show::Listener(|s| Some(s.allow_insecure_remote.to_string())),
        apply: Apply::Listener(|c, v| {
            c.settings.allow_insecure_remote = v.switch()?;
            Ok(())
        }),
        builder: Builder::Setter(|b, s| b.allow_insecure_remote(s.allow_insecure_remote)),
        sample: "",
    },
    // The HTTP input.
    Setting {
        name: "http-credentials",
        form: Form::Value("FILE"),
        doc: "HTTP requests must carry HTTP Basic credentials matching a `user:password` line of FILE; others are answered 401",
        default: Shown::Words("none"),
        scope: Scope::Listener,
        show: Show::Listener(|s| s.http_credentials.as_deref().map(path_shown)),
        apply: Apply::Listener(|c, v| {
            c.settings.http_credentials = Some(path(v)?);
            Ok(())
        }),
        builder: Builder::Setter(|b, s| match &s.http_credentials {
            Some(p) => b.http_credentials(p),
            None => b,
        }),
        sample: "http.credentials",
    },
    Setting {
        name: "http-max-body",
        form: Form::Value("SIZE"),
        doc: "Largest HTTP request body (1 KiB..4 GiB), before and after gzip; a larger one is answered 413, never read whole",
        default: Shown::Value("16MiB"),
        scope: Scope::Listener,
        show: Show::Listener(|s| Some(s.http_max_body.to_string())),
        apply: Apply::Listener(|c, v| {
            c.settings.http_max_body =
                usize::try_from(v.size()?).map_err(|_| "too large for this platform".to_owned())?;
            Ok(())
        }),
        builder: Builder::Setter(|b, s| b.http_max_body(s.http_max_body)),
        sample: "1MiB",
    },
    Setting {
        name: "http-ack",
        form: Form::Value("WHEN"),
        doc: "When the HTTP input answers a request unless it asks with ?ack=: queued (records in the listener's queue), written (in every output) or durable (fsynced; needs --durable)",
        default: Shown::Value("queued"),
        scope: Scope::Listener,
        show: Show::Listener(|s| Some(text(&s.http_ack.to_string()))),
        apply: Apply::Listener(|c, v| {
            c.settings.http_ack = v.parse::<crate::settings::HttpAck>()?;
            Ok(())
        }),
        builder: Builder::Setter(|b, s| b.http_ack(s.http_ack)),
        sample: "written",
    },
    // Forwarding to NATS JetStream (docs/scale-out.md).
    Setting {
        name: "forward-nats",
        form: Form::Repeated("URL"),
        doc: "Also publish every record of the first output to NATS JetStream at this server (repeatable for a cluster); the output file is the buffer while NATS is away",
        default: Shown::Words("no forwarding"),
        scope: Scope::Listener,
        show: Show::Listener(|s| (!s.forward.nats.is_empty()).then(|| list(&s.forward.nats))),
        apply: Apply::Listener(|c, v| {
            c.settings.forward.nats.extend(v.list()?);
            Ok(())
        }),
        builder: Builder::Setter(|b, s| s.forward.nats.iter().fold(b, |b, u| b.forward_nats(u))),
        sample: "nats://127.0.0.1:4222",
    },
    Setting {
        name: "forward-stream",
        form: Form::Value("NAME"),
        doc: "The JetStream stream to forward to (created when missing: file storage, subjects PREFIX.>, 2 min duplicate window)",
        default: Shown::Value(crate::DEFAULT_FORWARD_STREAM),
        scope: Scope::Listener,
        show: Show::Listener(|s| Some(text(&s.forward.stream))),
        apply: Apply::Listener(|c, v| {
            c.settings.forward.stream = v.text()?.to_owned();
            Ok(())
        }),
        builder: Builder::Setter(|b, s| b.forward_stream(&s.forward.stream)),
        sample: "LOGS",
    },
    Setting {
        name: "forward-subject-prefix",
        form: Form::Value("TOKEN"),
        doc: "Records of this host go to subject PREFIX.HOST-ID",
        default: Shown::Value(crate::DEFAULT_SUBJECT_PREFIX),
        scope: Scope::Listener,
        show: Show::Listener(|s| Some(text(&s.forward.subject_prefix))),
        apply: Apply::Listener(|c, v| {
            c.settings.forward.subject_prefix = v.text()?.to_owned();
            Ok(())
        }),
        builder: Builder::Setter(|b, s| b.forward_subject_prefix(&s.forward.subject_prefix)),
        sample: "logs",
    },
    Setting {
        name: "host-id",
        form: Form::Value("ID"),
        doc: "This host in forwarded subjects, message ids and records without a host (letters, digits, - and _)",
        default: Shown::Words("the host name, other characters as _"),
        scope: Scope::Listener,
        show: Show::Listener(|s| s.forward.host_id.as_deref().map(text)),
        apply: Apply::Listener(|c, v| {
            c.settings.forward.host_id = Some(v.text()?.to_owned());
            Ok(())
        }),
        builder: Builder::Setter(|b, s| match &s.forward.host_id {
            Some(id) => b.host_id(id),
            None => b,
        }),
        sample: "web-1",
    },
    Setting {
        name: "forward-max-bytes",
        form: Form::Value("SIZE"),
        doc: "When forwarding creates the stream: its limit on stored bytes (oldest messages go first)",
        default: Shown::Words("unlimited"),
        scope: Scope::Listener,
        show: Show::Listener(|s| s.forward.stream_max_bytes.map(|n| n.to_string())),
        apply: Apply::Listener(|c, v| {
            c.settings.forward.stream_max_bytes = Some(v.size()?);
            Ok(())
        }),
        builder: Builder::Setter(|b, s| match s.forward.stream_max_bytes {
            Some(n) => b.forward_max_bytes(n),
            None => b,
        }),
        sample: "10GiB",
    },
    Setting {
        name: "forward-max-age",
        form: Form::Value("DURATION"),
        doc: "When forwarding creates the stream: how long it keeps a message",
        default: Shown::Words("forever"),
        scope: Scope::Listener,
        show: Show::Listener(|s| s.forward.stream_max_age.map(|d| duration(Some(d)))),
        apply: Apply::Listener(|c, v| {
            c.settings.forward.stream_max_age = Some(v.duration()?);
            Ok(())
        }),
        builder: Builder::Setter(|b, s| match s.forward.stream_max_age {
            Some(d) => b.forward_max_age(d),
            None => b,
        }),
        sample: "7d",
    },
    Setting {
        name: "forward-lag-warn",
        form: Form::Value("SIZE"),
        doc: "Warn when this much of the output is not yet acknowledged by JetStream (local writing never waits for NATS)",
        default: Shown::Value("64MiB"),
        scope: Scope::Listener,
        show: Show::Listener(|s| Some(s.forward.lag_warn.to_string())),
        apply: Apply::Listener(|c, v| {
            c.settings.forward.lag_warn = v.size()?;
            Ok(())
        }),
        builder: Builder::Setter(|b, s| b.forward_lag_warn(s.forward.lag_warn)),
        sample: "1MiB",
    },
    Setting {
        name: "forward-acknowledge",
        form: Form::Value("local|forwarded"),
        doc: "When acknowledged producers get their acks with forwarding on: once written locally, or once JetStream has the records (end to end; acks wait while NATS is away)",
        default: Shown::Value("local"),
        scope: Scope::Listener,
        show: Show::Listener(|s| {
            Some(text(match s.forward.acknowledge {
                crate::ForwardAcknowledge::Local => "local",
                crate::ForwardAcknowledge::Forwarded => "forwarded",
            }))
        }),
        apply: Apply::Listener(|c, v| {
            c.settings.forward.acknowledge = v.parse::<crate::ForwardAcknowledge>()?;
            Ok(())
        }),
        builder: Builder::Setter(|b, s| b.forward_acknowledge(s.forward.acknowledge)),
        sample: "forwarded",
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigError, OUTPUT_FILE, OUTPUTS};
    use std::collections::BTreeSet;
    use std::path::Path;

    /// `name = sample` as TOML.
    fn toml_line(name: &str, form: Form, value: &str) -> String {
        let quoted = format!("{value:?}");
        match form {
            Form::Switch => format!("{name} = true\n"),
            Form::Value(_) => format!("{name} = {quoted}\n"),
            Form::Repeated(_) => format!("{name} = [{quoted}]\n"),
        }
    }

    fn parse(text: &str) -> Result<Settings, ConfigError> {
        FileConfig::from_toml(text, Path::new("sample.toml"))?.into_settings()
    }

    /// Settings as text, outputs left out: the builder names none when the
    /// config resolves the default one.
    fn shown(s: &Settings) -> String {
        let mut s = s.clone();
        s.outputs.clear();
        format!("{s:?}")
    }

    #[test]
    fn settings_table_every_flag_is_a_config_key_and_every_key_a_flag() {
        let flags: BTreeSet<String> = crate::cli::command()
            .find_subcommand("listen")
            .expect("listen")
            .get_arguments()
            .filter_map(|a| a.get_long().map(str::to_owned))
            .filter(|long| long != "config" && long != "help")
            .collect();
        // A key is one the config file accepts: at the top level, and in
        // an [[output]] table for an output's settings.
        let mut keys = BTreeSet::new();
        for s in SETTINGS {
            let line = toml_line(s.name, s.form, s.sample);
            if let Err(e) = FileConfig::from_toml(&line, Path::new("sample.toml")) {
                panic!("flag --{} has no config key: {e}", s.name);
            }
            if matches!(s.scope, Scope::Output | Scope::Route) {
                let table = format!("[[{OUTPUTS}]]\n{OUTPUT_FILE} = \"o.log\"\n{line}");
                if let Err(e) = FileConfig::from_toml(&table, Path::new("sample.toml")) {
                    panic!("output setting `{}` is refused in [[output]]: {e}", s.name);
                }
            }
            keys.insert(s.name.to_owned());
        }
        for key in &keys {
            assert!(
                flags.contains(key),
                "config key `{key}` has no flag (file-only keys are `{OUTPUTS}` and `{OUTPUT_FILE}`)"
            );
        }
        for flag in &flags {
            assert!(keys.contains(flag), "flag --{flag} has no config key");
        }
        assert_eq!(flags.len(), SETTINGS.len());
    }

    #[test]
    fn settings_table_defaults_shown_are_the_real_defaults() {
        let default = parse("").expect("empty config");
        for s in SETTINGS {
            if let Shown::Value(value) = s.default {
                let given = parse(&toml_line(s.name, s.form, value))
                    .unwrap_or_else(|e| panic!("default of `{}` refused: {e}", s.name));
                assert_eq!(
                    format!("{given:?}"),
                    format!("{default:?}"),
                    "`{} = {value}` (its documented default) changes the settings",
                    s.name
                );
            }
        }
    }

    #[test]
    fn settings_table_builder_setters_set_what_the_flags_set() {
        let default = parse("").expect("empty config");
        for s in SETTINGS {
            let Builder::Setter(setter) = s.builder else {
                continue;
            };
            let given = parse(&toml_line(s.name, s.form, s.sample))
                .unwrap_or_else(|e| panic!("sample of `{}` refused: {e}", s.name));
            assert_ne!(
                shown(&given),
                shown(&default),
                "the sample of `{}` is its default: the test would prove nothing",
                s.name
            );
            let built = setter(ListenerBuilder::default(), &given);
            assert_eq!(
                shown(built.settings()),
                shown(&given),
                "ListenerBuilder's setter for `{}` does not set what the flag sets",
                s.name
            );
        }
        // Listener-wide settings without a setter of their own are parts
        // of a value given to one.
        for s in SETTINGS.iter().filter(|s| s.scope == Scope::Listener) {
            if let Builder::Via(how) = s.builder {
                assert!(
                    how.starts_with("output(") || how.starts_with("tls("),
                    "`{}`: {how}",
                    s.name
                );
            }
        }
    }

    #[test]
    fn settings_table_builder_refuses_what_the_config_refuses() {
        type Set = fn(ListenerBuilder) -> ListenerBuilder;
        let cases: [(&str, Set); 4] = [
            ("max-connections = 0", |b| b.max_connections(0)),
            ("queue-capacity = 0", |b| b.queue_capacity(0)),
            ("max-frame = 4", |b| b.max_frame(4)),
            ("queue-bytes = 1", |b| b.queue_bytes(1)),
        ];
        let dir = tempfile::tempdir().expect("temp dir");
        for (line, set) in cases {
            let from_file = parse(line).expect_err(line).to_string();
            let builder = set(ListenerBuilder::default())
                .tcp("127.0.0.1:0")
                .output(crate::OutputSpec::file(dir.path().join("x.log")));
            let from_builder = builder.spawn().expect_err(line).to_string();
            assert_eq!(from_builder, from_file, "{line}");
        }
        // Refused before anything was opened.
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
    }

    /// The README's flag table as `tributary listen --help` describes the
    /// flags: one row per flag, its default, its help.
    fn table_from_help() -> String {
        let listen = crate::cli::command();
        let listen = listen.find_subcommand("listen").expect("listen");
        let mut out = String::from("| flag | default | |\n|---|---|---|\n");
        for arg in listen.get_arguments() {
            let Some(long) = arg.get_long().filter(|l| *l != "help") else {
                continue;
            };
            let value = arg
                .get_value_names()
                .map(|names| format!(" {}", names[0]))
                .unwrap_or_default();
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            let (doc, default) = match help.split_once(" [default: ") {
                Some((doc, rest)) => (doc.to_owned(), rest.trim_end_matches(']').to_owned()),
                None => (help.clone(), String::new()),
            };
            let cell = |t: &str| t.replace('|', "\\|");
            let default = if default.is_empty() {
                String::new()
            } else {
                format!("`{}`", cell(&default))
            };
            out.push_str(&format!(
                "| `--{long}{}` | {default} | {} |\n",
                cell(&value),
                cell(&doc)
            ));
        }
        out
    }

    #[test]
    fn settings_table_readme_matches_help() {
        const BEGIN: &str = "<!-- flags: generated from `tributary listen --help` -->\n";
        const END: &str = "<!-- /flags -->";
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
        let readme = std::fs::read_to_string(&path).expect("listener/README.md");
        let (Some(start), Some(end)) = (readme.find(BEGIN), readme.find(END)) else {
            panic!("listener/README.md lacks the markers {BEGIN:?} and {END:?}");
        };
        let expected = table_from_help();
        let found = &readme[start + BEGIN.len()..end];
        if found != expected {
            if std::env::var_os("TRIBUTARY_BLESS_README").is_some() {
                let updated = format!(
                    "{}{expected}{}",
                    &readme[..start + BEGIN.len()],
                    &readme[end..]
                );
                std::fs::write(&path, updated).expect("write README");
                return;
            }
            let differ = found
                .lines()
                .zip(expected.lines())
                .find(|(a, b)| a != b)
                .map(|(a, b)| format!("README: {a}\n--help: {b}"))
                .unwrap_or_else(|| "one has more rows than the other".into());
            panic!(
                "listener/README.md's flag table and `tributary listen --help` disagree:\n{differ}\n\
                 Rerun with TRIBUTARY_BLESS_README=1 to regenerate the table from the settings."
            );
        }
    }
}
