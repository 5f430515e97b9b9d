//! `system/*`: the daemon describing and controlling itself. These commands
//! hold the daemon's runtime state, so the [`SystemModule`] contributes them.

mod info;
mod metrics;
mod shutdown;

use crate::command::{erase, DynCommand, Module};
use crate::daemon::DaemonState;
use std::sync::Arc;

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
    fn commands(&self) -> Vec<Arc<dyn DynCommand>> {
        vec![
            erase(info::SystemInfo::new(Arc::clone(&self.state))),
            erase(metrics::SystemMetrics::new(Arc::clone(&self.state))),
            erase(shutdown::SystemShutdown::new(Arc::clone(&self.state))),
        ]
    }
}
