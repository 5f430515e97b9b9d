//! `cu service`: the daemon as a systemd *user* service.
//!
//! - [`unit`]: the unit file's text (pure, with its quoting rules).
//! - here: where the file goes, writing and removing it, and asking the
//!   user's systemd manager (`systemctl --user`) to load, start and stop it.
//!
//! `cu start` and `cu stop` go through systemd when the unit serves their
//! home ([`start_through_systemd`], [`stop_through_systemd`]), so systemd's
//! idea of the service never drifts from the daemon's.

pub(crate) mod command;
pub mod unit;

use crate::control::{self, ControlError, Started, Stopped};
use crate::exit;
use continuum_wire::Home;
use serde_json::Value;
use std::fmt;
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
pub use unit::{UnitPathError, UnitSpec, UNIT_NAME};

/// How long `install` and `cu start` wait for a service they started to answer.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long `cu stop` waits for the home's lock after `systemctl stop`.
const STOP_TIMEOUT: Duration = Duration::from_secs(25);

/// Why a `cu service` action failed.
#[derive(Debug)]
pub enum ServiceError {
    /// Neither `$XDG_CONFIG_HOME` nor `$HOME` says where user units live.
    NoConfigDir,
    /// A path that cannot be written into a unit file.
    Path(UnitPathError),
    /// `continuum-core` was not found.
    Daemon(ControlError),
    /// A different unit is already installed; `--force` replaces it.
    Differs {
        /// The installed unit file.
        unit: PathBuf,
    },
    /// The installed unit was not written by `cu`; `--force` removes it.
    NotOurs {
        /// The installed unit file.
        unit: PathBuf,
    },
    /// Reading or writing a file failed.
    Io {
        /// What was being done ("write", "remove", ...).
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// `systemctl --user ...` failed.
    Systemctl {
        /// The arguments after `systemctl --user`.
        args: String,
        /// What it said (or why it could not run).
        detail: String,
    },
    /// The service was started but the daemon did not answer.
    NotAnswering {
        /// What systemd says about the unit.
        state: String,
        /// The end of the daemon's log.
        log: String,
    },
}

impl ServiceError {
    /// The exit code `cu` ends with for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            ServiceError::NoConfigDir => exit::USAGE,
            ServiceError::Differs { .. } | ServiceError::NotOurs { .. } => exit::REFUSED,
            ServiceError::Path(_)
            | ServiceError::Daemon(_)
            | ServiceError::Io { .. }
            | ServiceError::Systemctl { .. }
            | ServiceError::NotAnswering { .. } => exit::FAILED,
        }
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceError::NoConfigDir => f.write_str(
                "cannot tell where user units live: set HOME (or XDG_CONFIG_HOME to an absolute path)",
            ),
            ServiceError::Path(err) => write!(f, "{err}"),
            ServiceError::Daemon(err) => write!(f, "{err}"),
            ServiceError::Differs { unit } => write!(
                f,
                "refused: {} already holds a different unit (another home or daemon binary, or edited by hand); \
                 `cu service install --print` shows the new one, `--force` replaces it",
                unit.display()
            ),
            ServiceError::NotOurs { unit } => write!(
                f,
                "refused: {} was not written by `cu service install`; `--force` removes it anyway",
                unit.display()
            ),
            ServiceError::Io {
                action,
                path,
                source,
            } => write!(f, "cannot {action} {}: {source}", path.display()),
            ServiceError::Systemctl { args, detail } => {
                write!(f, "`systemctl --user {args}` failed: {detail}")
            }
            ServiceError::NotAnswering { state, log } => write!(
                f,
                "systemd started {UNIT_NAME} but the daemon did not answer within {} s (unit: {state}).\n\
                 See `systemctl --user status {UNIT_NAME}` and `journalctl --user -u {UNIT_NAME}`.\n--- log ---\n{log}",
                START_TIMEOUT.as_secs()
            ),
        }
    }
}

impl std::error::Error for ServiceError {}

impl From<UnitPathError> for ServiceError {
    fn from(err: UnitPathError) -> Self {
        ServiceError::Path(err)
    }
}

/// The directory user units are installed in: `$XDG_CONFIG_HOME/systemd/user`,
/// else `~/.config/systemd/user` (a relative `XDG_CONFIG_HOME` is ignored, as
/// the XDG base directory spec says).
pub fn unit_dir() -> Result<PathBuf, ServiceError> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|home| !home.is_empty())
                .map(|home| PathBuf::from(home).join(".config"))
        })
        .ok_or(ServiceError::NoConfigDir)?;
    Ok(config.join("systemd").join("user"))
}

