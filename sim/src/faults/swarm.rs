//! Swarm faults: each seed draws its own fault schedule from a scenario's probabilities.
//!
//! Swarm testing (Groce et al., "Swarm Testing", ISSTA 2012; FoundationDB's simulation does
//! the same): a run that mixes every kind of fault at once tends to mask the bugs one kind
//! alone would expose — constant partitions leave a crash nothing to race with. So with
//! `mix = true` (the default) each seed first draws which kinds of fault it uses at all
//! (each kind with a weight above zero, with probability ½, at least one), then draws its
//! steps from the kinds it kept, by weight. Different seeds explore different mixes.
//!
//! The draw happens before the run, into a plain [`FaultSchedule`] over concrete node names
//! (only `kill_leader` keeps a role, `leader:TOPIC-P`, resolved when it runs), so a seed's
//! schedule can be written out as a script that replays it (`cargo sim shrink`).

use std::time::Duration;

use rand::Rng;
use seedlog::runtime::NodeRng;

use super::schedule::{Fault, FaultSchedule, ScheduledFault};
use super::target::Target;

/// Kinds of swarm fault, in the order their weights are listed.
pub const KINDS: [&str; 14] = [
    "kill",
    "kill_leader",
    "isolate_leader",
    "power_loss",
    "partition",
    "cut",
    "lag",
    "pause",
    "clock_jump",
    "fail_fsyncs",
    "lull",
    "kill_during_fsync",
    "cut_after_fetch_answer",
    "restart_at_election_start",
];

/// A scenario's swarm probabilities.
#[derive(Clone, Debug, PartialEq)]
pub struct SwarmSpec {
    /// When the first fault may come (ms since the run started): the cluster forms first.
    pub start_ms: u64,
    /// How many steps, inclusive.
    pub steps: (u64, u64),
    /// The gap before each step, ms, inclusive.
    pub gap_ms: (u64, u64),
    /// Each kind's weight, in [`KINDS`] order.
    pub weights: [u32; KINDS.len()],
    /// Each seed draws which kinds it uses (see the module header).
    pub mix: bool,
    /// After a kill, the node is restarted this long after (ms, inclusive); `None`: it stays
    /// down until a lull or the end.
    pub restart_after_ms: Option<(u64, u64)>,
    /// After a partition, cut, lag or pause, the network heals this long after (ms,
    /// inclusive); `None`: at a lull or the end.
    pub heal_after_ms: Option<(u64, u64)>,
    /// How long a lagged link stalls, ms, inclusive.
    pub lag_ms: (u64, u64),
    /// How far a clock jumps, ms, inclusive (negative: backwards).
    pub clock_jump_ms: (i64, i64),
    /// The share of fsyncs a `fail_fsyncs` disk fails.
    pub fsync_error_rate: f64,
    /// Which partitions `kill_leader` aims at: (topic, partition count).
    pub leader_of: Option<(String, i32)>,
}

impl Default for SwarmSpec {
    fn default() -> Self {
        SwarmSpec {
            start_ms: 5_000,
            steps: (4, 11),
            gap_ms: (200, 3_000),
            weights: [1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
            mix: true,
            restart_after_ms: None,
            heal_after_ms: None,
            lag_ms: (50, 2_000),
            clock_jump_ms: (-5_000, 30_000),
            fsync_error_rate: 0.02,
            leader_of: None,
        }
    }
}

impl SwarmSpec {
    /// The weight of the kind called `kind`.
    pub fn weight_mut(&mut self, kind: &str) -> Option<&mut u32> {
        KINDS.iter().position(|k| *k == kind).map(|i| &mut self.weights[i])
    }

