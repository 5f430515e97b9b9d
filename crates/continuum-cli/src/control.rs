//! `cu start`, `cu stop`, `cu status`: the daemon's lifecycle from the shell.

use crate::client::{Client, ClientError};
use continuum_wire::Home;
use serde_json::{json, Value};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Name of the daemon binary.
pub const DAEMON_BIN: &str = "continuum-core";
/// Environment variable naming the daemon binary explicitly.
pub const DAEMON_BIN_ENV: &str = "CONTINUUM_CORE_BIN";

const START_TIMEOUT: Duration = Duration::from_secs(15);
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
const KILL_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a lifecycle action failed.
#[derive(Debug)]
pub struct ControlError(pub String);

impl std::fmt::Display for ControlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Finds the daemon binary: `$CONTINUUM_CORE_BIN` if set, else next to this
/// executable, else on `PATH`.
pub fn find_daemon() -> Result<PathBuf, ControlError> {
    find_companion(DAEMON_BIN, DAEMON_BIN_ENV)
}

/// Finds a binary that ships with `cu` (the daemon, the MCP server):
/// `$env` if set, else next to this executable, else on `PATH`.
pub fn find_companion(bin: &str, env: &str) -> Result<PathBuf, ControlError> {
    if let Some(path) = std::env::var_os(env).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(ControlError(format!(
                "{env}={} is not a file",
                path.display()
            )))
        };
    }
    if let Some(sibling) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(bin)))
        .filter(|p| p.is_file())
    {
        return Ok(sibling);
    }
    find_on_path(bin).ok_or_else(|| {
        ControlError(format!(
            "cannot find {bin}: not next to this program, not on PATH, and {env} is unset"
        ))
    })
}

/// The first executable file called `name` on `PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// If `cu` on PATH is some other program (UUCP's `cu`), say so.
pub fn shadow_warning() -> Option<String> {
    let ours = std::env::current_exe().ok()?.canonicalize().ok()?;
    if ours.file_name()? != "cu" {
        return None;
    }
    let first = find_on_path("cu")?.canonicalize().ok()?;
    (first != ours).then(|| {
        format!(
            "note: `cu` on your PATH is {} (not Continuum's client, maybe UUCP's cu).\n      \
             Put {} first on PATH, or use the `continuum` alias.",
            first.display(),
            ours.parent()
                .map_or_else(String::new, |d| d.display().to_string())
        )
    })
}

/// Whether some process holds the daemon's instance lock for `home` (an
/// exclusive flock on the home directory). Read from `/proc/locks`, never by
/// taking the lock, which would make a daemon starting at that moment fail.
pub fn lock_is_held(home: &Home) -> bool {
    flock_holder(home).is_some()
}

/// The pid holding the flock on the home directory, and only if that
/// process is a daemon started for this home (the one `cu` may signal).
fn lock_holder(home: &Home) -> Option<i32> {
    let pid = flock_holder(home)?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    let home_arg = home.root().as_os_str().as_encoded_bytes();
    args.windows(2)
        .any(|pair| pair[0] == b"--home" && pair[1] == home_arg)
        .then_some(pid)
}

/// The pid holding a flock on the home directory, from `/proc/locks`
/// (`ID: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE START END`, device numbers
/// in hex).
fn flock_holder(home: &Home) -> Option<i32> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(home.lock_target()).ok()?;
    let device = format!(
        "{:02x}:{:02x}:{}",
        libc::major(meta.dev()),
        libc::minor(meta.dev()),
        meta.ino()
    );
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    locks.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.get(1) == Some(&"FLOCK") && fields.get(5) == Some(&device.as_str()))
            .then(|| fields.get(4)?.parse().ok())
            .flatten()
    })
}

/// The pid of the daemon holding `home`: its pid file, else the holder of
/// the home's lock. `None` when no daemon holds the home.
pub fn daemon_pid(home: &Home) -> Option<i32> {
    if !lock_is_held(home) {
        return None;
    }
    read_pid(home).or_else(|| lock_holder(home))
}

