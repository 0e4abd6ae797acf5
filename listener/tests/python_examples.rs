//! The Python examples for users (examples/python/) run against the real
//! listener: every record of every worker process lands once, with its
//! `extra` field and exception text.

#![allow(clippy::unwrap_used)] // a test: a failure should fail it

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

fn run_example(script: &str) {
    let dir = tempfile::tempdir().unwrap();
    let t = Tributary::start(dir.path(), &["--tcp", "127.0.0.1:0", "--out", "out.log"]);
    let example = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/python")
        .join(script);
    let out = Command::new("python3")
        .arg(&example)
        .arg(t.tcp(0).to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = wait_for_lines(&dir.path().join("out.log"), 111);
    let (status, stderr) = t.stop();
    assert!(status.success(), "{stderr}");

    let summary: Vec<_> = lines.iter().filter(|l| l["logger"] == "app").collect();
    assert_eq!(summary.len(), 1, "{script}: {lines:?}");
    assert_eq!(summary[0]["msg"], "100 tasks done");
    let parent = &summary[0]["pid"];
    let mut done = vec![0; 100];
    let mut failed = 0;
    for l in lines.iter().filter(|l| l["logger"] == "app.worker") {
        assert_ne!(&l["pid"], parent, "{script}: a task ran in the parent");
        let n = l["fields"]["task"].as_u64().unwrap() as usize;
        if l["level"] == "ERROR" {
            assert_eq!(l["msg"], format!("task {n} failed"));
            assert!(
                l["exc"]
                    .as_str()
                    .unwrap()
                    .ends_with("ZeroDivisionError: division by zero"),
                "{l}"
            );
            failed += 1;
        } else {
            assert_eq!(l["msg"], format!("task {n} done"));
            done[n] += 1;
        }
    }
    assert!(done.iter().all(|&c| c == 1), "{script}: {done:?}");
    assert_eq!(failed, 10, "{script}");
    assert_eq!(lines.len(), 111, "{script}");
}

#[test]
fn multiprocessing_pool_example() {
    run_example("mp_pool.py");
}

#[test]
fn process_pool_executor_example() {
    run_example("process_pool_executor.py");
}
