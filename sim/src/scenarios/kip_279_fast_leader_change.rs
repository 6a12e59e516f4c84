//! kip-279-fast-leader-change
//!
//! Story (HISTORICAL-BUGS.md, KIP-279): three brokers and three separate controllers; one
//! partition with two replicas, P (preferred, first in the assignment) and A, and
//! `min.insync.replicas=1`; an acks=all producer; the controller restores preferred leaders
//! every 5 s (`leader.imbalance.check.interval.seconds=5`).
//! 0. P crashes: A leads (epoch e1). P restarts, catches up and rejoins the ISR.
//! 1. The broker link between A and P is cut as soon as P is back in the ISR. A keeps
//!    appending the producer's records ([11..20] in the KIP's numbers), which P never gets.
//! 2. The controller moves leadership back to P (preferred election, epoch e2; the ISR stays
//!    {A, P}). P appends the producer's next records at the same offsets ([11..n]); A cannot
//!    fetch them.
//! 3. P crashes. Before A ever fetched in e2 (so before it could truncate), the controller
//!    elects A again (epoch e3), which appends more ([21..30]) and commits them alone.
//! 4. The network heals and P restarts as A's follower. A's epoch cache is {…, e1, e3}, P's
//!    {…, e1, e2}. P asks for the end of e2: the answer names the epoch it belongs to (e1,
//!    ending where e3 began), and P truncates to the smaller of that and its own end of e1,
//!    dropping its divergent e2 records, then fetches A's. A naive answer ("the start of the
//!    first epoch above e2") would let P keep its e2 records at offsets where A has others:
//!    silent divergence (or a stuck replica).
//!
//! There is no switch for the naive lookup; the story runs on defaults and must pass:
//! `AckedRecordsSurvive`, `OneRecordPerOffset`, `NoVanishingReads`,
//! `PartitionsConvergeAfterHeal`, the data-plane checkers (`CommittedPrefixAgreement` sees
//! any divergence the moment P's high watermark passes it) and the Raft checkers. In a few
//! seeds the preferred election lands in the moment between P's rejoin and the cut; the
//! story then takes a tamer path (A fetches in e2) and must pass just the same.

use std::time::Duration;

use rand::Rng;
use tracing::info;

use super::replay::{cut_both_ways, Replay, CONVERGENCE_BOUND_MS};
use crate::checker::Checker;
use crate::checkers::cluster_checkers;
use crate::cluster::broker_name;
use crate::scenario::{Scenario, SuperviseFuture};
use crate::world::World;

#[derive(Clone, Copy, Debug, Default)]
pub struct Kip279FastLeaderChange;

impl Scenario for Kip279FastLeaderChange {
    fn name(&self) -> &'static str {
        "kip-279-fast-leader-change"
    }

    fn story(&self) -> &'static str {
        "KIP-279 replayed: leadership flips A (e1) -> P (e2) -> A (e3) while A and P cannot \
         reach each other; P then truncates by the epoch A names, and no offset diverges"
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
            let replay = Replay::start_with_topic(&world, &[("leader.imbalance.check.interval.seconds", "5")], 2, 1);
            let halts = replay.cluster.halts.clone();
            assert!(replay.wait_full_isr(&world, 20_000).await, "the partition never formed");
            world.sleep_restarting(&halts, rng.random_range(500..2_000)).await;
            let info = replay.partition().expect("observed");
            let (p, a) = (broker_name(info.replicas[0]), broker_name(info.replicas[1]));
            // 0. P crashes, A leads in e1; P restarts and rejoins the ISR.
            world.kill(&p);
            let a_leads = replay.wait_for(&world, 20_000, |i| broker_name(i.leader) == a).await;
            world.sleep_restarting(&halts, rng.random_range(200..1_000)).await;
            world.restart(&p);
            let rejoined = replay.wait_full_isr(&world, 30_000).await;
            // 1. Cut A and P apart at once; A appends what P never gets.
            cut_both_ways(&world, &a, &p);
            // 2. The preferred election makes P leader in e2; it appends at the same offsets.
            let p_leads = replay.wait_for(&world, 10_000, |i| broker_name(i.leader) == p).await;
            world.sleep_restarting(&halts, rng.random_range(300..1_500)).await;
            // 3. P crashes; A, which never fetched in e2, leads again in e3 and appends.
            world.kill(&p);
            let a_again = replay.wait_for(&world, 20_000, |i| broker_name(i.leader) == a).await;
            world.sleep_restarting(&halts, rng.random_range(500..2_000)).await;
            info!(name: "replay_roles", p = %p, a = %a, a_leads, rejoined, p_leads, a_again);
            // 4. Heal, P restarts and truncates by epoch; audit.
            replay.finish(&world).await;
        })
    }
}
