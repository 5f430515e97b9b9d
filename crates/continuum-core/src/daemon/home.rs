//! Where the daemon keeps its files. One type computes every path so the
//! daemon, `cu` and tests agree.

use std::io;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Longest Unix socket path the kernel accepts (sun_path minus the NUL).
const MAX_SOCKET_PATH: usize = 107;

/// The daemon's home directory layout.
///
/// ```text
/// $CONTINUUM_HOME/        (0700)
///   run/                  (0700) core.sock (0600), core.pid, core.lock
///   logs/core.log
///   data/*.sqlite
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// `$CONTINUUM_HOME`, else `~/.continuum`.
    pub fn from_env() -> io::Result<Home> {
        if let Some(home) = std::env::var_os("CONTINUUM_HOME").filter(|v| !v.is_empty()) {
            return Ok(Home::at(PathBuf::from(home)));
        }
        let user_home = std::env::var_os("HOME")
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    "neither CONTINUUM_HOME nor HOME is set",
                )
            })?;
        Ok(Home::at(PathBuf::from(user_home).join(".continuum")))
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

    /// The single-instance lock file.
    pub fn lock_file(&self) -> PathBuf {
        self.run_dir().join("core.lock")
    }

    /// The daemon's log.
    pub fn log_file(&self) -> PathBuf {
        self.root.join("logs").join("core.log")
    }

    /// Directory of the embedded SQLite stores.
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    /// Creates the layout with owner-only permissions and checks the socket
    /// path fits the kernel's limit.
    pub fn prepare(&self) -> io::Result<()> {
        for dir in [
            self.root.clone(),
            self.run_dir(),
            self.data_dir(),
            self.root.join("logs"),
        ] {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)?;
        }
        // An existing directory keeps its mode under DirBuilder; enforce it.
        std::fs::set_permissions(&self.root, std::fs::Permissions::from_mode(0o700))?;
        std::fs::set_permissions(self.run_dir(), std::fs::Permissions::from_mode(0o700))?;
        let socket = self.socket();
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "socket path {} is longer than {MAX_SOCKET_PATH} bytes; set CONTINUUM_HOME to a shorter path",
                    socket.display()
                ),
            ));
        }
        Ok(())
    }
}
