//! When a node snapshots the metadata it has applied (Kafka's `SnapshotGenerator`, KIP-630):
//! once `metadata.log.max.record.bytes.between.snapshots` bytes of records were applied since
//! the last snapshot, or `metadata.log.max.snapshot.interval.ms` passed since it with records
//! applied. Every node does this for its own image, voter or observer, as Kafka's brokers and
//! controllers each do.
//!
//! A core without IO: the loader tells it what it applied and loaded, asks whether a snapshot
//! is due and when to look again, and takes the snapshot itself.

/// The two limits, under Kafka's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotPolicy {
    /// `metadata.log.max.record.bytes.between.snapshots` (default 20 MiB, at least 1).
    pub max_bytes_between_snapshots: u64,
    /// `metadata.log.max.snapshot.interval.ms` (default 1 h; 0 turns the time limit off).
    pub max_interval_ms: u64,
}

impl Default for SnapshotPolicy {
    fn default() -> Self {
        SnapshotPolicy { max_bytes_between_snapshots: 20 * 1024 * 1024, max_interval_ms: 3_600_000 }
    }
}

/// Bytes and time since the last snapshot.
///
/// Invariant: `bytes_since_snapshot > 0` only if `records_since_snapshot`.
#[derive(Debug, Clone)]
pub struct SnapshotGenerator {
    policy: SnapshotPolicy,
    bytes_since_snapshot: u64,
    records_since_snapshot: bool,
    last_snapshot_ms: u64,
}

impl SnapshotGenerator {
    /// Counting from `now_ms` (a start counts as a snapshot for the time limit: Kafka's
    /// generator starts its clock when it starts too).
    pub fn new(policy: SnapshotPolicy, now_ms: u64) -> Self {
        SnapshotGenerator { policy, bytes_since_snapshot: 0, records_since_snapshot: false, last_snapshot_ms: now_ms }
    }

    /// Records of `bytes` bytes were applied.
    pub fn on_applied(&mut self, bytes: u64) {
        self.bytes_since_snapshot += bytes;
        self.records_since_snapshot = true;
    }

    /// The image was replaced by a snapshot (loaded or installed), or one was taken (or
    /// refused because a newer one is already there): count from here.
    pub fn on_snapshot(&mut self, now_ms: u64) {
        self.bytes_since_snapshot = 0;
        self.records_since_snapshot = false;
        self.last_snapshot_ms = now_ms;
    }

    /// Whether a snapshot is due.
    pub fn is_due(&self, now_ms: u64) -> bool {
        if !self.records_since_snapshot {
            return false;
        }
        self.bytes_since_snapshot >= self.policy.max_bytes_between_snapshots
            || self.next_deadline().is_some_and(|deadline| now_ms >= deadline)
    }

    /// When the time limit makes a snapshot due, if records wait for one and it is on.
    pub fn next_deadline(&self) -> Option<u64> {
        (self.records_since_snapshot && self.policy.max_interval_ms > 0)
            .then(|| self.last_snapshot_ms.saturating_add(self.policy.max_interval_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(bytes: u64, interval_ms: u64) -> SnapshotPolicy {
        SnapshotPolicy { max_bytes_between_snapshots: bytes, max_interval_ms: interval_ms }
    }

    #[test]
    fn due_after_enough_bytes() {
        let mut generator = SnapshotGenerator::new(policy(100, 0), 0);
        generator.on_applied(60);
        assert!(!generator.is_due(0));
        generator.on_applied(40);
        assert!(generator.is_due(0));
        generator.on_snapshot(5);
        assert!(!generator.is_due(5));
    }

    #[test]
    fn due_after_the_interval_only_with_new_records() {
        let mut generator = SnapshotGenerator::new(policy(1 << 20, 1000), 0);
        assert!(!generator.is_due(5000), "nothing applied: nothing to snapshot");
        assert_eq!(generator.next_deadline(), None);
        generator.on_applied(1);
        assert_eq!(generator.next_deadline(), Some(1000));
        assert!(!generator.is_due(999));
        assert!(generator.is_due(1000));
        generator.on_snapshot(1200);
        generator.on_applied(1);
        assert_eq!(generator.next_deadline(), Some(2200));
    }

    #[test]
    fn an_interval_of_zero_turns_the_time_limit_off() {
        let mut generator = SnapshotGenerator::new(policy(1 << 20, 0), 0);
        generator.on_applied(1);
        assert_eq!(generator.next_deadline(), None);
        assert!(!generator.is_due(u64::MAX));
    }
}
