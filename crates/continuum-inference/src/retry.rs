//! Retry policy: which failures are retried, and how long to wait.
//!
//! Retried: HTTP 429, HTTP 5xx and failures to connect, up to
//! `max_attempts` attempts in all. The wait is exponential (`base_delay`,
//! doubling) with equal jitter (half fixed, half random), capped at
//! `max_delay`; a `Retry-After` in seconds replaces it. A `Retry-After`
//! longer than `max_delay` is not waited out: the call fails at once with
//! [`crate::InferenceError::RateLimited`] carrying it, so the caller decides.
//! Streams are retried only until their body starts: once a byte has been
//! read, an error ends the stream. Timeouts of a started request are not
//! retried, since the provider may still be generating (and billing).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// How a provider's requests are retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, including the first (at least 1).
    pub max_attempts: u32,
    /// Delay before the first retry, before jitter.
    pub base_delay: Duration,
    /// No wait is longer than this.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
        }
    }
}

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryDecision {
    /// Wait this long, then try again.
    RetryAfter(Duration),
    /// Give up and report the failure.
    GiveUp,
}

impl RetryPolicy {
    /// Decides after attempt number `attempt` (1-based) failed with a
    /// retryable failure; `retry_after` is the server's `Retry-After`.
    pub fn decide(&self, attempt: u32, retry_after: Option<Duration>) -> RetryDecision {
        if attempt >= self.max_attempts.max(1) {
            return RetryDecision::GiveUp;
        }
        match retry_after {
            Some(wait) if wait > self.max_delay => RetryDecision::GiveUp,
            Some(wait) => RetryDecision::RetryAfter(wait),
            None => RetryDecision::RetryAfter(self.backoff(attempt, random_unit())),
        }
    }

    /// Backoff after attempt `attempt` with jitter `unit` in `[0, 1)`:
    /// `d/2 + unit * d/2` where `d = min(base * 2^(attempt-1), max)`.
    pub fn backoff(&self, attempt: u32, unit: f64) -> Duration {
        let exp = attempt.saturating_sub(1).min(20);
        let full = self
            .base_delay
            .saturating_mul(1u32 << exp)
            .min(self.max_delay);
        full / 2 + full.div_f64(2.0).mul_f64(unit.clamp(0.0, 1.0))
    }
}

/// Whether an HTTP status is worth retrying.
pub fn is_retryable_status(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// Parses `Retry-After` given in seconds. HTTP-date values are not
/// supported and read as absent (the exponential backoff applies).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// A uniform value in `[0, 1)`, good enough for jitter: std's randomly
/// seeded hasher, so no RNG dependency.
fn random_unit() -> f64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(0x9e37_79b9_7f4a_7c15);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
        }
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = policy();
        assert_eq!(p.backoff(1, 1.0), Duration::from_millis(100));
        assert_eq!(p.backoff(2, 1.0), Duration::from_millis(200));
        assert_eq!(p.backoff(3, 1.0), Duration::from_millis(300));
        assert_eq!(p.backoff(30, 1.0), Duration::from_millis(300));
    }

    #[test]
    fn jitter_keeps_at_least_half_the_delay() {
        assert_eq!(policy().backoff(2, 0.0), Duration::from_millis(100));
    }

    #[test]
    fn attempts_are_bounded() {
        let p = policy();
        assert!(matches!(p.decide(3, None), RetryDecision::RetryAfter(_)));
        assert_eq!(p.decide(4, None), RetryDecision::GiveUp);
    }

    #[test]
    fn retry_after_is_honoured_unless_longer_than_max_delay() {
        let p = policy();
        assert_eq!(
            p.decide(1, Some(Duration::from_millis(250))),
            RetryDecision::RetryAfter(Duration::from_millis(250))
        );
        assert_eq!(
            p.decide(1, Some(Duration::from_secs(60))),
            RetryDecision::GiveUp
        );
    }

    #[test]
    fn random_jitter_stays_in_range() {
        for _ in 0..100 {
            let u = random_unit();
            assert!((0.0..1.0).contains(&u));
        }
    }

    #[test]
    fn retry_after_reads_seconds_only() {
        assert_eq!(parse_retry_after(" 2 "), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn retryable_statuses() {
        assert!(is_retryable_status(429));
        assert!(is_retryable_status(503));
        assert!(!is_retryable_status(400));
        assert!(!is_retryable_status(401));
    }
}
