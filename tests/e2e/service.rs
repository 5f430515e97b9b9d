//! Packaging: `cu service install|uninstall|status` (a systemd user unit)
//! and the container recipe.
//!
//! The unit file is checked by `systemd-analyze verify` where it exists. The
//! unit is also run under a real systemd user manager: one that answers
//! `systemctl --user` (only with `CONTINUUM_TEST_USER_MANAGER=1`, since it
//! installs into your real `~/.config/systemd/user`), or, on a machine not
//! booted with systemd and as root (CI's micro-VM), a private manager that
//! `scripts/package/user-manager.sh` starts in its own mount namespace and
//! cgroup. Where neither can run, those tests print "skipped".

use continuum_e2e::{process_alive, send_signal, TestHome};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const UNIT: &str = "continuum.service";
const MARKER: &str = "# Written by `cu service install` (Continuum).";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_owned()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A home plus a private config directory (`XDG_CONFIG_HOME`) and `HOME`,
/// so nothing touches the real user's units.
struct ServiceHome {
    t: TestHome,
    home: PathBuf,
    daemon: PathBuf,
}

impl ServiceHome {
    fn new() -> ServiceHome {
        let t = TestHome::with_product_daemon();
        let home = t.home().root().to_owned();
        let daemon = t.daemon_bin();
        ServiceHome { t, home, daemon }
    }

    /// A home with spaces, `%`, `$`, a quote and a backslash, and a daemon
    /// path with spaces and `%` (systemd refuses quotes, backslashes in an
    /// executable's name): everything systemd would otherwise read
    /// differently.
    fn with_awkward_paths() -> ServiceHome {
        let mut s = ServiceHome::new();
        let dir = s.t.scratch().join("bin 100% x");
        std::fs::create_dir_all(&dir).unwrap();
        let daemon = dir.join("continuum-core");
        std::fs::copy(s.t.daemon_bin(), &daemon).unwrap();
        s.daemon = daemon;
        s.home = s.t.scratch().join("my home %h $X \"q\" \\x");
        s
    }

    fn config(&self) -> PathBuf {
        self.t.scratch().join("config")
    }

    fn unit_file(&self) -> PathBuf {
        self.config().join("systemd/user").join(UNIT)
    }

    /// `cu ARGS` for this home, with the config dir and daemon binary set.
    fn cu_command(&self, args: &[&str]) -> Command {
        let mut command = self.cu_command_for_real_config(args);
        command
            .env("XDG_CONFIG_HOME", self.config())
            .env("HOME", self.t.scratch().join("user"));
        command
    }

    /// `cu ARGS` for this home, installing into the user's real config dir.
    fn cu_command_for_real_config(&self, args: &[&str]) -> Command {
        let mut command = self.t.cu_command(args);
        command
            .env("CONTINUUM_HOME", &self.home)
            .env("CONTINUUM_CORE_BIN", &self.daemon);
        command
    }

    fn cu(&self, args: &[&str]) -> Output {
        self.cu_command(args).output().expect("run cu")
    }

