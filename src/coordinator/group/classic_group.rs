//! `ClassicGroup`: one classic group's state, generation, leader and members, and the only
//! function that changes its state (GROUPS-AND-TRANSACTIONS.md §2.1).

use std::collections::{BTreeMap, BTreeSet};

use super::member::ClassicMember;
use super::outputs::{Outputs, RequestId, StateChange, TimerOp};
use super::records::{GroupMetadataValue, MemberMetadata};
use super::timers::{Deadlines, TimerKey, TimerKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    /// The edges of §2.1; every other change is a bug.
    pub fn can_move_to(self, to: GroupState) -> bool {
        use GroupState::*;
        matches!(
            (self, to),
            (Empty, PreparingRebalance)
                | (PreparingRebalance, CompletingRebalance)
                | (PreparingRebalance, Empty)
                | (CompletingRebalance, Stable)
                | (CompletingRebalance, PreparingRebalance)
                | (Stable, PreparingRebalance)
                | (_, Dead)
        ) && self != Dead
    }
}

/// The initial rebalance (from Empty) waits `group.initial.rebalance.delay.ms`, re-armed while
/// new members keep arriving, within `remaining_ms` of the rebalance timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct InitialDelay {
    pub(super) remaining_ms: i64,
    pub(super) new_member_added: bool,
}

/// Invariants:
/// - `generation_id >= 0`;
/// - no members ⇔ no leader (unless Dead); otherwise the leader is a member;
/// - Empty has no members; CompletingRebalance and Stable have members,
///   a selected protocol and `generation_id > 0`, and every member supports that protocol;
/// - `static_members` maps each instance id to the one member that carries it, and every static
///   member is in it;
/// - pending member ids are not members;
/// - members await a join only in PreparingRebalance, a sync only in CompletingRebalance;
///   `pending_sync` ⊆ members and empty outside CompletingRebalance and Stable;
/// - `initial_delay` only in PreparingRebalance;
/// - every member has a Heartbeat deadline and every pending member a PendingMember one; a
///   PreparingRebalance group has a Join deadline; no deadline names anyone else.
#[derive(Debug, Clone)]
pub struct ClassicGroup {
    pub(super) group_id: String,
    pub(super) state: GroupState,
    pub(super) generation_id: i32,
    /// None for a simple group (offsets only) and before the first member.
    pub(super) protocol_type: Option<String>,
    pub(super) protocol_name: Option<String>,
    pub(super) leader_id: Option<String>,
    pub(super) members: BTreeMap<String, ClassicMember>,
    /// KIP-394 member ids handed out and not yet used to rejoin.
    pub(super) pending_members: BTreeSet<String>,
    /// group.instance.id → member id.
    pub(super) static_members: BTreeMap<String, String>,
    /// Members of this generation that have not sent SyncGroup yet.
    pub(super) pending_sync: BTreeSet<String>,
    pub(super) initial_delay: Option<InitialDelay>,
    pub(super) deadlines: Deadlines,
    pub(super) state_timestamp_ms: i64,
}

impl ClassicGroup {
    pub(super) fn new(group_id: &str, now_ms: i64) -> Self {
        ClassicGroup {
            group_id: group_id.to_string(),
            state: GroupState::Empty,
            generation_id: 0,
            protocol_type: None,
            protocol_name: None,
            leader_id: None,
            members: BTreeMap::new(),
            pending_members: BTreeSet::new(),
            static_members: BTreeMap::new(),
            pending_sync: BTreeSet::new(),
            initial_delay: None,
            deadlines: Deadlines::default(),
            state_timestamp_ms: now_ms,
        }
    }

    pub fn group_id(&self) -> &str {
        &self.group_id
    }

    pub fn state(&self) -> GroupState {
        self.state
    }

    pub fn generation_id(&self) -> i32 {
        self.generation_id
    }

    pub fn protocol_name(&self) -> Option<&str> {
        self.protocol_name.as_deref()
    }

    pub fn leader_id(&self) -> Option<&str> {
        self.leader_id.as_deref()
    }

    pub fn member(&self, member_id: &str) -> Option<&ClassicMember> {
        self.members.get(member_id)
    }

    pub fn members(&self) -> impl Iterator<Item = &ClassicMember> {
        self.members.values()
    }

    pub fn is_pending_member(&self, member_id: &str) -> bool {
        self.pending_members.contains(member_id)
    }

    pub fn static_member_id(&self, group_instance_id: &str) -> Option<&str> {
        self.static_members.get(group_instance_id).map(String::as_str)
    }

