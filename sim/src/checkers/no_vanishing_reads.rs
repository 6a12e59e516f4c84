//! NoVanishingReads: a record a consumer has seen is never taken back — the final audit
//! still finds it at the same offset (Kafka's high watermark promise: consumers read only
//! what will not be truncated).

use std::collections::BTreeMap;

use seedlog::events::{AuditDone, RecordAudited, RecordConsumed};

use super::Offset;
use crate::checker::{Checker, Violation};
use crate::trace::TraceEvent;

const NAME: &str = "NoVanishingReads";

/// Records consumers saw, and the audit.
#[derive(Default)]
pub struct NoVanishingReads {
    consumed: BTreeMap<Offset, (String, u64)>,
    audited: BTreeMap<Offset, String>,
    audit_done: bool,
}

impl Checker for NoVanishingReads {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        if let Some(read) = ev.parse::<RecordConsumed>() {
            let at = Offset::new(&read.topic, read.partition, read.offset);
            self.consumed.entry(at).or_insert((read.value, ev.time_ns));
        } else if let Some(audited) = ev.parse::<RecordAudited>() {
            self.audited.insert(Offset::new(&audited.topic, audited.partition, audited.offset), audited.value);
        } else if ev.parse::<AuditDone>().is_some() {
            self.audit_done = true;
        }
    }

    fn finish(&mut self) -> Vec<Violation> {
        if !self.audit_done {
            return Vec::new(); // AckedRecordsSurvive reports the unfinished audit
        }
        self.consumed
            .iter()
            .filter(|(at, (value, _))| self.audited.get(at) != Some(value))
            .map(|(at, (value, time_ns))| {
                Violation::new(
                    NAME,
                    *time_ns,
                    format!("a consumer read {value:?} at {at}; the audit does not find it there"),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::event;

    fn consumed(offset: i64, value: &str) -> TraceEvent {
        event(&RecordConsumed { topic: "t".into(), partition: 1, offset, value: value.into() })
    }

    fn audited(offset: i64, value: &str) -> TraceEvent {
        event(&RecordAudited { topic: "t".into(), partition: 1, offset, value: value.into() })
    }

    fn run(events: &[TraceEvent]) -> Vec<Violation> {
        let mut checker = NoVanishingReads::default();
        events.iter().for_each(|e| checker.on_event(e));
        checker.finish()
    }

    fn done() -> TraceEvent {
        event(&AuditDone { topic: "t".into(), partition: 1, end_offset: 1 })
    }

    #[test]
    fn passes_when_every_read_is_still_there() {
        assert!(run(&[consumed(0, "a"), audited(0, "a"), done()]).is_empty());
    }

    #[test]
    fn fires_when_a_read_record_was_taken_back() {
        let found = run(&[consumed(0, "a"), consumed(1, "b"), audited(0, "a"), audited(1, "c"), done()]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("t-1 offset 1"), "{}", found[0].message);
    }
}
