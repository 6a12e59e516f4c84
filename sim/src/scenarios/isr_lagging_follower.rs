//! isr-lagging-follower
//!
//! Story: three nodes (`b1`–`b3`, each broker and controller) form a KRaft cluster with a
//! topic of three partitions, three replicas each and `min.insync.replicas=2`, written by an
//! idempotent acks=all producer and read by a consumer; `replica.lag.time.max.ms` is 1 s
//! (Kafka's default is 30 s), so that a lag well under the broker session makes a follower
//! miss it. After a while the supervisor picks a
//! partition being written to and one of its in-sync followers, and slows the links between
//! that follower and the partition's leader: both directions lag (held for several seconds
//! at a time, longer than `replica.lag.time.max.ms`, then flowing), or, in some seeds, the
//! leader's replies to the follower are cut one way. The follower's fetches no longer reach
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
use crate::checkers::{
    raft_checkers, replication_checkers, AckedRecordsSurvive, IsrShrankAndRejoined, NoVanishingReads,
    OneRecordPerOffset, PartitionsConvergeAfterHeal,
};
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
        let mut checkers: Vec<Box<dyn Checker>> = vec![
            Box::new(IsrShrankAndRejoined::default()),
            Box::new(AckedRecordsSurvive::default()),
            Box::new(OneRecordPerOffset::default()),
            Box::new(NoVanishingReads::default()),
            Box::new(PartitionsConvergeAfterHeal::new(CONVERGENCE_BOUND_MS)),
        ];
        checkers.extend(replication_checkers());
        checkers.extend(raft_checkers());
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
            let spec = ClusterSpec::combined(
                3,
                &[REPLICATED[0], REPLICATED[1], ("replica.lag.time.max.ms", lag_time_max_ms.as_str())],
            );
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
            let cut = rng.random_bool(0.25);
            let fault_ms = if cut {
                // Fetches arrive, answers never do: the follower's log end offset stays put.
                // Shorter than the broker session (9 s) less a heartbeat interval: the cut
                // also holds the controller's answers if the leader is the active controller.
                world.cut_one_way(&leader, &follower);
                rng.random_range(4_000..6_500)
            } else {
                // Held longer than `replica.lag.time.max.ms` plus the leader's check interval
                // (half of it), so a check finds the follower behind within each hold; then
                // flowing as long again. The lag also holds the heartbeats of whichever of the
                // two is not the active controller, and a write held for `h` may arrive up to
                // about `2h` later (madsim's retest backoff, see `network.rs`): 2h plus a
                // heartbeat interval (2 s) stays under the broker session (9 s), so the
                // controller fences neither.
                let min_delay_ms = REPLICA_LAG_TIME_MAX_MS * 3 / 2 + 1_000;
                let delay = Duration::from_millis(rng.random_range(min_delay_ms..min_delay_ms + 500));
                world.lag(&follower, &leader, delay);
                world.lag(&leader, &follower, delay);
                rng.random_range(8_000..16_000)
            };
            story.sleep(&world, fault_ms).await;
            world.heal();
            story.sleep(&world, rng.random_range(1_000..3_000)).await;
            story.finish(&world).await;
            info!(name: "scenario_finished", partition, follower = %follower, leader = %leader, cut, fault_ms);
        })
    }
}
