//! BUGGIFY: probabilistic fault points that push production code down its rare paths, as
//! FoundationDB's `BUGGIFY` macro does.
//!
//! Faults injected from outside (a kill, a cut link, a failed fsync on the disk) reach a
//! node only through its edges. Some paths are rare because of what the code itself does: an
//! answer that happens to be empty, a segment that happens to roll, a request whose answer
//! happens to be lost. A buggify point is a place in production code that asks
//! [`FaultPoints::fires`](super::FaultPoints::fires) whether to take such a path now.
//!
//! Model (FoundationDB's): for each run, each point is *enabled* or not (the simulator draws
//! it once per run from the seed, 25% each by default), and an enabled point *fires* at each
//! check with its own small probability ([`BuggifyPoint::fire_probability`]), drawn from the
//! node's seeded source. A point that is not enabled never fires, so most runs exercise a few
//! points hard rather than all of them a little; over many seeds every mix turns up. Each
//! firing is reported as `buggify_fired {point}` by the node that fired, so a sweep can
//! count which points fired at least once (`sim::buggify::fired_points`).
//!
//! Production build (no `--cfg madsim`): [`FaultPoints`](super::FaultPoints) has no fields,
//! and `fires` is a `const fn` returning `false`, so every `if points.fires(..)` is
//! `if false` and the optimizer removes the branch and its body. The tests at the bottom of
//! `fault_points.rs` prove what can be proved cheaply: the type is zero-sized and `fires` is
//! false in a `const` context, which a function that read any state could not be.

use std::time::Duration;

/// A place in production code that may take a rare path on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BuggifyPoint {
    /// A partition log's fsync is slow: it waits [`BuggifyPoint::delay_range_ms`] more
    /// before syncing (`buggify_disk.rs`, the disk a broker's partition logs are opened on).
    FsyncSlow,
    /// A partition log's fsync fails with an injected EIO, without syncing. The log then
    /// does what it does on any failed fsync: it goes offline and the broker halts; the
    /// supervisor restarts it (a kill first, so the unsynced data is subject to the crash).
    FsyncFail,
    /// A leader answers a follower's fetch with no records for a partition (as if nothing
    /// were new) though it read some (`replica_manager.rs`, `fetch_for_follower`).
    FetchAnsweredEmpty,
    /// A leader answers a follower's fetch late, by [`BuggifyPoint::delay_range_ms`]
    /// (`replica_manager.rs`, `fetch_for_follower`).
    FetchAnsweredLate,
    /// A leader cuts a follower's fetch answer for a partition to its first batch, as if
    /// `partition_max_bytes` allowed no more (`replica_manager.rs`, `fetch_for_follower`).
    FetchCutShort,
    /// A leader rolls a partition's active segment before a produce's append, though the
    /// segment is neither full nor old (`replica_manager.rs`, `append`).
    SegmentRolledEarly,
    /// A broker's request to the active controller is answered, but the answer is lost as if
    /// the attempt had timed out: the connection is dropped and the request sent again, until
    /// the request's own deadline (`controller_rpc.rs`, `ControllerClient::send`). The
    /// controller may so apply a request twice, which it must tolerate.
    ControllerRequestTimedOut,
}

impl BuggifyPoint {
    /// Every point.
    pub const ALL: [BuggifyPoint; 7] = [
        BuggifyPoint::FsyncSlow,
        BuggifyPoint::FsyncFail,
        BuggifyPoint::FetchAnsweredEmpty,
        BuggifyPoint::FetchAnsweredLate,
        BuggifyPoint::FetchCutShort,
        BuggifyPoint::SegmentRolledEarly,
        BuggifyPoint::ControllerRequestTimedOut,
    ];

    /// The point's name in the trace (`buggify_fired {point}`).
    pub fn name(self) -> &'static str {
        match self {
            BuggifyPoint::FsyncSlow => "fsync_slow",
            BuggifyPoint::FsyncFail => "fsync_fail",
            BuggifyPoint::FetchAnsweredEmpty => "fetch_answered_empty",
            BuggifyPoint::FetchAnsweredLate => "fetch_answered_late",
            BuggifyPoint::FetchCutShort => "fetch_cut_short",
            BuggifyPoint::SegmentRolledEarly => "segment_rolled_early",
            BuggifyPoint::ControllerRequestTimedOut => "controller_request_timed_out",
        }
    }

    /// How likely an enabled point fires at each check. Points checked often (every fsync,
    /// every fetch answer) fire rarely; a failed fsync halts a broker, so it is the rarest.
    pub fn fire_probability(self) -> f64 {
        match self {
            BuggifyPoint::FsyncSlow => 0.02,
            BuggifyPoint::FsyncFail => 0.002,
            BuggifyPoint::FetchAnsweredEmpty => 0.03,
            BuggifyPoint::FetchAnsweredLate => 0.01,
            BuggifyPoint::FetchCutShort => 0.05,
            BuggifyPoint::SegmentRolledEarly => 0.02,
            BuggifyPoint::ControllerRequestTimedOut => 0.03,
        }
    }

    /// For the points that delay: the range the delay is drawn from, ms (inclusive).
    pub fn delay_range_ms(self) -> (u64, u64) {
        match self {
            BuggifyPoint::FsyncSlow => (5, 400),
            BuggifyPoint::FetchAnsweredLate => (50, 1_500),
            _ => (0, 0),
        }
    }

    /// The delay for a point that fired, from a uniform draw `unit` in `[0, 1)`.
    pub fn delay(self, unit: f64) -> Duration {
        let (min, max) = self.delay_range_ms();
        let span = (max - min + 1) as f64;
        Duration::from_millis(min + ((unit * span) as u64).min(max - min))
    }
}

