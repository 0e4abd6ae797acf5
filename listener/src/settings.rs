//! The listener's resolved settings: what the builder, the config file and
//! the command line all end up as, and the one check of their ranges and
//! consistency ([`Settings::check`]) that all three go through. Each
//! setting's flag, config key, help and default are defined once, in
//! `config/defs.rs`.

use crate::RouteFilter;
use crate::config::{ConfigError, invalid};
use crate::filter::MAX_OUTPUTS;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;
use tributary_core::JsonProfile;
use tributary_rotation::{Compression, When};

/// Python's `logging.handlers.DEFAULT_TCP_LOGGING_PORT`, on loopback.
pub const DEFAULT_TCP: &str = "127.0.0.1:9020";
/// Python's `logging.handlers.DEFAULT_UDP_LOGGING_PORT`, on loopback.
pub const DEFAULT_UDP: &str = "127.0.0.1:9021";
/// Where records go when no output is named.
pub const DEFAULT_OUT: &str = "logs/tributary.log";
/// The text pattern when `--format text` is given without `--pattern`: the
/// one the logging cookbook's multiprocessing examples use, so a switch
/// from the cookbook's listener keeps its files looking the same.
pub const DEFAULT_PATTERN: &str =
    "%(asctime)s %(processName)-10s %(name)s %(levelname)-8s %(message)s";
/// What a field the text pattern uses prints on a record that lacks it.
pub const DEFAULT_MISSING: &str = "-";
/// Records in flight between the inputs and the writer, by default. At a
/// few hundred bytes each this bounds the queue to a few MiB.
pub const DEFAULT_QUEUE_CAPACITY: usize = 16_384;

/// Default bound of the queue in bytes of formatted records: with large
/// records, the record count alone would let memory grow far.
pub const DEFAULT_QUEUE_BYTES: usize = 64 << 20;

/// Default time a started frame or line may take to complete.
pub const DEFAULT_FRAME_TIMEOUT: Duration = Duration::from_secs(30);

/// Default of [`Settings::read_linger`]: well under what a reader of the
/// log notices, long enough for a Python `SocketHandler` sending 100,000
/// records a second to fill a read with about two hundred.
pub const DEFAULT_READ_LINGER: Duration = Duration::from_millis(2);

/// Longest [`Settings::read_linger`] accepted.
pub const MAX_READ_LINGER: Duration = Duration::from_secs(1);

/// Open stream connections, by default, over all inputs.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

// Connection limits (issue 13): the per-peer cap, the frame budget and the
// first-frame timeout.

/// Default most stream connections from one peer (a remote address, or a
/// Unix socket's process); TCP peers on loopback are not counted per peer.
pub const DEFAULT_MAX_CONNECTIONS_PER_PEER: usize = 256;
/// Default most bytes held in unfinished frames and lines over all
/// connections: the listener's memory stays well under 64 MiB however many
/// connections leave a large frame half-sent.
pub const DEFAULT_FRAME_BUDGET: usize = 16 << 20;
/// Default time a connection may stay open without completing a frame or
/// line: producers send as soon as they connect (Python's `SocketHandler`
/// connects for its first record).
pub const DEFAULT_FIRST_FRAME_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a TLS client may take to complete its handshake, by default.
pub const DEFAULT_TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// TLS for the TCP inputs: the listener's certificate and, for mutual TLS,
/// the CA whose certificates clients must present. The files are PEM and
/// are read when the listener binds, so a missing or bad file stops it
/// there, naming the setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSettings {
    /// The listener's certificate chain (its own certificate first).
    pub cert: PathBuf,
    /// The private key of that certificate (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// CA certificates; when set, a client must present a certificate
    /// signed by one of them (mutual TLS), or it is refused.
    pub client_ca: Option<PathBuf>,
    /// A client that has not completed its handshake by then is
    /// disconnected, so silent clients cannot hold connection slots.
    pub handshake_timeout: Duration,
}

