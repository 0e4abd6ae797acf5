//! Four threads log through a queue into one file; errors also go to
//! stderr. Run: `cargo run -p tributary-handlers --example queue_to_file`.

use tributary_core::{Level, Record};
use tributary_handlers::filter::{Context, LevelRange};
use tributary_handlers::{FileHandler, QueueListener, StreamHandler};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::temp_dir().join("tributary-example.log");
    let listener = QueueListener::builder()
        .handler(FileHandler::append(&path)?.with_filter(Context::new().field("app", "example")))
        .handler(StreamHandler::stderr().with_filter(LevelRange::at_least(Level::ERROR)))
        .start()?;
    std::thread::scope(|s| {
        for worker in 0..4 {
            let queue = listener.queue_handler();
            s.spawn(move || {
                for i in 0..1000 {
                    let level = if i == 999 { Level::ERROR } else { Level::INFO };
                    queue.log(
                        Record::builder(level, format!("step {i}"))
                            .logger("example.worker")
                            .field("worker", worker)
                            .build(),
                    );
                }
            });
        }
    });
    let stats = listener.stats();
    drop(listener); // drains and flushes
    let lines = std::fs::read_to_string(&path)?.lines().count();
    println!(
        "{} records in {} ({} dropped)",
        lines,
        path.display(),
        stats.dropped
    );
    Ok(())
}
