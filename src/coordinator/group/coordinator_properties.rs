//! A property test of the group coordinator core: three consumers (two dynamic, one static)
//! send random JoinGroup, SyncGroup, Heartbeat, LeaveGroup and OffsetCommit requests — with
//! their current identity or a stale one, and restarts that forget it — while time moves,
//! timers fire (due, early or stale) and appends are acknowledged or fail. After every step
//! the model checks the invariants of GROUPS-AND-TRANSACTIONS.md §8 that the core owns:
//! - every request is answered at most once, and (after an unload drains the group) exactly
//!   once (§8 27's precondition);
//! - only the §2.1 transitions happen, each from the state the group was in (§8 2);
//! - the generation never decreases and each completed join phase raises it by exactly 1
//!   (§8 3);
//! - within a generation a consumer's delivered assignment never changes and no partition is
//!   delivered to two consumers (§8 3, 5);
//! - an accepted commit was admissible when it arrived: a simple commit into a missing or
//!   Empty group, or the current generation from a current, unfenced member outside
//!   CompletingRebalance (§8 10);
//! - a member id once removed never comes back (§8 8), and an instance id has at most one
//!   member (§8 7).
//!
//! The core's own `check_invariants` runs inside every step as well. `broken_cores_are_caught`
//! runs the model against a core with a rule broken on purpose and requires these checks to
//! report it.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use uuid::Uuid;

use super::coordinator::BrokenRule;
use super::coordinator_tests::{member, Shell};
use super::error_code as ec;
use super::*;

const PARTITIONS: u8 = 6;
const CLIENTS: usize = 3;

#[derive(Debug, Clone)]
enum Op {
    Join {
        client: usize,
        stale: bool,
    },
    Sync {
        client: usize,
    },
    Heartbeat {
        client: usize,
    },
    Leave {
        client: usize,
    },
    Commit {
        client: usize,
        stale: bool,
    },
    Advance {
        ms: i64,
    },
    FireArmedTimer {
        index: usize,
    },
    AppendDone {
        ok: bool,
    },
    Restart {
        client: usize,
    },
    /// Every consumer behaves for a while: joins (twice, for KIP-394), waits out the initial
    /// delay, syncs, and the appends are acknowledged. Drives the group to Stable often.
    Cooperate,
}

fn op() -> impl Strategy<Value = Op> {
    let client = 0..CLIENTS;
    prop_oneof![
        4 => (client.clone(), prop::bool::weighted(0.15)).prop_map(|(client, stale)| Op::Join { client, stale }),
        6 => client.clone().prop_map(|client| Op::Sync { client }),
        3 => client.clone().prop_map(|client| Op::Heartbeat { client }),
        1 => client.clone().prop_map(|client| Op::Leave { client }),
        2 => (client.clone(), prop::bool::weighted(0.3)).prop_map(|(client, stale)| Op::Commit { client, stale }),
        3 => prop_oneof![4 => 0i64..3_500, 1 => 3_500i64..15_000].prop_map(|ms| Op::Advance { ms }),
        1 => (0usize..8).prop_map(|index| Op::FireArmedTimer { index }),
        6 => prop::bool::weighted(0.85).prop_map(|ok| Op::AppendDone { ok }),
        1 => client.prop_map(|client| Op::Restart { client }),
        1 => Just(Op::Cooperate),
    ]
}

/// What one consumer believes about itself.
#[derive(Debug, Clone, Default)]
struct Client {
    instance: Option<String>,
    member_id: String,
    generation_id: i32,
    /// Its last JoinGroup answer named it leader, with these members.
    leader_of: Option<Vec<String>>,
    old_member_ids: Vec<String>,
}

#[derive(Debug, Clone)]
enum Outstanding {
    Join {
        client: usize,
    },
    /// `owner`: the instance id of a static member (its member id may be replaced within a
    /// generation, keeping the assignment), else the member id.
    Sync {
        owner: String,
        generation_id: i32,
    },
    Other,
    Commit {
        admissible: bool,
    },
}

struct Model {
    now_ms: i64,
    core: GroupCoordinator,
    clients: Vec<Client>,
    next_request: u64,
    next_uuid: u128,
    outstanding: BTreeMap<RequestId, Outstanding>,
    appends: Vec<AppendId>,
    state: GroupState,
    generation_id: i32,
    /// Per generation: owner → the assignment it was delivered.
    delivered: BTreeMap<i32, BTreeMap<String, Vec<u8>>>,
    ever_members: BTreeSet<String>,
    removed: BTreeSet<String>,
}

