//! The `tributary` command line, built from the setting definitions
//! (`config/defs.rs`): one flag per setting, named as its config key;
//! flags override the file.

use crate::config::defs::{self, Apply, Form, Scope, Setting};
use crate::config::raw::Raw;
use crate::config::{ConfigError, FileConfig, FormatName, OutputDraft};
use crate::settings::Settings;
use clap::{Arg, ArgAction, ArgMatches, Command};
use std::path::PathBuf;

/// The one flag that is not a setting: where the settings file is.
const CONFIG: &str = "config";

/// `tributary` with its subcommands and every flag.
pub fn command() -> Command {
    Command::new("tributary")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Many processes, one log: the tributary listener.")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(listen_command())
        .subcommand(collect_command())
        .subcommand(check_config_command())
        .subcommand(crate::read::cat_command())
        .subcommand(crate::read::tail_command())
        .subcommand(reload_command())
}

/// The flag of `tributary reload`.
pub const RELOAD_ADMIN: &str = "admin";

/// `tributary reload --admin ADDR`: asks a running listener to reload
/// through its admin endpoint.
fn reload_command() -> Command {
    Command::new("reload")
        .about(
            "Ask a running listener to reload (POST /reload to its admin endpoint) and print what it did; \
             exits non-zero when the reload is refused or the listener cannot be reached.",
        )
        .arg(
            Arg::new(RELOAD_ADMIN)
                .long(RELOAD_ADMIN)
                .value_name("ADDR")
                .required(true)
                .help("The listener's admin address, as given to `tributary listen --admin` (HOST:PORT)"),
        )
}

/// `tributary check-config FILE`'s one argument.
pub const CHECK_CONFIG_FILE: &str = "file";

/// `tributary check-config FILE`.
fn check_config_command() -> Command {
    Command::new("check-config")
        .about(
            "Check a config file as `tributary listen --config FILE` would, and print the settings \
             in effect, defaults filled in, as a config file. Exits 1 with the key, line and reason \
             when it is refused. Changes nothing: no socket is bound, no file opened.",
        )
        .arg(
            Arg::new(CHECK_CONFIG_FILE)
                .value_name("FILE")
                .required(true)
                .value_parser(clap::value_parser!(PathBuf))
                .help("The TOML config file"),
        )
}

/// The flags of `tributary collect` that are not settings of `listen`.
const NATS: &str = "nats";
const STREAM: &str = "stream";
const CONSUMER: &str = "consumer";

/// `--out -`: write to standard output.
pub const STDOUT: &str = "-";

/// Listener-wide settings that `tributary collect` takes too (besides
/// every output setting): how it writes, not what it listens on.
const COLLECT_LISTENER_SETTINGS: &[&str] = &[
    "out",
    "durable",
    "ack-journal",
    "stats-interval",
    "diagnostics",
    "queue-capacity",
    "queue-bytes",
    "drain-timeout",
];

/// Whether `tributary collect` has this setting.
fn collects(setting: &Setting) -> bool {
    matches!(setting.scope, Scope::Output | Scope::Route)
        || COLLECT_LISTENER_SETTINGS.contains(&setting.name)
}

/// `tributary collect`: a JetStream stream into the output settings of
/// `listen`.
fn collect_command() -> Command {
    let config = Arg::new(CONFIG)
        .long(CONFIG)
        .value_name("FILE")
        .value_parser(clap::value_parser!(PathBuf))
        .help("TOML config file with the same keys as these flags, plus [[output]] tables");
    defs::SETTINGS.iter().filter(|s| collects(s)).fold(
        Command::new("collect")
            .about(
                "Collect the records forwarding listeners publish to NATS JetStream into one log \
                 (exactly once, through a durable consumer). Prints `collecting nats <URL> stream <NAME>` \
                 once attached (on stderr when --out is -).",
            )
            .arg(
                Arg::new(NATS)
                    .long(NATS)
                    .value_name("URL")
                    .action(ArgAction::Append)
                    .required(true)
                    .help("NATS server (repeatable for a cluster), e.g. nats://127.0.0.1:4222"),
            )
            .arg(
                Arg::new(STREAM)
                    .long(STREAM)
                    .value_name("NAME")
                    .default_value(crate::DEFAULT_FORWARD_STREAM)
                    .help("The JetStream stream the listeners forward to"),
            )
            .arg(
                Arg::new(CONSUMER)
                    .long(CONSUMER)
                    .value_name("NAME")
                    .default_value(crate::DEFAULT_CONSUMER)
                    .help("Durable consumer: collectors sharing a name split the records, distinct names each get all"),
            )
            .arg(config),
        |cmd, setting| cmd.arg(flag(setting)),
    )
}

