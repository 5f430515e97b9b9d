//! Harness for the end-to-end suite: a temporary daemon home, the real `cu`
//! and `continuum-core` binaries, and a raw socket client for frames `cu`
//! would never send.
//!
//! The binaries must be built first: `cargo build --workspace --bins`
//! (`scripts/test.sh` does this). `cu start` here runs the test daemon
//! (`continuum-core-test`: the product daemon plus the test-only commands)
//! unless a home asks for the product daemon.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

pub mod scripted_model;
pub mod test_commands;

pub use continuum_wire::Home;

/// Directory holding the built binaries (`target/<profile>`).
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CONTINUUM_BIN_DIR") {
        return PathBuf::from(dir);
    }
    // The test executable lives in target/<profile>/deps/.
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .to_owned();
    for bin in [
        "cu",
        "continuum",
        "continuum-core",
        "continuum-core-test",
        "continuum-mcp",
    ] {
        assert!(
            dir.join(bin).is_file(),
            "{} is missing: run `cargo build --workspace --bins` first (scripts/test.sh does)",
            dir.join(bin).display()
        );
    }
    dir
}

/// Path of a built binary.
pub fn bin(name: &str) -> PathBuf {
    bin_dir().join(name)
}

/// Where the real model server is: `CONTINUUM_TEST_LLM_URL`.
pub const LLM_URL_ENV: &str = "CONTINUUM_TEST_LLM_URL";

/// The real model server's base URL, or `None` (printing "skipped") when
/// it is not set outside CI. Under `CI` a missing server is a failure, so CI
/// can never skip the real-model tests silently.
pub fn llm_url() -> Option<String> {
    match std::env::var(LLM_URL_ENV) {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().to_owned()),
        _ => {
            let ci = std::env::var("CI").unwrap_or_default();
            assert!(
                ci.is_empty() || ci == "false" || ci == "0",
                "{LLM_URL_ENV} is not set but CI={ci}: .ci/run must start scripts/ci/llm-server.sh and export {LLM_URL_ENV}"
            );
            eprintln!("skipped: set {LLM_URL_ENV} (scripts/ci/llm-server.sh)");
            None
        }
    }
}

/// A temporary daemon home; stops any daemon in it when dropped.
pub struct TestHome {
    dir: tempfile::TempDir,
    home: Home,
    daemon: &'static str,
}

impl Default for TestHome {
    fn default() -> Self {
        Self::new()
    }
}

impl TestHome {
    /// A fresh, empty home under /tmp (short, so the socket path fits),
    /// served by the test daemon.
    pub fn new() -> TestHome {
        TestHome::served_by("continuum-core-test")
    }

    /// A fresh home served by the product daemon (`continuum-core`), as a
    /// user would run it: no test-only commands.
    pub fn with_product_daemon() -> TestHome {
        TestHome::served_by("continuum-core")
    }

    fn served_by(daemon: &'static str) -> TestHome {
        let dir = tempfile::Builder::new()
            .prefix("cu-e2e-")
            .tempdir_in("/tmp")
            .expect("tempdir");
        let home = Home::at(dir.path().join("home"));
        TestHome { dir, home, daemon }
    }

    /// The daemon binary `cu start` runs for this home.
    pub fn daemon_bin(&self) -> PathBuf {
        bin(self.daemon)
    }

    /// The layout.
    pub fn home(&self) -> &Home {
        &self.home
    }

    /// A scratch directory beside the home.
    pub fn scratch(&self) -> &Path {
        self.dir.path()
    }

    /// A `cu` command with `CONTINUUM_HOME` pointing here.
    pub fn cu_command(&self, args: &[&str]) -> Command {
        self.client_command("cu", args)
    }

    /// The same for the `continuum` alias.
    pub fn client_command(&self, bin_name: &str, args: &[&str]) -> Command {
        let mut command = Command::new(bin(bin_name));
        command
            .args(args)
            .env("CONTINUUM_HOME", self.home.root())
            .env("CONTINUUM_CORE_BIN", self.daemon_bin())
            .env_remove("CONTINUUM_TCP");
        command
    }

    /// Runs `cu` and collects its output.
    pub fn cu(&self, args: &[&str]) -> CuOutput {
        CuOutput(self.cu_command(args).output().expect("run cu"))
    }

    /// Runs `cu`, asserts it succeeded, and returns its output as JSON.
    pub fn cu_json(&self, args: &[&str]) -> Value {
        let out = self.cu(args);
        assert_eq!(out.code(), 0, "cu {args:?}: {out:?}");
        out.json()
    }

    /// Writes `contents` to `name` in the home (creating the home).
    pub fn write(&self, name: &str, contents: &str) {
        std::fs::create_dir_all(self.home.root()).unwrap();
        std::fs::write(self.home.root().join(name), contents).unwrap();
    }

