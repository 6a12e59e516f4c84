//! controller-leader-crash
//!
//! Story: three controllers (`c1`, `c2`, `c3`, Raft ids 1–3) run the metadata quorum with the
//! production Raft driver (`seedlog::raft::RaftDriver`) on their simulated disks and network;
//! whichever leads proposes numbered entries. At seeded random times the supervisor crashes
//! the leader — SIGKILL plus a disk that loses, tears or zero-fills what was not synced —
//! and sometimes, a moment later, a second controller while the survivors are electing a
//! successor ("the controller leader crashes mid-election"), then restarts them one by one.
//! Some rounds also isolate one controller by a partition or cut one link in one direction
//! before healing. A controller whose driver stops on a disk error (a failed fsync is fatal)
//! is restarted like a crashed one. At the end every fault is lifted and every controller
//! runs.
//!
//! What must hold:
//! - the ten Raft checkers (`raft_checkers()`): one leader per epoch, one vote per voter and
//!   epoch, a vote leaves only once durable, epochs never fall, votes only for up-to-date
//!   logs, committed prefixes agree, high watermarks never fall and only cover what a
//!   majority holds, no truncation below the high watermark, leaders append only their epoch;
//! - `RaftCommitsAfterHeal`: once the faults are lifted, a leader appends a new entry and
//!   every controller commits it within [`LIVENESS_BOUND_MS`].
//!
//! Each controller's state machine is the count and digest of the entries it has committed;
//! it snapshots that state every [`SNAPSHOT_EVERY`] entries (KIP-630), so a controller that was
//! away long enough installs the leader's snapshot, and a restarted one loads its own.
//! `RaftCommittedPrefixAgreement` checks that every snapshot of one offset is the same.
//!
//! Variant `fault` (tests only): the drivers run with a deliberate bug (a granted vote sent
//! before it is durable), which the Raft checkers must catch.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use seedlog::raft::{
    Committed, DriverFault, EntryKind, Epoch, RaftConfig, RaftDriver, RaftDriverConfig, RaftHandle, RaftStatus, Role,
    SnapshotId,
};
use seedlog::runtime::{Disk, MemDiskFaults};
use tracing::{info, warn};

use crate::checker::Checker;
use crate::checkers::{raft_checkers, RaftCommitsAfterHeal};
use crate::scenario::{Scenario, SuperviseFuture};
use crate::world::{NodeEnv, World};

const CONTROLLERS: [&str; 3] = ["c1", "c2", "c3"];
const PORT: u16 = 9093;
/// From the last heal to every controller's commit of a new entry. A stream held by a
/// partition may take up to 10 s to drain after the heal (see `network.rs`), and an election
/// a few seconds more.
pub const LIVENESS_BOUND_MS: u64 = 30_000;

/// A controller snapshots its state machine after this many committed entries.
const SNAPSHOT_EVERY: u64 = 10;

/// A controller's state machine: how many data entries it has committed and an FNV-1a 64
/// digest over their payloads in order (the same on every controller for the same prefix).
#[derive(Debug, Default)]
struct Applied {
    data_entries: u64,
    digest: u64,
    /// The offset and epoch of the last entry applied (or of the snapshot loaded).
    last: Option<(i64, Epoch)>,
    since_snapshot: u64,
}

impl Applied {
    fn apply(&mut self, committed: Committed) {
        match committed {
            Committed::Entry(entry) => {
                if entry.kind == EntryKind::Data {
                    self.data_entries += 1;
                    let start = if self.digest == 0 { 0xcbf2_9ce4_8422_2325 } else { self.digest };
                    self.digest = entry
                        .payload
                        .iter()
                        .fold(start, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3));
                }
                self.last = Some((entry.offset, entry.epoch));
                self.since_snapshot += 1;
            }
            Committed::Snapshot { id, data } => {
                let text = String::from_utf8(data.to_vec()).expect("a snapshot this scenario wrote");
                let (count, digest) = text.split_once(':').expect("count:digest");
                self.data_entries = count.parse().expect("a count");
                self.digest = digest.parse().expect("a digest");
                self.last = Some((id.end_offset - 1, id.epoch));
                self.since_snapshot = 0;
            }
        }
    }

    /// The snapshot to take now, if one is due.
    fn snapshot_due(&mut self) -> Option<(SnapshotId, Bytes)> {
        let (offset, epoch) = self.last?;
        if self.since_snapshot < SNAPSHOT_EVERY {
            return None;
        }
        self.since_snapshot = 0;
        let id = SnapshotId { end_offset: offset + 1, epoch };
        Some((id, Bytes::from(format!("{}:{}", self.data_entries, self.digest))))
    }
}

/// What the controllers share with the supervisor: their last status, and whether their
/// driver stopped on an error.
#[derive(Default)]
struct Shared {
    statuses: BTreeMap<String, RaftStatus>,
    failed: Vec<String>,
}