pub use state::Buggify;

/// The state behind the points. It is compiled in both builds, so that its tests run in
/// the ordinary one, but only the simulation build's `FaultPoints` holds one.
mod state {
    use std::collections::BTreeSet;
    use std::sync::Mutex;

    use rand::Rng;

    use super::BuggifyPoint;
    use crate::events::{BuggifyFired, Event};
    use crate::runtime::NodeRng;

    /// One node's buggify state: the points enabled for this run and
    /// the seeded source that decides each firing. Shared by the node's incarnations.
    ///
    /// Invariants: a point not in `enabled` never fires; every firing draws from `rng` alone,
    /// so for a seed the firings depend only on the order of the node's checks.
    #[derive(Debug, Default)]
    pub struct Buggify {
        enabled: BTreeSet<BuggifyPoint>,
        rng: Mutex<Option<NodeRng>>,
    }

    impl Buggify {
        /// Buggify with `enabled` points, firing by draws from `rng`.
        pub fn new(enabled: BTreeSet<BuggifyPoint>, rng: NodeRng) -> Self {
            Buggify { enabled, rng: Mutex::new(Some(rng)) }
        }

        /// Whether `point` is enabled for this run.
        pub fn is_enabled(&self, point: BuggifyPoint) -> bool {
            self.enabled.contains(&point)
        }

        /// Whether `point` fires now; reports `buggify_fired` when it does.
        pub fn fires(&self, point: BuggifyPoint) -> bool {
            if !self.is_enabled(point) {
                return false;
            }
            let fired = self.draw(|rng| rng.random_bool(point.fire_probability()));
            if fired {
                BuggifyFired { point: point.name().to_string() }.emit();
            }
            fired
        }

        /// A uniform draw in `[0, 1)` from the node's source (a fired point's delay).
        pub fn unit(&self) -> f64 {
            self.draw(|rng| rng.random::<f64>())
        }

        fn draw<T: Default>(&self, f: impl FnOnce(&mut NodeRng) -> T) -> T {
            let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
            rng.as_mut().map(f).unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::runtime::seeded;

    fn firings(enabled: &[BuggifyPoint], seed: u64, point: BuggifyPoint, checks: usize) -> Vec<bool> {
        let buggify = Buggify::new(enabled.iter().copied().collect(), seeded(seed));
        (0..checks).map(|_| buggify.fires(point)).collect()
    }

    #[test]
    fn a_disabled_point_never_fires() {
        let fired = firings(&[BuggifyPoint::FsyncSlow], 1, BuggifyPoint::FetchCutShort, 10_000);
        assert!(fired.iter().all(|f| !f));
        assert!(!Buggify::default().fires(BuggifyPoint::FsyncSlow));
        assert!(!Buggify::new(BTreeSet::new(), seeded(1)).fires(BuggifyPoint::FsyncSlow));
    }

    #[test]
    fn an_enabled_point_fires_at_about_its_probability() {
        let point = BuggifyPoint::FetchCutShort;
        let fired = firings(&[point], 7, point, 100_000).into_iter().filter(|f| *f).count();
        let expected = point.fire_probability() * 100_000.0;
        assert!((fired as f64 - expected).abs() < expected * 0.1, "{fired} firings, expected about {expected}");
    }

    #[test]
    fn firings_are_deterministic_per_seed() {
        let point = BuggifyPoint::SegmentRolledEarly;
        assert_eq!(firings(&[point], 3, point, 5_000), firings(&[point], 3, point, 5_000));
        assert_ne!(firings(&[point], 3, point, 5_000), firings(&[point], 4, point, 5_000));
    }

    #[test]
    fn names_are_unique_and_delays_stay_in_range() {
        let names: std::collections::BTreeSet<&str> = BuggifyPoint::ALL.iter().map(|p| p.name()).collect();
        assert_eq!(names.len(), BuggifyPoint::ALL.len());
        for point in BuggifyPoint::ALL {
            let (min, max) = point.delay_range_ms();
            for unit in [0.0, 0.5, 0.999_999_9] {
                let ms = point.delay(unit).as_millis() as u64;
                assert!((min..=max).contains(&ms), "{point:?}: {ms} ms");
            }
            assert!(point.fire_probability() > 0.0 && point.fire_probability() < 0.1);
        }
    }
}