    /// Draws one seed's schedule over `brokers` and `controllers` (empty in combined mode).
    pub fn draw(&self, rng: &mut NodeRng, brokers: &[String], controllers: &[String]) -> FaultSchedule {
        let mut nodes: Vec<String> = brokers.to_vec();
        nodes.extend(controllers.iter().cloned());
        let weights = self.mixed_weights(rng);
        let total: u32 = weights.iter().sum();
        let mut steps = Vec::new();
        let mut at_ms = self.start_ms;
        let count = rng.random_range(self.steps.0..=self.steps.1);
        for _ in 0..count {
            at_ms += rng.random_range(self.gap_ms.0..=self.gap_ms.1);
            if total == 0 {
                break;
            }
            let kind = KINDS[pick_weighted(&weights, rng.random_range(0..total))];
            let node = Target::Node(nodes[rng.random_range(0..nodes.len())].clone());
            let other = Target::Node(nodes[rng.random_range(0..nodes.len())].clone());
            let network_fault =
                matches!(kind, "partition" | "isolate_leader" | "cut" | "lag" | "pause" | "cut_after_fetch_answer");
            let mut step = |at_ms, fault| steps.push(ScheduledFault { at_ms, fault });
            match kind {
                "kill" | "kill_leader" | "power_loss" => {
                    let victim = match (kind, &self.leader_of) {
                        ("kill_leader", Some((topic, partitions))) => {
                            Target::Leader { topic: topic.clone(), partition: rng.random_range(0..*partitions) }
                        }
                        ("power_loss", _) => Target::AllNodes,
                        _ => node,
                    };
                    step(at_ms, Fault::Kill { node: victim.clone() });
                    if let Some((lo, hi)) = self.restart_after_ms {
                        // A role names whoever led then, not now: restart every killed node.
                        let restarted = if victim.node().is_some() { victim } else { Target::AllNodes };
                        at_ms += rng.random_range(lo..=hi);
                        step(at_ms, Fault::Restart { node: restarted });
                    }
                }
                "isolate_leader" => {
                    // The leader of a partition alone on one side, every other node on the other.
                    let (topic, partitions) = self.leader_of.clone().unwrap_or_else(|| ("events".to_string(), 1));
                    let leader = Target::Leader { topic, partition: rng.random_range(0..partitions) };
                    step(at_ms, Fault::Partition { groups: vec![vec![leader], vec![Target::Rest]] });
                }
                "partition" if nodes.len() >= 2 => {
                    let mut shuffled = nodes.clone();
                    for i in (1..shuffled.len()).rev() {
                        shuffled.swap(i, rng.random_range(0..=i));
                    }
                    let (a, b) = shuffled.split_at(rng.random_range(1..shuffled.len()));
                    let group = |g: &[String]| g.iter().map(|n| Target::Node(n.clone())).collect::<Vec<_>>();
                    step(at_ms, Fault::Partition { groups: vec![group(a), group(b)] });
                }
                "cut" => step(at_ms, Fault::Cut { from: node, to: other }),
                "lag" => {
                    let delay = Duration::from_millis(rng.random_range(self.lag_ms.0..=self.lag_ms.1));
                    step(at_ms, Fault::Lag { from: node, to: other, delay });
                }
                "pause" => step(at_ms, Fault::Pause { node }),
                "clock_jump" => {
                    let delta_ms = rng.random_range(self.clock_jump_ms.0..=self.clock_jump_ms.1);
                    step(at_ms, Fault::ClockJump { node, delta_ms });
                }
                "fail_fsyncs" => step(at_ms, Fault::FailFsyncs { node, rate: self.fsync_error_rate }),
                "partition" => {} // one node cannot be split from anyone
                "kill_during_fsync" => {
                    // The broker (its logs fsync), at the fsync's start or up to 500 µs into it.
                    let broker = Target::Node(brokers[rng.random_range(0..brokers.len())].clone());
                    let delay_us = if rng.random_bool(0.5) { 0 } else { rng.random_range(1..=500) };
                    step(at_ms, Fault::KillDuringFsync { node: broker, delay_us });
                    if let Some((lo, hi)) = self.restart_after_ms {
                        at_ms += rng.random_range(lo..=hi);
                        step(at_ms, Fault::Restart { node: Target::AllNodes });
                    }
                }
                "cut_after_fetch_answer" => {
                    let broker = Target::Node(brokers[rng.random_range(0..brokers.len())].clone());
                    step(at_ms, Fault::CutAfterFetchAnswer { node: broker });
                }
                "restart_at_election_start" => step(at_ms, Fault::RestartAtElectionStart),
                _ => {
                    // A lull: the killed come back, and half the time the network heals.
                    step(at_ms, Fault::Restart { node: Target::AllNodes });
                    if rng.random_bool(0.5) {
                        step(at_ms, Fault::Heal);
                    }
                }
            }
            if let (true, Some((lo, hi))) = (network_fault, self.heal_after_ms) {
                at_ms += rng.random_range(lo..=hi);
                steps.push(ScheduledFault { at_ms, fault: Fault::Heal });
            }
        }
        FaultSchedule::new(steps)
    }

