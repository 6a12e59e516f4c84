//! The classic group story, rule by rule: the two-step join, the initial rebalance delay,
//! sync and Stable, rebalances on join, expiry and leave, static members, commit checks and
//! the Dead group.

use uuid::Uuid;

use super::error_code as ec;
use super::*;

const SESSION_MS: i32 = 10_000;
const REBALANCE_MS: i32 = 60_000;

/// A core plus the shell's bookkeeping: a clock, request ids, uuids and unanswered appends.
pub(super) struct Shell {
    pub(super) core: GroupCoordinator,
    pub(super) now_ms: i64,
    next_request: u64,
    next_uuid: u128,
    pub(super) appends: Vec<AppendId>,
}

impl Shell {
    pub(super) fn new() -> Self {
        Shell {
            core: GroupCoordinator::new(GroupConfig::default()),
            now_ms: 0,
            next_request: 0,
            next_uuid: 1,
            appends: Vec::new(),
        }
    }

    pub(super) fn step(&mut self, input: Input) -> Outputs {
        let out = self.core.handle(self.now_ms, input);
        self.appends.extend(out.appends.iter().map(|(id, _)| *id));
        out
    }

    fn request_id(&mut self) -> RequestId {
        self.next_request += 1;
        RequestId(self.next_request)
    }

    pub(super) fn join_request(
        member_id: &str,
        instance: Option<&str>,
        protocols: &[(&str, &[u8])],
    ) -> JoinGroupRequest {
        JoinGroupRequest {
            api_version: 5,
            group_id: "g".into(),
            session_timeout_ms: SESSION_MS,
            rebalance_timeout_ms: REBALANCE_MS,
            member_id: member_id.into(),
            group_instance_id: instance.map(String::from),
            protocol_type: "consumer".into(),
            protocols: protocols.iter().map(|(n, m)| Protocol { name: n.to_string(), metadata: m.to_vec() }).collect(),
            client_id: "c".into(),
            client_host: "/h".into(),
        }
    }

    /// Sends a JoinGroup; returns its request id and the step's outputs.
    pub(super) fn join(&mut self, request: JoinGroupRequest) -> (RequestId, Outputs) {
        let request_id = self.request_id();
        let member_uuid = Uuid::from_u128(self.next_uuid);
        self.next_uuid += 1;
        (request_id, self.step(Input::JoinGroup { request_id, request, member_uuid }))
    }

    /// The KIP-394 two-step join of a new dynamic member: returns its id and the parked request.
    fn join_new(&mut self) -> (String, RequestId) {
        let (_, out) = self.join(Self::join_request("", None, &[("range", b"r")]));
        let response = join_response(&out, None);
        assert_eq!(response.error_code, ec::MEMBER_ID_REQUIRED);
        let member_id = response.member_id;
        let (request_id, out) = self.join(Self::join_request(&member_id, None, &[("range", b"r")]));
        assert!(out.responses.iter().all(|r| r.request_id != request_id), "parked");
        (member_id, request_id)
    }

    pub(super) fn sync(
        &mut self,
        member_id: &str,
        generation_id: i32,
        assignments: &[(&str, &[u8])],
    ) -> (RequestId, Outputs) {
        let request_id = self.request_id();
        let request = SyncGroupRequest {
            api_version: 5,
            member: member("g", generation_id, member_id, None),
            protocol_type: Some("consumer".into()),
            protocol_name: Some("range".into()),
            assignments: assignments.iter().map(|(m, a)| (m.to_string(), a.to_vec())).collect(),
        };
        (request_id, self.step(Input::SyncGroup { request_id, request }))
    }

    pub(super) fn heartbeat(&mut self, member_id: &str, generation_id: i32, instance: Option<&str>) -> i16 {
        let request_id = self.request_id();
        let out = self.step(Input::Heartbeat { request_id, request: member("g", generation_id, member_id, instance) });
        match &only(&out, request_id).body {
            ResponseBody::Heartbeat { error_code } => *error_code,
            other => panic!("{other:?}"),
        }
    }

