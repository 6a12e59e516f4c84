//! Runs a fault schedule against a simulated cluster, and lifts every fault at the end.
//!
//! Each step waits for its time (restarting nodes that halted meanwhile, as a process
//! supervisor would), resolves its targets against what the inspector observes, acts, and
//! emits `fault_step` with what it did. A step with nothing to do (a vacant role, a node that
//! is already down, a pause of a killed node) is skipped, not an error: a shrunk or mutated
//! schedule may well contain such steps.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use seedlog::events::Event;
use seedlog::runtime::{MemDiskFaults, NodeRng};
use tokio::time::Instant;

use super::schedule::{Fault, FaultSchedule};
use super::target::Target;
use super::triggered;
use crate::cluster::SimCluster;
use crate::events::FaultStep;
use crate::world::World;

/// What runs a schedule: the world, its cluster, and what lifting needs to know.
pub struct FaultRunner<'a> {
    world: &'a World,
    cluster: &'a SimCluster,
    /// The disks' usual faults (the scenario's), restored by `heal_disk` and at the end.
    usual_disk: MemDiskFaults,
    /// Disks whose faults a step changed, with their current faults.
    disks: BTreeMap<String, MemDiskFaults>,
    rng: NodeRng,
    start: Instant,
}

impl<'a> FaultRunner<'a> {
    /// A runner whose step times count from `start`; `rng` draws roles like `any-broker`.
    pub fn new(
        world: &'a World,
        cluster: &'a SimCluster,
        usual_disk: MemDiskFaults,
        rng: NodeRng,
        start: Instant,
    ) -> Self {
        FaultRunner { world, cluster, usual_disk, disks: BTreeMap::new(), rng, start }
    }

    /// Runs every step of `schedule` at its time.
    pub async fn run(&mut self, schedule: &FaultSchedule) {
        for (index, step) in schedule.steps().iter().enumerate() {
            self.sleep_until(step.at_ms).await;
            let nodes = self.apply(&step.fault).await;
            let skipped = nodes.is_none();
            FaultStep {
                index: index as u64,
                at_ms: step.at_ms,
                fault: step.fault.describe(),
                nodes: nodes.unwrap_or_default().join(","),
                skipped,
            }
            .emit();
        }
    }

    /// Sleeps until `at_ms` after the start (at once if that has passed).
    pub async fn sleep_until(&self, at_ms: u64) {
        let due = self.start + Duration::from_millis(at_ms);
        let now = seedlog::runtime::now();
        if due > now {
            let ms = due.duration_since(now).as_millis() as u64;
            self.world.sleep_restarting(&self.cluster.halts, ms).await;
        }
    }

    /// Lifts every fault: disks back to their usual faults, the network healed (pauses and
    /// held points too), every killed node restarted.
    pub fn lift_all(&mut self) {
        for node in std::mem::take(&mut self.disks).into_keys() {
            self.world.set_disk_faults(&node, self.usual_disk.clone());
        }
        self.world.heal();
        for node in self.world.node_names() {
            if self.world.is_killed(&node) {
                self.world.restart(&node);
            }
        }
    }

    /// Does `fault`; the nodes it acted on, or `None` if it had nothing to do.
    async fn apply(&mut self, fault: &Fault) -> Option<Vec<String>> {
        let world = self.world;
        let acted = match fault {
            Fault::Kill { node } => self.each(node, |n| !world.is_killed(n), |n| world.kill(n)),
            Fault::Restart { node } => self.each(node, |n| world.is_killed(n), |n| world.restart(n)),
            Fault::Pause { node } => {
                self.each(node, |n| !world.is_killed(n) && !world.is_paused(n), |n| world.pause(n))
            }
            Fault::Resume { node } => self.each(node, |n| world.is_paused(n), |n| world.resume(n)),
            Fault::Partition { groups } => self.partition(groups),
            Fault::Cut { from, to } => self.pairs(from, to, |a, b| world.cut_one_way(a, b)),
            Fault::Lag { from, to, delay } => self.pairs(from, to, |a, b| world.lag(a, b, *delay)),
            Fault::Heal => {
                world.heal();
                vec![]
            }
            Fault::ClockJump { node, delta_ms } => self.each(node, |_| true, |n| world.jump_clock(n, *delta_ms)),
            Fault::ClockSkew { node, skew_ms } => self.each(node, |_| true, |n| world.skew_clock(n, *skew_ms)),
            Fault::FailFsyncs { node, rate } => self.disk(node, |f, _| f.sync_error_rate = *rate),
            Fault::CorruptReads { node, rate } => self.disk(node, |f, _| f.bit_flip_rate = *rate),
            Fault::FillDisk { node, free_bytes } => {
                self.disk(node, |f, used| f.capacity_bytes = Some(used + free_bytes))
            }
            Fault::HealDisk { node } => {
                let usual = self.usual_disk.clone();
                self.disk(node, |f, _| *f = usual.clone())
            }
            Fault::AwaitConvergence { bound } => {
                self.cluster.wait_converged(world, bound.as_millis() as u64).await;
                vec![]
            }
            Fault::KillDuringFsync { node, delay_us } => {
                let mut killed = Vec::new();
                for n in self.resolve(node) {
                    if triggered::kill_during_fsync(world, &n, *delay_us).await {
                        killed.push(n);
                    }
                }
                killed
            }
            Fault::CutAfterFetchAnswer { node } => {
                let mut cut = Vec::new();
                for n in self.resolve(node) {
                    if let Some(follower) = triggered::cut_after_fetch_answer(world, &n).await {
                        cut.extend([n, follower]);
                    }
                }
                cut
            }
            Fault::RestartAtElectionStart => {
                triggered::restart_at_election_start(world, &self.cluster.controllers).await.into_iter().collect()
            }
        };
        let no_targets = !matches!(fault, Fault::Heal | Fault::AwaitConvergence { .. });
        (!(no_targets && acted.is_empty())).then_some(acted)
    }

