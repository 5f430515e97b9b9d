//! `system/*`: the daemon describing and controlling itself. These commands
//! hold the daemon's runtime state, so the [`SystemModule`] contributes them.

mod info;
mod metrics;
mod shutdown;

use continuum_kernel::clock::now_ms;
use continuum_kernel::command::{erase, ErasedCommand, Module};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// Runtime facts the `system/*` commands report, and the switch that begins
/// graceful shutdown.
#[derive(Debug)]
pub struct DaemonState {
    /// Daemon version.
    pub version: &'static str,
    /// Monotonic start.
    pub started: Instant,
    /// Wall-clock start, Unix ms.
    pub started_at_ms: u64,
    /// Home directory.
    pub home: PathBuf,
    /// Unix socket path.
    pub socket: PathBuf,
    /// Bound TCP address, when enabled.
    pub tcp: Option<SocketAddr>,
    /// Cancelled to begin graceful shutdown.
    pub shutdown: CancellationToken,
}

impl DaemonState {
    /// State for a daemon of `version` starting now in `home`.
    pub fn new(
        version: &'static str,
        home: PathBuf,
        socket: PathBuf,
        tcp: Option<SocketAddr>,
        shutdown: CancellationToken,
    ) -> Self {
        DaemonState {
            version,
            started: Instant::now(),
            started_at_ms: now_ms(),
            home,
            socket,
            tcp,
            shutdown,
        }
    }
}

/// Contributes `system/info`, `system/metrics` and `system/shutdown`.
pub struct SystemModule {
    state: Arc<DaemonState>,
}

impl SystemModule {
    /// A module over the daemon's runtime state.
    pub fn new(state: Arc<DaemonState>) -> Self {
        SystemModule { state }
    }
}

impl Module for SystemModule {
    fn commands(&self) -> Vec<ErasedCommand> {
        vec![
            erase(info::SystemInfo::new(Arc::clone(&self.state))),
            erase(metrics::SystemMetrics::new(Arc::clone(&self.state))),
            erase(shutdown::SystemShutdown::new(Arc::clone(&self.state))),
        ]
    }
}
