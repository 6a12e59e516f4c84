//! CommittedPrefixAgreement: replicas agree on the committed log and copy their leader
//! exactly (REPLICATION.md §6.22, §6.25): a batch a replica holds below its high watermark
//! has the offsets, leader epoch and CRC of the batch committed there (the one a leader's
//! high watermark passed first), and a batch a follower appends is the very batch the
//! leader of its epoch appended at that offset.
//!
//! State per (node, topic partition) and per topic partition, for the whole run: the
//! replicas' logs and the committed log of `replica_logs.rs` (an `UncleanLeaderElected`
//! forgets a partition's committed log), and every batch each leader epoch's leader
//! appended. Assumes followers keep the leader's batch bounds, as Kafka's followers append
//! fetched batches unchanged.

use std::collections::BTreeMap;

use seedlog::events::BatchReplicated;

use super::log_model::{Batch, LogModel};
use super::replica_logs::ReplicaLogs;
use super::TopicPartition;
use crate::checker::{Checker, Violation};
use crate::trace::TraceEvent;

const NAME: &str = "CommittedPrefixAgreement";

/// The replicas' logs, the committed logs and the leaders' appends.
#[derive(Default)]
pub struct CommittedPrefixAgreement {
    replicas: ReplicaLogs,
    /// What the leader of each (partition, leader epoch) appended.
    leader_appends: BTreeMap<(TopicPartition, i32), LogModel>,
    violations: Vec<Violation>,
}

impl CommittedPrefixAgreement {
    fn on_batch(&mut self, ev: &TraceEvent, b: &BatchReplicated) {
        let tp = TopicPartition::new(&b.topic, b.partition);
        let batch =
            Batch { base_offset: b.base_offset, last_offset: b.last_offset, epoch: b.leader_epoch, checksum: b.crc };
        let appends = self.leader_appends.entry((tp.clone(), b.leader_epoch)).or_default();
        if b.by_leader() {
            appends.append(batch);
            return;
        }
        let problem = match appends.covering(batch.base_offset) {
            Some(leader) if leader == batch => return,
            Some(leader) => format!("the leader of epoch {} appended {leader} there", b.leader_epoch),
            None => format!("no leader of epoch {} appended a batch at {}", b.leader_epoch, b.base_offset),
        };
        let message = format!("follower {} of {tp} appended {batch}, but {problem}", ev.node);
        self.violations.push(Violation::new(NAME, ev.time_ns, message));
    }
}

impl Checker for CommittedPrefixAgreement {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        if let Some(b) = ev.parse::<BatchReplicated>() {
            self.on_batch(ev, &b);
        }
        for c in self.replicas.observe(ev).conflicts {
            let message = format!(
                "{} {} {} of {}, but {} was committed there",
                ev.node, c.how, c.batch, c.partition, c.committed
            );
            self.violations.push(Violation::new(NAME, ev.time_ns, message));
        }
    }

    fn finish(&mut self) -> Vec<Violation> {
        std::mem::take(&mut self.violations)
    }
}

#[cfg(test)]
mod tests {
    use seedlog::events::{
        FollowerHighWatermark, HighWatermarkAdvanced, ReplicaTruncated, UncleanLeaderElected, ROLE_FOLLOWER,
        ROLE_LEADER,
    };

    use super::*;
    use crate::checkers::test_support::{event_on, run};

    pub(crate) fn batch(
        node: &str,
        role: &str,
        base_offset: i64,
        last_offset: i64,
        leader_epoch: i32,
        crc: u64,
    ) -> TraceEvent {
        let role = role.to_string();
        event_on(
            node,
            &BatchReplicated { topic: "t".into(), partition: 0, base_offset, last_offset, leader_epoch, crc, role },
        )
    }

    fn leader_hw(node: &str, leader_epoch: i32, high_watermark: i64) -> TraceEvent {
        let hw = HighWatermarkAdvanced {
            topic: "t".into(),
            partition: 0,
            leader_epoch,
            high_watermark,
            leader_log_end_offset: high_watermark,
            isr: "1,2".into(),
            isr_log_end_offsets: format!("1:{high_watermark},2:{high_watermark}"),
            min_insync_replicas: 1,
            replication_factor: 2,
        };
        event_on(node, &hw)
    }

    fn follower_hw(node: &str, high_watermark: i64, log_end_offset: i64) -> TraceEvent {
        event_on(node, &FollowerHighWatermark { topic: "t".into(), partition: 0, high_watermark, log_end_offset })
    }

