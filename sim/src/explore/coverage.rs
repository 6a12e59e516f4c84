//! Coverage: the abstract protocol states a run reached, read from its trace.
//!
//! Exploration keeps a run when it reached a state no earlier run reached, so the abstraction
//! decides what "new" means. Too fine (offsets, times, node names) and every run is new; too
//! coarse and nothing ever is. Two families of state, each hashed to a `u64` (FNV-1a over a
//! canonical text, [`AbstractState::text`], so a state's hash never changes with a
//! dependency's version):
//!
//! - **Partition states**, one per `partition_observed` event (the inspector saw a
//!   partition's leader, epoch, replicas or ISR change): the tuple (the leader's role —
//!   `none` (no leader), `same` (as at the partition's previous observation) or `changed`;
//!   the ISR's size; the number of replicas; whether the leader epoch changed since the
//!   previous observation; whether the observed leader is down or paused; which kinds of
//!   fault are in force). The kinds come from the supervisor's fault events, with the
//!   bookkeeping of [`FaultsInForce`] plus what it lumps together: a node down (killed or
//!   halted), a node paused, a network partition, a cut link, a lagged link, a held fault
//!   point, a faulted disk (its last `disk_faults_changed` sets a capacity limit, or more
//!   fsync errors or bit flips than [`MemDiskFaults::typical`]), and a wall-clock jump since
//!   the partition's previous observation. Topic and partition number are left out: three
//!   partitions in the same situation are one state.
//! - **Transitions**, per node: each pair of successive event names on one node, the node
//!   named by its kind (`b1` → `b`, `c2` → `c`, `producer-1` → `producer-`; the supervisor
//!   is `sim`). They say which code paths followed which: `make_follower` right after
//!   `log_recovered`, `replica_truncated` after `make_follower`. Events that come by the
//!   thousand and mark no protocol step of their own ([`NOISE`]: appends, fetches, flushes,
//!   acknowledgements, reads, Raft appends and high watermarks; the per-record and per-fetch
//!   events of a swarm-combined trace, nine in ten of its events) are skipped, so that a pair
//!   joins two protocol steps rather than two appends; every other event counts.
//!
//! A trace line that is not a trace event (it cannot happen with the simulator's own traces)
//! is skipped rather than trusted.

use std::collections::{BTreeMap, BTreeSet};

use seedlog::runtime::MemDiskFaults;

use crate::checkers::FaultsInForce;
use crate::cluster::broker_name;
use crate::events::{ClockJumped, DiskFaultsChanged, LinkCut, LinkLagged, NetworkHealed, PartitionObserved};
use crate::fnv::Fnv64;
use crate::trace::TraceEvent;

/// Event names left out of the transitions: the data path's per-record and per-fetch events.
pub const NOISE: [&str; 16] = [
    "batch_appended",
    "batch_replicated",
    "consumer_fetched",
    "fetch_served",
    "follower_high_watermark",
    "high_watermark_advanced",
    "log_flushed",
    "produce_acked",
    "producer_batch_acked",
    "record_acked",
    "record_audited",
    "record_consumed",
    "record_failed",
    "raft_appended",
    "raft_high_watermark",
    "raft_hw_moved",
];

/// Who leads a partition, compared with its previous observation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LeaderRole {
    /// No leader (-1).
    None,
    /// The same broker as at the previous observation.
    Same,
    /// Another broker, or the first leader observed.
    Changed,
}

/// A kind of fault in force, as the abstraction distinguishes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    Down,
    Paused,
    Partitioned,
    Cut,
    Lagged,
    Held,
    Disk,
    ClockJump,
}

impl FaultKind {
    fn name(self) -> &'static str {
        match self {
            FaultKind::Down => "down",
            FaultKind::Paused => "paused",
            FaultKind::Partitioned => "partitioned",
            FaultKind::Cut => "cut",
            FaultKind::Lagged => "lagged",
            FaultKind::Held => "held",
            FaultKind::Disk => "disk",
            FaultKind::ClockJump => "clock_jump",
        }
    }
}

