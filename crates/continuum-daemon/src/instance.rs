//! One daemon per home. An exclusive `flock` on the home directory itself,
//! held for the process lifetime, decides ownership: the kernel drops it when
//! the process dies (even by `kill -9`), so a stale socket or pid file is
//! recognisable as stale, and a live daemon's socket is never taken over.
//! No file in the home can be deleted to get around it.

use continuum_wire::Home;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixStream;

/// Why this process cannot become the daemon for a home.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    /// Another live daemon owns the home.
    #[error("another continuum-core{} is already running for this home; refusing to take over its socket", pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    AlreadyRunning {
        /// Its pid, if the pid file says.
        pid: Option<u32>,
    },
    /// Filesystem trouble.
    #[error("cannot claim the home: {0}")]
    Io(#[from] io::Error),
}

/// Proof that this process owns the home. Dropping it removes the pid file.
pub struct InstanceLock {
    _lock: File,
    home: Home,
}

impl InstanceLock {
    /// Claims `home`, cleaning up what a crashed predecessor left behind.
    pub fn acquire(home: &Home) -> Result<InstanceLock, InstanceError> {
        let lock = File::open(home.lock_target())?;
        // std's file lock is flock(2) on Unix: exclusive, released by the
        // kernel when the process dies.
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(InstanceError::AlreadyRunning {
                    pid: read_pid(home),
                })
            }
            Err(TryLockError::Error(err)) => return Err(err.into()),
        }
        let socket = home.socket();
        if socket.exists() {
            // The lock is ours, so no daemon should be listening. If something
            // still answers (lock file deleted by hand?), do not steal it.
            if UnixStream::connect(&socket).is_ok() {
                return Err(InstanceError::AlreadyRunning {
                    pid: read_pid(home),
                });
            }
            tracing::warn!(socket = %socket.display(), "removing stale socket left by a previous crash");
            std::fs::remove_file(&socket)?;
        }
        if let Some(pid) = read_pid(home) {
            tracing::warn!(pid, "removing stale pid file left by a previous crash");
        }
        write_pid(home)?;
        Ok(InstanceLock {
            _lock: lock,
            home: home.clone(),
        })
    }
}

impl Drop for InstanceLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.home.pid_file());
    }
}

fn read_pid(home: &Home) -> Option<u32> {
    std::fs::read_to_string(home.pid_file())
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn write_pid(home: &Home) -> io::Result<()> {
    let tmp = home.run_dir().join("core.pid.tmp");
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    writeln!(file, "{}", std::process::id())?;
    file.sync_all()?;
    std::fs::rename(tmp, home.pid_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_claim_of_a_home_is_refused_while_the_first_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        crate::prepare(&home).unwrap();
        let first = InstanceLock::acquire(&home).unwrap();
        assert!(matches!(
            InstanceLock::acquire(&home),
            Err(InstanceError::AlreadyRunning { .. })
        ));
        drop(first);
        assert!(!home.pid_file().exists());
        InstanceLock::acquire(&home).unwrap();
    }

    #[test]
    fn stale_socket_file_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        crate::prepare(&home).unwrap();
        {
            let _listener = std::os::unix::net::UnixListener::bind(home.socket()).unwrap();
        }
        assert!(home.socket().exists());
        let _lock = InstanceLock::acquire(&home).unwrap();
        assert!(!home.socket().exists());
    }
}
