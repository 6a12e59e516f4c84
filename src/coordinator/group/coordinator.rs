//! `GroupCoordinator`: the classic-group core over every group this coordinator owns, its
//! committed offsets and the appends it is waiting for. `handle(now_ms, input)` is the one
//! entry point; the rebalance steps every request shares (prepare, complete the join phase,
//! remove a member) live here.

use std::collections::{BTreeMap, BTreeSet};

use super::classic_group::{ClassicGroup, GroupState, InitialDelay};
use super::error_code;
use super::outputs::{
    AppendId, Input, JoinGroupResponse, JoinMember, Outputs, RequestId, ResponseBody, SyncGroupResponse,
};
use super::records::{GroupRecord, OffsetCommitValue};
use super::timers::{TimerKey, TimerKind};

/// The broker settings the core reads, with Kafka's defaults.
#[derive(Debug, Clone)]
pub struct GroupConfig {
    pub group_min_session_timeout_ms: i32,
    pub group_max_session_timeout_ms: i32,
    pub group_initial_rebalance_delay_ms: i64,
    /// How long a member added during a join phase may wait for it (Kafka's constant).
    pub group_new_member_join_timeout_ms: i64,
    /// `group.max.size`; None is unbounded (Kafka's default is `Integer.MAX_VALUE`).
    pub group_max_size: Option<usize>,
    pub offset_metadata_max_bytes: usize,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            group_min_session_timeout_ms: 6_000,
            group_max_session_timeout_ms: 1_800_000,
            group_initial_rebalance_delay_ms: 3_000,
            group_new_member_join_timeout_ms: 300_000,
            group_max_size: None,
            offset_metadata_max_bytes: 4_096,
        }
    }
}

/// What an append in flight is for.
#[derive(Debug, Clone)]
pub(super) enum PendingAppend {
    /// The leader's assignment for `generation_id`; parked SyncGroups wait for it.
    Assignment { group_id: String, generation_id: i32, assignments: BTreeMap<String, Vec<u8>> },
    /// An OffsetCommit; per partition in request order, the value to store or the error.
    Commit { request_id: RequestId, group_id: String, partitions: Vec<(String, i32, Result<OffsetCommitValue, i16>)> },
    /// Group metadata nobody waits for (an emptied group, a static member's new id).
    Metadata,
}

/// Invariants: each group's (`ClassicGroup`'s list); at most one Assignment append in flight
/// per (group, generation); every parked OffsetCommit has its append in flight.
#[derive(Debug, Clone, Default)]
pub struct GroupCoordinator {
    pub(super) config: GroupConfig,
    pub(super) groups: BTreeMap<String, ClassicGroup>,
    /// Committed (appended and acknowledged) offsets: (group, topic, partition).
    pub(super) offsets: BTreeMap<(String, String, i32), OffsetCommitValue>,
    pub(super) pending_appends: BTreeMap<AppendId, PendingAppend>,
    next_append_id: u64,
    /// A rule broken on purpose, so the property test can show its checks fire.
    #[cfg(test)]
    pub(super) broken: Option<BrokenRule>,
}

#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BrokenRule {
    /// OffsetCommit takes any generation from a member.
    CommitsIgnoreTheGeneration,
    /// A rebalance drops the parked SyncGroups instead of answering them.
    RebalanceForgetsParkedSyncs,
}

impl GroupCoordinator {
    pub fn new(config: GroupConfig) -> Self {
        GroupCoordinator { config, ..Default::default() }
    }

    pub fn group(&self, group_id: &str) -> Option<&ClassicGroup> {
        self.groups.get(group_id)
    }

    pub fn committed_offset(&self, group_id: &str, topic: &str, partition: i32) -> Option<&OffsetCommitValue> {
        self.offsets.get(&(group_id.to_string(), topic.to_string(), partition))
    }

    /// Deadlines armed now, for a shell (or test) that drives time.
    pub fn armed_timers(&self) -> Vec<(TimerKey, i64)> {
        self.groups
            .values()
            .flat_map(|g| {
                g.deadlines.iter().map(|((member_id, kind), &deadline_ms)| {
                    (TimerKey { group_id: g.group_id.clone(), member_id: member_id.clone(), kind: *kind }, deadline_ms)
                })
            })
            .collect()
    }