type SharedState = Arc<Mutex<Shared>>;

fn lock(shared: &SharedState) -> std::sync::MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

/// The scenario; `fault` (tests only) runs every driver with a deliberate bug.
#[derive(Clone, Copy, Debug, Default)]
pub struct ControllerLeaderCrash {
    pub fault: Option<DriverFault>,
}

impl Scenario for ControllerLeaderCrash {
    fn name(&self) -> &'static str {
        "controller-leader-crash"
    }

    fn story(&self) -> &'static str {
        "three controllers run the Raft quorum; the leader crashes (sometimes a second controller \
         mid-election), links are partitioned or cut one way, then all heals; Raft's safety \
         holds and a new entry commits everywhere after the heal"
    }

    fn checkers(&self) -> Vec<Box<dyn Checker>> {
        let mut checkers = raft_checkers();
        checkers.push(Box::new(RaftCommitsAfterHeal::new(&CONTROLLERS, LIVENESS_BOUND_MS)));
        checkers
    }

    fn time_limit(&self) -> Duration {
        Duration::from_secs(600)
    }

    fn supervise(&self, seed: u64) -> SuperviseFuture {
        let fault = self.fault;
        Box::pin(async move {
            let world = World::new(seed);
            let mut rng = world.fork_rng();
            let shared = SharedState::default();
            let faults = MemDiskFaults { read_error_rate: 0.0, ..MemDiskFaults::typical() };
            // The addresses are known once the nodes exist; a controller reads them when it
            // first runs, which is after the supervisor added them all (it has not yielded).
            let voters: Arc<Mutex<BTreeMap<i32, SocketAddr>>> = Arc::default();
            for (i, name) in CONTROLLERS.iter().enumerate() {
                let (node_voters, shared) = (voters.clone(), shared.clone());
                let id = i as i32 + 1;
                world.add_node_with_faults(name, faults.clone(), move |env| {
                    controller(env, id, node_voters.clone(), fault, shared.clone())
                });
                voters.lock().unwrap_or_else(|p| p.into_inner()).insert(id, SocketAddr::new(world.ip(name), PORT));
            }

            let rounds = rng.random_range(3..7);
            for _ in 0..rounds {
                sleep_restarting_failed(&world, &shared, rng.random_range(1_000..4_000)).await;
                let leader = leader_of(&shared).unwrap_or_else(|| CONTROLLERS[rng.random_range(0..3)].to_string());
                crash(&world, &shared, &leader);
                let mut down = vec![leader.clone()];
                if rng.random_bool(0.5) {
                    // A second crash while the survivors elect a successor: the candidate (or
                    // the voter it needs) dies the moment a controller is seen electing.
                    if let Some(electing) = wait_for_election(&world, &shared, 6_000).await {
                        let second = if rng.random_bool(0.5) {
                            electing.clone()
                        } else {
                            let others: Vec<&str> =
                                CONTROLLERS.iter().copied().filter(|c| *c != leader && *c != electing).collect();
                            others[0].to_string()
                        };
                        crash(&world, &shared, &second);
                        info!(name: "controller_killed_mid_election", electing = %electing, killed = %second);
                        down.push(second);
                    }
                }
                for name in down {
                    sleep_restarting_failed(&world, &shared, rng.random_range(200..2_000)).await;
                    world.restart(&name);
                }
                match rng.random_range(0..3) {
                    0 => {
                        let isolated = CONTROLLERS[rng.random_range(0..3)];
                        let rest: Vec<&str> = CONTROLLERS.iter().copied().filter(|c| *c != isolated).collect();
                        world.partition(&[&[isolated], &rest]);
                    }
                    1 => {
                        let from = rng.random_range(0..3);
                        let to = (from + rng.random_range(1..3)) % 3;
                        world.cut_one_way(CONTROLLERS[from], CONTROLLERS[to]);
                    }
                    _ => continue,
                }
                sleep_restarting_failed(&world, &shared, rng.random_range(1_000..4_000)).await;
                world.heal();
            }
            // Everything lifted: wait for a new entry to commit on every controller.
            world.heal();
            restart_failed(&world, &shared);
            // Past the log end at the heal by one more entry: a new leader's first entry (its
            // LeaderChange) precedes the Leader transition in the trace, so what the checker
            // waits for is at least the entry after it.
            let log_end = |shared: &SharedState| lock(shared).statuses.values().map(|s| s.log_end_offset).max();
            let mut target = log_end(&shared).unwrap_or(0) + 1;
            let mut waited_ms = 0;
            while waited_ms < LIVENESS_BOUND_MS + 1_000 {
                if restart_failed(&world, &shared) {
                    // A new fault-free stretch begins.
                    waited_ms = 0;
                    target = log_end(&shared).unwrap_or(0) + 1;
                }
                let statuses = lock(&shared).statuses.clone();
                let all = CONTROLLERS.iter().all(|c| statuses.get(*c).is_some_and(|s| s.high_watermark > target));
                if all {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                waited_ms += 100;
            }
            info!(name: "scenario_finished", rounds, target);
        })
    }
}

