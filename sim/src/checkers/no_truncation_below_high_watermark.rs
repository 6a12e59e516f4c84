//! NoTruncationBelowHighWatermark: committed data survives truncation (REPLICATION.md
//! §3.10, §6.22): unless an `UncleanLeaderElected` for the partition came first, no
//! `ReplicaTruncated` goes below the replica's own high watermark (the one the event reports
//! or the replica last announced), and none, clean or not, removes a batch that is the
//! committed one at its offsets (a batch a leader's high watermark passed in the current
//! lineage; an unclean election starts a new lineage).
//!
//! A lagging follower may truncate below the partition's high watermark: what it drops is
//! its own divergent tail, never a committed batch, so the rule is about batches, not about
//! offsets. Kafka's fallback of truncating to the local high watermark when the leader cannot
//! place the follower's epoch (§3.10) would drop committed batches it then fetches again;
//! that is the KIP-101 pattern and is reported.
//!
//! State: the replicas' logs and committed logs of `replica_logs.rs` (per node and topic
//! partition, whole run); each replica's high watermark, forgotten at its node's
//! `node_killed`; the partitions that had an unclean election.

use std::collections::{BTreeMap, BTreeSet};

use seedlog::events::{FollowerHighWatermark, HighWatermarkAdvanced, ReplicaTruncated, UncleanLeaderElected};

use super::log_model::Batch;
use super::replica_logs::ReplicaLogs;
use super::{killed_node, TopicPartition};
use crate::checker::{Checker, Violation};
use crate::trace::TraceEvent;

const NAME: &str = "NoTruncationBelowHighWatermark";

/// Replica logs, replica high watermarks and unclean partitions.
#[derive(Default)]
pub struct NoTruncationBelowHighWatermark {
    replicas: ReplicaLogs,
    high_watermarks: BTreeMap<(String, TopicPartition), i64>,
    unclean: BTreeSet<TopicPartition>,
    violations: Vec<Violation>,
}

impl NoTruncationBelowHighWatermark {
    fn on_truncated(&mut self, ev: &TraceEvent, t: &ReplicaTruncated, removed: &[Batch]) {
        let tp = TopicPartition::new(&t.topic, t.partition);
        let announced = self.high_watermarks.get(&(ev.node.clone(), tp.clone())).copied().unwrap_or(0);
        let high_watermark = t.high_watermark.max(announced);
        if t.offset < high_watermark && !self.unclean.contains(&tp) {
            let message = format!(
                "{} truncated {tp} to {} ({}), below its high watermark {high_watermark}, with no unclean election",
                ev.node, t.offset, t.reason
            );
            self.violations.push(Violation::new(NAME, ev.time_ns, message));
        }
        for batch in removed.iter().filter(|b| self.replicas.is_committed(&tp, b)) {
            let message = format!(
                "{} truncated {tp} to {} ({}), removing the committed batch {batch}",
                ev.node, t.offset, t.reason
            );
            self.violations.push(Violation::new(NAME, ev.time_ns, message));
        }
    }
}

impl Checker for NoTruncationBelowHighWatermark {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        if let Some(node) = killed_node(ev) {
            self.high_watermarks.retain(|(n, _), _| *n != node);
            return;
        }
        let seen = self.replicas.observe(ev);
        if let Some(t) = ev.parse::<ReplicaTruncated>() {
            self.on_truncated(ev, &t, &seen.removed);
        } else if let Some(hw) = ev.parse::<HighWatermarkAdvanced>() {
            self.high_watermarks
                .insert((ev.node.clone(), TopicPartition::new(&hw.topic, hw.partition)), hw.high_watermark);
        } else if let Some(hw) = ev.parse::<FollowerHighWatermark>() {
            self.high_watermarks
                .insert((ev.node.clone(), TopicPartition::new(&hw.topic, hw.partition)), hw.high_watermark);
        } else if let Some(u) = ev.parse::<UncleanLeaderElected>() {
            self.unclean.insert(TopicPartition::new(&u.topic, u.partition));
        }
    }

    fn finish(&mut self) -> Vec<Violation> {
        std::mem::take(&mut self.violations)
    }
}