    pub(super) fn leave(&mut self, member_id: &str) -> (RequestId, Outputs) {
        let request_id = self.request_id();
        let request = LeaveGroupRequest {
            group_id: "g".into(),
            members: vec![LeaveMember { member_id: member_id.into(), group_instance_id: None }],
        };
        (request_id, self.step(Input::LeaveGroup { request_id, request }))
    }

    pub(super) fn commit(
        &mut self,
        member_id: &str,
        generation_id: i32,
        instance: Option<&str>,
    ) -> (RequestId, Outputs) {
        let request_id = self.request_id();
        let request = OffsetCommitRequest {
            api_version: 8,
            member: member("g", generation_id, member_id, instance),
            partitions: vec![CommitPartition {
                topic: "t".into(),
                partition: 0,
                offset: 42,
                leader_epoch: 1,
                metadata: String::new(),
            }],
        };
        (request_id, self.step(Input::OffsetCommit { request_id, request }))
    }

    /// Acknowledges every append in flight.
    pub(super) fn store_appends(&mut self) -> Outputs {
        let mut all = Outputs::default();
        for append_id in std::mem::take(&mut self.appends) {
            let out = self.step(Input::AppendDone { append_id, error_code: ec::NONE });
            all.responses.extend(out.responses);
            all.state_changes.extend(out.state_changes);
        }
        all
    }

    /// Moves the clock to `now_ms`, firing every timer due on the way, earliest first.
    pub(super) fn advance_to(&mut self, now_ms: i64) -> Outputs {
        let mut all = Outputs::default();
        loop {
            let next = self.core.armed_timers().into_iter().filter(|(_, d)| *d <= now_ms).min_by_key(|(_, d)| *d);
            let Some((key, deadline_ms)) = next else { break };
            self.now_ms = self.now_ms.max(deadline_ms);
            let out = self.step(Input::Timer(key));
            all.responses.extend(out.responses);
            all.state_changes.extend(out.state_changes);
        }
        self.now_ms = now_ms;
        all
    }

    pub(super) fn state(&self) -> GroupState {
        self.core.group("g").unwrap().state()
    }
}

pub(super) fn member(group_id: &str, generation_id: i32, member_id: &str, instance: Option<&str>) -> MemberRequest {
    MemberRequest {
        group_id: group_id.into(),
        generation_id,
        member_id: member_id.into(),
        group_instance_id: instance.map(String::from),
    }
}

fn only(out: &Outputs, request_id: RequestId) -> &Response {
    let mut found = out.responses.iter().filter(|r| r.request_id == request_id);
    let response = found.next().unwrap_or_else(|| panic!("no answer to {request_id:?} in {out:?}"));
    assert!(found.next().is_none(), "answered twice");
    response
}

/// The JoinGroup answer in `out` (to `request_id`, or the only one).
fn join_response(out: &Outputs, request_id: Option<RequestId>) -> JoinGroupResponse {
    let response = match request_id {
        Some(id) => only(out, id),
        None => {
            assert_eq!(out.responses.len(), 1, "{out:?}");
            &out.responses[0]
        }
    };
    match &response.body {
        ResponseBody::JoinGroup(r) => r.clone(),
        other => panic!("{other:?}"),
    }
}

fn sync_response(out: &Outputs, request_id: RequestId) -> SyncGroupResponse {
    match &only(out, request_id).body {
        ResponseBody::SyncGroup(r) => r.clone(),
        other => panic!("{other:?}"),
    }
}

fn commit_errors(out: &Outputs, request_id: RequestId) -> Vec<i16> {
    match &only(out, request_id).body {
        ResponseBody::OffsetCommit(r) => r.iter().map(|(_, _, e)| *e).collect(),
        other => panic!("{other:?}"),
    }
}

