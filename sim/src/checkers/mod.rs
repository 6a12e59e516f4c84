//! The simulator's checkers, one per file, each opening with its one-line definition.
//!
//! Checkers read events through their declared types (`TraceEvent::parse`), never by name
//! strings, so a renamed event or field breaks the build instead of silencing a checker.

mod acked_records_survive;
mod no_vanishing_reads;
mod one_record_per_offset;
mod synced_prefix_intact;

use std::fmt;

pub use acked_records_survive::AckedRecordsSurvive;
pub use no_vanishing_reads::NoVanishingReads;
pub use one_record_per_offset::OneRecordPerOffset;
pub use synced_prefix_intact::SyncedPrefixIntact;

/// One offset of one topic partition, the key of the record checkers.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Offset {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

impl Offset {
    pub fn new(topic: &str, partition: i32, offset: i64) -> Self {
        Offset { topic: topic.to_string(), partition, offset }
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{} offset {}", self.topic, self.partition, self.offset)
    }
}

/// Synthetic trace events for the checkers' unit tests.
#[cfg(test)]
pub(crate) mod test_support {
    use std::sync::{Arc, Mutex};

    use seedlog::events::Event;
    use tracing_subscriber::layer::SubscriberExt;

    use crate::checker::{Checker, Violation};
    use crate::trace::{TraceEvent, TraceRecorder};

    /// A checker that keeps what it sees.
    struct Keep(Arc<Mutex<Vec<TraceEvent>>>);

    impl Checker for Keep {
        fn name(&self) -> &'static str {
            "Keep"
        }
        fn on_event(&mut self, ev: &TraceEvent) {
            self.0.lock().unwrap().push(ev.clone());
        }
        fn finish(&mut self) -> Vec<Violation> {
            Vec::new()
        }
    }

    /// `event` as a run's checkers see it: emitted through `tracing` into a trace recorder.
    pub fn event<E: Event>(event: &E) -> TraceEvent {
        event_on("n1", event)
    }

    /// Like [`event`], as if a node with this name emitted it.
    pub fn event_on<E: Event>(node: &str, event: &E) -> TraceEvent {
        let kept = Arc::new(Mutex::new(Vec::new()));
        let recorder = TraceRecorder::new(vec![Box::new(Keep(kept.clone()))]);
        let subscriber = tracing_subscriber::registry().with(recorder.layer());
        tracing::subscriber::with_default(subscriber, || event.emit());
        let mut traced = kept.lock().unwrap().pop().expect("the event was traced");
        traced.node = node.to_string();
        traced
    }
}
