//! swarm, swarm-combined
//!
//! Story: a KRaft cluster of production nodes — three brokers and three separate
//! controllers (`swarm`), or three nodes that are each broker and controller
//! (`swarm-combined`) — serves a topic of three partitions with three replicas and
//! `min.insync.replicas=2` to an idempotent acks=all producer and a consumer. Each seed draws
//! its own mix and timing of faults, one after another, for a while: kills and restarts
//! (the disk loses, tears or zero-fills what was unsynced), network partitions into two
//! sides, one-way cuts, lagged links, paused nodes, wall-clock jumps, and disks that fail
//! fsyncs (a broker whose log fails halts and is restarted). Several faults may overlap.
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
use crate::cluster::{ClusterSpec, SimCluster};
use crate::events::{ClockJumped, DiskFaultsChanged};
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
                let fault = rng.random_range(0..8);
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

/// The topic: three replicas per partition, acknowledged by at least two.
fn topic() -> NewTopic {
    NewTopic {
        name: TOPIC.to_string(),
        partitions: Some(PARTITIONS),
        replication_factor: Some(3),
        configs: vec![("min.insync.replicas".to_string(), "2".to_string())],
    }
}
