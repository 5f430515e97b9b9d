//! Per-command counters and latency histograms, owned by each registry entry
//! so the hot path never touches a shared map.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Latency histograms per command, one per stripe: threads record into
/// different stripes so concurrent calls of one command do not queue on one
/// lock; a reader merges them.
const STRIPES: usize = 4;

/// Calls, errors and latency of one command.
pub struct CommandStats {
    calls: AtomicU64,
    errors: AtomicU64,
    latency_us: [Mutex<Histogram<u64>>; STRIPES],
}

/// This thread's stripe, assigned round-robin on first use.
fn stripe() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static STRIPE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES;
    }
    STRIPE.with(|stripe| *stripe)
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
            // 1 us .. 1 h at 2 significant figures: a few KiB per stripe.
            latency_us: std::array::from_fn(|_| {
                Mutex::new(
                    Histogram::new_with_bounds(1, 3_600_000_000, 2)
                        .expect("valid histogram bounds"),
                )
            }),
        }
    }

    pub(crate) fn record(&self, elapsed: Duration, ok: bool) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let micros = (elapsed.as_micros() as u64).max(1);
        if let Ok(mut histogram) = self.latency_us[stripe()].lock() {
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
        let mut histogram = self.latency_us[0].lock().ok()?.clone();
        for stripe in &self.latency_us[1..] {
            histogram.add(&*stripe.lock().ok()?).ok()?;
        }
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