/// Two consumers through the two-step join, the initial delay, and sync: generation 1, Stable.
fn stable_pair(shell: &mut Shell) -> (String, String) {
    let (a, join_a) = shell.join_new();
    assert_eq!(shell.state(), GroupState::PreparingRebalance);
    shell.now_ms += 1_000;
    let (b, join_b) = shell.join_new();
    // The initial delay (3 s) is re-armed once because b arrived: done at 6 s.
    let out = shell.advance_to(5_999);
    assert!(out.responses.is_empty(), "{out:?}");
    let out = shell.advance_to(6_000);
    let ra = join_response(&out, Some(join_a));
    let rb = join_response(&out, Some(join_b));
    assert_eq!((ra.generation_id, rb.generation_id), (1, 1));
    assert_eq!(ra.leader, a);
    assert_eq!(ra.protocol_name.as_deref(), Some("range"));
    assert_eq!(ra.members.iter().map(|m| m.member_id.as_str()).collect::<Vec<_>>().len(), 2);
    assert!(rb.members.is_empty(), "only the leader gets the members");
    assert_eq!(shell.state(), GroupState::CompletingRebalance);

    let (sync_b, out) = shell.sync(&b, 1, &[]);
    assert!(out.responses.is_empty(), "a follower waits for the leader");
    let (sync_a, out) = shell.sync(&a, 1, &[(&a, b"pa"), (&b, b"pb")]);
    assert!(out.responses.is_empty(), "the leader waits for the append");
    assert_eq!(out.appends.len(), 1);
    let out = shell.store_appends();
    assert_eq!(sync_response(&out, sync_a).assignment, b"pa");
    assert_eq!(sync_response(&out, sync_b).assignment, b"pb");
    assert_eq!(shell.state(), GroupState::Stable);
    (a, b)
}

#[test]
fn two_consumers_join_in_two_steps_and_reach_stable_after_the_initial_delay() {
    let mut shell = Shell::new();
    stable_pair(&mut shell);
    assert_eq!(shell.core.group("g").unwrap().generation_id(), 1);
}

#[test]
fn below_v4_a_new_member_is_added_without_member_id_required() {
    let mut shell = Shell::new();
    let mut request = Shell::join_request("", None, &[("range", b"")]);
    request.api_version = 3;
    let (_, out) = shell.join(request);
    assert!(out.responses.is_empty());
    assert_eq!(shell.core.group("g").unwrap().members().count(), 1);
}

#[test]
fn a_third_member_rebalances_and_heartbeats_get_rebalance_in_progress() {
    let mut shell = Shell::new();
    let (a, b) = stable_pair(&mut shell);
    let (c, join_c) = shell.join_new();
    assert_eq!(shell.state(), GroupState::PreparingRebalance);
    assert_eq!(shell.heartbeat(&a, 1, None), ec::REBALANCE_IN_PROGRESS);
    let (_, out) = shell.commit(&b, 1, None);
    let (commit, _) = (out.appends.len(), 0);
    assert_eq!(commit, 1, "commits of the old generation are still taken while preparing");
    let (join_a, _) = shell.join(Shell::join_request(&a, None, &[("range", b"r")]));
    let (join_b, out) = shell.join(Shell::join_request(&b, None, &[("range", b"r")]));
    // Everyone rejoined: done without waiting for the rebalance timeout.
    let ra = join_response(&out, Some(join_a));
    assert_eq!(ra.generation_id, 2);
    assert_eq!(ra.members.len(), 3);
    assert_eq!(join_response(&out, Some(join_b)).generation_id, 2);
    assert_eq!(join_response(&out, Some(join_c)).generation_id, 2);
    assert_eq!(shell.state(), GroupState::CompletingRebalance);
    assert_eq!(shell.heartbeat(&c, 2, None), ec::NONE);
}