/// The unit file's path.
pub fn unit_file() -> Result<PathBuf, ServiceError> {
    Ok(unit_dir()?.join(UNIT_NAME))
}

fn absolute(path: &Path) -> Result<PathBuf, ServiceError> {
    std::path::absolute(path).map_err(|source| ServiceError::Io {
        action: "resolve",
        path: path.to_owned(),
        source,
    })
}

/// The unit `install` would write for `home`: the daemon `cu start` would
/// run (`$CONTINUUM_CORE_BIN`, beside `cu`, or on `PATH`), both paths
/// absolute. Symlinks are kept, so a reinstalled binary behind one is used.
pub fn render_for(home: &Home) -> Result<String, ServiceError> {
    let daemon = absolute(&control::find_daemon().map_err(ServiceError::Daemon)?)?;
    let home = absolute(home.root())?;
    Ok(unit::render(UnitSpec {
        daemon: &daemon,
        home: &home,
    })?)
}

/// Whether a user's systemd manager answers `systemctl --user`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manager {
    /// It answers; its state (`running`, `degraded`, ...).
    Running(String),
    /// None answers here, and why.
    Absent(String),
}

/// Asks `systemctl --user is-system-running`.
pub fn user_manager() -> Manager {
    let output = Command::new("systemctl")
        .args(["--user", "is-system-running"])
        .stdin(Stdio::null())
        .output();
    match output {
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            Manager::Absent("systemctl is not installed".into())
        }
        Err(err) => Manager::Absent(format!("cannot run systemctl: {err}")),
        Ok(out) => {
            let state = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            match state.as_str() {
                "running" | "degraded" | "starting" | "initializing" | "maintenance" => {
                    Manager::Running(state)
                }
                _ => {
                    let said = String::from_utf8_lossy(&out.stderr)
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .to_owned();
                    let said = if said.is_empty() { state } else { said };
                    Manager::Absent(format!(
                        "no systemd user manager answers (`systemctl --user is-system-running`: {said})"
                    ))
                }
            }
        }
    }
}

/// Runs `systemctl --user ARGS`; its stdout, or why it failed.
fn systemctl(args: &[&str]) -> Result<String, ServiceError> {
    let failed = |detail: String| ServiceError::Systemctl {
        args: args.join(" "),
        detail,
    };
    let out = Command::new("systemctl")
        .arg("--user")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|err| failed(err.to_string()))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        Err(failed(if stderr.is_empty() {
            out.status.to_string()
        } else {
            stderr
        }))
    }
}

/// One word `systemctl --user is-active`/`is-enabled` prints (they exit
/// non-zero for "inactive", "disabled", ..., which is still an answer).
fn systemctl_word(query: &str) -> Option<String> {
    let out = Command::new("systemctl")
        .args(["--user", query, UNIT_NAME])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let word = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (!word.is_empty()).then_some(word)
}

/// What `install` should do besides writing the file.
#[derive(Debug, Clone, Copy)]
pub struct InstallOptions {
    /// Load, enable and start the unit when a user manager answers.
    pub start: bool,
    /// Replace a different unit already installed.
    pub force: bool,
}

/// What happened to the unit file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// It did not exist.
    Created,
    /// A different unit was replaced (`--force`).
    Replaced,
    /// It already held exactly this unit.
    Unchanged,
}

/// What happened with systemd after writing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activation {
    /// `--no-start`.
    NotRequested,
    /// Enabled and running under systemd; `system/info` of the daemon.
    Started(Value),
    /// Enabled, but a daemon started by `cu start` holds the home (pid), so
    /// systemd's would exit at once: it starts at the next login, or after
    /// `cu stop` and `cu start` (which then goes through systemd).
    EnabledBesideRunning(Option<i32>),
    /// No user manager here; why.
    NoManager(String),
}

/// What `install` did.
#[derive(Debug)]
pub struct Installed {
    /// The unit file.
    pub unit: PathBuf,
    /// Its home (absolute).
    pub home: PathBuf,
    /// What happened to the file.
    pub written: Written,
    /// What happened with systemd.
    pub activation: Activation,
}