fn read_pid(home: &Home) -> Option<i32> {
    std::fs::read_to_string(home.pid_file())
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Pings the daemon; returns `system/info` when it answers within
/// [`PROBE_TIMEOUT`].
pub fn probe(home: &Home) -> Option<Value> {
    let mut client = Client::connect(&home.socket()).ok()?;
    client.set_patience(PROBE_TIMEOUT);
    client.call("ping", json!({})).ok()?;
    client.call("system/info", json!({})).ok()
}

/// How long a lifecycle probe waits for an answer.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// What `cu status` finds.
pub enum Status {
    /// The daemon answers; its `system/info`.
    Running(Value),
    /// A daemon holds the home but does not answer (stopped, hung).
    Unresponsive(Option<i32>),
    /// A daemon holds the home but its socket is gone (deleted by hand?).
    SocketGone(Option<i32>),
    /// This user may not use the home or its socket (another user's daemon).
    Refused(String),
    /// No daemon holds the home.
    NotRunning,
}

/// Whether this user is refused access to `home` (another user's home).
pub fn home_refused(home: &Home) -> Option<String> {
    match File::open(home.root()) {
        Err(err) if err.kind() == io::ErrorKind::PermissionDenied => Some(format!(
            "refused: {} belongs to another user ({err})",
            home.root().display()
        )),
        _ => None,
    }
}

/// Finds out whether the daemon runs and answers, within [`PROBE_TIMEOUT`].
pub fn status(home: &Home) -> Status {
    if let Some(refused) = home_refused(home) {
        return Status::Refused(refused);
    }
    let answered = Client::connect(&home.socket()).and_then(|mut client| {
        client.set_patience(PROBE_TIMEOUT);
        client.call("ping", json!({}))?;
        client.call("system/info", json!({}))
    });
    match answered {
        Ok(info) => Status::Running(info),
        Err(ClientError::Refused(err)) => Status::Refused(format!("refused: {err}")),
        Err(_) if !lock_is_held(home) => Status::NotRunning,
        Err(ClientError::NotRunning(_)) => Status::SocketGone(read_pid(home)),
        Err(_) => Status::Unresponsive(read_pid(home)),
    }
}

/// What `start` did.
pub enum Started {
    /// It was already running.
    AlreadyRunning(Value),
    /// Freshly started.
    Started {
        /// `system/info` of the new daemon.
        info: Value,
        /// Time until it answered `ping`.
        elapsed: Duration,
    },
}

/// Starts the daemon detached in its own session and waits until it answers.
#[allow(unsafe_code)] // pre_exec (setsid, close_range): no safe equivalent in std.
pub fn start(home: &Home) -> Result<Started, ControlError> {
    if let Some(info) = probe(home) {
        return Ok(Started::AlreadyRunning(info));
    }
    let began = Instant::now();
    let daemon = find_daemon()?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(home.log_dir())
        .map_err(|err| {
            ControlError(format!("cannot create {}: {err}", home.log_dir().display()))
        })?;
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(home.log_file())
        .map_err(|err| ControlError(format!("cannot open {}: {err}", home.log_file().display())))?;
    let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
    let log_err = log
        .try_clone()
        .map_err(|err| ControlError(format!("cannot open log: {err}")))?;
    let mut command = Command::new(&daemon);
    command
        .arg("--home")
        .arg(home.root())
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log_err));
    // SAFETY: setsid and close_range are async-signal-safe. setsid detaches
    // the daemon into its own session and process group so it outlives this
    // shell and can be signalled as a group. close_range marks every fd above
    // stderr close-on-exec, so the daemon does not inherit (and hold for its
    // whole life) whatever this shell had open: a lock, a pipe.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(io::Error::last_os_error());
            }
            libc::close_range(
                3,
                libc::c_uint::MAX,
                libc::CLOSE_RANGE_CLOEXEC as libc::c_int,
            );
            Ok(())
        });
    }
    let mut child = command
        .spawn()
        .map_err(|err| ControlError(format!("cannot run {}: {err}", daemon.display())))?;
    let mut delay = Duration::from_millis(1);
    loop {
        if let Ok(mut client) = Client::connect(&home.socket()) {
            if client.call("ping", json!({})).is_ok() {
                let info = client.call("system/info", json!({})).unwrap_or(Value::Null);
                return Ok(Started::Started {
                    info,
                    elapsed: began.elapsed(),
                });
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            // Another `cu start` may have won the race; that is still success.
            if let Some(info) = probe(home) {
                return Ok(Started::AlreadyRunning(info));
            }
            return Err(ControlError(format!(
                "{DAEMON_BIN} exited during start ({status}).\n--- {} ---\n{}",
                home.log_file().display(),
                log_tail(&home.log_file(), log_start, 20)
            )));
        }
        if began.elapsed() > START_TIMEOUT {
            return Err(ControlError(format!(
                "{DAEMON_BIN} did not answer ping within {START_TIMEOUT:?}.\n--- {} ---\n{}",
                home.log_file().display(),
                log_tail(&home.log_file(), log_start, 20)
            )));
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(20));
    }
}

