//! The listener: bind inputs and outputs, serve until told to stop, drain.

use crate::acks::{self, Journal, Producers};
use crate::diag::Diag;
use crate::input::{self, BoundInput, InputCtx, InputTemplate, Serving, Socket};
use crate::output_lock::OutputLocks;
use crate::pipeline::{Commits, Encoder, Msg, Queue, open_outputs, spawn_writer};
use crate::reload::{Live, LiveInput, ReloadError, ReloadReport, ReloadSource};
use crate::settings::{DiagnosticsMode, InputSpec, OutputSpec, Settings, TlsSettings};
use crate::stats::{Stats, StatsSnapshot, WriterCounters};
use crate::tls::ServerTls;
use crate::{ListenerError, ListenerHandle};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, mpsc, watch};

/// Held by every input and connection task; the listener knows all of them
/// have finished when every clone is dropped.
pub(crate) type TaskGuard = mpsc::Sender<()>;

/// Configures a [`Listener`]; start from [`Listener::builder`].
#[derive(Clone, Default)]
#[must_use = "call .bind().await or .spawn() to start listening"]
pub struct ListenerBuilder {
    settings: Settings,
    worker_threads: Option<usize>,
    reload_source: Option<ReloadSource>,
}

impl fmt::Debug for ListenerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListenerBuilder")
            .field("settings", &self.settings)
            .field("worker_threads", &self.worker_threads)
            .field("reload_source", &self.reload_source.is_some())
            .finish()
    }
}

impl ListenerBuilder {
    /// A builder starting from resolved settings (e.g. from a config file).
    pub fn from_settings(settings: Settings) -> ListenerBuilder {
        ListenerBuilder {
            settings,
            worker_threads: None,
            reload_source: None,
        }
    }

    /// Where [`Controller::reload`] reads the settings from (for
    /// `tributary listen`: the config file and the flags it was started
    /// with). Without one, a reload keeps the settings in effect and
    /// reopens every output; [`Controller::reload_with`] takes settings
    /// directly.
    pub fn reload_from(
        mut self,
        source: impl Fn() -> Result<Settings, crate::config::ConfigError> + Send + Sync + 'static,
    ) -> Self {
        self.reload_source = Some(Arc::new(source));
        self
    }

    /// The settings so far.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Listens on a TCP address (`127.0.0.1:0` picks a free port).
    pub fn tcp(mut self, addr: impl Into<String>) -> Self {
        self.settings.inputs.push(InputSpec::Tcp(addr.into()));
        self
    }

    /// Listens on a UDP address.
    pub fn udp(mut self, addr: impl Into<String>) -> Self {
        self.settings.inputs.push(InputSpec::Udp(addr.into()));
        self
    }

    /// Listens on a Unix stream socket (created 0600; a stale one is replaced).
    pub fn unix(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.inputs.push(InputSpec::Unix(path.into()));
        self
    }

    /// Listens on a Unix datagram socket.
    pub fn unix_dgram(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.inputs.push(InputSpec::UnixDgram(path.into()));
        self
    }

    /// Listens for syslog on a TCP address (TLS with the TLS settings).
    pub fn syslog_tcp(mut self, addr: impl Into<String>) -> Self {
        self.settings.inputs.push(InputSpec::SyslogTcp(addr.into()));
        self
    }

    /// Listens for HTTP on a TCP address (TLS with the TLS settings):
    /// Python's `HTTPHandler`, NDJSON and JSON arrays on `/log`.
    pub fn http(mut self, addr: impl Into<String>) -> Self {
        self.settings.inputs.push(InputSpec::Http(addr.into()));
        self
    }

    /// HTTP requests must carry HTTP Basic credentials matching a
    /// `user:password` line of this file (read by
    /// [`bind`](ListenerBuilder::bind)).
    pub fn http_credentials(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.http_credentials = Some(path.into());
        self
    }

    /// Largest HTTP request body, before and after gzip (default 16 MiB).
    pub fn http_max_body(mut self, bytes: usize) -> Self {
        self.settings.http_max_body = bytes;
        self
    }

    /// When the HTTP input answers unless a request asks with `?ack=`.
    pub fn http_ack(mut self, ack: crate::HttpAck) -> Self {
        self.settings.http_ack = ack;
        self
    }

    /// Listens for syslog on a UDP address.
    pub fn syslog_udp(mut self, addr: impl Into<String>) -> Self {
        self.settings.inputs.push(InputSpec::SyslogUdp(addr.into()));
        self
    }

