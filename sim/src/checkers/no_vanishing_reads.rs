//! NoVanishingReads: a record a consumer has seen is never taken back — the final audit
//! still finds it at the same offset (Kafka's high watermark promise: consumers read only
//! what will not be truncated).

use std::collections::BTreeMap;

use crate::checker::{Checker, Violation};
use crate::trace::TraceEvent;

const NAME: &str = "NoVanishingReads";

/// Records consumers saw, and the audit.
#[derive(Default)]
pub struct NoVanishingReads {
    consumed: BTreeMap<(i64, i64), (String, u64)>,
    audited: BTreeMap<(i64, i64), String>,
    audit_done: bool,
}

impl Checker for NoVanishingReads {
    fn name(&self) -> &'static str {
        NAME
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        let key = (ev.i64("partition"), ev.i64("offset"), ev.str("value"));
        match (ev.name.as_str(), key) {
            ("record_consumed", (Some(p), Some(o), Some(v))) => {
                self.consumed.entry((p, o)).or_insert((v.to_string(), ev.time_ns));
            }
            ("record_audited", (Some(p), Some(o), Some(v))) => {
                self.audited.insert((p, o), v.to_string());
            }
            ("audit_done", _) => self.audit_done = true,
            _ => {}
        }
    }

    fn finish(&mut self) -> Vec<Violation> {
        if !self.audit_done {
            return Vec::new(); // AckedRecordsSurvive reports the unfinished audit
        }
        self.consumed
            .iter()
            .filter(|(key, (value, _))| self.audited.get(key) != Some(value))
            .map(|((partition, offset), (value, time_ns))| {
                Violation::new(
                    NAME,
                    *time_ns,
                    format!("a consumer read {value:?} at partition {partition} offset {offset}; the audit does not find it there"),
                )
            })
            .collect()
    }
}
