//! SyncedPrefixIntact: after a crash, every batch below the log's recovery point at the
//! crash is read back byte-identical at its offset, every batch read back is one written at
//! that offset, and offsets run contiguously from the log start to the log end.
//!
//! Events (from one node's log and workload): `batch_appending {base_offset, last_offset,
//! digest}` (before the append, as a crash may make it durable before it returns), `log_flushed {recovery_point}`, `log_start_offset_advanced {log_start_offset}`,
//! `node_killed {node}` (the supervisor's), `log_recovered {log_start_offset,
//! log_end_offset}`, `batch_read {base_offset, last_offset, digest}`, `read_back_done
//! {log_end_offset}`. At the end, at least one read-back must have completed after the
//! last crash.

use std::collections::BTreeMap;

use crate::checker::{Checker, Violation};
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

    fn on_recovered(&mut self, ev: &TraceEvent) {
        let (Some(start), Some(end)) = (ev.i64("log_start_offset"), ev.i64("log_end_offset")) else {
            return;
        };
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

    fn on_read(&mut self, ev: &TraceEvent) {
        let (Some(base), Some(last), Some(digest)) = (ev.i64("base_offset"), ev.i64("last_offset"), ev.u64("digest"))
        else {
            return;
        };
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

    fn on_appending(&mut self, ev: &TraceEvent) {
        let (Some(base), Some(last), Some(digest)) = (ev.i64("base_offset"), ev.i64("last_offset"), ev.u64("digest"))
        else {
            return;
        };
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
        if ev.name == "node_killed" {
            if ev.str("node") == Some(self.node.as_str()) {
                self.durable_at_crash = Some(self.recovery_point);
                self.reading = None;
                self.read_back_after_last_crash = false;
            }
            return;
        }
        if ev.node != self.node {
            return;
        }
        match ev.name.as_str() {
            "batch_appending" => self.on_appending(ev),
            "log_flushed" => self.recovery_point = ev.i64("recovery_point").unwrap_or(self.recovery_point),
            "log_start_offset_advanced" => {
                let start = ev.i64("log_start_offset").unwrap_or(0);
                self.written.retain(|_, w| w.last_offset >= start);
            }
            "log_recovered" => self.on_recovered(ev),
            "batch_read" => self.on_read(ev),
            "read_back_done" => self.on_read_done(ev),
            _ => {}
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