    /// Listens for syslog on a Unix datagram socket, like `/dev/log`.
    pub fn syslog_unix(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings
            .inputs
            .push(InputSpec::SyslogUnix(path.into()));
        self
    }

    /// Listens for syslog on a Unix stream socket.
    pub fn syslog_unix_stream(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings
            .inputs
            .push(InputSpec::SyslogUnixStream(path.into()));
        self
    }

    /// The time zone of RFC 3164 timestamps: an IANA name, `UTC` or
    /// `local` (the default, the listener's own).
    pub fn syslog_timezone(mut self, zone: impl Into<String>) -> Self {
        self.settings.syslog_timezone = Some(zone.into());
        self
    }

    /// Largest syslog message accepted on the syslog inputs (default 64 KiB).
    pub fn syslog_max_message(mut self, bytes: usize) -> Self {
        self.settings.syslog_max_message = bytes;
        self
    }

    /// Adds an output file; with none, native JSON lines go to `logs/tributary.log`.
    pub fn output(mut self, output: OutputSpec) -> Self {
        self.settings.outputs.push(output);
        self
    }

    /// Largest frame, line or datagram accepted (default 1 MiB; 16 B..4 GiB).
    pub fn max_frame(mut self, bytes: usize) -> Self {
        self.settings.max_frame = bytes;
        self
    }

