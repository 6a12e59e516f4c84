//! swarm, swarm-combined
//!
//! Story: a KRaft cluster of production nodes — three brokers and three separate
//! controllers (`swarm`), or three nodes that are each broker and controller
//! (`swarm-combined`) — serves a topic of three partitions with three replicas and
//! `min.insync.replicas=2` to an idempotent acks=all producer and a consumer. Each seed draws
//! its own mix and timing of faults, one after another, for a while: kills and restarts
//! (the disk loses, tears or zero-fills what was unsynced), network partitions into two
//! sides, one-way cuts, lagged links, paused nodes, wall-clock jumps, and disks that fail
//! fsyncs (a broker whose log fails halts and is restarted), and three faults aimed at a
//! moment (`triggers.rs`): a broker killed while a log's fsync is in flight, a link cut just
//! after a leader's fetch answer to a follower leaves, a controller restarted just as it
//! starts an election. Buggify is on (`buggify.rs`): each seed enables its own mix of
//! seedlog's probabilistic fault points. Several faults may overlap.
//! Then every fault is lifted; the cluster must converge, and an auditor reads every
//! partition.
//!
//! What must hold: `AckedRecordsSurvive`, `OneRecordPerOffset`, `NoVanishingReads`,
//! `PartitionsConvergeAfterHeal` (every partition has a leader and a full ISR within 60 s
//! of the last fault), the data-plane checkers of REPLICATION.md §6
//! (`replication_checkers`) and the ten Raft checkers of the metadata quorum. Every node
//! snapshots its metadata often (`SNAPSHOT_OFTEN`), so nodes that were away install the
//! leader's snapshot and restarted nodes load their own.

use std::time::Duration;

use rand::Rng;
use seedlog::client::NewTopic;
use seedlog::events::Event;
use seedlog::runtime::MemDiskFaults;
use tracing::info;

use crate::checker::Checker;
use crate::checkers::cluster_checkers;
use crate::cluster::{broker_name, ClusterSpec, SimCluster};
use crate::events::{ClockJumped, DiskFaultsChanged, TriggeredFault};
use crate::scenario::{Scenario, SuperviseFuture};
use crate::scenarios::cluster_story::SNAPSHOT_OFTEN;
use crate::workloads::Clients;
use crate::world::World;

const TOPIC: &str = "events";
const PARTITIONS: i32 = 3;
/// From the last fault to every partition's full ISR: a restarted broker may wait out its
/// old incarnation's session (renewed by a controller failover) before it registers.
const CONVERGENCE_BOUND_MS: u64 = 60_000;

/// The scenario, with separate controllers or in combined mode.
#[derive(Clone, Copy, Debug)]
pub struct Swarm {
    pub combined: bool,
}

