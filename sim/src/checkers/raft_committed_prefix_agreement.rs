//! RaftCommittedPrefixAgreement: nodes agree on the committed metadata log (REPLICATION.md
//! §6.6): when a node's high watermark passes a batch, the batch has the same bounds, epoch
//! and digest as the first one recorded as committed at those offsets on any node; so does
//! a batch a node appends below its own high watermark.
//!
//! State: each node's log (from `RaftAppended`/`RaftTruncated`, kept across restarts since
//! voters sync every append; see `log_model.rs` for a lost tail), the committed batches (for
//! the whole run) and how far each node's high watermark has been checked, which restarts
//! at 0 on the node's `node_killed` (its high watermark is learnt afresh). Assumes batches
//! keep the leader's bounds on every node (`RaftAppended`'s contract).
//!
//! Snapshots (KIP-630): `RaftSnapshotInstalled` replaces a node's log by an empty one at the
//! snapshot's end; `RaftSnapshotLoaded` (start-up) and `RaftSnapshotTaken` drop what lies below
//! it. Every snapshot of one end offset, on any node and by any of the three events, must have
//! the same epoch and digest (a snapshot is a function of the committed prefix: the simulated
//! nodes encode the same state to the same bytes), and that epoch must be the committed epoch
//! of the entry just below its end.

use std::collections::BTreeMap;

use seedlog::events::{
    RaftAppended, RaftHighWatermark, RaftSnapshotInstalled, RaftSnapshotLoaded, RaftSnapshotTaken, RaftTruncated,
};

use super::killed_node;
use super::log_model::{Batch, LogModel};
use crate::checker::{Checker, Violation};
use crate::trace::TraceEvent;

const NAME: &str = "RaftCommittedPrefixAgreement";

/// Node logs and the committed log.
#[derive(Default)]
pub struct RaftCommittedPrefixAgreement {
    logs: BTreeMap<String, LogModel>,
    committed: LogModel,
    /// Per node: every batch below this offset was checked (the node's high watermark).
    checked_to: BTreeMap<String, i64>,
    /// Every snapshot seen, by end offset: its epoch, digest and the node that showed it first.
    snapshots: BTreeMap<i64, (i32, u64, String)>,
    violations: Vec<Violation>,
}

/// One snapshot event's id and digest.
struct SnapshotSeen {
    end_offset: i64,
    epoch: i32,
    digest: u64,
    how: &'static str,
}

impl RaftCommittedPrefixAgreement {
    fn on_snapshot(&mut self, ev: &TraceEvent, seen: SnapshotSeen) {
        let SnapshotSeen { end_offset, epoch, digest, how } = seen;
        let first = self.snapshots.entry(end_offset).or_insert_with(|| (epoch, digest, ev.node.clone()));
        if (first.0, first.1) != (epoch, digest) {
            let message = format!(
                "{} {how} snapshot at {end_offset} (epoch {epoch}, digest {digest:x}), but {} had it with epoch {}, digest {:x}",
                ev.node, first.2, first.0, first.1
            );
            self.violations.push(Violation::new(NAME, ev.time_ns, message));
        }
        if let Some(last) = self.committed.covering(end_offset - 1).filter(|b| b.epoch != epoch) {
            let message =
                format!("{} {how} snapshot at {end_offset} of epoch {epoch}, but {last} was committed there", ev.node);
            self.violations.push(Violation::new(NAME, ev.time_ns, message));
        }
    }

    fn check(&mut self, ev: &TraceEvent, batch: Batch, why: &str) {
        if let Some(committed) = self.committed.conflict(&batch) {
            let message = format!("{} {why} batch {batch}, but {committed} was committed there", ev.node);
            self.violations.push(Violation::new(NAME, ev.time_ns, message));
        } else {
            self.committed.record(batch);
        }
    }

    fn on_high_watermark(&mut self, ev: &TraceEvent, high_watermark: i64) {
        let checked_to = self.checked_to.get(&ev.node).copied().unwrap_or(0);
        if high_watermark <= checked_to {
            return;
        }
        let (passed, log_end_offset): (Vec<Batch>, i64) = match self.logs.get(&ev.node) {
            Some(log) => (log.overlapping(checked_to, high_watermark).collect(), log.end_offset()),
            None => (Vec::new(), 0),
        };
        for batch in passed {
            self.check(ev, batch, &format!("committed (high watermark {high_watermark})"));
        }
        if log_end_offset < high_watermark {
            let message = format!("{} has high watermark {high_watermark} past its log end {log_end_offset}", ev.node);
            self.violations.push(Violation::new(NAME, ev.time_ns, message));
        }
        self.checked_to.insert(ev.node.clone(), high_watermark);
    }
}

