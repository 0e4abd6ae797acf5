//! Test helpers: an in-memory handler and field extraction.
#![allow(dead_code, clippy::unwrap_used)]

use std::io;
use std::sync::{Arc, Mutex};
use tributary_core::{Formatter, JsonFormatter, Level, Record, Value};
use tributary_handlers::Handler;

/// A handler keeping every record it gets, optionally held at a gate
/// until the test opens it. With `taking_lines`, it asks producers to format
/// (like a file handler) and decodes the lines it gets back into records.
#[derive(Clone, Default)]
pub struct Collect {
    pub records: Arc<Mutex<Vec<Record>>>,
    pub gate: Option<Arc<(Mutex<bool>, std::sync::Condvar)>>,
    pub level: Option<Level>,
    pub lines: Option<Arc<dyn Formatter>>,
}

impl Collect {
    pub fn gated() -> Collect {
        Collect {
            gate: Some(Arc::new((Mutex::new(false), std::sync::Condvar::new()))),
            ..Collect::default()
        }
    }

    pub fn taking_lines(mut self) -> Collect {
        self.lines = Some(Arc::new(JsonFormatter::native()));
        self
    }

    fn wait_for_gate(&self) {
        if let Some(g) = &self.gate {
            let mut open = g.0.lock().unwrap();
            while !*open {
                open = g.1.wait(open).unwrap();
            }
        }
    }

    pub fn open_gate(&self) {
        if let Some(g) = &self.gate {
            *g.0.lock().unwrap() = true;
            g.1.notify_all();
        }
    }

    pub fn taken(&self) -> Vec<Record> {
        self.records.lock().unwrap().clone()
    }
}

impl Handler for Collect {
    fn name(&self) -> String {
        "collect".into()
    }
    fn level(&self) -> Level {
        self.level.clone().unwrap_or(Level::NOTSET)
    }
    fn handle(&mut self, record: &Record) -> io::Result<()> {
        self.wait_for_gate();
        self.records.lock().unwrap().push(record.clone());
        Ok(())
    }
    fn line_formatter(&self) -> Option<Arc<dyn Formatter>> {
        self.lines.clone()
    }
    fn handle_formatted(&mut self, line: &[u8]) -> io::Result<()> {
        self.wait_for_gate();
        let json = line
            .strip_suffix(b"\n")
            .expect("a line ends with a newline");
        let record = tributary_core::decode_json(json).unwrap();
        self.records.lock().unwrap().push(record);
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub fn int(record: &Record, key: &str) -> i64 {
    record
        .fields
        .get(key)
        .and_then(Value::as_i64)
        .unwrap_or_else(|| panic!("no int field {key} in {record:?}"))
}

/// The integer after `"key":` in a JSON line, without a full parse (fast
/// in debug builds).
pub fn int_after(line: &str, key: &str) -> Option<i64> {
    let pat = format!("\"{key}\":");
    let at = line.find(&pat)? + pat.len();
    let digits: String = line[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-')
        .collect();
    digits.parse().ok()
}
