//! JoinGroup (GROUPS-AND-TRANSACTIONS.md §2.2): validation, the KIP-394 two-step join of a new
//! dynamic member, KIP-345 static members and their replacement, and rejoining members by
//! state. The join phase itself completes in `coordinator.rs`.

use uuid::Uuid;

use super::classic_group::{ClassicGroup, GroupState};
use super::coordinator::{answer_parked, join_members, GroupCoordinator};
use super::error_code;
use super::member::{ClassicMember, ParkedJoin};
use super::outputs::{JoinGroupRequest, JoinGroupResponse, Outputs, RequestId, ResponseBody};
use super::timers::TimerKind;

impl GroupCoordinator {
    pub(super) fn join_group(
        &mut self,
        now_ms: i64,
        request_id: RequestId,
        request: JoinGroupRequest,
        member_uuid: Uuid,
        out: &mut Outputs,
    ) {
        let given_member_id = request.member_id.clone();
        let reply = |out: &mut Outputs, error: i16| {
            out.respond(request_id, ResponseBody::JoinGroup(JoinGroupResponse::error(error, &given_member_id)))
        };
        if request.group_id.is_empty() {
            return reply(out, error_code::INVALID_GROUP_ID);
        }
        let session = request.session_timeout_ms;
        if session < self.config.group_min_session_timeout_ms || session > self.config.group_max_session_timeout_ms {
            return reply(out, error_code::INVALID_SESSION_TIMEOUT);
        }
        if !self.groups.contains_key(&request.group_id) {
            if !request.member_id.is_empty() {
                return reply(out, error_code::UNKNOWN_MEMBER_ID);
            }
            self.groups.insert(request.group_id.clone(), ClassicGroup::new(&request.group_id, now_ms));
        }
        let group_id = request.group_id.clone();
        self.with_group(&group_id, |core, group| {
            if group.is(GroupState::Dead) {
                return reply(out, error_code::COORDINATOR_NOT_AVAILABLE);
            }
            let names: Vec<&str> = request.protocols.iter().map(|p| p.name.as_str()).collect();
            if !group.supports_protocols(&request.protocol_type, &names) {
                return reply(out, error_code::INCONSISTENT_GROUP_PROTOCOL);
            }
            let parked = ParkedJoin { request_id, api_version: request.api_version };
            if request.member_id.is_empty() {
                core.join_new_member(group, now_ms, parked, request, member_uuid, out)
            } else {
                core.join_existing_member(group, now_ms, parked, request, out)
            }
        });
    }

    fn join_new_member(
        &mut self,
        group: &mut ClassicGroup,
        now_ms: i64,
        parked: ParkedJoin,
        request: JoinGroupRequest,
        member_uuid: Uuid,
        out: &mut Outputs,
    ) {
        let full = self.config.group_max_size.is_some_and(|max| group.members.len() >= max);
        match &request.group_instance_id {
            Some(instance) => {
                let member_id = format!("{instance}-{member_uuid}");
                match group.static_members.get(instance).cloned() {
                    Some(old_id) => self.replace_static_member(group, now_ms, parked, request, &old_id, member_id, out),
                    None if full => reply_error(out, parked, error_code::GROUP_MAX_SIZE_REACHED, ""),
                    None => self.add_member_and_rebalance(group, now_ms, parked, request, member_id, out),
                }
            }
            None => {
                let member_id = format!("{}-{member_uuid}", request.client_id);
                if full {
                    reply_error(out, parked, error_code::GROUP_MAX_SIZE_REACHED, "");
                } else if request.api_version >= 4 {
                    // KIP-394: hand out the id, wait for the member to come back with it.
                    group.pending_members.insert(member_id.clone());
                    let deadline_ms = now_ms + i64::from(request.session_timeout_ms);
                    group.arm(&member_id, TimerKind::PendingMember, deadline_ms, out);
                    reply_error(out, parked, error_code::MEMBER_ID_REQUIRED, &member_id);
                } else {
                    self.add_member_and_rebalance(group, now_ms, parked, request, member_id, out);
                }
            }
        }
    }

    fn join_existing_member(
        &mut self,
        group: &mut ClassicGroup,
        now_ms: i64,
        parked: ParkedJoin,
        request: JoinGroupRequest,
        out: &mut Outputs,
    ) {
        let member_id = request.member_id.clone();
        if group.pending_members.remove(&member_id) {
            group.disarm(&member_id, TimerKind::PendingMember, out);
            return self.add_member_and_rebalance(group, now_ms, parked, request, member_id, out);
        }
        if let Some(instance) = &request.group_instance_id {
            match group.static_members.get(instance) {
                None => return reply_error(out, parked, error_code::UNKNOWN_MEMBER_ID, &member_id),
                Some(bound) if *bound != member_id => {
                    return reply_error(out, parked, error_code::FENCED_INSTANCE_ID, &member_id)
                }
                Some(_) => {}
            }
        }
        let Some(member) = group.members.get(&member_id) else {
            return reply_error(out, parked, error_code::UNKNOWN_MEMBER_ID, &member_id);
        };
        let unchanged = member.same_protocols(&request.protocols);
        let is_leader = group.leader_id.as_deref() == Some(member_id.as_str());
        match group.state {
            GroupState::PreparingRebalance => {
                update_and_park(group, parked, request, out);
                self.maybe_complete_join(group, now_ms, out);
            }
            GroupState::CompletingRebalance if unchanged => {
                // It missed its answer: give it the current generation again.
                let response = current_generation(group, &member_id, is_leader, false);
                out.respond(parked.request_id, ResponseBody::JoinGroup(response));
            }
            GroupState::Stable if unchanged && !is_leader => {
                let response = current_generation(group, &member_id, false, false);
                out.respond(parked.request_id, ResponseBody::JoinGroup(response));
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                update_and_park(group, parked, request, out);
                self.prepare_rebalance(group, now_ms, out);
            }
            GroupState::Empty | GroupState::Dead => unreachable!("no members in {:?}", group.state),
        }
    }

