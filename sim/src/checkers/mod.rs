//! The simulator's checkers, one per file, each opening with its one-line definition.
//!
//! Checkers read events through their declared types (`TraceEvent::parse`), never by name
//! strings, so a renamed event or field breaks the build instead of silencing a checker.

mod acked_on_all_isr_members;
mod acked_records_survive;
mod announced_high_watermarks;
mod committed_prefix_agreement;
mod faults_in_force;
mod high_watermark_bounds;
mod isr_shrank_and_rejoined;
mod leader_in_isr;
pub mod log_model;
mod monotonic_high_watermark;
mod no_read_beyond_high_watermark;
mod no_read_of_truncated_record;
mod no_truncation_below_high_watermark;
mod no_vanishing_reads;
mod one_record_per_offset;
mod partitions_converge_after_heal;
mod raft_commits_after_heal;
mod raft_committed_prefix_agreement;
mod raft_leader_appends_in_its_epoch;
mod raft_majority_reached_high_watermark;
mod raft_monotonic_epoch;
mod raft_monotonic_high_watermark;
mod raft_no_truncation_below_high_watermark;
mod raft_one_vote_per_epoch;
mod raft_single_leader;
mod raft_up_to_date_vote;
mod raft_vote_persisted_first;
pub mod replica_logs;
mod single_leader_per_epoch;
mod stale_isr_join_arrived;
mod synced_prefix_intact;

use std::fmt;

use seedlog::events::lists::ListError;

use crate::events::NodeKilled;
use crate::trace::TraceEvent;

pub use acked_on_all_isr_members::AckedOnAllIsrMembers;
pub use acked_records_survive::AckedRecordsSurvive;
pub use committed_prefix_agreement::CommittedPrefixAgreement;
pub use faults_in_force::FaultsInForce;
pub use high_watermark_bounds::HighWatermarkBounds;
pub use isr_shrank_and_rejoined::IsrShrankAndRejoined;
pub use leader_in_isr::LeaderInIsr;
pub use monotonic_high_watermark::MonotonicHighWatermark;
pub use no_read_beyond_high_watermark::NoReadBeyondHighWatermark;
pub use no_read_of_truncated_record::NoReadOfTruncatedRecord;
pub use no_truncation_below_high_watermark::NoTruncationBelowHighWatermark;
pub use no_vanishing_reads::NoVanishingReads;
pub use one_record_per_offset::OneRecordPerOffset;
pub use partitions_converge_after_heal::PartitionsConvergeAfterHeal;
pub use raft_commits_after_heal::RaftCommitsAfterHeal;
pub use raft_committed_prefix_agreement::RaftCommittedPrefixAgreement;
pub use raft_leader_appends_in_its_epoch::RaftLeaderAppendsInItsEpoch;
pub use raft_majority_reached_high_watermark::RaftMajorityReachedHighWatermark;
pub use raft_monotonic_epoch::RaftMonotonicEpoch;
pub use raft_monotonic_high_watermark::RaftMonotonicHighWatermark;
pub use raft_no_truncation_below_high_watermark::RaftNoTruncationBelowHighWatermark;
pub use raft_one_vote_per_epoch::RaftOneVotePerEpoch;
pub use raft_single_leader::RaftSingleLeader;
pub use raft_up_to_date_vote::RaftUpToDateVote;
pub use raft_vote_persisted_first::RaftVotePersistedFirst;
pub use single_leader_per_epoch::SingleLeaderPerEpoch;
pub use stale_isr_join_arrived::StaleIsrJoinArrived;
pub use synced_prefix_intact::SyncedPrefixIntact;

use crate::checker::Checker;

