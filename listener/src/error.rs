//! Errors that stop a listener from starting or finishing cleanly.

use std::io;
use std::path::PathBuf;

/// Why a listener could not start, or did not finish cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    /// An input socket could not be bound.
    #[error("cannot listen on {input}: {source}")]
    Bind {
        /// The input, e.g. `tcp 127.0.0.1:9020`.
        input: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// An output file could not be opened.
    #[error("cannot open output {path}: {source}")]
    Output {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A text pattern could not be parsed.
    #[error(
        "invalid text pattern for output {path}: {source} (with --pattern-fields NAME, or `pattern-fields` in the config, the pattern may use only the fields named; without it, any field)"
    )]
    Pattern {
        /// The output using it.
        path: PathBuf,
        /// Why.
        #[source]
        source: tributary_core::PatternError,
    },
    /// A TCP input without TLS, or a UDP input, on an address other hosts
    /// can reach, and `allow-insecure-remote` was not given.
    #[error(
        "refusing to listen on {input} without TLS: other hosts could read records in transit and write any record into the log. Give --tls-cert and --tls-key (TCP inputs; UDP has no TLS), bind a loopback address such as 127.0.0.1, or, on a network you trust, pass --allow-insecure-remote (config: allow-insecure-remote = true)"
    )]
    InsecureRemote {
        /// The input as bound, e.g. `tcp 0.0.0.0:9020`.
        input: String,
    },
    /// The pid file could not be written.
    #[error("cannot write the pid file {path}: {source}")]
    PidFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The pid file names a process that is running.
    #[error(
        "the pid file {path} names process {pid}, which is running: another tributary? Stop it first, or give this one another --pid-file (remove the file if that process is no listener)"
    )]
    PidFileHeld {
        /// The file.
        path: PathBuf,
        /// The pid it holds.
        pid: i32,
    },
    /// Another listener is writing this output (it holds the output's
    /// lock); this one stopped before touching anything.
    #[error(
        "another tributary{} is already writing {output} (it holds {lock}); this one stops without touching the file. Stop the running one first, or give this one another --out (and other inputs)",
        pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    Running {
        /// The output.
        output: PathBuf,
        /// The lock file beside it.
        lock: PathBuf,
        /// The running listener's pid, as written in the lock file.
        pid: Option<u32>,
    },
    /// An output's lock file could not be created or locked.
    #[error(
        "cannot lock output {output} through {lock}: {source} (the lock keeps a second listener from writing, and recovering, the same file; fix the directory's permissions)"
    )]
    Lock {
        /// The output.
        output: PathBuf,
        /// The lock file beside it.
        lock: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Two outputs name the same file by different paths.
    #[error("outputs {first} and {second} are the same file; one file must have one writer")]
    SameOutput {
        /// The first name.
        first: PathBuf,
        /// The second name of the same file.
        second: PathBuf,
    },
    /// The acknowledgement journal could not be read, or an output could
    /// not be repaired from it.
    #[error(
        "cannot recover from the acknowledgement journal {path}: {source} (fix its permissions, or move it away to start without it: acknowledged producers may then see duplicates)"
    )]
    Journal {
        /// The journal file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The settings are inconsistent.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The runtime or a thread could not be started.
    #[error("cannot start the listener: {0}")]
    Runtime(#[source] io::Error),
    /// The writer thread panicked; records queued after the panic were lost.
    #[error("the writer thread panicked; records queued after the panic were not written")]
    WriterPanicked,
    /// An output still could not be written when the drain timeout of the
    /// shutdown ran out (full disk, ...): these records are lost.
    #[error(
        "{records} records could not be written: an output still failed when the drain timeout ran out (the errors above say which and why; a longer --drain-timeout gives an operator more time to fix it); {summary}"
    )]
    Unwritten {
        /// Records not written, counted once per output that lost them.
        records: u64,
        /// The final counters.
        summary: Box<crate::listener::Summary>,
    },
    /// Forwarding to NATS cannot start (a bad URL, the cursor file).
    #[error("cannot forward to NATS: {reason}")]
    Forward {
        /// What is wrong and what to do.
        reason: String,
    },
    /// `tributary collect` cannot attach to its stream.
    #[error("cannot collect from NATS: {reason}")]
    Collect {
        /// What is wrong, naming the flag, and what to do.
        reason: String,
    },
    /// The listener's own thread panicked.
    #[error("the listener thread panicked")]
    ThreadPanicked,
}
