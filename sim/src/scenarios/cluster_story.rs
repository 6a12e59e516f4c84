//! What the cluster scenarios share around their faults: a 3-node KRaft cluster in combined
//! mode with a topic of three partitions, three replicas each and `min.insync.replicas=2`,
//! written by an idempotent acks=all producer and read by a consumer; and the ending every
//! such story needs: stop the clients, wait for every partition to have a leader and a full
//! ISR, let an auditor read every partition from the start, and wait again (a node may halt
//! on a disk error during the audit).

use seedlog::client::NewTopic;

use crate::cluster::{ClusterSpec, SimCluster};
use crate::workloads::Clients;
use crate::world::World;

pub const TOPIC: &str = "events";
pub const PARTITIONS: i32 = 3;
/// From the heal (or the last restart) to every partition's full ISR. A broker fenced while
/// it was away may wait out its old session (`broker.session.timeout.ms`, 9 s) before it
/// registers again, and a stream held by a partition takes up to 10 s to drain (see
/// `network.rs`); then it catches up.
pub const CONVERGENCE_BOUND_MS: u64 = 30_000;

/// The cluster overrides every story starts from: RF 3, min ISR 2.
pub const REPLICATED: [(&str, &str); 2] = [("default.replication.factor", "3"), ("min.insync.replicas", "2")];

/// A running cluster with its producer and consumer.
pub struct ClusterStory {
    pub cluster: SimCluster,
    clients: Clients,
}

impl ClusterStory {
    /// Starts the cluster of `spec` and the producer (which creates the topic) and consumer.
    pub fn start(world: &World, spec: &ClusterSpec) -> ClusterStory {
        let cluster = SimCluster::start(world, spec);
        let clients = Clients::start(world, &cluster.bootstrap(), topic());
        ClusterStory { cluster, clients }
    }

    /// Sleeps `ms`, restarting nodes that halted meanwhile.
    pub async fn sleep(&self, world: &World, ms: u64) {
        world.sleep_restarting(&self.cluster.halts, ms).await;
    }

    /// Ends the story once every fault is lifted: stops the clients and waits until the
    /// producer has every answer (an acknowledgement after the audit would count as a lost
    /// record), waits for convergence, audits every partition, waits for convergence again.
    pub async fn finish(&self, world: &World) {
        self.finish_settling(world, 0).await;
    }

    /// Like [`ClusterStory::finish`], with `settle_ms` between the clients' stop and the
    /// first wait for convergence.
    pub async fn finish_settling(&self, world: &World, settle_ms: u64) {
        self.clients.stop(world, &self.cluster.halts).await;
        if settle_ms > 0 {
            self.sleep(world, settle_ms).await;
        }
        self.cluster.wait_converged(world, CONVERGENCE_BOUND_MS).await;
        self.clients.audit(world, &self.cluster.halts).await;
        self.cluster.wait_converged(world, CONVERGENCE_BOUND_MS).await;
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
