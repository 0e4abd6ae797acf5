//! A Unix socket path is replaced only when it is stale: a live socket
//! this listener may not connect to (another user's, mode 0600) is left
//! alone, and the listener says why it cannot start.

#![allow(clippy::unwrap_used)] // a test: a failure should fail it

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

/// The user and group `nobody` run the listener as, when the test runs as root.
const NOBODY: u32 = 65_534;

#[test]
fn a_live_socket_that_denies_permission_is_not_taken_for_stale() {
    let dir = tempfile::tempdir().unwrap();
    // The listener below may create files here, whoever it runs as.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let path = dir.path().join("app.sock");
    let live = UnixListener::bind(&path).unwrap();
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    // Connecting is denied to the listener: as another user (root is
    // never denied), or through the socket's mode.
    let mode = if root { 0o600 } else { 0o000 };
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    let inode = std::fs::metadata(&path).unwrap().ino();
    let mut command = Command::new(env!("CARGO_BIN_EXE_tributary"));
    command
        .args([
            "listen",
            "--unix",
            path.to_str().unwrap(),
            "--out",
            "out.log",
        ])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if root {
        command.uid(NOBODY).gid(NOBODY);
    }
    let mut child = command.spawn().unwrap();
    // A readiness line means it took the path; end of output, that it
    // stopped.
    let mut ready = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    if !ready.is_empty() {
        let _ = child.kill();
    }
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(
        ready, "",
        "the listener replaced a live socket; stderr:\n{stderr}"
    );
    assert!(!status.success());
    assert!(
        stderr.contains("ermission denied") && stderr.contains("refusing to replace it"),
        "{stderr}"
    );
    // The live socket is still in place and still answers.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().ino(), inode);
    drop(UnixStream::connect(&path).unwrap());
    assert!(live.accept().is_ok());
}