/// Every checker of the Raft metadata quorum (REPLICATION.md §6, 1–10), for a scenario whose
/// nodes run it.
pub fn raft_checkers() -> Vec<Box<dyn Checker>> {
    vec![
        Box::new(RaftSingleLeader::default()),
        Box::new(RaftOneVotePerEpoch::default()),
        Box::new(RaftVotePersistedFirst::default()),
        Box::new(RaftMonotonicEpoch::default()),
        Box::new(RaftUpToDateVote::default()),
        Box::new(RaftCommittedPrefixAgreement::default()),
        Box::new(RaftMonotonicHighWatermark::default()),
        Box::new(RaftMajorityReachedHighWatermark::default()),
        Box::new(RaftNoTruncationBelowHighWatermark::default()),
        Box::new(RaftLeaderAppendsInItsEpoch::default()),
    ]
}

/// Every checker of data-plane replication (REPLICATION.md §6, 13–14 and 20–23, 25), for a
/// scenario whose brokers replicate partitions.
pub fn replication_checkers() -> Vec<Box<dyn Checker>> {
    vec![
        Box::new(SingleLeaderPerEpoch::default()),
        Box::new(LeaderInIsr::default()),
        Box::new(CommittedPrefixAgreement::default()),
        Box::new(MonotonicHighWatermark::default()),
        Box::new(HighWatermarkBounds::default()),
        Box::new(AckedOnAllIsrMembers::default()),
        Box::new(NoReadBeyondHighWatermark::default()),
        Box::new(NoTruncationBelowHighWatermark::default()),
        Box::new(NoReadOfTruncatedRecord::default()),
    ]
}

/// What every cluster story checks: the client-side record checkers (acks survive, one record
/// per offset, no read taken back), convergence within `convergence_bound_ms` of the last
/// fault, the data-plane checkers and the Raft checkers of the metadata quorum.
pub fn cluster_checkers(convergence_bound_ms: u64) -> Vec<Box<dyn Checker>> {
    let mut checkers: Vec<Box<dyn Checker>> = vec![
        Box::new(AckedRecordsSurvive::default()),
        Box::new(OneRecordPerOffset::default()),
        Box::new(NoVanishingReads::default()),
        Box::new(PartitionsConvergeAfterHeal::new(convergence_bound_ms)),
    ];
    checkers.extend(replication_checkers());
    checkers.extend(raft_checkers());
    checkers
}

/// The checker groups a scenario file can name, with what each stands for.
pub const CHECKER_GROUPS: [(&str, &str); 4] = [
    ("cluster", "clients, PartitionsConvergeAfterHeal, replication and raft"),
    ("clients", "AckedRecordsSurvive, OneRecordPerOffset, NoVanishingReads"),
    ("replication", "the data-plane checkers of REPLICATION.md §6"),
    ("raft", "the ten checkers of the metadata quorum"),
];

/// The checkers a scenario file names by `name`: a group of [`CHECKER_GROUPS`] or one
/// checker, made with `convergence_bound_ms` where it takes one; `None` for an unknown name.
pub fn named(name: &str, convergence_bound_ms: u64) -> Option<Vec<Box<dyn Checker>>> {
    let clients = || -> Vec<Box<dyn Checker>> {
        vec![
            Box::new(AckedRecordsSurvive::default()),
            Box::new(OneRecordPerOffset::default()),
            Box::new(NoVanishingReads::default()),
        ]
    };
    match name {
        "cluster" => return Some(cluster_checkers(convergence_bound_ms)),
        "clients" => return Some(clients()),
        "replication" => return Some(replication_checkers()),
        "raft" => return Some(raft_checkers()),
        "PartitionsConvergeAfterHeal" => {
            return Some(vec![Box::new(PartitionsConvergeAfterHeal::new(convergence_bound_ms))])
        }
        "IsrShrankAndRejoined" => return Some(vec![Box::new(IsrShrankAndRejoined::default())]),
        _ => {}
    }
    let single = clients().into_iter().chain(replication_checkers()).chain(raft_checkers());
    let found: Vec<Box<dyn Checker>> = single.filter(|c| c.name() == name).collect();
    (!found.is_empty()).then_some(found)
}

