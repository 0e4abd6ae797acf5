//! `tracing` events with span context, as JSON lines, in one line of setup.
//! Run: `cargo run -p tributary-handlers --example tracing_init`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::temp_dir().join("tributary-tracing-example.log");
    let guard = tributary_handlers::builder().file(&path).json().init()?;
    let span = tracing::info_span!("request", id = 42, user = "ann");
    span.in_scope(|| {
        tracing::info!(elapsed_ms = 12.5, cached = false, "served");
        tracing::warn!(retries = 3u64, "slow backend");
    });
    drop(guard); // drains the queue and flushes the file
    print!("{}", std::fs::read_to_string(&path)?);
    Ok(())
}
