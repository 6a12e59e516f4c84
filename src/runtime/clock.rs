//! The per-node wall clock.
//!
//! Simulated *monotonic* time comes from the runtime (`tokio::time`, madsim in simulation).
//! Wall-clock time — record timestamps, the time index, `retention.ms`, `log.roll.ms` — is
//! read through a [`Clock`], so the simulator can skew it, make it drift or jump it per node
//! while the rest of the world keeps the true time. In production the adjustments stay zero
//! and a `Clock` is the system clock. Under madsim `SystemTime::now` is itself simulated and
//! seeded, so both worlds read the same source.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A node's wall clock: the system clock plus the adjustments the simulator set.
///
/// `now_ms = system_ms + skew_ms + (system_ms - drift_anchor_ms) * drift_ppm / 1_000_000`
///
/// Invariants:
/// - with no adjustments `now_ms` is the system clock;
/// - a clone shares the adjustments, so the simulator's handle and the node see one clock.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    adjust: Arc<ClockAdjust>,
}

#[derive(Debug, Default)]
struct ClockAdjust {
    skew_ms: AtomicI64,
    drift_ppm: AtomicI64,
    drift_anchor_ms: AtomicI64,
}

impl Clock {
    /// The system clock with no adjustment.
    pub fn system() -> Self {
        Self::default()
    }

    /// Milliseconds since the Unix epoch, as this node sees them.
    pub fn now_ms(&self) -> i64 {
        let system_ms = system_now_ms();
        let skew_ms = self.adjust.skew_ms.load(Ordering::Relaxed);
        let drift_ppm = self.adjust.drift_ppm.load(Ordering::Relaxed);
        let anchor_ms = self.adjust.drift_anchor_ms.load(Ordering::Relaxed);
        let drift_ms = (system_ms - anchor_ms).saturating_mul(drift_ppm) / 1_000_000;
        system_ms + skew_ms + drift_ms
    }

    /// Moves this node's clock by `delta_ms` at once (an NTP step, a VM resume).
    pub fn jump(&self, delta_ms: i64) {
        self.adjust.skew_ms.fetch_add(delta_ms, Ordering::Relaxed);
    }

    /// Sets a constant offset from the true time.
    pub fn set_skew(&self, skew_ms: i64) {
        self.adjust.skew_ms.store(skew_ms, Ordering::Relaxed);
    }

    /// Makes the clock run fast (positive) or slow (negative) by `drift_ppm` from now on.
    /// The drift accumulated so far is folded into the skew so the clock does not jump.
    pub fn set_drift(&self, drift_ppm: i64) {
        let now_ms = self.now_ms();
        let system_ms = system_now_ms();
        self.adjust.skew_ms.store(now_ms - system_ms, Ordering::Relaxed);
        self.adjust.drift_anchor_ms.store(system_ms, Ordering::Relaxed);
        self.adjust.drift_ppm.store(drift_ppm, Ordering::Relaxed);
    }
}

#[allow(clippy::disallowed_methods)] // the one place wall time is read
fn system_now_ms() -> i64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_and_jump_move_only_this_clock() {
        let clock = Clock::system();
        let other = Clock::system();
        clock.set_skew(60_000);
        clock.jump(-1_000);
        let delta_ms = clock.now_ms() - other.now_ms();
        assert!((58_000..=60_000).contains(&delta_ms), "delta {delta_ms}");
    }

    #[test]
    fn drift_does_not_jump_when_set() {
        let clock = Clock::system();
        clock.set_skew(5_000);
        let before_ms = clock.now_ms();
        clock.set_drift(1_000_000); // twice as fast from now on
        let after_ms = clock.now_ms();
        assert!((after_ms - before_ms).abs() < 1_000);
    }
}