    /// The one entry point: applies `input` at `now_ms` and returns what the shell must do.
    pub fn handle(&mut self, now_ms: i64, input: Input) -> Outputs {
        let mut out = Outputs::default();
        let touched = self.group_of(&input);
        match input {
            Input::JoinGroup { request_id, request, member_uuid } => {
                self.join_group(now_ms, request_id, request, member_uuid, &mut out)
            }
            Input::SyncGroup { request_id, request } => self.sync_group(now_ms, request_id, request, &mut out),
            Input::Heartbeat { request_id, request } => self.heartbeat(now_ms, request_id, request, &mut out),
            Input::LeaveGroup { request_id, request } => self.leave_group(now_ms, request_id, request, &mut out),
            Input::OffsetCommit { request_id, request } => self.offset_commit(now_ms, request_id, request, &mut out),
            Input::OffsetFetch { request_id, request } => self.offset_fetch(request_id, request, &mut out),
            Input::Timer(key) => self.on_timer(now_ms, key, &mut out),
            Input::AppendDone { append_id, error_code } => self.append_done(now_ms, append_id, error_code, &mut out),
            Input::Unload { group_id, error_code } => self.unload(now_ms, &group_id, error_code, &mut out),
        }
        if let Some(group) = touched.and_then(|id| self.groups.get(&id)) {
            group.check_invariants();
        }
        self.check_invariants();
        out
    }

    fn group_of(&self, input: &Input) -> Option<String> {
        Some(match input {
            Input::JoinGroup { request, .. } => request.group_id.clone(),
            Input::SyncGroup { request, .. } => request.member.group_id.clone(),
            Input::Heartbeat { request, .. } => request.group_id.clone(),
            Input::LeaveGroup { request, .. } => request.group_id.clone(),
            Input::OffsetCommit { request, .. } => request.member.group_id.clone(),
            Input::OffsetFetch { request, .. } => request.group_id.clone(),
            Input::Timer(key) => key.group_id.clone(),
            Input::AppendDone { append_id, .. } => match self.pending_appends.get(append_id)? {
                PendingAppend::Assignment { group_id, .. } | PendingAppend::Commit { group_id, .. } => group_id.clone(),
                PendingAppend::Metadata => return None,
            },
            Input::Unload { group_id, .. } => group_id.clone(),
        })
    }

    fn check_invariants(&self) {
        let mut assignment_generations = BTreeSet::new();
        for pending in self.pending_appends.values() {
            if let PendingAppend::Assignment { group_id, generation_id, .. } = pending {
                assert!(
                    assignment_generations.insert((group_id, *generation_id)),
                    "two assignment appends for {group_id} generation {generation_id}"
                );
            }
        }
    }

    /// Takes the group out of the map for `f`, which gets the coordinator too.
    pub(super) fn with_group<R>(
        &mut self,
        group_id: &str,
        f: impl FnOnce(&mut Self, &mut ClassicGroup) -> R,
    ) -> Option<R> {
        let mut group = self.groups.remove(group_id)?;
        let result = f(self, &mut group);
        self.groups.insert(group_id.to_string(), group);
        Some(result)
    }

    pub(super) fn append(&mut self, records: Vec<GroupRecord>, pending: PendingAppend, out: &mut Outputs) -> AppendId {
        let append_id = AppendId(self.next_append_id);
        self.next_append_id += 1;
        self.pending_appends.insert(append_id, pending);
        out.appends.push((append_id, records));
        append_id
    }

    pub(super) fn append_group_metadata(&mut self, group: &ClassicGroup, out: &mut Outputs) {
        let record =
            GroupRecord::GroupMetadata { group_id: group.group_id.clone(), value: Some(group.metadata_value()) };
        self.append(vec![record], PendingAppend::Metadata, out);
    }

    /// Kafka's `prepareRebalance`: fails parked syncs, then waits for every member to rejoin —
    /// from Empty under the initial rebalance delay, else under the rebalance timeout.
    pub(super) fn prepare_rebalance(&mut self, group: &mut ClassicGroup, now_ms: i64, out: &mut Outputs) {
        if group.is(GroupState::CompletingRebalance) {
            #[cfg(test)]
            if self.broken == Some(BrokenRule::RebalanceForgetsParkedSyncs) {
                group.parked_syncs();
            }
            for (_, request_id) in group.parked_syncs() {
                out.respond(
                    request_id,
                    ResponseBody::SyncGroup(SyncGroupResponse::error(error_code::REBALANCE_IN_PROGRESS)),
                );
            }
            for member in group.members.values_mut() {
                member.assignment.clear();
            }
            self.pending_appends
                .retain(|_, p| !matches!(p, PendingAppend::Assignment { group_id, .. } if *group_id == group.group_id));
        }
        group.pending_sync.clear();
        group.disarm("", TimerKind::Sync, out);
        let rebalance_timeout_ms = group.rebalance_timeout_ms();
        if group.is(GroupState::Empty) {
            let delay_ms = self.config.group_initial_rebalance_delay_ms;
            group.initial_delay =
                Some(InitialDelay { remaining_ms: (rebalance_timeout_ms - delay_ms).max(0), new_member_added: false });
            group.arm("", TimerKind::Join, now_ms + delay_ms, out);
        } else {
            group.arm("", TimerKind::Join, now_ms + rebalance_timeout_ms, out);
        }
        group.transition_to(GroupState::PreparingRebalance, now_ms, out);
        // A group whose members all await their answer (or that has none) is done at once.
        self.maybe_complete_join(group, now_ms, out);
    }

