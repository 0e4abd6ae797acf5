//! The `tributary` command line: flags with the same names as the config
//! file keys; flags override the file.

use crate::config::{
    CompressName, ConfigError, DiagnosticsName, FileConfig, FormatName, LevelNo, ProfileName, Size,
    Span,
};
use crate::settings::Settings;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Many processes, one log: the tributary listener.
#[derive(Debug, Parser)]
#[command(name = "tributary", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Receive records over sockets and write them to one file (or several,
    /// routed). Prints `listening <kind> <address>` per input once all are bound.
    Listen(ListenArgs),
}

/// `tributary listen` flags. Naming any input replaces the default inputs
/// (TCP 127.0.0.1:9020 and UDP 127.0.0.1:9021).
#[derive(Debug, Default, Args)]
#[command(next_line_help = false)]
pub struct ListenArgs {
    /// TOML config file with the same keys as these flags, plus `[[output]]` tables.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Listen on a TCP address (repeatable; port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    pub tcp: Vec<String>,
    /// Listen on a UDP address (repeatable).
    #[arg(long, value_name = "ADDR")]
    pub udp: Vec<String>,
    /// Listen on a Unix stream socket, created with mode 0600 (repeatable).
    #[arg(long, value_name = "PATH")]
    pub unix: Vec<PathBuf>,
    /// Listen on a Unix datagram socket, created with mode 0600 (repeatable).
    #[arg(long, value_name = "PATH")]
    pub unix_dgram: Vec<PathBuf>,
    /// Output file [default: logs/tributary.log].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Output format [default: json].
    #[arg(long, value_enum)]
    pub format: Option<FormatName>,
    /// JSON key layout [default: native].
    #[arg(long, value_enum)]
    pub json_profile: Option<ProfileName>,
    /// Python logging template for --format text (implies it) [default:
    /// '%(asctime)s %(processName)-10s %(name)s %(levelname)-8s %(message)s'].
    #[arg(long, value_name = "TEMPLATE")]
    pub pattern: Option<String>,
    /// Rotate before the file would pass this size, e.g. 10MiB.
    #[arg(long, value_name = "SIZE")]
    pub max_bytes: Option<Size>,
    /// Rotate on time: S, M, H, D, midnight or W0..W6 (Monday=W0).
    #[arg(long, value_name = "WHEN")]
    pub when: Option<String>,
    /// Units of --when per rotation period [default: 1].
    #[arg(long, value_name = "N")]
    pub interval: Option<u32>,
    /// Compute rotation times in UTC.
    #[arg(long)]
    pub utc: bool,
    /// Archives to keep (0 keeps all).
    #[arg(long, value_name = "N")]
    pub backup_count: Option<u32>,
    /// Compress archives [default: none].
    #[arg(long, value_enum)]
    pub compress: Option<CompressName>,
    /// Write only records at this level or above (name or number).
    #[arg(long, value_name = "LEVEL")]
    pub level: Option<LevelNo>,
    /// Largest frame, line or datagram accepted [default: 1MiB].
    #[arg(long, value_name = "SIZE")]
    pub max_frame: Option<Size>,
    /// Most stream connections open at once [default: 1024].
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Close connections silent this long, e.g. 10m [default: never].
    #[arg(long, value_name = "DURATION")]
    pub idle_timeout: Option<Span>,
    /// Close a connection that completes no frame or line this long after
    /// it opens; 0 turns it off [default: 10s].
    #[arg(long, value_name = "DURATION")]
    pub first_frame_timeout: Option<Span>,
    /// Most stream connections from one peer (a remote address, or a Unix
    /// socket's process; TCP on loopback is not counted per peer); 0: no
    /// cap [default: 256].
    #[arg(long, value_name = "N")]
    pub max_connections_per_peer: Option<usize>,
    /// Most bytes held in unfinished frames over all connections; past it
    /// the connections holding the largest are closed [default: 16MiB].
    #[arg(long, value_name = "SIZE")]
    pub frame_budget: Option<Size>,
    /// Print a stats line to stderr this often, e.g. 60s [default: never].
    #[arg(long, value_name = "DURATION")]
    pub stats_interval: Option<Span>,
    /// Records in flight between inputs and the writer [default: 16384].
    #[arg(long, value_name = "N")]
    pub queue_capacity: Option<usize>,
    /// Bytes of records in flight between inputs and the writer [default: 64MiB].
    #[arg(long, value_name = "SIZE")]
    pub queue_bytes: Option<Size>,
    /// Close a connection whose started frame or line does not complete
    /// within this time, e.g. 30s; 0 turns it off [default: 30s].
    #[arg(long, value_name = "DURATION")]
    pub frame_timeout: Option<Span>,
    /// Where the listener's own diagnostics go [default: stderr].
    #[arg(long, value_enum)]
    pub diagnostics: Option<DiagnosticsName>,
    /// Render pickled objects that need code to rebuild as strings instead
    /// of refusing the record (nothing is ever executed).
    #[arg(long)]
    pub lenient_pickle: bool,
    /// On shutdown, how long to wait for connections to deliver [default: 5s].
    #[arg(long, value_name = "DURATION")]
    pub drain_timeout: Option<Span>,
    /// Serve TLS on every TCP input with this certificate chain (PEM, the
    /// listener's own certificate first; needs --tls-key).
    #[arg(long, value_name = "PATH")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "PATH")]
    pub tls_key: Option<PathBuf>,
    /// Require TLS clients to present a certificate signed by a CA in this
    /// PEM bundle (mutual TLS); others are refused.
    #[arg(long, value_name = "PATH")]
    pub tls_client_ca: Option<PathBuf>,
    /// Disconnect a client that has not finished its TLS handshake in this
    /// long [default: 10s].
    #[arg(long, value_name = "DURATION")]
    pub tls_handshake_timeout: Option<Span>,
    /// Allow TCP without TLS, and UDP, on addresses other hosts can reach
    /// (refused otherwise); prints a warning per such input.
    #[arg(long)]
    pub allow_insecure_remote: bool,
    /// Acknowledge records to acknowledged producers only once fsynced
    /// (group commit), not merely written.
    #[arg(long)]
    pub durable: bool,
    /// The acknowledgement journal [default: a hidden file beside the
    /// first output, e.g. logs/.tributary.log.acks].
    #[arg(long, value_name = "PATH")]
    pub ack_journal: Option<PathBuf>,
}

