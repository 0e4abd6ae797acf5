//! What the bench runs: the scenarios of issue 6, each as a list of cases
//! (one system at one producer count), sized for `--quick` or the full run.

use crate::inproc::System;
use crate::oracle::LineFormat;
use crate::producer::Client;
use serde::Serialize;

/// The scenarios, numbered as in the issue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Scenario {
    /// N Rust processes → native frames over TCP and Unix → listener → JSON.
    S1,
    /// N Python processes, stdlib `SocketHandler` → listener → cookbook text.
    S2,
    /// The same producers → the cookbook's Python receiver → the same text.
    S3,
    /// N Python processes → `QueueHandler` + `multiprocessing.Queue` → `QueueListener`.
    S4,
    /// In-process: T threads `tracing::info!` → tributary layer vs tracing-subscriber JSON.
    S5,
    /// Rotation every 1 MiB with gzip against none, and against log4rs.
    S6,
    /// rsyslog ingesting N TCP clients into one file.
    S7,
    /// The limit: pre-formatted lines, one `write` per 64 KiB.
    S8,
    /// Acknowledged delivery: N Rust processes with acknowledged socket
    /// handlers → listener, acknowledging after write vs after fsync.
    S9,
    /// Past one host: 4 Rust processes → 2 forwarding listeners → NATS
    /// JetStream → `tributary collect`, against the same workload into one
    /// listener's local file (`scale_bench`, not planned as a case).
    S10,
    /// Syslog in: 4 Rust processes sending s7's RFC 5424 messages with
    /// octet counting → `tributary listen --syslog-tcp` vs rsyslog `imtcp`,
    /// the same JSON lines out.
    S11,
    /// Foreign JSON: N Rust processes sending JSON as a producer of any
    /// language would (a log struct serialized with its keys in
    /// alphabetical order, as `serde_json::json!` would also order them,
    /// 4 fields), length-prefixed and as NDJSON lines → listener →
    /// JSON; against the same content as RFC 5424 to rsyslog (s7's harness).
    S13,
    /// HTTP: N Rust processes POSTing [`S13`](Scenario::S13)'s records as
    /// NDJSON batches of 1,000 to the HTTP input's `/log`.
    S14,
}

impl Scenario {
    /// Short id: `s1` .. `s9`.
    pub fn id(self) -> &'static str {
        match self {
            Scenario::S1 => "s1",
            Scenario::S2 => "s2",
            Scenario::S3 => "s3",
            Scenario::S4 => "s4",
            Scenario::S5 => "s5",
            Scenario::S6 => "s6",
            Scenario::S7 => "s7",
            Scenario::S8 => "s8",
            Scenario::S9 => "s9",
            Scenario::S10 => "s10",
            Scenario::S11 => "s11",
            Scenario::S13 => "s13",
            Scenario::S14 => "s14",
        }
    }

    /// One line saying what is measured.
    pub fn title(self) -> &'static str {
        match self {
            Scenario::S1 => "Rust producers → native frames → tributary listener → JSON",
            Scenario::S2 => "Python SocketHandler producers → tributary listener → cookbook text",
            Scenario::S3 => {
                "Python SocketHandler producers → cookbook Python receiver → cookbook text"
            }
            Scenario::S4 => {
                "Python QueueHandler + multiprocessing.Queue → QueueListener → cookbook text"
            }
            Scenario::S5 => "in-process tracing::info! (3 fields), T threads → JSON file",
            Scenario::S6 => "rotation every 1 MiB with gzip (4 producers/threads) → JSON",
            Scenario::S7 => "Rust producers → syslog over TCP → rsyslog → one file",
            Scenario::S8 => "the limit: pre-formatted JSON lines, one write per 64 KiB",
            Scenario::S9 => {
                "acknowledged Rust producers → tributary listener → JSON, after write vs --durable"
            }
            Scenario::S10 => {
                "4 Rust producers → 2 forwarding listeners → NATS JetStream → tributary collect"
            }
            Scenario::S11 => {
                "4 Rust producers → RFC 5424, octet counting → tributary --syslog-tcp vs rsyslog imtcp → JSON"
            }
            Scenario::S14 => {
                "foreign JSON as NDJSON batches of 1,000 over HTTP → tributary listener --http"
            }
            Scenario::S13 => {
                "foreign JSON (alphabetical keys, 4 fields) frames and NDJSON → tributary listener vs rsyslog"
            }
        }
    }
}

/// Socket between producers and listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// TCP on loopback.
    Tcp,
    /// A Unix stream socket.
    Unix,
    /// HTTP/1.1 on loopback TCP (`--http`).
    Http,
}