    /// Most stream connections open at once (default 1024; 0 is refused
    /// by [`bind`](ListenerBuilder::bind)).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.settings.max_connections = n;
        self
    }

    /// Closes connections silent for this long (default: never).
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.settings.idle_timeout = timeout;
        self
    }

    /// Closes connections that complete no frame or line this long after
    /// opening (default 10 s; `None`: never).
    pub fn first_frame_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.settings.first_frame_timeout = timeout;
        self
    }

    /// Most stream connections from one peer (default 256; 0: no cap).
    /// TCP peers on loopback are not counted per peer.
    pub fn max_connections_per_peer(mut self, n: usize) -> Self {
        self.settings.max_connections_per_peer = n;
        self
    }

    /// Most bytes held in unfinished frames over all connections (default
    /// 16 MiB; never less than the largest frame in effect).
    pub fn frame_budget(mut self, bytes: usize) -> Self {
        self.settings.frame_budget = bytes;
        self
    }

    /// Writes the listener's pid to this file once every input is bound,
    /// and removes it when the listener is dropped; [`bind`](Self::bind)
    /// refuses a file naming a running process (another listener).
    pub fn pid_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.pid_file = Some(path.into());
        self
    }

    /// Prints a stats line to stderr this often (default: never).
    pub fn stats_interval(mut self, every: Option<Duration>) -> Self {
        self.settings.stats_interval = every;
        self
    }

    /// Serves the admin endpoint (`/metrics`, `/health`, `/status`,
    /// `/status.json`, `POST /reload`) on this TCP address (port 0 picks
    /// a free one; [`Listener::admin_addr`] tells which).
    pub fn admin(mut self, addr: impl Into<String>) -> Self {
        self.settings.admin = Some(addr.into());
        self
    }

    /// Records in flight between inputs and the writer (default 16384; 0
    /// is refused by [`bind`](ListenerBuilder::bind)).
    pub fn queue_capacity(mut self, records: usize) -> Self {
        self.settings.queue_capacity = records;
        self
    }

    /// Bytes of formatted records in flight between inputs and the writer
    /// (default 64 MiB; 64 KiB..1 TiB).
    pub fn queue_bytes(mut self, bytes: usize) -> Self {
        self.settings.queue_bytes = bytes;
        self
    }

    /// Closes a connection whose started frame or line does not complete
    /// within this time (default 30 s; `None`: never).
    pub fn frame_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.settings.frame_timeout = timeout;
        self
    }

    /// After a small read from a stream producer that waits for no
    /// acknowledgement, lets its bytes gather this long before reading
    /// again (default 2 ms; `None`: read at once).
    pub fn read_linger(mut self, linger: Option<Duration>) -> Self {
        self.settings.read_linger = linger;
        self
    }

    /// Acknowledges records to acknowledged producers only once outputs
    /// and journal are fsynced (default: once written).
    pub fn durable(mut self, durable: bool) -> Self {
        self.settings.durable = durable;
        self
    }

    /// Binds producer ids to TLS client certificates: a hello's id must be
    /// a name of the connection's certificate, or start with one followed
    /// by `/` (needs [`TlsSettings::client_ca`]).
    pub fn producer_ids_from_cert(mut self, on: bool) -> Self {
        self.settings.producer_ids_from_cert = on;
        self
    }

    /// Requires every hello to carry the secret held in the file at
    /// `path` (refused at bind when every user may read the file).
    pub fn producer_secret(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.producer_secret = Some(path.into());
        self
    }

    /// Where the acknowledgement journal lives (default: a hidden file
    /// beside the first output, `logs/.tributary.log.acks`).
    pub fn ack_journal(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.ack_journal = Some(path.into());
        self
    }

    /// Where the listener's own diagnostics go (default stderr).
    pub fn diagnostics(mut self, mode: DiagnosticsMode) -> Self {
        self.settings.diagnostics = mode;
        self
    }

    /// Renders code-needing pickled objects as strings instead of refusing the record.
    pub fn lenient_pickle(mut self, lenient: bool) -> Self {
        self.settings.lenient_pickle = lenient;
        self
    }

    /// How long shutdown waits for connections to deliver what they had sent (default 5 s).
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.settings.drain_timeout = timeout;
        self
    }

    /// TLS on every TCP input, with client certificates required when
    /// `tls` names a client CA. The PEM files are read by
    /// [`bind`](ListenerBuilder::bind).
    pub fn tls(mut self, tls: TlsSettings) -> Self {
        self.settings.tls = Some(tls);
        self
    }

    /// Allows plaintext inputs (TCP without TLS, UDP) on addresses other
    /// hosts can reach; a warning is printed on stderr for each. Without
    /// this, [`bind`](ListenerBuilder::bind) refuses them.
    pub fn allow_insecure_remote(mut self, allow: bool) -> Self {
        self.settings.allow_insecure_remote = allow;
        self
    }

    /// Forwards the first output's records to NATS JetStream at this
    /// server (call again for more servers of one cluster).
    pub fn forward_nats(mut self, url: impl Into<String>) -> Self {
        self.settings.forward.nats.push(url.into());
        self
    }

    /// The JetStream stream to forward to (default `TRIBUTARY`).
    pub fn forward_stream(mut self, name: impl Into<String>) -> Self {
        self.settings.forward.stream = name.into();
        self
    }

    /// The subjects' first token (default `tributary`).
    pub fn forward_subject_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.settings.forward.subject_prefix = prefix.into();
        self
    }

    /// This host's id in subjects and message ids (default: the host name).
    pub fn host_id(mut self, id: impl Into<String>) -> Self {
        self.settings.forward.host_id = Some(id.into());
        self
    }

    /// Stored-bytes limit of the stream, when forwarding creates it.
    pub fn forward_max_bytes(mut self, bytes: u64) -> Self {
        self.settings.forward.stream_max_bytes = Some(bytes);
        self
    }

    /// Message age limit of the stream, when forwarding creates it.
    pub fn forward_max_age(mut self, age: Duration) -> Self {
        self.settings.forward.stream_max_age = Some(age);
        self
    }

    /// Forwarding lag (bytes) past which a warning is printed (default 64 MiB).
    pub fn forward_lag_warn(mut self, bytes: u64) -> Self {
        self.settings.forward.lag_warn = bytes;
        self
    }

    /// When acknowledged producers get their acknowledgements with
    /// forwarding on: once written locally (the default), or once
    /// JetStream has the records.
    pub fn forward_acknowledge(mut self, when: crate::ForwardAcknowledge) -> Self {
        self.settings.forward.acknowledge = when;
        self
    }

    /// Makes this a collector: its one input is a JetStream stream
    /// (`tributary collect`), instead of sockets.
    pub fn collect(mut self, collect: crate::CollectSettings) -> Self {
        self.settings.collect = Some(collect);
        self
    }

    /// Runtime threads for [`spawn`](ListenerBuilder::spawn) (default: 2,
    /// or 1 on a single core).
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.worker_threads = Some(n.max(1));
        self
    }

    /// Checks the settings ([`Settings::check`]: a value that cannot work
    /// is refused, never adjusted), opens the outputs, starts the writer
    /// and binds every input, inside the current tokio runtime. Nothing is
    /// read until [`Listener::run`].
    pub async fn bind(self) -> Result<Listener, ListenerError> {
        let settings = self.settings;
        let reload_source = self.reload_source;
        settings.check()?;
        // Not in `check`: a config file may set it for hosts that forward
        // and hosts that do not; a listener that would never acknowledge
        // anything is refused here, when it starts.
        if settings.forward.acknowledge == crate::ForwardAcknowledge::Forwarded
            && !settings.forward.is_active()
        {
            return Err(ListenerError::Config(crate::config::invalid(
                "forward-acknowledge",
                "`forwarded` acknowledges records once JetStream has them, so it needs forwarding: give --forward-nats URL, or use `local`",
            )));
        }
        let outputs_specs = settings.effective_outputs();
        let diag = Arc::new(Diag::new(settings.diagnostics));
        let tls = settings.tls.as_ref().map(ServerTls::load).transpose()?;
        let encoder = Encoder::new(&outputs_specs)?;
        let journal_path = settings.ack_journal.clone().unwrap_or_else(|| {
            let first = outputs_specs
                .first()
                .map(|o| o.path.clone())
                .unwrap_or_default();
            acks::default_journal_path(&first)
        });
        let output_paths: Vec<PathBuf> = outputs_specs.iter().map(|o| o.path.clone()).collect();
        // Read before the locks: a bad secret file stops the listener
        // having created nothing.
        let auth = Arc::new(acks::ProducerAuth::load(&settings)?);
        #[cfg(feature = "http")]
        let http_credentials = settings
            .http_credentials
            .as_deref()
            .map(input::http::Credentials::load)
            .transpose()?;
        // First of all: a second listener on these outputs stops here,
        // before it binds a socket or cuts a file.
        let mut locks = OutputLocks::acquire(&output_paths)?;
        let producers = Arc::new(Producers::default());

        let writer_counters = Arc::new(WriterCounters::default());
        let (queue, rx, permits) = Queue::new(
            settings.queue_capacity,
            settings.queue_bytes,
            encoder,
            writer_counters.clone(),
        );
        if settings.diagnostics != DiagnosticsMode::Stderr {
            diag.attach(queue.clone());
        }

        // Checked by Settings::check, so the zone is known here.
        let syslog_parser = match &settings.syslog_timezone {
            Some(zone) => tributary_core::syslog::SyslogParser::for_zone(zone)
                .map_err(|e| ListenerError::Config(crate::config::invalid("syslog-timezone", e)))?,
            None => tributary_core::syslog::SyslogParser::default(),
        };
        let mut bound = Vec::new();
        let mut sockets = Vec::new();
        let mut counters = Vec::new();
        // One frame (or syslog message) of the largest size a stream input
        // accepts must fit, whatever the budget says.
        let largest = settings
            .effective_inputs()
            .iter()
            .filter_map(|spec| match spec {
                InputSpec::Tcp(_) | InputSpec::Unix(_) => Some(settings.max_frame),
                InputSpec::SyslogTcp(_) | InputSpec::SyslogUnixStream(_) => {
                    Some(settings.syslog_max_message)
                }
                _ => None,
            })
            .max()
            .unwrap_or(settings.max_frame);
        let connections = Arc::new(input::Connections::new(
            settings.max_connections_per_peer,
            settings
                .frame_budget
                .max(largest.saturating_add(input::READ_CHUNK)),
        ));
        let template = Arc::new(InputTemplate::new(
            &settings,
            queue.clone(),
            diag.clone(),
            syslog_parser,
            connections,
            producers.clone(),
            auth,
        ));
        let input_ctx = |label: String, syslog: bool| template.ctx(label, syslog);
        // `tributary collect`: the stream is the one input.
        #[cfg(feature = "nats")]
        let collector = match &settings.collect {
            Some(c) => {
                let attached = crate::collect::attach(c, diag.clone()).await?;
                let ctx = input_ctx(attached.label.clone(), false);
                counters.push((ctx.label.clone(), ctx.counters.clone()));
                Some((attached, ctx))
            }
            None => None,
        };
        let specs = if settings.collect.is_some() {
            Vec::new()
        } else {
            settings.effective_inputs()
        };
        let mut live_inputs = Vec::new();
        for spec in specs {
            let (b, socket) = input::bind(&spec).await?;
            check_exposure(&b, tls.is_some(), settings.allow_insecure_remote)?;
            if let Some(warning) = crate::tls::open_to_any_client(&b, settings.tls.as_ref()) {
                eprintln!("tributary: warning: {warning}");
            }
            let ctx = input_ctx(b.to_string(), b.kind().is_syslog());
            counters.push((ctx.label.clone(), ctx.counters.clone()));
            let (stop, handle) = input::stop_pair();
            live_inputs.push(LiveInput {
                spec,
                bound: b.clone(),
                counters: ctx.counters.clone(),
                stop: handle,
            });
            bound.push(b);
            sockets.push((socket, ctx, stop));
        }
        // The admin endpoint's socket is bound with the inputs: a listener
        // whose admin address is taken stops before it cuts anything.
        #[cfg(feature = "http")]
        let admin = match &settings.admin {
            Some(addr) => {
                Some(crate::admin::bind(addr, tls.as_ref(), settings.allow_insecure_remote).await?)
            }
            None => None,
        };
        #[cfg(not(feature = "http"))]
        if settings.admin.is_some() {
            return Err(ListenerError::Config(crate::config::invalid(
                "admin",
                "this build has no HTTP server: build with the `http` feature (on by default)",
            )));
        }
        // Once every input is bound: a supervisor reading it may send
        // signals from then on.
        let pid_file = settings
            .pid_file
            .as_deref()
            .map(crate::pid_file::PidFile::create)
            .transpose()?;
        // Only once every input is bound (a listener that cannot start
        // must not have cut anything), and before the outputs open:
        // recovery cuts what was never acknowledged.
        let (journal, recovery) = Journal::recover(&journal_path, &output_paths, settings.durable)
            .map_err(|source| ListenerError::Journal {
                path: journal_path.clone(),
                source,
            })?;
        for note in &recovery.notes {
            diag.emit(&(), crate::diag::writer::RecoveryNote(note));
        }
        producers.restore(recovery.producers);
        // After recovery: the HTTP numbering continues from the journal's.
        #[cfg(feature = "http")]
        let http = Arc::new(input::http::HttpSettings {
            credentials: http_credentials,
            max_body: settings.http_max_body,
            body_budget: input::http::BodyBudget::new(
                settings.frame_budget,
                settings.http_max_body,
            ),
            default_ack: settings.http_ack,
            acks: Arc::new(input::http::HttpAcks::new(&producers)),
            max_connections: settings.max_connections,
        });
        let outputs = open_outputs(&outputs_specs, &diag, &mut locks)?;
        // With `forward-acknowledge = "forwarded"`, commits hand their
        // acknowledgements to the gate the forwarder opens.
        #[cfg(feature = "nats")]
        let gate = (settings.forward.is_active()
            && settings.forward.acknowledge == crate::ForwardAcknowledge::Forwarded)
            .then(acks::ForwardGate::new);
        #[cfg(feature = "nats")]
        let commits = match &gate {
            Some(gate) => Commits::new(journal).gated(gate.clone()),
            None => Commits::new(journal),
        };
        #[cfg(not(feature = "nats"))]
        let commits = Commits::new(journal);
        // The writer starts last, so a failed bind leaves no thread behind.
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (writer, generations) = spawn_writer(
            outputs,
            queue.encoder(),
            rx,
            permits,
            writer_counters.clone(),
            diag.clone(),
            shutdown_rx.clone(),
            settings.drain_timeout,
            commits,
        )
        .map_err(ListenerError::Runtime)?;
        // Forwarding reads what the writer writes to the first output.
        let forward_counters = settings
            .forward
            .is_active()
            .then(|| Arc::new(crate::stats::ForwardCounters::default()));
        #[cfg(feature = "nats")]
        let forwarder = if let Some(counters) = &forward_counters {
            let first = outputs_specs
                .first()
                .map(|o| o.path.clone())
                .unwrap_or_default();
            let started = crate::forward::start(
                &settings.forward,
                &first,
                &journal_path,
                settings.durable,
                diag.clone(),
                settings.drain_timeout,
                gate,
                counters.clone(),
            );
            match started {
                Ok(f) => Some(f),
                Err(e) => {
                    shutdown.send_replace(true);
                    queue.control(Msg::Stop);
                    return Err(e);
                }
            }
        } else {
            None
        };
        let stats = Stats {
            inputs: Arc::new(RwLock::new(counters)),
            writer: writer_counters,
            reloads: Arc::default(),
            forward: forward_counters,
        };
        // Every input task and connection holds a clone of `guard`; `run`
        // waits for the last to go. Reloads start inputs from now on,
        // until the shutdown: then the guard `serving` holds goes too.
        let (guard, finished) = mpsc::channel::<()>(1);
        let serving = Serving {
            tls: tls.clone(),
            limit: Arc::new(Semaphore::new(settings.max_connections)),
            shutdown: shutdown_rx.clone(),
            guard,
            #[cfg(feature = "http")]
            http,
        };
        let live = Live {
            settings: settings.clone(),
            inputs: live_inputs,
            template,
            serving: Some(serving),
            source: reload_source,
            stats: stats.clone(),
            generations,
            diag: diag.clone(),
        };
        let live = Arc::new(tokio::sync::Mutex::new(live));
        {
            let live = live.clone();
            let mut shutdown = shutdown_rx.clone();
            tokio::spawn(async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
                live.lock().await.serving = None;
            });
        }
        let controller = Controller {
            shutdown: Arc::new(shutdown),
            queue,
            live,
        };
        // `POST /reload` is the same reload as SIGHUP's.
        #[cfg(feature = "http")]
        let admin = admin.map(|bound| {
            let state = crate::admin::AdminState::new(
                stats.clone(),
                producers.clone(),
                diag.clone(),
                controller.queue.clone(),
                Arc::new(controller.clone()),
                settings.queue_capacity,
                settings.queue_bytes,
            );
            (bound, state)
        });
        Ok(Listener {
            bound,
            sockets,
            finished,
            writer: Some(writer),
            controller,
            shutdown_rx,
            stats,
            #[cfg(feature = "http")]
            admin,
            drain_timeout: settings.drain_timeout,
            stats_interval: settings.stats_interval,
            _locks: locks,
            _pid_file: pid_file,
            #[cfg(feature = "nats")]
            forwarder,
            #[cfg(feature = "nats")]
            collector,
        })
    }

    /// Runs the listener on its own thread with its own runtime, for
    /// programs that are not async (the cookbook's "dedicate one thread in
    /// one of the existing processes"). Returns once every input is bound.
    pub fn spawn(self) -> Result<ListenerHandle, ListenerError> {
        crate::handle::spawn(self)
    }

    pub(crate) fn runtime_threads(&self) -> usize {
        self.worker_threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get().min(2))
                .unwrap_or(1)
        })
    }
}