/// One abstract state (see the module header).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AbstractState {
    Partition {
        leader: LeaderRole,
        isr: usize,
        replicas: usize,
        epoch_changed: bool,
        /// The observed leader is down or paused (the observation is stale).
        leader_unavailable: bool,
        /// The kinds in force, sorted.
        faults: Vec<FaultKind>,
    },
    Transition {
        /// The node's kind: its name without the trailing digits.
        node: String,
        from: String,
        to: String,
    },
}

impl AbstractState {
    /// The canonical text the hash is taken over.
    pub fn text(&self) -> String {
        match self {
            AbstractState::Partition { leader, isr, replicas, epoch_changed, leader_unavailable, faults } => {
                let faults: Vec<&str> = faults.iter().map(|k| k.name()).collect();
                format!(
                    "partition leader={leader:?} isr={isr} replicas={replicas} epoch_changed={epoch_changed} \
                     leader_unavailable={leader_unavailable} faults={}",
                    faults.join("+")
                )
            }
            AbstractState::Transition { node, from, to } => format!("transition node={node} {from}->{to}"),
        }
    }

    /// The state's hash: FNV-1a over [`AbstractState::text`].
    pub fn hash(&self) -> u64 {
        let mut h = Fnv64::new();
        h.write(self.text().as_bytes());
        h.finish()
    }
}

/// A set of reached states, by hash.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    states: BTreeSet<u64>,
}

impl Coverage {
    /// The states the trace (JSON lines) reached.
    pub fn of_trace(jsonl: &str) -> Coverage {
        Coverage { states: abstract_states(jsonl).iter().map(AbstractState::hash).collect() }
    }

    pub fn len(&self) -> usize {
        self.states.len()
    }

    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    /// How many of `other`'s states this set lacks.
    pub fn count_new(&self, other: &Coverage) -> usize {
        other.states.difference(&self.states).count()
    }

    /// Adds `other`'s states; how many were new.
    pub fn absorb(&mut self, other: &Coverage) -> usize {
        let before = self.states.len();
        self.states.extend(other.states.iter().copied());
        self.states.len() - before
    }
}

/// Every abstract state the trace (JSON lines) reached.
pub fn abstract_states(jsonl: &str) -> BTreeSet<AbstractState> {
    let mut tracker = Tracker::default();
    for event in jsonl.lines().filter_map(TraceEvent::from_json_line) {
        tracker.on_event(&event);
    }
    tracker.states
}

/// A partition as last observed.
struct Observed {
    leader: i32,
    leader_epoch: i32,
    /// The clock jumps counted when it was observed.
    clock_jumps: u64,
}

/// Walks a trace and collects its states.
#[derive(Default)]
struct Tracker {
    faults: FaultsInForce,
    cut: bool,
    lagged: bool,
    faulted_disks: BTreeSet<String>,
    clock_jumps: u64,
    partitions: BTreeMap<(String, i32), Observed>,
    /// Each node's last event name outside [`NOISE`].
    last_name: BTreeMap<String, String>,
    states: BTreeSet<AbstractState>,
}

impl Tracker {
    fn on_event(&mut self, ev: &TraceEvent) {
        self.transition(ev);
        self.faults.on_event(ev);
        if ev.parse::<LinkCut>().is_some() {
            self.cut = true;
        } else if ev.parse::<LinkLagged>().is_some() {
            self.lagged = true;
        } else if ev.parse::<NetworkHealed>().is_some() {
            self.cut = false;
            self.lagged = false;
        } else if let Some(e) = ev.parse::<DiskFaultsChanged>() {
            if disk_faulted(&e) {
                self.faulted_disks.insert(e.node);
            } else {
                self.faulted_disks.remove(&e.node);
            }
        } else if let Some(e) = ev.parse::<ClockJumped>() {
            if e.delta_ms != 0 {
                self.clock_jumps += 1;
            }
        } else if let Some(e) = ev.parse::<PartitionObserved>() {
            self.observe(&e);
        }
    }

