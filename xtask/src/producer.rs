//! `xtask produce`: one Rust producer process. The bench starts N of them;
//! each logs the bench's record shape to a receiver and prints its report.

use crate::histogram::Histogram;
use crate::procstat::{self, self_usage, wall_ns};
use crate::report::{ProducerReport, Report};
use crate::shape;
use anyhow::{Context, bail};
use std::io::{BufWriter, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Instant;

/// How the producer talks to the receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Client {
    /// tributary-handlers: a `QueueHandler` in front of a `SocketHandler`,
    /// as an application would set it up. The calling thread pays for
    /// building the record and one channel send.
    Handler,
    /// Native frames (`tributary_core::frame::encode_record`) written to a
    /// 64 KiB buffered socket on the calling thread: the wire format without
    /// the handler machinery.
    Raw,
    /// RFC 5424 syslog lines, newline-framed, for rsyslog's `imtcp`.
    Syslog,
    /// [`Client::Syslog`]'s messages with RFC 6587 octet counting
    /// (`LEN SP MSG`, no newline), for rsyslog's `imtcp` and the
    /// listener's `--syslog-tcp`.
    #[value(name = "syslog-octet")]
    SyslogOctet,
    /// [`Client::Handler`] with `SocketHandler::acknowledged()`: records
    /// kept until the listener acknowledges them (docs/protocol.md).
    Acked,
    /// A foreign producer's JSON, as any language's JSON library writes
    /// a log struct: keys in alphabetical order (`fields` first, `ts`
    /// last; 4 fields, as `serde_json::json!` would order them too),
    /// length-prefixed frames.
    Foreign,
    /// [`Client::Foreign`]'s records as NDJSON lines.
    #[value(name = "foreign-lines")]
    ForeignLines,
    /// [`Client::ForeignLines`] POSTed to the HTTP input's `/log` in
    /// batches of [`HTTP_BATCH`] records on one keep-alive connection,
    /// each answered before the next is sent (as a log shipper does).
    #[value(name = "http-ndjson")]
    HttpNdjson,
}

/// Records per HTTP request of [`Client::HttpNdjson`].
pub const HTTP_BATCH: u64 = 1000;

/// Arguments of `xtask produce`.
#[derive(Debug, clap::Args)]
pub struct ProduceArgs {
    /// Producer number: messages read `p<ID> #<seq>`.
    #[arg(long)]
    pub id: usize,
    /// Records to log, e.g. 100k.
    #[arg(long, value_parser = crate::units::parse_count)]
    pub records: u64,
    /// Receiver's TCP address.
    #[arg(long, value_name = "ADDR")]
    pub tcp: Option<String>,
    /// Receiver's Unix stream socket.
    #[arg(long, value_name = "PATH")]
    pub unix: Option<PathBuf>,
    /// Wall-clock time (ns since the epoch) to start logging at, so all
    /// producers start together.
    #[arg(long, default_value_t = 0)]
    pub start_at: u64,
    /// Client to use.
    #[arg(long, value_enum, default_value = "handler")]
    pub client: Client,
}