impl ListenArgs {
    /// Reads the config file if one was given, lays the flags over it, and
    /// checks the result.
    pub fn settings(&self) -> Result<Settings, ConfigError> {
        let mut config = match &self.config {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };
        self.apply(&mut config);
        config.into_settings()
    }

    /// Overrides the file's values with the flags given.
    pub fn apply(&self, c: &mut FileConfig) {
        if !(self.tcp.is_empty()
            && self.udp.is_empty()
            && self.unix.is_empty()
            && self.unix_dgram.is_empty())
        {
            c.tcp = Some(self.tcp.clone());
            c.udp = Some(self.udp.clone());
            c.unix = Some(self.unix.clone());
            c.unix_dgram = Some(self.unix_dgram.clone());
        }
        fn set<T: Clone>(slot: &mut Option<T>, flag: &Option<T>) {
            if flag.is_some() {
                slot.clone_from(flag);
            }
        }
        set(&mut c.out, &self.out);
        if self.format.is_some() && self.pattern.is_none() && c.format != self.format {
            // A format flag replaces the file's format and its companions.
            c.pattern = None;
            c.json_profile = None;
        }
        set(&mut c.format, &self.format);
        set(&mut c.json_profile, &self.json_profile);
        set(&mut c.pattern, &self.pattern);
        if self.pattern.is_some() && self.format.is_none() {
            c.format = Some(FormatName::Text);
        }
        set(&mut c.max_bytes, &self.max_bytes);
        set(&mut c.when, &self.when);
        set(&mut c.interval, &self.interval);
        if self.utc {
            c.utc = Some(true);
        }
        set(&mut c.backup_count, &self.backup_count);
        set(&mut c.compress, &self.compress);
        set(&mut c.level, &self.level);
        set(&mut c.max_frame, &self.max_frame);
        set(&mut c.max_connections, &self.max_connections);
        set(&mut c.idle_timeout, &self.idle_timeout);
        set(&mut c.first_frame_timeout, &self.first_frame_timeout);
        set(
            &mut c.max_connections_per_peer,
            &self.max_connections_per_peer,
        );
        set(&mut c.frame_budget, &self.frame_budget);
        set(&mut c.stats_interval, &self.stats_interval);
        set(&mut c.queue_capacity, &self.queue_capacity);
        set(&mut c.queue_bytes, &self.queue_bytes);
        set(&mut c.frame_timeout, &self.frame_timeout);
        set(&mut c.diagnostics, &self.diagnostics);
        if self.lenient_pickle {
            c.lenient_pickle = Some(true);
        }
        set(&mut c.drain_timeout, &self.drain_timeout);
        set(&mut c.tls_cert, &self.tls_cert);
        set(&mut c.tls_key, &self.tls_key);
        set(&mut c.tls_client_ca, &self.tls_client_ca);
        set(&mut c.tls_handshake_timeout, &self.tls_handshake_timeout);
        if self.allow_insecure_remote {
            c.allow_insecure_remote = Some(true);
        }
        if self.durable {
            c.durable = Some(true);
        }
        set(&mut c.ack_journal, &self.ack_journal);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{InputSpec, OutputFormat, TextFormat};
    use std::path::Path;

    fn listen(args: &[&str]) -> ListenArgs {
        let cli = Cli::try_parse_from(
            std::iter::once("tributary")
                .chain(std::iter::once("listen"))
                .chain(args.iter().copied()),
        )
        .unwrap();
        match cli.command {
            Command::Listen(a) => a,
        }
    }

    #[test]
    fn flags_override_the_file_and_inputs_replace_as_a_whole() {
        let mut file = FileConfig::from_toml(
            "tcp = [\"127.0.0.1:1\"]\nudp = [\"127.0.0.1:2\"]\nmax-frame = \"2MiB\"\nformat = \"text\"\npattern = \"%(message)s\"\n",
            Path::new("t.toml"),
        )
        .unwrap();
        let args = listen(&[
            "--unix",
            "/tmp/x.sock",
            "--max-frame",
            "64KiB",
            "--format",
            "json",
        ]);
        args.apply(&mut file);
        let s = file.into_settings().unwrap();
        assert_eq!(s.inputs, vec![InputSpec::Unix("/tmp/x.sock".into())]);
        assert_eq!(s.max_frame, 64 << 10);
        assert_eq!(
            s.outputs[0].format,
            OutputFormat::Json(tributary_core::JsonProfile::Native)
        );
    }

    #[test]
    fn pattern_flag_implies_text() {
        let s = listen(&["--pattern", "%(levelname)s %(message)s"])
            .settings()
            .unwrap();
        assert_eq!(
            s.outputs[0].format,
            OutputFormat::Text(TextFormat::new("%(levelname)s %(message)s"))
        );
    }

    #[test]
    fn bad_flag_values_are_refused_by_the_parser() {
        let args = ["tributary", "listen", "--max-bytes", "lots"];
        let e = Cli::try_parse_from(args).unwrap_err().to_string();
        assert!(
            e.contains("--max-bytes") && e.contains("invalid size"),
            "{e}"
        );
    }
}
