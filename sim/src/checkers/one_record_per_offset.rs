//! OneRecordPerOffset: no offset of a partition ever holds two different records — across
//! acknowledgements, consumer reads and the audit, for the whole run.

use std::collections::BTreeMap;

use crate::checker::{Checker, Violation};
use crate::trace::TraceEvent;

const NAME: &str = "OneRecordPerOffset";

/// The first record seen at each (partition, offset), and what showed it.
#[derive(Default)]
pub struct OneRecordPerOffset {
    seen: BTreeMap<(i64, i64), (String, &'static str)>,
    violations: Vec<Violation>,
}

impl Checker for OneRecordPerOffset {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        let source = match ev.name.as_str() {
            "record_acked" => "ack",
            "record_consumed" => "consumer",
            "record_audited" => "audit",
            _ => return,
        };
        let (Some(partition), Some(offset), Some(value)) = (ev.i64("partition"), ev.i64("offset"), ev.str("value"))
        else {
            return;
        };
        match self.seen.get(&(partition, offset)) {
            None => {
                self.seen.insert((partition, offset), (value.to_string(), source));
            }
            Some((first, first_source)) if first != value => {
                let message = format!(
                    "partition {partition} offset {offset} held {first:?} ({first_source}) and now {value:?} ({source})"
                );
                self.violations.push(Violation::new(NAME, ev.time_ns, message));
            }
            Some(_) => {}
        }
    }

    fn finish(&mut self) -> Vec<Violation> {
        std::mem::take(&mut self.violations)
    }
}
