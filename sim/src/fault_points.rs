//! Fault points on simulated nodes: the supervisor holds one kind of work on one node (a
//! broker's AlterPartition requests) while everything else on it, and on its links, runs.
//!
//! Fault model: a held point stops each task that reaches it, at that point, until the
//! release; the work it carries was built before the hold (an AlterPartition keeps the
//! broker epochs it was built with), so a release delivers it late and unchanged, like a
//! request delayed in flight. Holds survive a kill and restart of the node (a new
//! incarnation reaching the point waits too); a kill drops the waiting tasks themselves (when
//! madsim next schedules them).
//! [`World::heal`] releases every held point. The points are seedlog's
//! (`seedlog::runtime::FaultPoint`); in seedlog's production build they cannot be armed.

use seedlog::events::Event;
use seedlog::runtime::FaultPoint;

use crate::events::{FaultPointArmed, FaultPointReleased};
use crate::world::World;

impl World {
    /// Holds `point` on `node` until [`World::release`]. Emits `fault_point_armed`.
    pub fn hold(&self, node: &str, point: FaultPoint) {
        self.fault_points(node).hold(point);
        FaultPointArmed { node: node.to_string(), point: point.name().to_string() }.emit();
    }

    /// Lets the work held at `point` on `node` go, and later work pass. Emits
    /// `fault_point_released` (with how many tasks were waiting) if it was held.
    pub fn release(&self, node: &str, point: FaultPoint) {
        let points = self.fault_points(node);
        if !points.is_held(point) {
            return;
        }
        let waiting = points.waiting(point) as u64;
        points.release(point);
        FaultPointReleased { node: node.to_string(), point: point.name().to_string(), waiting, still_held: false }
            .emit();
    }

    /// Lets the work waiting at `point` on `node` now go, and keeps holding the point for
    /// later work. Emits `fault_point_released` with `still_held`.
    pub fn let_through(&self, node: &str, point: FaultPoint) {
        let points = self.fault_points(node);
        let waiting = points.waiting(point) as u64;
        points.let_through(point);
        let (node, point) = (node.to_string(), point.name().to_string());
        FaultPointReleased { node, point, waiting, still_held: true }.emit();
    }

    /// How many tasks wait at `point` on `node` now.
    pub fn waiting_at(&self, node: &str, point: FaultPoint) -> usize {
        self.fault_points(node).waiting(point)
    }

    /// Releases every held point on every node (part of [`World::heal`]).
    pub(crate) fn release_all(&self) {
        for node in self.node_names() {
            for point in FaultPoint::ALL {
                self.release(&node, point);
            }
        }
    }
}