impl Scenario for Swarm {
    fn name(&self) -> &'static str {
        if self.combined {
            "swarm-combined"
        } else {
            "swarm"
        }
    }

    fn story(&self) -> &'static str {
        if self.combined {
            "3 combined KRaft nodes under an idempotent acks=all producer; each seed draws its own \
             kills, partitions, cuts, lag, pauses, clock jumps and fsync failures; safety always, \
             convergence after the heal"
        } else {
            "3 brokers and 3 controllers under an idempotent acks=all producer; each seed draws its \
             own kills, partitions, cuts, lag, pauses, clock jumps and fsync failures; safety always, \
             convergence after the heal"
        }
    }

    fn checkers(&self) -> Vec<Box<dyn Checker>> {
        cluster_checkers(CONVERGENCE_BOUND_MS)
    }

    fn time_limit(&self) -> Duration {
        Duration::from_secs(900)
    }

    fn supervise(&self, seed: u64) -> SuperviseFuture {
        let combined = self.combined;
        Box::pin(async move {
            let world = World::new(seed);
            world.set_buggify(true);
            let mut rng = world.fork_rng();
            let overrides = [("default.replication.factor", "3"), ("min.insync.replicas", "2")];
            let overrides: Vec<(&str, &str)> = overrides.into_iter().chain(SNAPSHOT_OFTEN).collect();
            let mut spec = ClusterSpec::combined(3, &overrides);
            if !combined {
                spec.controllers = 3;
            }
            let cluster = SimCluster::start(&world, &spec);
            let halts = cluster.halts.clone();
            let bootstrap = cluster.bootstrap();
            let clients = Clients::start(&world, &bootstrap, topic());
            let mut nodes: Vec<String> = cluster.brokers.clone();
            if !combined {
                nodes.extend(cluster.controllers.iter().cloned());
            }

            world.sleep_restarting(&halts, 5_000).await;
            let mut faults = Faults::default();
            let steps = rng.random_range(4..12);
            for _ in 0..steps {
                world.sleep_restarting(&halts, rng.random_range(200..3_000)).await;
                let fault = rng.random_range(0..11);
                let node = nodes[rng.random_range(0..nodes.len())].clone();
                match fault {
                    0 if !world.is_killed(&node) && !world.is_paused(&node) => {
                        world.kill(&node);
                        faults.killed.push(node);
                    }
                    1 => {
                        // Two sides; the supervisor's other nodes (clients) reach everyone.
                        let split = rng.random_range(1..nodes.len());
                        let mut shuffled = nodes.clone();
                        for i in (1..shuffled.len()).rev() {
                            shuffled.swap(i, rng.random_range(0..=i));
                        }
                        let (a, b) = shuffled.split_at(split);
                        let a: Vec<&str> = a.iter().map(String::as_str).collect();
                        let b: Vec<&str> = b.iter().map(String::as_str).collect();
                        world.partition(&[&a, &b]);
                    }
                    2 => {
                        let to = nodes[rng.random_range(0..nodes.len())].clone();
                        if to != node {
                            world.cut_one_way(&node, &to);
                        }
                    }
                    3 => {
                        let to = nodes[rng.random_range(0..nodes.len())].clone();
                        if to != node {
                            world.lag(&node, &to, Duration::from_millis(rng.random_range(50..2_000)));
                        }
                    }
                    4 if !world.is_killed(&node) && !world.is_paused(&node) => world.pause(&node),
                    5 => {
                        let delta_ms = rng.random_range(-5_000..30_000);
                        world.clock(&node).jump(delta_ms);
                        ClockJumped { node, delta_ms }.emit();
                    }
                    6 => {
                        let harsh = MemDiskFaults { sync_error_rate: 0.02, ..spec.disk_faults.clone() };
                        world.disk(&node).set_faults(harsh);
                        DiskFaultsChanged { node: node.clone(), sync_errors_per_million: 20_000 }.emit();
                        faults.disks.push(node);
                    }
                    8 => {
                        let broker = cluster.brokers[rng.random_range(0..cluster.brokers.len())].clone();
                        let delay_us = if rng.random_bool(0.5) { 0 } else { rng.random_range(1..=500) };
                        if kill_during_fsync(&world, &broker, delay_us).await {
                            faults.killed.push(broker);
                        }
                    }
                    9 => {
                        cut_after_fetch_answer(&world, &cluster.brokers[rng.random_range(0..cluster.brokers.len())])
                            .await
                    }
                    10 => restart_at_election_start(&world, &cluster.controllers).await,
                    _ => {
                        // A lull, or the end of some faults: restart the killed, heal the net.
                        restart_all(&world, &mut faults);
                        if rng.random_bool(0.5) {
                            world.heal();
                        }
                    }
                }
            }
            world.sleep_restarting(&halts, rng.random_range(500..3_000)).await;
            // Every fault lifted: the disks healed, the network healed, every node running.
            for node in std::mem::take(&mut faults.disks) {
                world.disk(&node).set_faults(spec.disk_faults.clone());
                let sync_errors_per_million = (spec.disk_faults.sync_error_rate * 1e6) as u64;
                DiskFaultsChanged { node, sync_errors_per_million }.emit();
            }
            world.heal();
            restart_all(&world, &mut faults);
            world.sleep_restarting(&halts, 1_000).await;
            clients.stop(&world, &halts).await;
            world.sleep_restarting(&halts, 2_000).await;
            let converged = cluster.wait_converged(&world, CONVERGENCE_BOUND_MS).await;
            clients.audit(&world, &halts).await;
            cluster.wait_converged(&world, CONVERGENCE_BOUND_MS).await;
            info!(name: "scenario_finished", steps, converged);
        })
    }
}

