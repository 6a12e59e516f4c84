//! power-loss-fsync and power-loss-kafka-durability
//!
//! Story: three nodes (`b1`–`b3`, each broker and controller) form a KRaft cluster with a
//! topic of three partitions, three replicas each and `min.insync.replicas=2`. An idempotent
//! producer writes with acks=all while a consumer reads. At a seeded moment the whole
//! cluster loses power: every node is killed at the same simulated instant, and every disk
//! drops, tears or zero-fills what it had not synced. A moment later all three restart,
//! re-form the metadata quorum, register again and elect leaders; this happens once or
//! twice. Then the producer stops, the partitions converge and an auditor reads everything.
//!
//! The two scenarios differ in one broker key, the durability decision of
//! docs/replication.md:
//! - `power-loss-fsync` runs seedlog's default `high.watermark.fsync.enable=true`: a replica
//!   counts toward the high watermark only once it has fsynced, so a record acknowledged
//!   with acks=all is on the disks of `min.insync.replicas` replicas and survives the power
//!   loss. It expects every seed to pass.
//! - `power-loss-kafka-durability` runs `high.watermark.fsync.enable=false` (Kafka's rule:
//!   a follower counts once the records are in its page cache) and expects
//!   `AckedRecordsSurvive` to report: acknowledged records that no disk kept are gone after
//!   the restart.
//!
//! Both run Kafka's flush policy rather than the simulated cluster's 100 ms flush:
//! `log.flush.interval.ms` of an hour (Kafka's default is never), so what a follower's page
//! cache holds is what a power loss takes; the fsync variant does not depend on it (its
//! followers fsync before they acknowledge).
//!
//! What must hold (fsync): `AckedRecordsSurvive`, `OneRecordPerOffset`, `NoVanishingReads`,
//! `PartitionsConvergeAfterHeal` (every partition has a leader and a full ISR within 30 s of
//! the last restart), the data-plane checkers (`replication_checkers`) and the Raft checkers
//! of the metadata quorum (`raft_checkers`).

use std::time::Duration;

use rand::Rng;
use tracing::info;

use crate::checker::Checker;
use crate::checkers::cluster_checkers;
use crate::cluster::ClusterSpec;
use crate::expectation::Expectation;
use crate::scenario::{Scenario, SuperviseFuture};
use crate::scenarios::cluster_story::{ClusterStory, CONVERGENCE_BOUND_MS, SNAPSHOT_OFTEN};
use crate::world::World;

/// The whole cluster loses power; `kafka_durability` sets `high.watermark.fsync.enable=false`.
#[derive(Clone, Copy, Debug, Default)]
pub struct PowerLoss {
    pub kafka_durability: bool,
}

impl Scenario for PowerLoss {
    fn name(&self) -> &'static str {
        if self.kafka_durability {
            "power-loss-kafka-durability"
        } else {
            "power-loss-fsync"
        }
    }

    fn story(&self) -> &'static str {
        if self.kafka_durability {
            "the whole 3-node cluster loses power during acks=all writes with \
             high.watermark.fsync.enable=false (Kafka's rule): acknowledged records that were only \
             in page caches are lost"
        } else {
            "the whole 3-node cluster (RF=3, min ISR 2) loses power at once during acks=all writes \
             and restarts; with high.watermark.fsync.enable=true nothing acknowledged is lost"
        }
    }

    fn expectation(&self) -> Expectation {
        if self.kafka_durability {
            Expectation::Violation("AckedRecordsSurvive")
        } else {
            Expectation::Pass
        }
    }

    fn checkers(&self) -> Vec<Box<dyn Checker>> {
        cluster_checkers(CONVERGENCE_BOUND_MS)
    }

    fn time_limit(&self) -> Duration {
        Duration::from_secs(600)
    }

    fn supervise(&self, seed: u64) -> SuperviseFuture {
        let fsync = if self.kafka_durability { "false" } else { "true" };
        Box::pin(async move {
            let world = World::new(seed);
            let mut rng = world.fork_rng();
            let spec = ClusterSpec::combined(
                3,
                &[
                    ("default.replication.factor", "3"),
                    ("min.insync.replicas", "2"),
                    ("high.watermark.fsync.enable", fsync),
                    ("log.flush.interval.ms", "3600000"),
                    SNAPSHOT_OFTEN[0],
                    SNAPSHOT_OFTEN[1],
                ],
            );
            let story = ClusterStory::start(&world, &spec);
            let (cluster, halts) = (&story.cluster, &story.cluster.halts);

            // Let the quorum form, the brokers register and the topic appear.
            world.sleep_restarting(halts, 5_000).await;
            let power_losses = rng.random_range(1..=2);
            for _ in 0..power_losses {
                world.sleep_restarting(halts, rng.random_range(1_000..4_000)).await;
                // Every node at the same instant: no fsync runs in between.
                for node in &cluster.brokers {
                    world.kill(node);
                }
                world.sleep_restarting(halts, rng.random_range(100..2_000)).await;
                for node in &cluster.brokers {
                    world.restart(node);
                }
                // The cluster comes back before the next outage: the restarted brokers register
                // again, uncleanly, which takes them out of every ISR one by one, then catch
                // up and rejoin. The story waits for that too.
                world.sleep_restarting(halts, rng.random_range(10_000..14_000)).await;
                cluster.wait_converged(&world, CONVERGENCE_BOUND_MS).await;
            }
            world.sleep_restarting(halts, rng.random_range(1_000..3_000)).await;
            story.finish_settling(&world, 2_000).await;
            info!(name: "scenario_finished", power_losses);
        })
    }
}
