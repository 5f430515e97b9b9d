//! Per-command counters and latency histograms, owned by each registry entry
//! so the hot path never touches a shared map.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Calls, errors and latency of one command.
pub struct CommandStats {
    calls: AtomicU64,
    errors: AtomicU64,
    latency_us: Mutex<Histogram<u64>>,
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Copy, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LatencySummary {
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// Slowest call.
    pub max_us: u64,
}

impl CommandStats {
    pub(crate) fn new() -> Self {
        CommandStats {
            calls: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            // 1 us .. 1 h at 2 significant figures: a few KiB per command.
            latency_us: Mutex::new(
                Histogram::new_with_bounds(1, 3_600_000_000, 2).expect("valid histogram bounds"),
            ),
        }
    }

    pub(crate) fn record(&self, elapsed: Duration, ok: bool) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let micros = (elapsed.as_micros() as u64).max(1);
        if let Ok(mut histogram) = self.latency_us.lock() {
            histogram.saturating_record(micros);
        }
    }

    /// Calls that reached the handler.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Calls that ended in an error.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// Latency percentiles, or `None` before the first call.
    pub fn latency(&self) -> Option<LatencySummary> {
        let histogram = self.latency_us.lock().ok()?;
        if histogram.is_empty() {
            return None;
        }
        Some(LatencySummary {
            p50_us: histogram.value_at_quantile(0.50),
            p90_us: histogram.value_at_quantile(0.90),
            p99_us: histogram.value_at_quantile(0.99),
            max_us: histogram.max(),
        })
    }
}