/// Writes the unit for `home`, then (unless told not to) loads, enables and
/// starts it under the user's manager.
pub fn install(home: &Home, options: InstallOptions) -> Result<Installed, ServiceError> {
    let text = render_for(home)?;
    let unit = unit_file()?;
    let written = match std::fs::read_to_string(&unit) {
        Ok(existing) if existing == text => Written::Unchanged,
        Ok(_) if !options.force => return Err(ServiceError::Differs { unit }),
        Ok(_) => Written::Replaced,
        Err(err) if err.kind() == io::ErrorKind::NotFound => Written::Created,
        Err(source) => {
            return Err(ServiceError::Io {
                action: "read",
                path: unit,
                source,
            })
        }
    };
    let home_dir = absolute(home.root())?;
    // ReadWritePaths= must exist when the service starts, and the daemon
    // could not create it under ProtectSystem=strict.
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&home_dir)
        .map_err(|source| ServiceError::Io {
            action: "create",
            path: home_dir.clone(),
            source,
        })?;
    if written != Written::Unchanged {
        write_atomically(&unit, &text)?;
    }
    let activation = if options.start {
        activate(home, written)?
    } else {
        Activation::NotRequested
    };
    Ok(Installed {
        unit,
        home: home_dir,
        written,
        activation,
    })
}