#[cfg(test)]
mod tests {
    use seedlog::events::{BatchReplicated, ROLE_FOLLOWER, ROLE_LEADER};

    use super::*;
    use crate::checkers::test_support::{event_on, killed, run};

    fn batch(node: &str, role: &str, base_offset: i64, last_offset: i64, leader_epoch: i32, crc: u64) -> TraceEvent {
        let role = role.to_string();
        event_on(
            node,
            &BatchReplicated { topic: "t".into(), partition: 0, base_offset, last_offset, leader_epoch, crc, role },
        )
    }

    fn leader_hw(node: &str, high_watermark: i64) -> TraceEvent {
        let hw = HighWatermarkAdvanced {
            topic: "t".into(),
            partition: 0,
            leader_epoch: 0,
            high_watermark,
            leader_log_end_offset: high_watermark,
            isr: "1".into(),
            isr_log_end_offsets: format!("1:{high_watermark}"),
            min_insync_replicas: 1,
            replication_factor: 3,
        };
        event_on(node, &hw)
    }

    fn follower_hw(node: &str, high_watermark: i64) -> TraceEvent {
        event_on(node, &FollowerHighWatermark { topic: "t".into(), partition: 0, high_watermark, log_end_offset: 9 })
    }

    fn truncated(node: &str, offset: i64, high_watermark: i64) -> TraceEvent {
        let reason = "diverging_epoch".to_string();
        event_on(node, &ReplicaTruncated { topic: "t".into(), partition: 0, offset, high_watermark, reason })
    }

    fn unclean() -> TraceEvent {
        event_on("b3", &UncleanLeaderElected { topic: "t".into(), partition: 0, leader_epoch: 1, leader_id: 3 })
    }

    fn history() -> Vec<TraceEvent> {
        vec![
            batch("b1", ROLE_LEADER, 0, 1, 0, 7),
            batch("b2", ROLE_FOLLOWER, 0, 1, 0, 7),
            // b3 holds a batch of a deposed leader at offset 0.
            batch("b3", ROLE_LEADER, 0, 0, 0, 99),
            leader_hw("b1", 2),
            follower_hw("b2", 2),
            truncated("b3", 0, 0),
            truncated("b2", 2, 2),
        ]
    }

    #[test]
    fn passes_when_a_lagging_follower_drops_only_its_divergent_tail() {
        let found = run(NoTruncationBelowHighWatermark::default(), &history());
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn fires_when_a_restarted_replica_drops_a_committed_batch() {
        let mut events = history();
        events.extend([killed("b2"), truncated("b2", 1, 0)]);
        let found = run(NoTruncationBelowHighWatermark::default(), &events);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("removing the committed batch 0..=1"), "{}", found[0].message);
    }

    #[test]
    fn fires_below_the_replica_s_own_high_watermark() {
        let found = run(NoTruncationBelowHighWatermark::default(), &[follower_hw("b2", 4), truncated("b2", 3, 0)]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].message.contains("below its high watermark 4, with no unclean election"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn fires_when_a_committed_batch_is_removed() {
        let found = run(
            NoTruncationBelowHighWatermark::default(),
            &[
                batch("b1", ROLE_LEADER, 0, 1, 0, 7),
                batch("b2", ROLE_FOLLOWER, 0, 1, 0, 7),
                leader_hw("b1", 2),
                truncated("b2", 0, 0),
            ],
        );
        assert_eq!(found.len(), 1, "{found:?}");
    }

    #[test]
    fn an_unclean_election_forgives_the_old_lineage_only() {
        let found = run(
            NoTruncationBelowHighWatermark::default(),
            &[
                batch("b1", ROLE_LEADER, 0, 1, 0, 7),
                leader_hw("b1", 2),
                unclean(),
                truncated("b1", 0, 2),
                batch("b3", ROLE_LEADER, 0, 0, 1, 5),
                leader_hw("b3", 1),
                batch("b1", ROLE_FOLLOWER, 0, 0, 1, 5),
                truncated("b1", 0, 0),
            ],
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("removing the committed batch 0..=0 (epoch 1"), "{}", found[0].message);
    }
}