/// The current leader's node name, by the controllers' last statuses (highest epoch).
fn leader_of(shared: &SharedState) -> Option<String> {
    let shared = lock(shared);
    shared
        .statuses
        .iter()
        .filter(|(_, s)| s.role == Role::Leader)
        .max_by_key(|(_, s)| s.epoch)
        .map(|(name, _)| name.clone())
}

/// Kills a controller and forgets its last status.
fn crash(world: &World, shared: &SharedState, name: &str) {
    world.kill(name);
    lock(shared).statuses.remove(name);
}

/// Restarts every controller whose driver stopped on an error; whether there was one.
fn restart_failed(world: &World, shared: &SharedState) -> bool {
    let failed = std::mem::take(&mut lock(shared).failed);
    for name in &failed {
        if !world.is_killed(name) {
            lock(shared).statuses.remove(name);
            world.restart(name); // kills first: the process is gone, its disk crashes
        }
    }
    !failed.is_empty()
}

/// Waits up to `limit_ms` for a running controller in Prospective or Candidate; its name.
async fn wait_for_election(world: &World, shared: &SharedState, limit_ms: u64) -> Option<String> {
    for _ in 0..limit_ms / 5 {
        tokio::time::sleep(Duration::from_millis(5)).await;
        restart_failed(world, shared);
        let statuses = lock(shared).statuses.clone();
        let electing = statuses
            .iter()
            .find(|(name, s)| matches!(s.role, Role::Prospective | Role::Candidate) && !world.is_killed(name.as_str()));
        if let Some((name, _)) = electing {
            return Some(name.clone());
        }
    }
    None
}

async fn sleep_restarting_failed(world: &World, shared: &SharedState, ms: u64) {
    let mut left = ms;
    while left > 0 {
        let step = left.min(100);
        tokio::time::sleep(Duration::from_millis(step)).await;
        left -= step;
        restart_failed(world, shared);
    }
}

/// One controller: the driver on the node's disk and network, and a proposer that appends a
/// numbered entry every 50–250 ms while this node leads.
async fn controller(
    env: NodeEnv,
    id: i32,
    voters: Arc<Mutex<BTreeMap<i32, SocketAddr>>>,
    fault: Option<DriverFault>,
    shared: SharedState,
) {
    let NodeEnv { name, ip, disk, mut rng, incarnation, .. } = env;
    let voters = voters.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let config = RaftDriverConfig {
        node_id: id,
        voters,
        listen_address: Some(SocketAddr::new(ip, PORT)),
        side_connections: None,
        metadata_dir: "/metadata".into(),
        raft: RaftConfig::default(),
        fault,
    };
    let disk: Arc<dyn Disk> = disk;
    let driver_rng = seedlog::runtime::fork(&mut rng);
    let (driver, mut committed) = match RaftDriver::open(config, disk, driver_rng).await {
        Ok(opened) => opened,
        Err(error) => {
            warn!(name: "controller_start_failed", error = %error);
            lock(&shared).failed.push(name);
            return;
        }
    };
    let handle = driver.handle();
    let proposer = async {
        let mut status_handle = handle.clone();
        let mut sequence = 0u64;
        let mut next_proposal = seedlog::runtime::now();
        let mut applied = Applied::default();
        publish(&shared, &name, &handle);
        loop {
            tokio::select! {
                biased;
                Some(item) = committed.recv() => {
                    applied.apply(item);
                    if let Some((id, data)) = applied.snapshot_due() {
                        // Refused only when the log moved past it (a newer snapshot installed).
                        let _ = handle.snapshot(id, data).await;
                    }
                }
                true = status_handle.changed() => publish(&shared, &name, &handle),
                _ = tokio::time::sleep_until(next_proposal) => {
                    next_proposal = seedlog::runtime::now() + Duration::from_millis(rng.random_range(50..250));
                    if handle.status().role == Role::Leader {
                        sequence += 1;
                        let payload = Bytes::from(format!("c{id}-{incarnation}-{sequence}"));
                        let _ = handle.propose(vec![payload]).await;
                    }
                }
            }
        }
    };
    tokio::select! {
        biased;
        result = driver.run(std::future::pending()) => {
            if let Err(error) = result {
                warn!(name: "controller_stopped", error = %error);
                lock(&shared).failed.push(name.clone());
            }
        }
        _ = proposer => {}
    }
}

fn publish(shared: &SharedState, name: &str, handle: &RaftHandle) {
    lock(shared).statuses.insert(name.to_string(), handle.status());
}