/// Stops, reopens or reloads a running listener, from any thread or task.
#[derive(Clone)]
pub struct Controller {
    shutdown: Arc<watch::Sender<bool>>,
    queue: Queue,
    /// What reloads change; one reload at a time.
    live: Arc<tokio::sync::Mutex<Live>>,
}

impl fmt::Debug for Controller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Controller")
            .field("shutdown", &*self.shutdown.borrow())
            .finish()
    }
}

impl Controller {
    /// Starts a graceful shutdown: stop accepting, read what open
    /// connections have already delivered, write and flush it all.
    /// [`Listener::run`] returns when that is done.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Reopens every output file (after an external rename, e.g. by
    /// logrotate). Records queued before this call go to the old file.
    pub fn reopen(&self) {
        self.queue.control(Msg::Reopen);
    }

    /// Reloads the configuration from the builder's
    /// [`reload_from`](ListenerBuilder::reload_from) source (for
    /// `tributary listen`: the config file and the flags it was started
    /// with): SIGHUP and the admin endpoint both call this. The new
    /// settings are checked completely first; if anything is wrong the
    /// configuration in effect stays, whole, and the error says why. If
    /// they are good, the writer switches outputs between two batches
    /// (outputs added, removed or changed, every file reopened), new inputs
    /// start and removed ones stop accepting; inputs in both keep their
    /// sockets and connections, and no record is lost or written twice.
    /// Reloads run one at a time; each is counted in [`StatsSnapshot`]
    /// (`reloads_ok`, `reloads_failed`, `last_reload`) and reported on
    /// stderr. Must be awaited inside the listener's runtime (it spawns
    /// the new inputs' tasks); [`ListenerHandle::reload`] is the blocking
    /// form.
    pub async fn reload(&self) -> Result<ReloadReport, ReloadError> {
        crate::reload::reload(&self.live, None).await
    }

