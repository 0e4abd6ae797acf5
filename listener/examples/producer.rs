//! A Rust program logging to a running listener, as an application would:
//! records go through a non-blocking `QueueHandler` to
//! `tributary_handlers::net::SocketHandler`, which sends native frames over
//! TCP or a Unix socket (reconnecting and buffering if the listener is
//! away). Start several of these against one `tributary listen` to see
//! many processes land in one file.
//!
//! ```text
//! cargo run --release -p tributary-listener --bin tributary -- listen &
//! cargo run --release -p tributary-listener --example producer -- --tcp 127.0.0.1:9020 --count 100000
//! cargo run --release -p tributary-listener --example producer -- --unix /run/app/log.sock
//! ```
//!
//! `--ack` turns on acknowledged delivery (the producer name is the
//! producer id): records are kept until the listener has written them and
//! sent again after a listener restart, without duplicates.
//!
//! Each record carries the fields `producer` (`--name`, default `rust-PID`)
//! and `n` (0, 1, ...), and `seq` = n, so a reader can check that every
//! record landed exactly once.

use tributary_core::{Level, Record};
use tributary_handlers::QueueListener;
use tributary_handlers::net::SocketHandler;

struct Args {
    handler: SocketHandler,
    name: String,
    count: u64,
}

fn parse() -> Result<Args, String> {
    let mut handler = None;
    let mut name = format!("rust-{}", std::process::id());
    let mut count = 1000u64;
    let mut ack = false;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--tcp" => handler = Some(SocketHandler::tcp(value()?)),
            "--unix" => handler = Some(SocketHandler::unix(value()?)),
            "--name" => name = value()?,
            "--count" => count = value()?.parse().map_err(|e| format!("--count: {e}"))?,
            "--ack" => ack = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let mut handler = handler.ok_or("give --tcp ADDR or --unix PATH")?;
    if ack {
        handler = handler.with_producer_id(name.as_str());
    }
    Ok(Args {
        handler,
        name,
        count,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse().map_err(|e| {
        format!("{e}\nusage: producer (--tcp ADDR | --unix PATH) [--name NAME] [--count N] [--ack]")
    })?;
    let mut queue = QueueListener::builder().handler(args.handler).start()?;
    let log = queue.queue_handler();
    let logger = format!("rust.{}", args.name);
    for n in 0..args.count {
        log.log(
            Record::builder(Level::INFO, format!("record {n} from {}", args.name))
                .logger(logger.as_str())
                .seq(n)
                .field("producer", args.name.as_str())
                .field("n", n)
                .build(),
        );
    }
    // Waits until the socket handler has sent everything queued.
    if !queue.stop() {
        return Err("the listener did not take every record in time".into());
    }
    Ok(())
}
