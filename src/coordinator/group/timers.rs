//! Timers the core asks the shell to arm. A key names one deadline — (group, member, kind),
//! member `""` for the group's own deadlines — and the group remembers the deadline it last
//! armed per key, so a firing that was cancelled, re-armed later, or belongs to a removed
//! member is recognised as stale and ignored.

use std::collections::BTreeMap;

/// What a deadline is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TimerKind {
    /// A member's liveness: its session timeout, or the new-member join timeout while a
    /// freshly added member waits for the join phase to complete.
    Heartbeat,
    /// A KIP-394 pending member id not yet used to rejoin (session timeout).
    PendingMember,
    /// The group's join phase: the initial rebalance delay, else the rebalance timeout.
    Join,
    /// The group's sync deadline: members that have not sent SyncGroup are removed.
    Sync,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerKey {
    pub group_id: String,
    /// `""` for `Join` and `Sync`.
    pub member_id: String,
    pub kind: TimerKind,
}

/// Deadlines a group has armed, by (member, kind).
#[derive(Debug, Clone, Default)]
pub(super) struct Deadlines {
    armed: BTreeMap<(String, TimerKind), i64>,
}

impl Deadlines {
    pub(super) fn set(&mut self, member_id: &str, kind: TimerKind, deadline_ms: i64) {
        self.armed.insert((member_id.to_string(), kind), deadline_ms);
    }

    /// True when something was armed.
    pub(super) fn cancel(&mut self, member_id: &str, kind: TimerKind) -> bool {
        self.armed.remove(&(member_id.to_string(), kind)).is_some()
    }

    pub(super) fn get(&self, member_id: &str, kind: TimerKind) -> Option<i64> {
        self.armed.get(&(member_id.to_string(), kind)).copied()
    }

    /// True when the firing at `now_ms` is the one currently armed (and due).
    pub(super) fn is_due(&self, member_id: &str, kind: TimerKind, now_ms: i64) -> bool {
        self.get(member_id, kind).is_some_and(|deadline_ms| deadline_ms <= now_ms)
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&(String, TimerKind), &i64)> {
        self.armed.iter()
    }

    pub(super) fn clear(&mut self) -> Vec<(String, TimerKind)> {
        std::mem::take(&mut self.armed).into_keys().collect()
    }
}