    fn add_member_and_rebalance(
        &mut self,
        group: &mut ClassicGroup,
        now_ms: i64,
        parked: ParkedJoin,
        request: JoinGroupRequest,
        member_id: String,
        out: &mut Outputs,
    ) {
        let member = ClassicMember {
            member_id: member_id.clone(),
            group_instance_id: request.group_instance_id,
            client_id: request.client_id,
            client_host: request.client_host,
            session_timeout_ms: request.session_timeout_ms,
            rebalance_timeout_ms: request.rebalance_timeout_ms,
            protocol_type: request.protocol_type,
            protocols: request.protocols,
            assignment: Vec::new(),
            awaiting_join: Some(parked),
            awaiting_sync: None,
            is_new: true,
        };
        if let Some(delay) = group.initial_delay.as_mut() {
            delay.new_member_added = true;
        }
        group.add_member(member);
        let deadline_ms = now_ms + self.config.group_new_member_join_timeout_ms;
        group.arm(&member_id, TimerKind::Heartbeat, deadline_ms, out);
        match group.state {
            GroupState::PreparingRebalance => self.maybe_complete_join(group, now_ms, out),
            _ => self.prepare_rebalance(group, now_ms, out),
        }
    }

    /// KIP-345: a static member came back with no member id while its instance id is bound.
    /// The old id is fenced (its parked requests too); assignment and deadline carry over.
    #[allow(clippy::too_many_arguments)]
    fn replace_static_member(
        &mut self,
        group: &mut ClassicGroup,
        now_ms: i64,
        parked: ParkedJoin,
        request: JoinGroupRequest,
        old_id: &str,
        new_id: String,
        out: &mut Outputs,
    ) {
        let mut member = group.members.remove(old_id).expect("a bound instance id names a member");
        answer_parked(&member, error_code::FENCED_INSTANCE_ID, out);
        member.awaiting_join = None;
        member.awaiting_sync = None;
        let deadline_ms = group.deadlines.get(old_id, TimerKind::Heartbeat).expect("members have a deadline");
        group.disarm(old_id, TimerKind::Heartbeat, out);
        group.arm(&new_id, TimerKind::Heartbeat, deadline_ms, out);
        if group.pending_sync.remove(old_id) {
            group.pending_sync.insert(new_id.clone());
        }
        if group.leader_id.as_deref() == Some(old_id) {
            group.leader_id = Some(new_id.clone());
        }
        let instance = member.group_instance_id.clone().expect("a static member");
        group.static_members.insert(instance, new_id.clone());
        member.member_id = new_id.clone();
        member.protocols = request.protocols.clone();
        member.session_timeout_ms = request.session_timeout_ms;
        member.rebalance_timeout_ms = request.rebalance_timeout_ms;
        group.members.insert(new_id.clone(), member);

        match group.state {
            GroupState::Stable if group.select_protocol() == group.protocol_name => {
                // Same protocol: persist the new id and answer with the current generation.
                self.append_group_metadata(group, out);
                let is_leader = group.leader_id.as_deref() == Some(new_id.as_str());
                let skip = is_leader && parked.api_version >= 9;
                let response = current_generation(group, &new_id, skip, skip);
                out.respond(parked.request_id, ResponseBody::JoinGroup(response));
            }
            GroupState::Stable | GroupState::CompletingRebalance => {
                group.members.get_mut(&new_id).expect("just inserted").awaiting_join = Some(parked);
                self.prepare_rebalance(group, now_ms, out);
            }
            GroupState::PreparingRebalance => {
                group.members.get_mut(&new_id).expect("just inserted").awaiting_join = Some(parked);
                self.maybe_complete_join(group, now_ms, out);
            }
            GroupState::Empty | GroupState::Dead => unreachable!("a bound instance id in {:?}", group.state),
        }
    }
}

fn reply_error(out: &mut Outputs, parked: ParkedJoin, error: i16, member_id: &str) {
    out.respond(parked.request_id, ResponseBody::JoinGroup(JoinGroupResponse::error(error, member_id)));
}

/// Takes the rejoining member's new metadata and parks its JoinGroup (answering one it had
/// already parked, which its client no longer waits for).
fn update_and_park(group: &mut ClassicGroup, parked: ParkedJoin, request: JoinGroupRequest, out: &mut Outputs) {
    let member = group.members.get_mut(&request.member_id).expect("checked by the caller");
    if let Some(old) = member.awaiting_join.replace(parked) {
        let response = JoinGroupResponse::error(error_code::REBALANCE_IN_PROGRESS, &member.member_id);
        out.respond(old.request_id, ResponseBody::JoinGroup(response));
    }
    member.protocols = request.protocols;
    member.session_timeout_ms = request.session_timeout_ms;
    member.rebalance_timeout_ms = request.rebalance_timeout_ms;
    member.client_id = request.client_id;
    member.client_host = request.client_host;
}

/// The current generation's JoinGroup answer; with `members` for a leader.
fn current_generation(
    group: &ClassicGroup,
    member_id: &str,
    members: bool,
    skip_assignment: bool,
) -> JoinGroupResponse {
    JoinGroupResponse {
        error_code: error_code::NONE,
        generation_id: group.generation_id,
        protocol_type: group.protocol_type.clone(),
        protocol_name: group.protocol_name.clone(),
        leader: group.leader_id.clone().unwrap_or_default(),
        skip_assignment,
        member_id: member_id.to_string(),
        members: if members { join_members(group) } else { Vec::new() },
    }
}
