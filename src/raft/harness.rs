//! A test cluster of `RaftCore`s in one process, with a network and disks that misbehave, and
//! the checker of REPLICATION.md §6's Raft invariants 1–10.
//!
//! Fault model:
//! - network: each message is delayed 1–40 ms (so messages re-order), dropped, or delivered
//!   twice, with the probabilities in [`Faults`]; a partitioned node loses everything to and
//!   from it; messages to a crashed node are lost;
//! - disk: a Ready's writes complete 0–10 ms later (sometimes 50–300 ms: an fsync stall), in
//!   order (a FIFO device). The harness does
//!   what a real shell does: immediate messages go at once, the writes become durable at
//!   completion, and only then do `messages_after_persist` leave and `on_persisted` run;
//! - crash: the core is dropped; of the writes not yet complete, a random prefix of the
//!   operations (quorum-state write, truncation, each appended entry) reaches the disk and the
//!   rest is lost, as with a device that had written some of its queue; nothing that waited
//!   for those writes was sent. A restart builds a new core from the disk alone.
//!
//! Checks (each names its §6 invariant; a violation is recorded, with the time, not panicked,
//! so a test can assert that a broken core IS caught): `SingleLeaderPerEpoch` (1),
//! `OneVotePerEpoch` (2), `VotePersistedBeforeReply` (3), `MonotonicEpoch` (4),
//! `UpToDateVoting` (5), `CommittedPrefixAgreement` (6), `MonotonicHighWatermark` (7),
//! `CurrentEpochCommit` (8), `NoTruncationBelowHighWatermark` (9), `LeaderAppendsOwnEpoch` (10),
//! `SnapshotIdsAreValid` (11: a snapshot is taken at most at the HW, and every installed
//! snapshot's bytes are those of the committed entries below its end).
//!
//! Snapshots: now and then a node's state machine (the list of committed entries) writes a
//! snapshot at its HW and calls `on_snapshot`; the log start moves up on every node that
//! does, and followers that fall behind it fetch the snapshot with FetchSnapshot.

use super::config::RaftConfig;
use super::core::RaftCore;
use super::messages::{
    Entry, EntryKind, Epoch, Message, NodeId, Offset, Outbound, Request, Response, SnapshotId, VoteRequest,
};
use super::quorum_state::Role;
use super::quorum_state_file::QuorumStateRecord;
use super::raft_log::RaftLog;
use super::ready::Ready;
use crate::runtime::seeded;
use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Fault probabilities and switches.
#[derive(Debug, Clone)]
pub(super) struct Faults {
    pub drop: f64,
    pub duplicate: f64,
    /// Per action step (every few ms): crash a random live node.
    pub crash: f64,
    /// Per action step: start or heal a partition of one node.
    pub partition: f64,
    /// Per action step: propose on whichever node leads.
    pub propose: f64,
    /// A crashed node restarts after up to this long.
    pub max_down_ms: u64,
    /// Per write: an fsync stall of 50–300 ms (otherwise 0–10 ms).
    pub slow_disk: f64,
    /// Per completed write that made a vote durable: crash right after the answer left (the
    /// moment a restart must not forget).
    pub crash_after_vote: f64,
    /// Per action step: a random live node snapshots its committed state.
    pub snapshot: f64,
}

impl Faults {
    pub fn none() -> Faults {
        Faults {
            drop: 0.0,
            duplicate: 0.0,
            crash: 0.0,
            partition: 0.0,
            propose: 0.05,
            max_down_ms: 1,
            slow_disk: 0.0,
            crash_after_vote: 0.0,
            snapshot: 0.0,
        }
    }

    /// Crashes often and briefly.
    pub fn crashy() -> Faults {
        Faults {
            drop: 0.05,
            duplicate: 0.03,
            crash: 0.05,
            partition: 0.0,
            propose: 0.08,
            max_down_ms: 100,
            slow_disk: 0.05,
            crash_after_vote: 0.3,
            snapshot: 0.01,
        }
    }

    pub fn rough() -> Faults {
        Faults {
            drop: 0.05,
            duplicate: 0.03,
            crash: 0.008,
            partition: 0.003,
            propose: 0.08,
            max_down_ms: 3000,
            slow_disk: 0.05,
            crash_after_vote: 0.02,
            snapshot: 0.01,
        }
    }
}