    /// Ends the join phase once every member awaits its response and no id is pending — but
    /// never during the initial delay, which only its timer ends.
    pub(super) fn maybe_complete_join(&mut self, group: &mut ClassicGroup, now_ms: i64, out: &mut Outputs) {
        if group.is(GroupState::PreparingRebalance) && group.initial_delay.is_none() && group.all_members_joined() {
            self.complete_join(group, now_ms, out);
        }
    }

    /// Kafka's `onCompleteJoin`: drops dynamic members that did not rejoin, makes sure the
    /// leader rejoined, starts the next generation and answers every parked JoinGroup.
    pub(super) fn complete_join(&mut self, group: &mut ClassicGroup, now_ms: i64, out: &mut Outputs) {
        let not_rejoined: Vec<String> = group
            .members
            .values()
            .filter(|m| m.awaiting_join.is_none() && !m.is_static())
            .map(|m| m.member_id.clone())
            .collect();
        for member_id in not_rejoined {
            group.remove_member(&member_id, out);
        }
        if !group.members.is_empty() {
            let leader_rejoined = group.leader_id.as_ref().is_some_and(|l| group.members[l].awaiting_join.is_some());
            if !leader_rejoined {
                match group.members.values().find(|m| m.awaiting_join.is_some()) {
                    Some(m) => group.leader_id = Some(m.member_id.clone()),
                    None => {
                        // Only static members that did not rejoin are left: wait again.
                        let deadline_ms = now_ms + group.rebalance_timeout_ms();
                        group.arm("", TimerKind::Join, deadline_ms, out);
                        return;
                    }
                }
            }
        }
        group.initial_delay = None;
        group.disarm("", TimerKind::Join, out);
        group.generation_id += 1;
        if group.members.is_empty() {
            group.protocol_name = None;
            group.transition_to(GroupState::Empty, now_ms, out);
            self.append_group_metadata(group, out);
            return;
        }
        group.protocol_name = Some(group.select_protocol().expect("members share a protocol"));
        group.transition_to(GroupState::CompletingRebalance, now_ms, out);
        let leader_id = group.leader_id.clone().expect("a group with members has a leader");
        let all_members = join_members(group);
        let parked: Vec<_> = group
            .members
            .values_mut()
            .filter_map(|m| {
                m.is_new = false;
                m.awaiting_join.take().map(|p| (m.member_id.clone(), p))
            })
            .collect();
        for (member_id, parked) in parked {
            let members = if member_id == leader_id { all_members.clone() } else { Vec::new() };
            let response = JoinGroupResponse {
                error_code: error_code::NONE,
                generation_id: group.generation_id,
                protocol_type: group.protocol_type.clone(),
                protocol_name: group.protocol_name.clone(),
                leader: leader_id.clone(),
                skip_assignment: false,
                member_id: member_id.clone(),
                members,
            };
            out.respond(parked.request_id, ResponseBody::JoinGroup(response));
            group.touch_member(&member_id, now_ms, out);
        }
        group.pending_sync = group.members.keys().cloned().collect();
        let deadline_ms = now_ms + group.rebalance_timeout_ms();
        group.arm("", TimerKind::Sync, deadline_ms, out);
    }

    /// Removes members (session expiry, leave, sync deadline), answering what they parked with
    /// `error`, then rebalances or lets the join phase complete without them.
    pub(super) fn remove_members_and_rebalance(
        &mut self,
        group: &mut ClassicGroup,
        member_ids: &[String],
        error: i16,
        now_ms: i64,
        out: &mut Outputs,
    ) {
        if member_ids.is_empty() {
            return;
        }
        for member_id in member_ids {
            let member = group.remove_member(member_id, out);
            answer_parked(&member, error, out);
        }
        match group.state {
            GroupState::Stable | GroupState::CompletingRebalance => self.prepare_rebalance(group, now_ms, out),
            GroupState::PreparingRebalance => self.maybe_complete_join(group, now_ms, out),
            GroupState::Empty | GroupState::Dead => {}
        }
    }

