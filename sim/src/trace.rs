//! The trace: the simulator's eyes on the events seedlog emits.
//!
//! [`TraceLayer`] is a `tracing_subscriber` layer. For every event whose target is `seedlog…`
//! or `sim…` (madsim's own events are ignored) it builds a [`TraceEvent`] stamped with the
//! simulated time since the run started and the name of the simulated node that emitted it
//! (the innermost madsim `node` span; madsim's supervisor node is called `sim`), serialises
//! it as one JSON line (keys in a fixed order), feeds the line into the run's FNV-1a
//! fingerprint, keeps it in memory and hands the event to every checker, then to the run's
//! armed [`Triggers`] (the supervisor's waits for an event, `triggers.rs`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use seedlog::events::{self as declared, FieldRef, Fields};
use serde::Serialize;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::checker::{Checker, Violation};
use crate::fnv::Fnv64;
use crate::triggers::Triggers;

/// The trace name of madsim's supervisor node ("madsim-main").
pub const SUPERVISOR_NODE: &str = "sim";

/// A field value of a traced event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum FieldValue {
    /// A negative-capable integer (`record_i64`).
    I64(i64),
    /// An unsigned integer (`record_u64`).
    U64(u64),
    /// A boolean.
    Bool(bool),
    /// A string, or anything recorded with `?value` / `%value` (its formatted text).
    Str(String),
}

/// One event of the trace: `{"time_ns":…,"node":"…","name":"…","fields":{…}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TraceEvent {
    /// Simulated nanoseconds since the run started.
    pub time_ns: u64,
    /// The simulated node that emitted it (`sim` for the supervisor).
    pub node: String,
    /// The event's name: `tracing::info!(name: "log_flushed", …)`.
    pub name: String,
    /// The event's fields, sorted by key. `message` only when non-empty.
    pub fields: BTreeMap<String, FieldValue>,
}

impl TraceEvent {
    /// An unsigned field (a non-negative `I64` converts).
    pub fn u64(&self, key: &str) -> Option<u64> {
        match self.fields.get(key)? {
            FieldValue::U64(v) => Some(*v),
            FieldValue::I64(v) => u64::try_from(*v).ok(),
            _ => None,
        }
    }

    /// A signed field (a `U64` up to `i64::MAX` converts).
    pub fn i64(&self, key: &str) -> Option<i64> {
        match self.fields.get(key)? {
            FieldValue::I64(v) => Some(*v),
            FieldValue::U64(v) => i64::try_from(*v).ok(),
            _ => None,
        }
    }

    /// A string field (also `?value` / `%value` fields, as formatted).
    pub fn str(&self, key: &str) -> Option<&str> {
        match self.fields.get(key)? {
            FieldValue::Str(v) => Some(v),
            _ => None,
        }
    }

    /// A boolean field.
    pub fn bool(&self, key: &str) -> Option<bool> {
        match self.fields.get(key)? {
            FieldValue::Bool(v) => Some(*v),
            _ => None,
        }
    }

    /// The event as the declared type `E`, if it is one. An event with `E`'s name whose
    /// fields do not match `E`'s declaration is a bug in the code that emitted it: the run
    /// stops with the decode error rather than let a checker skip the event in silence.
    pub fn parse<E: declared::Event>(&self) -> Option<E> {
        if self.name != E::NAME {
            return None;
        }
        match E::decode(self) {
            Ok(event) => Some(event),
            Err(error) => panic!("malformed trace event at {} ns on {}: {error}", self.time_ns, self.node),
        }
    }

    /// The event as one JSON line, without the newline.
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).expect("a TraceEvent always serialises")
    }

    /// A line of [`TraceEvent::to_json_line`] read back (`None` if it is not one).
    pub fn from_json_line(line: &str) -> Option<TraceEvent> {
        let value: serde_json::Value = serde_json::from_str(line).ok()?;
        let mut fields = BTreeMap::new();
        for (key, field) in value.get("fields")?.as_object()? {
            let field = match field {
                serde_json::Value::Bool(b) => FieldValue::Bool(*b),
                serde_json::Value::String(s) => FieldValue::Str(s.clone()),
                serde_json::Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                    (Some(u), _) => FieldValue::U64(u),
                    (None, Some(i)) => FieldValue::I64(i),
                    _ => continue,
                },
                _ => continue,
            };
            fields.insert(key.clone(), field);
        }
        Some(TraceEvent {
            time_ns: value.get("time_ns")?.as_u64()?,
            node: value.get("node")?.as_str()?.to_string(),
            name: value.get("name")?.as_str()?.to_string(),
            fields,
        })
    }
}