/// What a node's disk holds durably.
#[derive(Debug, Clone, Default)]
pub(super) struct Disk {
    pub quorum_state: Option<QuorumStateRecord>,
    /// The latest durable snapshot and its bytes.
    pub snapshot: Option<(SnapshotId, Bytes)>,
    /// Log entries in offset order; those below the snapshot's end are ignored at start-up
    /// (a real shell deletes them once the snapshot is durable).
    pub log: Vec<Entry>,
    /// Where the log file ends (deleting covered entries does not move it; a truncation, an
    /// install or a restart past the snapshot does).
    pub log_end: Offset,
}

impl Disk {
    fn entry(&self, offset: Offset) -> Option<&Entry> {
        let first = self.log.first()?.offset;
        if offset < first {
            return None;
        }
        self.log.get((offset - first) as usize)
    }

    /// Whether the disk holds `entry` at its offset, in the log or inside the snapshot (which
    /// holds only committed entries: the checker compares its bytes with the registry).
    pub(super) fn holds(&self, entry: &Entry) -> bool {
        self.entry(entry.offset) == Some(entry)
            || self.snapshot.as_ref().is_some_and(|(id, _)| entry.offset < id.end_offset)
    }
}

#[derive(Debug, Clone)]
enum DiskOp {
    QuorumState(QuorumStateRecord),
    InstallSnapshot(SnapshotId, Bytes),
    Truncate(Offset),
    Append(Entry),
    DeleteBelow(Offset),
}

#[derive(Debug)]
struct PendingWrite {
    ready_id: u64,
    ops: Vec<DiskOp>,
    after: Vec<Tagged>,
    complete_at: u64,
}

/// An outbound message with what the checker needs to judge it when it leaves.
#[derive(Debug, Clone)]
pub(super) struct Tagged {
    pub(super) out: Outbound,
    /// For a granted VoteResponse: the request it answers and the voter's (last epoch, LEO).
    pub(super) vote: Option<(VoteRequest, (Epoch, Offset))>,
}

pub(super) struct Node {
    pub(super) core: Option<RaftCore>,
    pub(super) disk: Disk,
    pending: VecDeque<PendingWrite>,
    pub(super) restarts: u64,
    pub(super) crashed_until: u64,
    /// Highest epoch this node made visible: in a message it sent or a durable quorum-state
    /// record (an epoch entered in memory and lost in a crash before either was never seen).
    pub(super) announced_epoch: Epoch,
    /// Highest epoch in this process lifetime.
    pub(super) lifetime_epoch: Epoch,
    /// High watermark in this process lifetime.
    pub(super) lifetime_hw: Offset,
    /// Offsets below this were compared with the committed registry in this lifetime.
    pub(super) checked_upto: Offset,
    /// The epoch it restarted Resigned in, if it did (invariant 10).
    pub(super) restarted_resigned: Option<Epoch>,
}

#[derive(Debug)]
struct InFlightMessage {
    deliver_at: u64,
    seq: u64,
    from: NodeId,
    to: NodeId,
    message: Message,
}

/// The cluster, its faults and its checker.
pub(super) struct Cluster {
    pub now: u64,
    pub config: RaftConfig,
    pub voters: BTreeSet<NodeId>,
    pub ids: Vec<NodeId>,
    pub(super) nodes: BTreeMap<NodeId, Node>,
    net: Vec<InFlightMessage>,
    pub(super) seq: u64,
    pub(super) rng: StdRng,
    pub(super) seed: u64,
    pub faults: Faults,
    pub(super) partitioned: BTreeSet<NodeId>,
    pub(super) next_action_at: u64,
    pub(super) proposals: u64,
    // checker state
    pub violations: Vec<String>,
    pub(super) leaders: BTreeMap<Epoch, NodeId>,
    pub(super) votes: BTreeMap<(NodeId, Epoch), NodeId>,
    pub(super) committed: BTreeMap<Offset, Entry>,
    /// The request being handled in the current step (to tag its Vote answer).
    pub(super) handling_vote: Option<VoteRequest>,
    pub stats: Stats,
    /// A timer failed to move: the run stops (see `TimerProgress`).
    pub(super) stuck: bool,
}

/// What a run exercised, so tests can require that the faults actually bit.
#[derive(Debug, Clone, Default)]
pub(super) struct Stats {
    pub crashes: u64,
    pub restarts_resigned: u64,
    pub truncations: u64,
    pub granted_votes: u64,
    pub leaders: u64,
    pub committed: u64,
    pub messages: u64,
    pub snapshots_taken: u64,
    pub snapshots_installed: u64,
}

