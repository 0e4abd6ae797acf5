//! `tributary check-config FILE`: the file checked as a start-up would
//! check it, and the settings in effect printed as a config file, every
//! key with its value (defaults filled in), made from the setting
//! definitions (`defs`), so a new setting shows up without more code.

use super::defs::{self, Scope, Show};
use super::{ConfigError, FileConfig, OUTPUT_FILE, OUTPUTS};
use crate::ListenerError;
use crate::settings::Settings;
use std::fmt::Write;
use std::path::Path;

/// Why a config file does not pass `check-config`.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// A key, value or combination is refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A text pattern that would not compile.
    #[error(transparent)]
    Listener(#[from] ListenerError),
}

/// Reads and checks `path` (every value, and each output's pattern) and
/// returns the settings in effect as TOML.
pub fn check_file(path: &Path) -> Result<String, CheckError> {
    let settings = FileConfig::load(path)?.into_settings()?;
    crate::pipeline::Encoder::new(&settings.effective_outputs())?;
    Ok(effective_toml(&settings, path))
}

/// The settings as a config file that gives them: listener-wide keys at
/// the top, every output as an `[[output]]` table with all its keys.
pub fn effective_toml(settings: &Settings, source: &Path) -> String {
    let mut out = format!(
        "# The settings in effect from {}, defaults filled in: every key with its\n\
         # value (a commented key has no value: its default is none).\n",
        source.display()
    );
    for s in defs::SETTINGS {
        if matches!(s.scope, Scope::Output | Scope::Route) {
            continue;
        }
        if let Show::Listener(show) = s.show {
            line(&mut out, s, show(settings));
        }
    }
    for output in settings.effective_outputs() {
        out.push_str(&format!("\n[[{OUTPUTS}]]\n"));
        let file = output.path.display().to_string();
        out.push_str(&format!("{OUTPUT_FILE} = {}\n", toml::Value::String(file)));
        for s in defs::SETTINGS {
            if let Show::Output(show) = s.show {
                line(&mut out, s, show(&output));
            }
        }
    }
    out
}

fn line(out: &mut String, s: &defs::Setting, value: Option<String>) {
    let _ = match value {
        Some(v) => writeln!(out, "{} = {v}", s.name),
        None => writeln!(out, "# {} =", s.name),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Settings {
        FileConfig::from_toml(text, Path::new("t.toml"))
            .unwrap()
            .into_settings()
            .unwrap()
    }

    /// What the listener runs with, whatever the file named or left out.
    fn in_effect(s: &Settings) -> String {
        let mut s = s.clone();
        s.inputs = s.effective_inputs();
        s.outputs = s.effective_outputs();
        format!("{s:?}")
    }

    /// Printed, then read back: the same settings, for the defaults and
    /// for every setting's sample value (each of which differs from its
    /// default), so every key's shown value is one that sets it.
    #[test]
    fn the_effective_settings_read_back_as_themselves() {
        let mut files = vec![
            String::new(),
            "format = \"text\"\nmax-bytes = \"1MiB\"\nwhen = \"midnight\"\n[[output]]\nfile = \"e.log\"\nlevel = \"ERROR\"\nloggers = [\"a\", \"b\"]\n".to_owned(),
        ];
        for s in defs::SETTINGS {
            let quoted = format!("{:?}", s.sample);
            let line = match s.form {
                defs::Form::Switch => format!("{} = true\n", s.name),
                defs::Form::Value(_) => format!("{} = {quoted}\n", s.name),
                defs::Form::Repeated(_) => format!("{} = [{quoted}]\n", s.name),
            };
            let mut text = line;
            if s.name.starts_with("tls-") || s.name == "producer-ids-from-cert" {
                text.push_str(
                    "tls-cert = \"c.pem\"\ntls-key = \"k.pem\"\ntls-client-ca = \"ca.pem\"\n",
                );
                if s.name == "tls-cert" || s.name == "tls-key" || s.name == "tls-client-ca" {
                    text =
                        "tls-cert = \"c.pem\"\ntls-key = \"k.pem\"\ntls-client-ca = \"ca.pem\"\n"
                            .into();
                }
            }
            if s.name.starts_with("forward-") && s.name != "forward-nats" || s.name == "host-id" {
                text.push_str("forward-nats = [\"nats://127.0.0.1:4222\"]\n");
            }
            if s.name.starts_with("pattern") || s.name == "text-escape-newlines" {
                text.push_str("format = \"text\"\n");
            }
            files.push(text);
        }
        let mut checked = 0;
        let total = files.len();
        for file in files {
            let Ok(config) = FileConfig::from_toml(&file, Path::new("t.toml")) else {
                panic!("sample refused: {file}");
            };
            let Ok(settings) = config.into_settings() else {
                continue; // a sample that needs others (checked elsewhere)
            };
            let shown = effective_toml(&settings, Path::new("t.toml"));
            let back = parse(&shown);
            assert_eq!(
                in_effect(&back),
                in_effect(&settings),
                "{file}\nshown:\n{shown}"
            );
            checked += 1;
        }
        // Only samples that need a companion not given here are skipped.
        assert!(checked + 3 >= total, "{checked} of {total} checked");
    }
}
