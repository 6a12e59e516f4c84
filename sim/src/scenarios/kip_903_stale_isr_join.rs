//! kip-903-stale-isr-join and kip-903-stale-isr-join-no-epoch-check
//!
//! Story (HISTORICAL-BUGS.md, KIP-903 "a stale ISR addition after disk loss"): three brokers
//! and three separate controllers; one partition with two replicas and
//! `min.insync.replicas=1`, an acks=all producer; `replica.lag.time.max.ms=5000`. Leader A,
//! follower B.
//! 1. A and B are cut apart (both ways; both still reach the controllers): A pushes B out of
//!    the ISR and acknowledges alone, with the ISR {A} at `min.insync.replicas`.
//! 2. A's AlterPartition requests are held (a fault point on A: the request is built, with
//!    the broker epochs of its ISR, and waits on its way; A's heartbeats go on their own
//!    channel). The cut is lifted, B catches up, and A proposes the ISR {A, B} naming B by
//!    its broker epoch: the request is held.
//! 3. B fails hard, A and B are cut apart again, B's disk is replaced by an empty one and B
//!    restarts. The controller fences B once its session expires
//!    (`broker.session.timeout.ms`); the new incarnation then registers with a new broker
//!    epoch and is unfenced. It cannot fetch from A: its log stays empty.
//! 4. The held request is let through: it reaches the controller after B's re-registration,
//!    carrying B's old broker epoch. A's later AlterPartitions stay held, as the same slow
//!    path would delay them: among them the shrink that would soon drop a B that never
//!    fetches (the window in which the bug bites, kept open).
//! 5. A crashes; the network heals (releasing A's held requests), A restarts; the audit
//!    reads the partition.
//!
//! `kip-903-stale-isr-join` runs the defaults: the controller compares the joiner's broker
//! epoch with its registration (KIP-903) and refuses the addition with INELIGIBLE_REPLICA;
//! A reverts to the ISR {A}. When A crashes the partition has no ISR member left to elect
//! and waits for A (unclean election is off); A comes back with every acknowledged record.
//! Every checker passes: `AckedRecordsSurvive`, `OneRecordPerOffset`, `NoVanishingReads`,
//! `PartitionsConvergeAfterHeal`, the data-plane and the Raft checkers, and
//! `StaleIsrJoinArrived`, which proves the stale request was decided after B's
//! re-registration (refused), so the seed cannot pass because the sequence never happened.
//!
//! `kip-903-stale-isr-join-no-epoch-check` runs the design before KIP-903
//! (`seedlog.alter.partition.broker.epoch.check.enable=false`): the controller takes the
//! stale addition (`StaleIsrJoinArrived` sees it committed), the empty B is in the ISR, and
//! when A crashes B is elected from it: the records A acknowledged alone are gone, and A
//! truncates to match B when it returns. It expects `AckedRecordsSurvive`.

use std::time::Duration;

use rand::Rng;
use seedlog::runtime::FaultPoint;
use tracing::info;

use super::replay::{Replay, CONVERGENCE_BOUND_MS};
use crate::checker::Checker;
use crate::checkers::{cluster_checkers, StaleIsrJoinArrived};
use crate::cluster::{broker_name, node_id};
use crate::expectation::Expectation;
use crate::scenario::{Scenario, SuperviseFuture};
use crate::world::World;

/// `broker.session.timeout.ms` (Kafka's default, set explicitly: the story waits it out).
const BROKER_SESSION_TIMEOUT_MS: u64 = 9_000;
/// From the old session's end to the new incarnation registered and unfenced.
const REREGISTRATION_BOUND_MS: u64 = 20_000;

/// KIP-903's stale ISR addition; `no_epoch_check` turns the controller's check off.
#[derive(Clone, Copy, Debug, Default)]
pub struct Kip903StaleIsrJoin {
    pub no_epoch_check: bool,
}