impl Checker for RaftCommittedPrefixAgreement {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        if let Some(node) = killed_node(ev) {
            self.checked_to.remove(&node);
        } else if let Some(a) = ev.parse::<RaftAppended>() {
            let batch =
                Batch { base_offset: a.base_offset, last_offset: a.last_offset, epoch: a.epoch, checksum: a.digest };
            self.logs.entry(ev.node.clone()).or_default().append(batch);
            if self.checked_to.get(&ev.node).is_some_and(|&to| batch.base_offset < to) {
                self.check(ev, batch, "appended below its high watermark the");
            }
        } else if let Some(t) = ev.parse::<RaftTruncated>() {
            self.logs.entry(ev.node.clone()).or_default().truncate(t.offset);
            if let Some(to) = self.checked_to.get_mut(&ev.node) {
                *to = (*to).min(t.offset);
            }
        } else if let Some(hw) = ev.parse::<RaftHighWatermark>() {
            self.on_high_watermark(ev, hw.high_watermark);
        } else if let Some(s) = ev.parse::<RaftSnapshotInstalled>() {
            self.logs.entry(ev.node.clone()).or_default().reset_to(s.end_offset);
            let seen = SnapshotSeen { end_offset: s.end_offset, epoch: s.epoch, digest: s.digest, how: "installed" };
            self.on_snapshot(ev, seen);
        } else if let Some(s) = ev.parse::<RaftSnapshotLoaded>() {
            self.logs.entry(ev.node.clone()).or_default().delete_below(s.end_offset);
            let seen = SnapshotSeen { end_offset: s.end_offset, epoch: s.epoch, digest: s.digest, how: "loaded" };
            self.on_snapshot(ev, seen);
        } else if let Some(s) = ev.parse::<RaftSnapshotTaken>() {
            self.logs.entry(ev.node.clone()).or_default().delete_below(s.end_offset);
            let seen = SnapshotSeen { end_offset: s.end_offset, epoch: s.epoch, digest: s.digest, how: "took" };
            self.on_snapshot(ev, seen);
        }
    }

    fn finish(&mut self) -> Vec<Violation> {
        std::mem::take(&mut self.violations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::{event_on, killed, run};

    fn appended(node: &str, epoch: i32, base_offset: i64, last_offset: i64, digest: u64) -> TraceEvent {
        event_on(node, &RaftAppended { epoch, base_offset, last_offset, digest })
    }

    fn hw(node: &str, high_watermark: i64) -> TraceEvent {
        let is_leader = node == "c1";
        let hw = RaftHighWatermark {
            high_watermark,
            epoch: 1,
            is_leader,
            epoch_start_offset: if is_leader { 0 } else { -1 },
            voter_end_offsets: String::new(),
        };
        event_on(node, &hw)
    }

    #[test]
    fn passes_when_nodes_commit_the_same_batches() {
        let found = run(
            RaftCommittedPrefixAgreement::default(),
            &[
                appended("c1", 1, 0, 1, 7),
                appended("c2", 1, 0, 1, 7),
                // c3 holds a stale batch it never commits, truncates it and fetches the real one.
                appended("c3", 0, 0, 0, 99),
                hw("c1", 2),
                hw("c2", 2),
                event_on("c3", &RaftTruncated { offset: 0, high_watermark: 0 }),
                appended("c3", 1, 0, 1, 7),
                hw("c3", 2),
                killed("c2"),
                hw("c2", 2),
            ],
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn fires_when_a_node_commits_a_different_batch() {
        let found = run(
            RaftCommittedPrefixAgreement::default(),
            &[appended("c1", 1, 0, 1, 7), appended("c2", 1, 0, 1, 8), hw("c1", 2), hw("c2", 2)],
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].message.starts_with("c2 committed (high watermark 2) batch 0..=1 (epoch 1, checksum 8)"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn fires_when_a_node_rewrites_below_its_high_watermark() {
        let found = run(
            RaftCommittedPrefixAgreement::default(),
            &[appended("c1", 1, 0, 1, 7), hw("c1", 2), appended("c1", 2, 0, 1, 9)],
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("appended below its high watermark"), "{}", found[0].message);
    }

    fn installed(node: &str, end_offset: i64, epoch: i32, digest: u64) -> TraceEvent {
        event_on(node, &RaftSnapshotInstalled { end_offset, epoch, bytes: 10, digest })
    }

    #[test]
    fn an_installed_snapshot_replaces_the_nodes_log() {
        let found = run(
            RaftCommittedPrefixAgreement::default(),
            &[
                appended("c1", 1, 0, 4, 7),
                hw("c1", 5),
                event_on("c1", &RaftSnapshotTaken { end_offset: 5, epoch: 1, bytes: 10, digest: 3 }),
                // c3 held a divergent tail; the snapshot replaces it, its HW moves to the end.
                appended("c3", 0, 0, 2, 99),
                installed("c3", 5, 1, 3),
                hw("c3", 5),
                appended("c3", 2, 5, 5, 8),
                hw("c3", 6),
            ],
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn fires_when_snapshots_of_one_offset_disagree() {
        let found = run(
            RaftCommittedPrefixAgreement::default(),
            &[
                appended("c1", 1, 0, 4, 7),
                hw("c1", 5),
                event_on("c1", &RaftSnapshotTaken { end_offset: 5, epoch: 1, bytes: 10, digest: 3 }),
                installed("c2", 5, 1, 4),
                installed("c3", 5, 2, 3),
            ],
        );
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].message.contains("c2 installed snapshot at 5"), "{}", found[0].message);
        assert!(found[2].message.contains("was committed there"), "{}", found[2].message);
    }

    #[test]
    fn fires_when_the_high_watermark_passes_the_log_end() {
        let found = run(RaftCommittedPrefixAgreement::default(), &[appended("c2", 1, 0, 1, 7), hw("c2", 5)]);
        assert_eq!(found.len(), 1, "{found:?}");
    }
}
