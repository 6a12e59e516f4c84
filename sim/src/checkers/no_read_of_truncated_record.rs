//! NoReadOfTruncatedRecord: a record a consumer read stays in the partition's log (the high
//! watermark's promise; REPLICATION.md §3.5, §3.12): after a `RecordConsumed` at offset o,
//! the partition's newest leader never lacks it. Concretely, after the read:
//! - a broker that becomes leader (`MakeLeader` with the newest leader epoch) holds, at o,
//!   the batch the read came from;
//! - the newest leader never appends a batch at an offset ≤ o (it appends at its log end,
//!   so its log ended at or before o: the record is gone);
//! - a broker that leads the partition never truncates it to an offset ≤ o.
//!
//! What events can and cannot tell. `RecordConsumed` comes from the client and carries no
//! leader epoch or CRC, so the record is identified as the batch holding o in the log of
//! the broker that served the consumer's fetch (the latest consumer `FetchServed` covering
//! o; failing that, the newest leader) as the replica logs of `replica_logs.rs` show it.
//! Followers' truncations are not judged here: a follower may drop a record it holds and
//! fetch it again, and what it must never drop (a committed batch) is
//! NoTruncationBelowHighWatermark's. A crash that loses a leader's unflushed tail leaves
//! stale batches in the model, so the second rule, not the first, catches that leader.
//! Unclean elections are not forgiven: with `unclean.leader.election.enable` a read record
//! can vanish, and this checker is how a scenario shows it.
//!
//! State per topic partition, for the whole run: the records read, the replicas' logs, each
//! broker's role (forgotten at its `node_killed`), the newest leader, recent consumer fetches.

use std::collections::{BTreeMap, VecDeque};

use seedlog::events::{BatchReplicated, FetchServed, MakeFollower, MakeLeader, RecordConsumed, ReplicaTruncated};

use super::log_model::Batch;
use super::replica_logs::ReplicaLogs;
use super::{killed_node, TopicPartition};
use crate::checker::{Checker, Violation};
use crate::trace::TraceEvent;

const NAME: &str = "NoReadOfTruncatedRecord";

/// Consumer fetches remembered per partition, to find which broker served a read.
const RECENT_FETCHES: usize = 64;

/// A consumer fetch served: by which broker, which offsets.
struct Served {
    node: String,
    from: i64,
    to: i64,
}

/// Reads, logs, roles and leaders.
#[derive(Default)]
pub struct NoReadOfTruncatedRecord {
    replicas: ReplicaLogs,
    /// Per partition, each offset read and the batch it was read from (when known).
    reads: BTreeMap<TopicPartition, BTreeMap<i64, Option<Batch>>>,
    leading: BTreeMap<(String, TopicPartition), bool>,
    /// Per partition, the newest leader epoch and its leader (`None` once it is killed or
    /// steps down).
    newest_leader: BTreeMap<TopicPartition, (i32, Option<String>)>,
    fetches: BTreeMap<TopicPartition, VecDeque<Served>>,
    violations: Vec<Violation>,
}

impl NoReadOfTruncatedRecord {
    fn is_newest_leader(&self, node: &str, tp: &TopicPartition) -> bool {
        self.newest_leader.get(tp).and_then(|(_, leader)| leader.as_deref()) == Some(node)
    }

    /// Reports the reads at `from` and above as lost, and forgets them (once is enough).
    fn lost(&mut self, ev: &TraceEvent, tp: &TopicPartition, from: i64, how: String) {
        let Some(reads) = self.reads.get_mut(tp) else { return };
        let gone = reads.split_off(&from);
        if let Some((first, _)) = gone.first_key_value() {
            let message = format!(
                "{how}: the record a consumer read at {tp} offset {first} is gone ({} read records)",
                gone.len()
            );
            self.violations.push(Violation::new(NAME, ev.time_ns, message));
        }
    }

