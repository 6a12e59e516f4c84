//! AckedRecordsSurvive: every record a producer saw acknowledged with acks=all is read back
//! at its offset by the final audit (`record_acked` → `record_audited`), and the audit
//! reached every partition's end.

use std::collections::BTreeMap;

use crate::checker::{Checker, Violation};
use crate::trace::TraceEvent;

const NAME: &str = "AckedRecordsSurvive";

/// Acknowledged records and what the audit read, by (partition, offset).
#[derive(Default)]
pub struct AckedRecordsSurvive {
    acked: BTreeMap<(i64, i64), (String, u64)>,
    audited: BTreeMap<(i64, i64), String>,
    audit_done: bool,
    last_time_ns: u64,
}

impl Checker for AckedRecordsSurvive {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        self.last_time_ns = ev.time_ns;
        let key = || Some((ev.i64("partition")?, ev.i64("offset")?));
        match ev.name.as_str() {
            "record_acked" => {
                if let (Some(key), Some(value)) = (key(), ev.str("value")) {
                    self.acked.insert(key, (value.to_string(), ev.time_ns));
                }
            }
            "record_audited" => {
                if let (Some(key), Some(value)) = (key(), ev.str("value")) {
                    self.audited.insert(key, value.to_string());
                }
            }
            "audit_done" => self.audit_done = true,
            _ => {}
        }
    }

    fn finish(&mut self) -> Vec<Violation> {
        let mut violations = Vec::new();
        if !self.audit_done {
            violations.push(Violation::new(NAME, self.last_time_ns, "the final audit never finished"));
            return violations;
        }
        for ((partition, offset), (value, acked_ns)) in &self.acked {
            match self.audited.get(&(*partition, *offset)) {
                Some(read) if read == value => {}
                Some(read) => violations.push(Violation::new(
                    NAME,
                    *acked_ns,
                    format!("partition {partition} offset {offset} was acked as {value:?} but reads back as {read:?}"),
                )),
                None => violations.push(Violation::new(
                    NAME,
                    *acked_ns,
                    format!("partition {partition} offset {offset} ({value:?}) was acked with acks=all and is gone"),
                )),
            }
        }
        violations
    }
}