/// The last `lines` lines written to `path` since byte `from`.
pub fn log_tail(path: &Path, from: u64, lines: usize) -> String {
    let Ok(mut file) = File::open(path) else {
        return "(no log)".to_owned();
    };
    let _ = file.seek(SeekFrom::Start(from));
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// What `stop` did.
pub enum Stopped {
    /// Nothing was running.
    NotRunning,
    /// Stopped gracefully (`system/shutdown`).
    Graceful(Option<i32>),
    /// Had to be signalled.
    Signalled(i32),
}

/// Stops the daemon: `system/shutdown`, then SIGTERM and SIGKILL to its
/// process group if it does not answer or exit in time. `cu` never removes
/// the daemon's files: the daemon removes its own on a clean exit, and the
/// next daemon removes what a crashed one left (it alone holds the lock).
#[allow(unsafe_code)] // kill(2) on a process group: no safe equivalent in std.
pub fn stop(home: &Home) -> Result<Stopped, ControlError> {
    // The pid file may have been deleted by hand; the kernel still knows who
    // holds the home's lock.
    let pid = read_pid(home).or_else(|| lock_holder(home));
    if !lock_is_held(home) {
        return Ok(Stopped::NotRunning);
    }
    let asked = Client::connect(&home.socket())
        .and_then(|mut client| {
            client.set_patience(PROBE_TIMEOUT);
            client.call("system/shutdown", json!({}))
        })
        .is_ok();
    if asked && wait_for_exit(home, STOP_TIMEOUT) {
        // The lock goes just before the process does; wait for that too, so
        // "stopped" means the process is gone.
        if let Some(pid) = pid.filter(|&pid| pid > 1) {
            wait_for_pid_exit(pid, KILL_TIMEOUT);
        }
        return Ok(Stopped::Graceful(pid));
    }
    let Some(pid) = pid.filter(|&pid| pid > 1) else {
        return Err(ControlError(
            "the daemon holds its lock but did not stop and left no pid file; stop it by hand"
                .into(),
        ));
    };
    for (signal, wait) in [(libc::SIGTERM, STOP_TIMEOUT), (libc::SIGKILL, KILL_TIMEOUT)] {
        // SAFETY: kill has no memory-safety preconditions. The daemon is its own
        // session leader, so its process group id is its pid. SIGCONT lets a
        // stopped (SIGSTOP) daemon act on the SIGTERM it was just sent.
        unsafe {
            if libc::kill(-pid, signal) != 0 {
                libc::kill(pid, signal);
            }
            if libc::kill(-pid, libc::SIGCONT) != 0 {
                libc::kill(pid, libc::SIGCONT);
            }
        }
        if wait_for_exit(home, wait) {
            wait_for_pid_exit(pid, KILL_TIMEOUT);
            return Ok(Stopped::Signalled(pid));
        }
    }
    Err(ControlError(format!("pid {pid} survived SIGKILL")))
}

fn wait_for_exit(home: &Home, timeout: Duration) -> bool {
    wait_until(timeout, || !lock_is_held(home))
}

/// Waits until `pid` has exited.
fn wait_for_pid_exit(pid: i32, timeout: Duration) -> bool {
    wait_until(timeout, || !pid_running(pid))
}

fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let began = Instant::now();
    while began.elapsed() < timeout {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

/// Whether process `pid` is running. A zombie (exited, not yet reaped by
/// whoever inherited it) counts as gone: it runs nothing.
pub fn pid_running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state letter follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Formats a duration in milliseconds as `1h2m3s`.
pub fn human_duration(ms: u64) -> String {
    let secs = ms / 1000;
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{}.{:03}s", s, ms % 1000)
    }
}

impl From<ClientError> for ControlError {
    fn from(err: ClientError) -> Self {
        ControlError(err.to_string())
    }
}
