//! `update-client primary` as a gateway runs it: `--check-config` names every problem,
//! and `--daemon` backs off while the network is down and stops cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use repo_simulator::RepoSim;

/// A configuration whose files all exist; the director at `director`.
fn configuration(dir: &Path, director: &str) -> std::path::PathBuf {
    let key = threshold_keys::KeyFileSigner::generate(threshold_keys::KeyAlgorithm::Ed25519).unwrap();
    std::fs::write(dir.join("primary.pem"), key.to_pem()).unwrap();
    let root = RepoSim::new(chrono::Utc::now()).file("1.root.json");
    std::fs::write(dir.join("director-root.json"), &root).unwrap();
    std::fs::write(dir.join("image-root.json"), &root).unwrap();
    std::fs::write(dir.join("slot-a.bin"), b"gateway firmware 1").unwrap();
    let config = serde_json::json!({
        "vin": "DAEMON1", "serial": "gateway-1", "hardware_id": "gateway-hw", "key": "primary.pem",
        "director": format!("{director}/api/v1"), "image_repository": format!("{director}/api/v1/repo"),
        "director_root": "director-root.json", "image_root": "image-root.json", "state_dir": "state",
        "own_image": {"slots": ["slot-a.bin", "slot-b.bin"], "factory_name": "gateway/fw-1.bin"},
        "secondaries": [{"serial": "brake-1", "address": "127.0.0.1:7700"}],
    });
    let path = dir.join("primary.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    path
}

fn primary(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_update-client"));
    command.arg("primary").args(args).env_remove("UPDATE_CLIENT_PASSPHRASE");
    command
}

#[test]
fn check_config_accepts_a_configuration_whose_files_are_all_there() {
    let dir = tempfile::tempdir().unwrap();
    let config = configuration(dir.path(), "http://127.0.0.1:9");
    let out = primary(&["--config", config.to_str().unwrap(), "--check-config"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ready (1 secondaries)"));
}

#[test]
fn check_config_names_every_problem_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = configuration(dir.path(), "http://127.0.0.1:9");
    let mut config: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    std::fs::write(dir.path().join("director-root.json"), b"{\"signed\": {}}").unwrap();
    config["key"] = "missing.pem".into();
    config["image_repository"] = "ftp://images".into();
    config["own_image"]["slots"][0] = "no-slot-a.bin".into();
    config["own_image"]["activate"] = serde_json::json!(["/no/such/fw_setenv"]);
    config["tls"] = serde_json::json!({"client_cert": "vehicle.crt"});
    config["secondaries"] = serde_json::json!([
        {"serial": "brake-1", "address": "brake"}, {"serial": "brake-1", "address": "127.0.0.1:7701"}
    ]);
    std::fs::write(&path, serde_json::to_vec(&config).unwrap()).unwrap();
    let out = primary(&["--config", path.to_str().unwrap(), "--check-config"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for field in [
        "key:",
        "director_root:",
        "image_repository:",
        "own_image.slots:",
        "own_image.activate:",
        "tls.client_cert:",
        "tls:",
        "secondaries[0].address:",
        "secondaries[1].serial:",
    ] {
        assert!(stderr.contains(field), "{field} not named in:\n{stderr}");
    }
}

#[test]
fn daemon_backs_off_while_the_director_is_unreachable_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on: every cycle fails at once (a network outage).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let config = configuration(dir.path(), &format!("http://{closed}"));
    let mut child = primary(&["--config", config.to_str().unwrap(), "--daemon", "--interval", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut waits = Vec::new();
    let start = Instant::now();
    while waits.len() < 2 {
        assert!(start.elapsed() < Duration::from_secs(20), "no second cycle: {waits:?}");
        let line = lines.next().expect("the daemon runs").unwrap();
        if let Some(seconds) = line.strip_prefix("next cycle in ").and_then(|l| l.strip_suffix(" s")) {
            waits.push(seconds.parse::<u64>().unwrap());
        }
    }
    assert!((4..=5).contains(&waits[0]) && (9..=11).contains(&waits[1]), "backoff 5 s then 10 s: {waits:?}");
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let stopped = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(stopped.elapsed() < Duration::from_secs(5), "SIGTERM did not stop the daemon");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.starts_with("stopped")), "{rest:?}");
}