impl Stats {
    pub fn add(&mut self, other: &Stats) {
        self.crashes += other.crashes;
        self.restarts_resigned += other.restarts_resigned;
        self.truncations += other.truncations;
        self.granted_votes += other.granted_votes;
        self.leaders += other.leaders;
        self.committed += other.committed;
        self.messages += other.messages;
        self.snapshots_taken += other.snapshots_taken;
        self.snapshots_installed += other.snapshots_installed;
    }
}

impl Cluster {
    /// `voters` voters with ids 1..=voters, and `observers` more with ids 101….
    pub fn new(seed: u64, voters: i32, observers: i32, config: RaftConfig, faults: Faults) -> Cluster {
        let voter_ids: BTreeSet<NodeId> = (1..=voters).collect();
        let mut ids: Vec<NodeId> = voter_ids.iter().copied().collect();
        ids.extend((0..observers).map(|i| 101 + i));
        let mut cluster = Cluster {
            now: 0,
            config,
            voters: voter_ids,
            ids: ids.clone(),
            nodes: BTreeMap::new(),
            net: Vec::new(),
            seq: 0,
            rng: StdRng::seed_from_u64(seed),
            seed,
            faults,
            partitioned: BTreeSet::new(),
            next_action_at: 0,
            proposals: 0,
            violations: Vec::new(),
            leaders: BTreeMap::new(),
            votes: BTreeMap::new(),
            committed: BTreeMap::new(),
            handling_vote: None,
            stats: Stats::default(),
            stuck: false,
        };
        for id in ids {
            let node = Node {
                core: None,
                disk: Disk::default(),
                pending: VecDeque::new(),
                restarts: 0,
                crashed_until: 0,
                announced_epoch: 0,
                lifetime_epoch: 0,
                lifetime_hw: 0,
                checked_upto: 0,
                restarted_resigned: None,
            };
            cluster.nodes.insert(id, node);
            cluster.start(id);
        }
        cluster
    }

    pub fn core(&self, id: NodeId) -> Option<&RaftCore> {
        self.nodes[&id].core.as_ref()
    }

    pub(super) fn violation(&mut self, name: &str, detail: String) {
        if self.violations.len() < 20 {
            self.violations.push(format!("{name} at {} ms (seed {}): {detail}", self.now, self.seed));
        }
    }

    // ---- life and death --------------------------------------------------------------

    fn start(&mut self, id: NodeId) {
        let node = self.nodes.get_mut(&id).unwrap();
        node.restarts += 1;
        let rng = seeded(self.seed.wrapping_mul(1_000_003).wrapping_add(id as u64 * 7919 + node.restarts));
        let snapshot = node.disk.snapshot.clone();
        let start = snapshot.as_ref().map_or(0, |(id, _)| id.end_offset);
        // Like a real shell, recovery drops what the snapshot covers (the log restarts at its end
        // even if the local log never got that far: the snapshot holds those entries).
        node.disk.log.retain(|e| e.offset >= start);
        node.disk.log_end = node.disk.log_end.max(start);
        let entries = node.disk.log.clone();
        let log =
            RaftLog::recovered(snapshot.as_ref().map(|(id, _)| *id), entries).expect("the disk holds a valid log");
        let mut core =
            RaftCore::new(self.config.clone(), id, self.voters.clone(), node.disk.quorum_state, log, rng, self.now);
        if let Some((snapshot_id, data)) = snapshot {
            core.on_snapshot(self.now, snapshot_id, data).expect("the recovered snapshot");
        }
        if core.epoch() < node.announced_epoch {
            let detail =
                format!("node {id} restarted in epoch {} after announcing {}", core.epoch(), node.announced_epoch);
            self.violations.push(format!("MonotonicEpoch at {} ms (seed {}): {detail}", self.now, self.seed));
        }
        node.lifetime_epoch = core.epoch();
        node.lifetime_hw = core.high_watermark();
        node.checked_upto = core.log().start_offset();
        node.restarted_resigned = (core.role() == Role::Resigned).then_some(core.epoch());
        self.stats.restarts_resigned += node.restarted_resigned.is_some() as u64;
        node.core = Some(core);
        self.after_input(id);
    }

    /// Drops the node's process; a random prefix of its unfinished writes reaches the disk.
    pub fn crash(&mut self, id: NodeId, down_for_ms: u64) {
        let keep_fraction: f64 = self.rng.random();
        let node = self.nodes.get_mut(&id).unwrap();
        if node.core.is_none() {
            return;
        }
        node.core = None;
        self.stats.crashes += 1;
        node.crashed_until = self.now + down_for_ms;
        let ops: Vec<DiskOp> = node.pending.drain(..).flat_map(|w| w.ops).collect();
        let keep = (ops.len() as f64 * keep_fraction) as usize;
        for op in ops.into_iter().take(keep) {
            apply(&mut node.disk, op);
        }
        let durable_epoch = node.disk.quorum_state.map_or(0, |r| r.leader_epoch);
        node.announced_epoch = node.announced_epoch.max(durable_epoch);
    }

