//! Every replica's log and each partition's committed batches, rebuilt from data-plane
//! events; shared by the checkers that compare replicas (`CommittedPrefixAgreement`,
//! `NoTruncationBelowHighWatermark`, `NoReadOfTruncatedRecord`). Not a checker itself.
//!
//! - A replica's log is a [`LogModel`] per (node, partition): `BatchReplicated` appends,
//!   `ReplicaTruncated` truncates. It is kept across restarts (see `log_model.rs` for what a
//!   crash that loses a tail leaves behind).
//! - A partition's committed log records, the first time a leader's high watermark
//!   (`HighWatermarkAdvanced`) passes a batch, that batch of the leader's log. An unclean
//!   election (`UncleanLeaderElected`) forgets it, and how far each replica was compared:
//!   from there on the new leader's lineage is what gets committed.
//! - Per (node, partition), how far the replica's log was compared with the committed one:
//!   up to its last high watermark (the leader's, or `FollowerHighWatermark`'s). A batch
//!   appended below that point is compared at once.

use std::collections::BTreeMap;

use seedlog::events::{
    BatchReplicated, FollowerHighWatermark, HighWatermarkAdvanced, ReplicaTruncated, UncleanLeaderElected,
};

use super::log_model::{Batch, LogModel};
use super::TopicPartition;
use crate::trace::TraceEvent;

/// A replica holding a batch where the committed log holds another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    pub partition: TopicPartition,
    pub batch: Batch,
    pub committed: Batch,
    /// How the replica came to hold it under a high watermark.
    pub how: String,
}

/// What one event changed.
#[derive(Debug, Default)]
pub struct Observation {
    /// Batches a replica holds below a high watermark that contradict the committed log.
    pub conflicts: Vec<Conflict>,
    /// The batches a `ReplicaTruncated` removed from the replica's log.
    pub removed: Vec<Batch>,
}

type ReplicaKey = (String, TopicPartition);

/// The replicas' logs and the committed logs.
#[derive(Default)]
pub struct ReplicaLogs {
    logs: BTreeMap<ReplicaKey, LogModel>,
    committed: BTreeMap<TopicPartition, LogModel>,
    checked_to: BTreeMap<ReplicaKey, i64>,
}

impl ReplicaLogs {
    /// Updates the model with `ev` (a data-plane event from the node that emitted it).
    pub fn observe(&mut self, ev: &TraceEvent) -> Observation {
        let mut seen = Observation::default();
        if let Some(b) = ev.parse::<BatchReplicated>() {
            let key = (ev.node.clone(), TopicPartition::new(&b.topic, b.partition));
            let batch = Batch {
                base_offset: b.base_offset,
                last_offset: b.last_offset,
                epoch: b.leader_epoch,
                checksum: b.crc,
            };
            self.logs.entry(key.clone()).or_default().append(batch);
            if self.checked_to.get(&key).is_some_and(|&to| batch.base_offset < to) {
                self.compare(&key, batch, false, "appended below its high watermark", &mut seen);
            }
        } else if let Some(t) = ev.parse::<ReplicaTruncated>() {
            let key = (ev.node.clone(), TopicPartition::new(&t.topic, t.partition));
            seen.removed = self.logs.entry(key.clone()).or_default().truncate(t.offset);
            if let Some(to) = self.checked_to.get_mut(&key) {
                *to = (*to).min(t.offset);
            }
        } else if let Some(hw) = ev.parse::<HighWatermarkAdvanced>() {
            let key = (ev.node.clone(), TopicPartition::new(&hw.topic, hw.partition));
            self.passed(key, hw.high_watermark, true, &mut seen);
        } else if let Some(hw) = ev.parse::<FollowerHighWatermark>() {
            let key = (ev.node.clone(), TopicPartition::new(&hw.topic, hw.partition));
            self.passed(key, hw.high_watermark, false, &mut seen);
        } else if let Some(unclean) = ev.parse::<UncleanLeaderElected>() {
            let tp = TopicPartition::new(&unclean.topic, unclean.partition);
            self.committed.remove(&tp);
            // Every replica's log is compared afresh with the new lineage.
            self.checked_to.retain(|(_, checked), _| *checked != tp);
        }
        seen
    }

    /// The batch holding `offset` in `node`'s replica of `partition`.
    pub fn covering(&self, node: &str, partition: &TopicPartition, offset: i64) -> Option<Batch> {
        self.logs.get(&(node.to_string(), partition.clone()))?.covering(offset)
    }

    /// Whether `batch` is the one committed at its offsets in `partition`.
    pub fn is_committed(&self, partition: &TopicPartition, batch: &Batch) -> bool {
        self.committed.get(partition).and_then(|log| log.covering(batch.base_offset)) == Some(*batch)
    }

    /// The replica's high watermark reached `high_watermark`: compare what it passed.
    fn passed(&mut self, key: ReplicaKey, high_watermark: i64, leader: bool, seen: &mut Observation) {
        let checked_to = self.checked_to.get(&key).copied().unwrap_or(0);
        if high_watermark <= checked_to {
            return;
        }
        let passed: Vec<Batch> =
            self.logs.get(&key).map(|log| log.overlapping(checked_to, high_watermark).collect()).unwrap_or_default();
        let how = format!("holds under its high watermark {high_watermark}");
        for batch in passed {
            self.compare(&key, batch, leader, &how, seen);
        }
        self.checked_to.insert(key, high_watermark);
    }

    /// Compares `batch` of the replica `key` with the committed log; a leader's batch that
    /// contradicts nothing becomes committed.
    fn compare(&mut self, key: &ReplicaKey, batch: Batch, leader: bool, how: &str, seen: &mut Observation) {
        let committed = self.committed.entry(key.1.clone()).or_default();
        match committed.conflict(&batch) {
            Some(other) => seen.conflicts.push(Conflict {
                partition: key.1.clone(),
                batch,
                committed: other,
                how: how.to_string(),
            }),
            None if leader => committed.record(batch),
            None => {}
        }
    }
}
