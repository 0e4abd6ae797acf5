//! The Python client (`clients/python`, package `tributary_logging`)
//! against this build's `tributary` binary: its `unittest` suites run with
//! `python3 -m unittest`, the binary's path in `TRIBUTARY_BIN`.
//!
//! `TRIBUTARY_PY_RECORDS` sizes the restart test (records per producer;
//! the suite's default keeps it short, the figure is 50000).

use std::path::{Path, PathBuf};
use std::process::Command;

fn client_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../clients/python")
}

/// Runs the given test modules of `clients/python/tests` and fails with
/// their output unless every test passed.
fn run_python_tests(modules: &[&str]) {
    let client = client_dir();
    let output = Command::new("python3")
        .args(["-m", "unittest", "-v"])
        .args(modules)
        .current_dir(client.join("tests"))
        .env("TRIBUTARY_BIN", env!("CARGO_BIN_EXE_tributary"))
        .env("PYTHONPATH", &client)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output();
    let output = match output {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "python3 is needed to test the Python client: install Python 3.9 or newer \
             (Debian: apt-get install python3) and put python3 on the PATH"
        ),
        Err(e) => panic!("could not run python3: {e}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Shown with --nocapture: the per-test lines and the printed figures.
    eprintln!("{stdout}{stderr}");
    assert!(
        output.status.success(),
        "python3 -m unittest {} failed ({}):\n{stdout}{stderr}",
        modules.join(" "),
        output.status
    );
}

#[test]
fn python_client_wire_spool_records_outages_processes_and_packaging() {
    run_python_tests(&[
        "test_wire",
        "test_spool",
        "test_records",
        "test_outage",
        "test_processes",
        "test_packaging",
    ]);
}

#[test]
fn python_client_loses_nothing_across_listener_restarts() {
    run_python_tests(&["test_restarts"]);
}

#[cfg(feature = "tls")]
#[test]
fn python_client_over_tls() {
    run_python_tests(&["test_tls"]);
}
