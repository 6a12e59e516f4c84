//! SyncedPrefixIntact: after a crash, every batch below the log's recovery point at the
//! crash is read back byte-identical at its offset, every batch read back is one written at
//! that offset, and offsets run contiguously from the log start to the log end.
//!
//! Events (from one node's log and workload): [`BatchAppending`] (before the append, as a
//! crash may make it durable before it returns), [`LogFlushed`], [`LogStartOffsetAdvanced`],
//! [`NodeKilled`] (the supervisor's), [`LogRecovered`], [`BatchRead`], [`ReadBackDone`]. At
//! the end, at least one read-back must have completed after the last crash.

use std::collections::BTreeMap;

use seedlog::events::{LogFlushed, LogRecovered, LogStartOffsetAdvanced};

use crate::checker::{Checker, Violation};
use crate::events::{BatchAppending, BatchRead, NodeKilled, ReadBackDone};
use crate::trace::TraceEvent;

const NAME: &str = "SyncedPrefixIntact";

/// What one written batch looked like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Written {
    last_offset: i64,
    digest: u64,
}

/// The checker's model of one node's log.
///
/// Invariants:
/// - `written` holds the batches of the current lineage: appended, not truncated away,
///   keyed by base offset and contiguous;
/// - `durable_at_crash` is set from a crash until the recovery that follows it.
pub struct SyncedPrefixIntact {
    node: String,
    written: BTreeMap<i64, Written>,
    recovery_point: i64,
    durable_at_crash: Option<i64>,
    /// The offset the read-back in progress must show next, and where it must end.
    reading: Option<(i64, i64)>,
    read_back_after_last_crash: bool,
    violations: Vec<Violation>,
}

impl SyncedPrefixIntact {
    pub fn new(node: &str) -> Self {
        SyncedPrefixIntact {
            node: node.to_string(),
            written: BTreeMap::new(),
            recovery_point: 0,
            durable_at_crash: None,
            reading: None,
            read_back_after_last_crash: false,
            violations: Vec::new(),
        }
    }

    fn violation(&mut self, ev: &TraceEvent, message: String) {
        self.violations.push(Violation::new(NAME, ev.time_ns, message));
    }

    fn on_recovered(&mut self, ev: &TraceEvent, recovered: LogRecovered) {
        let (start, end) = (recovered.log_start_offset, recovered.log_end_offset);
        let durable = self.durable_at_crash.take().unwrap_or(self.recovery_point);
        if end < durable {
            let lost: Vec<i64> = self.written.range(end..durable).map(|(base, _)| *base).collect();
            self.violation(
                ev,
                format!("recovered log ends at {end} below the recovery point {durable} at the crash; synced batches lost: {lost:?}"),
            );
        }
        // What lies at or above the new end was not synced and is legitimately gone.
        self.written.retain(|base, _| *base < end);
        self.written.retain(|_, w| w.last_offset >= start);
        self.recovery_point = end;
        self.reading = Some((start, end));
    }

    fn on_read(&mut self, ev: &TraceEvent, read: BatchRead) {
        let BatchRead { base_offset: base, last_offset: last, digest } = read;
        let Some((next, end)) = self.reading else {
            return self.violation(ev, format!("batch {base}..={last} read outside a read-back"));
        };
        if base != next {
            self.violation(ev, format!("read-back jumped from offset {next} to a batch at {base}"));
        }
        match self.written.get(&base) {
            Some(w) if *w == (Written { last_offset: last, digest }) => {}
            Some(w) => self.violation(
                ev,
                format!(
                    "batch at {base} read back as {base}..={last} digest {digest:x}, written as ..={} digest {:x}",
                    w.last_offset, w.digest
                ),
            ),
            None => self.violation(ev, format!("batch at {base}..={last} read back was never written there")),
        }
        self.reading = Some((last + 1, end));
    }

    fn on_read_done(&mut self, ev: &TraceEvent) {
        if let Some((next, end)) = self.reading.take() {
            if next != end {
                self.violation(ev, format!("read-back stopped at {next}, the log ends at {end}"));
            }
            self.read_back_after_last_crash = true;
        }
    }