    fn on_read(&mut self, read: &RecordConsumed) {
        let tp = TopicPartition::new(&read.topic, read.partition);
        let offset = read.offset;
        let server = self
            .fetches
            .get(&tp)
            .and_then(|served| served.iter().rev().find(|s| s.from <= offset && offset <= s.to))
            .map(|s| s.node.clone())
            .or_else(|| self.newest_leader.get(&tp).and_then(|(_, leader)| leader.clone()));
        let batch = server.and_then(|node| self.replicas.covering(&node, &tp, offset));
        self.reads.entry(tp).or_default().entry(offset).or_insert(batch);
    }

    fn on_make_leader(&mut self, ev: &TraceEvent, m: &MakeLeader) {
        let tp = TopicPartition::new(&m.topic, m.partition);
        self.leading.insert((ev.node.clone(), tp.clone()), true);
        if self.newest_leader.get(&tp).is_some_and(|(epoch, _)| *epoch > m.leader_epoch) {
            return;
        }
        self.newest_leader.insert(tp.clone(), (m.leader_epoch, Some(ev.node.clone())));
        let reads: Vec<(i64, Option<Batch>)> =
            self.reads.get(&tp).map(|r| r.iter().map(|(o, b)| (*o, *b)).collect()).unwrap_or_default();
        let missing = reads.into_iter().find(|(offset, read)| {
            let held = self.replicas.covering(&ev.node, &tp, *offset);
            held.is_none() || (read.is_some() && held != *read)
        });
        if let Some((offset, _)) = missing {
            let how = format!("{} became leader of {tp} in leader epoch {} without it", ev.node, m.leader_epoch);
            self.lost(ev, &tp, offset, how);
        }
    }
}

impl Checker for NoReadOfTruncatedRecord {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        if let Some(node) = killed_node(ev) {
            self.leading.retain(|(n, _), _| *n != node);
            for (_, leader) in self.newest_leader.values_mut() {
                if leader.as_deref() == Some(node.as_str()) {
                    *leader = None;
                }
            }
            return;
        }
        // Judge appends and truncations against the logs before this event changes them.
        if let Some(b) = ev.parse::<BatchReplicated>() {
            let tp = TopicPartition::new(&b.topic, b.partition);
            if b.by_leader() && self.is_newest_leader(&ev.node, &tp) {
                let how = format!("leader {} appended {}..={} at its log end", ev.node, b.base_offset, b.last_offset);
                self.lost(ev, &tp, b.base_offset, how);
            }
        } else if let Some(t) = ev.parse::<ReplicaTruncated>() {
            let tp = TopicPartition::new(&t.topic, t.partition);
            if self.leading.get(&(ev.node.clone(), tp.clone())) == Some(&true) {
                self.lost(ev, &tp, t.offset, format!("{}, leading {tp}, truncated it to {}", ev.node, t.offset));
            }
        } else if let Some(m) = ev.parse::<MakeLeader>() {
            self.on_make_leader(ev, &m);
        } else if let Some(m) = ev.parse::<MakeFollower>() {
            let tp = TopicPartition::new(&m.topic, m.partition);
            self.leading.insert((ev.node.clone(), tp.clone()), false);
            if let Some((_, leader)) = self.newest_leader.get_mut(&tp) {
                if leader.as_deref() == Some(ev.node.as_str()) {
                    *leader = None;
                }
            }
        } else if let Some(f) = ev.parse::<FetchServed>() {
            if f.replica_id == -1 && f.error_code == 0 && f.last_offset_returned >= f.fetch_offset {
                let served = self.fetches.entry(TopicPartition::new(&f.topic, f.partition)).or_default();
                served.push_back(Served { node: ev.node.clone(), from: f.fetch_offset, to: f.last_offset_returned });
                if served.len() > RECENT_FETCHES {
                    served.pop_front();
                }
            }
        } else if let Some(read) = ev.parse::<RecordConsumed>() {
            self.on_read(&read);
        }
        self.replicas.observe(ev);
    }

    fn finish(&mut self) -> Vec<Violation> {
        std::mem::take(&mut self.violations)
    }
}

#[cfg(test)]
mod tests {
    use seedlog::events::{ROLE_FOLLOWER, ROLE_LEADER};

    use super::*;
    use crate::checkers::test_support::{event_on, killed, run};

