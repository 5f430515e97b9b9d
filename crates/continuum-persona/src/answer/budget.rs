//! What keeps a room from running forever: a budget of persona messages per
//! chain (a chain starts at a message from a person; every persona answer in
//! it, however it branches, counts against the room's hop budget), and a
//! per-persona rate limit.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

/// How many chains are remembered; older ones are forgotten (their rooms
/// have long gone quiet).
const CHAINS_KEPT: usize = 4096;

/// Persona messages per chain, reserved before inference so concurrent
/// answers cannot overshoot.
#[derive(Debug, Default)]
pub struct Chains {
    /// Persona message id -> the chain it belongs to.
    roots: HashMap<u64, u64>,
    /// Chain -> persona messages posted or being written.
    spent: HashMap<u64, u32>,
    order: VecDeque<u64>,
}

impl Chains {
    /// The chain of message `id`: a persona message's recorded chain, else
    /// (a person's message, or one from before a restart) its own id.
    pub fn root_of(&self, id: u64) -> u64 {
        self.roots.get(&id).copied().unwrap_or(id)
    }

    /// Whether persona message `id` was posted by the responder as part of a
    /// chain (a persona's own `chat/send` never is).
    pub fn is_chained(&self, id: u64) -> bool {
        self.roots.contains_key(&id)
    }

    /// Whether chain `root` has a persona message left in `budget`.
    pub fn has_room(&self, root: u64, budget: u32) -> bool {
        self.spent.get(&root).copied().unwrap_or(0) < budget
    }

    /// Reserves one persona message in chain `root`; false when the chain
    /// has spent `budget`.
    pub fn reserve(&mut self, root: u64, budget: u32) -> bool {
        if !self.spent.contains_key(&root) {
            self.order.push_back(root);
            if self.order.len() > CHAINS_KEPT {
                if let Some(old) = self.order.pop_front() {
                    self.spent.remove(&old);
                    self.roots.retain(|_, chain| *chain != old);
                }
            }
        }
        let spent = self.spent.entry(root).or_insert(0);
        if *spent >= budget {
            return false;
        }
        *spent += 1;
        true
    }

    /// Gives back a reservation that posted nothing.
    pub fn release(&mut self, root: u64) {
        if let Some(spent) = self.spent.get_mut(&root) {
            *spent = spent.saturating_sub(1);
        }
    }

    /// Records that persona message `id` belongs to chain `root`. A chain
    /// forgotten meanwhile (evicted) does not come back with a fresh budget:
    /// the message is left unchained, so nobody answers it.
    pub fn posted(&mut self, id: u64, root: u64) {
        if self.spent.contains_key(&root) {
            self.roots.insert(id, root);
        }
    }
}

/// A token bucket per persona: `burst` answers at once, refilled at
/// `per_minute`.
#[derive(Debug)]
pub struct RateLimiter {
    burst: f64,
    per_second: f64,
    buckets: HashMap<String, (f64, Instant)>,
}

impl RateLimiter {
    /// A limiter allowing `burst` answers at once and `per_minute` sustained.
    pub fn new(burst: u32, per_minute: u32) -> RateLimiter {
        RateLimiter {
            burst: f64::from(burst.max(1)),
            per_second: f64::from(per_minute) / 60.0,
            buckets: HashMap::new(),
        }
    }

    /// Takes one answer for `persona` at `now`; false when it is over its rate.
    pub fn try_take(&mut self, persona: &str, now: Instant) -> bool {
        let (tokens, last) = self
            .buckets
            .entry(persona.to_owned())
            .or_insert((self.burst, now));
        *tokens =
            (*tokens + now.duration_since(*last).as_secs_f64() * self.per_second).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_chain_spends_its_budget_across_branches_and_releases_failures() {
        let mut chains = Chains::default();
        assert!(chains.reserve(10, 3));
        chains.posted(11, 10);
        assert_eq!(chains.root_of(11), 10);
        assert_eq!(chains.root_of(99), 99);
        // Two personas answer message 11 at once: both in chain 10.
        assert!(chains.reserve(chains.root_of(11), 3));
        assert!(chains.reserve(chains.root_of(11), 3));
        assert!(!chains.reserve(10, 3));
        chains.release(10);
        assert!(chains.reserve(10, 3));
        assert!(!chains.reserve(10, 3));
        // Another person's message starts a fresh chain.
        assert!(chains.reserve(12, 3));
    }

    #[test]
    fn a_zero_budget_allows_no_persona_message() {
        assert!(!Chains::default().reserve(1, 0));
    }

    #[test]
    fn old_chains_are_forgotten_and_never_revived() {
        let mut chains = Chains::default();
        for root in 0..(CHAINS_KEPT as u64 + 10) {
            chains.reserve(root, 1);
        }
        assert!(chains.spent.len() <= CHAINS_KEPT);
        // An answer in chain 0 lands after chain 0 was evicted.
        chains.posted(1_000_000, 0);
        assert!(!chains.is_chained(1_000_000));
    }

    #[test]
    fn the_rate_limit_allows_a_burst_then_refills() {
        let mut limiter = RateLimiter::new(2, 60);
        let start = Instant::now();
        assert!(limiter.try_take("a", start));
        assert!(limiter.try_take("a", start));
        assert!(!limiter.try_take("a", start));
        assert!(limiter.try_take("b", start), "per persona");
        assert!(limiter.try_take("a", start + Duration::from_millis(1100)));
    }
}