#[test]
fn a_member_that_does_not_rejoin_is_dropped_at_the_rebalance_timeout() {
    let mut shell = Shell::new();
    let (a, b) = stable_pair(&mut shell);
    let (join_a, out) = shell.join(Shell::join_request(&a, None, &[("range", b"r2")]));
    assert!(out.responses.is_empty());
    assert_eq!(shell.state(), GroupState::PreparingRebalance);
    // b heartbeats (kept alive by the session) but never rejoins.
    shell.now_ms += 5_000;
    assert_eq!(shell.heartbeat(&b, 1, None), ec::REBALANCE_IN_PROGRESS);
    let out = shell.advance_to(shell.now_ms + i64::from(REBALANCE_MS));
    let ra = join_response(&out, Some(join_a));
    assert_eq!((ra.generation_id, ra.members.len()), (2, 1));
    assert!(shell.core.group("g").unwrap().member(&b).is_none());
    assert_eq!(shell.heartbeat(&b, 1, None), ec::UNKNOWN_MEMBER_ID);
}

#[test]
fn session_expiry_removes_a_member_and_rebalances() {
    let mut shell = Shell::new();
    let (a, b) = stable_pair(&mut shell);
    let start = shell.now_ms;
    for t in [start + 4_000, start + 8_000] {
        shell.advance_to(t);
        assert_eq!(shell.heartbeat(&a, 1, None), ec::NONE);
    }
    // b has been silent for longer than its 10 s session.
    let out = shell.advance_to(start + 12_000);
    assert_eq!(out.state_changes[0].to, GroupState::PreparingRebalance);
    assert!(shell.core.group("g").unwrap().member(&b).is_none());
    assert_eq!(shell.heartbeat(&a, 1, None), ec::REBALANCE_IN_PROGRESS);
    let (join_a, out) = shell.join(Shell::join_request(&a, None, &[("range", b"r")]));
    let response = join_response(&out, Some(join_a));
    assert_eq!((response.generation_id, response.members.len()), (2, 1), "a alone rejoined: done at once");
    assert_eq!(shell.state(), GroupState::CompletingRebalance);
    assert_eq!(shell.heartbeat(&b, 1, None), ec::UNKNOWN_MEMBER_ID);
}

#[test]
fn leave_rebalances_and_the_last_leave_empties_the_group() {
    let mut shell = Shell::new();
    let (a, b) = stable_pair(&mut shell);
    let (leave, out) = shell.leave(&b);
    match &only(&out, leave).body {
        ResponseBody::LeaveGroup(r) => assert_eq!(r.members[0].error_code, ec::NONE),
        other => panic!("{other:?}"),
    }
    assert_eq!(shell.state(), GroupState::PreparingRebalance);
    let (join_a, out) = shell.join(Shell::join_request(&a, None, &[("range", b"r")]));
    assert_eq!(join_response(&out, Some(join_a)).generation_id, 2);
    let (_, out) = shell.leave(&a);
    let changes: Vec<_> = out.state_changes.iter().map(|c| (c.from, c.to)).collect();
    assert_eq!(
        changes,
        [
            (GroupState::CompletingRebalance, GroupState::PreparingRebalance),
            (GroupState::PreparingRebalance, GroupState::Empty)
        ]
    );
    assert_eq!(shell.core.group("g").unwrap().generation_id(), 3, "the emptied generation still counts");
    assert_eq!(out.appends.len(), 1, "an empty GroupMetadata is written");
    let (again, out) = shell.leave(&a);
    match &only(&out, again).body {
        ResponseBody::LeaveGroup(r) => assert_eq!(r.members[0].error_code, ec::UNKNOWN_MEMBER_ID),
        other => panic!("{other:?}"),
    }
}