    fn truncated(node: &str, offset: i64) -> TraceEvent {
        let reason = "diverging_epoch".to_string();
        event_on(node, &ReplicaTruncated { topic: "t".into(), partition: 0, offset, high_watermark: 0, reason })
    }

    #[test]
    fn passes_when_followers_copy_the_leader_and_agree_below_the_high_watermark() {
        let found = run(
            CommittedPrefixAgreement::default(),
            &[
                batch("b1", ROLE_LEADER, 0, 1, 0, 7),
                batch("b2", ROLE_FOLLOWER, 0, 1, 0, 7),
                leader_hw("b1", 0, 2),
                follower_hw("b2", 2, 2),
                // b1 appends a batch no one else gets, then b2 leads epoch 1 and b1 follows.
                batch("b1", ROLE_LEADER, 2, 2, 0, 8),
                batch("b2", ROLE_LEADER, 2, 3, 1, 9),
                leader_hw("b2", 1, 4),
                truncated("b1", 2),
                batch("b1", ROLE_FOLLOWER, 2, 3, 1, 9),
                follower_hw("b1", 4, 4),
            ],
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn fires_when_a_follower_appends_what_its_leader_did_not() {
        let found = run(
            CommittedPrefixAgreement::default(),
            &[
                batch("b1", ROLE_LEADER, 0, 1, 0, 7),
                batch("b2", ROLE_FOLLOWER, 0, 1, 0, 6),
                batch("b3", ROLE_FOLLOWER, 2, 2, 0, 1),
            ],
        );
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].message.contains("the leader of epoch 0 appended 0..=1"), "{}", found[0].message);
        assert!(found[1].message.contains("no leader of epoch 0 appended a batch at 2"), "{}", found[1].message);
    }

    #[test]
    fn fires_when_a_new_leader_commits_over_a_committed_batch() {
        // b2 lost the committed batch (say, to a bug) and, as leader of epoch 1, commits another one there.
        let found = run(
            CommittedPrefixAgreement::default(),
            &[
                batch("b1", ROLE_LEADER, 0, 1, 0, 7),
                leader_hw("b1", 0, 2),
                batch("b2", ROLE_LEADER, 0, 1, 1, 5),
                leader_hw("b2", 1, 2),
            ],
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].message.contains("b2 holds under its high watermark 2 0..=1 (epoch 1"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn fires_when_a_follower_s_high_watermark_passes_a_divergent_batch() {
        let found = run(
            CommittedPrefixAgreement::default(),
            &[
                batch("b1", ROLE_LEADER, 0, 1, 0, 7),
                batch("b2", ROLE_LEADER, 0, 1, 1, 5),
                leader_hw("b1", 0, 2),
                follower_hw("b2", 2, 2),
            ],
        );
        assert_eq!(found.len(), 1, "{found:?}");
    }

    #[test]
    fn an_unclean_election_starts_a_new_committed_lineage() {
        let unclean =
            event_on("b2", &UncleanLeaderElected { topic: "t".into(), partition: 0, leader_epoch: 1, leader_id: 2 });
        let events = [
            batch("b1", ROLE_LEADER, 0, 1, 0, 7),
            leader_hw("b1", 0, 2),
            unclean,
            batch("b2", ROLE_LEADER, 0, 1, 1, 5),
            leader_hw("b2", 1, 2),
        ];
        assert!(run(CommittedPrefixAgreement::default(), &events).is_empty());
    }

    #[test]
    fn after_an_unclean_election_replicas_must_agree_with_the_new_lineage() {
        let unclean =
            event_on("b3", &UncleanLeaderElected { topic: "t".into(), partition: 0, leader_epoch: 1, leader_id: 3 });
        let found = run(
            CommittedPrefixAgreement::default(),
            &[
                batch("b1", ROLE_LEADER, 0, 1, 0, 7),
                leader_hw("b1", 0, 2),
                unclean,
                batch("b3", ROLE_LEADER, 0, 0, 1, 5),
                leader_hw("b3", 1, 1),
                // b1 keeps its old batch and its high watermark passes it in the new lineage.
                follower_hw("b1", 1, 2),
            ],
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].message.contains("but 0..=0 (epoch 1, checksum 5) was committed there"),
            "{}",
            found[0].message
        );
    }
}
