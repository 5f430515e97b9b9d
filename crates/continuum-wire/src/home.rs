//! Where a daemon's files live. Both the daemon and its clients compute paths
//! here, so they can never disagree about where the socket is.

use std::path::{Path, PathBuf};

/// The layout of a daemon home:
///
/// ```text
/// $CONTINUUM_HOME/        (0700; default ~/.continuum)
///   run/                  (0700) core.sock (0600), core.pid, core.lock
///   logs/core.log
///   data/*.sqlite
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// `$CONTINUUM_HOME`, else `$HOME/.continuum`; `None` if neither is set.
    pub fn from_env() -> Option<Home> {
        if let Some(home) = std::env::var_os("CONTINUUM_HOME").filter(|v| !v.is_empty()) {
            return Some(Home::at(PathBuf::from(home)));
        }
        let user_home = std::env::var_os("HOME").filter(|v| !v.is_empty())?;
        Some(Home::at(PathBuf::from(user_home).join(".continuum")))
    }

    /// A home rooted at `root`.
    pub fn at(root: impl Into<PathBuf>) -> Home {
        Home { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Directory holding the socket, pid and lock files.
    pub fn run_dir(&self) -> PathBuf {
        self.root.join("run")
    }

    /// The Unix socket.
    pub fn socket(&self) -> PathBuf {
        self.run_dir().join("core.sock")
    }

    /// The pid file.
    pub fn pid_file(&self) -> PathBuf {
        self.run_dir().join("core.pid")
    }

    /// What the running daemon holds an exclusive `flock` on for its whole
    /// life: the home directory itself, so deleting a file inside the home
    /// can never let a second daemon in.
    pub fn lock_target(&self) -> &Path {
        &self.root
    }

    /// Directory of logs.
    pub fn log_dir(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// The daemon's log.
    pub fn log_file(&self) -> PathBuf {
        self.log_dir().join("core.log")
    }

    /// Directory of the embedded stores.
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    /// The catalog the daemon served when it last started (descriptors as
    /// `commands/list` gives them to the owner), so `cu <command> --help`
    /// works while it is stopped.
    pub fn catalog_file(&self) -> PathBuf {
        self.run_dir().join("catalog.json")
    }

    /// Where memories, vault items and shipped audit segments live
    /// (`storage = "sqlite"`, the default, or `"s3"`). Optional.
    pub fn storage_file(&self) -> PathBuf {
        self.root.join("storage.toml")
    }

    /// The daemon's configuration (per-command limits, ...). Optional.
    pub fn config_file(&self) -> PathBuf {
        self.root.join("config.toml")
    }

    /// The node identity (key 0600 and names).
    pub fn identity_dir(&self) -> PathBuf {
        self.root.join("identity")
    }

    /// Where live personas' homes are (one directory per persona id).
    pub fn personas_dir(&self) -> PathBuf {
        self.root.join("personas")
    }

    /// Where retired personas' homes are kept (never deleted).
    pub fn archived_personas_dir(&self) -> PathBuf {
        self.root.join("archive").join("personas")
    }
}
