//! Heartbeat and LeaveGroup (GROUPS-AND-TRANSACTIONS.md §2.3), and the member checks that
//! Heartbeat, SyncGroup, LeaveGroup and OffsetCommit share (§2.1).

use super::classic_group::{ClassicGroup, GroupState};
use super::coordinator::GroupCoordinator;
use super::error_code;
use super::outputs::{
    LeaveGroupRequest, LeaveGroupResponse, LeaveMemberResponse, MemberRequest, Outputs, RequestId, ResponseBody,
};
use super::timers::TimerKind;

impl ClassicGroup {
    /// §2.1's order: Dead; unknown instance id; instance bound to another member id (fenced);
    /// unknown member; wrong generation.
    pub(super) fn check_member(&self, request: &MemberRequest) -> Result<(), i16> {
        if self.is(GroupState::Dead) {
            return Err(error_code::COORDINATOR_NOT_AVAILABLE);
        }
        if let Some(instance) = &request.group_instance_id {
            match self.static_members.get(instance) {
                None => return Err(error_code::UNKNOWN_MEMBER_ID),
                Some(bound) if *bound != request.member_id => return Err(error_code::FENCED_INSTANCE_ID),
                Some(_) => {}
            }
        }
        if !self.members.contains_key(&request.member_id) {
            return Err(error_code::UNKNOWN_MEMBER_ID);
        }
        if request.generation_id != self.generation_id {
            return Err(error_code::ILLEGAL_GENERATION);
        }
        Ok(())
    }
}

impl GroupCoordinator {
    pub(super) fn heartbeat(&mut self, now_ms: i64, request_id: RequestId, request: MemberRequest, out: &mut Outputs) {
        let error_code = self
            .with_group(&request.group_id, |_, group| {
                if let Err(error) = group.check_member(&request) {
                    return error;
                }
                group.touch_member(&request.member_id, now_ms, out);
                match group.state {
                    GroupState::PreparingRebalance => error_code::REBALANCE_IN_PROGRESS,
                    _ => error_code::NONE,
                }
            })
            .unwrap_or(error_code::UNKNOWN_MEMBER_ID);
        out.respond(request_id, ResponseBody::Heartbeat { error_code });
    }

    /// v3+ (a list of members). The shell answers v0–2 with the one member's error at the top.
    /// `member_id ""` with an instance id is the admin removal of a static member.
    pub(super) fn leave_group(
        &mut self,
        now_ms: i64,
        request_id: RequestId,
        request: LeaveGroupRequest,
        out: &mut Outputs,
    ) {
        let response = self.with_group(&request.group_id, |core, group| {
            if group.is(GroupState::Dead) {
                return LeaveGroupResponse { error_code: error_code::COORDINATOR_NOT_AVAILABLE, members: Vec::new() };
            }
            let mut removed = Vec::new();
            let mut pending_removed = false;
            let mut members = Vec::new();
            for leaving in &request.members {
                let error = match &leaving.group_instance_id {
                    Some(instance) => match group.static_members.get(instance) {
                        None => error_code::UNKNOWN_MEMBER_ID,
                        Some(bound) if !leaving.member_id.is_empty() && *bound != leaving.member_id => {
                            error_code::FENCED_INSTANCE_ID
                        }
                        Some(bound) if removed.contains(bound) => error_code::UNKNOWN_MEMBER_ID,
                        Some(bound) => {
                            removed.push(bound.clone());
                            error_code::NONE
                        }
                    },
                    None if group.pending_members.remove(&leaving.member_id) => {
                        group.disarm(&leaving.member_id, TimerKind::PendingMember, out);
                        pending_removed = true;
                        error_code::NONE
                    }
                    None if group.members.contains_key(&leaving.member_id) && !removed.contains(&leaving.member_id) => {
                        removed.push(leaving.member_id.clone());
                        error_code::NONE
                    }
                    None => error_code::UNKNOWN_MEMBER_ID,
                };
                members.push(LeaveMemberResponse {
                    member_id: leaving.member_id.clone(),
                    group_instance_id: leaving.group_instance_id.clone(),
                    error_code: error,
                });
            }
            if removed.is_empty() && pending_removed {
                core.maybe_complete_join(group, now_ms, out);
            }
            core.remove_members_and_rebalance(group, &removed, error_code::UNKNOWN_MEMBER_ID, now_ms, out);
            LeaveGroupResponse { error_code: error_code::NONE, members }
        });
        let response =
            response.unwrap_or(LeaveGroupResponse { error_code: error_code::UNKNOWN_MEMBER_ID, members: Vec::new() });
        out.respond(request_id, ResponseBody::LeaveGroup(response));
    }
}