#[test]
fn sync_deadline_removes_members_that_never_synced() {
    let mut shell = Shell::new();
    let (a, b) = stable_pair(&mut shell);
    let (join_a, _) = shell.join(Shell::join_request(&a, None, &[("range", b"x")]));
    let (_, out) = shell.join(Shell::join_request(&b, None, &[("range", b"r")]));
    assert_eq!(join_response(&out, Some(join_a)).generation_id, 2);
    let (sync_a, _) = shell.sync(&a, 2, &[(&a, b"1")]);
    let out = shell.store_appends();
    assert_eq!(sync_response(&out, sync_a).assignment, b"1");
    assert_eq!(shell.state(), GroupState::Stable);
    // b keeps heartbeating but never syncs: the sync deadline removes it.
    for i in 1..=15 {
        shell.advance_to(shell.now_ms + 4_000);
        if i * 4_000 < REBALANCE_MS {
            assert_eq!(shell.heartbeat(&a, 2, None), ec::NONE);
            assert_eq!(shell.heartbeat(&b, 2, None), ec::NONE);
        }
    }
    assert!(shell.core.group("g").unwrap().member(&b).is_none());
}

#[test]
fn a_failed_assignment_append_fails_the_syncs_and_rebalances() {
    let mut shell = Shell::new();
    let (a, b) = stable_pair(&mut shell);
    shell.join(Shell::join_request(&a, None, &[("range", b"x")]));
    shell.join(Shell::join_request(&b, None, &[("range", b"r")]));
    let (sync_b, _) = shell.sync(&b, 2, &[]);
    let (sync_a, _) = shell.sync(&a, 2, &[(&a, b"1"), (&b, b"2")]);
    let append_id = shell.appends.pop().unwrap();
    let out = shell.step(Input::AppendDone { append_id, error_code: ec::NOT_COORDINATOR });
    assert_eq!(sync_response(&out, sync_a).error_code, ec::NOT_COORDINATOR);
    assert_eq!(sync_response(&out, sync_b).error_code, ec::NOT_COORDINATOR);
    assert_eq!(shell.state(), GroupState::PreparingRebalance);
}

#[test]
fn a_static_member_restarting_within_its_session_keeps_its_assignment_and_fences_the_old_id() {
    let mut shell = Shell::new();
    let (_, out) = shell.join(Shell::join_request("", Some("i1"), &[("range", b"r")]));
    assert!(out.responses.is_empty(), "static members skip MEMBER_ID_REQUIRED");
    let out = shell.advance_to(3_000);
    let first = join_response(&out, None);
    assert_eq!(first.member_id, format!("i1-{}", Uuid::from_u128(1)));
    let old = first.member_id.clone();
    let (sync, _) = shell.sync(&old, 1, &[(&old, b"p0")]);
    let out = shell.store_appends();
    assert_eq!(sync_response(&out, sync).assignment, b"p0");

    // Restart: the same instance id, no member id.
    let (rejoin, out) = shell.join(Shell::join_request("", Some("i1"), &[("range", b"r")]));
    let response = join_response(&out, Some(rejoin));
    assert_eq!(response.error_code, ec::NONE);
    assert_ne!(response.member_id, old);
    assert_eq!(response.generation_id, 1, "no rebalance");
    assert!(out.state_changes.is_empty());
    assert_eq!(out.appends.len(), 1, "the new member id is persisted");
    assert_eq!(shell.state(), GroupState::Stable);
    let new = response.member_id;
    let (sync, out) = shell.sync(&new, 1, &[]);
    assert_eq!(sync_response(&out, sync).assignment, b"p0", "the assignment carried over");

    assert_eq!(shell.heartbeat(&old, 1, Some("i1")), ec::FENCED_INSTANCE_ID);
    let (commit, out) = shell.commit(&old, 1, Some("i1"));
    assert_eq!(commit_errors(&out, commit), [ec::FENCED_INSTANCE_ID]);
    let (join, out) = shell.join(Shell::join_request(&old, Some("i1"), &[("range", b"r")]));
    assert_eq!(join_response(&out, Some(join)).error_code, ec::FENCED_INSTANCE_ID);
    assert_eq!(shell.heartbeat(&new, 1, Some("i1")), ec::NONE);
}