    // ---- the shell ---------------------------------------------------------------------

    /// Performs what the node's core has ready, as a shell would, then checks the invariants.
    fn after_input(&mut self, id: NodeId) {
        loop {
            let Some(core) = self.nodes.get_mut(&id).unwrap().core.as_mut() else { return };
            if !core.has_ready() {
                break;
            }
            let ready = core.take_ready();
            self.handle_ready(id, ready);
        }
        self.handling_vote = None;
        self.check_node(id);
    }

    fn handle_ready(&mut self, id: NodeId, ready: Ready) {
        self.check_ready(id, &ready);
        let vote_tag = self.vote_tag(id);
        let tag = |out: Outbound| {
            let granted = matches!(&out.message, Message::Response { body: Response::Vote(v), .. } if v.vote_granted);
            Tagged { vote: if granted { vote_tag.clone() } else { None }, out }
        };
        let immediate: Vec<Tagged> = ready.messages.into_iter().map(tag).collect();
        let after: Vec<Tagged> = ready.messages_after_persist.into_iter().map(tag).collect();
        for t in immediate {
            self.send(id, t);
        }
        let mut ops = Vec::new();
        if let Some(record) = ready.quorum_state {
            ops.push(DiskOp::QuorumState(record));
        }
        if let Some((id, data)) = ready.install_snapshot {
            self.stats.snapshots_installed += 1;
            ops.push(DiskOp::InstallSnapshot(id, data));
        }
        if let Some(offset) = ready.truncate_to {
            ops.push(DiskOp::Truncate(offset));
        }
        ops.extend(ready.append.into_iter().map(DiskOp::Append));
        if let Some(offset) = ready.log_start_offset {
            ops.push(DiskOp::DeleteBelow(offset));
        }
        if ops.is_empty() && after.is_empty() {
            return;
        }
        let latency = if self.rng.random_bool(self.faults.slow_disk) {
            self.rng.random_range(50..300)
        } else {
            self.rng.random_range(0..10)
        };
        let node = self.nodes.get_mut(&id).unwrap();
        let complete_at = node.pending.back().map_or(0, |w| w.complete_at).max(self.now + latency);
        node.pending.push_back(PendingWrite { ready_id: ready.id, ops, after, complete_at });
    }

    fn vote_tag(&self, id: NodeId) -> Option<(VoteRequest, (Epoch, Offset))> {
        let request = self.handling_vote.clone()?;
        let core = self.nodes[&id].core.as_ref()?;
        Some((request, (core.log().last_epoch(), core.log().end_offset())))
    }

    fn complete_write(&mut self, id: NodeId) {
        let node = self.nodes.get_mut(&id).unwrap();
        let write = node.pending.pop_front().unwrap();
        let votes =
            write.ops.iter().any(|op| matches!(op, DiskOp::QuorumState(r) if r.voted_id.is_some_and(|v| v != id)));
        for op in write.ops {
            apply(&mut node.disk, op);
        }
        let durable_epoch = node.disk.quorum_state.map_or(0, |r| r.leader_epoch);
        node.announced_epoch = node.announced_epoch.max(durable_epoch);
        for t in write.after {
            self.send(id, t);
        }
        let now = self.now;
        if let Some(core) = self.nodes.get_mut(&id).unwrap().core.as_mut() {
            core.on_persisted(now, write.ready_id);
        }
        self.after_input(id);
        if votes && self.rng.random_bool(self.faults.crash_after_vote) {
            let down = self.rng.random_range(0..self.faults.max_down_ms);
            self.crash(id, down);
        }
    }

    fn send(&mut self, from: NodeId, tagged: Tagged) {
        self.check_send(from, &tagged);
        let (epoch, _) = tagged.out.message.epoch_and_leader();
        let node = self.nodes.get_mut(&from).unwrap();
        node.announced_epoch = node.announced_epoch.max(epoch);
        let Tagged { out, .. } = tagged;
        self.stats.messages += 1;
        if self.partitioned.contains(&from) || self.partitioned.contains(&out.to) {
            return;
        }
        if self.rng.random_bool(self.faults.drop) {
            return;
        }
        let copies = if self.rng.random_bool(self.faults.duplicate) { 2 } else { 1 };
        for _ in 0..copies {
            let delay = self.rng.random_range(1..40);
            self.seq += 1;
            self.net.push(InFlightMessage {
                deliver_at: self.now + delay,
                seq: self.seq,
                from,
                to: out.to,
                message: out.message.clone(),
            });
        }
    }

