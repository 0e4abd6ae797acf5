//! The deployment files in deploy/ agree with the listener: the sample
//! configuration is accepted, and both service definitions start the
//! binary with it.

#![allow(clippy::unwrap_used)] // a test: a failure should fail it

use std::path::Path;
use std::time::Duration;
use tributary_listener::config::FileConfig;
use tributary_listener::{Compression, InputSpec};

fn deploy(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(name)
}

#[test]
fn the_sample_configuration_is_accepted() {
    let settings = FileConfig::load(&deploy("tributary.toml"))
        .unwrap()
        .into_settings()
        .unwrap();
    assert_eq!(
        settings.inputs,
        [
            InputSpec::Tcp("127.0.0.1:9020".into()),
            InputSpec::Udp("127.0.0.1:9021".into())
        ]
    );
    let out = &settings.effective_outputs()[0];
    assert_eq!(out.path, Path::new("/var/log/tributary/app.log"));
    assert_eq!(out.rotation.max_bytes, Some(100 << 20));
    assert_eq!(out.rotation.backup_count, Some(10));
    assert_eq!(out.rotation.compress, Compression::gzip());
    assert_eq!(settings.stats_interval, Some(Duration::from_secs(600)));
}

#[test]
fn systemd_and_supervisor_start_the_listener_with_it() {
    let command = "/usr/local/bin/tributary listen --config /etc/tributary/tributary.toml";
    let unit = std::fs::read_to_string(deploy("tributary.service")).unwrap();
    let pid_file = "/run/tributary/tributary.pid";
    assert!(unit.contains(&format!("ExecStart={command} --pid-file {pid_file}\n")));
    assert!(unit.contains("RuntimeDirectory=tributary\n"));
    // A reload checks the file, then signals: a refused file fails
    // `systemctl reload` itself.
    let check = "/usr/local/bin/tributary check-config /etc/tributary/tributary.toml";
    let reload = format!("ExecReload={check}\nExecReload=/bin/kill -HUP $MAINPID\n");
    assert!(unit.contains(&reload), "{unit}");
    assert!(unit.contains(&format!("ExecStartPre={check}\n")));
    let program = std::fs::read_to_string(deploy("supervisor.conf")).unwrap();
    assert!(program.contains(&format!("command={command}\n")));
    assert!(program.contains("stopsignal=TERM\n"));
}

/// `tributary check-config` on the sample: accepted, and what it prints
/// is a config file giving the same settings; on a bad file, exit 1 with
/// the key, the line and the reason.
#[test]
fn check_config_prints_the_settings_in_effect_or_the_refusal() {
    let tributary = env!("CARGO_BIN_EXE_tributary");
    let sample = deploy("tributary.toml");
    let out = std::process::Command::new(tributary)
        .arg("check-config")
        .arg(&sample)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8(out.stdout).unwrap();
    assert!(shown.contains("max-frame = 1048576\n"), "{shown}");
    assert!(shown.contains("compress = \"gzip\"\n"), "{shown}");
    let back = FileConfig::from_toml(&shown, Path::new("shown.toml"))
        .unwrap()
        .into_settings()
        .unwrap();
    let given = FileConfig::load(&sample).unwrap().into_settings().unwrap();
    assert_eq!(back.effective_outputs(), given.effective_outputs());
    assert_eq!(back.effective_inputs(), given.effective_inputs());
    assert_eq!(back.stats_interval, given.stats_interval);

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "out = \"a.log\"\n\nmax-bytes = \"lots\"\n").unwrap();
    let out = std::process::Command::new(tributary)
        .arg("check-config")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("line 3") && said.contains("`max-bytes`") && said.contains("invalid size"),
        "{said}"
    );
}