#[test]
fn offset_commits_check_generation_and_member() {
    let mut shell = Shell::new();
    let (a, _) = stable_pair(&mut shell);
    let (commit, out) = shell.commit(&a, 0, None);
    assert_eq!(commit_errors(&out, commit), [ec::ILLEGAL_GENERATION]);
    let (commit, out) = shell.commit("nobody", 1, None);
    assert_eq!(commit_errors(&out, commit), [ec::UNKNOWN_MEMBER_ID]);
    let (commit, out) = shell.commit("", -1, None);
    assert_eq!(commit_errors(&out, commit), [ec::UNKNOWN_MEMBER_ID], "no simple commits into a live group");
    let (commit, out) = shell.commit(&a, 1, None);
    assert!(out.responses.is_empty(), "answered once appended");
    let out = shell.store_appends();
    assert_eq!(commit_errors(&out, commit), [ec::NONE]);
    assert_eq!(shell.core.committed_offset("g", "t", 0).unwrap().offset, 42);
}

#[test]
fn simple_groups_commit_with_generation_minus_one_and_fetch_answers_minus_one_for_unknown() {
    let mut shell = Shell::new();
    let (commit, _) = shell.commit("", -1, None);
    let out = shell.store_appends();
    assert_eq!(commit_errors(&out, commit), [ec::NONE]);
    assert_eq!(shell.state(), GroupState::Empty);
    let request_id = RequestId(999);
    let request = OffsetFetchRequest { group_id: "g".into(), partitions: Some(vec![("t".into(), 0), ("t".into(), 1)]) };
    let out = shell.step(Input::OffsetFetch { request_id, request });
    match &only(&out, request_id).body {
        ResponseBody::OffsetFetch(offsets) => {
            assert_eq!(offsets.iter().map(|o| o.offset).collect::<Vec<_>>(), [42, -1]);
        }
        other => panic!("{other:?}"),
    }
    let request = OffsetFetchRequest { group_id: "other".into(), partitions: Some(vec![("t".into(), 0)]) };
    let out = shell.step(Input::OffsetFetch { request_id, request });
    assert!(matches!(&only(&out, request_id).body, ResponseBody::OffsetFetch(o) if o[0].offset == -1));
    // A missing group with a generation is refused.
    let request = OffsetCommitRequest {
        api_version: 9,
        member: member("h", 3, "m", None),
        partitions: vec![CommitPartition {
            topic: "t".into(),
            partition: 0,
            offset: 1,
            leader_epoch: -1,
            metadata: String::new(),
        }],
    };
    let out = shell.step(Input::OffsetCommit { request_id, request });
    assert_eq!(commit_errors(&out, request_id), [ec::GROUP_ID_NOT_FOUND]);
}

#[test]
fn a_dead_group_answers_coordinator_not_available() {
    let mut shell = Shell::new();
    let (a, _) = stable_pair(&mut shell);
    let (join_c, _) = shell.join(Shell::join_request("", None, &[("range", b"")]));
    let _ = join_c;
    let (join_a, _) = shell.join(Shell::join_request(&a, None, &[("range", b"r")]));
    let out = shell.step(Input::Unload { group_id: "g".into(), error_code: ec::NOT_COORDINATOR });
    assert_eq!(join_response(&out, Some(join_a)).error_code, ec::NOT_COORDINATOR);
    assert_eq!(shell.state(), GroupState::Dead);
    assert_eq!(shell.heartbeat(&a, 1, None), ec::COORDINATOR_NOT_AVAILABLE);
    let (sync, out) = shell.sync(&a, 1, &[]);
    assert_eq!(sync_response(&out, sync).error_code, ec::COORDINATOR_NOT_AVAILABLE);
    let (commit, out) = shell.commit(&a, 1, None);
    assert_eq!(commit_errors(&out, commit), [ec::COORDINATOR_NOT_AVAILABLE]);
    let (join, out) = shell.join(Shell::join_request(&a, None, &[("range", b"")]));
    assert_eq!(join_response(&out, Some(join)).error_code, ec::COORDINATOR_NOT_AVAILABLE);
}