    fn unit_text(&self) -> String {
        std::fs::read_to_string(self.unit_file()).unwrap()
    }
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn ok(out: &Output) -> String {
    assert_eq!(code(out), 0, "{out:?}");
    text(&out.stdout)
}

/// `systemd-analyze verify --user` on `unit`: must pass with nothing to say.
/// `false` (after printing "skipped") where systemd-analyze is missing.
fn systemd_analyze_verify(unit: &Path, scratch: &Path) -> bool {
    let runtime = scratch.join("runtime");
    std::fs::create_dir_all(&runtime).unwrap();
    std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = match Command::new("systemd-analyze")
        .args(["--user", "verify"])
        .arg(unit)
        .env("XDG_RUNTIME_DIR", &runtime)
        .output()
    {
        Ok(out) => out,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("skipped: systemd-analyze not available");
            return false;
        }
        Err(err) => panic!("systemd-analyze: {err}"),
    };
    assert!(out.status.success(), "systemd-analyze verify: {out:?}");
    // It exits 0 after warnings (an unknown key, a bad escape): none allowed.
    assert!(
        out.stderr.is_empty() && out.stdout.is_empty(),
        "systemd-analyze verify warned: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    true
}

#[test]
fn install_no_start_writes_a_unit_that_runs_the_daemon_for_this_home() {
    let s = ServiceHome::new();
    let out = s.cu(&["service", "install", "--no-start"]);
    let stdout = ok(&out);
    assert!(
        stdout.contains("systemctl --user enable --now continuum.service"),
        "{stdout}"
    );

    let unit = s.unit_text();
    assert!(unit.starts_with(MARKER), "{unit}");
    let home = s.home.to_str().unwrap();
    let daemon = s.daemon.to_str().unwrap();
    for line in [
        format!("ExecStart=\"{daemon}\" \"--home\" \"{home}\""),
        format!("Environment=\"CONTINUUM_HOME={home}\""),
        format!("ReadWritePaths=\"{home}\""),
        "Restart=on-failure".to_owned(),
        "KillSignal=SIGTERM".to_owned(),
        "NoNewPrivileges=yes".to_owned(),
        "ProtectSystem=strict".to_owned(),
        "UMask=0077".to_owned(),
        "WantedBy=default.target".to_owned(),
    ] {
        assert!(
            unit.lines().any(|l| l == line),
            "missing {line:?} in\n{unit}"
        );
    }
    // ReadWritePaths= must exist before the service starts: install made it,
    // owner-only.
    let mode = std::fs::metadata(&s.home).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    // Nothing was started.
    assert!(!s.home.join("run/core.sock").exists());
    systemd_analyze_verify(&s.unit_file(), s.t.scratch());
}

#[test]
fn awkward_paths_are_quoted_so_systemd_reads_them_back_unchanged() {
    let s = ServiceHome::with_awkward_paths();
    ok(&s.cu(&["service", "install", "--no-start"]));
    let unit = s.unit_text();
    assert!(
        unit.contains(r#"Environment="CONTINUUM_HOME="#)
            && unit.contains(r#"my home %%h $X \"q\" \\x""#)
            && unit.contains(r#"my home %%h $$X \"q\" \\x""#),
        "{unit}"
    );
    // systemd-analyze checks the ExecStart= binary exists and is executable,
    // so a path it misread would fail here.
    systemd_analyze_verify(&s.unit_file(), s.t.scratch());
}

#[test]
fn print_shows_the_unit_and_writes_nothing() {
    let s = ServiceHome::new();
    let stdout = ok(&s.cu(&["service", "install", "--print"]));
    assert!(stdout.starts_with(MARKER), "{stdout}");
    assert!(stdout.contains("[Service]"), "{stdout}");
    assert!(!s.unit_file().exists());
    assert!(!s.home.exists(), "--print created the home");
}

#[test]
fn a_different_unit_is_replaced_only_with_force() {
    let s = ServiceHome::new();
    std::fs::create_dir_all(s.unit_file().parent().unwrap()).unwrap();
    let hand_written = "[Service]\nExecStart=/usr/bin/sleep infinity\n";
    std::fs::write(s.unit_file(), hand_written).unwrap();

    let refused = s.cu(&["service", "install", "--no-start"]);
    assert_eq!(code(&refused), 4, "{refused:?}");
    assert!(text(&refused.stderr).contains("--force"), "{refused:?}");
    assert_eq!(s.unit_text(), hand_written);

    let forced = ok(&s.cu(&["service", "install", "--no-start", "--force"]));
    assert!(forced.starts_with("replaced"), "{forced}");
    assert!(s.unit_text().starts_with(MARKER));

    // The same unit again is no change, and needs no --force.
    let again = ok(&s.cu(&["service", "install", "--no-start"]));
    assert!(again.starts_with("unchanged"), "{again}");
}

#[test]
fn uninstall_removes_the_unit_and_never_the_home() {
    let s = ServiceHome::new();
    ok(&s.cu(&["service", "install", "--no-start"]));
    std::fs::write(s.home.join("keep.txt"), "mine").unwrap();

    let out = ok(&s.cu(&["service", "uninstall"]));
    assert!(out.contains("removed"), "{out}");
    assert!(!s.unit_file().exists());
    assert_eq!(
        std::fs::read_to_string(s.home.join("keep.txt")).unwrap(),
        "mine"
    );

    let again = ok(&s.cu(&["service", "uninstall"]));
    assert!(again.contains("not installed"), "{again}");
}

#[test]
fn uninstall_leaves_a_hand_written_unit_alone_without_force() {
    let s = ServiceHome::new();
    std::fs::create_dir_all(s.unit_file().parent().unwrap()).unwrap();
    std::fs::write(s.unit_file(), "[Service]\nExecStart=/usr/bin/true\n").unwrap();

    let refused = s.cu(&["service", "uninstall"]);
    assert_eq!(code(&refused), 4, "{refused:?}");
    assert!(s.unit_file().exists());

    ok(&s.cu(&["service", "uninstall", "--force"]));
    assert!(!s.unit_file().exists());
}

#[test]
fn status_reports_the_unit_as_json_when_piped() {
    let s = ServiceHome::new();
    let before: serde_json::Value =
        serde_json::from_str(&ok(&s.cu(&["service", "status"]))).unwrap();
    assert_eq!(before["installed"], false, "{before}");

    ok(&s.cu(&["service", "install", "--no-start"]));
    let after: serde_json::Value =
        serde_json::from_str(&ok(&s.cu(&["service", "status"]))).unwrap();
    assert_eq!(after["installed"], true, "{after}");
    assert_eq!(after["writtenByCu"], true, "{after}");
    assert_eq!(after["current"], true, "{after}");
    assert_eq!(after["forThisHome"], true, "{after}");
    assert_eq!(
        after["unit"].as_str(),
        Some(s.unit_file().to_str().unwrap()),
        "{after}"
    );
    // Either a manager answered or we are told why none did.
    assert!(
        after["manager"].is_string() || after["managerError"].is_string(),
        "{after}"
    );
}

#[test]
fn xdg_config_home_is_respected_and_home_is_the_fallback() {
    let s = ServiceHome::new();
    let out = s
        .cu_command(&["service", "install", "--no-start"])
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .unwrap();
    ok(&out);
    let fallback = s.t.scratch().join("user/.config/systemd/user").join(UNIT);
    assert!(fallback.is_file(), "{out:?}");
    assert!(!s.unit_file().exists());
}

#[test]
fn bad_verbs_and_flags_are_usage_errors() {
    let s = ServiceHome::new();
    for args in [
        &["service"][..],
        &["service", "frobnicate"],
        &["service", "install", "--bogus"],
        &["service", "status", "--force"],
    ] {
        let out = s.cu(args);
        assert_eq!(code(&out), 2, "{args:?}: {out:?}");
    }
    assert!(!s.unit_file().exists());
    let help = ok(&s.cu(&["service", "--help"]));
    assert!(help.contains("service install"), "{help}");
}

#[test]
fn install_without_a_user_manager_says_how_to_start_it() {
    let s = ServiceHome::new();
    let manager = Command::new("systemctl")
        .args(["--user", "is-system-running"])
        .output()
        .map(|out| text(&out.stdout).trim().to_owned())
        .unwrap_or_default();
    if matches!(manager.as_str(), "running" | "degraded" | "starting") {
        eprintln!("skipped: a systemd user manager answers here (see the manager test)");
        return;
    }
    let stdout = ok(&s.cu(&["service", "install"]));
    assert!(stdout.contains("not started"), "{stdout}");
    assert!(
        stdout.contains("systemctl --user daemon-reload"),
        "{stdout}"
    );
    assert!(
        stdout.contains("systemctl --user enable --now continuum.service"),
        "{stdout}"
    );
    assert!(s.unit_file().is_file());
}

/// A user manager the test may use, and how to reach it.
enum UserManager {
    /// The user's own: commands run as they are.
    Real,
    /// A private one (scripts/package/user-manager.sh): commands run in its
    /// mount namespace.
    Private { dir: PathBuf, pid: String },
}

impl UserManager {
    /// The manager for `config` (its XDG_CONFIG_HOME), or `None` after
    /// printing why the test is skipped.
    fn for_config(config: &Path, scratch: &Path) -> Option<UserManager> {
        let real = Command::new("systemctl")
            .args(["--user", "is-system-running"])
            .output()
            .map(|out| text(&out.stdout).trim().to_owned())
            .unwrap_or_default();
        if matches!(real.as_str(), "running" | "degraded") {
            if std::env::var("CONTINUUM_TEST_USER_MANAGER").as_deref() != Ok("1") {
                eprintln!(
                    "skipped: a systemd user manager runs here, but this test installs into ~/.config/systemd/user: set CONTINUUM_TEST_USER_MANAGER=1 to let it"
                );
                return None;
            }
            return Some(UserManager::Real);
        }
        let dir = scratch.join("manager");
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new("bash")
            .arg(repo_root().join("scripts/package/user-manager.sh"))
            .arg("start")
            .arg(&dir)
            .env("XDG_CONFIG_HOME", config)
            .output()
            .expect("run user-manager.sh");
        match out.status.code() {
            Some(0) => Some(UserManager::Private {
                pid: text(&out.stdout).trim().to_owned(),
                dir,
            }),
            Some(77) => {
                eprintln!(
                    "skipped: no systemd user manager ({})",
                    text(&out.stderr).trim()
                );
                None
            }
            _ => panic!("user-manager.sh start failed: {out:?}"),
        }
    }

    /// `command` as it must run to reach this manager.
    fn wrap(&self, command: Command) -> Command {
        match self {
            UserManager::Real => command,
            UserManager::Private { dir, pid } => {
                let mut wrapped = Command::new("nsenter");
                wrapped
                    .args(["-t", pid, "-m", "--"])
                    .arg(command.get_program())
                    .args(command.get_args())
                    .env("XDG_RUNTIME_DIR", dir.join("runtime"));
                for (key, value) in command.get_envs() {
                    match value {
                        Some(value) => wrapped.env(key, value),
                        None => wrapped.env_remove(key),
                    };
                }
                wrapped
            }
        }
    }

    fn systemctl(&self, args: &[&str]) -> Output {
        let mut command = Command::new("systemctl");
        command.arg("--user").args(args);
        self.wrap(command).output().expect("run systemctl")
    }

    fn is_active(&self) -> String {
        text(&self.systemctl(&["is-active", UNIT]).stdout)
            .trim()
            .to_owned()
    }
}

impl Drop for UserManager {
    fn drop(&mut self) {
        if let UserManager::Private { dir, .. } = self {
            let _ = Command::new("bash")
                .arg(repo_root().join("scripts/package/user-manager.sh"))
                .arg("stop")
                .arg(&*dir)
                .output();
        } else {
            let _ = self.systemctl(&["disable", "--now", UNIT]);
        }
    }
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let began = Instant::now();
    while !done() {
        assert!(began.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_unit_starts_and_stops_the_daemon_under_a_user_manager() {
    let s = ServiceHome::with_awkward_paths();
    let Some(manager) = UserManager::for_config(&s.config(), s.t.scratch()) else {
        return;
    };
    let real = matches!(manager, UserManager::Real);
    let cu = |args: &[&str]| {
        let command = if real {
            s.cu_command_for_real_config(args)
        } else {
            s.cu_command(args)
        };
        manager.wrap(command).output().expect("run cu")
    };
    if real {
        let status: serde_json::Value =
            serde_json::from_str(&ok(&cu(&["service", "status"]))).unwrap();
        if status["installed"] == true {
            eprintln!("skipped: you already have a continuum.service; not touching it");
            return;
        }
    }

    // Install: written, loaded, enabled, started; the daemon answers.
    let installed = ok(&cu(&["service", "install"]));
    assert!(installed.contains("runs under systemd"), "{installed}");
    assert_eq!(manager.is_active(), "active");
    let status: serde_json::Value = serde_json::from_str(&ok(&cu(&["status"]))).unwrap();
    let pid = i32::try_from(status["pid"].as_i64().unwrap()).unwrap();
    // The daemon got the home exactly, through every quoting rule.
    assert_eq!(status["home"].as_str(), s.home.to_str(), "{status}");
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(cgroup.contains("/continuum.service"), "{cgroup}");
    // The sandbox leaves the home writable.
    ok(&cu(&[
        "data/create",
        "--collection",
        "notes",
        "--data",
        r#"{"t": 1}"#,
    ]));
    let service_status: serde_json::Value =
        serde_json::from_str(&ok(&cu(&["service", "status"]))).unwrap();
    assert_eq!(service_status["active"], "active", "{service_status}");
    assert_eq!(service_status["enabled"], "enabled", "{service_status}");

    // `cu stop` goes through systemd: inactive, not failed, not restarted.
    let stopped = ok(&cu(&["stop"]));
    assert!(stopped.contains("systemctl --user stop"), "{stopped}");
    assert!(!process_alive(pid));
    assert_eq!(manager.is_active(), "inactive");

    // `cu start` goes through systemd too.
    let started = ok(&cu(&["start"]));
    assert!(started.contains("under systemd"), "{started}");
    assert_eq!(manager.is_active(), "active");

    // A crash is restarted (Restart=on-failure).
    let status: serde_json::Value = serde_json::from_str(&ok(&cu(&["status"]))).unwrap();
    let crashed = i32::try_from(status["pid"].as_i64().unwrap()).unwrap();
    send_signal(crashed, libc::SIGKILL);
    wait_for("the restarted daemon", Duration::from_secs(20), || {
        let out = cu(&["status"]);
        code(&out) == 0
            && serde_json::from_str::<serde_json::Value>(&text(&out.stdout))
                .is_ok_and(|v| v["pid"].as_i64() != Some(i64::from(crashed)))
    });

    // systemd stops it with SIGTERM, which the daemon takes as a graceful stop.
    let log_file = s.home.join("logs/core.log");
    let logged = std::fs::read_to_string(&log_file).unwrap().len();
    let out = manager.systemctl(&["stop", UNIT]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(manager.is_active(), "inactive");
    let log = std::fs::read_to_string(&log_file).unwrap();
    assert!(log[logged..].contains("SIGTERM received"), "{log}");
    assert!(!s.home.join("run/core.sock").exists());

    // Uninstall: disabled and removed; the home stays.
    let removed = ok(&cu(&["service", "uninstall"]));
    assert!(
        removed.contains("stopped, disabled and removed"),
        "{removed}"
    );
    assert!(s.home.join("data").is_dir());
    let after: serde_json::Value = serde_json::from_str(&ok(&cu(&["service", "status"]))).unwrap();
    assert_eq!(after["installed"], false, "{after}");
    drop(manager);
}

#[test]
fn the_container_recipe_passes_its_lint() {
    let out = Command::new("python3")
        .arg(repo_root().join("scripts/package/lint-dockerfile.py"))
        .output()
        .expect("run python3");
    assert!(out.status.success(), "lint-dockerfile.py: {out:?}");
}

#[test]
fn the_image_builds_and_serves_where_a_container_engine_runs() {
    let engine = ["docker", "podman"].into_iter().find(|engine| {
        Command::new(engine)
            .arg("info")
            .output()
            .is_ok_and(|out| out.status.success())
    });
    let Some(engine) = engine else {
        eprintln!("skipped: no container engine answers here (docker/podman info), so the image is linted only");
        return;
    };
    let out = Command::new("bash")
        .arg(repo_root().join("scripts/package/test-container.sh"))
        .env("CONTAINER_ENGINE", engine)
        .output()
        .expect("run test-container.sh");
    assert!(out.status.success(), "test-container.sh: {out:?}");
}