    fn on_timer(&mut self, now_ms: i64, key: TimerKey, out: &mut Outputs) {
        self.with_group(&key.group_id, |core, group| {
            if group.is(GroupState::Dead) || !group.deadlines.is_due(&key.member_id, key.kind, now_ms) {
                return;
            }
            group.deadlines.cancel(&key.member_id, key.kind);
            match key.kind {
                TimerKind::Heartbeat => {
                    let member = &group.members[&key.member_id];
                    let keep_alive =
                        (member.awaiting_join.is_some() && !member.is_new) || member.awaiting_sync.is_some();
                    if keep_alive {
                        group.touch_member(&key.member_id, now_ms, out);
                    } else {
                        core.remove_members_and_rebalance(
                            group,
                            std::slice::from_ref(&key.member_id),
                            error_code::UNKNOWN_MEMBER_ID,
                            now_ms,
                            out,
                        );
                    }
                }
                TimerKind::PendingMember => {
                    group.pending_members.remove(&key.member_id);
                    core.maybe_complete_join(group, now_ms, out);
                }
                TimerKind::Join => match group.initial_delay {
                    Some(InitialDelay { remaining_ms, new_member_added: true }) if remaining_ms > 0 => {
                        let delay_ms = core.config.group_initial_rebalance_delay_ms.min(remaining_ms);
                        group.initial_delay =
                            Some(InitialDelay { remaining_ms: remaining_ms - delay_ms, new_member_added: false });
                        group.arm("", TimerKind::Join, now_ms + delay_ms, out);
                    }
                    _ => core.complete_join(group, now_ms, out),
                },
                TimerKind::Sync => {
                    let late: Vec<String> = group.pending_sync.iter().cloned().collect();
                    core.remove_members_and_rebalance(group, &late, error_code::UNKNOWN_MEMBER_ID, now_ms, out);
                }
            }
        });
    }

    fn append_done(&mut self, now_ms: i64, append_id: AppendId, error: i16, out: &mut Outputs) {
        match self.pending_appends.remove(&append_id) {
            None | Some(PendingAppend::Metadata) => {}
            Some(PendingAppend::Assignment { group_id, generation_id, assignments }) => {
                self.assignment_stored(now_ms, &group_id, generation_id, assignments, error, out)
            }
            Some(PendingAppend::Commit { request_id, group_id, partitions }) => {
                self.commit_stored(request_id, &group_id, partitions, error, out)
            }
        }
    }

    fn unload(&mut self, now_ms: i64, group_id: &str, error: i16, out: &mut Outputs) {
        let commits: Vec<AppendId> = self
            .pending_appends
            .iter()
            .filter(|(_, p)| match p {
                PendingAppend::Assignment { group_id: g, .. } | PendingAppend::Commit { group_id: g, .. } => {
                    g == group_id
                }
                PendingAppend::Metadata => false,
            })
            .map(|(id, _)| *id)
            .collect();
        for append_id in commits {
            if let Some(PendingAppend::Commit { request_id, partitions, .. }) = self.pending_appends.remove(&append_id)
            {
                let body = partitions.into_iter().map(|(t, p, _)| (t, p, error)).collect();
                out.respond(request_id, ResponseBody::OffsetCommit(body));
            }
        }
        self.offsets.retain(|(g, _, _), _| g != group_id);
        self.with_group(group_id, |_, group| {
            if group.is(GroupState::Dead) {
                return;
            }
            for member in group.members.values_mut() {
                answer_parked(member, error, out);
                member.awaiting_join = None;
                member.awaiting_sync = None;
            }
            group.disarm_all(out);
            group.transition_to(GroupState::Dead, now_ms, out);
        });
    }
}

/// Every member with its metadata for the selected protocol: the leader's JoinGroup answer.
pub(super) fn join_members(group: &ClassicGroup) -> Vec<JoinMember> {
    let protocol = group.protocol_name.clone().unwrap_or_default();
    group
        .members
        .values()
        .map(|m| JoinMember {
            member_id: m.member_id.clone(),
            group_instance_id: m.group_instance_id.clone(),
            metadata: m.metadata_for(&protocol),
        })
        .collect()
}

/// Answers a member's parked JoinGroup and SyncGroup with `error`.
pub(super) fn answer_parked(member: &super::member::ClassicMember, error: i16, out: &mut Outputs) {
    if let Some(parked) = member.awaiting_join {
        out.respond(parked.request_id, ResponseBody::JoinGroup(JoinGroupResponse::error(error, &member.member_id)));
    }
    if let Some(request_id) = member.awaiting_sync {
        out.respond(request_id, ResponseBody::SyncGroup(SyncGroupResponse::error(error)));
    }
}