impl TlsSettings {
    /// Server-only TLS with this certificate chain and key.
    pub fn new(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> TlsSettings {
        TlsSettings {
            cert: cert.into(),
            key: key.into(),
            client_ca: None,
            handshake_timeout: DEFAULT_TLS_HANDSHAKE_TIMEOUT,
        }
    }

    /// Requires client certificates signed by a CA in this PEM bundle.
    pub fn client_ca(mut self, bundle: impl Into<PathBuf>) -> TlsSettings {
        self.client_ca = Some(bundle.into());
        self
    }

    /// Sets how long a handshake may take.
    pub fn handshake_timeout(mut self, timeout: Duration) -> TlsSettings {
        self.handshake_timeout = timeout;
        self
    }
}

/// Default largest syslog message: 64 KiB (rsyslog accepts 200,000
/// bytes on TCP, Vector 100 KiB; 64 KiB is the UDP maximum).
pub const DEFAULT_SYSLOG_MAX_MESSAGE: usize = 64 * 1024;

/// One socket to listen on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputSpec {
    /// A TCP address, e.g. `127.0.0.1:9020` (port 0 picks a free port).
    Tcp(String),
    /// A UDP address.
    Udp(String),
    /// A Unix stream socket path.
    Unix(PathBuf),
    /// A Unix datagram socket path.
    UnixDgram(PathBuf),
    /// Syslog over TCP (TLS with the listener's TLS settings).
    SyslogTcp(String),
    /// Syslog over UDP.
    SyslogUdp(String),
    /// Syslog on a Unix datagram socket, like `/dev/log`.
    SyslogUnix(PathBuf),
    /// Syslog on a Unix stream socket.
    SyslogUnixStream(PathBuf),
    /// HTTP (Python's `HTTPHandler`, NDJSON and JSON-array bodies) on a
    /// TCP address (TLS with the listener's TLS settings).
    Http(String),
}

/// Default bound on an HTTP request body, before and after gzip: 16 MiB.
pub const DEFAULT_HTTP_MAX_BODY: usize = 16 * 1024 * 1024;

/// When the HTTP input answers a request that carried records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HttpAck {
    /// Once the records are in the listener's queue.
    #[default]
    Queued,
    /// Once they are written to every output (the commit of acknowledged
    /// delivery).
    Written,
    /// Once they are fsynced with the journal (needs `durable`).
    Durable,
}

impl std::str::FromStr for HttpAck {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        crate::config::raw::one_of(
            s,
            "http-ack",
            &[
                ("queued", HttpAck::Queued),
                ("written", HttpAck::Written),
                ("durable", HttpAck::Durable),
            ],
        )
    }
}

impl fmt::Display for HttpAck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HttpAck::Queued => "queued",
            HttpAck::Written => "written",
            HttpAck::Durable => "durable",
        })
    }
}

impl std::str::FromStr for DiagnosticsMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        crate::config::raw::one_of(
            s,
            "diagnostics",
            &[
                ("stderr", DiagnosticsMode::Stderr),
                ("log", DiagnosticsMode::Log),
                ("both", DiagnosticsMode::Both),
            ],
        )
    }
}

impl fmt::Display for InputSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputSpec::Tcp(a) => write!(f, "tcp {a}"),
            InputSpec::Udp(a) => write!(f, "udp {a}"),
            InputSpec::Unix(p) => write!(f, "unix {}", p.display()),
            InputSpec::UnixDgram(p) => write!(f, "unix-dgram {}", p.display()),
            InputSpec::SyslogTcp(a) => write!(f, "syslog-tcp {a}"),
            InputSpec::SyslogUdp(a) => write!(f, "syslog-udp {a}"),
            InputSpec::SyslogUnix(p) => write!(f, "syslog-unix {}", p.display()),
            InputSpec::SyslogUnixStream(p) => write!(f, "syslog-unix-stream {}", p.display()),
            InputSpec::Http(a) => write!(f, "http {a}"),
        }
    }
}

/// How an output renders records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// One JSON object per line, in a key layout profile.
    Json(JsonProfile),
    /// Python `%`-style text through `tributary_core::PatternFormatter`.
    Text(TextFormat),
}

impl Default for OutputFormat {
    fn default() -> Self {
        OutputFormat::Json(JsonProfile::Native)
    }
}