/// The settings of `tributary collect`: the config file if one was
/// given, the flags laid over it, all checked. `--out -` writes to
/// standard output, with a journal in the temporary directory.
pub fn collect_settings(matches: &ArgMatches) -> Result<Settings, ConfigError> {
    let mut config = match matches.get_one::<PathBuf>(CONFIG) {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    overlay(matches, &mut config)?;
    let stdout = config
        .top
        .file
        .as_ref()
        .is_some_and(|f| f.as_os_str() == STDOUT);
    if stdout {
        if config.settings.durable {
            return Err(crate::config::invalid(
                "--durable",
                "standard output cannot be fsynced: give --out a file",
            ));
        }
        config.top.file = Some(PathBuf::from("/dev/stdout"));
        if config.settings.ack_journal.is_none() {
            config.settings.ack_journal = Some(
                std::env::temp_dir()
                    .join(format!(".tributary-collect-{}.acks", std::process::id())),
            );
        }
    }
    let mut collect = crate::CollectSettings::new(
        matches
            .get_many::<String>(NATS)
            .map(|v| v.cloned().collect())
            .unwrap_or_default(),
    );
    if let Some(s) = matches.get_one::<String>(STREAM) {
        collect.stream.clone_from(s);
    }
    if let Some(c) = matches.get_one::<String>(CONSUMER) {
        collect.consumer.clone_from(c);
    }
    config.settings.collect = Some(collect);
    config.into_settings()
}

/// `tributary listen`: every setting as a flag.
fn listen_command() -> Command {
    let config = Arg::new(CONFIG)
        .long(CONFIG)
        .value_name("FILE")
        .value_parser(clap::value_parser!(PathBuf))
        .help("TOML config file with the same keys as these flags, plus [[output]] tables");
    defs::SETTINGS.iter().fold(
        Command::new("listen")
            .about(
                "Receive records over sockets and write them to one file (or several, routed). \
                 Prints `listening <kind> <address>` per input once all are bound.",
            )
            .arg(config),
        |cmd, setting| cmd.arg(flag(setting)),
    )
}

fn flag(setting: &'static Setting) -> Arg {
    let arg = Arg::new(setting.name)
        .long(setting.name)
        .help(setting.help());
    match setting.form {
        Form::Switch => arg.action(ArgAction::SetTrue),
        Form::Value(name) | Form::Repeated(name) => arg
            .value_name(name)
            .action(if matches!(setting.form, Form::Repeated(_)) {
                ArgAction::Append
            } else {
                ArgAction::Set
            })
            // A bad value is refused by the parser, naming the flag.
            .value_parser(move |text: &str| {
                let given = match setting.form {
                    Form::Repeated(_) => Raw::List(vec![Raw::Text(text)]),
                    _ => Raw::Text(text),
                };
                apply(setting, &mut FileConfig::default(), &given).map(|()| text.to_owned())
            }),
    }
}

fn apply(setting: &Setting, config: &mut FileConfig, given: &Raw<'_>) -> Result<(), String> {
    match setting.apply {
        Apply::Listener(apply) => apply(config, given),
        Apply::Output(apply) => apply(&mut config.top, given),
    }
}

/// The settings of `tributary listen`: the config file if one was given,
/// the flags laid over it, all checked.
pub fn listen_settings(matches: &ArgMatches) -> Result<Settings, ConfigError> {
    let mut config = match matches.get_one::<PathBuf>(CONFIG) {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    overlay(matches, &mut config)?;
    config.into_settings()
}

/// Lays the flags given over `config`.
fn overlay(matches: &ArgMatches, config: &mut FileConfig) -> Result<(), ConfigError> {
    // A subcommand may define only some settings (`collect`).
    let given = |s: &Setting| match s.form {
        Form::Switch => matches
            .try_get_one::<bool>(s.name)
            .ok()
            .flatten()
            .copied()
            .unwrap_or(false),
        _ => {
            matches.try_contains_id(s.name).unwrap_or(false)
                && matches.value_source(s.name).is_some()
        }
    };
    // Naming any input replaces the file's inputs as a whole.
    if defs::SETTINGS
        .iter()
        .any(|s| s.scope == Scope::Input && given(s))
    {
        config.settings.inputs.clear();
    }
    // A format flag replaces the file's format and its companions.
    let top = &mut config.top;
    if let Some(format) = matches.try_get_one::<String>("format").ok().flatten() {
        let format: FormatName = format
            .parse()
            .map_err(|e| crate::config::invalid("--format", e))?;
        if !matches.try_contains_id("pattern").unwrap_or(false) && top.format != Some(format) {
            *top = OutputDraft {
                pattern: None,
                json_profile: None,
                ..top.clone()
            };
        }
    } else if matches.try_contains_id("pattern").unwrap_or(false) {
        top.format = Some(FormatName::Text);
    }
    for setting in defs::SETTINGS.iter().filter(|s| given(s)) {
        let values = || -> Vec<&str> {
            matches
                .get_many::<String>(setting.name)
                .map(|v| v.map(String::as_str).collect())
                .unwrap_or_default()
        };
        let raw = match setting.form {
            Form::Switch => Raw::Bool(true),
            Form::Value(_) => Raw::Text(values().first().copied().unwrap_or_default()),
            Form::Repeated(_) => Raw::List(values().into_iter().map(Raw::Text).collect()),
        };
        apply(setting, config, &raw)
            .map_err(|reason| crate::config::invalid(format!("--{}", setting.name), reason))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{InputSpec, OutputFormat, TextFormat};
    use std::path::Path;

    fn matches(args: &[&str]) -> Result<ArgMatches, clap::Error> {
        let m = command()
            .try_get_matches_from(["tributary", "listen"].iter().chain(args.iter()).copied())?;
        Ok(m.subcommand_matches("listen").cloned().expect("listen"))
    }

    fn listen(args: &[&str]) -> Settings {
        listen_settings(&matches(args).unwrap()).unwrap()
    }

    #[test]
    fn flags_override_the_file_and_inputs_replace_as_a_whole() {
        let mut file = FileConfig::from_toml(
            "tcp = [\"127.0.0.1:1\"]\nudp = [\"127.0.0.1:2\"]\nmax-frame = \"2MiB\"\nformat = \"text\"\npattern = \"%(message)s\"\n",
            Path::new("t.toml"),
        )
        .unwrap();
        let m = matches(&[
            "--unix",
            "/tmp/x.sock",
            "--max-frame",
            "64KiB",
            "--format",
            "json",
        ])
        .unwrap();
        overlay(&m, &mut file).unwrap();
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
        let s = listen(&["--pattern", "%(levelname)s %(message)s"]);
        assert_eq!(
            s.outputs[0].format,
            OutputFormat::Text(TextFormat::new("%(levelname)s %(message)s"))
        );
    }

    #[test]
    fn repeated_and_new_flags_reach_the_settings() {
        let s = listen(&[
            "--pattern",
            "%(user)s %(message)s",
            "--pattern-fields",
            "user",
            "--pattern-fields",
            "ip",
            "--pattern-missing",
            "?",
            "--loggers",
            "app",
            "--exclude-loggers",
            "app.noisy",
            "--max-level",
            "warning",
            "--tcp",
            "127.0.0.1:0",
            "--tcp",
            "[::1]:0",
            "--durable",
            "--utc",
        ]);
        assert!(s.durable);
        assert!(s.outputs[0].rotation.utc);
        assert_eq!(
            s.outputs[0].format,
            OutputFormat::Text(
                TextFormat::new("%(user)s %(message)s")
                    .fields(["user", "ip"])
                    .missing("?")
            )
        );
        assert_eq!(s.outputs[0].filter.loggers, ["app"]);
        assert_eq!(s.outputs[0].filter.exclude_loggers, ["app.noisy"]);
        assert_eq!(s.outputs[0].filter.max_level, Some(30));
        assert_eq!(s.inputs.len(), 2);
    }

    #[test]
    fn collect_takes_the_output_flags_and_its_own() {
        let m = command()
            .try_get_matches_from([
                "tributary",
                "collect",
                "--nats",
                "nats://127.0.0.1:4222",
                "--consumer",
                "c1",
                "--out",
                "all.log",
                "--format",
                "text",
                "--max-bytes",
                "1MiB",
                "--durable",
            ])
            .unwrap();
        let s = collect_settings(m.subcommand_matches("collect").unwrap()).unwrap();
        let c = s.collect.as_ref().unwrap();
        assert_eq!(
            (c.stream.as_str(), c.consumer.as_str()),
            ("TRIBUTARY", "c1")
        );
        assert_eq!(s.outputs[0].path, Path::new("all.log"));
        assert_eq!(s.outputs[0].rotation.max_bytes, Some(1 << 20));
        assert!(s.durable && s.inputs.is_empty());
        let e = command()
            .try_get_matches_from([
                "tributary",
                "collect",
                "--nats",
                "n",
                "--tcp",
                "127.0.0.1:1",
            ])
            .unwrap_err()
            .to_string();
        assert!(e.contains("--tcp"), "{e}");
        let m = command()
            .try_get_matches_from([
                "tributary",
                "collect",
                "--nats",
                "nats://x:4222",
                "--out",
                "-",
                "--durable",
            ])
            .unwrap();
        let e = collect_settings(m.subcommand_matches("collect").unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("--durable") && e.contains("fsynced"), "{e}");
    }

    #[test]
    fn bad_flag_values_are_refused_by_the_parser() {
        let e = matches(&["--max-bytes", "lots"]).unwrap_err().to_string();
        assert!(
            e.contains("--max-bytes") && e.contains("invalid size") && e.contains("10MiB"),
            "{e}"
        );
        let e = matches(&["--when", "weekly"]).unwrap_err().to_string();
        assert!(e.contains("--when") && e.contains("W0..W6"), "{e}");
        let e = matches(&["--compress", "zip"]).unwrap_err().to_string();
        assert!(
            e.contains("--compress") && e.contains("none or gzip"),
            "{e}"
        );
        let e = listen_settings(&matches(&["--max-connections", "0"]).unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("max-connections") && e.contains("at least 1"),
            "{e}"
        );
    }
}