impl Model {
    fn new() -> Self {
        Self::with_core(GroupCoordinator::new(GroupConfig::default()))
    }

    fn with_core(core: GroupCoordinator) -> Self {
        let mut clients = vec![Client::default(); CLIENTS];
        clients[2].instance = Some("static-2".into());
        Model {
            now_ms: 0,
            core,
            clients,
            next_request: 0,
            next_uuid: 1,
            outstanding: BTreeMap::new(),
            appends: Vec::new(),
            state: GroupState::Empty,
            generation_id: 0,
            delivered: BTreeMap::new(),
            ever_members: BTreeSet::new(),
            removed: BTreeSet::new(),
        }
    }

    fn request_id(&mut self, what: Outstanding) -> RequestId {
        self.next_request += 1;
        let id = RequestId(self.next_request);
        self.outstanding.insert(id, what);
        id
    }

    fn identity(&self, client: usize, stale: bool) -> String {
        let c = &self.clients[client];
        if stale {
            if let Some(old) = c.old_member_ids.last() {
                return old.clone();
            }
        }
        c.member_id.clone()
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Join { client, stale } => {
                let member_id = self.identity(client, stale);
                let c = &self.clients[client];
                let mut request = Shell::join_request(&member_id, c.instance.as_deref(), &[("range", b"r")]);
                request.client_id = format!("c{client}");
                let request_id = self.request_id(Outstanding::Join { client });
                let member_uuid = Uuid::from_u128(self.next_uuid);
                self.next_uuid += 1;
                self.step(Input::JoinGroup { request_id, request, member_uuid });
            }
            Op::Sync { client } => {
                let c = self.clients[client].clone();
                let assignments = match &c.leader_of {
                    Some(members) => members
                        .iter()
                        .enumerate()
                        .map(|(i, m)| {
                            let mine = (0..PARTITIONS).filter(|p| usize::from(*p) % members.len() == i).collect();
                            (m.clone(), mine)
                        })
                        .collect(),
                    None => Vec::new(),
                };
                let request = SyncGroupRequest {
                    api_version: 5,
                    member: member("g", c.generation_id, &c.member_id, c.instance.as_deref()),
                    protocol_type: None,
                    protocol_name: None,
                    assignments,
                };
                let owner = c.instance.clone().unwrap_or_else(|| c.member_id.clone());
                let request_id = self.request_id(Outstanding::Sync { owner, generation_id: c.generation_id });
                self.step(Input::SyncGroup { request_id, request });
            }
            Op::Heartbeat { client } => {
                let c = &self.clients[client];
                let request = member("g", c.generation_id, &c.member_id, c.instance.as_deref());
                let request_id = self.request_id(Outstanding::Other);
                self.step(Input::Heartbeat { request_id, request });
            }
            Op::Leave { client } => {
                let c = &self.clients[client];
                let leaving = LeaveMember { member_id: c.member_id.clone(), group_instance_id: c.instance.clone() };
                let request = LeaveGroupRequest { group_id: "g".into(), members: vec![leaving] };
                let request_id = self.request_id(Outstanding::Other);
                self.step(Input::LeaveGroup { request_id, request });
                self.forget(client);
            }
            Op::Commit { client, stale } => {
                let c = &self.clients[client];
                let generation_id = if stale { c.generation_id - 1 } else { c.generation_id };
                let request = OffsetCommitRequest {
                    api_version: 8,
                    member: member("g", generation_id, &self.identity(client, stale), c.instance.as_deref()),
                    partitions: vec![CommitPartition {
                        topic: "t".into(),
                        partition: client as i32,
                        offset: self.now_ms,
                        leader_epoch: 0,
                        metadata: String::new(),
                    }],
                };
                let admissible = self.admissible(&request.member);
                let request_id = self.request_id(Outstanding::Commit { admissible });
                self.step(Input::OffsetCommit { request_id, request });
            }
            Op::Advance { ms } => {
                let until = self.now_ms + ms;
                loop {
                    let due = self.core.armed_timers().into_iter().filter(|(_, d)| *d <= until).min_by_key(|(_, d)| *d);
                    let Some((key, deadline_ms)) = due else { break };
                    self.now_ms = self.now_ms.max(deadline_ms);
                    self.step(Input::Timer(key));
                }
                self.now_ms = until;
            }
            Op::FireArmedTimer { index } => {
                // Possibly early: the core must ignore a firing that is not due.
                let armed = self.core.armed_timers();
                if !armed.is_empty() {
                    let (key, _) = armed[index % armed.len()].clone();
                    self.step(Input::Timer(key));
                }
            }
            Op::AppendDone { ok } => {
                if !self.appends.is_empty() {
                    let append_id = self.appends.remove(0);
                    let error_code = if ok { ec::NONE } else { ec::COORDINATOR_NOT_AVAILABLE };
                    self.step(Input::AppendDone { append_id, error_code });
                }
            }
            Op::Restart { client } => self.forget(client),
            Op::Cooperate => {
                for client in 0..CLIENTS {
                    self.apply(&Op::Join { client, stale: false });
                    self.apply(&Op::Join { client, stale: false });
                }
                self.apply(&Op::Advance { ms: 3_100 });
                self.apply(&Op::Advance { ms: 3_100 });
                for client in (0..CLIENTS).rev() {
                    self.apply(&Op::Sync { client });
                }
                for _ in 0..self.appends.len() {
                    self.apply(&Op::AppendDone { ok: true });
                }
            }
        }
    }

    fn forget(&mut self, client: usize) {
        let c = &mut self.clients[client];
        if !c.member_id.is_empty() {
            c.old_member_ids.push(std::mem::take(&mut c.member_id));
        }
        c.generation_id = -1;
        c.leader_of = None;
    }

    /// §2.6 and §2.1 as the model reads them, before the core sees the commit.
    fn admissible(&self, request: &MemberRequest) -> bool {
        let Some(group) = self.core.group("g") else { return request.generation_id < 0 };
        if group.state() == GroupState::Dead {
            return false;
        }
        if request.generation_id < 0 && group.state() == GroupState::Empty {
            return true;
        }
        let bound_ok = match &request.group_instance_id {
            Some(instance) => group.static_member_id(instance) == Some(request.member_id.as_str()),
            None => true,
        };
        bound_ok
            && group.member(&request.member_id).is_some()
            && request.generation_id == group.generation_id()
            && matches!(group.state(), GroupState::PreparingRebalance | GroupState::Stable)
    }

    fn step(&mut self, input: Input) {
        let out = self.core.handle(self.now_ms, input);
        self.appends.extend(out.appends.iter().map(|(id, _)| *id));
        for change in &out.state_changes {
            assert_eq!(change.from, self.state, "a transition from a state the group was not in: {change:?}");
            assert!(legal(change.from, change.to), "illegal transition {change:?}");
            if change.from == GroupState::PreparingRebalance && change.to != GroupState::Dead {
                assert_eq!(change.generation_id, self.generation_id + 1, "a join phase raises the generation by 1");
            }
            assert!(change.generation_id >= self.generation_id, "generation went back: {change:?}");
            self.generation_id = change.generation_id;
            self.state = change.to;
        }
        for response in &out.responses {
            let what = self.outstanding.remove(&response.request_id);
            let what = what.unwrap_or_else(|| panic!("answered twice or never asked: {response:?}"));
            self.observe(what, &response.body);
        }
        if let Some(group) = self.core.group("g") {
            assert!(group.generation_id() >= self.generation_id);
            self.generation_id = group.generation_id();
            let members: BTreeSet<String> = group.members().map(|m| m.member_id().to_string()).collect();
            for gone in self.ever_members.difference(&members) {
                self.removed.insert(gone.clone());
            }
            assert!(members.is_disjoint(&self.removed), "a removed member came back: {members:?}");
            self.ever_members.extend(members);
            let instances: Vec<&str> = group.members().filter_map(|m| m.group_instance_id()).collect();
            let distinct: BTreeSet<&str> = instances.iter().copied().collect();
            assert_eq!(instances.len(), distinct.len(), "two members share an instance id");
        }
    }

    fn observe(&mut self, what: Outstanding, body: &ResponseBody) {
        match (what, body) {
            (Outstanding::Join { client }, ResponseBody::JoinGroup(r)) => {
                let c = &mut self.clients[client];
                match r.error_code {
                    ec::NONE => {
                        if c.member_id != r.member_id && !c.member_id.is_empty() {
                            c.old_member_ids.push(c.member_id.clone());
                        }
                        c.member_id = r.member_id.clone();
                        c.generation_id = r.generation_id;
                        c.leader_of = (r.leader == r.member_id && !r.members.is_empty())
                            .then(|| r.members.iter().map(|m| m.member_id.clone()).collect());
                    }
                    ec::MEMBER_ID_REQUIRED => c.member_id = r.member_id.clone(),
                    ec::UNKNOWN_MEMBER_ID | ec::FENCED_INSTANCE_ID if r.member_id == c.member_id => self.forget(client),
                    _ => {}
                }
            }
            (Outstanding::Sync { owner, generation_id }, ResponseBody::SyncGroup(r)) => {
                if r.error_code == ec::NONE {
                    let generation = self.delivered.entry(generation_id).or_default();
                    if let Some(before) = generation.get(&owner) {
                        assert_eq!(
                            before, &r.assignment,
                            "{owner}'s assignment changed within generation {generation_id}"
                        );
                    }
                    generation.insert(owner, r.assignment.clone());
                    let mut owned = BTreeSet::new();
                    for partitions in generation.values() {
                        for p in partitions {
                            assert!(owned.insert(*p), "partition {p} has two owners in generation {generation_id}");
                        }
                    }
                }
            }
            (Outstanding::Commit { admissible }, ResponseBody::OffsetCommit(r)) => {
                if r.iter().any(|(_, _, e)| *e == ec::NONE) {
                    assert!(admissible, "an inadmissible commit was accepted: {r:?}");
                }
            }
            (Outstanding::Other, ResponseBody::Heartbeat { .. } | ResponseBody::LeaveGroup(_)) => {}
            (what, body) => panic!("{body:?} answers {what:?}"),
        }
    }

    /// Unloads the group: every request still parked must be answered now.
    fn drain(&mut self) {
        self.step(Input::Unload { group_id: "g".into(), error_code: ec::NOT_COORDINATOR });
        for append_id in std::mem::take(&mut self.appends) {
            self.step(Input::AppendDone { append_id, error_code: ec::NONE });
        }
        assert!(self.outstanding.is_empty(), "never answered: {:?}", self.outstanding);
    }
}

