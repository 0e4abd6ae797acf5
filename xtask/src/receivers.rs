//! Starting the receiving processes: the `tributary` listener, the
//! cookbook's Python receiver and rsyslogd, each writing to one file.

use crate::child::Child;
use crate::plan::{Receiver, Transport};
use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The cookbook's format (its multiprocessing examples, and the listener's
/// default pattern).
pub const COOKBOOK_FORMAT: &str =
    "%(asctime)s %(processName)-10s %(name)s %(levelname)-8s %(message)s";

/// Where the programs are.
#[derive(Clone, Debug)]
pub struct Programs {
    /// The `tributary` binary (release build).
    pub tributary: PathBuf,
    /// This xtask binary (for `xtask produce`, `inproc`, `limit`).
    pub xtask: PathBuf,
    /// `bench/` with the Python scripts.
    pub bench: PathBuf,
}

/// Where producers send.
#[derive(Clone, Debug)]
pub enum Address {
    /// `host:port`.
    Tcp(String),
    /// A Unix socket path.
    Unix(PathBuf),
}

/// Starts `receiver` writing `out` and returns it once it accepts connections.
pub fn start(
    programs: &Programs,
    receiver: Receiver,
    transport: Transport,
    dir: &Path,
    out: &Path,
) -> anyhow::Result<(Child, Address)> {
    match receiver {
        Receiver::Tributary {
            text,
            rotate,
            durable,
        } => {
            let mut cmd = Command::new(&programs.tributary);
            cmd.arg("listen");
            match transport {
                Transport::Tcp => cmd.args(["--tcp", "127.0.0.1:0"]),
                Transport::Unix => cmd.arg("--unix").arg(dir.join("in.sock")),
                Transport::Http => cmd.args(["--http", "127.0.0.1:0"]),
            };
            cmd.arg("--out").arg(out);
            if text {
                cmd.args(["--format", "text", "--pattern", COOKBOOK_FORMAT]);
            } else {
                cmd.args(["--format", "json"]);
            }
            if rotate {
                cmd.args(["--max-bytes", "1MiB", "--compress", "gzip"]);
            }
            if durable {
                cmd.arg("--durable");
            }
            cmd.args(["--drain-timeout", "120s"]);
            let (child, line) = Child::spawn_ready(&mut cmd, "tributary", dir)?;
            Ok((child, parse_ready(&line)?))
        }
        Receiver::Cookbook => {
            let mut cmd = Command::new("python3");
            cmd.arg(programs.bench.join("cookbook_receiver.py"))
                .args(["--port", "0", "--out"])
                .arg(out);
            let (child, line) = Child::spawn_ready(&mut cmd, "cookbook receiver", dir)?;
            Ok((child, parse_ready(&line)?))
        }
        Receiver::Rsyslog => start_rsyslog(dir, out),
    }
}

/// `listening tcp 127.0.0.1:PORT` or `listening unix PATH`.
fn parse_ready(line: &str) -> anyhow::Result<Address> {
    match line.split_once(' ').map(|(_, rest)| rest.split_once(' ')) {
        // The HTTP client connects by TCP too.
        Some(Some(("tcp" | "http", addr))) => Ok(Address::Tcp(addr.to_string())),
        Some(Some(("unix", path))) => Ok(Address::Unix(PathBuf::from(path))),
        _ => bail!("unexpected readiness line {line:?}"),
    }
}

/// rsyslogd in the foreground with its own config: `imtcp` on a free
/// loopback port, `omfile` writing each message as one JSON line shaped like
/// the listener's (time, level, logger, message, host, pid, the fields as
/// structured data) through a 64 KiB buffer, flushed at the end of each
/// batch (the same durability as the listener).
fn start_rsyslog(dir: &Path, out: &Path) -> anyhow::Result<(Child, Address)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let conf = dir.join("rsyslog.conf");
    let text = format!(
        r#"global(workDirectory="{dir}")
module(load="imtcp")
template(name="benchjson" type="list") {{
  constant(value="{{\"ts\":\"")
  property(name="timereported" dateFormat="rfc3339")
  constant(value="\",\"level\":\"")
  property(name="syslogseverity-text" caseConversion="upper")
  constant(value="\",\"levelno\":20,\"logger\":\"")
  property(name="app-name" format="json")
  constant(value="\",\"msg\":\"")
  property(name="msg" format="json" droplastlf="on")
  constant(value="\",\"host\":\"")
  property(name="hostname" format="json")
  constant(value="\",\"pid\":")
  property(name="procid")
  constant(value=",\"fields\":\"")
  property(name="structured-data" format="json")
  constant(value="\"}}\n")
}}
input(type="imtcp" address="127.0.0.1" port="{port}")
*.* action(type="omfile" file="{out}" template="benchjson" ioBufferSize="64k" flushOnTXEnd="on" asyncWriting="off")
"#,
        dir = dir.display(),
        out = out.display()
    );
    std::fs::write(&conf, text).context("cannot write rsyslog.conf")?;
    let mut cmd = Command::new("rsyslogd");
    cmd.arg("-n")
        .arg("-f")
        .arg(&conf)
        .arg("-i")
        .arg(dir.join("rsyslogd.pid"));
    let child = Child::spawn(&mut cmd, "rsyslogd", dir)?;
    let addr = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(&addr).is_err() {
        if Instant::now() > deadline {
            bail!(
                "rsyslogd did not listen on {addr} within 10 s: {}",
                child.stderr_tail()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((child, Address::Tcp(addr)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_lines_give_the_address() {
        assert!(
            matches!(parse_ready("listening tcp 127.0.0.1:4567").unwrap(), Address::Tcp(a) if a == "127.0.0.1:4567")
        );
        assert!(
            matches!(parse_ready("listening unix /tmp/a b.sock").unwrap(), Address::Unix(p) if p == Path::new("/tmp/a b.sock"))
        );
        assert!(parse_ready("listening").is_err());
    }
}
