//! Retry policy: capped exponential backoff with full jitter, honouring `Retry-After`.
//!
//! Which failures are retried is decided where the answer is read (see `client.rs`): connection
//! errors, 412, 429, 5xx except 501 and the transient 400 of a fresh KV v2 mount; never other
//! 4xx. This module only says how long to wait before attempt `n + 1`.

use std::time::Duration;

/// How many times a request is tried, and how long the client waits in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first one included (1 = never retry).
    pub max_attempts: u32,
    /// The wait before the second attempt, before jitter; it doubles each time.
    pub base: Duration,
    /// The longest wait between two attempts (also caps a server's `Retry-After`).
    pub cap: Duration,
}

impl Default for RetryPolicy {
    /// Six attempts, 250 ms doubling to at most 5 s: about 10 s of patience in all, enough for
    /// a Raft leader election or a fresh KV mount, short enough for a CLI.
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base: Duration::from_millis(250),
            cap: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn never() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// A policy with `max_attempts` attempts and the default waits.
    pub fn attempts(max_attempts: u32) -> Self {
        Self {
            max_attempts: max_attempts.max(1),
            ..Self::default()
        }
    }

    /// The wait after failed attempt `attempt` (1-based): a uniformly random time up to
    /// `min(cap, base * 2^(attempt-1))` ("full jitter"), but never less than the server's
    /// `Retry-After` (itself capped).
    pub(crate) fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exponent = attempt.saturating_sub(1).min(20);
        let ceiling = self.base.saturating_mul(1 << exponent).min(self.cap);
        let jittered = ceiling.mul_f64(unit_random());
        match retry_after {
            Some(wait) => jittered.max(wait.min(self.cap)),
            None => jittered,
        }
    }
}

/// A random number in `[0, 1)`; 0.5 if the system has no randomness to give.
fn unit_random() -> f64 {
    let mut bytes = [0_u8; 8];
    if getrandom::getrandom(&mut bytes).is_err() {
        return 0.5;
    }
    // 53 random bits make an exactly representable fraction.
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1_u64 << 53) as f64
}

/// Parses a `Retry-After` header given in seconds (OpenBao sends `0` or `1`). HTTP dates are
/// not used by OpenBao and read as absent.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stay_under_the_doubling_ceiling_and_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(700),
        };
        for _ in 0..200 {
            assert!(policy.delay(1, None) < Duration::from_millis(100));
            assert!(policy.delay(3, None) < Duration::from_millis(400));
            assert!(policy.delay(9, None) < Duration::from_millis(700));
        }
    }

    #[test]
    fn retry_after_is_a_floor_within_the_cap() {
        let policy = RetryPolicy::default();
        assert!(policy.delay(1, Some(Duration::from_secs(1))) >= Duration::from_secs(1));
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(3600))),
            policy.cap,
            "a huge Retry-After is capped"
        );
        assert_eq!(parse_retry_after(" 1 "), Some(Duration::from_secs(1)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