/// Every checker name [`named`] knows, groups first.
pub fn known_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = CHECKER_GROUPS.iter().map(|(g, _)| *g).collect();
    names.extend(cluster_checkers(0).iter().map(|c| c.name()));
    names.push("IsrShrankAndRejoined");
    names
}

/// One offset of one topic partition, the key of the record checkers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Offset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

impl Offset {
    pub fn new(topic: &str, partition: i32, offset: i64) -> Self {
        Offset { topic: topic.to_string(), partition, offset }
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{} offset {}", self.topic, self.partition, self.offset)
    }
}

/// One topic partition, the key of the replication checkers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: &str, partition: i32) -> Self {
        TopicPartition { topic: topic.to_string(), partition }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// A list field's value, or a panic naming the event: a malformed list is a bug in the code
/// that emitted it, refused as loudly as a malformed event (see `TraceEvent::parse`).
pub(crate) fn list<T>(ev: &TraceEvent, parsed: Result<T, ListError>) -> T {
    parsed.unwrap_or_else(|error| panic!("malformed `{}` event at {} ns on {}: {error}", ev.name, ev.time_ns, ev.node))
}

/// The node a `node_killed` event names, if `ev` is one.
pub(crate) fn killed_node(ev: &TraceEvent) -> Option<String> {
    ev.parse::<NodeKilled>().map(|killed| killed.node)
}

/// Synthetic trace events for the checkers' unit tests.
#[cfg(test)]
pub(crate) mod test_support {
    use std::sync::{Arc, Mutex};

    use seedlog::events::Event;
    use tracing_subscriber::layer::SubscriberExt;

    use crate::checker::{Checker, Violation};
    use crate::trace::{TraceEvent, TraceRecorder};

    /// A checker that keeps what it sees.
    struct Keep(Arc<Mutex<Vec<TraceEvent>>>);

    impl Checker for Keep {
        fn name(&self) -> &'static str {
            "Keep"
        }
        fn on_event(&mut self, ev: &TraceEvent) {
            self.0.lock().unwrap().push(ev.clone());
        }
        fn finish(&mut self) -> Vec<Violation> {
            Vec::new()
        }
    }

    /// `event` as a run's checkers see it: emitted through `tracing` into a trace recorder.
    pub fn event<E: Event>(event: &E) -> TraceEvent {
        event_on("n1", event)
    }

    /// The violations `checker` reports after seeing `events` in order.
    pub fn run(mut checker: impl Checker, events: &[TraceEvent]) -> Vec<Violation> {
        events.iter().for_each(|ev| checker.on_event(ev));
        checker.finish()
    }

    /// The supervisor's `node_killed` event for `node`.
    pub fn killed(node: &str) -> TraceEvent {
        event_on(crate::trace::SUPERVISOR_NODE, &crate::events::NodeKilled { node: node.into() })
    }

    /// The supervisor's `node_restarted` event for `node`.
    pub fn restarted(node: &str) -> TraceEvent {
        event_on(crate::trace::SUPERVISOR_NODE, &crate::events::NodeRestarted { node: node.into() })
    }

    /// Like [`event`], as if a node with this name emitted it.
    pub fn event_on<E: Event>(node: &str, event: &E) -> TraceEvent {
        let kept = Arc::new(Mutex::new(Vec::new()));
        let recorder = TraceRecorder::new(vec![Box::new(Keep(kept.clone()))]);
        let subscriber = tracing_subscriber::registry().with(recorder.layer());
        tracing::subscriber::with_default(subscriber, || event.emit());
        let mut traced = kept.lock().unwrap().pop().expect("the event was traced");
        traced.node = node.to_string();
        traced
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn the_checker_lists_hold_each_checker_once() {
        let names: Vec<&str> = raft_checkers().iter().chain(replication_checkers().iter()).map(|c| c.name()).collect();
        let distinct: BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(distinct.len(), names.len(), "{names:?}");
        assert_eq!((raft_checkers().len(), replication_checkers().len()), (10, 9));
    }
}
