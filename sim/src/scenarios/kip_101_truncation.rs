//! kip-101-truncation and kip-101-truncation-to-hw
//!
//! Story (HISTORICAL-BUGS.md, KIP-101 sequence 1, with a leader change in place of the
//! follower's restart): three brokers and three separate controllers; one partition, three
//! replicas, `min.insync.replicas=2`, an acks=all producer. Leader B and followers A and C.
//! A follower learns the high watermark one fetch after the leader moved it, so the last
//! records B acknowledged are above A's and C's high watermarks.
//! 1. The broker link between A and C is cut (both ways; the controllers still reach both).
//! 2. B crashes. The controller fences it and elects X, one of A and C; the other, Y,
//!    becomes X's follower in the new epoch but cannot fetch from it.
//! 3. X crashes before Y fetched anything from it. The controller fences X and elects Y,
//!    the last ISR member standing.
//! 4. The network heals and B and X restart as Y's followers; the audit reads the partition.
//!
//! `kip-101-truncation-to-hw` runs the design before KIP-101
//! (`seedlog.replica.truncate.to.high.watermark.enable=true`): in step 2 Y truncates its log
//! to its stale high watermark on becoming a follower, removing committed batches; elected
//! in step 3 it leads without them, and records acknowledged with acks=all are gone. It
//! expects `NoTruncationBelowHighWatermark` (the committed batches Y removed; the loss the
//! audit then finds, `AckedRecordsSurvive`, comes with it whenever the producer had received
//! the acknowledgement before B crashed).
//!
//! `kip-101-truncation` runs the same story on defaults (truncation by leader epoch): Y keeps
//! its log on becoming a follower, leads with every committed record, and every checker
//! passes: `AckedRecordsSurvive`, `OneRecordPerOffset`, `NoVanishingReads`,
//! `PartitionsConvergeAfterHeal`, the data-plane and the Raft checkers.

use std::time::Duration;

use rand::Rng;
use tracing::info;

use super::replay::{cut_both_ways, Replay, CONVERGENCE_BOUND_MS};
use crate::checker::Checker;
use crate::checkers::cluster_checkers;
use crate::cluster::broker_name;
use crate::expectation::Expectation;
use crate::scenario::{Scenario, SuperviseFuture};
use crate::world::World;

/// KIP-101's first sequence; `truncate_to_high_watermark` brings back the design before it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Kip101Truncation {
    pub truncate_to_high_watermark: bool,
}

impl Scenario for Kip101Truncation {
    fn name(&self) -> &'static str {
        if self.truncate_to_high_watermark {
            "kip-101-truncation-to-hw"
        } else {
            "kip-101-truncation"
        }
    }

    fn story(&self) -> &'static str {
        if self.truncate_to_high_watermark {
            "KIP-101 replayed with the pre-KIP-101 switch: a follower truncates to its stale high \
             watermark on a leader change, is elected next, and committed records are lost"
        } else {
            "KIP-101 replayed on defaults: leader B crashes, X is elected while follower Y cannot \
             reach it, X crashes, Y leads; truncation by leader epoch keeps every committed record"
        }
    }

    fn expectation(&self) -> Expectation {
        if self.truncate_to_high_watermark {
            Expectation::Violation("NoTruncationBelowHighWatermark")
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
        let switch = if self.truncate_to_high_watermark { "true" } else { "false" };
        Box::pin(async move {
            let world = World::new(seed);
            let mut rng = world.fork_rng();
            let replay = Replay::start(&world, &[("seedlog.replica.truncate.to.high.watermark.enable", switch)]);
            let halts = replay.cluster.halts.clone();
            assert!(replay.wait_full_isr(&world, 20_000).await, "the partition never formed");
            // The producer writes a while: B's acknowledgements run ahead of the followers'
            // high watermarks by one fetch.
            world.sleep_restarting(&halts, rng.random_range(500..3_000)).await;
            let Some((b, followers)) = replay.roles() else { panic!("no leader observed") };
            let (a, c) = (followers[0].clone(), followers[1].clone());
            cut_both_ways(&world, &a, &c);
            world.kill(&b);
            // The controller fences B (`broker.session.timeout.ms`) and elects X from the ISR.
            let elected = replay.wait_for(&world, 20_000, |p| p.leader >= 0 && broker_name(p.leader) != b).await;
            assert!(elected, "no leader after {b} crashed");
            let x = replay.roles().expect("a leader").0;
            let y = if x == a { c.clone() } else { a.clone() };
            // Y has applied the new epoch (and, before KIP-101, truncated); X crashes before Y
            // can fetch from it.
            world.sleep_restarting(&halts, rng.random_range(200..1_000)).await;
            world.kill(&x);
            let y_leads = replay.wait_for(&world, 20_000, |p| broker_name(p.leader) == y).await;
            world.sleep_restarting(&halts, rng.random_range(500..2_000)).await;
            info!(name: "replay_roles", b = %b, x = %x, y = %y, y_leads);
            replay.finish(&world).await;
        })
    }
}