enum Conn {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write(buf),
            Conn::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl ProduceArgs {
    fn connect(&self) -> anyhow::Result<Conn> {
        match (&self.tcp, &self.unix) {
            (Some(addr), None) => Ok(Conn::Tcp(
                TcpStream::connect(addr).with_context(|| format!("cannot connect to {addr}"))?,
            )),
            (None, Some(path)) => Ok(Conn::Unix(
                UnixStream::connect(path)
                    .with_context(|| format!("cannot connect to {}", path.display()))?,
            )),
            _ => bail!("give exactly one of --tcp ADDR and --unix PATH"),
        }
    }
}

/// Runs one producer and prints its report.
pub fn produce(args: &ProduceArgs) -> anyhow::Result<()> {
    let report = match args.client {
        Client::Handler => with_handler(args, false)?,
        Client::Acked => with_handler(args, true)?,
        Client::Raw => {
            let json = tributary_core::JsonFormatter::native();
            raw(args, move |id, seq, out| {
                tributary_core::frame::encode_record(&stamped(id, seq), &json, out)
                    .map_err(|e| anyhow::anyhow!("{e}"))
            })?
        }
        Client::Foreign | Client::ForeignLines => {
            let pid = std::process::id();
            let framed = args.client == Client::Foreign;
            raw(args, move |id, seq, out| {
                if framed {
                    out.extend_from_slice(&[0; 4]);
                }
                serde_json::to_writer(&mut *out, &foreign(id, seq, pid))?;
                if framed {
                    let len = u32::try_from(out.len() - 4).context("record too large")?;
                    out[..4].copy_from_slice(&len.to_be_bytes());
                } else {
                    out.push(b'\n');
                }
                Ok(())
            })?
        }
        Client::HttpNdjson => http_ndjson(args)?,
        Client::Syslog | Client::SyslogOctet => {
            let host = hostname();
            let pid = std::process::id();
            let octets = args.client == Client::SyslogOctet;
            let mut message = Vec::with_capacity(512);
            raw(args, move |id, seq, out| {
                // <134> = facility local0, severity informational; NIL timestamp
                // (rsyslog stamps the time of reception); the three fields as
                // RFC 5424 structured data.
                message.clear();
                write!(
                    message,
                    "<134>1 - {host} {} {pid} - [bench@32473 user=\"ann\" bytes=\"{seq}\" ok=\"true\"] {}",
                    shape::logger(id),
                    shape::message(id, seq)
                )?;
                if octets {
                    write!(out, "{} ", message.len())?;
                    out.extend_from_slice(&message);
                } else {
                    out.extend_from_slice(&message);
                    out.push(b'\n');
                }
                Ok(())
            })?
        }
    };
    Report::Producer(report).print();
    Ok(())
}

/// The bench's record as a foreign producer writes it: a struct whose
/// fields are declared in alphabetical order (the order `serde_json::json!`
/// gives too), serialized by serde, as a Go service's `encoding/json` or a
/// Rust service's `#[derive(Serialize)]` writes its log struct. Building a
/// `serde_json::Value` per record instead cost the producers 1.1 µs per
/// record, four times the syslog producers' 0.27 µs, on the cores the
/// receivers share.
#[derive(serde::Serialize)]
struct ForeignRecord {
    fields: ForeignFields,
    level: &'static str,
    levelno: u8,
    logger: String,
    msg: String,
    pid: u32,
    seq: u64,
    ts: String,
}

/// [`ForeignRecord`]'s four fields, also in alphabetical order.
#[derive(serde::Serialize)]
struct ForeignFields {
    bytes: u64,
    method: &'static str,
    ok: bool,
    user: &'static str,
}

/// The foreign record of `seq` for producer `id`.
fn foreign(id: usize, seq: u64, pid: u32) -> ForeignRecord {
    ForeignRecord {
        fields: ForeignFields {
            bytes: seq,
            method: "GET",
            ok: true,
            user: "ann",
        },
        level: "INFO",
        levelno: 20,
        logger: shape::logger(id),
        msg: shape::message(id, seq),
        pid,
        seq,
        ts: tributary_core::Timestamp::now().to_rfc3339(),
    }
}

/// A record stamped as `QueueHandler::log` would: pid, sequence number.
fn stamped(id: usize, seq: u64) -> tributary_core::Record {
    let mut r = shape::record(id, seq);
    r.pid = Some(std::process::id());
    r.seq = Some(seq);
    r
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map_or_else(|_| "localhost".into(), |h| h.trim().to_string())
}

/// Encodes each record with `encode` into a buffer and writes it through a
/// 64 KiB buffer on the calling thread.
fn raw(
    args: &ProduceArgs,
    mut encode: impl FnMut(usize, u64, &mut Vec<u8>) -> anyhow::Result<()>,
) -> anyhow::Result<ProducerReport> {
    let mut out = BufWriter::with_capacity(64 * 1024, args.connect()?);
    let mut frame = Vec::with_capacity(1024);
    let mut hist = Histogram::default();
    procstat::sleep_until(args.start_at);
    let cpu0 = self_usage().cpu_ns;
    let first = wall_ns();
    for seq in 0..args.records {
        let t0 = Instant::now();
        frame.clear();
        encode(args.id, seq, &mut frame)?;
        out.write_all(&frame)
            .context("the receiver closed the connection")?;
        hist.record(t0.elapsed().as_nanos() as u64);
    }
    let last = wall_ns();
    out.flush().context("the receiver closed the connection")?;
    drop(out);
    Ok(finish(args, &hist, first, last, cpu0))
}

/// Posts NDJSON batches over HTTP/1.1 keep-alive and waits for each
/// `200`; a record's latency is its batch's round trip.
fn http_ndjson(args: &ProduceArgs) -> anyhow::Result<ProducerReport> {
    use std::io::{BufRead, BufReader, Read};
    let addr = args
        .tcp
        .as_deref()
        .context("the HTTP client needs --tcp ADDR (the HTTP input's)")?;
    let stream = TcpStream::connect(addr).with_context(|| format!("cannot connect to {addr}"))?;
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let pid = std::process::id();
    let mut body = Vec::with_capacity(256 * HTTP_BATCH as usize);
    let mut request = Vec::with_capacity(body.capacity() + 256);
    let mut hist = Histogram::default();
    let mut line = String::new();
    procstat::sleep_until(args.start_at);
    let cpu0 = self_usage().cpu_ns;
    let first = wall_ns();
    let mut seq = 0;
    while seq < args.records {
        let t0 = Instant::now();
        let end = (seq + HTTP_BATCH).min(args.records);
        body.clear();
        for s in seq..end {
            serde_json::to_writer(&mut body, &foreign(args.id, s, pid))?;
            body.push(b'\n');
        }
        request.clear();
        write!(
            request,
            "POST /log HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/x-ndjson\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )?;
        request.extend_from_slice(&body);
        writer
            .write_all(&request)
            .context("the receiver closed the connection")?;
        // The answer: status line, headers, then content-length bytes.
        line.clear();
        reader.read_line(&mut line)?;
        if !line.starts_with("HTTP/1.1 200") {
            bail!("the HTTP input answered {:?}", line.trim_end());
        }
        let mut length = 0usize;
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().context("bad content-length")?;
            }
        }
        let mut answer = vec![0u8; length];
        reader.read_exact(&mut answer)?;
        let took = t0.elapsed().as_nanos() as u64;
        for _ in seq..end {
            hist.record(took);
        }
        seq = end;
    }
    let last = wall_ns();
    Ok(finish(args, &hist, first, last, cpu0))
}

