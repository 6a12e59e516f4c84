//! Which faults are in force, from the supervisor's events: killed or halted nodes (down
//! until restarted), paused nodes, a network partition, cut or lagged links, held fault
//! points. Shared by the liveness checkers, which judge only the last stretch without any
//! fault.

use std::collections::BTreeSet;

use crate::events::{
    FaultPointArmed, FaultPointReleased, LinkCut, LinkLagged, NetworkHealed, NetworkPartitioned, NodeHalted,
    NodeKilled, NodePaused, NodeRestarted, NodeResumed,
};
use crate::trace::TraceEvent;

/// The faults in force after the events seen so far.
#[derive(Debug, Default)]
pub struct FaultsInForce {
    pub down: BTreeSet<String>,
    pub paused: BTreeSet<String>,
    pub partitioned: bool,
    pub links_faulted: bool,
    /// Held fault points, as (node, point).
    pub held: BTreeSet<(String, String)>,
}

impl FaultsInForce {
    /// Takes in a fault event; `None` if `ev` is not one, else the node it took down (if any).
    pub fn on_event(&mut self, ev: &TraceEvent) -> Option<Option<String>> {
        if let Some(e) = ev.parse::<NodeKilled>() {
            self.paused.remove(&e.node);
            self.down.insert(e.node.clone());
            return Some(Some(e.node));
        } else if let Some(e) = ev.parse::<NodeHalted>() {
            self.down.insert(e.node.clone());
            return Some(Some(e.node));
        } else if let Some(e) = ev.parse::<NodeRestarted>() {
            self.down.remove(&e.node);
        } else if let Some(e) = ev.parse::<NodePaused>() {
            self.paused.insert(e.node);
        } else if let Some(e) = ev.parse::<NodeResumed>() {
            self.paused.remove(&e.node);
        } else if let Some(e) = ev.parse::<NetworkPartitioned>() {
            self.partitioned = e.groups.contains('|');
        } else if ev.parse::<LinkCut>().is_some() || ev.parse::<LinkLagged>().is_some() {
            self.links_faulted = true;
        } else if let Some(e) = ev.parse::<FaultPointArmed>() {
            self.held.insert((e.node, e.point));
        } else if let Some(e) = ev.parse::<FaultPointReleased>() {
            if !e.still_held {
                self.held.remove(&(e.node, e.point));
            }
        } else if ev.parse::<NetworkHealed>().is_some() {
            self.partitioned = false;
            self.links_faulted = false;
            self.paused.clear();
        } else {
            return None;
        }
        Some(None)
    }

    /// Whether any fault is in force.
    pub fn any(&self) -> bool {
        !self.down.is_empty()
            || !self.paused.is_empty()
            || self.partitioned
            || self.links_faulted
            || !self.held.is_empty()
    }

    /// The faults in force, for a message.
    pub fn describe(&self) -> String {
        format!(
            "down {:?}, paused {:?}, partitioned {}, cuts or lags {}, held {:?}",
            self.down, self.paused, self.partitioned, self.links_faulted, self.held
        )
    }
}
