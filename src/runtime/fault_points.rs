//! Fault points: places in production code where the simulator can hold back one kind of
//! work on one node while everything else on the node runs.
//!
//! The simulator's network faults act on a whole link (a node pair). Some stories need finer
//! aim: KIP-903's needs a leader's AlterPartition delayed for longer than
//! `broker.session.timeout.ms` while the same leader's heartbeats, to the same controllers,
//! keep its session alive. A node is handed its [`FaultPoints`] in `NodeEnv`, and code that
//! can be held calls [`FaultPoints::pass`] on its way.
//!
//! In the production build (no `--cfg madsim`) the type is empty and `pass` is ready at
//! once: nothing can arm it. In the simulation build the supervisor holds and releases a
//! point per node; a `pass` at a held point waits for the release and reports
//! `fault_point_held` and `fault_point_passed` (stamped, in the trace, with the node that
//! waited). Holding is deterministic: the wait ends at the simulated instant of the release.
//!
//! The same handle carries the node's probabilistic points ([`BuggifyPoint`], see
//! `buggify.rs`): code asks [`FaultPoints::fires`] whether to take a rare path now. In the
//! production build that is a `const fn` returning `false`, on a type with no fields (the
//! tests below prove both), so the branch it guards compiles to nothing.

use std::sync::Arc;

use super::buggify::BuggifyPoint;
use super::Disk;

/// A place where work can be held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultPoint {
    /// A broker's AlterPartition request, built and about to go to the controller
    /// (`cluster_node.rs`, `send_alter_partitions`): holding it is a request delayed in
    /// flight, as in KIP-903's story.
    AlterPartitionSend,
}

impl FaultPoint {
    /// Every point.
    pub const ALL: [FaultPoint; 1] = [FaultPoint::AlterPartitionSend];

    /// The point's name in the trace.
    pub fn name(self) -> &'static str {
        match self {
            FaultPoint::AlterPartitionSend => "alter_partition_send",
        }
    }
}

/// One node's fault points (cheap to clone: clones share the state).
#[derive(Clone, Debug, Default)]
pub struct FaultPoints {
    #[cfg(madsim)]
    state: Arc<held::State>,
    /// Off (`Buggify::default()`) unless the simulator armed it.
    #[cfg(madsim)]
    buggify: Arc<super::Buggify>,
}

impl FaultPoints {
    /// Whether any point can do anything in this build.
    pub const ENABLED: bool = cfg!(madsim);

    /// Waits while `point` is held on this node (never, in the production build).
    pub async fn pass(&self, point: FaultPoint) {
        #[cfg(madsim)]
        self.state.pass(point).await;
        #[cfg(not(madsim))]
        let _ = point;
    }

    /// Whether buggify point `point` fires now: never in the production build.
    #[cfg(not(madsim))]
    #[inline(always)]
    pub const fn fires(&self, point: BuggifyPoint) -> bool {
        let _ = point;
        false
    }

    /// Whether buggify point `point` fires now (it must be enabled for this run, then it
    /// fires with its probability); reports `buggify_fired` when it does.
    #[cfg(madsim)]
    pub fn fires(&self, point: BuggifyPoint) -> bool {
        self.buggify.fires(point)
    }

    /// The delay of a delaying point that fires now (`None`: it does not; never, in the
    /// production build).
    #[cfg(not(madsim))]
    #[inline(always)]
    pub const fn delay(&self, point: BuggifyPoint) -> Option<std::time::Duration> {
        let _ = point;
        None
    }

    /// The delay of a delaying point that fires now, drawn from the point's range (`None`:
    /// it does not fire).
    #[cfg(madsim)]
    pub fn delay(&self, point: BuggifyPoint) -> Option<std::time::Duration> {
        self.fires(point).then(|| point.delay(self.buggify.unit()))
    }

    /// The disk a node's partition logs use: `disk` itself in the production build.
    #[cfg(not(madsim))]
    pub fn storage_disk(&self, disk: Arc<dyn Disk>) -> Arc<dyn Disk> {
        disk
    }

    /// The disk a node's partition logs use: `disk` behind the fsync points
    /// (`buggify_disk.rs`).
    #[cfg(madsim)]
    pub fn storage_disk(&self, disk: Arc<dyn Disk>) -> Arc<dyn Disk> {
        Arc::new(super::buggify_disk::BuggifyDisk::new(disk, self.clone()))
    }
}

#[cfg(madsim)]
impl FaultPoints {
    /// Fault points whose buggify points fire per `buggify` (the simulator's, per node).
    pub fn with_buggify(buggify: super::Buggify) -> Self {
        FaultPoints { state: Default::default(), buggify: Arc::new(buggify) }
    }
}

