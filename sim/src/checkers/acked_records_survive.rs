//! AckedRecordsSurvive: every record a producer saw acknowledged with acks=all is read back
//! at its offset by the final audit ([`RecordAcked`] → [`RecordAudited`]), and the audit
//! reached every partition's end ([`AuditDone`]).

use std::collections::BTreeMap;

use seedlog::events::{AuditDone, RecordAcked, RecordAudited};

use super::Offset;
use crate::checker::{Checker, Violation};
use crate::trace::TraceEvent;

const NAME: &str = "AckedRecordsSurvive";

/// Acknowledged records and what the audit read.
///
/// Every acknowledgement is kept, also a later one at an offset already acknowledged: when a
/// loss lets the offset be written again, the first record's ack must still be judged (it
/// once was overwritten in this map, and a whole-cluster power loss went unreported here).
#[derive(Default)]
pub struct AckedRecordsSurvive {
    acked: BTreeMap<Offset, Vec<(String, u64)>>,
    audited: BTreeMap<Offset, String>,
    audit_done: bool,
    last_time_ns: u64,
}

impl Checker for AckedRecordsSurvive {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        self.last_time_ns = ev.time_ns;
        if let Some(acked) = ev.parse::<RecordAcked>() {
            if acked.acks == -1 {
                let at = Offset::new(&acked.topic, acked.partition, acked.offset);
                let acks = self.acked.entry(at).or_default();
                // A retried send acknowledged twice is one record.
                if !acks.iter().any(|(value, _)| *value == acked.value) {
                    acks.push((acked.value, ev.time_ns));
                }
            }
        } else if let Some(audited) = ev.parse::<RecordAudited>() {
            self.audited.insert(Offset::new(&audited.topic, audited.partition, audited.offset), audited.value);
        } else if ev.parse::<AuditDone>().is_some() {
            self.audit_done = true;
        }
    }

    fn finish(&mut self) -> Vec<Violation> {
        let mut violations = Vec::new();
        if !self.audit_done {
            violations.push(Violation::new(NAME, self.last_time_ns, "the final audit never finished"));
            return violations;
        }
        for (at, (value, acked_ns)) in self.acked.iter().flat_map(|(at, acks)| acks.iter().map(move |a| (at, a))) {
            match self.audited.get(at) {
                Some(read) if read == value => {}
                Some(read) => violations.push(Violation::new(
                    NAME,
                    *acked_ns,
                    format!("{at} was acked as {value:?} but reads back as {read:?}"),
                )),
                None => violations.push(Violation::new(
                    NAME,
                    *acked_ns,
                    format!("{at} ({value:?}) was acked with acks=all and is gone"),
                )),
            }
        }
        violations
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::event;

    fn acked(offset: i64, value: &str) -> TraceEvent {
        event(&RecordAcked { topic: "t".into(), partition: 0, offset, acks: -1, value: value.into() })
    }

    fn audited(offset: i64, value: &str) -> TraceEvent {
        event(&RecordAudited { topic: "t".into(), partition: 0, offset, value: value.into() })
    }

    fn run(events: &[TraceEvent]) -> Vec<Violation> {
        let mut checker = AckedRecordsSurvive::default();
        events.iter().for_each(|e| checker.on_event(e));
        checker.finish()
    }

    const DONE: fn() -> TraceEvent = || event(&AuditDone { topic: "t".into(), partition: 0, end_offset: 2 });

    #[test]
    fn passes_when_every_acked_record_is_audited() {
        assert!(run(&[acked(0, "a"), acked(1, "b"), audited(0, "a"), audited(1, "b"), DONE()]).is_empty());
    }

    #[test]
    fn fires_when_an_acked_record_is_gone_or_changed() {
        let found = run(&[acked(0, "a"), acked(1, "b"), audited(0, "x"), DONE()]);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].message.contains("reads back as \"x\""));
        assert!(found[1].message.contains("is gone"));
    }

    #[test]
    fn fires_when_an_offset_acked_twice_lost_its_first_record() {
        let found = run(&[acked(0, "a"), acked(0, "b"), audited(0, "b"), DONE()]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("acked as \"a\" but reads back as \"b\""), "{found:?}");
        assert!(run(&[acked(0, "a"), acked(0, "a"), audited(0, "a"), DONE()]).is_empty(), "a repeated ack");
    }

    #[test]
    fn fires_when_the_audit_never_finished() {
        assert_eq!(run(&[acked(0, "a"), audited(0, "a")]).len(), 1);
    }

    #[test]
    fn ignores_records_acked_with_acks_1() {
        let acks_1 = event(&RecordAcked { topic: "t".into(), partition: 0, offset: 0, acks: 1, value: "a".into() });
        assert!(run(&[acks_1, DONE()]).is_empty());
    }
}
