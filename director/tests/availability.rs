//! The director's availability under hostile clients: headers or bodies sent one byte at
//! a time (slowloris), file descriptors run out, one client flooding it, and a data
//! directory opened from another working directory.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::Vehicle;
use common::process::{Serving, init, serve, serve_command};
use director::config::Config;

/// Sets `limits` fields in the data directory's configuration.
fn limits(data: &Path, change: impl FnOnce(&mut director::limits::ServerLimits)) {
    let mut config = Config::load(data).unwrap();
    change(&mut config.limits);
    config.save(data).unwrap();
}

fn address(url: &str) -> String {
    url.trim_start_matches("http://").to_string()
}

/// Whether the server closed `stream` (a read sees the end, or an error).
fn closed(stream: &mut TcpStream) -> bool {
    stream.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let mut byte = [0u8; 256];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false, // an answer (say 408) before closing
        Err(e) => !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
    }
}

/// Trickles `bytes` one every `every`; how long until the server closed the connection,
/// or None if it never did while all bytes went out.
fn trickle(url: &str, bytes: &[u8], every: Duration) -> Option<Duration> {
    let mut stream = TcpStream::connect(address(url)).unwrap();
    let start = Instant::now();
    for byte in bytes {
        if stream.write_all(std::slice::from_ref(byte)).is_err() || closed(&mut stream) {
            return Some(start.elapsed());
        }
        std::thread::sleep(every);
    }
    None
}

fn started(change: impl FnOnce(&mut director::limits::ServerLimits)) -> (tempfile::TempDir, String, Serving, String) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let admin = init(&data);
    limits(&data, change);
    let (serving, url) = serve(&data);
    (dir, admin, serving, url)
}

#[test]
fn slowloris_headers_one_byte_a_second_are_cut_off() {
    let (_dir, _, _serving, url) = started(|l| l.header_timeout_secs = 1);
    let request =
        b"GET /api/v1/repo/timestamp.json HTTP/1.1\r\nhost: 127.0.0.1\r\nx-padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    let cut = trickle(&url, request, Duration::from_millis(200)).expect("the server kept a slow header open");
    assert!(cut < Duration::from_secs(4), "closed only after {cut:?}");
}

/// Waits (at most 5 s) for the server to close `stream`; how long it took.
fn until_closed(stream: &mut TcpStream) -> Duration {
    let start = Instant::now();
    while !closed(stream) {
        assert!(start.elapsed() < Duration::from_secs(5), "an idle connection stayed open");
    }
    start.elapsed()
}

#[test]
fn slowloris_connections_that_send_nothing_are_closed() {
    let (_dir, _, _serving, url) = started(|l| l.header_timeout_secs = 1);
    let mut stream = TcpStream::connect(address(&url)).unwrap();
    until_closed(&mut stream);
}

#[test]
fn slowloris_idle_keep_alive_connections_are_closed() {
    let (_dir, _, _serving, url) = started(|l| l.header_timeout_secs = 1);
    let mut stream = TcpStream::connect(address(&url)).unwrap();
    stream.write_all(b"GET /openapi.json HTTP/1.1\r\nhost: x\r\n\r\n").unwrap();
    let mut answer = [0u8; 64];
    stream.read_exact(&mut answer).unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));
    // The rest of the answer is read (and ignored) while waiting for the close.
    until_closed(&mut stream);
}

