//! leader-minority-partition
//!
//! Story: three nodes (`b1`–`b3`, each broker and controller) form a KRaft cluster with a
//! topic of three partitions, three replicas each and `min.insync.replicas=2`, written by an
//! idempotent acks=all producer and read by a consumer. At seeded random times the network
//! splits: the leader of a partition being written to is alone on one side, the other two
//! nodes on the other. Being two of the three voters, the majority side keeps the metadata
//! quorum (electing a new controller if the isolated node was it); the controller stops
//! hearing the isolated broker's heartbeats, fences it after `broker.session.timeout.ms`
//! and elects new leaders from the ISR for the partitions it led. The clients (and the
//! inspector) are mostly on neither side, so they reach both, as clients often do when only
//! the brokers' links fail: until its metadata moves, the producer keeps sending to the
//! isolated old leader, which still believes it leads; in some splits they are on the
//! majority's side and write only through it. It must not acknowledge those acks=all
//! writes: its followers cannot fetch them, and its ISR shrink cannot reach the controller,
//! so its high watermark stays where it was. Some splits are shorter than the session
//! timeout (nothing is fenced; the leader stays). After the heal the old leader learns the
//! new leader epoch, truncates its unreplicated tail by epoch, catches up and rejoins the
//! ISR. At the end every fault is lifted, and an auditor reads every partition.
//!
//! What must hold:
//! - `AckedRecordsSurvive`: every acks=all acknowledgement the producer saw, from either
//!   side, is read back at its offset: an ack from the isolated old leader for a record it
//!   could not replicate would surface here as a lost record;
//! - `OneRecordPerOffset` and `NoVanishingReads`: the old leader's unreplicated tail, taken
//!   back after the heal, was never read by a consumer, and no offset shows two records;
//! - `PartitionsConvergeAfterHeal`: after the heal every partition has a leader and a full
//!   ISR within 30 s;
//! - the data-plane invariants of REPLICATION.md §6 (`replication_checkers`: among them,
//!   acks are honest, one leader per leader epoch, no truncation below the high watermark)
//!   and the Raft checkers of the metadata quorum (`raft_checkers`).

use std::time::Duration;

use rand::Rng;
use tracing::info;

use super::cluster_story::{ClusterStory, CONVERGENCE_BOUND_MS, PARTITIONS, REPLICATED, TOPIC};
use crate::checker::Checker;
use crate::checkers::cluster_checkers;
use crate::cluster::ClusterSpec;
use crate::scenario::{Scenario, SuperviseFuture};
use crate::world::World;

/// The client nodes: the producer, the consumer and the cluster's inspector.
const CLIENTS: [&str; 3] = ["producer", "consumer", "inspector"];

#[derive(Clone, Copy, Debug, Default)]
pub struct LeaderMinorityPartition;

impl Scenario for LeaderMinorityPartition {
    fn name(&self) -> &'static str {
        "leader-minority-partition"
    }

    fn story(&self) -> &'static str {
        "a 3-node KRaft cluster (RF=3, min ISR 2) under an idempotent acks=all producer; a network \
         partition isolates a partition leader; the majority fences it and elects a new leader, the \
         old one acknowledges nothing it cannot replicate, truncates and rejoins after the heal"
    }

    fn checkers(&self) -> Vec<Box<dyn Checker>> {
        cluster_checkers(CONVERGENCE_BOUND_MS)
    }

    fn time_limit(&self) -> Duration {
        Duration::from_secs(900)
    }

    fn supervise(&self, seed: u64) -> SuperviseFuture {
        Box::pin(async move {
            let world = World::new(seed);
            let mut rng = world.fork_rng();
            let spec = ClusterSpec::combined(3, &REPLICATED);
            let story = ClusterStory::start(&world, &spec);
            let cluster = &story.cluster;

            // Let the quorum form, the brokers register and the topic appear.
            story.sleep(&world, 5_000).await;
            let splits = rng.random_range(1..4);
            let mut isolated_leaders = 0;
            for _ in 0..splits {
                story.sleep(&world, rng.random_range(1_000..4_000)).await;
                let partition = rng.random_range(0..PARTITIONS);
                let Some(leader) = cluster.leader_of(TOPIC, partition) else {
                    continue;
                };
                isolated_leaders += 1;
                let mut majority: Vec<&str> =
                    cluster.brokers.iter().map(String::as_str).filter(|name| **name != leader).collect();
                // Mostly the clients reach both sides (and keep sending to the old leader
                // until their metadata moves); sometimes they are on the majority's side.
                if rng.random_bool(0.3) {
                    majority.extend(CLIENTS);
                }
                world.partition(&[&[leader.as_str()], &majority]);
                // Mostly long enough for the controller to fence the isolated broker (a 9 s
                // session) and move its partitions; sometimes shorter.
                let split_ms = if rng.random_bool(0.75) {
                    rng.random_range(12_000..20_000)
                } else {
                    rng.random_range(1_000..8_000)
                };
                story.sleep(&world, split_ms).await;
                world.heal();
                // Let the old leader come back and catch up before the next split.
                story.sleep(&world, rng.random_range(2_000..12_000)).await;
            }
            story.sleep(&world, rng.random_range(1_000..3_000)).await;
            story.finish(&world).await;
            info!(name: "scenario_finished", splits, isolated_leaders);
        })
    }
}