impl Scenario for Kip903StaleIsrJoin {
    fn name(&self) -> &'static str {
        if self.no_epoch_check {
            "kip-903-stale-isr-join-no-epoch-check"
        } else {
            "kip-903-stale-isr-join"
        }
    }

    fn story(&self) -> &'static str {
        if self.no_epoch_check {
            "KIP-903 replayed without the broker epoch check: a delayed ISR addition adds the \
             follower's new, empty incarnation, which is elected when the leader crashes; acked records are lost"
        } else {
            "KIP-903 replayed on defaults: a delayed ISR addition arrives after the follower came back \
             on an empty disk; the controller refuses its stale broker epoch, nothing acknowledged is lost"
        }
    }

    fn expectation(&self) -> Expectation {
        if self.no_epoch_check {
            Expectation::Violation("AckedRecordsSurvive")
        } else {
            Expectation::Pass
        }
    }

    fn checkers(&self) -> Vec<Box<dyn Checker>> {
        let staged =
            if self.no_epoch_check { StaleIsrJoinArrived::committed() } else { StaleIsrJoinArrived::refused() };
        let mut checkers: Vec<Box<dyn Checker>> = vec![Box::new(staged)];
        checkers.extend(cluster_checkers(CONVERGENCE_BOUND_MS));
        checkers
    }

    fn time_limit(&self) -> Duration {
        Duration::from_secs(600)
    }

    fn supervise(&self, seed: u64) -> SuperviseFuture {
        let check = if self.no_epoch_check { "false" } else { "true" };
        Box::pin(async move {
            let world = World::new(seed);
            let mut rng = world.fork_rng();
            let session_timeout = BROKER_SESSION_TIMEOUT_MS.to_string();
            let overrides = [
                ("replica.lag.time.max.ms", "5000"),
                ("broker.session.timeout.ms", session_timeout.as_str()),
                ("seedlog.alter.partition.broker.epoch.check.enable", check),
            ];
            let replay = Replay::start_with_topic(&world, &overrides, 2, 1);
            let halts = replay.cluster.halts.clone();
            assert!(replay.wait_full_isr(&world, 20_000).await, "the partition never formed");
            world.sleep_restarting(&halts, rng.random_range(500..2_000)).await;
            let Some((a, followers)) = replay.roles() else { panic!("no leader observed") };
            let b = followers[0].clone();
            let in_isr = |name: &str, isr: &[i32]| isr.iter().any(|id| broker_name(*id) == name);
            // 1. B falls out of the ISR; A acknowledges alone.
            world.partition(&[&[&a], &[&b]]);
            let b_out = replay.wait_for(&world, 30_000, |p| !in_isr(&b, &p.isr)).await;
            assert!(b_out, "{b} never left the ISR");
            world.sleep_restarting(&halts, rng.random_range(1_000..3_000)).await;
            // 2. A's AlterPartition requests are held; B catches up and A proposes it.
            world.hold(&a, FaultPoint::AlterPartitionSend);
            world.partition(&[]);
            let held =
                replay.wait_until(&world, 30_000, || world.waiting_at(&a, FaultPoint::AlterPartitionSend) > 0).await;
            assert!(held, "{a} never proposed adding {b} back");
            world.sleep_restarting(&halts, rng.random_range(100..500)).await;
            // 3. B fails hard and comes back on an empty disk, cut off from A.
            world.kill(&b);
            world.partition(&[&[&a], &[&b]]);
            world.replace_disk(&b);
            world.restart(&b);
            // The old session ends `broker.session.timeout.ms` after B's last heartbeat; the
            // new incarnation registers and is unfenced within a few hundred ms of that, too
            // soon for the inspector (polling Metadata every 200 ms) to see B missing
            // reliably. So: wait out the session, then for B listed again (unfenced).
            world.sleep_restarting(&halts, BROKER_SESSION_TIMEOUT_MS + 1_000).await;
            let b_id = node_id(&b);
            let back = replay
                .wait_until(&world, REREGISTRATION_BOUND_MS, || replay.cluster.live_brokers().contains(&b_id))
                .await;
            assert!(back, "{b}'s new incarnation never registered and unfenced");
            world.sleep_restarting(&halts, rng.random_range(200..1_000)).await;
            // 4. The stale request arrives; A's next ones stay held.
            world.let_through(&a, FaultPoint::AlterPartitionSend);
            let joined = replay.wait_for(&world, 5_000, |p| in_isr(&b, &p.isr)).await;
            world.sleep_restarting(&halts, rng.random_range(200..1_000)).await;
            // 5. A crashes: B can be elected only if the stale addition was taken.
            world.kill(&a);
            let b_leads = replay.wait_for(&world, 20_000, |p| broker_name(p.leader) == b).await;
            world.sleep_restarting(&halts, rng.random_range(500..2_000)).await;
            info!(name: "replay_roles", a = %a, b = %b, joined, b_leads);
            replay.finish(&world).await;
        })
    }
}