/// The receiving process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Receiver {
    /// The `tributary` binary.
    Tributary {
        /// Text in the cookbook format instead of JSON lines.
        text: bool,
        /// Rotate every 1 MiB and gzip the archives.
        rotate: bool,
        /// `--durable`: acknowledge after fsync.
        durable: bool,
        /// `--admin` on, `/metrics` scraped every second meanwhile.
        admin: bool,
    },
    /// `bench/cookbook_receiver.py`.
    Cookbook,
    /// The `tributary` binary with `--syslog-tcp` as its only input.
    TributarySyslog,
    /// `rsyslogd` with `imtcp` and `omfile`.
    Rsyslog,
}

/// The producing processes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Producers {
    /// `xtask produce` processes.
    Rust(Client),
    /// `bench/py_producer.py` processes (stdlib `SocketHandler`).
    Python,
    /// `bench/py_producer.py --acknowledged` processes
    /// (`tributary_logging.AcknowledgedSocketHandler` from clients/python).
    PythonAck,
}

/// How one case is set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setup {
    /// N producer processes sending to a receiver process over a socket.
    Network {
        /// Who receives.
        receiver: Receiver,
        /// Who sends.
        producers: Producers,
        /// Over what.
        transport: Transport,
    },
    /// `bench/mp_queue.py`: producers and writer under one Python parent.
    PythonQueue,
    /// `xtask inproc`: threads in one process.
    Inproc(System),
    /// `xtask limit`.
    Limit,
}

/// One system at one producer (or thread) count.
#[derive(Clone, Debug)]
pub struct Case {
    /// Which scenario.
    pub scenario: Scenario,
    /// The system, as shown in the table.
    pub system: &'static str,
    /// Whether this is Tributary (its oracle failing fails the bench) or an
    /// alternative (its losses are shown in red and counted).
    pub tributary: bool,
    /// Producer processes or threads.
    pub n: usize,
    /// Records each producer sends.
    pub per_producer: u64,
    /// Output line format.
    pub format: LineFormat,
    /// Whether the output rotates (archives are checked too).
    pub rotating: bool,
    /// How to run it.
    pub setup: Setup,
}

impl Case {
    /// `s1 tributary tcp n=4`: what `--filter` matches and the work
    /// directory is named after.
    pub fn label(&self) -> String {
        format!("{} {} n={}", self.scenario.id(), self.system, self.n)
    }

    /// Records sent in one run.
    pub fn total(&self) -> u64 {
        self.per_producer * self.n as u64
    }
}

/// Sizes of a bench run.
#[derive(Clone, Debug, Serialize)]
pub struct Sizes {
    /// Runs per case (the median is reported).
    pub runs: usize,
    /// Producer counts at which Rust producers writing raw native frames
    /// (no handler) are measured too: they tell the listener's limit from
    /// the client's, and write the way the rsyslog producers do.
    pub raw_frames: Vec<usize>,
    /// Producer counts for the multi-process scenarios.
    pub ns: Vec<usize>,
    /// Thread counts for scenario 5.
    pub threads: Vec<usize>,
    /// Records per Rust producer (scenarios 1, 6, 7, 8).
    pub rust_records: u64,
    /// Records per Python producer (scenarios 2, 3, 4).
    pub python_records: u64,
    /// Records per thread in scenario 5.
    pub tracing_records: u64,
}

impl Sizes {
    /// `--quick`: half a minute of measuring, enough to keep the bench from rotting.
    pub fn quick() -> Sizes {
        Sizes {
            runs: 1,
            raw_frames: vec![4],
            ns: vec![1, 4],
            threads: vec![1, 4],
            rust_records: 20_000,
            python_records: 2_000,
            tracing_records: 20_000,
        }
    }

    /// The full run: N = 1, 2, 4, 8 and medians of 3 runs.
    pub fn full() -> Sizes {
        Sizes {
            runs: 3,
            raw_frames: vec![1, 2, 4, 8],
            ns: vec![1, 2, 4, 8],
            threads: vec![1, 4],
            rust_records: 100_000,
            python_records: 10_000,
            tracing_records: 100_000,
        }
    }
}

/// What this machine and build can run.
#[derive(Clone, Debug, Serialize)]
pub struct Abilities {
    /// `python3` is on the PATH.
    pub python: bool,
    /// `rsyslogd` is on the PATH.
    pub rsyslog: bool,
    /// xtask was built with tributary-handlers.
    pub handlers: bool,
}

