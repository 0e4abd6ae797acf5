//! A producer killed with SIGKILL while spooling (and consuming, resetting
//! and compacting) leaves a spool that reopens to exactly the frames it had
//! not consumed, in order.

use super::*;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

const CHILD_ENV: &str = "TRIBUTARY_SPOOL_KILL_DIR";
/// Frames each child run pushes before the parent kills it.
const KILL_AFTER: u64 = 20_000;

fn kill_config(dir: &Path) -> SpoolConfig {
    // Small, so the child keeps hitting Full, compacting and resetting.
    config(dir).with_max_bytes(64 * 1024)
}

/// What the child has done for sure: frames up to `pushed` are spooled and
/// frames up to `consumed` are consumed.
fn progress(spool: &Spool) -> (u64, Option<u64>) {
    let pushed = spool.max_seq().unwrap_or(0);
    let consumed = match spool.first_seq() {
        Some(first) => first.checked_sub(1),
        None => spool.max_seq(),
    };
    (pushed, consumed)
}

/// The child: spools until killed. Ignored unless the parent runs it, so it
/// never counts as a pass on its own.
#[test]
#[ignore = "child helper: run by sigkill_while_spooling_loses_nothing_unconsumed"]
fn kill_child() {
    let dir = std::env::var_os(CHILD_ENV).unwrap_or_else(|| {
        panic!("a child helper: run by the parent test, which sets {CHILD_ENV}")
    });
    let cfg = kill_config(Path::new(&dir));
    let (mut spool, _) = Spool::open(&cfg, "killed").unwrap();
    let mut out = std::io::stdout().lock();
    let start = spool.max_seq().map_or(0, |m| m + 1);
    for seq in start.. {
        if let Err(SpoolError::Full { .. }) = spool.push(seq, &frame(seq)) {
            spool.consume(spool.len() / 2 + 1).unwrap();
            spool.push(seq, &frame(seq)).unwrap();
        }
        if seq % 3 == 0 {
            spool.consume(1).unwrap();
        }
        if seq % 4999 == 0 {
            spool.consume_through(seq).unwrap(); // drained: reset
        }
        if seq % 500 == 0 {
            let (pushed, consumed) = progress(&spool);
            writeln!(
                out,
                "\nPROGRESS {pushed} {}",
                consumed.map_or(-1, |c| c as i64)
            )
            .unwrap();
            out.flush().unwrap();
        }
    }
}

#[test]
fn sigkill_while_spooling_loses_nothing_unconsumed() {
    let dir = tempfile::tempdir().unwrap();
    // Three producers in turn on the same spool, each killed at a different
    // point; each resumes where the previous one's frames end.
    let mut floor = 0;
    for delay_ms in [0, 3, 11] {
        floor = kill_one_child(dir.path(), floor + KILL_AFTER, delay_ms);
    }
}

/// Runs a child until it has spooled up to `kill_at`, kills it `delay_ms`
/// later (wherever it is then), and checks the spool; returns the highest
/// sequence number spooled.
fn kill_one_child(dir: &Path, kill_at: u64, delay_ms: u64) -> u64 {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "net::spool::tests::kill::kill_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut last = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        let Some(rest) = line.strip_prefix("PROGRESS ") else {
            continue;
        };
        let mut it = rest.split(' ').map(|n| n.parse::<i64>().unwrap());
        let (pushed, consumed) = (it.next().unwrap() as u64, it.next().unwrap());
        last = Some((pushed, consumed));
        if pushed >= kill_at {
            break;
        }
    }
    // The exact moment does not matter; only that it varies between runs.
    std::thread::sleep(std::time::Duration::from_millis(delay_ms));
    child.kill().unwrap(); // SIGKILL, mid-way through the pushes
    child.wait().unwrap();
    let (pushed, consumed) = last.expect("the child reported no progress");
    assert!(pushed >= kill_at, "the child stopped early at {pushed}");

    let (mut spool, rec) = Spool::open(&kill_config(dir), "parent").unwrap();
    assert_eq!(rec.producer_id, "killed");
    // One write per push: at most the last entry can be incomplete.
    match rec.corruption.as_slice() {
        [] => {}
        [c] => assert_eq!(c.kind, CorruptionKind::TornTail, "{rec}"),
        _ => panic!("more than a torn tail: {rec}"),
    }
    let got = all(&mut spool);
    assert_eq!(got.len(), rec.frames);
    // In order and contiguous (the child consumes from the front only).
    for w in got.windows(2) {
        assert_eq!(w[1], w[0] + 1, "gap or disorder in {got:?}");
    }
    // Consumed frames stay consumed; every frame reported spooled and not
    // consumed is still there.
    let max = spool.max_seq().unwrap();
    assert!(max >= pushed, "spooled up to {pushed}, found up to {max}");
    if let Some(&first) = got.first() {
        assert!(
            first as i64 > consumed,
            "frame {first} was consumed (through {consumed})"
        );
        assert_eq!(*got.last().unwrap(), max);
    }
    max
}
