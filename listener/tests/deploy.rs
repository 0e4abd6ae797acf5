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
    assert!(unit.contains(&format!("ExecStart={command}\n")));
    assert!(unit.contains("ExecReload=/bin/kill -HUP $MAINPID\n"));
    let program = std::fs::read_to_string(deploy("supervisor.conf")).unwrap();
    assert!(program.contains(&format!("command={command}\n")));
    assert!(program.contains("stopsignal=TERM\n"));
}
