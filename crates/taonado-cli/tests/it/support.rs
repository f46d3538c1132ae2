//! Shared helpers: a sandboxed `taonado` command, a devnet child process, `cast`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

use serde_json::Value;

pub const DEV0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
/// Anvil's first dev key: a public test key.
pub const DEV0_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
pub const DEV1: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn client_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../taonado-client/tests/fixtures")
        .join(name)
}

/// A temporary working and home directory, so no user config or record leaks in.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("create a temporary directory"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `taonado` with the sandbox as working and home directory and a clean environment.
    pub fn taonado(&self) -> Command {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("taonado"));
        cmd.current_dir(self.path())
            .env("HOME", self.path())
            .env_remove("TAONADO_NETWORK")
            .env_remove("TAONADO_CONFIG")
            .env_remove("TAONADO_PRIVATE_KEY")
            .env_remove("ETH_RPC_URL")
            .env_remove("RUST_LOG");
        cmd
    }
}

/// Runs a finished command, returns (exit code, stdout, stderr).
/// Runs a command with `stdin` written to its standard input (plain [`run`] when `None`),
/// returns (exit code, stdout, stderr).
pub fn run_with_stdin(cmd: &mut Command, stdin: Option<&str>) -> (i32, String, String) {
    use std::io::Write;
    let Some(input) = stdin else {
        return run(cmd);
    };
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn taonado");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("taonado runs");
    (
        out.status.code().expect("exited normally"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().expect("run taonado");
    (
        out.status.code().expect("exited normally, not by a signal"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Parses stdout that must be exactly one JSON envelope.
pub fn envelope(stdout: &str) -> Value {
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "expected exactly one envelope line, got:\n{stdout}"
    );
    let value: Value = serde_json::from_str(lines[0]).expect("stdout is JSON");
    assert_eq!(value["schema_version"], 1, "{value}");
    assert!(
        value["ok"].is_boolean() && value["errors"].is_array(),
        "{value}"
    );
    value
}

/// A `taonado devnet --json` child; stopped with SIGTERM on drop.
pub struct Devnet {
    child: Option<Child>,
    _stdout: BufReader<ChildStdout>,
    pub url: String,
    pub ready: Value,
}

impl Devnet {
    pub fn start(sandbox: &Sandbox, extra: &[&str]) -> Self {
        let mut child = sandbox
            .taonado()
            .args(["--json", "-q", "devnet", "--port", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn taonado devnet");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        // Blocks until the devnet has bound its socket and printed the ready envelope.
        stdout.read_line(&mut line).expect("read the ready line");
        let ready: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            panic!("first stdout line is not the ready envelope ({e}): {line:?}")
        });
        assert_eq!(ready["ok"], true, "{ready}");
        let url = ready["data"]["rpc_url"]
            .as_str()
            .expect("rpc_url")
            .to_owned();
        Self {
            child: Some(child),
            _stdout: stdout,
            url,
            ready,
        }
    }

    /// SIGTERM, then the exit code.
    pub fn stop(mut self) -> i32 {
        let mut child = self.child.take().expect("running");
        terminate(&child);
        child
            .wait()
            .expect("wait for the devnet")
            .code()
            .expect("exited by itself after SIGTERM")
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(&child);
            let _ = child.wait();
        }
    }
}

pub fn terminate(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -TERM failed");
}

/// A Foundry tool: `$<env_var>`, else the npm package in the repository. Missing tools
/// fail the test: they come with `npm ci`.
fn foundry_tool(tool: &str, env_var: &str) -> PathBuf {
    let path = std::env::var_os(env_var).map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
                "../../node_modules/@foundry-rs/{tool}-linux-amd64/bin/{tool}"
            ))
        },
        PathBuf::from,
    );
    assert!(
        path.is_file(),
        "Foundry's {tool} is missing at {}: run `npm ci` in the repository root (or set {env_var})",
        path.display()
    );
    path
}

pub fn cast_path() -> PathBuf {
    foundry_tool("cast", "TAONADO_CAST")
}

/// An `anvil --port 0` child; killed on drop.
pub struct Anvil {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    pub url: String,
}

impl Anvil {
    pub fn start(chain_id: u64) -> Self {
        let mut child = Command::new(foundry_tool("anvil", "TAONADO_ANVIL"))
            .args(["--port", "0", "--chain-id", &chain_id.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn anvil");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        // anvil prints its banner, then "Listening on 127.0.0.1:PORT" once bound.
        let mut line = String::new();
        let url = loop {
            line.clear();
            let read = stdout.read_line(&mut line).expect("read anvil stdout");
            assert!(read > 0, "anvil exited before listening");
            if let Some(addr) = line.trim().strip_prefix("Listening on ") {
                break format!("http://{addr}");
            }
        };
        Self {
            child,
            _stdout: stdout,
            url,
        }
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `cast <args> --rpc-url <url>` and returns its trimmed stdout; panics on failure.
pub fn cast(url: &str, args: &[&str]) -> String {
    let out = Command::new(cast_path())
        .args(args)
        .args(["--rpc-url", url])
        .output()
        .expect("run cast");
    assert!(
        out.status.success(),
        "cast {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