#[test]
fn stale_timers_are_ignored() {
    let mut shell = Shell::new();
    let (a, _) = stable_pair(&mut shell);
    let key = TimerKey { group_id: "g".into(), member_id: a.clone(), kind: TimerKind::Heartbeat };
    let out = shell.step(Input::Timer(key.clone()));
    assert!(out.responses.is_empty() && out.state_changes.is_empty(), "not due yet");
    let gone = TimerKey { group_id: "g".into(), member_id: "gone".into(), kind: TimerKind::Heartbeat };
    shell.now_ms += 1_000_000;
    let out = shell.step(Input::Timer(gone));
    assert!(out.state_changes.is_empty());
}

#[test]
fn protocols_are_chosen_by_vote_and_a_member_sharing_none_is_refused() {
    let mut shell = Shell::new();
    let (_, out) = shell.join(Shell::join_request("", None, &[("roundrobin", b""), ("range", b"")]));
    let a = join_response(&out, None).member_id;
    shell.join(Shell::join_request(&a, None, &[("roundrobin", b""), ("range", b"")]));
    let (_, out) = shell.join(Shell::join_request("", None, &[("range", b""), ("roundrobin", b"")]));
    let b = join_response(&out, None).member_id;
    shell.join(Shell::join_request(&b, None, &[("range", b""), ("roundrobin", b"")]));
    let (_, out) = shell.join(Shell::join_request("", None, &[("range", b"")]));
    let c = join_response(&out, None).member_id;
    shell.join(Shell::join_request(&c, None, &[("range", b"")]));
    let (bad, out) = shell.join(Shell::join_request("", None, &[("sticky", b"")]));
    assert_eq!(join_response(&out, Some(bad)).error_code, ec::INCONSISTENT_GROUP_PROTOCOL);
    shell.advance_to(6_000);
    assert_eq!(shell.state(), GroupState::CompletingRebalance);
    assert_eq!(shell.core.group("g").unwrap().protocol_name(), Some("range"), "c only speaks range");
}

#[test]
fn join_validation_refuses_bad_group_ids_session_timeouts_and_unknown_members() {
    let mut shell = Shell::new();
    let mut request = Shell::join_request("", None, &[("range", b"")]);
    request.group_id = String::new();
    let (id, out) = shell.join(request);
    assert_eq!(join_response(&out, Some(id)).error_code, ec::INVALID_GROUP_ID);
    let mut request = Shell::join_request("", None, &[("range", b"")]);
    request.session_timeout_ms = 5_999;
    let (id, out) = shell.join(request);
    assert_eq!(join_response(&out, Some(id)).error_code, ec::INVALID_SESSION_TIMEOUT);
    let (id, out) = shell.join(Shell::join_request("made-up", None, &[("range", b"")]));
    assert_eq!(join_response(&out, Some(id)).error_code, ec::UNKNOWN_MEMBER_ID, "member id for a missing group");
    let mut request = Shell::join_request("", None, &[]);
    request.protocol_type = "consumer".into();
    let (id, out) = shell.join(request);
    assert_eq!(join_response(&out, Some(id)).error_code, ec::INCONSISTENT_GROUP_PROTOCOL, "no protocols");
}

#[test]
fn an_unused_pending_member_id_expires_after_the_session_timeout() {
    let mut shell = Shell::new();
    let (_, out) = shell.join(Shell::join_request("", None, &[("range", b"")]));
    let pending = join_response(&out, None).member_id;
    assert!(shell.core.group("g").unwrap().is_pending_member(&pending));
    shell.advance_to(i64::from(SESSION_MS));
    assert!(!shell.core.group("g").unwrap().is_pending_member(&pending));
    let (id, out) = shell.join(Shell::join_request(&pending, None, &[("range", b"")]));
    assert_eq!(join_response(&out, Some(id)).error_code, ec::UNKNOWN_MEMBER_ID);
}