#[cfg(madsim)]
impl FaultPoints {
    /// Whether buggify point `point` is enabled for this run on this node.
    pub fn buggify_enabled(&self, point: BuggifyPoint) -> bool {
        self.buggify.is_enabled(point)
    }

    /// From now on, `pass(point)` on this node waits until [`FaultPoints::release`].
    pub fn hold(&self, point: FaultPoint) {
        self.state.lock().held.entry(point).or_insert(0);
    }

    /// Lets every waiter at `point` go, and later ones pass.
    pub fn release(&self, point: FaultPoint) {
        self.state.lock().held.remove(&point);
        self.state.released.notify_waiters();
    }

    /// Lets the tasks waiting at `point` now go and keeps holding it for later ones (one
    /// delayed request delivered, the next ones delayed again).
    pub fn let_through(&self, point: FaultPoint) {
        if let Some(wave) = self.state.lock().held.get_mut(&point) {
            *wave += 1;
        }
        self.state.released.notify_waiters();
    }

    /// Whether `point` is held.
    pub fn is_held(&self, point: FaultPoint) -> bool {
        self.state.is_held(point)
    }

    /// How many tasks wait at `point` now (a killed node's waiters are gone).
    pub fn waiting(&self, point: FaultPoint) -> usize {
        self.state.lock().waiting.get(&point).copied().unwrap_or(0)
    }
}

#[cfg(madsim)]
mod held {
    use std::collections::BTreeMap;
    use std::sync::{Mutex, MutexGuard};

    use tokio::sync::Notify;
    use tracing::info;

    use super::FaultPoint;

    /// The held points and their waiters. (A `Notify`, not tokio's `watch`, which wakes
    /// waiters in an order the simulator cannot replay: clippy.toml.)
    #[derive(Debug, Default)]
    pub(super) struct State {
        points: Mutex<Points>,
        pub(super) released: Notify,
    }

    #[derive(Debug, Default)]
    pub(super) struct Points {
        /// The held points, each with its wave: a waiter passes once its point is released
        /// or its wave has moved on (`let_through`).
        pub(super) held: BTreeMap<FaultPoint, u64>,
        pub(super) waiting: BTreeMap<FaultPoint, usize>,
    }

    impl State {
        pub(super) async fn pass(&self, point: FaultPoint) {
            let Some(wave) = self.wave(point) else { return };
            let since = crate::runtime::now();
            let _waiting = Waiting::enter(self, point);
            info!(name: "fault_point_held", point = point.name());
            loop {
                let released = self.released.notified();
                tokio::pin!(released);
                // Registered before the check, so a release between the two is not missed.
                released.as_mut().enable();
                if self.wave(point) != Some(wave) {
                    break;
                }
                released.await;
            }
            let held_ms = crate::runtime::now().duration_since(since).as_millis() as u64;
            info!(name: "fault_point_passed", point = point.name(), held_ms);
        }

        pub(super) fn is_held(&self, point: FaultPoint) -> bool {
            self.wave(point).is_some()
        }

        fn wave(&self, point: FaultPoint) -> Option<u64> {
            self.lock().held.get(&point).copied()
        }

        pub(super) fn lock(&self) -> MutexGuard<'_, Points> {
            self.points.lock().unwrap_or_else(|p| p.into_inner())
        }
    }

    /// Counts one waiter while it lives (its task may be dropped by a kill).
    struct Waiting<'a> {
        state: &'a State,
        point: FaultPoint,
    }

    impl<'a> Waiting<'a> {
        fn enter(state: &'a State, point: FaultPoint) -> Self {
            *state.lock().waiting.entry(point).or_default() += 1;
            Waiting { state, point }
        }
    }

    impl Drop for Waiting<'_> {
        fn drop(&mut self) {
            if let Some(count) = self.state.lock().waiting.get_mut(&self.point) {
                *count -= 1;
            }
        }
    }
}

/// The production build's points cost nothing: a zero-sized handle, and `fires` is false
/// in a `const` context, so it reads no state and the optimizer folds every guarded branch.
#[cfg(all(test, not(madsim)))]
mod production_tests {
    use super::*;

    const _: () = assert!(!FaultPoints::ENABLED);
    const _: () = {
        let points = FaultPoints {};
        let mut i = 0;
        while i < BuggifyPoint::ALL.len() {
            assert!(!points.fires(BuggifyPoint::ALL[i]));
            assert!(points.delay(BuggifyPoint::ALL[i]).is_none());
            i += 1;
        }
    };

    #[test]
    fn the_production_handle_is_empty_and_never_fires() {
        assert_eq!(std::mem::size_of::<FaultPoints>(), 0);
        let points = FaultPoints::default();
        for point in BuggifyPoint::ALL {
            assert!(!points.fires(point));
            assert_eq!(points.delay(point), None);
        }
    }
}
