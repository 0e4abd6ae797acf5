//! Reading logs back: `tributary cat` and `tributary tail [-f]`.
//!
//! A PATH that is a live log (`logs/app.log`) means its archives, in every
//! naming the rotation crate writes, oldest first (found by
//! [`tributary_rotation::find_archives`]), then the live file; gzip
//! archives are decoded whole (every member). Each line goes through a
//! [`Scan`]: the native prefix (`{"ts":…,"level":…,"levelno":N,`) answers
//! level and time filters without decoding; other filters decode the line
//! with [`tributary_core::decode_json`]. A line that is not a record
//! (invalid JSON or UTF-8, cut by a crash) is shown marked and counted.
//!
//! Positions ([`Cursor`]) are a file identity, an offset and the hash of the
//! line before it, so a run resumes exactly after the last line it read,
//! even after that file was renamed, gzipped or copied. A [`Follower`]
//! polls the live path's identity and size and follows rename, re-create
//! and copy-truncate rotation, reading the archives made between two polls;
//! between polls it waits on [`Wake`] (inotify on the directory), so a
//! record is shown as it is written rather than at the next poll.
//!
//! ```
//! use std::io::Write;
//! use tributary_listener::read::{Filter, Output, Printer, Scan, Source, read_sources};
//!
//! let dir = tempfile::tempdir()?;
//! let log = dir.path().join("app.log");
//! std::fs::write(dir.path().join("app.log.1"), "{\"msg\":\"old\",\"levelno\":40}\n")?;
//! std::fs::write(&log, "{\"msg\":\"new\",\"levelno\":20}\n")?;
//! let sources = tributary_listener::read::resolve(&[log], true)?;
//! assert_eq!(sources.len(), 2, "the archive, then the live file");
//! let mut scan = Scan::new(Filter::default(), Printer::new(Output::Raw, Vec::new()), false);
//! read_sources(&mut scan, &sources, None, false)?;
//! assert_eq!(scan.shown(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod args;
mod cat;
mod command;
mod cursor;
mod error;
mod filter;
mod follow;
mod lines;
mod output;
mod position;
mod prefetch;
mod prefix;
mod profiles;
mod scan;
mod source;
mod stats;
mod tail;
mod text;
mod wake;
mod when;

pub use args::{
    CatArgs, ColorWhen, FilterArgs, OutputArgs, OutputName, TailArgs, cat_command, run_subcommand,
    tail_command,
};
pub use cat::{ReadEnd, read_sources, read_sources_with};
pub use command::{cat, tail};
pub use cursor::Cursor;
pub use error::ReadError;
pub use filter::{FieldTest, Filter, Quick, parse_level};
pub use follow::{Follower, POLL};
pub use lines::{Line, LineReader, MAX_LINE};
pub use output::{Broken, Output, Pretty, Printer};
pub use position::{FileId, line_hash};
pub use prefix::{Prefix, native_prefix};
pub use scan::{Scan, Verdict};
pub use source::{Source, open_file, resolve};
pub use stats::Stats;
pub use tail::{Last, last_records};
pub use wake::Wake;
pub use when::parse_time;