    /// As [`reload`](Self::reload), to these settings.
    pub async fn reload_with(&self, settings: Settings) -> Result<ReloadReport, ReloadError> {
        crate::reload::reload(&self.live, Some(settings)).await
    }
}

/// A bound listener, ready to [`run`](Listener::run).
///
/// ```no_run
/// # async fn demo() -> Result<(), tributary_listener::ListenerError> {
/// use tributary_listener::{Listener, OutputSpec};
/// let listener = Listener::builder()
///     .tcp("127.0.0.1:0")
///     .output(OutputSpec::file("logs/app.log"))
///     .bind()
///     .await?;
/// for input in listener.bound() {
///     println!("listening {input}");
/// }
/// let controller = listener.controller();
/// tokio::spawn(async move {
///     tokio::signal::ctrl_c().await.ok();
///     controller.shutdown();
/// });
/// let summary = listener.run().await?;
/// eprintln!("{summary}");
/// # Ok(()) }
/// ```
pub struct Listener {
    bound: Vec<BoundInput>,
    /// Each input's socket, context, and the flag a reload sets to stop it.
    sockets: Vec<(Socket, Arc<InputCtx>, input::Stop)>,
    /// Ends when every input task and connection has (see [`TaskGuard`]).
    finished: mpsc::Receiver<()>,
    writer: Option<std::thread::JoinHandle<()>>,
    controller: Controller,
    // Read by the admin endpoint and the collector only.
    #[cfg_attr(not(any(feature = "nats", feature = "http")), allow(dead_code))]
    shutdown_rx: watch::Receiver<bool>,
    stats: Stats,
    /// The admin endpoint, bound, and what it serves (`--admin`).
    #[cfg(feature = "http")]
    admin: Option<(crate::admin::BoundAdmin, crate::admin::AdminState)>,
    /// How long forwarding may finish after the writer has (feature `nats`).
    #[cfg_attr(not(feature = "nats"), allow(dead_code))]
    drain_timeout: Duration,
    stats_interval: Option<Duration>,
    /// Held until the listener is dropped, after the writer has finished.
    _locks: OutputLocks,
    /// Removed when the listener is dropped.
    _pid_file: Option<crate::pid_file::PidFile>,
    #[cfg(feature = "nats")]
    forwarder: Option<crate::forward::Forwarder>,
    #[cfg(feature = "nats")]
    collector: Option<(crate::collect::Attached, Arc<InputCtx>)>,
}