#[test]
fn a_leader_rejoining_a_stable_group_rebalances_but_an_unchanged_follower_does_not() {
    let mut shell = Shell::new();
    let (a, b) = stable_pair(&mut shell);
    let (id, out) = shell.join(Shell::join_request(&b, None, &[("range", b"r")]));
    let response = join_response(&out, Some(id));
    assert_eq!((response.generation_id, response.members.len()), (1, 0), "the current generation again");
    assert_eq!(shell.state(), GroupState::Stable);
    let (_, out) = shell.join(Shell::join_request(&a, None, &[("range", b"r")]));
    assert!(out.responses.is_empty());
    assert_eq!(shell.state(), GroupState::PreparingRebalance);
}

#[test]
fn a_static_member_replaced_during_completing_rebalance_forces_a_rebalance() {
    let mut shell = Shell::new();
    shell.join(Shell::join_request("", Some("i1"), &[("range", b"r")]));
    let (_, out) = shell.join(Shell::join_request("", None, &[("range", b"r")]));
    let b = join_response(&out, None).member_id;
    let (join_b, _) = shell.join(Shell::join_request(&b, None, &[("range", b"r")]));
    let out = shell.advance_to(6_000);
    let old = out
        .responses
        .iter()
        .find_map(|r| match &r.body {
            ResponseBody::JoinGroup(j) if j.member_id.starts_with("i1-") => Some(j.member_id.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(join_response(&out, Some(join_b)).generation_id, 1);
    let (sync_old, _) = shell.sync(&old, 1, &[]);
    let (rejoin, out) = shell.join(Shell::join_request("", Some("i1"), &[("range", b"r")]));
    assert_eq!(sync_response(&out, sync_old).error_code, ec::FENCED_INSTANCE_ID);
    assert!(out.responses.iter().all(|r| r.request_id != rejoin), "parked for the new generation");
    assert_eq!(shell.state(), GroupState::PreparingRebalance);
    assert_eq!(shell.heartbeat(&old, 1, Some("i1")), ec::FENCED_INSTANCE_ID);
}

#[test]
fn an_admin_removes_a_static_member_by_instance_id() {
    let mut shell = Shell::new();
    shell.join(Shell::join_request("", Some("i1"), &[("range", b"r")]));
    let out = shell.advance_to(3_000);
    let member_id = join_response(&out, None).member_id;
    let request_id = RequestId(500);
    let request = LeaveGroupRequest {
        group_id: "g".into(),
        members: vec![
            LeaveMember { member_id: String::new(), group_instance_id: Some("i1".into()) },
            LeaveMember { member_id: String::new(), group_instance_id: Some("i9".into()) },
        ],
    };
    let out = shell.step(Input::LeaveGroup { request_id, request });
    match &only(&out, request_id).body {
        ResponseBody::LeaveGroup(r) => {
            assert_eq!(r.members.iter().map(|m| m.error_code).collect::<Vec<_>>(), [ec::NONE, ec::UNKNOWN_MEMBER_ID]);
        }
        other => panic!("{other:?}"),
    }
    assert!(shell.core.group("g").unwrap().member(&member_id).is_none());
    assert_eq!(shell.state(), GroupState::Empty);
}

#[test]
fn a_commit_during_completing_rebalance_gets_rebalance_in_progress() {
    let mut shell = Shell::new();
    let (a, b) = stable_pair(&mut shell);
    shell.join(Shell::join_request(&a, None, &[("range", b"r")]));
    shell.join(Shell::join_request(&b, None, &[("range", b"r")]));
    assert_eq!(shell.state(), GroupState::CompletingRebalance);
    let (commit, out) = shell.commit(&a, 2, None);
    assert_eq!(commit_errors(&out, commit), [ec::REBALANCE_IN_PROGRESS]);
    let (commit, out) = shell.commit(&a, 1, None);
    assert_eq!(commit_errors(&out, commit), [ec::ILLEGAL_GENERATION], "the zombie of the last generation");
}