/// §2.1's edges, written out again so the model does not trust the core's own table.
fn legal(from: GroupState, to: GroupState) -> bool {
    use GroupState::*;
    matches!(
        (from, to),
        (Empty, PreparingRebalance)
            | (PreparingRebalance, CompletingRebalance)
            | (PreparingRebalance, Empty)
            | (CompletingRebalance, Stable)
            | (CompletingRebalance, PreparingRebalance)
            | (Stable, PreparingRebalance)
            | (Empty | PreparingRebalance | CompletingRebalance | Stable, Dead)
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_group_traffic_keeps_the_invariants(ops in prop::collection::vec(op(), 20..160)) {
        let mut model = Model::new();
        for op in &ops {
            model.apply(op);
        }
        model.drain();
    }
}

/// The model reaches the interesting states at all (otherwise the property says little).
#[test]
fn the_model_reaches_stable_and_rebalances() {
    let mut model = Model::new();
    let script = [
        Op::Join { client: 0, stale: false },
        Op::Join { client: 0, stale: false },
        Op::Join { client: 1, stale: false },
        Op::Join { client: 1, stale: false },
        Op::Join { client: 2, stale: false },
        Op::Advance { ms: 10_000 },
        Op::Sync { client: 1 },
        Op::Sync { client: 2 },
        Op::Sync { client: 0 },
        Op::AppendDone { ok: true },
    ];
    for op in &script {
        model.apply(op);
    }
    assert_eq!(model.state, GroupState::Stable);
    assert_eq!(model.delivered[&1].len(), 3);
    model.apply(&Op::Leave { client: 1 });
    assert_eq!(model.state, GroupState::PreparingRebalance);
    model.drain();
}

/// The checks fire: the same model against a core with a rule broken on purpose must fail.
#[test]
fn broken_cores_are_caught() {
    use proptest::test_runner::{Config, TestRunner};
    for (rule, expected) in [
        (BrokenRule::CommitsIgnoreTheGeneration, "inadmissible commit"),
        (BrokenRule::RebalanceForgetsParkedSyncs, "never answered"),
    ] {
        let mut runner = TestRunner::new(Config { cases: 256, failure_persistence: None, ..Config::default() });
        let result = runner.run(&prop::collection::vec(op(), 20..160), |ops| {
            let outcome = std::panic::catch_unwind(|| {
                let mut core = GroupCoordinator::new(GroupConfig::default());
                core.broken = Some(rule);
                let mut model = Model::with_core(core);
                for op in &ops {
                    model.apply(op);
                }
                model.drain();
            });
            match outcome {
                Ok(()) => Ok(()),
                Err(panic) => {
                    let message = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    Err(proptest::test_runner::TestCaseError::fail(message))
                }
            }
        });
        let failure = result.expect_err(&format!("{rule:?} went unnoticed"));
        assert!(failure.to_string().contains(expected), "{rule:?}: {failure}");
    }
}
