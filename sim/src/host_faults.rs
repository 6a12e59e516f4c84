//! Faults of a node's machine other than its process and network: its wall clock and its
//! disk. Each emits one trace event from the supervisor, so checkers and reports see when
//! it began and ended.

use seedlog::events::Event;
use seedlog::runtime::MemDiskFaults;

use crate::events::{ClockJumped, ClockSkewed, DiskFaultsChanged};
use crate::world::World;

impl World {
    /// Steps the node's wall clock by `delta_ms`; monotonic time is unaffected. Emits
    /// `clock_jumped`.
    pub fn jump_clock(&self, node: &str, delta_ms: i64) {
        self.clock(node).jump(delta_ms);
        ClockJumped { node: node.to_string(), delta_ms }.emit();
    }

    /// Sets the node's wall clock `skew_ms` off the true time. Emits `clock_skewed`.
    pub fn skew_clock(&self, node: &str, skew_ms: i64) {
        self.clock(node).set_skew(skew_ms);
        ClockSkewed { node: node.to_string(), skew_ms }.emit();
    }

    /// Gives the node's disk these faults from now on. Emits `disk_faults_changed`.
    pub fn set_disk_faults(&self, node: &str, faults: MemDiskFaults) {
        let per_million = |rate: f64| (rate * 1e6).round() as u64;
        DiskFaultsChanged {
            node: node.to_string(),
            sync_errors_per_million: per_million(faults.sync_error_rate),
            bit_flips_per_million: per_million(faults.bit_flip_rate),
            capacity_bytes: faults.capacity_bytes.map_or(-1, |c| i64::try_from(c).unwrap_or(i64::MAX)),
        }
        .emit();
        self.disk(node).set_faults(faults);
    }
}
