//! SyncGroup (GROUPS-AND-TRANSACTIONS.md §2.3): followers park until the leader's assignment
//! is appended as GroupMetadata; then every parked member gets its bytes and the group turns
//! Stable. A failed append fails them all and rebalances.

use std::collections::BTreeMap;

use super::classic_group::{ClassicGroup, GroupState};
use super::coordinator::{GroupCoordinator, PendingAppend};
use super::error_code;
use super::outputs::{Outputs, RequestId, ResponseBody, SyncGroupRequest, SyncGroupResponse};
use super::records::GroupRecord;
use super::timers::TimerKind;

impl GroupCoordinator {
    pub(super) fn sync_group(
        &mut self,
        now_ms: i64,
        request_id: RequestId,
        request: SyncGroupRequest,
        out: &mut Outputs,
    ) {
        let reply = |out: &mut Outputs, error: i16| {
            out.respond(request_id, ResponseBody::SyncGroup(SyncGroupResponse::error(error)))
        };
        let member_id = request.member.member_id.clone();
        let result = self.with_group(&request.member.group_id, |core, group| {
            if let Err(error) = group.check_member(&request.member) {
                return reply(out, error);
            }
            let type_mismatch = request.protocol_type.is_some() && request.protocol_type != group.protocol_type;
            let name_mismatch = request.protocol_name.is_some() && request.protocol_name != group.protocol_name;
            if type_mismatch || name_mismatch {
                return reply(out, error_code::INCONSISTENT_GROUP_PROTOCOL);
            }
            if group.pending_sync.remove(&member_id) && group.pending_sync.is_empty() {
                group.disarm("", TimerKind::Sync, out);
            }
            match group.state {
                GroupState::PreparingRebalance => reply(out, error_code::REBALANCE_IN_PROGRESS),
                GroupState::Stable => send_assignment(group, &member_id, request_id, now_ms, out),
                GroupState::CompletingRebalance => {
                    let member = group.members.get_mut(&member_id).expect("checked");
                    if let Some(old) = member.awaiting_sync.replace(request_id) {
                        reply_to(out, old, error_code::REBALANCE_IN_PROGRESS);
                    }
                    let generation_id = group.generation_id;
                    let in_flight = core.pending_appends.values().any(|p| {
                        matches!(p, PendingAppend::Assignment { group_id, generation_id: g, .. }
                            if *group_id == group.group_id && *g == generation_id)
                    });
                    if group.leader_id.as_deref() == Some(member_id.as_str()) && !in_flight {
                        let given: BTreeMap<String, Vec<u8>> = request.assignments.into_iter().collect();
                        let assignments: BTreeMap<String, Vec<u8>> = group
                            .members
                            .keys()
                            .map(|id| (id.clone(), given.get(id).cloned().unwrap_or_default()))
                            .collect();
                        let mut value = group.metadata_value();
                        for m in &mut value.members {
                            m.assignment = assignments[&m.member_id].clone();
                        }
                        let record =
                            GroupRecord::GroupMetadata { group_id: group.group_id.clone(), value: Some(value) };
                        let pending =
                            PendingAppend::Assignment { group_id: group.group_id.clone(), generation_id, assignments };
                        core.append(vec![record], pending, out);
                    }
                }
                GroupState::Empty | GroupState::Dead => unreachable!("member checks passed in {:?}", group.state),
            }
        });
        if result.is_none() {
            reply(out, error_code::UNKNOWN_MEMBER_ID);
        }
    }

    /// The leader's assignment append finished.
    pub(super) fn assignment_stored(
        &mut self,
        now_ms: i64,
        group_id: &str,
        generation_id: i32,
        assignments: BTreeMap<String, Vec<u8>>,
        error: i16,
        out: &mut Outputs,
    ) {
        self.with_group(group_id, |core, group| {
            if !group.is(GroupState::CompletingRebalance) || group.generation_id != generation_id {
                return;
            }
            if error != error_code::NONE {
                for (_, request_id) in group.parked_syncs() {
                    reply_to(out, request_id, error);
                }
                return core.prepare_rebalance(group, now_ms, out);
            }
            for member in group.members.values_mut() {
                member.assignment = assignments.get(&member.member_id).cloned().unwrap_or_default();
            }
            group.transition_to(GroupState::Stable, now_ms, out);
            for (member_id, request_id) in group.parked_syncs() {
                send_assignment(group, &member_id, request_id, now_ms, out);
            }
        });
    }
}

/// Answers a member's SyncGroup with its stored assignment (its liveness renewed).
fn send_assignment(group: &mut ClassicGroup, member_id: &str, request_id: RequestId, now_ms: i64, out: &mut Outputs) {
    group.touch_member(member_id, now_ms, out);
    let response = SyncGroupResponse {
        error_code: error_code::NONE,
        protocol_type: group.protocol_type.clone(),
        protocol_name: group.protocol_name.clone(),
        assignment: group.members[member_id].assignment.clone(),
    };
    out.respond(request_id, ResponseBody::SyncGroup(response));
}

fn reply_to(out: &mut Outputs, request_id: RequestId, error: i16) {
    out.respond(request_id, ResponseBody::SyncGroup(SyncGroupResponse::error(error)));
}