/// Every case to run, in order, and notes on what was left out and why.
pub fn plan(sizes: &Sizes, can: &Abilities) -> (Vec<Case>, Vec<String>) {
    let mut cases = Vec::new();
    let mut notes = Vec::new();
    let rust_client = if can.handlers {
        Client::Handler
    } else {
        Client::Raw
    };
    if !can.handlers {
        notes.push(
            "tributary-handlers not built in (xtask feature `handlers`): Rust producers send raw native frames; \
             s5/s6 in-process Tributary systems skipped"
                .into(),
        );
    }
    let tributary_net = |transport, text, rotate, producers| Setup::Network {
        receiver: Receiver::Tributary {
            text,
            rotate,
            durable: false,
            admin: false,
        },
        producers,
        transport,
    };
    let rust = Producers::Rust(rust_client);
    for &n in &sizes.ns {
        for (system, transport) in [
            ("tributary tcp", Transport::Tcp),
            ("tributary unix", Transport::Unix),
        ] {
            cases.push(Case {
                scenario: Scenario::S1,
                system,
                tributary: true,
                n,
                per_producer: sizes.rust_records,
                format: LineFormat::Json,
                rotating: false,
                setup: tributary_net(transport, false, false, rust),
            });
        }
    }
    // What metrics cost: the same as "tributary tcp" with the admin
    // endpoint on and scraped every second; run alternately with it.
    for &n in &sizes.ns {
        cases.push(Case {
            scenario: Scenario::S1,
            system: "tributary tcp +admin scraped",
            tributary: true,
            n,
            per_producer: sizes.rust_records,
            format: LineFormat::Json,
            rotating: false,
            setup: Setup::Network {
                receiver: Receiver::Tributary {
                    text: false,
                    rotate: false,
                    durable: false,
                    admin: true,
                },
                producers: rust,
                transport: Transport::Tcp,
            },
        });
    }
    if can.handlers {
        for &n in &sizes.raw_frames {
            cases.push(Case {
                scenario: Scenario::S1,
                system: "tributary tcp raw frames",
                tributary: true,
                n,
                per_producer: sizes.rust_records,
                format: LineFormat::Json,
                rotating: false,
                setup: tributary_net(Transport::Tcp, false, false, Producers::Rust(Client::Raw)),
            });
        }
    }
    if can.python {
        for &n in &sizes.ns {
            let text_case = |scenario, system, tributary, setup| Case {
                scenario,
                system,
                tributary,
                n,
                per_producer: sizes.python_records,
                format: LineFormat::Text,
                rotating: false,
                setup,
            };
            cases.push(text_case(
                Scenario::S2,
                "tributary listener",
                true,
                tributary_net(Transport::Tcp, true, false, Producers::Python),
            ));
            cases.push(text_case(
                Scenario::S2,
                "tributary listener, python ack handler",
                true,
                tributary_net(Transport::Tcp, true, false, Producers::PythonAck),
            ));
            cases.push(text_case(
                Scenario::S3,
                "cookbook receiver",
                false,
                Setup::Network {
                    receiver: Receiver::Cookbook,
                    producers: Producers::Python,
                    transport: Transport::Tcp,
                },
            ));
            cases.push(text_case(
                Scenario::S4,
                "QueueHandler+mp.Queue",
                false,
                Setup::PythonQueue,
            ));
        }
    } else {
        notes.push("python3 not found: scenarios s2, s3, s4 skipped".into());
    }
    for &t in &sizes.threads {
        let mut systems = vec![("tracing-subscriber json", false, System::TracingJson)];
        if can.handlers {
            systems.insert(0, ("tributary layer", true, System::TracingTributary));
        }
        for (system, tributary, sys) in systems {
            cases.push(Case {
                scenario: Scenario::S5,
                system,
                tributary,
                n: t,
                per_producer: sizes.tracing_records,
                format: LineFormat::Json,
                rotating: false,
                setup: Setup::Inproc(sys),
            });
        }
    }
    let s6 = |system, tributary, rotating, setup| Case {
        scenario: Scenario::S6,
        system,
        tributary,
        n: 4,
        per_producer: sizes.rust_records,
        format: LineFormat::Json,
        rotating,
        setup,
    };
    cases.push(s6(
        "listener rotate+gzip",
        true,
        true,
        tributary_net(Transport::Tcp, false, true, rust),
    ));
    cases.push(s6(
        "listener no rotation",
        true,
        false,
        tributary_net(Transport::Tcp, false, false, rust),
    ));
    if can.handlers {
        cases.push(s6(
            "in-process rotate+gzip",
            true,
            true,
            Setup::Inproc(System::LogTributaryRotating),
        ));
    }
    cases.push(s6(
        "log4rs rolling gzip",
        false,
        true,
        Setup::Inproc(System::Log4rsRolling),
    ));
    // s7's harness, also the alternative s11 and s13 are measured against.
    let syslog_case = |scenario, system, receiver, client, n| Case {
        scenario,
        system,
        tributary: receiver != Receiver::Rsyslog,
        n,
        per_producer: sizes.rust_records,
        format: LineFormat::Json,
        rotating: false,
        setup: Setup::Network {
            receiver,
            producers: Producers::Rust(client),
            transport: Transport::Tcp,
        },
    };
    let rsyslog =
        |scenario, n| syslog_case(scenario, "rsyslog", Receiver::Rsyslog, Client::Syslog, n);
    if can.rsyslog {
        for &n in &sizes.ns {
            cases.push(rsyslog(Scenario::S7, n));
        }
    } else {
        notes.push("rsyslogd not installed: s7 skipped (enable it with `apt-get install rsyslog`; the bench starts its own rsyslogd, no service needed)".into());
    }
    cases.push(Case {
        scenario: Scenario::S8,
        system: "write 64 KiB",
        tributary: false,
        n: 4,
        per_producer: sizes.rust_records,
        format: LineFormat::Json,
        rotating: false,
        setup: Setup::Limit,
    });
    // s11: the same 4 producers, octet counting, into either receiver.
    cases.push(syslog_case(
        Scenario::S11,
        "tributary syslog-tcp",
        Receiver::TributarySyslog,
        Client::SyslogOctet,
        4,
    ));
    if can.rsyslog {
        cases.push(syslog_case(
            Scenario::S11,
            "rsyslog imtcp",
            Receiver::Rsyslog,
            Client::SyslogOctet,
            4,
        ));
    } else {
        notes.push("rsyslogd not installed: s11's rsyslog side skipped (enable it with `apt-get install rsyslog`)".into());
    }
    if can.handlers {
        for (system, durable) in [("listener acked", false), ("listener acked durable", true)] {
            cases.push(Case {
                scenario: Scenario::S9,
                system,
                tributary: true,
                n: 4,
                per_producer: sizes.rust_records,
                format: LineFormat::Json,
                rotating: false,
                setup: Setup::Network {
                    receiver: Receiver::Tributary {
                        text: false,
                        rotate: false,
                        durable,
                        admin: false,
                    },
                    producers: Producers::Rust(Client::Acked),
                    transport: Transport::Tcp,
                },
            });
        }
    }
    for &n in &sizes.ns {
        for (system, client) in [
            ("tributary foreign frames", Client::Foreign),
            ("tributary foreign ndjson", Client::ForeignLines),
        ] {
            cases.push(Case {
                scenario: Scenario::S13,
                system,
                tributary: true,
                n,
                per_producer: sizes.rust_records,
                format: LineFormat::Json,
                rotating: false,
                setup: tributary_net(Transport::Tcp, false, false, Producers::Rust(client)),
            });
        }
        if can.rsyslog {
            cases.push(rsyslog(Scenario::S13, n));
        }
        cases.push(Case {
            scenario: Scenario::S14,
            system: "tributary http ndjson",
            tributary: true,
            n,
            per_producer: sizes.rust_records,
            format: LineFormat::Json,
            rotating: false,
            setup: tributary_net(
                Transport::Http,
                false,
                false,
                Producers::Rust(Client::HttpNdjson),
            ),
        });
    }
    cases.sort_by_key(|c| c.scenario); // stable: the order within a scenario stays
    (cases, notes)
}

