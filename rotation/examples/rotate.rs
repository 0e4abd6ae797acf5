//! Writes numbered lines through a rotating file with gzip, then lists what
//! was produced.
//!
//! ```text
//! cargo run -p tributary-rotation --example rotate -- /tmp/rotate-demo 200000
//! ```

use std::error::Error;
use std::path::PathBuf;

use tributary_rotation::{Compression, RotatingFile, When};

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "rotate-demo".into()));
    let lines: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(100_000);

    let mut log = RotatingFile::builder(dir.join("app.log"))
        .max_bytes(256 * 1024)
        .when(When::Midnight)
        .backup_count(5)
        .compression(Compression::gzip())
        .on_error(|e| eprintln!("rotation: {e}"))
        .open()?;
    for i in 0..lines {
        log.write_record(format!("{{\"seq\":{i},\"msg\":\"hello from the demo\"}}\n").as_bytes())?;
    }
    for e in log.close()? {
        eprintln!("background: {e}");
    }

    let mut entries: Vec<_> = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .map(|e| (e.file_name(), e.metadata().map(|m| m.len()).unwrap_or(0)))
        .collect();
    entries.sort();
    for (name, len) in entries {
        println!("{:>10}  {}", len, name.to_string_lossy());
    }
    Ok(())
}
