//! How long to wait before the next attempt of a retriable operation: Kafka's exponential
//! backoff with jitter (KIP-580, Java's `ExponentialBackoff`). The n-th retry (0-based)
//! waits `retry.backoff.ms * 2^n`, capped at `retry.backoff.max.ms`, times a random
//! factor in `[0.8, 1.2]` so clients that failed together do not retry together. When
//! `retry.backoff.ms` exceeds `retry.backoff.max.ms`, the maximum is the constant backoff
//! from the first retry on, as Kafka documents.
//!
//! A plain value: the random factor comes from a seeded [`NodeRng`] handed in.

use std::time::Duration;

use rand::Rng;

use crate::runtime::NodeRng;

/// The multiplier per retry (Kafka's `RETRY_BACKOFF_EXP_BASE`).
const EXP_BASE: f64 = 2.0;
/// The relative jitter either side (Kafka's `RETRY_BACKOFF_JITTER`).
const JITTER: f64 = 0.2;

/// Exponential backoff between `initial` and `max`.
///
/// Invariants: `0 < initial_ms <= max_ms` (a zero `retry.backoff.ms` is taken as 1 ms, so
/// retries never spin).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExponentialBackoff {
    initial_ms: u64,
    max_ms: u64,
}

impl ExponentialBackoff {
    /// From `retry.backoff.ms` and `retry.backoff.max.ms`.
    pub fn new(retry_backoff_ms: u64, retry_backoff_max_ms: u64) -> Self {
        let max_ms = retry_backoff_max_ms.max(1);
        let backoff = ExponentialBackoff { initial_ms: retry_backoff_ms.clamp(1, max_ms), max_ms };
        backoff.check_invariants();
        backoff
    }

    /// The wait before retry number `retries_before` + 1 (0 for the first retry).
    pub fn backoff(&self, retries_before: u32, rng: &mut NodeRng) -> Duration {
        let exponential = self.initial_ms as f64 * EXP_BASE.powi(retries_before.min(64) as i32);
        let capped = exponential.min(self.max_ms as f64);
        let factor = rng.random_range((1.0 - JITTER)..=(1.0 + JITTER));
        Duration::from_millis((capped * factor).round().max(1.0) as u64)
    }

    /// The longest wait [`Self::backoff`] can return.
    pub fn upper_bound(&self) -> Duration {
        Duration::from_millis((self.max_ms as f64 * (1.0 + JITTER)).round() as u64)
    }

    /// Asserts the invariants listed at the type.
    pub fn check_invariants(&self) {
        assert!(0 < self.initial_ms && self.initial_ms <= self.max_ms, "backoff {self:?} out of order");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn within(wait: Duration, ms: f64) -> bool {
        let wait = wait.as_millis() as f64;
        (ms * (1.0 - JITTER)).floor() <= wait && wait <= (ms * (1.0 + JITTER)).ceil()
    }

    #[test]
    fn waits_double_up_to_the_maximum_with_jitter() {
        let backoff = ExponentialBackoff::new(100, 1000);
        let mut rng = crate::runtime::seeded(7);
        for (retry, expected) in [(0, 100.0), (1, 200.0), (2, 400.0), (3, 800.0), (4, 1000.0), (30, 1000.0)] {
            let wait = backoff.backoff(retry, &mut rng);
            assert!(within(wait, expected), "retry {retry}: {wait:?} not within 20% of {expected} ms");
        }
        assert!(backoff.backoff(u32::MAX, &mut rng) <= backoff.upper_bound());
    }

    #[test]
    fn jitter_spreads_retries() {
        let backoff = ExponentialBackoff::new(100, 1000);
        let mut rng = crate::runtime::seeded(1);
        let waits: std::collections::BTreeSet<Duration> = (0..20).map(|_| backoff.backoff(2, &mut rng)).collect();
        assert!(waits.len() > 5, "{waits:?}");
    }

    #[test]
    fn a_base_above_the_maximum_is_a_constant_maximum() {
        let backoff = ExponentialBackoff::new(5000, 1000);
        let mut rng = crate::runtime::seeded(3);
        assert!(within(backoff.backoff(0, &mut rng), 1000.0));
        assert!(within(backoff.backoff(5, &mut rng), 1000.0));
        assert_eq!(ExponentialBackoff::new(0, 0), ExponentialBackoff { initial_ms: 1, max_ms: 1 });
    }

    #[test]
    #[should_panic(expected = "out of order")]
    fn the_invariant_fires_for_a_backoff_built_out_of_order() {
        ExponentialBackoff { initial_ms: 10, max_ms: 5 }.check_invariants();
    }
}