#[test]
fn slowloris_body_one_byte_at_a_time_is_answered_408() {
    let (_dir, _, _serving, url) = started(|l| l.request_timeout_secs = 1);
    let mut stream = TcpStream::connect(address(&url)).unwrap();
    let head = "PUT /api/v1/vehicles/SLOW1/manifest HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n";
    stream.write_all(head.as_bytes()).unwrap();
    let start = Instant::now();
    let mut answer = Vec::new();
    stream.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    while start.elapsed() < Duration::from_secs(5) && !String::from_utf8_lossy(&answer).contains("\r\n\r\n") {
        let _ = stream.write_all(b" ");
        let mut buffer = [0u8; 1024];
        if let Ok(n) = stream.read(&mut buffer) {
            answer.extend_from_slice(&buffer[..n]);
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn a_device_flooding_the_director_is_told_to_retry_and_others_are_served() {
    let (_dir, admin, _serving, url) = started(|l| l.device_rate = director::limits::Rate { per_second: 1, burst: 5 });
    let http = common::http_client().build().unwrap();
    let register = |vin: &'static str| {
        let (http, url, admin) = (http.clone(), url.clone(), admin.clone());
        async move {
            let r = http
                .post(format!("{url}/api/v1/admin/vehicles"))
                .bearer_auth(admin)
                .json(&Vehicle::new(vin).registration())
                .send()
                .await
                .unwrap();
            r.json::<serde_json::Value>().await.unwrap()["device_token"].as_str().unwrap().to_string()
        }
    };
    let (flooder, other) = (register("FLOOD1").await, register("CALM1").await);
    let get = |token: String| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let vin = token.split(':').next().unwrap().to_string();
            http.get(format!("{url}/api/v1/vehicles/{vin}/director/timestamp.json"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(get(flooder.clone()).await);
    }
    let limited = statuses.iter().find(|r| r.status().as_u16() == 429).expect("ten requests at once, burst of five");
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(statuses.iter().filter(|r| r.status().as_u16() == 200).count(), 5);
    assert_eq!(get(other).await.status().as_u16(), 200, "another vehicle is not held back");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(get(flooder).await.status().as_u16(), 200, "a token comes back each second");
}

#[test]
fn out_of_file_descriptors_the_director_backs_off_and_serves_again() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    init(&data);
    let mut shell = Command::new("sh");
    shell.args(["-c", r#"ulimit -n 48 && exec "$0" "$@""#, env!("CARGO_BIN_EXE_director")]);
    let (mut serving, url) = serve_command(shell, &data);
    // More idle connections than descriptors (fewer than the listen backlog, or connect
    // itself would wait): accept fails with EMFILE meanwhile.
    let idle: Vec<TcpStream> = (0..100).filter_map(|_| TcpStream::connect(address(&url)).ok()).collect();
    assert_eq!(idle.len(), 100);
    std::thread::sleep(Duration::from_millis(300));
    assert!(serving.0.try_wait().unwrap().is_none(), "the director exited when descriptors ran out");
    drop(idle);
    let start = Instant::now();
    loop {
        let answer = Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "2"])
            .arg(format!("{url}/openapi.json"))
            .output()
            .expect("curl (Debian package curl)");
        if answer.stdout == b"200" {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "the director did not serve again");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(serving.0.try_wait().unwrap().is_none());
}

#[test]
fn a_relative_data_directory_opens_its_own_database_from_any_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("elsewhere")).unwrap();
    let director = |cwd: &Path, args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_director")).current_dir(cwd).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    director(dir.path(), &["init", "fleet"]);
    let registration = Vehicle::new("RELATIVE1").registration();
    let serial = registration["primary_ecu_serial"].as_str().unwrap().to_string();
    let primary = registration["ecus"].as_array().unwrap().iter().find(|e| e["serial"] == serial.as_str()).unwrap();
    let key = dir.path().join("key.json");
    std::fs::write(&key, primary["public_key"].to_string()).unwrap();
    let ecu = format!("{serial}:{}:{}", primary["hardware_id"].as_str().unwrap(), key.display());
    director(dir.path(), &["register", "fleet", "--vin", "RELATIVE1", "--primary", &serial, "--ecu", &ecu]);
    let status = director(&dir.path().join("elsewhere"), &["status", "../fleet", "--vin", "RELATIVE1"]);
    assert!(status.contains(&serial), "{status}");
    assert!(!dir.path().join("elsewhere/fleet").exists(), "a second database was created");
}