/// Refuses a plaintext input that other hosts can reach, unless allowed;
/// when allowed, says so on stderr (whatever the diagnostics setting: it is
/// about the listener's exposure, not about a record).
pub(crate) fn check_exposure(
    bound: &BoundInput,
    tls: bool,
    allowed: bool,
) -> Result<(), ListenerError> {
    let Some(addr) = bound.socket_addr() else {
        return Ok(()); // Unix sockets: file permissions guard them
    };
    let encrypted = matches!(
        bound.kind(),
        input::InputKind::Tcp | input::InputKind::SyslogTcp | input::InputKind::Http
    ) && tls;
    if encrypted || addr.ip().is_loopback() {
        return Ok(());
    }
    if !allowed {
        return Err(ListenerError::InsecureRemote {
            input: bound.to_string(),
        });
    }
    eprintln!(
        "tributary: warning: {bound} is reachable from other hosts without TLS (--allow-insecure-remote): records cross the network in clear text and anyone who can reach it can write to the log"
    );
    Ok(())
}

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listener")
            .field("bound", &self.bound)
            .finish_non_exhaustive()
    }
}

impl Listener {
    /// A builder with the documented defaults (those of `tributary listen`).
    pub fn builder() -> ListenerBuilder {
        ListenerBuilder::default()
    }

