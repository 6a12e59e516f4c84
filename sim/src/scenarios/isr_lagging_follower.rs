//! isr-lagging-follower
//!
//! Story: three nodes (`b1`–`b3`, each broker and controller) form a KRaft cluster with a
//! topic of three partitions, three replicas each and `min.insync.replicas=2`, written by an
//! idempotent acks=all producer and read by a consumer; `replica.lag.time.max.ms` is 1 s
//! (Kafka's default is 30 s), so that a lag well under the broker session makes a follower
//! miss it, and no disk fails an fsync (a halted broker would stall the producer, see
//! `supervise`). After a while the supervisor picks a partition being written to and one of
//! its in-sync followers, and slows the links between that follower and the partition's
//! leader: both directions lag (held for a few seconds
//! at a time, longer than `replica.lag.time.max.ms`, then flowing as long), or, in some
//! seeds, only the fetches or only their answers. The follower's fetches no longer reach
//! the leader's log end offset in time: the leader proposes an ISR without it
//! (AlterPartition) and the controller commits the shrink, while the two others keep
//! acknowledging. While the lag lets traffic through, the follower may catch up and rejoin,
//! and fall out again. Then the links heal: the follower catches up and the leader proposes
//! it back into the ISR. At the end every fault is lifted, and an auditor reads every
//! partition.
//!
//! What must hold:
//! - `IsrShrankAndRejoined`: the lagged follower left the partition's ISR after the lag began
//!   and was back in it at the end (the story happened);
//! - `AckedRecordsSurvive`, `OneRecordPerOffset`, `NoVanishingReads`: an ISR shrink under
//!   writes costs no acknowledged record, and no read is taken back;
//! - `PartitionsConvergeAfterHeal`: after the heal every partition has a leader and a full ISR
//!   within 30 s;
//! - the data-plane invariants of REPLICATION.md §6 (`replication_checkers`: among them, the
//!   high watermark counts only maximal-ISR members, acks are honest) and the Raft checkers
//!   of the metadata quorum (`raft_checkers`).

use std::time::Duration;

use rand::Rng;
use seedlog::events::Event;
use tracing::info;

use super::cluster_story::{ClusterStory, CONVERGENCE_BOUND_MS, PARTITIONS, REPLICATED, TOPIC};
use crate::checker::Checker;
use crate::checkers::{cluster_checkers, IsrShrankAndRejoined};
use crate::cluster::{node_id, ClusterSpec};
use crate::events::FollowerLagged;
use crate::scenario::{Scenario, SuperviseFuture};
use crate::world::World;

/// `replica.lag.time.max.ms` of the scenario: a follower that has not caught up for this long
/// leaves the ISR (checked every half of it). Short, because the lag that makes a follower
/// miss it must stay well under the broker session (see `supervise`).
const REPLICA_LAG_TIME_MAX_MS: u64 = 1_000;

#[derive(Clone, Copy, Debug, Default)]
pub struct IsrLaggingFollower;

impl Scenario for IsrLaggingFollower {
    fn name(&self) -> &'static str {
        "isr-lagging-follower"
    }

    fn story(&self) -> &'static str {
        "a 3-node KRaft cluster (RF=3, min ISR 2) under an idempotent acks=all producer; a follower's \
         links to its leader lag until it leaves the ISR, then heal, and it rejoins the ISR"
    }

    fn checkers(&self) -> Vec<Box<dyn Checker>> {
        let mut checkers: Vec<Box<dyn Checker>> = vec![Box::new(IsrShrankAndRejoined::default())];
        checkers.extend(cluster_checkers(CONVERGENCE_BOUND_MS));
        checkers
    }

    fn time_limit(&self) -> Duration {
        Duration::from_secs(600)
    }

    fn supervise(&self, seed: u64) -> SuperviseFuture {
        Box::pin(async move {
            let world = World::new(seed);
            let mut rng = world.fork_rng();
            let lag_time_max_ms = REPLICA_LAG_TIME_MAX_MS.to_string();
            let mut spec = ClusterSpec::combined(
                3,
                &[REPLICATED[0], REPLICATED[1], ("replica.lag.time.max.ms", lag_time_max_ms.as_str())],
            );
            // No fsync failures: a broker that halts on one stalls the producer (its window
            // waits for the partitions that broker led until the controller fences it), and a
            // follower that is not behind a moving log end stays in the ISR, as it should;
            // the lag would then prove nothing. Other scenarios cover halts.
            spec.disk_faults.sync_error_rate = 0.0;
            let story = ClusterStory::start(&world, &spec);
            let cluster = &story.cluster;

            // Let the quorum form, the brokers register and the topic appear, then pick a
            // partition whose leader and an in-sync follower are known.
            story.sleep(&world, 5_000).await;
            let (partition, leader, follower) = loop {
                story.sleep(&world, rng.random_range(500..2_000)).await;
                let partition = rng.random_range(0..PARTITIONS);
                if let (Some(leader), Some(follower)) =
                    (cluster.leader_of(TOPIC, partition), cluster.follower_of(TOPIC, partition))
                {
                    break (partition, leader, follower);
                }
            };
            FollowerLagged {
                topic: TOPIC.to_string(),
                partition,
                broker: node_id(&follower),
                leader_id: node_id(&leader),
            }
            .emit();
            // Every hold is longer than `replica.lag.time.max.ms` plus the leader's check
            // interval (half of it), so that a check finds the follower behind. It also holds
            // the heartbeats of whichever of the two is not the active controller, and a write
            // held for `h` may arrive up to about `2h` later (madsim's retest backoff, see
            // `network.rs`): `2h` plus a heartbeat interval (2 s) must stay under the broker
            // session (9 s), or the controller fences the leader (and may elect the lagged
            // follower) instead. The flows between holds let the producer's other partitions
            // move on: a producer stalled on them would write nothing to this partition, and
            // a follower at the end of a log that does not grow stays in sync. (For that
            // reason there is no plain one-way cut: it stalls the producer for its whole
            // length.)
            let min_hold_ms = REPLICA_LAG_TIME_MAX_MS * 3 / 2 + 1_000;
            let delay = Duration::from_millis(rng.random_range(min_hold_ms..min_hold_ms + 500));
            // Mostly both directions; sometimes only the fetches, or only their answers.
            let directions = match rng.random_range(0..5) {
                0 => "follower_to_leader",
                1 => "leader_to_follower",
                _ => "both",
            };
            if directions != "leader_to_follower" {
                world.lag(&follower, &leader, delay);
            }
            if directions != "follower_to_leader" {
                world.lag(&leader, &follower, delay);
            }
            let fault_ms = rng.random_range(8_000..16_000);
            story.sleep(&world, fault_ms).await;
            world.heal();
            story.sleep(&world, rng.random_range(1_000..3_000)).await;
            story.finish(&world).await;
            info!(name: "scenario_finished", partition, follower = %follower, leader = %leader, directions, fault_ms);
        })
    }
}