    /// The one way the state changes.
    pub(super) fn transition_to(&mut self, to: GroupState, now_ms: i64, out: &mut Outputs) {
        assert!(self.state.can_move_to(to), "group {}: illegal transition {:?} -> {:?}", self.group_id, self.state, to);
        out.state_changes.push(StateChange {
            group_id: self.group_id.clone(),
            from: self.state,
            to,
            generation_id: self.generation_id,
        });
        self.state = to;
        self.state_timestamp_ms = now_ms;
    }

    pub(super) fn is(&self, state: GroupState) -> bool {
        self.state == state
    }

    pub(super) fn arm(&mut self, member_id: &str, kind: TimerKind, deadline_ms: i64, out: &mut Outputs) {
        self.deadlines.set(member_id, kind, deadline_ms);
        out.timers.push(TimerOp::Set { key: self.timer_key(member_id, kind), deadline_ms });
    }

    pub(super) fn disarm(&mut self, member_id: &str, kind: TimerKind, out: &mut Outputs) {
        if self.deadlines.cancel(member_id, kind) {
            out.timers.push(TimerOp::Cancel { key: self.timer_key(member_id, kind) });
        }
    }

    pub(super) fn disarm_all(&mut self, out: &mut Outputs) {
        for (member_id, kind) in self.deadlines.clear() {
            out.timers.push(TimerOp::Cancel { key: self.timer_key(&member_id, kind) });
        }
    }

    fn timer_key(&self, member_id: &str, kind: TimerKind) -> TimerKey {
        TimerKey { group_id: self.group_id.clone(), member_id: member_id.to_string(), kind }
    }

    /// Restarts a member's session timeout (heartbeat, join completion, sync delivery).
    pub(super) fn touch_member(&mut self, member_id: &str, now_ms: i64, out: &mut Outputs) {
        let session_timeout_ms = self.members[member_id].session_timeout_ms;
        self.arm(member_id, TimerKind::Heartbeat, now_ms + i64::from(session_timeout_ms), out);
    }

    /// The largest rebalance timeout among the members (Kafka's `rebalanceTimeoutMs`).
    pub(super) fn rebalance_timeout_ms(&self) -> i64 {
        self.members.values().map(|m| i64::from(m.rebalance_timeout_ms)).max().unwrap_or(0)
    }

    pub(super) fn add_member(&mut self, member: ClassicMember) {
        assert!(!self.members.contains_key(&member.member_id));
        if self.members.is_empty() {
            self.protocol_type = Some(member.protocol_type.clone());
        }
        if self.leader_id.is_none() {
            self.leader_id = Some(member.member_id.clone());
        }
        if let Some(instance) = &member.group_instance_id {
            self.static_members.insert(instance.clone(), member.member_id.clone());
        }
        self.members.insert(member.member_id.clone(), member);
    }

    /// Removes a member and its deadlines; returns it so the caller can answer what it parked.
    pub(super) fn remove_member(&mut self, member_id: &str, out: &mut Outputs) -> ClassicMember {
        let member = self.members.remove(member_id).expect("removing a member that exists");
        if let Some(instance) = &member.group_instance_id {
            if self.static_members.get(instance).map(String::as_str) == Some(member_id) {
                self.static_members.remove(instance);
            }
        }
        self.pending_sync.remove(member_id);
        self.disarm(member_id, TimerKind::Heartbeat, out);
        if self.leader_id.as_deref() == Some(member_id) {
            self.leader_id = self.members.keys().next().cloned();
        }
        member
    }

