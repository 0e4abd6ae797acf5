//! lnav in s12: a log format definition for the listener's native JSON
//! lines, installed in a home directory of the bench's own (the user's
//! lnav configuration is never read or touched), and the headless command
//! that filters with it.
//!
//! Without a format lnav shows JSON lines as plain text, one file at a
//! time, so a live file and its archives would not be merged; with one it
//! parses every line as JSON (as it would for any structured log), merges
//! the files by time, decompresses the gzip archives, and prints one line
//! per record (`hide-extra`: only `line-format`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// lnav's format for the native profile: time, level, logger, message.
const FORMAT: &str = r#"{
  "$schema": "https://lnav.org/schemas/format-v1.schema.json",
  "tributary_json": {
    "title": "Tributary JSON lines",
    "description": "The native JSON profile the tributary listener writes",
    "json": true,
    "hide-extra": true,
    "timestamp-field": "ts",
    "level-field": "level",
    "body-field": "msg",
    "level": {
      "critical": "CRITICAL",
      "error": "ERROR",
      "warning": "WARNING",
      "info": "INFO",
      "debug": "DEBUG",
      "trace": "TRACE"
    },
    "line-format": [
      { "field": "__timestamp__" }, " ",
      { "field": "level" }, " ",
      { "field": "logger" }, " ",
      { "field": "msg" }
    ],
    "value": {
      "level": { "kind": "string" },
      "logger": { "kind": "string", "identifier": true },
      "msg": { "kind": "string" }
    }
  }
}
"#;

/// The regular expression lnav filters in with: the level as `line-format`
/// prints it (no message of the bench's records contains it).
pub const FILTER: &str = " ERROR ";

/// Writes the format under `work/lnav-home` and returns that home.
///
/// # Errors
///
/// The directory or file cannot be written.
pub fn install_format(work: &Path) -> std::io::Result<PathBuf> {
    let home = work.join("lnav-home");
    let formats = home.join(".lnav/formats/installed");
    std::fs::create_dir_all(&formats)?;
    std::fs::write(formats.join("tributary_json.json"), FORMAT)?;
    Ok(home)
}

/// `lnav -n -c ':filter-in  ERROR '` over `files`, with `home`'s format.
pub fn command(home: &Path, files: &[PathBuf]) -> Command {
    let mut cmd = Command::new("lnav");
    cmd.env("HOME", home)
        .env_remove("XDG_CONFIG_HOME")
        .args(["-n", "-c", &format!(":filter-in {FILTER}")])
        .args(files);
    cmd
}