/// A text format: a Python `%`-style template. A name in it that is not a
/// standard `LogRecord` attribute is looked up in the record's fields, as
/// Python looks up `extra=` attributes; a record without that field is
/// still written, with `missing` in its place, and counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextFormat {
    /// The template, e.g. [`DEFAULT_PATTERN`].
    pub pattern: String,
    /// When not empty, the only extra fields the template may use: any
    /// other name is refused at start, so a typo is caught there and not
    /// printed as `missing` on every line.
    pub fields: Vec<String>,
    /// What an absent field prints (default [`DEFAULT_MISSING`]).
    pub missing: String,
    /// Line feeds and carriage returns a record supplies are written as
    /// `\n` and `\r`, so each record is one line (Python writes them as
    /// they are; off by default).
    pub escape_newlines: bool,
}

impl TextFormat {
    /// A template whose extra names are looked up in each record's fields.
    pub fn new(pattern: impl Into<String>) -> TextFormat {
        TextFormat {
            pattern: pattern.into(),
            fields: Vec::new(),
            missing: DEFAULT_MISSING.to_owned(),
            escape_newlines: false,
        }
    }

    /// Allows only these extra fields in the template.
    pub fn fields<I, S>(mut self, names: I) -> TextFormat
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.fields = names.into_iter().map(Into::into).collect();
        self
    }

    /// What an absent field prints.
    pub fn missing(mut self, text: impl Into<String>) -> TextFormat {
        self.missing = text.into();
        self
    }

    /// Writes line breaks a record supplies as `\n` and `\r` (see
    /// [`TextFormat::escape_newlines`](struct.TextFormat.html#structfield.escape_newlines)).
    pub fn escape_newlines(mut self, escape: bool) -> TextFormat {
        self.escape_newlines = escape;
        self
    }
}

/// When an output's file rotates; all unset means never. The names and
/// meanings are Python's `RotatingFileHandler`/`TimedRotatingFileHandler`
/// arguments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RotationSpec {
    /// Rotate before a record would take the file past this many bytes.
    pub max_bytes: Option<u64>,
    /// Time rotation, Python's `when`.
    pub when: Option<When>,
    /// How many `when` units per period (default 1).
    pub interval: Option<u32>,
    /// Compute times in UTC instead of local time.
    pub utc: bool,
    /// How many archives to keep (0 or unset keeps them all).
    pub backup_count: Option<u32>,
    /// Compression of archives.
    pub compress: Compression,
}

impl RotationSpec {
    /// Whether any rotation is asked for.
    pub fn is_active(&self) -> bool {
        self.max_bytes.is_some_and(|b| b > 0) || self.when.is_some()
    }
}

/// One output file with its format, rotation and filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputSpec {
    /// The file path (its directory is created when missing).
    pub path: PathBuf,
    /// How records are rendered.
    pub format: OutputFormat,
    /// When the file rotates.
    pub rotation: RotationSpec,
    /// Which records it takes.
    pub filter: RouteFilter,
}

impl OutputSpec {
    /// Checks what no file could make work: an empty path, a zero
    /// interval, a level range no record is in. On refusal, the key (as in
    /// the config file) and why.
    pub(crate) fn check(&self) -> Result<(), (&'static str, String)> {
        if self.path.as_os_str().is_empty() {
            return Err(("file", "the path is empty".into()));
        }
        if self.rotation.interval == Some(0) {
            return Err(("interval", "must be at least 1".into()));
        }
        if let (Some(min), Some(max)) = (self.filter.min_level, self.filter.max_level)
            && min > max
        {
            return Err((
                "max-level",
                format!("{max} is below level {min}; no record would match"),
            ));
        }
        Ok(())
    }

    /// An output at `path` taking every record as native JSON lines, never rotating.
    pub fn file(path: impl Into<PathBuf>) -> OutputSpec {
        OutputSpec {
            path: path.into(),
            format: OutputFormat::default(),
            rotation: RotationSpec::default(),
            filter: RouteFilter::default(),
        }
    }

    /// Sets the format.
    pub fn format(mut self, format: OutputFormat) -> OutputSpec {
        self.format = format;
        self
    }

    /// Sets the rotation.
    pub fn rotation(mut self, rotation: RotationSpec) -> OutputSpec {
        self.rotation = rotation;
        self
    }

    /// Sets the filter.
    pub fn filter(mut self, filter: RouteFilter) -> OutputSpec {
        self.filter = filter;
        self
    }
}