    fn resolve(&mut self, target: &Target) -> Vec<String> {
        let mut nodes = target.resolve(self.cluster, &mut self.rng);
        let known: BTreeSet<String> = self.world.node_names().into_iter().collect();
        nodes.retain(|n| known.contains(n));
        nodes
    }

    /// `act` on each node of `target` for which `applies` holds.
    fn each(&mut self, target: &Target, applies: impl Fn(&str) -> bool, act: impl Fn(&str)) -> Vec<String> {
        let nodes: Vec<String> = self.resolve(target).into_iter().filter(|n| applies(n)).collect();
        nodes.iter().for_each(|n| act(n));
        nodes
    }

    /// `act` on every link from a `from` node to a different `to` node.
    fn pairs(&mut self, from: &Target, to: &Target, act: impl Fn(&str, &str)) -> Vec<String> {
        let (from, to) = (self.resolve(from), self.resolve(to));
        let mut acted = BTreeSet::new();
        for a in &from {
            for b in to.iter().filter(|b| *b != a) {
                act(a, b);
                acted.insert(a.clone());
                acted.insert(b.clone());
            }
        }
        acted.into_iter().collect()
    }

    /// Partitions into the resolved groups (a node named twice stays in its first group;
    /// `rest` stands for the nodes no other group names); skipped unless at least two groups
    /// are left non-empty.
    fn partition(&mut self, groups: &[Vec<Target>]) -> Vec<String> {
        let mut named: BTreeSet<String> = BTreeSet::new();
        let mut resolved_targets: Vec<Vec<Vec<String>>> = Vec::new();
        for group in groups {
            let group: Vec<Vec<String>> =
                group.iter().map(|t| if *t == Target::Rest { Vec::new() } else { self.resolve(t) }).collect();
            named.extend(group.iter().flatten().cloned());
            resolved_targets.push(group);
        }
        let rest: Vec<String> = self.resolve(&Target::Rest).into_iter().filter(|n| !named.contains(n)).collect();
        let mut seen = BTreeSet::new();
        let mut resolved: Vec<Vec<String>> = Vec::new();
        for (group, targets) in groups.iter().zip(resolved_targets) {
            let mut nodes = Vec::new();
            for (target, resolved_nodes) in group.iter().zip(targets) {
                let these = if *target == Target::Rest { rest.clone() } else { resolved_nodes };
                for node in these {
                    if seen.insert(node.clone()) {
                        nodes.push(node);
                    }
                }
            }
            if !nodes.is_empty() {
                resolved.push(nodes);
            }
        }
        if resolved.len() < 2 {
            return vec![];
        }
        let groups: Vec<Vec<&str>> = resolved.iter().map(|g| g.iter().map(String::as_str).collect()).collect();
        let groups: Vec<&[&str]> = groups.iter().map(Vec::as_slice).collect();
        self.world.partition(&groups);
        resolved.concat()
    }

    /// Changes the disk faults of each node of `target` with `change(faults, used_bytes)`.
    fn disk(&mut self, target: &Target, change: impl Fn(&mut MemDiskFaults, u64)) -> Vec<String> {
        let nodes = self.resolve(target);
        for node in &nodes {
            let mut faults = self.disks.get(node).cloned().unwrap_or_else(|| self.usual_disk.clone());
            change(&mut faults, self.world.disk(node).used_bytes());
            self.world.set_disk_faults(node, faults.clone());
            self.disks.insert(node.clone(), faults);
        }
        nodes
    }
}
