//! Embeds the listener in a program on its own thread (the cookbook's
//! "dedicate one thread in one of the existing processes"), has four
//! producer threads log to it over TCP with native frames, and reports the
//! end-to-end rate.
//!
//! ```text
//! cargo run --release -p tributary-listener --example embed -- [RECORDS_PER_PRODUCER]
//! ```

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};
use tributary_core::{JsonFormatter, Level, Record, frame};
use tributary_listener::{Listener, OutputSpec};

const PRODUCERS: u64 = 4;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let per_producer: u64 = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 250_000,
    };
    let dir = std::env::temp_dir().join(format!("tributary-embed-{}", std::process::id()));
    let log = dir.join("app.log");
    let listener = Listener::builder()
        .tcp("127.0.0.1:0")
        .output(OutputSpec::file(&log))
        .spawn()?;
    let addr = listener.bound()[0].socket_addr().ok_or("no TCP input")?;
    println!("listening {}", listener.bound()[0]);

    let start = Instant::now();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            std::thread::spawn(move || -> std::io::Result<()> {
                let mut socket = TcpStream::connect(addr)?;
                let json = JsonFormatter::native();
                let mut wire = Vec::with_capacity(256 * 1024);
                for n in 0..per_producer {
                    let record = Record::builder(Level::INFO, "request served")
                        .logger(format!("app.worker{p}"))
                        .pid(std::process::id())
                        .seq(n)
                        .field("status", 200)
                        .field("path", "/index.html")
                        .build();
                    frame::encode_record(&record, &json, &mut wire)
                        .map_err(std::io::Error::other)?;
                    if wire.len() >= 200 * 1024 {
                        socket.write_all(&wire)?;
                        wire.clear();
                    }
                }
                socket.write_all(&wire)
            })
        })
        .collect();
    for p in producers {
        p.join().map_err(|_| "producer panicked")??;
    }
    let total = PRODUCERS * per_producer;
    while listener.stats().writer.records < total {
        std::thread::sleep(Duration::from_millis(1));
    }
    let elapsed = start.elapsed();
    let summary = listener.shutdown()?;
    println!(
        "{total} records from {PRODUCERS} producers in {:.2}s: {:.0} records/s written to {}",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        log.display()
    );
    println!("{summary}");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
