//! Buggify on simulated nodes: which of seedlog's probabilistic fault points
//! (`seedlog::runtime::BuggifyPoint`) a run enables, and which fired.
//!
//! Model (FoundationDB's): a scenario turns buggify on with [`World::set_buggify`] before it
//! adds its nodes (it is off by default: the scripted stories replay exact event sequences).
//! On, each point is enabled for the whole run with probability [`ENABLE_PROBABILITY`],
//! drawn once from a source derived from the seed (not the world's, so the world's other
//! draws do not move); every node then gets the same enabled set and its own fork of that
//! source, from which each check at an enabled point fires with the point's probability.
//! The trace says which points the run enabled (`buggify_enabled`) and each firing
//! (`buggify_fired`, by the node); [`fired_points`] counts the firings of a trace.

use std::collections::{BTreeMap, BTreeSet};

use rand::Rng;
use seedlog::events::{BuggifyFired, Event};
use seedlog::runtime::{fork, seeded, BuggifyPoint, NodeRng};

use crate::events::BuggifyEnabled;
use crate::trace::TraceEvent;
use crate::world::World;

/// How likely each point is enabled in a run with buggify on.
pub const ENABLE_PROBABILITY: f64 = 0.25;

/// Mixed into the seed for buggify's own source.
const BUGGIFY_SEED_SALT: u64 = 0xB066_1F1E_D5EE_D000;

/// A world's buggify: off, or on with the points this run enabled.
pub(crate) struct BuggifyPlan {
    rng: NodeRng,
    enabled: Option<BTreeSet<BuggifyPoint>>,
}

impl BuggifyPlan {
    pub(crate) fn new(seed: u64) -> Self {
        BuggifyPlan { rng: seeded(seed ^ BUGGIFY_SEED_SALT), enabled: None }
    }

    /// Draws which points this run enables, each with [`ENABLE_PROBABILITY`].
    fn draw_enabled(&mut self) -> BTreeSet<BuggifyPoint> {
        BuggifyPoint::ALL.into_iter().filter(|_| self.rng.random_bool(ENABLE_PROBABILITY)).collect()
    }

    /// For a node being added: the enabled points and its source, if buggify is on.
    pub(crate) fn for_node(&mut self) -> Option<(BTreeSet<BuggifyPoint>, NodeRng)> {
        let enabled = self.enabled.clone()?;
        Some((enabled, fork(&mut self.rng)))
    }
}

impl World {
    /// Turns buggify on (each point enabled with [`ENABLE_PROBABILITY`] for this run) or off,
    /// for the nodes added from now on. Emits `buggify_enabled` with the enabled points.
    pub fn set_buggify(&self, on: bool) {
        let enabled = on.then(|| self.buggify.borrow_mut().draw_enabled());
        self.set_buggify_points(enabled);
    }

    /// Turns buggify on with exactly `enabled` points (`None`: off), for the nodes added
    /// from now on (tests that need a point on). Emits `buggify_enabled`.
    pub fn set_buggify_points(&self, enabled: Option<BTreeSet<BuggifyPoint>>) {
        let names: Vec<&str> = enabled.iter().flatten().map(|p| p.name()).collect();
        BuggifyEnabled { on: enabled.is_some(), points: names.join(",") }.emit();
        self.buggify.borrow_mut().enabled = enabled;
    }
}

/// The name of every buggify point, in `BuggifyPoint::ALL`'s order.
pub fn point_names() -> Vec<&'static str> {
    BuggifyPoint::ALL.iter().map(|p| p.name()).collect()
}

/// How often each point fired in a trace (one JSON event per line, as
/// `SeedOutcome::trace_jsonl`): every point is listed, 0 when it never fired. Lines that
/// are not events are skipped.
pub fn fired_points(trace_jsonl: &str) -> BTreeMap<String, u64> {
    let mut fired: BTreeMap<String, u64> = point_names().into_iter().map(|n| (n.to_string(), 0)).collect();
    for line in trace_jsonl.lines().filter(|l| l.contains(BuggifyFired::NAME)) {
        let Some(event) = TraceEvent::from_json_line(line) else { continue };
        if let Some(point) = event.parse::<BuggifyFired>() {
            *fired.entry(point.point).or_default() += 1;
        }
    }
    fired
}

/// Whether the run of this trace had buggify on.
pub fn was_on(trace_jsonl: &str) -> bool {
    trace_jsonl
        .lines()
        .filter(|l| l.contains(BuggifyEnabled::NAME))
        .filter_map(TraceEvent::from_json_line)
        .filter_map(|event| event.parse::<BuggifyEnabled>())
        .any(|enabled| enabled.on)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fired_points_counts_firings_and_lists_dead_points() {
        let trace = [
            r#"{"time_ns":1,"node":"b1","name":"buggify_fired","fields":{"point":"fsync_slow"}}"#,
            r#"{"time_ns":2,"node":"b2","name":"log_flushed","fields":{"dir":"d","recovery_point":3}}"#,
            r#"{"time_ns":3,"node":"b2","name":"buggify_fired","fields":{"point":"fsync_slow"}}"#,
            r#"{"time_ns":4,"node":"b3","name":"buggify_fired","fields":{"point":"fetch_cut_short"}}"#,
        ]
        .join("\n");
        let fired = fired_points(&trace);
        assert_eq!(fired.len(), BuggifyPoint::ALL.len());
        assert_eq!(fired["fsync_slow"], 2);
        assert_eq!(fired["fetch_cut_short"], 1);
        assert_eq!(fired["fsync_fail"], 0);
    }

    #[test]
    fn a_plan_enables_the_same_points_for_a_seed() {
        let draw = |seed| BuggifyPlan::new(seed).draw_enabled();
        assert_eq!(draw(5), draw(5));
        let differing = (0..20).filter(|s| draw(*s) != draw(s + 1)).count();
        assert!(differing > 10, "seeds should draw different mixes");
        assert!(BuggifyPlan::new(1).for_node().is_none(), "off by default");
    }
}