    // ---- the event loop -----------------------------------------------------------------

    /// Runs until simulated time `until_ms`, with the current faults.
    pub fn run_until(&mut self, until_ms: u64) {
        while self.now < until_ms && !self.stuck {
            let next = self.next_event_time().min(until_ms);
            if self.stuck {
                break;
            }
            self.now = self.now.max(next);
            self.process_due();
            if self.now >= self.next_action_at {
                self.random_action();
                self.next_action_at = self.now + self.rng.random_range(1..20);
            }
        }
    }

    fn next_event_time(&self) -> u64 {
        let mut t = self.next_action_at;
        if let Some(m) = self.net.iter().map(|m| m.deliver_at).min() {
            t = t.min(m);
        }
        for node in self.nodes.values() {
            if let Some(w) = node.pending.front() {
                t = t.min(w.complete_at);
            }
            match &node.core {
                Some(core) => t = t.min(core.next_deadline()),
                None => t = t.min(node.crashed_until),
            }
        }
        t
    }

    fn process_due(&mut self) {
        let now = self.now;
        let ids = self.ids.clone();
        for &id in &ids {
            while self.nodes[&id].pending.front().is_some_and(|w| w.complete_at <= now) {
                self.complete_write(id);
            }
        }
        // Deliver due messages, earliest first (ties by send order).
        loop {
            let due = self
                .net
                .iter()
                .enumerate()
                .filter(|(_, m)| m.deliver_at <= now)
                .min_by_key(|(_, m)| (m.deliver_at, m.seq))
                .map(|(i, _)| i);
            let Some(index) = due else { break };
            let m = self.net.swap_remove(index);
            self.deliver(m);
        }
        for &id in &ids {
            let node = &self.nodes[&id];
            match &node.core {
                Some(core) if core.next_deadline() <= now => {
                    let core = self.nodes.get_mut(&id).unwrap().core.as_mut().unwrap();
                    // A role change may start a timer that is due at once (an observer that
                    // lost its leader asks the voters now), but a timer that stays due tick
                    // after tick would spin the shell forever.
                    for _ in 0..3 {
                        if core.next_deadline() <= now {
                            core.tick(now);
                        }
                    }
                    if core.next_deadline() <= now {
                        let detail = format!("node {id} still due at {} after tick", core.next_deadline());
                        self.violation("TimerProgress", detail);
                        self.stuck = true;
                    }
                    self.after_input(id);
                }
                None if node.crashed_until <= now => self.start(id),
                _ => {}
            }
        }
    }

    fn deliver(&mut self, m: InFlightMessage) {
        if self.partitioned.contains(&m.from) || self.partitioned.contains(&m.to) {
            return;
        }
        let now = self.now;
        let Some(core) = self.nodes.get_mut(&m.to).unwrap().core.as_mut() else { return };
        if let Message::Request { body: Request::Vote(v), .. } = &m.message {
            self.handling_vote = Some(v.clone());
        }
        core.step(now, m.from, m.message);
        self.after_input(m.to);
    }

    fn random_action(&mut self) {
        let live: Vec<NodeId> = self.ids.iter().copied().filter(|id| self.nodes[id].core.is_some()).collect();
        if self.rng.random_bool(self.faults.crash) && !live.is_empty() {
            let victim = live[self.rng.random_range(0..live.len())];
            let down = self.rng.random_range(0..self.faults.max_down_ms);
            self.crash(victim, down);
        }
        if self.rng.random_bool(self.faults.partition) {
            if self.partitioned.is_empty() {
                let victim = self.ids[self.rng.random_range(0..self.ids.len())];
                self.partitioned.insert(victim);
            } else {
                self.partitioned.clear();
            }
        }
        if self.rng.random_bool(self.faults.propose) {
            self.propose_on_leader();
        }
        if self.rng.random_bool(self.faults.snapshot) && !live.is_empty() {
            let id = live[self.rng.random_range(0..live.len())];
            self.take_snapshot(id);
        }
    }