    fn batch(node: &str, role: &str, base_offset: i64, last_offset: i64, leader_epoch: i32, crc: u64) -> TraceEvent {
        let role = role.to_string();
        event_on(
            node,
            &BatchReplicated { topic: "t".into(), partition: 0, base_offset, last_offset, leader_epoch, crc, role },
        )
    }

    fn leader(node: &str, leader_epoch: i32) -> TraceEvent {
        let id: i32 = node[1..].parse().unwrap();
        event_on(
            node,
            &MakeLeader { topic: "t".into(), partition: 0, leader_epoch, leader_id: id, isr: id.to_string() },
        )
    }

    fn follower(node: &str, leader_epoch: i32, leader_id: i32) -> TraceEvent {
        event_on(node, &MakeFollower { topic: "t".into(), partition: 0, leader_epoch, leader_id })
    }

    fn served(node: &str, fetch_offset: i64, last_offset_returned: i64) -> TraceEvent {
        let fetch = FetchServed {
            topic: "t".into(),
            partition: 0,
            replica_id: -1,
            fetch_offset,
            high_watermark: last_offset_returned + 1,
            last_offset_returned,
            error_code: 0,
        };
        event_on(node, &fetch)
    }

    fn consumed(offset: i64) -> TraceEvent {
        event_on("client", &RecordConsumed { topic: "t".into(), partition: 0, offset, value: format!("v{offset}") })
    }

    fn truncated(node: &str, offset: i64) -> TraceEvent {
        let reason = "diverging_epoch".to_string();
        event_on(node, &ReplicaTruncated { topic: "t".into(), partition: 0, offset, high_watermark: 0, reason })
    }

    /// b1 leads epoch 0 with b2 following; a consumer reads offsets 0 and 1 from b1.
    fn read_history() -> Vec<TraceEvent> {
        vec![
            leader("b1", 0),
            follower("b2", 0, 1),
            follower("b3", 0, 1),
            batch("b1", ROLE_LEADER, 0, 1, 0, 7),
            batch("b2", ROLE_FOLLOWER, 0, 1, 0, 7),
            served("b1", 0, 1),
            consumed(0),
            consumed(1),
        ]
    }

    #[test]
    fn passes_when_the_next_leader_holds_what_was_read() {
        let mut events = read_history();
        events.extend([
            killed("b1"),
            leader("b2", 1),
            batch("b2", ROLE_LEADER, 2, 2, 1, 8),
            // b3 never had the records and is a follower: its truncation is no loss.
            truncated("b3", 0),
            follower("b1", 1, 2),
            truncated("b1", 2),
        ]);
        let found = run(NoReadOfTruncatedRecord::default(), &events);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn fires_when_a_leader_without_the_record_is_elected() {
        let mut events = read_history();
        events.extend([killed("b1"), leader("b3", 1), batch("b3", ROLE_LEADER, 0, 0, 1, 9)]);
        let found = run(NoReadOfTruncatedRecord::default(), &events);
        assert_eq!(found.len(), 1, "reported once: {found:?}");
        assert!(
            found[0].message.starts_with("b3 became leader of t-0 in leader epoch 1 without it"),
            "{}",
            found[0].message
        );
        assert!(found[0].message.contains("offset 0 is gone (2 read records)"), "{}", found[0].message);
    }

    #[test]
    fn fires_when_the_leader_writes_over_a_read_offset() {
        // b2's log looked complete to the model, but it lost its tail in a crash: its first
        // append as leader shows it.
        let mut events = read_history();
        events.extend([killed("b2"), killed("b1"), leader("b2", 1), batch("b2", ROLE_LEADER, 1, 1, 1, 9)]);
        let found = run(NoReadOfTruncatedRecord::default(), &events);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("leader b2 appended 1..=1 at its log end"), "{}", found[0].message);
    }

    #[test]
    fn fires_when_a_leader_truncates_a_read_record() {
        let mut events = read_history();
        events.push(truncated("b1", 1));
        let found = run(NoReadOfTruncatedRecord::default(), &events);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("b1, leading t-0, truncated it to 1"), "{}", found[0].message);
    }
}
