//! `cu`'s lifecycle verbs when things go wrong: files deleted from a live
//! daemon's home, a daemon that stopped answering, another user's daemon.
//! `cu` must never hang, never misreport, and never remove a live daemon's
//! files; one daemon per home holds whatever is deleted.

use continuum_e2e::{bin, process_alive, running_as_root, send_signal, TestHome};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The state letter of `pid` in /proc (`R`, `S`, `T` for stopped, ...).
fn process_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')')
        .next()?
        .split_whitespace()
        .next()?
        .chars()
        .next()
}

/// Runs `command`, killing it (and failing) if it has not exited in `limit`:
/// a hang is a failure, not a stuck suite.
fn within(limit: Duration, command: &mut Command) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("{command:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn deleting_the_socket_and_pid_file_never_lets_a_second_daemon_in() {
    let t = TestHome::new();
    t.start();
    let pid = t.pid().unwrap();
    std::fs::remove_file(t.home().socket()).unwrap();
    std::fs::remove_file(t.home().pid_file()).unwrap();

    let status = t.cu(&["status"]);
    assert_eq!(status.code(), 1, "{status:?}");
    assert!(status.stdout().contains("\"socket\":false"), "{status:?}");

    // A second daemon for the same home refuses to run: the lock is on the
    // home directory, which no deletion inside it can release.
    let second = Command::new(t.daemon_bin())
        .args(["--home", t.home().root().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(3), "{second:?}");
    assert!(String::from_utf8_lossy(&second.stderr).contains("already running"));
    assert!(process_alive(pid), "the first daemon was disturbed");

    // `cu stop` stops the live daemon (by signal: its socket is gone)
    // instead of calling it "not running" and deleting its files.
    let stop = within(Duration::from_secs(60), &mut t.cu_command(&["stop"]));
    assert_eq!(stop.status.code(), Some(0), "{stop:?}");
    let mut waited = 0;
    while process_alive(pid) && waited < 500 {
        std::thread::sleep(Duration::from_millis(10));
        waited += 1;
    }
    assert!(!process_alive(pid), "stop left the daemon running");
    assert_eq!(t.cu(&["status"]).code(), 3);
}

#[test]
fn cu_never_hangs_on_a_stopped_daemon_and_stop_falls_back_to_signals() {
    let t = TestHome::new();
    t.start();
    let pid = t.pid().unwrap();
    send_signal(pid, libc::SIGSTOP);
    // Signal delivery is asynchronous: wait until the kernel shows it stopped.
    let stopped = Instant::now();
    while process_state(pid) != Some('T') {
        assert!(
            stopped.elapsed() < Duration::from_secs(10),
            "pid {pid} never stopped"
        );
        std::thread::sleep(Duration::from_millis(5));
    }

    let ping = within(Duration::from_secs(30), &mut t.cu_command(&["ping"]));
    assert_eq!(
        ping.status.code(),
        Some(3),
        "{ping:?} (daemon state now {:?})",
        process_state(pid)
    );
    assert!(String::from_utf8_lossy(&ping.stderr).contains("did not answer"));
    let status = within(Duration::from_secs(30), &mut t.cu_command(&["status"]));
    assert_eq!(status.status.code(), Some(1), "{status:?}");
    assert!(String::from_utf8_lossy(&status.stdout).contains("\"answering\":false"));

    let stop = within(Duration::from_secs(60), &mut t.cu_command(&["stop"]));
    assert_eq!(stop.status.code(), Some(0), "{stop:?}");
    assert!(
        String::from_utf8_lossy(&stop.stdout).contains("by signal"),
        "{stop:?}"
    );
    assert!(!process_alive(pid));
    // The next start is clean.
    t.start();
    assert_eq!(t.cu(&["ping"]).code(), 0);
}

/// Needs root to run `cu` as `nobody`; skipped otherwise.
#[test]
fn another_users_status_and_stop_are_refused_not_not_running() {
    if !running_as_root() || !std::path::Path::new("/usr/bin/setpriv").exists() {
        eprintln!("skipped: needs root and setpriv to run cu as another uid");
        return;
    }
    let t = TestHome::new();
    t.start();
    // A copy of `cu` that `nobody` can run (the checkout may not be readable).
    let cu = t.scratch().join("cu");
    std::fs::copy(bin("cu"), &cu).unwrap();
    std::fs::set_permissions(&cu, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(t.scratch(), std::fs::Permissions::from_mode(0o711)).unwrap();
    for verb in ["status", "stop", "ping"] {
        let out = within(
            Duration::from_secs(30),
            Command::new("/usr/bin/setpriv")
                .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(&cu)
                .arg(verb)
                .env("CONTINUUM_HOME", t.home().root()),
        );
        assert_eq!(out.status.code(), Some(4), "{verb}: {out:?}");
    }
    assert_eq!(t.cu(&["ping"]).code(), 0, "the owner's daemon is untouched");
}
