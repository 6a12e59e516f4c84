//! kip-966-last-replica-standing and kip-966-last-replica-standing-unclean
//!
//! Story (HISTORICAL-BUGS.md, KIP-966 "last replica standing"): three brokers and three
//! separate controllers; one partition, three replicas, `min.insync.replicas=2`, an acks=all
//! producer; `replica.lag.time.max.ms=5000` so the ISR shrinks within seconds. Leader L,
//! followers F0 and F1.
//! 1. The broker link between F0 and L is cut: L pushes F0 out of the ISR; the ISR {L, F1}
//!    still has `min.insync.replicas` members, so the producer's records keep being
//!    acknowledged, and F0 lacks them.
//! 2. The link between F1 and L is cut: L pushes F1 out too and stands alone. With the ISR
//!    below `min.insync.replicas` the high watermark stops (KIP-966 part 1): nothing more is
//!    acknowledged, so F1 holds every committed record.
//! 3. F1 is cut off from the controllers (fenced, a plain fence), then L crashes.
//! 4. The network heals, L restarts; the audit reads the partition.
//!
//! `kip-966-last-replica-standing` runs the defaults (ELR on, unclean election off): F1 left
//! the ISR while it was below min ISR, so it is an eligible leader replica; while it is fenced
//! the partition has no leader (F0, which lacks committed records, is not eligible), and once
//! it is back F1 is elected from the ELR: nothing acknowledged is lost. The restarted L, an
//! unclean shutdown, leaves the ELR and follows. Every checker passes:
//! `AckedRecordsSurvive`, `OneRecordPerOffset`, `NoVanishingReads`,
//! `PartitionsConvergeAfterHeal`, the data-plane and the Raft checkers.
//!
//! `kip-966-last-replica-standing-unclean` runs the designs before KIP-966 that lose data here:
//! `eligible.leader.replicas.enable=false` and `unclean.leader.election.enable=true`. With no
//! ISR member or ELR to wait for, the controller elects F0, the only active replica, uncleanly;
//! the records acknowledged while the ISR was {L, F1} are gone, and L and F1 truncate to
//! match F0. It expects `AckedRecordsSurvive`.

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

/// KIP-966's last replica standing; `unclean` turns ELR off and unclean election on.
#[derive(Clone, Copy, Debug, Default)]
pub struct Kip966LastReplicaStanding {
    pub unclean: bool,
}

impl Scenario for Kip966LastReplicaStanding {
    fn name(&self) -> &'static str {
        if self.unclean {
            "kip-966-last-replica-standing-unclean"
        } else {
            "kip-966-last-replica-standing"
        }
    }

    fn story(&self) -> &'static str {
        if self.unclean {
            "KIP-966 replayed with ELR off and unclean election on: the ISR shrinks to the leader, \
             it crashes, a replica that missed committed records is elected, acked records are lost"
        } else {
            "KIP-966 replayed on defaults: the ISR shrinks to the leader, it crashes; the eligible \
             leader replica that left last is elected, nothing acknowledged is lost"
        }
    }

    fn expectation(&self) -> Expectation {
        if self.unclean {
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
        let (elr, unclean) = if self.unclean { ("false", "true") } else { ("true", "false") };
        Box::pin(async move {
            let world = World::new(seed);
            let mut rng = world.fork_rng();
            let replay = Replay::start(
                &world,
                &[
                    ("replica.lag.time.max.ms", "5000"),
                    ("eligible.leader.replicas.enable", elr),
                    ("unclean.leader.election.enable", unclean),
                ],
            );
            let halts = replay.cluster.halts.clone();
            assert!(replay.wait_full_isr(&world, 20_000).await, "the partition never formed");
            world.sleep_restarting(&halts, rng.random_range(500..2_000)).await;
            let Some((leader, followers)) = replay.roles() else { panic!("no leader observed") };
            let (f0, f1) = (followers[0].clone(), followers[1].clone());
            let in_isr = |name: &str, isr: &[i32]| isr.iter().any(|id| broker_name(*id) == name);
            // 1. F0 falls out of the ISR; {L, F1} keeps acknowledging.
            cut_both_ways(&world, &f0, &leader);
            let f0_out = replay.wait_for(&world, 30_000, |p| !in_isr(&f0, &p.isr)).await;
            world.sleep_restarting(&halts, rng.random_range(1_000..3_000)).await;
            // 2. F1 falls out too: L stands alone, the high watermark stops.
            cut_both_ways(&world, &f1, &leader);
            let alone = replay.wait_for(&world, 30_000, |p| p.isr.len() == 1 && in_isr(&leader, &p.isr)).await;
            world.sleep_restarting(&halts, rng.random_range(500..1_500)).await;
            // 3. F1 loses the controllers (fenced first), then L crashes.
            for controller in &replay.cluster.controllers {
                cut_both_ways(&world, &f1, controller);
            }
            world.sleep_restarting(&halts, 2_000).await;
            world.kill(&leader);
            let elected = replay.wait_for(&world, 20_000, |p| p.leader >= 0 && broker_name(p.leader) != leader).await;
            world.sleep_restarting(&halts, rng.random_range(500..2_000)).await;
            info!(name: "replay_roles", leader = %leader, f0 = %f0, f1 = %f1, f0_out, alone, elected);
            // 4. Heal, restart L, audit.
            replay.finish(&world).await;
        })
    }
}
