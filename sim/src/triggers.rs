//! Triggers: faults aimed at the moments that matter. The supervisor waits for a traced
//! event (an fsync starting on a node, a fetch answer leaving a leader, an election
//! starting) and injects its fault then, instead of at a uniformly random time that rarely
//! lands in such a window.
//!
//! How: the run's [`TraceRecorder`](crate::trace::TraceRecorder) sees every event
//! synchronously, as it is emitted; it feeds its [`Triggers`], a registry of armed waits
//! shared (in an `Arc`) by the recorder and the run's [`World`]. An event that matches an
//! armed wait fills it and wakes its waiter (a tokio `Notify`, which keeps the wake-up if the
//! waiter is not yet waiting), so the supervisor runs at the same simulated instant as the
//! event, before time moves on: a node whose fsync just started (with a disk latency above
//! zero) is still inside it. The registry is per run, never global: runs on other threads of
//! the process have their own.
//!
//! A wait is armed when [`World::next_event`] is called, not when its future is first
//! polled, so an event between the call and the `await` is not missed; dropping the future
//! disarms it.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::trace::{TraceEvent, TraceLayer};
use crate::world::World;

/// What an armed wait accepts, besides its name and node.
type Filter = Box<dyn Fn(&TraceEvent) -> bool + Send + Sync>;

/// The armed waits of one run.
///
/// Invariants: a wait is in `armed` until it matched an event or its future was dropped;
/// a matched wait holds exactly the first event it matched.
#[derive(Clone, Default)]
pub struct Triggers {
    armed: Arc<Mutex<Vec<Arc<Armed>>>>,
}

struct Armed {
    name: String,
    node: Option<String>,
    filter: Option<Filter>,
    matched: Mutex<Option<TraceEvent>>,
    wake: Notify,
}

impl Armed {
    fn accepts(&self, event: &TraceEvent) -> bool {
        event.name == self.name
            && self.node.as_ref().is_none_or(|node| *node == event.node)
            && self.filter.as_ref().is_none_or(|filter| filter(event))
    }

    fn take(&self) -> Option<TraceEvent> {
        self.matched.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

impl Triggers {
    /// The triggers of the run whose trace layer is this thread's default subscriber (every
    /// run's supervisor runs so); an unfed registry when there is none (no event will ever
    /// match it).
    pub fn current() -> Triggers {
        tracing::dispatcher::get_default(|dispatch| dispatch.downcast_ref::<TraceLayer>().map(TraceLayer::triggers))
            .unwrap_or_default()
    }

    /// Hands `event` to the armed waits: each one it matches is filled, woken and disarmed.
    pub(crate) fn feed(&self, event: &TraceEvent) {
        let mut armed = self.lock();
        if armed.is_empty() {
            return;
        }
        armed.retain(|wait| {
            if !wait.accepts(event) {
                return true;
            }
            *wait.matched.lock().unwrap_or_else(|p| p.into_inner()) = Some(event.clone());
            wait.wake.notify_one();
            false
        });
    }

    /// How many waits are armed.
    pub fn armed(&self) -> usize {
        self.lock().len()
    }

    fn arm(&self, name: &str, node: Option<&str>, filter: Option<Filter>) -> NextEvent {
        let wait = Arc::new(Armed {
            name: name.to_string(),
            node: node.map(str::to_string),
            filter,
            matched: Mutex::new(None),
            wake: Notify::new(),
        });
        self.lock().push(wait.clone());
        NextEvent { triggers: self.clone(), wait }
    }

    fn disarm(&self, wait: &Arc<Armed>) {
        self.lock().retain(|armed| !Arc::ptr_eq(armed, wait));
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Arc<Armed>>> {
        self.armed.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One armed wait; [`NextEvent::wait`] resolves with the event it matched.
pub struct NextEvent {
    triggers: Triggers,
    wait: Arc<Armed>,
}

impl NextEvent {
    /// The first matching event traced since the wait was armed.
    pub async fn wait(self) -> TraceEvent {
        loop {
            if let Some(event) = self.wait.take() {
                return event;
            }
            self.wait.wake.notified().await;
        }
    }
}

impl NextEvent {
    /// The first matching event within `timeout_ms` of simulated time, or `None`.
    pub async fn within(self, timeout_ms: u64) -> Option<TraceEvent> {
        tokio::time::timeout(std::time::Duration::from_millis(timeout_ms), self.wait()).await.ok()
    }
}

impl Drop for NextEvent {
    fn drop(&mut self) {
        self.triggers.disarm(&self.wait);
    }
}

impl World {
    /// Arms a wait for the next traced event named `name`, emitted by `node` if given (the
    /// trace's node: a world node's name, or `sim` for the supervisor).
    pub fn next_event(&self, name: &str, node: Option<&str>) -> NextEvent {
        self.triggers().arm(name, node, None)
    }

    /// Like [`World::next_event`], for an event that also passes `filter`.
    pub fn next_event_where(
        &self,
        name: &str,
        node: Option<&str>,
        filter: impl Fn(&TraceEvent) -> bool + Send + Sync + 'static,
    ) -> NextEvent {
        self.triggers().arm(name, node, Some(Box::new(filter)))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn event(name: &str, node: &str, time_ns: u64) -> TraceEvent {
        TraceEvent { time_ns, node: node.into(), name: name.into(), fields: BTreeMap::new() }
    }

    #[test]
    fn a_wait_takes_the_first_matching_event_and_disarms() {
        let triggers = Triggers::default();
        let any_node = triggers.arm("log_flush_started", None, None);
        let on_b2 = triggers.arm("log_flush_started", Some("b2"), None);
        let filtered = triggers.arm("log_flush_started", None, Some(Box::new(|e: &TraceEvent| e.time_ns > 5)));
        assert_eq!(triggers.armed(), 3);
        triggers.feed(&event("log_flushed", "b1", 1));
        triggers.feed(&event("log_flush_started", "b1", 2));
        assert_eq!(triggers.armed(), 2, "the node-less wait matched");
        triggers.feed(&event("log_flush_started", "b2", 3));
        triggers.feed(&event("log_flush_started", "b2", 9));
        assert_eq!(triggers.armed(), 0);
        assert_eq!(any_node.wait.take().map(|e| e.time_ns), Some(2));
        assert_eq!(on_b2.wait.take().map(|e| e.time_ns), Some(3));
        assert_eq!(filtered.wait.take().map(|e| e.time_ns), Some(9));
    }

    #[test]
    fn dropping_a_wait_disarms_it() {
        let triggers = Triggers::default();
        let wait = triggers.arm("x", None, None);
        assert_eq!(triggers.armed(), 1);
        drop(wait);
        assert_eq!(triggers.armed(), 0);
    }
}