    /// The weights this seed uses: with `mix`, each kind kept with probability ½ (at least
    /// one kind with a weight is kept).
    fn mixed_weights(&self, rng: &mut NodeRng) -> [u32; KINDS.len()] {
        if !self.mix {
            return self.weights;
        }
        let mut weights = self.weights;
        for w in weights.iter_mut() {
            if rng.random_bool(0.5) {
                *w = 0;
            }
        }
        if weights.iter().all(|w| *w == 0) {
            let candidates: Vec<usize> = (0..KINDS.len()).filter(|i| self.weights[*i] > 0).collect();
            if !candidates.is_empty() {
                let i = candidates[rng.random_range(0..candidates.len())];
                weights[i] = self.weights[i];
            }
        }
        weights
    }
}

/// The index whose share of the weights' sum holds `pick` (below the sum).
fn pick_weighted(weights: &[u32], mut pick: u32) -> usize {
    for (i, w) in weights.iter().enumerate() {
        if pick < *w {
            return i;
        }
        pick -= w;
    }
    unreachable!("pick {pick} beyond the weights' sum")
}

#[cfg(test)]
mod tests {
    use seedlog::runtime::seeded;

    use super::*;

    fn names(prefix: &str, n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("{prefix}{i}")).collect()
    }

    #[test]
    fn a_seed_draws_the_same_schedule_twice() {
        let spec = SwarmSpec::default();
        let draw = |seed| spec.draw(&mut seeded(seed), &names("b", 3), &names("c", 3));
        assert_eq!(draw(7), draw(7));
        assert!((1..50).any(|seed| draw(seed) != draw(7)), "every seed drew the same schedule");
    }

    #[test]
    fn steps_respect_the_spec() {
        let spec = SwarmSpec { mix: false, ..SwarmSpec::default() };
        for seed in 0..200 {
            let schedule = spec.draw(&mut seeded(seed), &names("b", 3), &[]);
            let kinds = schedule.steps().iter().filter(|s| s.fault != Fault::Heal).count() as u64;
            assert!((spec.steps.0..=spec.steps.1).contains(&kinds), "{kinds} steps");
            assert!(schedule.steps().iter().all(|s| s.at_ms > spec.start_ms));
            for step in schedule.steps() {
                if let Fault::ClockJump { delta_ms, .. } = step.fault {
                    assert!((spec.clock_jump_ms.0..=spec.clock_jump_ms.1).contains(&delta_ms));
                }
            }
        }
    }

    #[test]
    fn mixing_drops_kinds_per_seed_but_never_all() {
        let spec = SwarmSpec::default();
        let mut only_some = false;
        for seed in 0..100 {
            let weights = spec.mixed_weights(&mut seeded(seed));
            assert!(weights.iter().any(|w| *w > 0), "seed {seed} kept no kind");
            assert!(weights.iter().zip(spec.weights).all(|(w, full)| *w == 0 || *w == full));
            only_some |= weights != spec.weights;
        }
        assert!(only_some, "no seed dropped a kind");
    }

    #[test]
    fn a_kill_with_restart_after_is_followed_by_its_restart() {
        let mut spec = SwarmSpec { mix: false, restart_after_ms: Some((100, 3_000)), ..SwarmSpec::default() };
        spec.weights = [0; KINDS.len()];
        *spec.weight_mut("kill").unwrap() = 1;
        let schedule = spec.draw(&mut seeded(3), &names("b", 3), &[]);
        let steps = schedule.steps();
        assert_eq!(steps.len() % 2, 0);
        for pair in steps.chunks(2) {
            let (Fault::Kill { node: killed }, Fault::Restart { node: restarted }) = (&pair[0].fault, &pair[1].fault)
            else {
                panic!("{pair:?}")
            };
            assert_eq!(killed, restarted);
            assert!((100..=3_000).contains(&(pair[1].at_ms - pair[0].at_ms)));
        }
    }
}
