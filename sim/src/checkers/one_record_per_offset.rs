//! OneRecordPerOffset: no offset of a partition ever holds two different records — across
//! acknowledgements, consumer reads and the audit, for the whole run.

use std::collections::BTreeMap;

use seedlog::events::{RecordAcked, RecordAudited, RecordConsumed};

use super::Offset;
use crate::checker::{Checker, Violation};
use crate::trace::TraceEvent;

const NAME: &str = "OneRecordPerOffset";

/// The first record seen at each offset, and what showed it.
#[derive(Default)]
pub struct OneRecordPerOffset {
    seen: BTreeMap<Offset, (String, &'static str)>,
    violations: Vec<Violation>,
}

impl Checker for OneRecordPerOffset {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        let (at, value, source) = if let Some(e) = ev.parse::<RecordAcked>() {
            (Offset::new(&e.topic, e.partition, e.offset), e.value, "ack")
        } else if let Some(e) = ev.parse::<RecordConsumed>() {
            (Offset::new(&e.topic, e.partition, e.offset), e.value, "consumer")
        } else if let Some(e) = ev.parse::<RecordAudited>() {
            (Offset::new(&e.topic, e.partition, e.offset), e.value, "audit")
        } else {
            return;
        };
        match self.seen.get(&at) {
            None => {
                self.seen.insert(at, (value, source));
            }
            Some((first, first_source)) if *first != value => {
                let message = format!("{at} held {first:?} ({first_source}) and now {value:?} ({source})");
                self.violations.push(Violation::new(NAME, ev.time_ns, message));
            }
            Some(_) => {}
        }
    }

    fn finish(&mut self) -> Vec<Violation> {
        std::mem::take(&mut self.violations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::event;

    fn run(events: &[TraceEvent]) -> Vec<Violation> {
        let mut checker = OneRecordPerOffset::default();
        events.iter().for_each(|e| checker.on_event(e));
        checker.finish()
    }

    #[test]
    fn passes_when_every_source_agrees() {
        let acked = event(&RecordAcked { topic: "t".into(), partition: 0, offset: 3, acks: 1, value: "a".into() });
        let read = event(&RecordConsumed { topic: "t".into(), partition: 0, offset: 3, value: "a".into() });
        let other_topic = event(&RecordConsumed { topic: "u".into(), partition: 0, offset: 3, value: "b".into() });
        assert!(run(&[acked, read, other_topic]).is_empty());
    }

    #[test]
    fn fires_when_an_offset_shows_two_records() {
        let acked = event(&RecordAcked { topic: "t".into(), partition: 0, offset: 3, acks: -1, value: "a".into() });
        let audited = event(&RecordAudited { topic: "t".into(), partition: 0, offset: 3, value: "b".into() });
        let found = run(&[acked, audited]);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("(ack) and now \"b\" (audit)"), "{}", found[0].message);
    }
}
