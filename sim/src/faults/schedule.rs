//! A fault schedule: what a scripted timeline or a swarm draw amounts to for one seed — a
//! list of faults, each at a simulated time, with every random choice already made.
//!
//! Both kinds of scenario file end here: a script's ranges (`at = "5s..8s"`) are drawn, a
//! swarm's probabilities are drawn, and what is left is plain data. That is what makes a
//! run shrinkable and explorable: `cargo sim shrink` deletes steps of the schedule and
//! `cargo sim explore` moves, adds and swaps them, and either writes the result back as a
//! script (`[[faults.script]]` tables, [`FaultSchedule::to_toml`]) that replays it exactly.
//!
//! Invariants: steps are sorted by `at_ms` (ties keep their order); every duration and rate
//! is in range (rates in 0..=1).

use std::fmt::Write as _;
use std::time::Duration;

use super::target::Target;

/// One fault action. Roles in its targets are resolved when it runs.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Crash the nodes at the same instant (SIGKILL and a disk crash; several nodes at once
    /// is a power loss).
    Kill { node: Target },
    /// Start killed nodes again (running ones are left alone).
    Restart { node: Target },
    /// Split the network into groups that cannot reach each other; nodes in no group (the
    /// clients, unless named) reach everyone.
    Partition { groups: Vec<Vec<Target>> },
    /// Stop packets from every `from` node to every `to` node (the other way still flows).
    Cut { from: Target, to: Target },
    /// Make the links from `from` to `to` stall for `delay` at a time (see `network.rs`).
    Lag { from: Target, to: Target, delay: Duration },
    /// Freeze the nodes (SIGSTOP, a long GC pause) until resumed or healed.
    Pause { node: Target },
    /// Let paused nodes run again.
    Resume { node: Target },
    /// Lift every partition, cut, lag, pause and held fault point.
    Heal,
    /// Step the nodes' wall clocks by `delta_ms` (NTP stepping, a VM resuming).
    ClockJump { node: Target, delta_ms: i64 },
    /// Set the nodes' wall clocks `skew_ms` off the true time.
    ClockSkew { node: Target, skew_ms: i64 },
    /// Make the nodes' disks fail this share of fsyncs (losing what they would have synced).
    FailFsyncs { node: Target, rate: f64 },
    /// Make the nodes' disks return reads with one bit flipped at this rate.
    CorruptReads { node: Target, rate: f64 },
    /// Fill the nodes' disks: at most `free_bytes` more may be written (ENOSPC after).
    FillDisk { node: Target, free_bytes: u64 },
    /// Give the nodes back their usual disks (no injected fsync errors, bit flips or limit).
    HealDisk { node: Target },
    /// Wait until every partition has a leader and a full ISR, or `bound` passed.
    AwaitConvergence { bound: Duration },
    /// Kill the node at its next fsync's start (`log_flush_started`), `delay_us` after it.
    KillDuringFsync { node: Target, delay_us: u64 },
    /// Cut the link from the node (a leader) to a follower right after it answers that
    /// follower's fetch with data.
    CutAfterFetchAnswer { node: Target },
    /// Restart the next controller that starts an election, as it starts it.
    RestartAtElectionStart,
}

impl Fault {
    /// The action's name in scenario files and the trace.
    pub fn action(&self) -> &'static str {
        match self {
            Fault::Kill { .. } => "kill",
            Fault::Restart { .. } => "restart",
            Fault::Partition { .. } => "partition",
            Fault::Cut { .. } => "cut",
            Fault::Lag { .. } => "lag",
            Fault::Pause { .. } => "pause",
            Fault::Resume { .. } => "resume",
            Fault::Heal => "heal",
            Fault::ClockJump { .. } => "clock_jump",
            Fault::ClockSkew { .. } => "clock_skew",
            Fault::FailFsyncs { .. } => "fail_fsyncs",
            Fault::CorruptReads { .. } => "corrupt_reads",
            Fault::FillDisk { .. } => "fill_disk",
            Fault::HealDisk { .. } => "heal_disk",
            Fault::AwaitConvergence { .. } => "await_convergence",
            Fault::KillDuringFsync { .. } => "kill_during_fsync",
            Fault::CutAfterFetchAnswer { .. } => "cut_after_fetch_answer",
            Fault::RestartAtElectionStart => "restart_at_election_start",
        }
    }

    /// Every action name, for error messages.
    pub const ACTIONS: [&'static str; 18] = [
        "kill",
        "restart",
        "partition",
        "cut",
        "lag",
        "pause",
        "resume",
        "heal",
        "clock_jump",
        "clock_skew",
        "fail_fsyncs",
        "corrupt_reads",
        "fill_disk",
        "heal_disk",
        "await_convergence",
        "kill_during_fsync",
        "cut_after_fetch_answer",
        "restart_at_election_start",
    ];

    /// The action's arguments as `key = value` TOML pairs, in a fixed order.
    pub fn arguments(&self) -> Vec<(&'static str, String)> {
        let text = |t: &Target| toml_string(&t.to_string());
        match self {
            Fault::Kill { node }
            | Fault::Restart { node }
            | Fault::Pause { node }
            | Fault::Resume { node }
            | Fault::HealDisk { node }
            | Fault::CutAfterFetchAnswer { node } => vec![("node", text(node))],
            Fault::KillDuringFsync { node, delay_us } => vec![("node", text(node)), ("delay_us", delay_us.to_string())],
            Fault::RestartAtElectionStart => vec![],
            Fault::Partition { groups } => {
                let groups: Vec<String> =
                    groups.iter().map(|g| format!("[{}]", g.iter().map(text).collect::<Vec<_>>().join(", "))).collect();
                vec![("groups", format!("[{}]", groups.join(", ")))]
            }
            Fault::Cut { from, to } => vec![("from", text(from)), ("to", text(to))],
            Fault::Lag { from, to, delay } => {
                vec![
                    ("from", text(from)),
                    ("to", text(to)),
                    ("delay", toml_string(&format_ms(delay.as_millis() as i64))),
                ]
            }
            Fault::Heal => vec![],
            Fault::ClockJump { node, delta_ms } => {
                vec![("node", text(node)), ("by", toml_string(&format_ms(*delta_ms)))]
            }
            Fault::ClockSkew { node, skew_ms } => {
                vec![("node", text(node)), ("skew", toml_string(&format_ms(*skew_ms)))]
            }
            Fault::FailFsyncs { node, rate } | Fault::CorruptReads { node, rate } => {
                vec![("node", text(node)), ("rate", format!("{rate:?}"))]
            }
            Fault::FillDisk { node, free_bytes } => vec![("node", text(node)), ("free_bytes", free_bytes.to_string())],
            Fault::AwaitConvergence { bound } => {
                vec![("bound", toml_string(&format_ms(bound.as_millis() as i64)))]
            }
        }
    }

    /// One line for people: `kill node=leader:events-0`.
    pub fn describe(&self) -> String {
        let mut line = self.action().to_string();
        for (key, value) in self.arguments() {
            let _ = write!(line, " {key}={}", value.trim_matches('"'));
        }
        line
    }
}

