//! `tributary cat` and `tributary tail`: flags to a [`Scan`] over the
//! sources, the summary on stderr.

use std::io::{self, BufWriter, IsTerminal};

use jiff::tz::TimeZone;
use regex::Regex;
use tributary_core::PatternFormatter;

use super::args::{CatArgs, ColorWhen, FilterArgs, OutputArgs, OutputName, TailArgs};
use super::cat::{ReadEnd, read_sources_with};
use super::cursor::Cursor;
use super::error::ReadError;
use super::filter::{FieldTest, Filter, parse_level};
use super::follow::{Follower, POLL};
use super::output::{Output, Pretty, Printer};
use super::scan::Scan;
use super::source::{Source, resolve};
use super::tail::last_records;
use super::wake::Wake;
use super::when::parse_time;

type Out = BufWriter<io::Stdout>;

/// Polls in a row that may fail (5 s at 100 ms) before a follower gives up.
const MAX_FAILURES: u32 = 50;

fn is_stdout(e: &ReadError) -> bool {
    matches!(e, ReadError::Io { path, .. } if path.as_os_str() == "<stdout>")
}

impl FilterArgs {
    /// The filter these flags describe.
    ///
    /// # Errors
    ///
    /// A value that does not parse; the message names the flag.
    pub fn filter(&self) -> Result<Filter, ReadError> {
        let now = jiff::Zoned::now();
        let time = |flag: &str, v: &Option<String>| {
            v.as_deref()
                .map(|t| {
                    parse_time(t, &now).map_err(|e| ReadError::Invalid(format!("--{flag}: {e}")))
                })
                .transpose()
        };
        Ok(Filter {
            min_level: self.level.as_deref().map(parse_level).transpose()?,
            loggers: self.logger.clone(),
            since: time("since", &self.since)?,
            until: time("until", &self.until)?,
            grep: self
                .grep
                .as_deref()
                .map(|g| Regex::new(g).map_err(|e| ReadError::Invalid(format!("--grep: {e}"))))
                .transpose()?,
            fields: self
                .field
                .iter()
                .map(|f| FieldTest::parse(f))
                .collect::<Result<_, _>>()?,
            host: self.host.clone(),
            pid: self.pid,
        })
    }
}

impl OutputArgs {
    /// The output these flags describe, for a stdout that is (or not) a
    /// terminal, with `NO_COLOR` set (or not).
    ///
    /// # Errors
    ///
    /// An invalid `--pattern`.
    pub fn output(&self, terminal: bool, no_color: bool) -> Result<Output, ReadError> {
        let name = match (self.output, &self.pattern) {
            (Some(n), _) => n,
            (None, Some(_)) => OutputName::Text,
            (None, None) if terminal => OutputName::Pretty,
            (None, None) => OutputName::Json,
        };
        Ok(match name {
            OutputName::Pretty => {
                let color = match self.color {
                    ColorWhen::Always => true,
                    ColorWhen::Never => false,
                    ColorWhen::Auto => terminal && !no_color,
                };
                Output::Pretty(Pretty::new(color, TimeZone::system()))
            }
            OutputName::Json => Output::Json,
            OutputName::Raw => Output::Raw,
            OutputName::Text => {
                let template = self.pattern.as_deref().unwrap_or(crate::DEFAULT_PATTERN);
                // A reader cannot know the producers' extra fields in
                // advance: every `%(name)` the template names is allowed
                // (printed `-` on records without it).
                let names: Vec<&str> = template
                    .split("%(")
                    .skip(1)
                    .filter_map(|rest| rest.split_once(')').map(|(name, _)| name))
                    .collect();
                Output::Text(Box::new(
                    PatternFormatter::new_with_fields(template, names)
                        .map_err(|e| ReadError::Invalid(format!("--pattern: {e}")))?,
                ))
            }
        })
    }
}

fn scan(filter: &FilterArgs, output: &OutputArgs) -> Result<Scan<Out>, ReadError> {
    let stdout = io::stdout();
    let terminal = stdout.is_terminal();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let printer = Printer::new(
        output.output(terminal, no_color)?,
        BufWriter::with_capacity(256 * 1024, stdout),
    );
    Ok(Scan::new(filter.filter()?, printer, output.stats))
}

/// What a run leaves for the caller: the exit status (false: something
/// was reported on stderr that the user should look at).
fn finish(
    scan: &mut Scan<Out>,
    end: &ReadEnd,
    cursor_path: Option<&std::path::Path>,
) -> Result<(), ReadError> {
    if let Some(stats) = scan.stats() {
        let text = stats.render();
        scan.printer()
            .text(&text)
            .map_err(super::cat::stdout_error)?;
    }
    scan.printer().flush().map_err(super::cat::stdout_error)?;
    for w in &end.warnings {
        eprintln!("tributary: warning: {w}");
    }
    if let Some(summary) = scan.broken_summary() {
        eprintln!("tributary: {summary}");
    }
    if let (Some(path), Some(c)) = (cursor_path, end.cursor) {
        c.save(path)?;
    }
    Ok(())
}

