//! follower-torn-tail
//!
//! Story: three nodes (`b1`–`b3`, each broker and controller) form a KRaft cluster with a
//! topic of three partitions, three replicas each and `min.insync.replicas=2`, written by an
//! idempotent acks=all producer and read by a consumer. In half the seeds the brokers run
//! Kafka's durability (`high.watermark.fsync.enable=false`: a follower acknowledges fetched
//! batches before they are synced, and logs are flushed every second), so a follower holds an
//! unsynced tail of up to a second, and the next crash waits until the last victim is back in
//! every ISR (with Kafka's durability, crashing every replica of a partition before any
//! rejoined loses acknowledged records, as in Kafka: seed 133 once crashed all three while
//! controller failovers, each under `broker.session.timeout.ms` apart, kept renewing the first
//! victim's old session, so it stayed in the ISR and was elected last known leader); in the
//! others seedlog's default (a follower syncs each fetched batch before it fetches again), so
//! only the batch being synced is exposed, and crashes may overlap. At seeded
//! random times the supervisor crashes a follower of a partition being written to (an ISR
//! member that does not lead it) — SIGKILL plus a disk whose crash mostly tears the unsynced
//! tail: a block-aligned prefix survives, or the new size survives with zeros where the data
//! never reached the platter. In half the rounds its answers stop reaching the others for a
//! moment before the crash (a one-way cut, lifted at the crash), so that the partitions it
//! leads hold an unreplicated tail when it dies. The follower restarts a moment later: log
//! recovery cuts the torn batches, the broker waits until its new registration is applied
//! (the controller has taken it out of every ISR and moved its leaderships), then fetches
//! with its last epoch and truncates where its log diverges from the new leader's (by leader
//! epoch, not to its high watermark), catches up and rejoins the ISR. Meanwhile the two
//! other replicas keep acknowledging. A broker whose disk fails an fsync halts and is
//! restarted. At the end every node runs, and an auditor reads every partition.
//!
//! What must hold:
//! - `AckedRecordsSurvive`: every record acknowledged with acks=all is read back at its
//!   offset (a follower's torn tail costs nothing the ISR acknowledged);
//! - `OneRecordPerOffset` and `NoVanishingReads`: zero-filled or torn bytes never show up as
//!   a record, no offset shows two records, nothing a consumer read is taken back;
//! - `PartitionsConvergeAfterHeal`: after the last restart every partition has a leader and a
//!   full ISR (the follower rejoined) within 30 s;
//! - the data-plane invariants of REPLICATION.md §6 (`replication_checkers`: among them,
//!   follower batches match the leader's and no truncation below the high watermark) and the
//!   Raft checkers of the metadata quorum (`raft_checkers`).

use std::time::Duration;

use rand::Rng;
use seedlog::runtime::MemDiskFaults;
use tracing::info;

use super::cluster_story::{ClusterStory, CONVERGENCE_BOUND_MS, PARTITIONS, REPLICATED, TOPIC};
use crate::checker::Checker;
use crate::checkers::cluster_checkers;
use crate::cluster::ClusterSpec;
use crate::scenario::{Scenario, SuperviseFuture};
use crate::world::World;

#[derive(Clone, Copy, Debug, Default)]
pub struct FollowerTornTail;

impl Scenario for FollowerTornTail {
    fn name(&self) -> &'static str {
        "follower-torn-tail"
    }

    fn story(&self) -> &'static str {
        "a 3-node KRaft cluster (RF=3, min ISR 2) under an idempotent acks=all producer; a follower \
         crashes with a torn or zero-filled log tail, truncates by leader epoch and rejoins the ISR"
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
            // Half the seeds run Kafka's durability (`high.watermark.fsync.enable=false`): a
            // follower acknowledges what it fetched before it is synced, and logs are flushed
            // every second, so a crash finds a long unsynced tail. The others run seedlog's
            // default, where a follower syncs each fetched batch before it fetches again: a
            // crash can tear only the batch being synced.
            let kafka_durability = rng.random_bool(0.5);
            let fsync_enable = if kafka_durability { "false" } else { "true" };
            let overrides = [
                REPLICATED[0],
                REPLICATED[1],
                ("high.watermark.fsync.enable", fsync_enable),
                ("log.flush.interval.ms", "1000"),
            ];
            let mut spec = ClusterSpec::combined(3, &overrides);
            // A crash mostly tears: a block-aligned prefix of the unsynced data, or its size
            // without its data; sometimes the whole unsynced tail is lost.
            spec.disk_faults = MemDiskFaults {
                crash_lost_weight: 1,
                crash_torn_prefix_weight: 3,
                crash_size_without_data_weight: 3,
                ..spec.disk_faults
            };
            let story = ClusterStory::start(&world, &spec);
            let cluster = &story.cluster;

            // Let the quorum form, the brokers register and the topic appear.
            story.sleep(&world, 5_000).await;
            let crashes = rng.random_range(1..5);
            let mut followers_crashed = 0;
            for _ in 0..crashes {
                story.sleep(&world, rng.random_range(1_000..4_000)).await;
                let partition = rng.random_range(0..PARTITIONS);
                let Some(victim) = cluster.follower_of(TOPIC, partition) else {
                    continue;
                };
                followers_crashed += 1;
                // Often its answers stop reaching the others first, for a moment: the
                // partitions it leads keep appending what their followers no longer get (an
                // unreplicated tail, never acknowledged), so that after the crash and a new
                // leader's election its surviving tail diverges and is truncated by leader
                // epoch. Lifted at the crash.
                let stalled = rng.random_bool(0.5);
                if stalled {
                    for other in cluster.brokers.iter().filter(|name| **name != victim) {
                        world.cut_one_way(&victim, other);
                    }
                    story.sleep(&world, rng.random_range(100..800)).await;
                }
                world.kill(&victim);
                if stalled {
                    world.heal();
                }
                story.sleep(&world, rng.random_range(100..3_000)).await;
                world.restart(&victim);
                if kafka_durability {
                    // Kafka's durability keeps acknowledged records only while one replica
                    // that holds them has not crashed: the victim must be back in every ISR
                    // before another crash. It re-registers (uncleanly, leaving every ISR)
                    // only once its old session expires (9 s, renewed by a controller
                    // failover its crash may cause), then catches up and rejoins.
                    story.sleep(&world, rng.random_range(12_000..14_000)).await;
                    cluster.wait_converged(&world, CONVERGENCE_BOUND_MS).await;
                } else {
                    // Let it catch up before the next crash (it may rejoin later; the next
                    // crash picks whichever follower is in the ISR then): nothing acknowledged
                    // is lost however the crashes overlap.
                    story.sleep(&world, rng.random_range(1_000..6_000)).await;
                }
            }
            story.sleep(&world, rng.random_range(1_000..3_000)).await;
            story.finish(&world).await;
            info!(name: "scenario_finished", kafka_durability, crashes, followers_crashed);
        })
    }
}