/// Keeps the cases `filter` selects (see [`crate::filter`]).
pub fn filter(cases: Vec<Case>, filter: Option<&str>) -> Vec<Case> {
    cases
        .into_iter()
        .filter(|c| crate::filter::matches(&c.label(), filter))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_is_planned_when_everything_is_available() {
        let can = Abilities {
            python: true,
            rsyslog: true,
            handlers: true,
        };
        let (cases, notes) = plan(&Sizes::quick(), &can);
        assert!(notes.is_empty(), "{notes:?}");
        let mut ids: Vec<_> = cases.iter().map(|c| c.scenario).collect();
        ids.dedup();
        assert_eq!(
            ids,
            [
                Scenario::S1,
                Scenario::S2,
                Scenario::S3,
                Scenario::S4,
                Scenario::S5,
                Scenario::S6,
                Scenario::S7,
                Scenario::S8,
                Scenario::S9,
                Scenario::S11,
                Scenario::S13,
                Scenario::S14
            ]
        );
    }

    #[test]
    fn missing_tools_skip_with_a_note_and_filter_selects() {
        let can = Abilities {
            python: false,
            rsyslog: false,
            handlers: false,
        };
        let (cases, notes) = plan(&Sizes::quick(), &can);
        assert_eq!(notes.len(), 4);
        assert!(notes.iter().any(|n| n.contains("apt-get install rsyslog")));
        assert!(cases.iter().all(|c| !matches!(
            c.scenario,
            Scenario::S2 | Scenario::S3 | Scenario::S4 | Scenario::S7
        )));
        let unix = filter(cases, Some("S1 TRIBUTARY UNIX"));
        assert_eq!(unix.iter().map(|c| c.n).collect::<Vec<_>>(), [1, 4]);
    }
}