    /// The bound inputs, in the order given; `listening {input}` is the
    /// readiness line.
    pub fn bound(&self) -> &[BoundInput] {
        &self.bound
    }

    /// With forwarding on, its readiness line:
    /// `forwarding nats <URL> stream <NAME> host <ID>`.
    pub fn forwarding(&self) -> Option<&str> {
        #[cfg(feature = "nats")]
        return self.forwarder.as_ref().map(|f| f.line.as_str());
        #[cfg(not(feature = "nats"))]
        None
    }

    /// For `tributary collect`, what it is attached to: `nats <URL> stream
    /// <NAME>` (the readiness line is `collecting ` and this).
    pub fn collecting(&self) -> Option<&str> {
        #[cfg(feature = "nats")]
        return self.collector.as_ref().map(|(a, _)| a.label.as_str());
        #[cfg(not(feature = "nats"))]
        None
    }

    /// The admin endpoint's address, with `--admin`; `listening admin
    /// {addr}` is its readiness line.
    pub fn admin_addr(&self) -> Option<std::net::SocketAddr> {
        #[cfg(feature = "http")]
        return self.admin.as_ref().map(|(bound, _)| bound.addr());
        #[cfg(not(feature = "http"))]
        None
    }

    /// Puts `reload` behind the admin endpoint's `POST /reload` (by
    /// default the listener's own reload, as SIGHUP's:
    /// [`Controller::reload`]).
    #[cfg(feature = "http")]
    pub fn with_reload(mut self, reload: Arc<dyn crate::admin::Reload>) -> Self {
        if let Some((_, state)) = &mut self.admin {
            state.reload = Arc::new(crate::admin::reload_counted(reload, &self.stats));
        }
        self
    }