/// `tributary cat`.
///
/// # Errors
///
/// Bad flags, a missing or unreadable PATH, a cursor that cannot be used,
/// or a failed write to stdout.
pub fn cat(args: &CatArgs) -> Result<(), ReadError> {
    let mut scan = scan(&args.filter, &args.output)?;
    let sources = resolve(&args.paths, io::stdin().is_terminal())?;
    let mut start = None;
    let mut warnings = Vec::new();
    if let Some(path) = &args.output.cursor {
        if sources.contains(&Source::Stdin) {
            return Err(ReadError::Invalid(
                "--cursor needs files: standard input has no position to come back to".into(),
            ));
        }
        if let Some(cursor) = Cursor::load(path)? {
            start = cursor.locate(&sources);
            if start.is_none() {
                warnings.push(format!(
                    "the position saved in {} is in no file any more (deleted by retention?): reading everything",
                    path.display()
                ));
            }
        }
    }
    let hold = args.output.cursor.is_some();
    let mut end = read_sources_with(&mut scan, &sources, start, hold, args.decoders())?;
    end.warnings.splice(0..0, warnings);
    finish(&mut scan, &end, args.output.cursor.as_deref())
}

/// `tributary tail`.
///
/// # Errors
///
/// As [`cat`]; following stops only on an error (or a signal).
pub fn tail(args: &TailArgs) -> Result<(), ReadError> {
    let mut scan = scan(&args.filter, &args.output)?;
    let path = &args.path;
    if path.is_dir() {
        return Err(ReadError::Directory(path.clone()));
    }
    let saved = match &args.output.cursor {
        Some(c) => Cursor::load(c)?,
        None => None,
    };
    // With a saved cursor, start after it instead of at the last N.
    let (file, offset) = match saved {
        Some(cursor) => {
            let sources = resolve(std::slice::from_ref(path), true)?;
            match cursor.locate(&sources) {
                Some((i, offset)) => {
                    let Source::File(p) = &sources[i] else {
                        unreachable!("resolve returns files for a PATH");
                    };
                    let f = std::fs::File::open(p).map_err(|e| ReadError::open(p, e))?;
                    (f, offset)
                }
                None => {
                    eprintln!(
                        "tributary: warning: the cursor's position is in no file any more: starting at the end"
                    );
                    let last = last_records(&scan, path, 0)?;
                    (last.live, last.end)
                }
            }
        }
        None => {
            let last = last_records(&scan, path, args.lines)?;
            for (line, verdict) in last.lines {
                scan.emit(&line, verdict)
                    .map_err(super::cat::stdout_error)?;
            }
            (last.live, last.end)
        }
    };
    let mut follower = Follower::new(path, file, offset)?;
    scan.printer().flush().map_err(super::cat::stdout_error)?;
    if !args.follow {
        if saved.is_some() {
            // Catch up to the end once.
            follower.poll(&mut scan)?;
        }
        let end = ReadEnd {
            cursor: follower.cursor(),
            warnings: follower.take_warnings(),
        };
        return finish(&mut scan, &end, args.output.cursor.as_deref());
    }
    // Between polls, wait for the directory to change (a write, a
    // rotation) rather than for the poll interval to pass: a record is
    // shown as soon as it is written. The poll still decides what happened.
    let mut wake = Wake::new(path);
    // A file system error during a rotation (an archive renamed while
    // listed, a directory briefly unreadable) is retried on the next polls
    // before it ends the follower; a failed write to stdout ends it at once.
    let mut failures = 0;
    loop {
        let progressed = match follower.poll(&mut scan) {
            Ok(p) => {
                failures = 0;
                p
            }
            Err(e @ ReadError::Io { .. }) if !is_stdout(&e) && failures < MAX_FAILURES => {
                if failures == 0 {
                    eprintln!("tributary: warning: {e}; retrying");
                }
                failures += 1;
                std::thread::sleep(POLL);
                continue;
            }
            Err(e) => return Err(e),
        };
        for w in follower.take_warnings() {
            eprintln!("tributary: warning: {w}");
        }
        if progressed {
            scan.printer().flush().map_err(super::cat::stdout_error)?;
            if let (Some(path), Some(c)) = (&args.output.cursor, follower.cursor()) {
                c.save(path)?;
            }
        } else {
            wake.wait(POLL);
        }
    }
}