    fn transition(&mut self, ev: &TraceEvent) {
        if NOISE.contains(&ev.name.as_str()) {
            return;
        }
        let kind = ev.node.trim_end_matches(|c: char| c.is_ascii_digit()).to_string();
        if let Some(from) = self.last_name.insert(ev.node.clone(), ev.name.clone()) {
            self.states.insert(AbstractState::Transition { node: kind, from, to: ev.name.clone() });
        }
    }

    fn observe(&mut self, e: &PartitionObserved) {
        let key = (e.topic.clone(), e.partition);
        let previous = self.partitions.get(&key);
        let leader = match previous {
            _ if e.leader < 0 => LeaderRole::None,
            Some(p) if p.leader == e.leader => LeaderRole::Same,
            _ => LeaderRole::Changed,
        };
        let epoch_changed = previous.is_none_or(|p| p.leader_epoch != e.leader_epoch);
        let jumped = previous.is_some_and(|p| p.clock_jumps != self.clock_jumps);
        let leader_name = broker_name(e.leader);
        let leader_unavailable =
            e.leader >= 0 && (self.faults.down.contains(&leader_name) || self.faults.paused.contains(&leader_name));
        let state = AbstractState::Partition {
            leader,
            isr: list_len(&e.isr),
            replicas: list_len(&e.replicas),
            epoch_changed,
            leader_unavailable,
            faults: self.kinds(jumped),
        };
        self.states.insert(state);
        self.partitions
            .insert(key, Observed { leader: e.leader, leader_epoch: e.leader_epoch, clock_jumps: self.clock_jumps });
    }

    /// The kinds of fault in force now (and a clock jump, if `jumped`), sorted.
    fn kinds(&self, jumped: bool) -> Vec<FaultKind> {
        let f = &self.faults;
        [
            (!f.down.is_empty(), FaultKind::Down),
            (!f.paused.is_empty(), FaultKind::Paused),
            (f.partitioned, FaultKind::Partitioned),
            (self.cut, FaultKind::Cut),
            (self.lagged, FaultKind::Lagged),
            (!f.held.is_empty(), FaultKind::Held),
            (!self.faulted_disks.is_empty(), FaultKind::Disk),
            (jumped, FaultKind::ClockJump),
        ]
        .into_iter()
        .filter_map(|(on, kind)| on.then_some(kind))
        .collect()
    }
}

/// Whether a disk set so is faulted: a capacity limit, or more fsync errors or bit flips than
/// the typical disk has anyway.
fn disk_faulted(e: &DiskFaultsChanged) -> bool {
    let typical = MemDiskFaults::typical();
    let per_million = |rate: f64| (rate * 1_000_000.0).round() as u64;
    e.capacity_bytes >= 0
        || e.sync_errors_per_million > per_million(typical.sync_error_rate)
        || e.bit_flips_per_million > per_million(typical.bit_flip_rate)
}

