//! One output as configured (the top level's, or an `[[output]]` table),
//! and how it resolves into an [`OutputSpec`]: format and rotation keys it
//! leaves out are inherited from the top level, filters never are.

use super::{ConfigError, invalid};
use crate::RouteFilter;
use crate::settings::{
    DEFAULT_MISSING, DEFAULT_PATTERN, OutputFormat, OutputSpec, RotationSpec, TextFormat,
};
use std::path::PathBuf;
use tributary_core::JsonProfile;
use tributary_rotation::{Compression, When};

/// `format`: how an output renders records, before its companions
/// (`json-profile`, `pattern`) are resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FormatName {
    /// JSON lines.
    Json,
    /// Text through a Python `%`-style pattern.
    Text,
}

impl std::str::FromStr for FormatName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        super::raw::one_of(
            s,
            "format",
            &[("json", FormatName::Json), ("text", FormatName::Text)],
        )
    }
}

/// An output's keys as given; every one optional.
#[derive(Clone, Debug, Default)]
pub(crate) struct OutputDraft {
    pub(crate) file: Option<PathBuf>,
    pub(crate) format: Option<FormatName>,
    pub(crate) json_profile: Option<JsonProfile>,
    pub(crate) pattern: Option<String>,
    pub(crate) pattern_fields: Option<Vec<String>>,
    pub(crate) pattern_missing: Option<String>,
    pub(crate) text_escape_newlines: Option<bool>,
    pub(crate) max_bytes: Option<u64>,
    pub(crate) when: Option<When>,
    pub(crate) interval: Option<u32>,
    pub(crate) utc: Option<bool>,
    pub(crate) backup_count: Option<u32>,
    pub(crate) compress: Option<Compression>,
    pub(crate) level: Option<i32>,
    pub(crate) max_level: Option<i32>,
    pub(crate) loggers: Option<Vec<String>>,
    pub(crate) exclude_loggers: Option<Vec<String>>,
}

impl OutputDraft {
    /// The output, inheriting format and rotation keys from `parent` (the
    /// top level) where unset; `prefix` names the table in messages.
    pub(crate) fn resolve(
        &self,
        prefix: &str,
        parent: Option<&OutputDraft>,
    ) -> Result<OutputSpec, ConfigError> {
        let t = self;
        let key = |k: &str| format!("{prefix}{k}");
        if t.format == Some(FormatName::Json) && t.pattern.is_some() {
            return Err(invalid(
                key("pattern"),
                "a pattern applies to format \"text\", but format is \"json\"",
            ));
        }
        if t.format == Some(FormatName::Text) && t.json_profile.is_some() {
            return Err(invalid(
                key("json-profile"),
                "a JSON profile applies to format \"json\", but format is \"text\"",
            ));
        }
        fn inherit<T: Clone>(
            own: &Option<T>,
            parent: Option<&OutputDraft>,
            field: fn(&OutputDraft) -> &Option<T>,
        ) -> Option<T> {
            own.clone()
                .or_else(|| parent.and_then(|p| field(p).clone()))
        }
        let pattern = inherit(&t.pattern, parent, |p| &p.pattern);
        // A pattern on its own table implies text; otherwise the format inherits.
        let format = t
            .format
            .or(t.pattern.as_ref().map(|_| FormatName::Text))
            .or(parent.and_then(|p| p.format.or(p.pattern.as_ref().map(|_| FormatName::Text))))
            .unwrap_or(FormatName::Json);
        let format = match format {
            FormatName::Json => OutputFormat::Json(
                inherit(&t.json_profile, parent, |p| &p.json_profile)
                    .unwrap_or(JsonProfile::Native),
            ),
            FormatName::Text => OutputFormat::Text(TextFormat {
                pattern: pattern.unwrap_or_else(|| DEFAULT_PATTERN.to_owned()),
                fields: inherit(&t.pattern_fields, parent, |p| &p.pattern_fields)
                    .unwrap_or_default(),
                missing: inherit(&t.pattern_missing, parent, |p| &p.pattern_missing)
                    .unwrap_or_else(|| DEFAULT_MISSING.to_owned()),
                escape_newlines: inherit(&t.text_escape_newlines, parent, |p| {
                    &p.text_escape_newlines
                })
                .unwrap_or(false),
            }),
        };
        let rotation = RotationSpec {
            max_bytes: inherit(&t.max_bytes, parent, |p| &p.max_bytes),
            when: inherit(&t.when, parent, |p| &p.when),
            interval: inherit(&t.interval, parent, |p| &p.interval),
            utc: inherit(&t.utc, parent, |p| &p.utc).unwrap_or(false),
            backup_count: inherit(&t.backup_count, parent, |p| &p.backup_count),
            compress: inherit(&t.compress, parent, |p| &p.compress).unwrap_or_default(),
        };
        let filter = RouteFilter {
            min_level: t.level,
            max_level: t.max_level,
            loggers: t.loggers.clone().unwrap_or_default(),
            exclude_loggers: t.exclude_loggers.clone().unwrap_or_default(),
        };
        let spec = OutputSpec {
            path: t.file.clone().unwrap_or_default(),
            format,
            rotation,
            filter,
        };
        spec.check().map_err(|(k, reason)| {
            let k = if k == "file" && prefix.is_empty() {
                "out"
            } else {
                k
            };
            invalid(key(k), reason)
        })?;
        Ok(spec)
    }
}