/// The faults the supervisor must lift at the end that `heal` does not.
#[derive(Default)]
struct Faults {
    killed: Vec<String>,
    disks: Vec<String>,
}

fn restart_all(world: &World, faults: &mut Faults) {
    for node in std::mem::take(&mut faults.killed) {
        if world.is_killed(&node) {
            world.restart(&node);
        }
    }
}

/// How long a triggered fault waits for its moment before it gives up, ms.
const TRIGGER_WAIT_MS: u64 = 10_000;

/// Kills `broker` while one of its logs' fsyncs is in flight: at its next
/// `log_flush_started`, at once or after `delay_us` (the disk's latency keeps the fsync
/// running a little while; a sleep may outlast it). Returns whether it killed: not when no
/// flush came within the wait or the node was down.
async fn kill_during_fsync(world: &World, broker: &str, delay_us: u64) -> bool {
    if world.is_killed(broker) || world.is_paused(broker) {
        return false;
    }
    let found = world.next_event("log_flush_started", Some(broker)).within(TRIGGER_WAIT_MS).await.is_some();
    if delay_us > 0 {
        tokio::time::sleep(Duration::from_micros(delay_us)).await;
    }
    let kill = found && !world.is_killed(broker) && !world.is_paused(broker);
    if kill {
        world.kill(broker);
    }
    let fault = if kill { "kill" } else { "none" }.to_string();
    TriggeredFault { fault, node: broker.to_string(), waited_for: "log_flush_started".into(), found }.emit();
    kill
}

/// Cuts the link from leader `broker` to a follower just after the leader answered that
/// follower's fetch with data (its next `fetch_served` for a follower): the follower got
/// this answer and hears nothing more, while the leader still hears its fetches.
async fn cut_after_fetch_answer(world: &World, broker: &str) {
    let served = world
        .next_event_where("fetch_served", Some(broker), |e| {
            e.i64("replica_id").is_some_and(|id| id >= 0) && e.i64("error_code") == Some(0)
        })
        .within(TRIGGER_WAIT_MS)
        .await;
    let follower = served.as_ref().and_then(|e| e.i64("replica_id")).map(|id| broker_name(id as i32));
    let fault = match &follower {
        Some(follower) if follower != broker => {
            world.cut_one_way(broker, follower);
            "cut"
        }
        _ => "none",
    };
    let found = served.is_some();
    TriggeredFault { fault: fault.into(), node: broker.to_string(), waited_for: "fetch_served".into(), found }.emit();
}

/// Restarts the next controller that starts an election, just as it does: its
/// `raft_transition` to Prospective (KIP-996's pre-vote) or Candidate, reported once the state
/// it entered is durable.
async fn restart_at_election_start(world: &World, controllers: &[String]) {
    let voters: Vec<String> = controllers.to_vec();
    let started = world
        .next_event_where("raft_transition", None, move |e| {
            matches!(e.str("to_state"), Some("Prospective" | "Candidate")) && voters.contains(&e.node)
        })
        .within(TRIGGER_WAIT_MS)
        .await;
    let node = started.as_ref().map(|e| e.node.clone());
    let fault = match &node {
        Some(node) if !world.is_killed(node) => {
            world.restart(node);
            "restart"
        }
        _ => "none",
    };
    let node = node.unwrap_or_default();
    let found = started.is_some();
    TriggeredFault { fault: fault.into(), node, waited_for: "raft_transition".into(), found }.emit();
}

/// The topic: three replicas per partition, acknowledged by at least two.
fn topic() -> NewTopic {
    NewTopic {
        name: TOPIC.to_string(),
        partitions: Some(PARTITIONS),
        replication_factor: Some(3),
        configs: vec![("min.insync.replicas".to_string(), "2".to_string())],
    }
}