    fn on_appending(&mut self, ev: &TraceEvent, appending: BatchAppending) {
        let BatchAppending { base_offset: base, last_offset: last, digest } = appending;
        let expected = self.written.values().next_back().map(|w| w.last_offset + 1);
        if expected.is_some_and(|next| next != base) {
            self.violation(ev, format!("batch appended at {base}, the log ended at {}", expected.unwrap_or(0)));
        }
        self.written.insert(base, Written { last_offset: last, digest });
    }
}

impl Checker for SyncedPrefixIntact {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        if let Some(killed) = ev.parse::<NodeKilled>() {
            if killed.node == self.node {
                self.durable_at_crash = Some(self.recovery_point);
                self.reading = None;
                self.read_back_after_last_crash = false;
            }
            return;
        }
        if ev.node != self.node {
            return;
        }
        if let Some(appending) = ev.parse::<BatchAppending>() {
            self.on_appending(ev, appending);
        } else if let Some(flushed) = ev.parse::<LogFlushed>() {
            self.recovery_point = flushed.recovery_point;
        } else if let Some(advanced) = ev.parse::<LogStartOffsetAdvanced>() {
            self.written.retain(|_, w| w.last_offset >= advanced.log_start_offset);
        } else if let Some(recovered) = ev.parse::<LogRecovered>() {
            self.on_recovered(ev, recovered);
        } else if let Some(read) = ev.parse::<BatchRead>() {
            self.on_read(ev, read);
        } else if ev.parse::<ReadBackDone>().is_some() {
            self.on_read_done(ev);
        }
    }

    fn finish(&mut self) -> Vec<Violation> {
        if !self.read_back_after_last_crash {
            let time_ns = self.violations.last().map_or(0, |v| v.time_ns);
            self.violations.push(Violation::new(NAME, time_ns, "no complete read-back after the last crash"));
        }
        std::mem::take(&mut self.violations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::{event, event_on};

    fn run(events: &[TraceEvent]) -> Vec<Violation> {
        let mut checker = SyncedPrefixIntact::new("n1");
        events.iter().for_each(|e| checker.on_event(e));
        checker.finish()
    }

    fn appending(base_offset: i64, last_offset: i64, digest: u64) -> TraceEvent {
        event(&BatchAppending { base_offset, last_offset, digest })
    }

    fn recovered(log_end_offset: i64) -> TraceEvent {
        event(&LogRecovered {
            dir: "/data".into(),
            log_start_offset: 0,
            log_end_offset,
            checkpointed_recovery_point: 0,
            segments_loaded: 1,
            segments_recovered: 1,
            segments_deleted: 0,
            truncated_bytes: 0,
        })
    }

    fn killed() -> TraceEvent {
        event_on("sim", &NodeKilled { node: "n1".into() })
    }

    #[test]
    fn passes_when_the_synced_prefix_reads_back() {
        let found = run(&[
            appending(0, 1, 7),
            appending(2, 2, 8),
            event(&LogFlushed { dir: "/data".into(), recovery_point: 2 }),
            killed(),
            recovered(2),
            event(&BatchRead { base_offset: 0, last_offset: 1, digest: 7 }),
            event(&ReadBackDone { log_end_offset: 2 }),
        ]);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn fires_when_a_synced_batch_is_lost_in_a_crash() {
        let found = run(&[
            appending(0, 1, 7),
            event(&LogFlushed { dir: "/data".into(), recovery_point: 2 }),
            killed(),
            recovered(0),
            event(&ReadBackDone { log_end_offset: 0 }),
        ]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("below the recovery point 2"), "{}", found[0].message);
    }

    #[test]
    fn fires_when_a_batch_reads_back_changed() {
        let found = run(&[
            appending(0, 1, 7),
            event(&LogFlushed { dir: "/data".into(), recovery_point: 2 }),
            killed(),
            recovered(2),
            event(&BatchRead { base_offset: 0, last_offset: 1, digest: 9 }),
            event(&ReadBackDone { log_end_offset: 2 }),
        ]);
        assert_eq!(found.len(), 1, "{found:?}");
    }

    #[test]
    fn fires_without_a_read_back_after_the_last_crash() {
        assert_eq!(run(&[appending(0, 0, 1), killed()]).len(), 1);
    }
}