impl Fields for TraceEvent {
    fn field(&self, key: &str) -> Option<FieldRef<'_>> {
        Some(match self.fields.get(key)? {
            FieldValue::I64(v) => FieldRef::I64(*v),
            FieldValue::U64(v) => FieldRef::U64(*v),
            FieldValue::Bool(v) => FieldRef::Bool(*v),
            FieldValue::Str(v) => FieldRef::Str(v),
        })
    }
}

/// What the trace of a finished run amounts to.
#[derive(Debug)]
pub struct TraceSummary {
    /// FNV-1a over every JSON line (each followed by `\n`).
    pub hash: u64,
    /// Number of events traced.
    pub events: u64,
    /// Simulated time of the last event, ns.
    pub last_time_ns: u64,
    /// The trace, one JSON object per line.
    pub jsonl: String,
    /// Every checker's findings, in checker order.
    pub violations: Vec<Violation>,
}

/// Owns the trace of one run; hands out the layer that feeds it.
#[derive(Clone)]
pub struct TraceRecorder {
    state: Arc<Mutex<TraceState>>,
    triggers: Triggers,
}

struct TraceState {
    hash: Fnv64,
    events: u64,
    last_time_ns: u64,
    jsonl: String,
    checkers: Vec<Box<dyn Checker>>,
    closed: bool,
}

impl TraceRecorder {
    /// A recorder feeding `checkers`.
    pub fn new(checkers: Vec<Box<dyn Checker>>) -> Self {
        let state = TraceState {
            hash: Fnv64::new(),
            events: 0,
            last_time_ns: 0,
            jsonl: String::new(),
            checkers,
            closed: false,
        };
        TraceRecorder { state: Arc::new(Mutex::new(state)), triggers: Triggers::default() }
    }

    /// The run's triggers, fed with every traced event.
    pub fn triggers(&self) -> Triggers {
        self.triggers.clone()
    }

    /// The layer to install (thread-locally) for the run.
    pub fn layer(&self) -> TraceLayer {
        TraceLayer { recorder: self.clone() }
    }

    /// Ends the run: events after this (tasks dropped with the runtime) are not traced.
    pub fn close(&self) {
        self.lock().closed = true;
    }

    /// Simulated time of the last traced event, ns.
    pub fn last_time_ns(&self) -> u64 {
        self.lock().last_time_ns
    }

    /// Closes the trace, runs every checker's `finish` and returns the summary.
    pub fn finish(&self) -> TraceSummary {
        let mut state = self.lock();
        state.closed = true;
        let violations = state.checkers.iter_mut().flat_map(|c| c.finish()).collect();
        TraceSummary {
            hash: state.hash.finish(),
            events: state.events,
            last_time_ns: state.last_time_ns,
            jsonl: std::mem::take(&mut state.jsonl),
            violations,
        }
    }

    /// A panicking checker poisons the lock; the trace itself is still whole.
    fn lock(&self) -> MutexGuard<'_, TraceState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn record(&self, event: TraceEvent) {
        // Only the run's own thread feeds a recorder, so a held lock means re-entry.
        let mut state = match self.state.try_lock() {
            Ok(state) => state,
            Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                panic!("a checker emitted a tracing event (`{}`); checkers must not", event.name)
            }
        };
        if state.closed {
            return;
        }
        let mut line = event.to_json_line();
        line.push('\n');
        state.hash.write(line.as_bytes());
        state.events += 1;
        state.last_time_ns = event.time_ns;
        state.jsonl.push_str(&line);
        for checker in state.checkers.iter_mut() {
            checker.on_event(&event);
        }
        drop(state);
        self.triggers.feed(&event);
    }
}

/// The `tracing_subscriber` layer of a [`TraceRecorder`].
pub struct TraceLayer {
    recorder: TraceRecorder,
}

impl TraceLayer {
    /// The run's triggers (found by [`Triggers::current`] through the thread's subscriber).
    pub fn triggers(&self) -> Triggers {
        self.recorder.triggers()
    }
}

/// The trace name of a madsim node, kept in its `node` span's extensions.
struct NodeLabel(String);

impl<S> Layer<S> for TraceLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let meta = attrs.metadata();
        if meta.name() != "node" || !meta.target().starts_with("madsim") {
            return;
        }
        let mut visitor = NodeSpanVisitor::default();
        attrs.record(&mut visitor);
        let label = match (visitor.name, visitor.id) {
            (Some(name), _) if name == "madsim-main" => SUPERVISOR_NODE.to_string(),
            (Some(name), _) => name,
            (None, Some(id)) => format!("node-{id}"),
            (None, None) => "node-?".to_string(),
        };
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(NodeLabel(label));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        if !is_traced_target(meta.target()) {
            return;
        }
        let node = ctx
            .event_scope(event)
            .and_then(|scope| {
                scope.into_iter().find_map(|span| span.extensions().get::<NodeLabel>().map(|label| label.0.clone()))
            })
            .unwrap_or_else(|| SUPERVISOR_NODE.to_string());
        let mut fields = FieldsVisitor::default();
        event.record(&mut fields);
        let time_ns = madsim::time::TimeHandle::try_current()
            .map(|time| u64::try_from(time.elapsed().as_nanos()).unwrap_or(u64::MAX))
            .unwrap_or_else(|| self.recorder.last_time_ns());
        self.recorder.record(TraceEvent { time_ns, node, name: meta.name().to_string(), fields: fields.0 });
    }
}