fn write_atomically(path: &Path, text: &str) -> Result<(), ServiceError> {
    let io_err = |action, path: &Path| {
        let path = path.to_owned();
        move |source| ServiceError::Io {
            action,
            path,
            source,
        }
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io_err("create", dir))?;
    let partial = dir.join(format!(".{UNIT_NAME}.{}.partial", std::process::id()));
    let result = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(&partial)
        .and_then(|mut file| {
            io::Write::write_all(&mut file, text.as_bytes())?;
            file.sync_all()
        })
        .map_err(io_err("write", &partial))
        .and_then(|()| std::fs::rename(&partial, path).map_err(io_err("write", path)));
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

fn activate(home: &Home, written: Written) -> Result<Activation, ServiceError> {
    if let Manager::Absent(why) = user_manager() {
        return Ok(Activation::NoManager(why));
    }
    systemctl(&["daemon-reload"])?;
    systemctl(&["enable", UNIT_NAME])?;
    if control::lock_is_held(home) && !control::daemon_pid(home).is_some_and(runs_under_unit) {
        return Ok(Activation::EnabledBesideRunning(control::daemon_pid(home)));
    }
    // A replaced unit only takes effect in a fresh process.
    let verb = if written == Written::Replaced {
        "restart"
    } else {
        "start"
    };
    let log_start = log_length(home);
    systemctl(&[verb, UNIT_NAME])?;
    wait_until_answering(home, log_start).map(Activation::Started)
}

fn log_length(home: &Home) -> u64 {
    std::fs::metadata(home.log_file()).map_or(0, |m| m.len())
}

/// Waits until the daemon systemd started answers; fails early if the unit
/// fails. `log_start`: the log's length before the start, so an error shows
/// what this start logged.
fn wait_until_answering(home: &Home, log_start: u64) -> Result<Value, ServiceError> {
    let began = Instant::now();
    loop {
        if let Some(info) = control::probe(home) {
            return Ok(info);
        }
        let state = systemctl_word("is-active").unwrap_or_else(|| "unknown".into());
        if state == "failed" || began.elapsed() > START_TIMEOUT {
            return Err(ServiceError::NotAnswering {
                state,
                log: control::log_tail(&home.log_file(), log_start, 20),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What `uninstall` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uninstalled {
    /// There was no unit file.
    NotInstalled(PathBuf),
    /// The file is gone; stopped and disabled first when a manager answered
    /// (else the reason none did).
    Removed {
        /// The removed file.
        unit: PathBuf,
        /// `None` if systemd stopped and disabled it; else why it could not.
        no_manager: Option<String>,
    },
}

/// Stops and disables the unit (when a user manager answers) and removes
/// the file. Never touches the daemon's home.
pub fn uninstall(force: bool) -> Result<Uninstalled, ServiceError> {
    let unit = unit_file()?;
    match std::fs::read_to_string(&unit) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Ok(Uninstalled::NotInstalled(unit))
        }
        Err(source) => {
            return Err(ServiceError::Io {
                action: "read",
                path: unit,
                source,
            })
        }
        Ok(text) if !text.starts_with(unit::MARKER) && !force => {
            return Err(ServiceError::NotOurs { unit })
        }
        Ok(_) => {}
    }
    let no_manager = match user_manager() {
        Manager::Running(_) => {
            systemctl(&["daemon-reload"])?;
            systemctl(&["disable", "--now", UNIT_NAME])?;
            None
        }
        Manager::Absent(why) => Some(why),
    };
    std::fs::remove_file(&unit).map_err(|source| ServiceError::Io {
        action: "remove",
        path: unit.clone(),
        source,
    })?;
    if no_manager.is_none() {
        systemctl(&["daemon-reload"])?;
        // A unit that had failed stays listed until reset; nothing is left
        // to reset if it had not.
        let _ = systemctl(&["reset-failed", UNIT_NAME]);
    }
    Ok(Uninstalled::Removed { unit, no_manager })
}

/// What `cu service status` reports.
#[derive(Debug)]
pub struct ServiceStatus {
    /// The unit file's path.
    pub unit: PathBuf,
    /// Whether it exists.
    pub installed: bool,
    /// Whether `cu service install` wrote it.
    pub written_by_cu: bool,
    /// Whether it is exactly what `install` would write now (same home,
    /// same daemon binary); `None` if that cannot be rendered.
    pub current: Option<bool>,
    /// Whether it serves this home.
    pub for_this_home: bool,
    /// The user manager.
    pub manager: Manager,
    /// `systemctl --user is-active` (when a manager answers).
    pub active: Option<String>,
    /// `systemctl --user is-enabled` (when a manager answers).
    pub enabled: Option<String>,
}

/// Looks at the unit file and asks systemd about it.
pub fn status(home: &Home) -> Result<ServiceStatus, ServiceError> {
    let unit = unit_file()?;
    let text = match std::fs::read_to_string(&unit) {
        Ok(text) => Some(text),
        Err(err) if err.kind() == io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(ServiceError::Io {
                action: "read",
                path: unit,
                source,
            })
        }
    };
    let manager = user_manager();
    let running = matches!(manager, Manager::Running(_));
    Ok(ServiceStatus {
        installed: text.is_some(),
        written_by_cu: text.as_deref().is_some_and(|t| t.starts_with(unit::MARKER)),
        current: text
            .as_deref()
            .and_then(|t| render_for(home).ok().map(|want| want == t)),
        for_this_home: text.as_deref().is_some_and(|t| serves(t, home)),
        active: running.then(|| systemctl_word("is-active")).flatten(),
        enabled: running.then(|| systemctl_word("is-enabled")).flatten(),
        manager,
        unit,
    })
}

/// Whether unit text `text` runs the daemon for `home`.
fn serves(text: &str, home: &Home) -> bool {
    let Ok(home) = std::path::absolute(home.root()) else {
        return false;
    };
    unit::environment_line(&home).is_ok_and(|line| text.lines().any(|l| l == line))
}

/// Whether process `pid` runs inside this unit (its cgroup is the unit's).
pub fn runs_under_unit(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup")).is_ok_and(|cgroups| {
        cgroups.lines().any(|line| {
            line.rsplit(':')
                .next()
                .is_some_and(|path| path.ends_with(&format!("/{UNIT_NAME}")))
        })
    })
}

/// `cu start` for a home the installed unit serves, when a user manager
/// answers: `systemctl --user start`, then wait until the daemon answers.
/// `None` when the unit does not apply (not installed, another home, no
/// manager): `cu start` then starts the daemon itself.
pub fn start_through_systemd(home: &Home) -> Option<Result<Started, ServiceError>> {
    let text = std::fs::read_to_string(unit_file().ok()?).ok()?;
    if !serves(&text, home) || !matches!(user_manager(), Manager::Running(_)) {
        return None;
    }
    if let Some(info) = control::probe(home) {
        return Some(Ok(Started::AlreadyRunning(info)));
    }
    let began = Instant::now();
    let log_start = log_length(home);
    Some(
        systemctl(&["start", UNIT_NAME])
            .and_then(|_| wait_until_answering(home, log_start))
            .map(|info| Started::Started {
                info,
                elapsed: began.elapsed(),
            }),
    )
}

/// `cu stop` for a daemon running inside the unit, when a user manager
/// answers: `systemctl --user stop`, so systemd neither restarts it nor
/// reports it failed. `None` when the daemon does not run under the unit.
pub fn stop_through_systemd(home: &Home) -> Option<Result<Stopped, ServiceError>> {
    let pid = control::daemon_pid(home).filter(|&pid| runs_under_unit(pid))?;
    if !matches!(user_manager(), Manager::Running(_)) {
        return None;
    }
    Some(systemctl(&["stop", UNIT_NAME]).and_then(|_| {
        let began = Instant::now();
        while control::lock_is_held(home) || control::pid_running(pid) {
            if began.elapsed() > STOP_TIMEOUT {
                return Err(ServiceError::Systemctl {
                    args: format!("stop {UNIT_NAME}"),
                    detail: format!("pid {pid} still holds the home"),
                });
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(Stopped::Graceful(Some(pid)))
    }))
}

/// Whether the installed unit is enabled (starts at login), when a manager
/// answers.
pub fn enabled() -> bool {
    systemctl_word("is-enabled").is_some_and(|word| word == "enabled")
}