/// Where the listener's own diagnostics (bad input, closed connections,
/// write errors) go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DiagnosticsMode {
    /// Standard error only.
    #[default]
    Stderr,
    /// Into the log, as records of logger `tributary`.
    Log,
    /// Both.
    Both,
}

/// Everything a listener needs to run. Fields left at their defaults give
/// the documented defaults (`tributary listen --help`; the contract is the
/// repository's `docs/contracts.md`).
#[derive(Clone, Debug)]
pub struct Settings {
    /// Sockets to listen on; empty means TCP 127.0.0.1:9020 and UDP 127.0.0.1:9021.
    pub inputs: Vec<InputSpec>,
    /// Output files; empty means native JSON lines to `logs/tributary.log`.
    pub outputs: Vec<OutputSpec>,
    /// Largest frame, line or datagram accepted, in bytes.
    pub max_frame: usize,
    /// Largest syslog message accepted on the syslog inputs, in bytes.
    pub syslog_max_message: usize,
    /// The time zone of RFC 3164 timestamps (they carry none): an IANA
    /// name, `UTC` or `local`; `None` is `local`, the listener's own.
    pub syslog_timezone: Option<String>,
    /// Most stream connections open at once, over all inputs; more are
    /// accepted and closed at once, and counted as rejected.
    pub max_connections: usize,
    /// Close a stream connection that sends nothing for this long. Off by
    /// default: Python's `SocketHandler` loses the first record it sends
    /// on a connection the peer closed (python/cpython#84532), so an idle
    /// producer must not be disconnected unless asked.
    pub idle_timeout: Option<Duration>,
    /// Close a stream connection that has completed no frame or line this
    /// long after it opened (it holds a slot and sends nothing). `None`:
    /// never.
    pub first_frame_timeout: Option<Duration>,
    /// Most stream connections from one peer: a remote address, or the
    /// process at the other end of a Unix socket. TCP peers on loopback
    /// are not counted per peer (every local process has the same
    /// address); `max_connections` bounds them, and at that limit a
    /// connection that has completed no frame yields its slot to a new
    /// one. 0: no cap.
    pub max_connections_per_peer: usize,
    /// Most bytes held in unfinished frames and lines over all stream
    /// connections; past it, the connections holding the largest are
    /// closed, counted (`evicted`) and reported. Never less than the
    /// largest frame (`max_frame`) or syslog message (`syslog_max_message`)
    /// a stream input accepts, plus a read, in effect, so one of the
    /// largest size fits.
    pub frame_budget: usize,
    /// Print a stats line to stderr this often.
    pub stats_interval: Option<Duration>,
    /// Serve the admin endpoint (`/metrics`, `/health`, `/status`,
    /// `/status.json`, `POST /reload`) on this TCP address; `None`: off.
    /// Other hosts may reach it only over TLS or with
    /// `allow_insecure_remote`.
    pub admin: Option<String>,
    /// Where the pid is written once every input is bound (removed at
    /// exit); a file naming a running process is refused.
    pub pid_file: Option<PathBuf>,
    /// Records in flight between inputs and the writer.
    pub queue_capacity: usize,
    /// Bytes of formatted records in flight between inputs and the writer.
    pub queue_bytes: usize,
    /// A connection that started a frame or line and completes none for
    /// this long is closed (slow-loris): it would hold a connection slot
    /// and a buffer forever. `None`: never.
    pub frame_timeout: Option<Duration>,
    /// After a small read from a stream producer that waits for no
    /// acknowledgement, how long to let its bytes gather before reading
    /// again: one wake-up, read and write then carries many records of a
    /// producer that sends them one by one. `None`: read at once.
    pub read_linger: Option<Duration>,
    /// Where diagnostics go.
    pub diagnostics: DiagnosticsMode,
    /// Render pickled objects that would need code to rebuild (a `datetime`
    /// in `extra`) as opaque strings instead of refusing the record.
    pub lenient_pickle: bool,
    /// On shutdown, how long connections may keep delivering data they
    /// have already sent before they are closed.
    pub drain_timeout: Duration,
    /// Acknowledge records only once fsynced (outputs and journal), in
    /// groups so throughput stays high; otherwise once written to the
    /// operating system, which survives the listener crashing but not the
    /// machine.
    pub durable: bool,
    /// Where the acknowledgement journal lives; `None`: a hidden file
    /// beside the first output (`logs/.tributary.log.acks`).
    pub ack_journal: Option<PathBuf>,
    /// TLS on every TCP input; UDP and Unix inputs are unaffected.
    pub tls: Option<TlsSettings>,
    /// A hello's producer id must be a name of the connection's TLS client
    /// certificate (its common name or a DNS name), or start with one
    /// followed by `/`; hellos on connections without a client certificate
    /// are refused. Needs `tls` with `client_ca`.
    pub producer_ids_from_cert: bool,
    /// A file holding a shared secret every hello must carry (the file
    /// must not be readable by every user).
    pub producer_secret: Option<PathBuf>,
    /// Allow TCP inputs without TLS, and UDP inputs, on addresses other
    /// hosts can reach. Refused by default: records would cross the network
    /// in clear text and anyone who can reach the port could write to the log.
    pub allow_insecure_remote: bool,
    /// A file of `user:password` lines: HTTP requests must carry one of
    /// them (HTTP Basic) or are answered 401.
    pub http_credentials: Option<PathBuf>,
    /// Largest HTTP request body, in bytes, counted before and after gzip.
    pub http_max_body: usize,
    /// When the HTTP input answers, unless a request asks with `?ack=`.
    pub http_ack: HttpAck,
    /// Forwarding of the first output to NATS JetStream (`--forward-nats`).
    pub forward: crate::ForwardSettings,
    /// `tributary collect`: the listener's one input is this JetStream
    /// stream instead of sockets.
    pub collect: Option<crate::CollectSettings>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            inputs: Vec::new(),
            outputs: Vec::new(),
            max_frame: tributary_core::frame::DEFAULT_MAX_FRAME,
            syslog_max_message: DEFAULT_SYSLOG_MAX_MESSAGE,
            syslog_timezone: None,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            idle_timeout: None,
            first_frame_timeout: Some(DEFAULT_FIRST_FRAME_TIMEOUT),
            max_connections_per_peer: DEFAULT_MAX_CONNECTIONS_PER_PEER,
            frame_budget: DEFAULT_FRAME_BUDGET,
            stats_interval: None,
            admin: None,
            pid_file: None,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            queue_bytes: DEFAULT_QUEUE_BYTES,
            frame_timeout: Some(DEFAULT_FRAME_TIMEOUT),
            read_linger: Some(DEFAULT_READ_LINGER),
            diagnostics: DiagnosticsMode::Stderr,
            lenient_pickle: false,
            drain_timeout: Duration::from_secs(5),
            durable: false,
            ack_journal: None,
            tls: None,
            producer_ids_from_cert: false,
            producer_secret: None,
            allow_insecure_remote: false,
            http_credentials: None,
            http_max_body: DEFAULT_HTTP_MAX_BODY,
            http_ack: HttpAck::Queued,
            forward: crate::ForwardSettings::default(),
            collect: None,
        }
    }
}