/// A fault at a simulated time (ms since the run started).
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduledFault {
    pub at_ms: u64,
    pub fault: Fault,
}

/// A seed's faults, in time order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultSchedule {
    steps: Vec<ScheduledFault>,
}

impl FaultSchedule {
    /// The schedule of `steps`, sorted by time (a stable sort: ties keep their order).
    pub fn new(mut steps: Vec<ScheduledFault>) -> Self {
        steps.sort_by_key(|s| s.at_ms);
        let schedule = FaultSchedule { steps };
        schedule.check_invariants();
        schedule
    }

    pub fn steps(&self) -> &[ScheduledFault] {
        &self.steps
    }

    pub fn len(&self) -> usize {
        self.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The schedule with only the steps whose indexes `keep` says to keep.
    pub fn retain(&self, keep: impl Fn(usize) -> bool) -> FaultSchedule {
        FaultSchedule::new(self.steps.iter().enumerate().filter(|(i, _)| keep(*i)).map(|(_, s)| s.clone()).collect())
    }

    /// The schedule as `[[faults.script]]` tables, which load back into the same schedule.
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        for step in &self.steps {
            let _ = writeln!(out, "[[faults.script]]");
            let _ = writeln!(out, "at = {}", toml_string(&format_ms(step.at_ms as i64)));
            let _ = writeln!(out, "action = {}", toml_string(step.fault.action()));
            for (key, value) in step.fault.arguments() {
                let _ = writeln!(out, "{key} = {value}");
            }
            out.push('\n');
        }
        out
    }

    fn check_invariants(&self) {
        assert!(self.steps.windows(2).all(|w| w[0].at_ms <= w[1].at_ms), "fault schedule out of time order");
        for step in &self.steps {
            if let Fault::FailFsyncs { rate, .. } | Fault::CorruptReads { rate, .. } = step.fault {
                assert!((0.0..=1.0).contains(&rate), "fault rate {rate} outside 0..=1");
            }
        }
    }
}

/// `1500` → `1500ms`, `3000` → `3s`, `-2000` → `-2s`: the shortest exact form.
pub fn format_ms(ms: i64) -> String {
    if ms != 0 && ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_kept_in_time_order() {
        let heal = |at_ms| ScheduledFault { at_ms, fault: Fault::Heal };
        let schedule = FaultSchedule::new(vec![heal(30), heal(10), heal(20)]);
        let times: Vec<u64> = schedule.steps().iter().map(|s| s.at_ms).collect();
        assert_eq!(times, [10, 20, 30]);
        assert_eq!(schedule.retain(|i| i != 1).steps().iter().map(|s| s.at_ms).collect::<Vec<_>>(), [10, 30]);
    }

    #[test]
    fn a_schedule_writes_script_tables() {
        let schedule = FaultSchedule::new(vec![
            ScheduledFault { at_ms: 5_000, fault: Fault::Kill { node: Target::AllBrokers } },
            ScheduledFault {
                at_ms: 5_250,
                fault: Fault::Partition {
                    groups: vec![vec![Target::Node("b1".into())], vec![Target::Node("b2".into()), Target::AnyBroker]],
                },
            },
        ]);
        let text = schedule.to_toml();
        assert!(text.contains("at = \"5s\"\naction = \"kill\"\nnode = \"all-brokers\"\n"), "{text}");
        assert!(text.contains("at = \"5250ms\"\naction = \"partition\"\ngroups = [[\"b1\"], [\"b2\", \"any-broker\"]]"));
    }

    #[test]
    fn format_ms_is_exact() {
        assert_eq!(format_ms(0), "0ms");
        assert_eq!(format_ms(1500), "1500ms");
        assert_eq!(format_ms(-3000), "-3s");
    }
}