    /// `cu stop` then `cu start`, asserting both succeed.
    pub fn restart(&self) {
        let out = self.cu(&["stop"]);
        assert_eq!(out.code(), 0, "cu stop failed: {out:?}");
        self.start();
    }

    /// `cu start`, asserting success.
    pub fn start(&self) -> CuOutput {
        let out = self.cu(&["start"]);
        assert_eq!(out.code(), 0, "cu start failed: {out:?}");
        out
    }

    /// The daemon's pid, from its pid file.
    pub fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.home.pid_file())
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// A raw connection to the socket.
    pub fn raw(&self) -> RawClient {
        RawClient::connect(&self.home.socket())
    }

    /// Deletes the newest `records` audit records while the daemon is
    /// stopped (lifting the append-only trigger, as an attacker with the
    /// file would): a consistent but shorter chain, which the signed head no
    /// longer matches, so the log refuses durable appends until the owner
    /// deals with it.
    pub fn truncate_audit_tail(&self, records: u32) {
        let db = self.home.data_dir().join("audit.sqlite");
        let truncate = format!(
            "import sqlite3, sys\n\
             c = sqlite3.connect(sys.argv[1])\n\
             c.execute('DROP TRIGGER audit_no_delete')\n\
             c.execute('DELETE FROM audit WHERE seq > (SELECT MAX(seq) - {records} FROM audit)')\n\
             c.commit()\n"
        );
        let out = Command::new("python3")
            .arg("-c")
            .arg(truncate)
            .arg(&db)
            .output()
            .expect("run python3");
        assert!(out.status.success(), "{out:?}");
    }

    /// The daemon's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.home.log_file()).unwrap_or_default()
    }
}

impl Drop for TestHome {
    fn drop(&mut self) {
        if self.home.socket().exists() || self.home.pid_file().exists() {
            let _ = self.cu_command(&["stop"]).output();
        }
    }
}

/// Output of one `cu` run.
pub struct CuOutput(pub Output);

impl CuOutput {
    /// Exit code.
    pub fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }

    /// Stdout as text.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }

    /// Stderr as text.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }

    /// Stdout parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout().trim())
            .unwrap_or_else(|err| panic!("stdout is not JSON ({err}): {self:?}"))
    }
}

impl std::fmt::Debug for CuOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {} stdout={:?} stderr={:?}",
            self.code(),
            self.stdout(),
            self.stderr()
        )
    }
}

/// A line-level client for sending arbitrary bytes.
pub struct RawClient {
    reader: BufReader<Box<dyn Read + Send>>,
    writer: Box<dyn Write + Send>,
}

impl RawClient {
    /// Connects to `socket`.
    pub fn connect(socket: &Path) -> RawClient {
        let stream = UnixStream::connect(socket)
            .unwrap_or_else(|err| panic!("connect {}: {err}", socket.display()));
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        RawClient {
            writer: Box::new(stream.try_clone().unwrap()),
            reader: BufReader::new(Box::new(stream)),
        }
    }

    /// Connects to the daemon's TCP listener at `addr`.
    pub fn connect_tcp(addr: &str) -> RawClient {
        let stream = std::net::TcpStream::connect(addr)
            .unwrap_or_else(|err| panic!("connect {addr}: {err}"));
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        RawClient {
            writer: Box::new(stream.try_clone().unwrap()),
            reader: BufReader::new(Box::new(stream)),
        }
    }

    /// Sends raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write");
    }

    /// Sends one JSON value as a line.
    pub fn send(&mut self, value: &Value) {
        self.try_send(value).expect("write");
    }

    /// Sends one JSON value as a line; an error if the daemon is gone.
    pub fn try_send(&mut self, value: &Value) -> std::io::Result<()> {
        let mut bytes = serde_json::to_vec(value)?;
        bytes.push(b'\n');
        self.writer.write_all(&bytes)
    }

    /// Reads one frame as JSON.
    pub fn recv(&mut self) -> Value {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).expect("read");
        assert!(n > 0, "connection closed");
        serde_json::from_str(&line).unwrap_or_else(|err| panic!("bad frame {line:?}: {err}"))
    }

    /// Sends a request and reads the next frame.
    pub fn request(&mut self, id: i64, method: &str, params: Value) -> Value {
        self.send(
            &serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
        );
        self.recv()
    }
}

/// Whether process `pid` is running. A zombie (exited, not yet reaped by
/// whoever inherited it) counts as gone.
pub fn process_alive(pid: i32) -> bool {
    continuum_cli::control::pid_running(pid)
}

/// Sends `signal` (e.g. `libc::SIGKILL`) to process `pid`.
#[allow(unsafe_code)] // kill(2) has no safe wrapper in std.
pub fn send_signal(pid: i32, signal: i32) {
    // SAFETY: kill only sends a signal; it touches no memory of ours.
    unsafe { libc::kill(pid, signal) };
}

/// Whether the tests run as root (some checks need another uid).
#[allow(unsafe_code)] // geteuid has no safe wrapper in std.
pub fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