    /// A handle to stop or reopen the listener.
    pub fn controller(&self) -> Controller {
        self.controller.clone()
    }

    /// The live counters.
    pub fn stats(&self) -> Stats {
        self.stats.clone()
    }

    /// Serves until [`Controller::shutdown`], then drains and returns the
    /// final counters. While an output cannot be written the drain waits
    /// for it, up to the drain timeout; records still unwritten then make
    /// this return [`ListenerError::Unwritten`].
    pub async fn run(mut self) -> Result<Summary, ListenerError> {
        let started = Instant::now();
        // Set up by `bind`, so a reload that comes before this (a SIGHUP
        // right after the readiness lines) finds the listener serving.
        let serving = self.controller.live.lock().await.serving.clone();
        if let Some(serving) = &serving {
            for (socket, ctx, stop) in std::mem::take(&mut self.sockets) {
                serving.spawn(socket, ctx, stop);
            }
            #[cfg(feature = "nats")]
            if let Some((attached, ctx)) = self.collector.take() {
                tokio::spawn(crate::collect::serve(
                    attached,
                    ctx,
                    self.shutdown_rx.clone(),
                    serving.guard.clone(),
                ));
            }
        }
        drop(serving);
        #[cfg(feature = "http")]
        if let Some((bound, state)) = self.admin.take() {
            tokio::spawn(crate::admin::serve(
                bound,
                Arc::new(state),
                self.drain_timeout,
                self.shutdown_rx.clone(),
            ));
        }
        let ticker = self.stats_interval.map(|every| {
            let stats = self.stats.clone();
            let queue = self.controller.queue.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
                loop {
                    tick.tick().await;
                    eprintln!(
                        "tributary: stats: {}{}",
                        stats.snapshot(),
                        MissingFields(queue.records_missing_fields())
                    );
                }
            })
        });
        // Every input task and connection has finished (after shutdown).
        let _ = self.finished.recv().await;
        if let Some(t) = ticker {
            t.abort();
        }
        self.controller.queue.control(Msg::Stop);
        let writer = self.writer.take();
        let joined = tokio::task::spawn_blocking(move || writer.map(|w| w.join()))
            .await
            .map_err(|_| ListenerError::WriterPanicked)?;
        if let Some(Err(_)) = joined {
            return Err(ListenerError::WriterPanicked);
        }
        // What the writer wrote last is forwarded before the summary.
        #[cfg(feature = "nats")]
        if let Some(f) = self.forwarder.take() {
            f.finish(self.drain_timeout).await;
        }
        let summary = Summary {
            stats: self.stats.snapshot(),
            records_missing_fields: self.controller.queue.records_missing_fields(),
            elapsed: started.elapsed(),
        };
        // An output that still failed after the drain timeout: never a
        // success.
        if summary.stats.writer.unwritten > 0 {
            return Err(ListenerError::Unwritten {
                records: summary.stats.writer.unwritten,
                summary: Box::new(summary),
            });
        }
        Ok(summary)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        // Dropped without running: let the writer thread exit.
        if self.writer.is_some() {
            self.controller.queue.control(Msg::Stop);
        }
    }
}

/// The final counters of a listener that has shut down.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Every counter after the drain.
    pub stats: StatsSnapshot,
    /// Records written to a text output without a field its pattern uses
    /// (the placeholder shows the `missing` text), over all outputs; `None`
    /// when no output writes text.
    pub records_missing_fields: Option<u64>,
    /// How long the listener served.
    pub elapsed: Duration,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "served {:.1}s; {}{}",
            self.elapsed.as_secs_f64(),
            self.stats,
            MissingFields(self.records_missing_fields)
        )
    }
}

/// The text outputs' part of the stats line and summary: shown only when
/// an output writes text.
struct MissingFields(Option<u64>);

impl fmt::Display for MissingFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(n) => write!(f, "; text: missing_fields={n}"),
            None => Ok(()),
        }
    }
}
