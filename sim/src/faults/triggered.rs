//! Faults aimed at the moments that matter: each waits for an event of the trace (through
//! [`World::next_event`], fed synchronously by the trace layer) and strikes right after it.
//!
//! A crash at a uniformly random time rarely lands in the microseconds between an append
//! and its fsync, or right after a fetch answer leaves; these do by construction. Each waits
//! at most [`TRIGGER_WAIT_MS`] for its moment and reports what it did as `triggered_fault`
//! (`fault = "none"` when the moment never came or the node was down by then). Measured in
//! docs/simulator-faults.md: over swarm seeds, kills inside an fsync went from about one in
//! a hundred random kills to most triggered ones.

use std::time::Duration;

use seedlog::events::Event;

use crate::cluster::broker_name;
use crate::events::TriggeredFault;
use crate::world::World;

/// How long a triggered fault waits for its moment before it gives up, ms.
pub const TRIGGER_WAIT_MS: u64 = 10_000;

/// Kills `broker` while one of its logs' fsyncs is in flight: at its next
/// `log_flush_started`, at once or after `delay_us` (the disk's latency keeps the fsync
/// running a little while; a longer sleep may outlast it). Whether it killed.
pub async fn kill_during_fsync(world: &World, broker: &str, delay_us: u64) -> bool {
    if world.is_killed(broker) || world.is_paused(broker) {
        return false;
    }
    let found = world.next_event("log_flush_started", Some(broker)).within(TRIGGER_WAIT_MS).await.is_some();
    if delay_us > 0 {
        tokio::time::sleep(Duration::from_micros(delay_us)).await;
    }
    let kill = found && !world.is_killed(broker) && !world.is_paused(broker);
    if kill {
        world.kill(broker);
    }
    let fault = if kill { "kill" } else { "none" }.to_string();
    TriggeredFault { fault, node: broker.to_string(), waited_for: "log_flush_started".into(), found }.emit();
    kill
}

/// Cuts the link from leader `broker` to a follower just after the leader answered that
/// follower's fetch with data (its next `fetch_served` for a follower): the follower got this
/// answer and hears nothing more, while the leader still hears its fetches. The follower it
/// cut, if any.
pub async fn cut_after_fetch_answer(world: &World, broker: &str) -> Option<String> {
    let served = world
        .next_event_where("fetch_served", Some(broker), |e| {
            e.i64("replica_id").is_some_and(|id| id >= 0) && e.i64("error_code") == Some(0)
        })
        .within(TRIGGER_WAIT_MS)
        .await;
    let follower = served.as_ref().and_then(|e| e.i64("replica_id")).map(|id| broker_name(id as i32));
    let cut = follower.filter(|f| f != broker);
    if let Some(follower) = &cut {
        world.cut_one_way(broker, follower);
    }
    let fault = if cut.is_some() { "cut" } else { "none" }.to_string();
    TriggeredFault { fault, node: broker.to_string(), waited_for: "fetch_served".into(), found: served.is_some() }
        .emit();
    cut
}

/// Restarts the next of `controllers` that starts an election, just as it does: its
/// `raft_transition` to Prospective (KIP-996's pre-vote) or Candidate, reported once the state
/// it entered is durable. The controller it restarted, if any.
pub async fn restart_at_election_start(world: &World, controllers: &[String]) -> Option<String> {
    let voters: Vec<String> = controllers.to_vec();
    let started = world
        .next_event_where("raft_transition", None, move |e| {
            matches!(e.str("to_state"), Some("Prospective" | "Candidate")) && voters.contains(&e.node)
        })
        .within(TRIGGER_WAIT_MS)
        .await;
    let node = started.as_ref().map(|e| e.node.clone());
    let restarted = node.clone().filter(|n| !world.is_killed(n));
    if let Some(node) = &restarted {
        world.restart(node);
    }
    let fault = if restarted.is_some() { "restart" } else { "none" }.to_string();
    let found = started.is_some();
    TriggeredFault { fault, node: node.unwrap_or_default(), waited_for: "raft_transition".into(), found }.emit();
    restarted
}
