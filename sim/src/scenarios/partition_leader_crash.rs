//! partition-leader-crash
//!
//! Story: three nodes (`b1`–`b3`, each broker and controller, built by the production
//! `Node::build(env)`) form a KRaft cluster: a three-voter metadata quorum, and a topic of
//! three partitions with three replicas each and `min.insync.replicas=2`. An idempotent
//! producer writes with acks=all while a consumer reads. At seeded random times the
//! supervisor crashes one node — SIGKILL plus a disk that loses, tears or zero-fills what
//! was not synced — often the one leading partitions that are being written to, and
//! restarts it a moment later. The controller fences the dead broker, elects new leaders
//! from the ISR, and the restarted broker truncates by leader epoch, catches up and
//! rejoins. A broker whose disk fails an fsync halts (as Kafka's does) and is restarted
//! like a crashed one. At the end every node runs, and an auditor reads every partition.
//!
//! What must hold:
//! - `AckedRecordsSurvive`: every record acknowledged with acks=all is read back by the
//!   auditor at its offset (a leader's crash loses nothing the ISR acknowledged);
//! - `OneRecordPerOffset` and `NoVanishingReads`: no offset shows two records, and nothing
//!   a consumer read is taken back;
//! - `PartitionsConvergeAfterHeal`: after the last restart every partition has a leader and
//!   a full ISR within 30 s;
//! - the data-plane invariants of REPLICATION.md §6 (`replication_checkers`) and the Raft
//!   checkers of the metadata quorum (`raft_checkers`).

use std::time::Duration;

use rand::Rng;
use tracing::info;

use crate::checker::Checker;
use crate::checkers::cluster_checkers;
use crate::cluster::ClusterSpec;
use crate::scenario::{Scenario, SuperviseFuture};
use crate::scenarios::cluster_story::{ClusterStory, CONVERGENCE_BOUND_MS, PARTITIONS, TOPIC};
use crate::world::World;

#[derive(Clone, Copy, Debug, Default)]
pub struct PartitionLeaderCrash;

impl Scenario for PartitionLeaderCrash {
    fn name(&self) -> &'static str {
        "partition-leader-crash"
    }

    fn story(&self) -> &'static str {
        "a 3-node KRaft cluster (RF=3, min ISR 2) under an idempotent acks=all producer; nodes \
         crash and restart at random, leaders move; nothing acked is lost, no read is taken back"
    }

    fn checkers(&self) -> Vec<Box<dyn Checker>> {
        cluster_checkers(CONVERGENCE_BOUND_MS)
    }

    fn time_limit(&self) -> Duration {
        Duration::from_secs(600)
    }

    fn supervise(&self, seed: u64) -> SuperviseFuture {
        Box::pin(async move {
            let world = World::new(seed);
            let mut rng = world.fork_rng();
            let spec = ClusterSpec::combined(3, &[("default.replication.factor", "3"), ("min.insync.replicas", "2")]);
            let story = ClusterStory::start(&world, &spec);
            let (cluster, halts) = (&story.cluster, &story.cluster.halts);

            // Let the quorum form, the brokers register and the topic appear.
            world.sleep_restarting(halts, 5_000).await;
            let crashes = rng.random_range(2..6);
            for _ in 0..crashes {
                world.sleep_restarting(halts, rng.random_range(1_000..4_000)).await;
                // Mostly the leader of a partition being written to; sometimes any node.
                let partition = rng.random_range(0..PARTITIONS);
                let victim = match cluster.leader_of(TOPIC, partition) {
                    Some(leader) if rng.random_bool(0.75) => leader,
                    _ => cluster.brokers[rng.random_range(0..cluster.brokers.len())].clone(),
                };
                world.kill(&victim);
                world.sleep_restarting(halts, rng.random_range(100..3_000)).await;
                world.restart(&victim);
            }
            world.sleep_restarting(halts, rng.random_range(1_000..3_000)).await;
            // Every fault is over: the partitions must get leaders and full ISRs again, then
            // the audit reads what the cluster holds, and the cluster converges once more (a
            // node may halt on a disk error during the audit).
            story.finish_settling(&world, 2_000).await;
            info!(name: "scenario_finished", crashes);
        })
    }
}