    /// The node's state machine snapshots everything it has committed: the snapshot file is
    /// durable first (the state machine's job), then the core hears of it.
    pub fn take_snapshot(&mut self, id: NodeId) {
        let Some(core) = self.nodes[&id].core.as_ref() else { return };
        let hw = core.high_watermark();
        if hw < core.log().start_offset() + 5 {
            return;
        }
        let snapshot_id = SnapshotId { end_offset: hw, epoch: core.log().entry(hw - 1).unwrap().epoch };
        let Some(data) = self.committed_snapshot(hw) else {
            self.violation("SnapshotIdsAreValid", format!("node {id} has HW {hw} beyond the committed registry"));
            return;
        };
        let now = self.now;
        let node = self.nodes.get_mut(&id).unwrap();
        node.disk.snapshot = Some((snapshot_id, data.clone()));
        node.core.as_mut().unwrap().on_snapshot(now, snapshot_id, data).expect("a snapshot at the HW is valid");
        self.stats.snapshots_taken += 1;
        self.after_input(id);
    }

    /// The snapshot bytes of the committed entries below `end`, if the registry has them all.
    pub(super) fn committed_snapshot(&self, end: Offset) -> Option<Bytes> {
        let entries: Vec<&Entry> = self.committed.range(..end).map(|(_, e)| e).collect();
        (entries.len() as Offset == end).then(|| snapshot_bytes(entries.into_iter()))
    }

    /// Proposes one entry on every node that believes it leads; returns the (node, offset).
    pub fn propose_on_leader(&mut self) -> Option<(NodeId, Offset)> {
        let now = self.now;
        let mut result = None;
        for id in self.ids.clone() {
            let Some(core) = self.nodes.get_mut(&id).unwrap().core.as_mut() else { continue };
            if core.role() != Role::Leader {
                continue;
            }
            self.proposals += 1;
            let payload = Bytes::from(format!("p{}-{}", self.seed, self.proposals));
            let (first, _) = core.propose(now, vec![payload]).expect("a leader accepts proposals");
            result = Some((id, first));
            self.after_input(id);
        }
        result
    }

    /// Ends every fault: heals the partition, restarts crashed nodes, stops drops.
    pub fn heal(&mut self) {
        self.faults = Faults { drop: 0.0, duplicate: 0.0, crash: 0.0, partition: 0.0, ..self.faults.clone() };
        self.partitioned.clear();
        for id in self.ids.clone() {
            if self.nodes[&id].core.is_none() {
                self.start(id);
            }
        }
    }

    /// The node that leads the highest epoch, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.ids
            .iter()
            .filter_map(|id| self.core(*id).map(|c| (c.epoch(), c.role() == Role::Leader, *id)))
            .filter(|(_, leads, _)| *leads)
            .max()
            .map(|(_, _, id)| id)
    }

    /// Whether an entry proposed as `payload`-style data is committed on every voter.
    pub fn committed_everywhere(&self, offset: Offset) -> bool {
        self.voters.iter().all(|v| self.core(*v).is_some_and(|c| c.high_watermark() > offset))
    }

    /// The committed data entries (not control entries), in order.
    pub fn committed_data(&self) -> Vec<Bytes> {
        self.committed.values().filter(|e| e.kind == EntryKind::Data).map(|e| e.payload.clone()).collect()
    }
}

fn apply(disk: &mut Disk, op: DiskOp) {
    match op {
        DiskOp::QuorumState(record) => disk.quorum_state = Some(record),
        DiskOp::InstallSnapshot(id, data) => {
            disk.log_end = id.end_offset;
            disk.snapshot = Some((id, data));
            disk.log.clear();
        }
        DiskOp::Truncate(offset) => {
            disk.log.retain(|e| e.offset < offset);
            disk.log_end = disk.log_end.min(offset);
        }
        DiskOp::Append(entry) => {
            assert_eq!(entry.offset, disk.log_end, "appends continue the disk's log");
            disk.log_end += 1;
            disk.log.push(entry);
        }
        DiskOp::DeleteBelow(offset) => disk.log.retain(|e| e.offset >= offset),
    }
}

/// The bytes of a snapshot of `entries` (the harness's state machine is the list of committed
/// entries, so its snapshot is their encoding).
fn snapshot_bytes<'a>(entries: impl Iterator<Item = &'a Entry>) -> Bytes {
    let mut out = Vec::new();
    for e in entries {
        out.extend_from_slice(format!("{}:{}:{:?}:", e.offset, e.epoch, e.kind).as_bytes());
        out.extend_from_slice(&e.payload);
        out.push(b';');
    }
    Bytes::from(out)
}
