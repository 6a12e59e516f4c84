//! What the scripted replays of HISTORICAL-BUGS.md share: a cluster of three brokers and three
//! separate controllers (so cutting brokers apart never costs the metadata quorum), one
//! partition (by default three replicas and `min.insync.replicas=2`) under an acks=all producer and
//! a consumer, waits on what the inspector observes, and the ending every story shares (heal,
//! restart, converge, audit).

use seedlog::client::{NewTopic, PartitionInfo};
use seedlog::runtime::MemDiskFaults;

use crate::cluster::{broker_name, ClusterSpec, SimCluster};
use crate::workloads::Clients;
use crate::world::World;

pub const TOPIC: &str = "events";
/// From the end of the faults to a leader and a full ISR.
pub const CONVERGENCE_BOUND_MS: u64 = 30_000;

/// A running replay: the cluster and its clients.
pub struct Replay {
    pub cluster: SimCluster,
    clients: Clients,
}

impl Replay {
    /// Three brokers (`b1`–`b3`) and three controllers (`c1`–`c3`) with `overrides`, a producer
    /// and a consumer. Disks without injected faults: the story's faults are its own.
    pub fn start(world: &World, overrides: &[(&str, &str)]) -> Replay {
        Replay::start_with_topic(world, overrides, 3, 2)
    }

    /// Like [`Replay::start`], the topic with `replication_factor` replicas and
    /// `min_insync_replicas`.
    pub fn start_with_topic(
        world: &World,
        overrides: &[(&str, &str)],
        replication_factor: i16,
        min_insync_replicas: i32,
    ) -> Replay {
        let mut all = vec![("default.replication.factor", "3"), ("min.insync.replicas", "2")];
        all.extend_from_slice(overrides);
        let spec = ClusterSpec { controllers: 3, disk_faults: MemDiskFaults::none(), ..ClusterSpec::combined(3, &all) };
        let cluster = SimCluster::start(world, &spec);
        let clients = Clients::start(world, &cluster.bootstrap(), topic(replication_factor, min_insync_replicas));
        Replay { cluster, clients }
    }

    /// The partition as last observed.
    pub fn partition(&self) -> Option<PartitionInfo> {
        self.cluster.partition(TOPIC, 0)
    }

    /// Waits (up to `bound_ms`) until the observed partition satisfies `wanted`; whether it did.
    pub async fn wait_for(&self, world: &World, bound_ms: u64, wanted: impl Fn(&PartitionInfo) -> bool) -> bool {
        self.wait_until(world, bound_ms, || self.partition().is_some_and(|p| wanted(&p))).await
    }

    /// Waits (up to `bound_ms`, restarting halted nodes) until `wanted` holds; whether it did.
    pub async fn wait_until(&self, world: &World, bound_ms: u64, wanted: impl Fn() -> bool) -> bool {
        let mut waited_ms = 0;
        while waited_ms < bound_ms {
            if wanted() {
                return true;
            }
            world.sleep_restarting(&self.cluster.halts, 100).await;
            waited_ms += 100;
        }
        false
    }

    /// Waits until the partition has a leader and all its replicas in its ISR.
    pub async fn wait_full_isr(&self, world: &World, bound_ms: u64) -> bool {
        self.wait_for(world, bound_ms, |p| p.leader >= 0 && !p.replicas.is_empty() && p.isr.len() == p.replicas.len())
            .await
    }

    /// The broker names of the current leader and the other two replicas, in replica order.
    pub fn roles(&self) -> Option<(String, Vec<String>)> {
        let p = self.partition()?;
        (p.leader >= 0).then(|| {
            let others = p.replicas.iter().filter(|id| **id != p.leader).map(|id| broker_name(*id)).collect();
            (broker_name(p.leader), others)
        })
    }

    /// The shared ending: every fault healed and every node running, the producer stopped,
    /// the partition converged, an audit of everything, converged again.
    pub async fn finish(&self, world: &World) {
        world.heal();
        for name in world.node_names() {
            if world.is_killed(&name) {
                world.restart(&name);
            }
        }
        let halts = &self.cluster.halts;
        world.sleep_restarting(halts, 2_000).await;
        self.clients.stop(world, halts).await;
        world.sleep_restarting(halts, 1_000).await;
        self.cluster.wait_converged(world, CONVERGENCE_BOUND_MS).await;
        self.clients.audit(world, halts).await;
        self.cluster.wait_converged(world, CONVERGENCE_BOUND_MS).await;
    }
}

/// Cuts the broker links between `a` and `b`, both ways.
pub fn cut_both_ways(world: &World, a: &str, b: &str) {
    world.cut_one_way(a, b);
    world.cut_one_way(b, a);
}

/// One partition with `replication_factor` replicas, acknowledged by at least
/// `min_insync_replicas`.
fn topic(replication_factor: i16, min_insync_replicas: i32) -> NewTopic {
    NewTopic {
        name: TOPIC.to_string(),
        partitions: Some(1),
        replication_factor: Some(replication_factor),
        configs: vec![("min.insync.replicas".to_string(), min_insync_replicas.to_string())],
    }
}