fn finish(
    args: &ProduceArgs,
    hist: &Histogram,
    first: u64,
    last: u64,
    cpu0: u64,
) -> ProducerReport {
    let usage = self_usage();
    ProducerReport {
        id: args.id,
        records: args.records,
        first_emit_ns: first,
        last_emit_ns: last,
        cpu_ns: usage.cpu_ns - cpu0,
        maxrss_kib: usage.maxrss_kib,
        p50_ns: hist.quantile(0.5),
        p99_ns: hist.quantile(0.99),
    }
}

#[cfg(feature = "handlers")]
fn with_handler(args: &ProduceArgs, acked: bool) -> anyhow::Result<ProducerReport> {
    use tributary_handlers::QueueListener;
    use tributary_handlers::net::SocketHandler;
    let mut socket = match (&args.tcp, &args.unix) {
        (Some(addr), None) => SocketHandler::tcp(addr.clone()),
        (None, Some(path)) => SocketHandler::unix(path.clone()),
        _ => bail!("give exactly one of --tcp ADDR and --unix PATH"),
    };
    if acked {
        socket = socket.acknowledged();
    }
    let mut listener = QueueListener::builder()
        .handler(socket)
        .start()
        .context("cannot start the queue")?;
    let queue = listener.queue_handler();
    let mut hist = Histogram::default();
    procstat::sleep_until(args.start_at);
    let cpu0 = self_usage().cpu_ns;
    let first = wall_ns();
    for seq in 0..args.records {
        let t0 = Instant::now();
        queue.log(shape::record(args.id, seq));
        hist.record(t0.elapsed().as_nanos() as u64);
    }
    let last = wall_ns();
    listener.stop(); // drains the queue, sends everything, closes
    let stats = listener.stats();
    if stats.dropped + stats.handler_errors + stats.lost_after_stop > 0 {
        eprintln!("xtask produce {}: queue stats {stats:?}", args.id);
    }
    Ok(finish(args, &hist, first, last, cpu0))
}

#[cfg(not(feature = "handlers"))]
fn with_handler(_: &ProduceArgs, _: bool) -> anyhow::Result<ProducerReport> {
    bail!("xtask was built without the `handlers` feature; use --client raw")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_records_have_alphabetical_keys_and_decode_to_the_bench_record() {
        let line = serde_json::to_string(&foreign(3, 7, 42)).unwrap();
        assert!(
            line.starts_with(
                r#"{"fields":{"bytes":7,"method":"GET","ok":true,"user":"ann"},"level":"INFO","levelno":20,"logger":"bench.p3","msg":"p3 #000007 "#
            ),
            "{line}"
        );
        assert!(line.contains(r#""pid":42,"seq":7,"ts":""#), "{line}");
        let r = tributary_core::decode_json(line.as_bytes()).unwrap();
        assert_eq!(
            (r.msg.as_str(), r.seq, r.pid),
            (shape::message(3, 7).as_str(), Some(7), Some(42))
        );
        assert_eq!(r.fields.len(), 4);
    }
}