impl Settings {
    /// Checks ranges and consistency, the same for flags, config file and
    /// [`ListenerBuilder`](crate::ListenerBuilder): a value that cannot
    /// work is refused with its key and what is accepted, never adjusted.
    pub fn check(&self) -> Result<(), ConfigError> {
        if !(16..=u32::MAX as usize).contains(&self.max_frame) {
            return Err(invalid(
                "max-frame",
                format!("{} bytes is outside 16 B..4 GiB", self.max_frame),
            ));
        }
        if !(480..=u32::MAX as usize).contains(&self.syslog_max_message) {
            return Err(invalid(
                "syslog-max-message",
                format!(
                    "{} bytes is outside 480 B (the smallest RFC 5424 lets a receiver accept)..4 GiB",
                    self.syslog_max_message
                ),
            ));
        }
        if let Some(zone) = &self.syslog_timezone {
            tributary_core::syslog::SyslogParser::for_zone(zone)
                .map_err(|e| invalid("syslog-timezone", e))?;
        }
        if self.max_connections == 0 {
            return Err(invalid("max-connections", "must be at least 1"));
        }
        if self.read_linger.is_some_and(|d| d > MAX_READ_LINGER) {
            return Err(invalid(
                "read-linger",
                "must be at most 1s (a producer's socket buffer fills meanwhile, and its logging call waits)",
            ));
        }
        // Here, not at bind only: a reload goes through this check too.
        #[cfg(not(feature = "http"))]
        if self.inputs.iter().any(|i| matches!(i, InputSpec::Http(_))) {
            return Err(invalid(
                "http",
                "this tributary was built without HTTP support; rebuild it with the cargo feature `http` (on by default)",
            ));
        }
        if !(1024..=u32::MAX as usize).contains(&self.http_max_body) {
            return Err(invalid(
                "http-max-body",
                format!("{} bytes is outside 1 KiB..4 GiB", self.http_max_body),
            ));
        }
        if self.http_ack == HttpAck::Durable && !self.durable {
            return Err(invalid(
                "http-ack",
                "durable answers need --durable (the listener fsyncs only then)",
            ));
        }
        if self.frame_budget < 64 * 1024 {
            return Err(invalid(
                "frame-budget",
                format!("{} bytes is below 64 KiB", self.frame_budget),
            ));
        }
        if self.queue_capacity == 0 || self.queue_capacity > u32::MAX as usize {
            return Err(invalid(
                "queue-capacity",
                "must be between 1 and 4294967295 records",
            ));
        }
        if !(64 * 1024..=(1usize << 40)).contains(&self.queue_bytes) {
            return Err(invalid(
                "queue-bytes",
                format!("{} bytes is outside 64 KiB..1 TiB", self.queue_bytes),
            ));
        }
        if let Some(tls) = &self.tls
            && tls.handshake_timeout.is_zero()
        {
            return Err(invalid("tls-handshake-timeout", "must be longer than zero"));
        }
        if self.outputs.len() > MAX_OUTPUTS {
            return Err(invalid(
                "output",
                format!("at most {MAX_OUTPUTS} outputs are supported"),
            ));
        }
        for (i, o) in self.outputs.iter().enumerate() {
            o.check()
                .map_err(|(key, reason)| invalid(format!("output[{i}].{key}"), reason))?;
            if self.outputs[..i].iter().any(|p| p.path == o.path) {
                return Err(invalid(
                    "output",
                    format!(
                        "{} is named twice; one file must have one writer",
                        o.path.display()
                    ),
                ));
            }
        }
        self.forward
            .check()
            .map_err(|(key, reason)| invalid(key, reason))?;
        if self.forward.is_active() {
            let first = self.effective_outputs().remove(0);
            if first.format != OutputFormat::Json(JsonProfile::Native) {
                return Err(invalid(
                    "forward-nats",
                    format!(
                        "forwards the first output, {}, which must write native JSON lines (format json, json-profile native)",
                        first.path.display()
                    ),
                ));
            }
            if cfg!(not(feature = "nats")) {
                return Err(invalid(
                    "forward-nats",
                    "this build has no NATS support (cargo feature `nats`)",
                ));
            }
        }
        if let Some(c) = &self.collect {
            c.check().map_err(|(key, reason)| invalid(key, reason))?;
            if self.forward.is_active() {
                return Err(invalid(
                    "forward-nats",
                    "tributary collect does not forward: what it writes would come back to it from the stream",
                ));
            }
            if cfg!(not(feature = "nats")) {
                return Err(invalid(
                    "nats",
                    "this build has no NATS support (cargo feature `nats`)",
                ));
            }
        }
        Ok(())
    }

    /// The inputs, with the defaults filled in when none was named.
    pub fn effective_inputs(&self) -> Vec<InputSpec> {
        if self.inputs.is_empty() {
            vec![
                InputSpec::Tcp(DEFAULT_TCP.into()),
                InputSpec::Udp(DEFAULT_UDP.into()),
            ]
        } else {
            self.inputs.clone()
        }
    }

    /// The outputs, with the default filled in when none was named.
    pub fn effective_outputs(&self) -> Vec<OutputSpec> {
        if self.outputs.is_empty() {
            vec![OutputSpec::file(DEFAULT_OUT)]
        } else {
            self.outputs.clone()
        }
    }
}