    pub(super) fn supports_protocols(&self, protocol_type: &str, names: &[&str]) -> bool {
        if self.members.is_empty() {
            return !protocol_type.is_empty() && !names.is_empty();
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && names.iter().any(|name| self.members.values().all(|m| m.supports(name)))
    }

    /// Each member votes for its first protocol every member supports; plurality wins, ties go
    /// to the name that sorts first (Java's tie-break is hash order: any fixed rule will do).
    pub(super) fn select_protocol(&self) -> Option<String> {
        let candidates: BTreeSet<&str> = self
            .members
            .values()
            .flat_map(|m| m.protocols.iter().map(|p| p.name.as_str()))
            .filter(|name| self.members.values().all(|m| m.supports(name)))
            .collect();
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for member in self.members.values() {
            if let Some(p) = member.protocols.iter().find(|p| candidates.contains(p.name.as_str())) {
                *votes.entry(p.name.as_str()).or_default() += 1;
            }
        }
        let best = votes.values().copied().max()?;
        votes.into_iter().find(|&(_, n)| n == best).map(|(name, _)| name.to_string())
    }

    pub(super) fn all_members_joined(&self) -> bool {
        self.pending_members.is_empty() && self.members.values().all(|m| m.awaiting_join.is_some())
    }

    pub(super) fn parked_syncs(&mut self) -> Vec<(String, RequestId)> {
        self.members.values_mut().filter_map(|m| m.awaiting_sync.take().map(|r| (m.member_id.clone(), r))).collect()
    }

    pub(super) fn metadata_value(&self) -> GroupMetadataValue {
        let protocol = self.protocol_name.clone().unwrap_or_default();
        GroupMetadataValue {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            generation_id: self.generation_id,
            protocol_name: self.protocol_name.clone(),
            leader: self.leader_id.clone(),
            current_state_timestamp_ms: self.state_timestamp_ms,
            members: self
                .members
                .values()
                .map(|m| MemberMetadata {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    session_timeout_ms: m.session_timeout_ms,
                    subscription: m.metadata_for(&protocol),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        }
    }

    pub(super) fn invariant_violation(&self) -> Option<String> {
        use GroupState::*;
        if self.generation_id < 0 {
            return Some(format!("generation {} < 0", self.generation_id));
        }
        if self.state == Dead {
            return None;
        }
        match (&self.leader_id, self.members.is_empty()) {
            (None, true) => {}
            (Some(leader), false) if self.members.contains_key(leader) => {}
            (leader, _) => return Some(format!("leader {leader:?} with members {:?}", self.members.keys())),
        }
        if self.state == Empty && !self.members.is_empty() {
            return Some("Empty with members".into());
        }
        if matches!(self.state, CompletingRebalance | Stable) {
            if self.members.is_empty() || self.generation_id == 0 {
                return Some(format!("{:?} without members or generation", self.state));
            }
            let Some(protocol) = &self.protocol_name else { return Some("no selected protocol".into()) };
            if self.members.values().any(|m| !m.supports(protocol)) {
                return Some(format!("a member does not support {protocol}"));
            }
        }
        for (instance, member_id) in &self.static_members {
            if self.members.get(member_id).and_then(|m| m.group_instance_id.as_ref()) != Some(instance) {
                return Some(format!("instance {instance} bound to {member_id}, not a member carrying it"));
            }
        }
        for m in self.members.values() {
            if let Some(instance) = &m.group_instance_id {
                if self.static_members.get(instance) != Some(&m.member_id) {
                    return Some(format!("static member {} not bound", m.member_id));
                }
            }
            if m.protocols.is_empty() || m.protocol_type.is_empty() {
                return Some(format!("member {} without protocols", m.member_id));
            }
            if m.awaiting_join.is_some() && self.state != PreparingRebalance {
                return Some(format!("{} awaits a join in {:?}", m.member_id, self.state));
            }
            if m.awaiting_sync.is_some() && self.state != CompletingRebalance {
                return Some(format!("{} awaits a sync in {:?}", m.member_id, self.state));
            }
            if self.deadlines.get(&m.member_id, TimerKind::Heartbeat).is_none() {
                return Some(format!("{} has no heartbeat deadline", m.member_id));
            }
        }
        if let Some(id) = self.pending_members.iter().find(|id| self.members.contains_key(*id)) {
            return Some(format!("pending {id} is a member"));
        }
        if self.pending_members.iter().any(|id| self.deadlines.get(id, TimerKind::PendingMember).is_none()) {
            return Some("pending member without deadline".into());
        }
        if !self.pending_sync.is_subset(&self.members.keys().cloned().collect()) {
            return Some("pending sync of a non-member".into());
        }
        if !self.pending_sync.is_empty() && !matches!(self.state, CompletingRebalance | Stable) {
            return Some(format!("pending sync in {:?}", self.state));
        }
        if self.initial_delay.is_some() && self.state != PreparingRebalance {
            return Some("initial delay outside PreparingRebalance".into());
        }
        if self.state == PreparingRebalance && self.deadlines.get("", TimerKind::Join).is_none() {
            return Some("PreparingRebalance without a join deadline".into());
        }
        for ((member_id, kind), _) in self.deadlines.iter() {
            let ok = match kind {
                TimerKind::Heartbeat => self.members.contains_key(member_id),
                TimerKind::PendingMember => self.pending_members.contains(member_id),
                TimerKind::Join | TimerKind::Sync => member_id.is_empty(),
            };
            if !ok {
                return Some(format!("stray deadline {member_id:?} {kind:?}"));
            }
        }
        None
    }

    pub(super) fn check_invariants(&self) {
        if let Some(violation) = self.invariant_violation() {
            panic!("ClassicGroup {} invariant: {violation}", self.group_id);
        }
    }
}
