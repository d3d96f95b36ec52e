//! `repo-tool agent`: commands sign through it with the key files it holds, without a
//! passphrase; an agent that is not there, an unsafe socket directory, a second agent
//! and a peer speaking nonsense are refused by name; it stops at its lifetime's end.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{PASSPHRASE, Tool, client_download};

/// A running agent, stopped when dropped.
struct Agent {
    child: Child,
    log: PathBuf,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Agent {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn agent_command(tool: &Tool, socket: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_repo-tool"));
    command.arg("agent").arg("--socket").arg(socket).args(args).current_dir(tool.path(""));
    command.env("REPO_TOOL_PASSPHRASE", PASSPHRASE).env_remove("REPO_TOOL_AGENT").stdin(Stdio::null());
    command
}

/// Starts an agent holding `keys` and waits for the line it prints (it prints it once
/// the keys are open and the socket listens, or exits).
fn start(tool: &Tool, socket: &Path, keys: &[&str], lifetime: &str) -> Agent {
    let log = socket.with_extension("log");
    let mut command = agent_command(tool, socket, &["--lifetime", lifetime]);
    command.args(keys).stdout(Stdio::piped()).stderr(std::fs::File::create(&log).unwrap());
    let mut child = command.spawn().expect("start the agent");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let agent = Agent { child, log };
    assert_eq!(
        line.trim(),
        format!("REPO_TOOL_AGENT={}; export REPO_TOOL_AGENT;", socket.display()),
        "agent log: {}",
        agent.log()
    );
    agent
}

/// `repo-tool` with no passphrase at hand, pointed at `agent` (or at nothing).
fn without_passphrase(tool: &Tool, agent: Option<&Path>, args: &[&str]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_repo-tool"));
    command.args(args).current_dir(tool.path("")).env_remove("REPO_TOOL_PASSPHRASE").stdin(Stdio::null());
    match agent {
        Some(socket) => command.env("REPO_TOOL_AGENT", socket),
        None => command.env_remove("REPO_TOOL_AGENT"),
    };
    command.output().unwrap()
}

fn private_dir(tool: &Tool, name: &str) -> PathBuf {
    let dir = tool.path(name);
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    dir
}

const ONLINE_KEYS: [&str; 4] =
    ["repo/keys/targets-1.pem", "repo/keys/snapshot-1.pem", "repo/keys/timestamp-1.pem", "repo/keys/audit.pem"];

#[test]
fn commands_sign_through_the_agent_without_any_passphrase() {
    let tool = Tool::new();
    tool.ok(&["init", "repo"]);
    tool.write("fw.bin", b"firmware through the agent");
    let socket = private_dir(&tool, "agent").join("agent.sock");
    let agent = start(&tool, &socket, &ONLINE_KEYS, "5m");

    let alone = without_passphrase(&tool, None, &["targets", "add", "repo", "fw.bin"]);
    assert!(!alone.status.success(), "without the agent a key file needs its passphrase");

    let through = without_passphrase(&tool, Some(&socket), &["targets", "add", "repo", "fw.bin"]);
    assert!(through.status.success(), "{}", String::from_utf8_lossy(&through.stderr));
    tool.ok(&["publish", "repo", "out"]);
    let anchor = std::fs::read(tool.path("repo/metadata/roots/1.root.json")).unwrap();
    assert_eq!(client_download(&tool.path("out"), &anchor, "fw.bin").unwrap(), b"firmware through the agent");
    let audit = tool.ok(&["audit", "verify", "repo"]);
    assert!(audit.contains("OK"), "{audit}");

    let log = agent.log();
    let targets_key = std::fs::read_to_string(tool.path("repo/keys/targets-1.pub.json")).unwrap();
    let targets_id = targets_key.split("\"keyid\": \"").nth(1).unwrap()[..8].to_string();
    assert!(log.contains(&format!("with {targets_id} for pid")), "the agent logs each signature: {log}");
    assert_eq!(
        log.matches("signed ").count(),
        4 + 1,
        "targets, snapshot, timestamp, audit head, verified state: {log}"
    );
}

#[test]
fn an_agent_that_is_not_running_is_named_and_nothing_changes() {
    let tool = Tool::new();
    tool.ok(&["init", "repo"]);
    tool.write("fw.bin", b"firmware");
    let before = std::fs::read(tool.path("repo/metadata/targets.json")).unwrap();
    let gone = tool.path("no-agent/agent.sock");
    let out = without_passphrase(&tool, Some(&gone), &["targets", "add", "repo", "fw.bin"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("REPO_TOOL_AGENT") && stderr.contains("repo-tool agent"), "{stderr}");
    assert_eq!(std::fs::read(tool.path("repo/metadata/targets.json")).unwrap(), before);
}

#[test]
fn an_open_socket_directory_and_a_second_agent_are_refused_and_a_stale_socket_replaced() {
    let tool = Tool::new();
    tool.ok(&["init", "repo"]);
    let open = tool.path("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
    let refused = agent_command(&tool, &open.join("agent.sock"), &["repo/keys/timestamp-1.pem"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("chmod 700"), "{stderr}");

    let socket = private_dir(&tool, "agent").join("agent.sock");
    let mut first = start(&tool, &socket, &["repo/keys/timestamp-1.pem"], "5m");
    let second = agent_command(&tool, &socket, &["repo/keys/timestamp-1.pem"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success() && stderr.contains("already listens"), "{stderr}");

    first.child.kill().unwrap();
    first.child.wait().unwrap();
    assert!(socket.exists(), "a killed agent leaves its socket file");
    let _again = start(&tool, &socket, &["repo/keys/timestamp-1.pem"], "5m");
}

#[test]
fn a_peer_speaking_another_protocol_is_refused_and_the_agent_serves_on() {
    let tool = Tool::new();
    tool.ok(&["init", "repo"]);
    let socket = private_dir(&tool, "agent").join("agent.sock");
    let _agent = start(&tool, &socket, &["repo/keys/timestamp-1.pem"], "5m");

    let mut stream = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    assert_eq!(answer.first(), Some(&1), "a refusal: {answer:?}");
    assert!(String::from_utf8_lossy(&answer).contains("does not speak the repo-tool agent protocol"));

    let client = repo_tool::agent::AgentClient::connect(&socket).expect("still serving");
    assert_eq!(client.keys().len(), 1);
    let held = &client.keys()[0];
    let signer = client.signer_for_file(&held.path).unwrap().expect("the key it holds");
    let signature = threshold_keys::Signer::sign(&signer, b"{\"a\":1}").expect("signed");
    assert_eq!(signature.keyid, held.key_id);

    let elsewhere = tool.write("other.pem", b"not the agent's");
    assert!(client.signer_for_file(&elsewhere).unwrap().is_none(), "a key file it does not hold is opened as before");
}

#[test]
fn the_agent_stops_and_removes_its_socket_when_its_lifetime_ends() {
    let tool = Tool::new();
    tool.ok(&["init", "repo"]);
    let socket = private_dir(&tool, "agent").join("agent.sock");
    let mut agent = start(&tool, &socket, &["repo/keys/timestamp-1.pem"], "1s");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = agent.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the agent outlived its lifetime");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success());
    assert!(!socket.exists());
    assert!(agent.log().contains("lifetime over"), "{}", agent.log());
}