/// The number of broker ids in a `,`-joined list (`""`: none).
fn list_len(list: &str) -> usize {
    list.split(',').filter(|id| !id.trim().is_empty()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(time_ns: u64, node: &str, name: &str, fields: &str) -> String {
        format!(r#"{{"time_ns":{time_ns},"node":"{node}","name":"{name}","fields":{{{fields}}}}}"#)
    }

    fn observed(time_ns: u64, leader: i32, epoch: i32, isr: &str) -> String {
        line(
            time_ns,
            "sim",
            "partition_observed",
            &format!(
                r#""isr":"{isr}","leader":{leader},"leader_epoch":{epoch},"partition":0,"replicas":"1,2,3","topic":"events""#
            ),
        )
    }

    fn partition_states(states: &BTreeSet<AbstractState>) -> Vec<AbstractState> {
        states.iter().filter(|s| matches!(s, AbstractState::Partition { .. })).cloned().collect()
    }

    fn partition(
        leader: LeaderRole,
        isr: usize,
        epoch_changed: bool,
        leader_unavailable: bool,
        faults: &[FaultKind],
    ) -> AbstractState {
        AbstractState::Partition {
            leader,
            isr,
            replicas: 3,
            epoch_changed,
            leader_unavailable,
            faults: faults.to_vec(),
        }
    }

    #[test]
    fn partition_observations_become_leader_role_isr_epoch_and_faults() {
        let trace = [
            observed(1, 1, 1, "1,2,3"),
            line(2, "sim", "node_killed", r#""node":"b1""#),
            line(3, "sim", "link_cut", r#""from":"b2","to":"b3""#),
            observed(4, 1, 1, "1,2"),
            line(5, "sim", "clock_jumped", r#""delta_ms":3000,"node":"b2""#),
            observed(6, -1, 1, "2"),
            line(7, "sim", "node_restarted", r#""node":"b1""#),
            line(8, "sim", "network_healed", r#""cuts":1,"lags":0,"partition_groups":0,"resumed":0"#),
            observed(9, 2, 2, "1,2"),
            observed(10, 2, 2, "1,2,3"),
        ]
        .join("\n");
        let states = partition_states(&abstract_states(&trace));
        let expected = [
            partition(LeaderRole::None, 1, false, false, &[FaultKind::Down, FaultKind::Cut, FaultKind::ClockJump]),
            partition(LeaderRole::Same, 2, false, true, &[FaultKind::Down, FaultKind::Cut]),
            partition(LeaderRole::Same, 3, false, false, &[]),
            partition(LeaderRole::Changed, 2, true, false, &[]),
            partition(LeaderRole::Changed, 3, true, false, &[]),
        ];
        let mut expected = expected.to_vec();
        expected.sort();
        assert_eq!(states, expected);
    }

    #[test]
    fn disk_faults_count_only_beyond_the_typical_disk() {
        let disk = |sync: u64, cap: i64| {
            line(
                1,
                "sim",
                "disk_faults_changed",
                &format!(
                    r#""bit_flips_per_million":1000,"capacity_bytes":{cap},"node":"b1","sync_errors_per_million":{sync}"#
                ),
            )
        };
        let faults_of = |lines: &[String]| {
            let mut trace = lines.to_vec();
            trace.push(observed(9, 1, 1, "1,2,3"));
            match partition_states(&abstract_states(&trace.join("\n"))).pop() {
                Some(AbstractState::Partition { faults, .. }) => faults,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(faults_of(&[disk(500, -1)]), []);
        assert_eq!(faults_of(&[disk(20_000, -1)]), [FaultKind::Disk]);
        assert_eq!(faults_of(&[disk(500, 4096)]), [FaultKind::Disk]);
        assert_eq!(faults_of(&[disk(20_000, -1), disk(500, -1)]), []);
    }

    #[test]
    fn transitions_pair_successive_events_of_a_node_and_skip_the_data_path() {
        let trace = [
            line(1, "b1", "log_recovered", ""),
            line(2, "b2", "broker_registered", ""),
            line(3, "b1", "batch_appended", ""),
            line(4, "b1", "make_follower", ""),
            line(5, "b1", "replica_truncated", ""),
        ]
        .join("\n");
        let transitions: Vec<String> = abstract_states(&trace)
            .iter()
            .filter(|s| matches!(s, AbstractState::Transition { .. }))
            .map(AbstractState::text)
            .collect();
        assert_eq!(
            transitions,
            ["transition node=b log_recovered->make_follower", "transition node=b make_follower->replica_truncated"]
        );
    }

    #[test]
    fn coverage_counts_and_absorbs_new_states() {
        let a = Coverage::of_trace(&[observed(1, 1, 1, "1,2,3"), observed(2, 2, 2, "2")].join("\n"));
        let b = Coverage::of_trace(&[observed(1, 1, 1, "1,2,3"), observed(2, -1, 1, "1")].join("\n"));
        // Two partition states and one transition (partition_observed twice on `sim`).
        assert_eq!(a.len(), 3);
        let mut all = a.clone();
        assert_eq!(all.count_new(&b), 1);
        assert_eq!(all.absorb(&b), 1);
        assert_eq!(all.absorb(&a), 0);
        assert_eq!(all.len(), 4);
        assert_eq!(Coverage::of_trace(""), Coverage::default());
    }
}
