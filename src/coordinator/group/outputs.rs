//! What goes into the core and what one step hands back. Requests carry the fields of their
//! Kafka messages that the core decides on; the shell keeps the rest (throttle, tagged fields)
//! and encodes responses for the request's version.

use uuid::Uuid;

use super::classic_group::GroupState;
use super::member::Protocol;
use super::records::GroupRecord;
use super::timers::TimerKey;

/// The shell's name for one request; every request the core takes is answered exactly once,
/// at once or later (a parked JoinGroup, SyncGroup or an OffsetCommit awaiting its append).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// The core's name for one append; the shell reports its outcome with `Input::AppendDone`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AppendId(pub u64);

#[derive(Debug, Clone)]
pub struct JoinGroupRequest {
    pub api_version: i16,
    pub group_id: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub protocol_type: String,
    pub protocols: Vec<Protocol>,
    pub client_id: String,
    pub client_host: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub metadata: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinGroupResponse {
    pub error_code: i16,
    pub generation_id: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: String,
    pub skip_assignment: bool,
    pub member_id: String,
    /// The leader's only.
    pub members: Vec<JoinMember>,
}

impl JoinGroupResponse {
    pub(super) fn error(error_code: i16, member_id: &str) -> Self {
        JoinGroupResponse {
            error_code,
            generation_id: -1,
            protocol_type: None,
            protocol_name: None,
            leader: String::new(),
            skip_assignment: false,
            member_id: member_id.to_string(),
            members: Vec::new(),
        }
    }
}

/// The identity fields Heartbeat, SyncGroup and OffsetCommit share.
#[derive(Debug, Clone)]
pub struct MemberRequest {
    pub group_id: String,
    pub generation_id: i32,
    pub member_id: String,
    pub group_instance_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SyncGroupRequest {
    pub api_version: i16,
    pub member: MemberRequest,
    /// v5+.
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    /// The leader's: (member id, assignment).
    pub assignments: Vec<(String, Vec<u8>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncGroupResponse {
    pub error_code: i16,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignment: Vec<u8>,
}

impl SyncGroupResponse {
    pub(super) fn error(error_code: i16) -> Self {
        SyncGroupResponse { error_code, protocol_type: None, protocol_name: None, assignment: Vec::new() }
    }
}

#[derive(Debug, Clone)]
pub struct LeaveMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
}

/// v0–2 send one member with no instance id; v3+ a list.
#[derive(Debug, Clone)]
pub struct LeaveGroupRequest {
    pub group_id: String,
    pub members: Vec<LeaveMember>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveMemberResponse {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub error_code: i16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveGroupResponse {
    pub error_code: i16,
    pub members: Vec<LeaveMemberResponse>,
}

#[derive(Debug, Clone)]
pub struct CommitPartition {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
}

#[derive(Debug, Clone)]
pub struct OffsetCommitRequest {
    pub api_version: i16,
    pub member: MemberRequest,
    pub partitions: Vec<CommitPartition>,
}

#[derive(Debug, Clone)]
pub struct OffsetFetchRequest {
    pub group_id: String,
    /// `None`: every partition the group has an offset for.
    pub partitions: Option<Vec<(String, i32)>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedOffset {
    pub topic: String,
    pub partition: i32,
    /// −1 when nothing is committed.
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
    pub error_code: i16,
}

#[derive(Debug, Clone)]
pub enum Input {
    /// `member_uuid` is the shell's fresh random draw, used if the core mints a member id.
    JoinGroup {
        request_id: RequestId,
        request: JoinGroupRequest,
        member_uuid: Uuid,
    },
    SyncGroup {
        request_id: RequestId,
        request: SyncGroupRequest,
    },
    Heartbeat {
        request_id: RequestId,
        request: MemberRequest,
    },
    LeaveGroup {
        request_id: RequestId,
        request: LeaveGroupRequest,
    },
    OffsetCommit {
        request_id: RequestId,
        request: OffsetCommitRequest,
    },
    OffsetFetch {
        request_id: RequestId,
        request: OffsetFetchRequest,
    },
    /// An armed timer fired; stale firings are ignored.
    Timer(TimerKey),
    /// An append the core asked for is committed (`error_code` NONE) or failed (the §1
    /// mapping already applied: COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR, ...).
    AppendDone {
        append_id: AppendId,
        error_code: i16,
    },
    /// The group is unloaded (leadership moved) or deleted: it turns Dead and every parked
    /// request is answered with `error_code`.
    Unload {
        group_id: String,
        error_code: i16,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseBody {
    JoinGroup(JoinGroupResponse),
    SyncGroup(SyncGroupResponse),
    Heartbeat {
        error_code: i16,
    },
    LeaveGroup(LeaveGroupResponse),
    /// Per partition, in request order.
    OffsetCommit(Vec<(String, i32, i16)>),
    OffsetFetch(Vec<FetchedOffset>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub request_id: RequestId,
    pub body: ResponseBody,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerOp {
    Set { key: TimerKey, deadline_ms: i64 },
    Cancel { key: TimerKey },
}

/// One state transition, for checkers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    pub group_id: String,
    pub from: GroupState,
    pub to: GroupState,
    pub generation_id: i32,
}

/// What one step asks of the shell.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    pub responses: Vec<Response>,
    /// Each batch is appended atomically; its outcome comes back as `Input::AppendDone`.
    pub appends: Vec<(AppendId, Vec<GroupRecord>)>,
    pub timers: Vec<TimerOp>,
    pub state_changes: Vec<StateChange>,
}

impl Outputs {
    pub(super) fn respond(&mut self, request_id: RequestId, body: ResponseBody) {
        self.responses.push(Response { request_id, body });
    }
}