/// `seedlog`, `seedlog::…`, `sim`, `sim::…`.
fn is_traced_target(target: &str) -> bool {
    ["seedlog", "sim"]
        .iter()
        .any(|root| target.strip_prefix(root).is_some_and(|rest| rest.is_empty() || rest.starts_with("::")))
}

#[derive(Default)]
struct NodeSpanVisitor {
    name: Option<String>,
    id: Option<String>,
}

impl Visit for NodeSpanVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "name" {
            self.name = Some(value.to_string());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "name" => self.name = Some(format!("{value:?}")),
            "id" => self.id = Some(format!("{value:?}")),
            _ => {}
        }
    }
}

#[derive(Default)]
struct FieldsVisitor(BTreeMap<String, FieldValue>);

impl FieldsVisitor {
    fn put(&mut self, field: &Field, value: FieldValue) {
        self.0.insert(field.name().to_string(), value);
    }
}

impl Visit for FieldsVisitor {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, FieldValue::I64(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, FieldValue::U64(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, FieldValue::Bool(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, FieldValue::Str(value.to_string()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" && text.is_empty() {
            return;
        }
        self.put(field, FieldValue::Str(text));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traced_targets() {
        assert!(is_traced_target("seedlog"));
        assert!(is_traced_target("seedlog::storage::log"));
        assert!(is_traced_target("sim::world"));
        assert!(!is_traced_target("simple"));
        assert!(!is_traced_target("madsim::task"));
    }

    #[test]
    fn parse_reads_a_declared_event_and_ignores_others() {
        let mut fields = BTreeMap::new();
        fields.insert("node".to_string(), FieldValue::Str("b1".into()));
        let ev = TraceEvent { time_ns: 1, node: "sim".into(), name: "node_killed".into(), fields };
        assert_eq!(ev.parse::<crate::events::NodeKilled>(), Some(crate::events::NodeKilled { node: "b1".into() }));
        assert_eq!(ev.parse::<crate::events::NodeRestarted>(), None);
    }

    #[test]
    fn parse_refuses_a_malformed_event_loudly() {
        let ev = TraceEvent { time_ns: 1, node: "sim".into(), name: "node_killed".into(), fields: BTreeMap::new() };
        let caught = std::panic::catch_unwind(|| ev.parse::<crate::events::NodeKilled>());
        let message = caught.expect_err("a malformed event must not be skipped");
        let message = message.downcast_ref::<String>().expect("a formatted panic");
        assert!(message.contains("event `node_killed`: field `node` is missing"), "{message}");
    }

    #[test]
    fn json_line_has_fixed_key_order() {
        let mut fields = BTreeMap::new();
        fields.insert("z".to_string(), FieldValue::I64(-1));
        fields.insert("a".to_string(), FieldValue::Str("x".into()));
        let ev = TraceEvent { time_ns: 5, node: "b1".into(), name: "n".into(), fields };
        assert_eq!(ev.to_json_line(), r#"{"time_ns":5,"node":"b1","name":"n","fields":{"a":"x","z":-1}}"#);
        assert_eq!(TraceEvent::from_json_line(&ev.to_json_line()), Some(ev.clone()));
        assert_eq!(ev.i64("z"), Some(-1));
        assert_eq!(ev.u64("z"), None);
        assert_eq!(ev.str("a"), Some("x"));
    }

    #[test]
    fn json_lines_read_back_as_written_and_junk_is_refused() {
        let mut fields = BTreeMap::new();
        fields.insert("n".to_string(), FieldValue::I64(-3));
        fields.insert("u".to_string(), FieldValue::U64(u64::MAX));
        fields.insert("b".to_string(), FieldValue::Bool(true));
        fields.insert("s".to_string(), FieldValue::Str("x\"y".to_string()));
        let ev = TraceEvent { time_ns: 9, node: "b1".into(), name: "e".into(), fields };
        assert_eq!(TraceEvent::from_json_line(&ev.to_json_line()), Some(ev));
        assert_eq!(TraceEvent::from_json_line("not json"), None);
        assert_eq!(TraceEvent::from_json_line(r#"{"time_ns":1}"#), None);
    }
}
