//! The flags of `tributary cat` and `tributary tail`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Filters shared by `cat` and `tail` (all must hold).
#[derive(Debug, Default, Clone, Args)]
pub struct FilterArgs {
    /// Only records at this level or above (TRACE, DEBUG, INFO, WARNING,
    /// ERROR, CRITICAL, or a number).
    #[arg(short = 'l', long, value_name = "LEVEL")]
    pub level: Option<String>,
    /// Only this logger and its children (`app` takes `app.db` and Rust's
    /// `app::db`); repeat for several.
    #[arg(long, value_name = "NAME")]
    pub logger: Vec<String>,
    /// Only records at or after this time: RFC 3339, a date, a local time
    /// (2026-12-06 10:00), an age (10m, 2h, 3d), today, yesterday.
    #[arg(short = 'S', long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only records at or before this time (same forms as --since).
    #[arg(short = 'U', long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only records whose message matches this regular expression.
    #[arg(short = 'g', long, value_name = "REGEX")]
    pub grep: Option<String>,
    /// A test on a field: KEY=VALUE, KEY>N or KEY<N (repeatable, all must hold).
    #[arg(long, value_name = "TEST")]
    pub field: Vec<String>,
    /// Only records from this host.
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// Only records from this process id.
    #[arg(long, value_name = "PID")]
    pub pid: Option<u32>,
}

/// Output flags shared by `cat` and `tail`.
#[derive(Debug, Default, Clone, Args)]
pub struct OutputArgs {
    /// Output format [default: pretty on a terminal, json otherwise].
    #[arg(short = 'o', long, value_enum)]
    pub output: Option<OutputName>,
    /// Python logging template for `-o text` (implies it).
    #[arg(long, value_name = "TEMPLATE")]
    pub pattern: Option<String>,
    /// Colors in `-o pretty` (auto: on a terminal, unless NO_COLOR is set).
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
    /// Counts per level and logger, first and last time and records per
    /// second, instead of the records.
    #[arg(long)]
    pub stats: bool,
    /// Resume after where the last run with this cursor file stopped, and
    /// save where this one stops (created if missing).
    #[arg(long, value_name = "FILE")]
    pub cursor: Option<PathBuf>,
}

/// `-o` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputName {
    /// For people: local time, colored level, logger, message, fields.
    Pretty,
    /// The lines as they are.
    Json,
    /// A Python logging template (--pattern).
    Text,
    /// The message only.
    Raw,
}

/// `--color` values.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// `tributary cat` flags.
#[derive(Debug, Default, Clone, Args)]
pub struct CatArgs {
    /// Live logs (their rotated archives are read first, oldest first),
    /// archives, globs, or `-` for stdin [default: stdin when it is a pipe].
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Filters.
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Archives read at once (gzip ones decoded), each on its own thread
    /// ahead of the one that prints; 1 reads every archive on that one
    /// thread, in turn [default: the number of cores].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

impl CatArgs {
    /// The readers ahead `--threads` asks for, or one per core.
    pub fn decoders(&self) -> usize {
        self.threads.map_or_else(
            || std::thread::available_parallelism().map_or(1, |n| n.get()),
            usize::from,
        )
    }
}

/// `tributary tail` flags.
#[derive(Debug, Clone, Args)]
pub struct TailArgs {
    /// The live log.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// How many records (those passing the filters), from the end.
    #[arg(short = 'n', long, value_name = "N", default_value_t = 10)]
    pub lines: usize,
    /// Keep reading as records are written, across rotations.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Filters.
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

const CAT_ABOUT: &str = "Print logs: a live log's rotated archives (oldest first, gzip decoded) \
                         then the file itself, filtered";
const TAIL_ABOUT: &str = "Print the last records of a live log; with -f, keep following it \
                          across rotations";

/// `tributary cat` as a clap command, for a command line built with
/// clap's builder.
pub fn cat_command() -> clap::Command {
    CatArgs::augment_args(clap::Command::new("cat").about(CAT_ABOUT))
}

/// `tributary tail` as a clap command, for a command line built with
/// clap's builder.
pub fn tail_command() -> clap::Command {
    TailArgs::augment_args(clap::Command::new("tail").about(TAIL_ABOUT))
}

/// Runs subcommand `name` (`cat` or `tail`) from its parsed flags; `None`
/// for another name.
pub fn run_subcommand(
    name: &str,
    matches: &clap::ArgMatches,
) -> Option<Result<(), super::ReadError>> {
    use clap::FromArgMatches;
    let invalid = |e: clap::Error| super::ReadError::Invalid(e.to_string());
    Some(match name {
        "cat" => CatArgs::from_arg_matches(matches)
            .map_err(invalid)
            .and_then(|a| super::cat(&a)),
        "tail" => TailArgs::from_arg_matches(matches)
            .map_err(invalid)
            .and_then(|a| super::tail(&a)),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_commands_parse_the_same_flags() {
        let m = cat_command()
            .try_get_matches_from([
                "cat", "-l", "ERROR", "--logger", "a", "--logger", "b", "x.log",
            ])
            .unwrap();
        let a = <CatArgs as clap::FromArgMatches>::from_arg_matches(&m).unwrap();
        assert_eq!(a.filter.level.as_deref(), Some("ERROR"));
        assert_eq!(a.threads, None);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(a.decoders(), cores);
        assert_eq!(a.filter.logger, ["a", "b"]);
        assert_eq!(a.paths, [PathBuf::from("x.log")]);
        let m = tail_command()
            .try_get_matches_from(["tail", "-n", "3", "-f", "x.log"])
            .unwrap();
        let t = <TailArgs as clap::FromArgMatches>::from_arg_matches(&m).unwrap();
        assert_eq!((t.lines, t.follow), (3, true));
    }

    #[test]
    fn threads_is_at_least_one() {
        let m = cat_command()
            .try_get_matches_from(["cat", "--threads", "1", "x.log"])
            .unwrap();
        let a = <CatArgs as clap::FromArgMatches>::from_arg_matches(&m).unwrap();
        assert_eq!(a.decoders(), 1);
        assert!(
            cat_command()
                .try_get_matches_from(["cat", "--threads", "0", "x.log"])
                .is_err(),
            "--threads 0 was accepted"
        );
    }
}
