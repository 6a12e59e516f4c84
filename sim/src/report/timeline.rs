//! Timelines: what one run's trace says happened, over simulated time, in the shape the
//! report draws.
//!
//! A [`TimelineBuilder`] reads a run's trace event by event and keeps:
//! - per node: when it was down (killed by the supervisor, or halted on its own, until
//!   `node_restarted`) and paused (until `node_resumed`, or a kill);
//! - the world's faults as intervals, one lane per fault: the network partition (until the
//!   next `network_partitioned` or a heal), each one-way cut and each lag (until a heal; a
//!   new lag of a link replaces its old one), each held fault point (until released for
//!   good), each node's raised fsync error rate (until a change lowers it);
//! - per partition: its leader and leader epoch and ISR as the inspector saw them
//!   (`partition_observed`: what a client polling Metadata sees), and per replica (the node
//!   that hosts it) its high watermark (`high_watermark_advanced` on a leader,
//!   `follower_high_watermark` on a follower) and log end offset (those two, plus every
//!   appended batch, truncation and recovery: `batch_replicated`, `replica_truncated`,
//!   `log_recovered`, `log_truncated`);
//! - instants as markers: checker violations and the panic that ended a run, heals, clock
//!   jumps, disk replacements, lagged followers.
//!
//! Only declared events are read (through their types, so a renamed event or field is a
//! compile error here, not a timeline that silently goes blank); one that does not decode is
//! skipped, since a report shows a run and does not judge it. Everything is bounded: series
//! are thinned to at most [`MAX_POINTS`] points (keeping each time bucket's first, lowest,
//! highest and last value, so a truncation still shows), and each lane keeps at most
//! [`MAX_SPANS`] intervals and the timeline [`MAX_MARKERS`] markers (violations first);
//! what was left out is counted in [`Timeline::dropped`].

use std::collections::BTreeMap;

use seedlog::events::{
    BatchReplicated, Event, FollowerHighWatermark, HighWatermarkAdvanced, LogRecovered, LogTruncated, ReplicaTruncated,
};
use serde::{Deserialize, Serialize};

use crate::checker::Violation;
use crate::events::{
    ClockJumped, DiskFaultsChanged, DiskReplaced, FaultPointArmed, FaultPointReleased, FollowerLagged, LinkCut,
    LinkLagged, NetworkHealed, NetworkPartitioned, NodeHalted, NodeKilled, NodePaused, NodeRestarted, NodeResumed,
    PartitionObserved,
};
use crate::trace::{TraceEvent, SUPERVISOR_NODE};

/// Most points kept per series (high watermark, log end offset, ISR size).
pub const MAX_POINTS: usize = 4 * BUCKETS;
/// Time buckets a long series is thinned to (four points each at most).
const BUCKETS: usize = 150;
/// Most intervals kept per lane (a node's down or paused spans, a fault lane, a leader lane).
pub const MAX_SPANS: usize = 200;
/// Most markers kept per timeline.
pub const MAX_MARKERS: usize = 300;

/// One run's timeline. Times are simulated ns since the run started.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    /// Where the time axis ends: the run's end (or its last event or violation, if later).
    pub end_ns: u64,
    /// Every node that emitted an event or was named by a fault, by name.
    pub nodes: Vec<NodeLane>,
    /// One lane per fault subject (the partition, a cut link, a held point…), in order of
    /// first appearance.
    pub faults: Vec<FaultLane>,
    /// Every partition the trace mentions, by topic and partition.
    pub partitions: Vec<PartitionLane>,
    /// Instants, by time.
    pub markers: Vec<Marker>,
    /// Intervals and markers left out to keep the timeline bounded.
    pub dropped: u64,
}

/// An interval of simulated time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub from_ns: u64,
    pub to_ns: u64,
    /// Still in force when the run ended (`to_ns` is then the end).
    pub open: bool,
    /// What it was (`killed`, `halted: …`, `b1|b2,b3`, `delay 500 ms, flow 20 ms`…).
    pub label: String,
}

/// A node's bad times.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeLane {
    pub node: String,
    /// Down: killed, or halted on its own, until restarted.
    pub down: Vec<Span>,
    /// Paused, until resumed (or killed).
    pub paused: Vec<Span>,
}

/// What kind of fault a lane shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The network partition (at most one at a time).
    Partition,
    /// A one-way cut of a link.
    Cut,
    /// A lagging link.
    Lag,
    /// A held fault point on a node.
    Hold,
    /// A node's disk failing fsyncs at a raised rate.
    Disk,
}

impl FaultKind {
    /// Its name in the report's CSS classes and summary (`partition`, `cut`…).
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Partition => "partition",
            FaultKind::Cut => "cut",
            FaultKind::Lag => "lag",
            FaultKind::Hold => "hold",
            FaultKind::Disk => "disk",
        }
    }
}

/// One fault subject's intervals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultLane {
    pub kind: FaultKind,
    /// The subject: `network`, `b1→b2`, `b2 alter_partition_send`, `b3`.
    pub label: String,
    pub spans: Vec<Span>,
}

/// What an instant marks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkerKind {
    /// A checker's violation.
    Violation,
    /// The panic that ended the run (at the run's end).
    Panic,
    /// Every network fault was lifted.
    Heal,
    /// A node's wall clock was moved.
    ClockJump,
    /// A killed node's disk was swapped for an empty one.
    DiskReplaced,
    /// The supervisor lagged a partition's follower.
    FollowerLagged,
}

impl MarkerKind {
    /// Its name in the report's CSS classes (`violation`, `clock_jump`…).
    pub fn name(self) -> &'static str {
        match self {
            MarkerKind::Violation => "violation",
            MarkerKind::Panic => "panic",
            MarkerKind::Heal => "heal",
            MarkerKind::ClockJump => "clock_jump",
            MarkerKind::DiskReplaced => "disk_replaced",
            MarkerKind::FollowerLagged => "follower_lagged",
        }
    }
}

/// An instant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    pub time_ns: u64,
    pub kind: MarkerKind,
    /// The node it concerns, if one.
    pub node: Option<String>,
    /// What happened (a violation: `Checker: message`).
    pub label: String,
}

/// A point of a step series: (time ns, value). The value holds until the next point.
pub type Point = (u64, i64);

/// One leader's tenure as the inspector saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderSpan {
    pub from_ns: u64,
    pub to_ns: u64,
    /// The leader's broker id (-1: none).
    pub leader: i32,
    pub leader_epoch: i32,
    /// The ISR, broker ids joined by `,`.
    pub isr: String,
}

/// One replica's offsets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaSeries {
    /// The node hosting the replica.
    pub node: String,
    pub high_watermark: Vec<Point>,
    pub log_end_offset: Vec<Point>,
}

/// One partition over time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionLane {
    pub topic: String,
    pub partition: i32,
    /// The assigned replicas as last observed, broker ids joined by `,` ("" if never).
    pub replicas: String,
    pub leaders: Vec<LeaderSpan>,
    /// ISR size as observed.
    pub isr_size: Vec<Point>,
    /// Per hosting node, by name.
    pub replica_offsets: Vec<ReplicaSeries>,
}

/// Builds a [`Timeline`] from a run's trace, one event at a time.
#[derive(Default)]
pub struct TimelineBuilder {
    last_ns: u64,
    nodes: BTreeMap<String, NodeTrack>,
    /// Fault lanes by (kind, subject), with the order they first appeared in.
    faults: BTreeMap<(FaultKind, String), FaultTrack>,
    /// Each node's disk faults as last changed: (fsync errors, bit flips) per million, and
    /// the capacity (-1: none).
    disk_faults: BTreeMap<String, (u64, u64, i64)>,
    partitions: BTreeMap<(String, i32), PartitionTrack>,
    markers: Vec<Marker>,
}

#[derive(Default)]
struct NodeTrack {
    down: Vec<Span>,
    paused: Vec<Span>,
    down_since: Option<(u64, String)>,
    paused_since: Option<(u64, String)>,
}

struct FaultTrack {
    order: usize,
    spans: Vec<Span>,
    open: Option<(u64, String)>,
}

#[derive(Default)]
struct PartitionTrack {
    replicas: String,
    leaders: Vec<LeaderSpan>,
    current: Option<LeaderSpan>,
    isr_size: Vec<Point>,
    /// Per node: (high watermark, log end offset).
    offsets: BTreeMap<String, (Vec<Point>, Vec<Point>)>,
}

/// The event as the declared type `E`, if it is one and decodes.
fn typed<E: Event>(ev: &TraceEvent) -> Option<E> {
    if ev.name == E::NAME {
        E::decode(ev).ok()
    } else {
        None
    }
}

impl TimelineBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads one event (events come in trace order).
    pub fn on_event(&mut self, ev: &TraceEvent) {
        let t = ev.time_ns;
        self.last_ns = self.last_ns.max(t);
        if ev.node != SUPERVISOR_NODE {
            self.node(&ev.node);
        }
        if let Some(e) = typed::<NodeKilled>(ev) {
            let node = self.node(&e.node);
            close(&mut node.paused, &mut node.paused_since, t);
            node.down_since.get_or_insert((t, "killed".to_string()));
        } else if let Some(e) = typed::<NodeHalted>(ev) {
            self.node(&e.node).down_since.get_or_insert((t, format!("halted: {}", e.why)));
        } else if let Some(e) = typed::<NodeRestarted>(ev) {
            let node = self.node(&e.node);
            close(&mut node.down, &mut node.down_since, t);
        } else if let Some(e) = typed::<NodePaused>(ev) {
            self.node(&e.node).paused_since.get_or_insert((t, "paused".to_string()));
        } else if let Some(e) = typed::<NodeResumed>(ev) {
            let node = self.node(&e.node);
            close(&mut node.paused, &mut node.paused_since, t);
        } else if let Some(e) = typed::<DiskReplaced>(ev) {
            self.node(&e.node);
            self.mark(t, MarkerKind::DiskReplaced, Some(e.node), "disk replaced by an empty one".to_string());
        } else if let Some(e) = typed::<ClockJumped>(ev) {
            self.node(&e.node);
            let label = format!("wall clock moved {:+} ms", e.delta_ms);
            self.mark(t, MarkerKind::ClockJump, Some(e.node), label);
        } else if let Some(e) = typed::<DiskFaultsChanged>(ev) {
            self.node(&e.node);
            let now = (e.sync_errors_per_million, e.bit_flips_per_million, e.capacity_bytes);
            let before = self.disk_faults.insert(e.node.clone(), now);
            self.close_fault(FaultKind::Disk, &e.node, t);
            // A change that only eases the faults heals; the first change or a harsher one opens
            // a fault.
            let harsher = |b: (u64, u64, i64)| now.0 > b.0 || now.1 > b.1 || (now.2 >= 0 && (b.2 < 0 || now.2 < b.2));
            if before.is_none_or(harsher) {
                let mut parts = vec![format!("fsync errors {} per million", now.0)];
                if now.1 > 0 {
                    parts.push(format!("bit flips {} per million", now.1));
                }
                if now.2 >= 0 {
                    parts.push(format!("full at {} bytes", now.2));
                }
                self.open_fault(FaultKind::Disk, &e.node, t, parts.join(", "));
            }
        } else if let Some(e) = typed::<NetworkPartitioned>(ev) {
            self.close_fault(FaultKind::Partition, "network", t);
            if !e.groups.is_empty() {
                for node in e.groups.split(['|', ',']).filter(|n| !n.is_empty()) {
                    self.node(node);
                }
                self.open_fault(FaultKind::Partition, "network", t, e.groups);
            }
        } else if let Some(e) = typed::<LinkCut>(ev) {
            self.node(&e.from);
            self.node(&e.to);
            let subject = format!("{}→{}", e.from, e.to);
            if !self.fault_is_open(FaultKind::Cut, &subject) {
                self.open_fault(FaultKind::Cut, &subject, t, "cut".to_string());
            }
        } else if let Some(e) = typed::<LinkLagged>(ev) {
            self.node(&e.from);
            self.node(&e.to);
            let subject = format!("{}→{}", e.from, e.to);
            self.close_fault(FaultKind::Lag, &subject, t);
            let label = format!("held {} ms, flowing {} ms", e.delay_ms, e.flow_ms);
            self.open_fault(FaultKind::Lag, &subject, t, label);
        } else if let Some(e) = typed::<NetworkHealed>(ev) {
            let open: Vec<(FaultKind, String)> = self
                .faults
                .iter()
                .filter(|((kind, _), track)| {
                    matches!(kind, FaultKind::Partition | FaultKind::Cut | FaultKind::Lag) && track.open.is_some()
                })
                .map(|(key, _)| key.clone())
                .collect();
            for (kind, subject) in open {
                self.close_fault(kind, &subject, t);
            }
            let label = format!(
                "network healed: {} partition groups, {} cuts, {} lags, {} resumed",
                e.partition_groups, e.cuts, e.lags, e.resumed
            );
            self.mark(t, MarkerKind::Heal, None, label);
        } else if let Some(e) = typed::<FaultPointArmed>(ev) {
            self.node(&e.node);
            let subject = format!("{} {}", e.node, e.point);
            if !self.fault_is_open(FaultKind::Hold, &subject) {
                self.open_fault(FaultKind::Hold, &subject, t, "held".to_string());
            }
        } else if let Some(e) = typed::<FaultPointReleased>(ev) {
            if !e.still_held {
                self.close_fault(FaultKind::Hold, &format!("{} {}", e.node, e.point), t);
            }
        } else if let Some(e) = typed::<FollowerLagged>(ev) {
            let label = format!("{}-{}: follower {} of leader {} lagged", e.topic, e.partition, e.broker, e.leader_id);
            self.mark(t, MarkerKind::FollowerLagged, None, label);
        } else if let Some(e) = typed::<PartitionObserved>(ev) {
            self.observed(t, e);
        } else {
            self.offsets(ev);
        }
    }

    /// The timeline, its axis ending at `end_ns` (or later, to show everything), with the
    /// run's violations and its panic (at the end) marked.
    pub fn finish(mut self, end_ns: u64, violations: &[Violation], panic: Option<&str>) -> Timeline {
        let end = violations.iter().map(|v| v.time_ns).fold(end_ns.max(self.last_ns), u64::max);
        for v in violations {
            self.mark(v.time_ns, MarkerKind::Violation, None, format!("{}: {}", v.checker, v.message));
        }
        if let Some(panic) = panic {
            self.mark(end, MarkerKind::Panic, None, format!("panic: {panic}"));
        }
        let mut dropped = 0u64;
        let mut bounded = |mut spans: Vec<Span>| {
            if spans.len() > MAX_SPANS {
                dropped += (spans.len() - MAX_SPANS) as u64;
                spans.truncate(MAX_SPANS);
            }
            spans
        };

        let nodes = std::mem::take(&mut self.nodes)
            .into_iter()
            .map(|(name, mut track)| {
                still_open(&mut track.down, track.down_since.take(), end);
                still_open(&mut track.paused, track.paused_since.take(), end);
                NodeLane { node: name, down: bounded(track.down), paused: bounded(track.paused) }
            })
            .collect();

        let mut faults: Vec<(usize, FaultLane)> = std::mem::take(&mut self.faults)
            .into_iter()
            .map(|((kind, label), mut track)| {
                still_open(&mut track.spans, track.open.take(), end);
                (track.order, FaultLane { kind, label, spans: bounded(track.spans) })
            })
            .collect();
        faults.sort_by_key(|(order, _)| *order);

        let partitions = std::mem::take(&mut self.partitions)
            .into_iter()
            .map(|((topic, partition), mut track)| {
                if let Some(mut current) = track.current.take() {
                    current.to_ns = end;
                    track.leaders.push(current);
                }
                if track.leaders.len() > MAX_SPANS {
                    dropped += (track.leaders.len() - MAX_SPANS) as u64;
                    track.leaders.truncate(MAX_SPANS);
                }
                PartitionLane {
                    topic,
                    partition,
                    replicas: track.replicas,
                    leaders: track.leaders,
                    isr_size: thin(track.isr_size, end),
                    replica_offsets: track
                        .offsets
                        .into_iter()
                        .map(|(node, (hw, leo))| ReplicaSeries {
                            node,
                            high_watermark: thin(hw, end),
                            log_end_offset: thin(leo, end),
                        })
                        .collect(),
                }
            })
            .collect();

        // Violations first when markers must be dropped, then by time.
        let mut markers = std::mem::take(&mut self.markers);
        markers.sort_by_key(|m| (m.kind != MarkerKind::Violation && m.kind != MarkerKind::Panic, m.time_ns));
        if markers.len() > MAX_MARKERS {
            dropped += (markers.len() - MAX_MARKERS) as u64;
            markers.truncate(MAX_MARKERS);
        }
        markers.sort_by_key(|m| m.time_ns);

        Timeline {
            end_ns: end,
            nodes,
            faults: faults.into_iter().map(|(_, lane)| lane).collect(),
            partitions,
            markers,
            dropped,
        }
    }

    fn node(&mut self, name: &str) -> &mut NodeTrack {
        self.nodes.entry(name.to_string()).or_default()
    }

    fn mark(&mut self, time_ns: u64, kind: MarkerKind, node: Option<String>, label: String) {
        self.markers.push(Marker { time_ns, kind, node, label });
    }

    fn fault_is_open(&self, kind: FaultKind, subject: &str) -> bool {
        self.faults.get(&(kind, subject.to_string())).is_some_and(|track| track.open.is_some())
    }

    fn open_fault(&mut self, kind: FaultKind, subject: &str, t: u64, label: String) {
        let order = self.faults.len();
        let track = self.faults.entry((kind, subject.to_string())).or_insert(FaultTrack {
            order,
            spans: Vec::new(),
            open: None,
        });
        track.open = Some((t, label));
    }

    fn close_fault(&mut self, kind: FaultKind, subject: &str, t: u64) {
        if let Some(track) = self.faults.get_mut(&(kind, subject.to_string())) {
            close(&mut track.spans, &mut track.open, t);
        }
    }

    fn partition(&mut self, topic: &str, partition: i32) -> &mut PartitionTrack {
        self.partitions.entry((topic.to_string(), partition)).or_default()
    }

    fn observed(&mut self, t: u64, e: PartitionObserved) {
        let track = self.partition(&e.topic, e.partition);
        track.replicas = e.replicas;
        let isr_size = e.isr.split(',').filter(|id| !id.is_empty()).count() as i64;
        push_point(&mut track.isr_size, t, isr_size);
        let same = track
            .current
            .as_ref()
            .is_some_and(|c| c.leader == e.leader && c.leader_epoch == e.leader_epoch && c.isr == e.isr);
        if !same {
            if let Some(mut previous) = track.current.take() {
                previous.to_ns = t;
                track.leaders.push(previous);
            }
            track.current =
                Some(LeaderSpan { from_ns: t, to_ns: t, leader: e.leader, leader_epoch: e.leader_epoch, isr: e.isr });
        }
    }

    /// The replica offset events; any other event is ignored.
    fn offsets(&mut self, ev: &TraceEvent) {
        let t = ev.time_ns;
        let (topic, partition, high_watermark, log_end_offset) = if let Some(e) = typed::<HighWatermarkAdvanced>(ev) {
            (e.topic, e.partition, Some(e.high_watermark), Some(e.leader_log_end_offset))
        } else if let Some(e) = typed::<FollowerHighWatermark>(ev) {
            (e.topic, e.partition, Some(e.high_watermark), Some(e.log_end_offset))
        } else if let Some(e) = typed::<BatchReplicated>(ev) {
            (e.topic, e.partition, None, Some(e.last_offset + 1))
        } else if let Some(e) = typed::<ReplicaTruncated>(ev) {
            (e.topic, e.partition, None, Some(e.offset))
        } else if let Some((dir, leo)) = typed::<LogRecovered>(ev)
            .map(|e| (e.dir, e.log_end_offset))
            .or_else(|| typed::<LogTruncated>(ev).map(|e| (e.dir, e.log_end_offset)))
        {
            let Some((topic, partition)) = partition_of_dir(&dir) else { return };
            (topic, partition, None, Some(leo))
        } else {
            return;
        };
        let node = ev.node.clone();
        let (hw, leo) = self.partition(&topic, partition).offsets.entry(node).or_default();
        if let Some(v) = high_watermark {
            push_point(hw, t, v);
        }
        if let Some(v) = log_end_offset {
            push_point(leo, t, v);
        }
    }
}

/// Ends the open interval `since` at `t`, if there is one.
fn close(spans: &mut Vec<Span>, since: &mut Option<(u64, String)>, t: u64) {
    if let Some((from_ns, label)) = since.take() {
        spans.push(Span { from_ns, to_ns: t, open: false, label });
    }
}

/// Ends the interval `since`, still in force when the run ended, at `end`.
fn still_open(spans: &mut Vec<Span>, since: Option<(u64, String)>, end: u64) {
    if let Some((from_ns, label)) = since {
        spans.push(Span { from_ns, to_ns: end, open: true, label });
    }
}

/// Appends a step to `series` unless the value did not change; several values at one
/// instant keep the last.
fn push_point(series: &mut Vec<Point>, t: u64, v: i64) {
    match series.last_mut() {
        Some((_, last)) if *last == v => {}
        Some((last_t, last)) if *last_t == t => *last = v,
        _ => series.push((t, v)),
    }
}

/// `(topic, partition)` of a partition log's directory (`/data/events-2`), if it is one.
pub fn partition_of_dir(dir: &str) -> Option<(String, i32)> {
    let base = dir.rsplit('/').next()?;
    let (topic, partition) = base.rsplit_once('-')?;
    if topic.is_empty() || partition.is_empty() || !partition.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((topic.to_string(), partition.parse().ok()?))
}

/// At most [`MAX_POINTS`] points of `series`: in each of [`BUCKETS`] time buckets over
/// `0..=end`, the first, lowest, highest and last point.
pub fn thin(series: Vec<Point>, end: u64) -> Vec<Point> {
    if series.len() <= MAX_POINTS {
        return series;
    }
    let bucket = |t: u64| (u128::from(t) * BUCKETS as u128 / (u128::from(end) + 1)) as usize;
    let mut keep = vec![false; series.len()];
    let mut start = 0;
    while start < series.len() {
        let b = bucket(series[start].0);
        let mut stop = start;
        while stop < series.len() && bucket(series[stop].0) == b {
            stop += 1;
        }
        let group = start..stop;
        let lowest = group.clone().min_by_key(|&i| series[i].1).unwrap_or(start);
        let highest = group.clone().max_by_key(|&i| series[i].1).unwrap_or(start);
        for i in [start, lowest, highest, stop - 1] {
            keep[i] = true;
        }
        start = stop;
    }
    series.into_iter().zip(keep).filter_map(|(point, kept)| kept.then_some(point)).collect()
}

/// The timeline of a whole JSONL trace (lines that do not parse are skipped).
pub fn from_jsonl(jsonl: &str, end_ns: u64, violations: &[Violation], panic: Option<&str>) -> Timeline {
    let mut builder = TimelineBuilder::new();
    for event in jsonl.lines().filter_map(TraceEvent::from_json_line) {
        builder.on_event(&event);
    }
    builder.finish(end_ns, violations, panic)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A trace line at `ms` simulated milliseconds.
    fn line(ms: u64, node: &str, name: &str, fields: &str) -> String {
        format!("{{\"time_ns\":{},\"node\":\"{node}\",\"name\":\"{name}\",\"fields\":{fields}}}\n", ms * 1_000_000)
    }

    fn timeline(lines: &[String], end_ms: u64) -> Timeline {
        from_jsonl(&lines.concat(), end_ms * 1_000_000, &[], None)
    }

    fn span(from_ms: u64, to_ms: u64, open: bool, label: &str) -> Span {
        Span { from_ns: from_ms * 1_000_000, to_ns: to_ms * 1_000_000, open, label: label.to_string() }
    }

    fn lane<'a>(t: &'a Timeline, node: &str) -> &'a NodeLane {
        t.nodes.iter().find(|l| l.node == node).unwrap_or_else(|| panic!("no lane for {node}: {t:?}"))
    }

    #[test]
    fn a_kill_then_a_restart_is_one_closed_down_interval() {
        let t = timeline(
            &[
                line(1_000, "sim", "node_killed", r#"{"node":"b1"}"#),
                line(2_500, "sim", "node_restarted", r#"{"node":"b1"}"#),
            ],
            5_000,
        );
        assert_eq!(lane(&t, "b1").down, [span(1_000, 2_500, false, "killed")]);
        assert!(lane(&t, "b1").paused.is_empty());
        assert_eq!(t.end_ns, 5_000_000_000);
    }

    #[test]
    fn a_kill_without_restart_is_open_to_the_end_and_a_halt_counts_as_down() {
        let t = timeline(
            &[
                line(1_000, "b2", "node_halted", r#"{"node":"b2","why":"disk error"}"#),
                // The supervisor kills it while it is down: still one interval, the halt's.
                line(1_200, "sim", "node_killed", r#"{"node":"b2"}"#),
                line(1_500, "sim", "node_restarted", r#"{"node":"b2"}"#),
                line(3_000, "sim", "node_killed", r#"{"node":"b3"}"#),
            ],
            4_000,
        );
        assert_eq!(lane(&t, "b2").down, [span(1_000, 1_500, false, "halted: disk error")]);
        assert_eq!(lane(&t, "b3").down, [span(3_000, 4_000, true, "killed")]);
    }

    #[test]
    fn a_kill_ends_a_pause() {
        let t = timeline(
            &[
                line(100, "sim", "node_paused", r#"{"node":"b1"}"#),
                line(300, "sim", "node_killed", r#"{"node":"b1"}"#),
                line(400, "sim", "node_restarted", r#"{"node":"b1"}"#),
                line(500, "sim", "node_paused", r#"{"node":"b1"}"#),
                line(600, "sim", "node_resumed", r#"{"node":"b1"}"#),
            ],
            1_000,
        );
        let b1 = lane(&t, "b1");
        assert_eq!(b1.paused, [span(100, 300, false, "paused"), span(500, 600, false, "paused")]);
        assert_eq!(b1.down, [span(300, 400, false, "killed")]);
    }

    #[test]
    fn network_faults_last_until_the_heal_and_a_new_partition_replaces_the_old() {
        let t = timeline(
            &[
                line(100, "sim", "network_partitioned", r#"{"groups":"b1|b2,b3"}"#),
                line(200, "sim", "network_partitioned", r#"{"groups":"b1,b2|b3"}"#),
                line(300, "sim", "link_cut", r#"{"from":"b1","to":"b2"}"#),
                line(350, "sim", "link_cut", r#"{"from":"b1","to":"b2"}"#),
                line(400, "sim", "link_lagged", r#"{"from":"b2","to":"b3","delay_ms":500,"flow_ms":20}"#),
                line(450, "sim", "link_lagged", r#"{"from":"b2","to":"b3","delay_ms":900,"flow_ms":30}"#),
                line(500, "sim", "network_healed", r#"{"partition_groups":2,"cuts":1,"lags":1,"resumed":0}"#),
                line(600, "sim", "network_partitioned", r#"{"groups":"b3|b1,b2"}"#),
                line(700, "sim", "network_partitioned", r#"{"groups":""}"#),
            ],
            1_000,
        );
        let lanes: Vec<(FaultKind, &str, &[Span])> =
            t.faults.iter().map(|l| (l.kind, l.label.as_str(), l.spans.as_slice())).collect();
        assert_eq!(
            lanes,
            [
                (
                    FaultKind::Partition,
                    "network",
                    &[
                        span(100, 200, false, "b1|b2,b3"),
                        span(200, 500, false, "b1,b2|b3"),
                        span(600, 700, false, "b3|b1,b2")
                    ][..]
                ),
                (FaultKind::Cut, "b1→b2", &[span(300, 500, false, "cut")][..]),
                (
                    FaultKind::Lag,
                    "b2→b3",
                    &[
                        span(400, 450, false, "held 500 ms, flowing 20 ms"),
                        span(450, 500, false, "held 900 ms, flowing 30 ms")
                    ][..]
                ),
            ]
        );
        assert_eq!(t.markers.len(), 1);
        assert_eq!((t.markers[0].kind, t.markers[0].time_ns), (MarkerKind::Heal, 500_000_000));
        let nodes: Vec<&str> = t.nodes.iter().map(|l| l.node.as_str()).collect();
        assert_eq!(nodes, ["b1", "b2", "b3"], "nodes named by faults get lanes");
    }

    #[test]
    fn held_points_and_raised_disk_faults_are_intervals() {
        let t = timeline(
            &[
                line(100, "sim", "fault_point_armed", r#"{"node":"b1","point":"alter_partition_send"}"#),
                line(
                    200,
                    "sim",
                    "fault_point_released",
                    r#"{"node":"b1","point":"alter_partition_send","waiting":1,"still_held":true}"#,
                ),
                line(
                    300,
                    "sim",
                    "fault_point_released",
                    r#"{"node":"b1","point":"alter_partition_send","waiting":0,"still_held":false}"#,
                ),
                line(
                    400,
                    "sim",
                    "disk_faults_changed",
                    r#"{"node":"b2","sync_errors_per_million":20000,"bit_flips_per_million":0,"capacity_bytes":-1}"#,
                ),
                line(
                    600,
                    "sim",
                    "disk_faults_changed",
                    r#"{"node":"b2","sync_errors_per_million":0,"bit_flips_per_million":0,"capacity_bytes":-1}"#,
                ),
                line(
                    700,
                    "sim",
                    "disk_faults_changed",
                    r#"{"node":"b3","sync_errors_per_million":20000,"bit_flips_per_million":0,"capacity_bytes":-1}"#,
                ),
                line(800, "sim", "clock_jumped", r#"{"node":"b1","delta_ms":-5000}"#),
            ],
            1_000,
        );
        let hold = t.faults.iter().find(|l| l.kind == FaultKind::Hold).expect("a hold lane");
        assert_eq!(
            (hold.label.as_str(), hold.spans.as_slice()),
            ("b1 alter_partition_send", &[span(100, 300, false, "held")][..])
        );
        let disks: Vec<(&str, &[Span])> = t
            .faults
            .iter()
            .filter(|l| l.kind == FaultKind::Disk)
            .map(|l| (l.label.as_str(), l.spans.as_slice()))
            .collect();
        assert_eq!(
            disks,
            [
                ("b2", &[span(400, 600, false, "fsync errors 20000 per million")][..]),
                ("b3", &[span(700, 1_000, true, "fsync errors 20000 per million")][..]),
            ]
        );
        let jump = &t.markers[0];
        assert_eq!(
            (jump.kind, jump.node.as_deref(), jump.label.as_str()),
            (MarkerKind::ClockJump, Some("b1"), "wall clock moved -5000 ms")
        );
    }

    #[test]
    fn partitions_show_leaders_isr_and_each_replicas_offsets() {
        let observed = |leader: i32, epoch: i32, isr: &str| {
            format!(
                r#"{{"isr":"{isr}","leader":{leader},"leader_epoch":{epoch},"partition":0,"replicas":"1,2,3","topic":"events"}}"#
            )
        };
        let t = timeline(
            &[
                line(100, "inspector", "partition_observed", &observed(1, 0, "1,2,3")),
                line(150, "inspector", "partition_observed", &observed(1, 0, "1,2,3")), // no change
                line(
                    200,
                    "b1",
                    "high_watermark_advanced",
                    r#"{"high_watermark":4,"isr":"1,2,3","isr_log_end_offsets":"1:5,2:4,3:4","leader_epoch":0,"leader_log_end_offset":5,"min_insync_replicas":2,"partition":0,"replication_factor":3,"topic":"events"}"#,
                ),
                line(
                    210,
                    "b2",
                    "batch_replicated",
                    r#"{"base_offset":4,"crc":1,"last_offset":6,"leader_epoch":0,"partition":0,"role":"follower","topic":"events"}"#,
                ),
                line(
                    220,
                    "b2",
                    "follower_high_watermark",
                    r#"{"high_watermark":4,"log_end_offset":7,"partition":0,"topic":"events"}"#,
                ),
                line(300, "inspector", "partition_observed", &observed(-1, 1, "2")),
                line(350, "inspector", "partition_observed", &observed(2, 2, "2,3")),
                line(
                    400,
                    "b1",
                    "log_recovered",
                    r#"{"checkpointed_recovery_point":0,"dir":"/data/events-0","log_end_offset":3,"log_start_offset":0,"segments_deleted":0,"segments_loaded":1,"segments_recovered":1,"truncated_bytes":9}"#,
                ),
                line(
                    450,
                    "b1",
                    "replica_truncated",
                    r#"{"high_watermark":3,"offset":2,"partition":0,"reason":"diverging_epoch","topic":"events"}"#,
                ),
            ],
            1_000,
        );
        assert_eq!(t.partitions.len(), 1);
        let p = &t.partitions[0];
        assert_eq!((p.topic.as_str(), p.partition, p.replicas.as_str()), ("events", 0, "1,2,3"));
        let leaders: Vec<(u64, u64, i32, i32)> =
            p.leaders.iter().map(|l| (l.from_ns / 1_000_000, l.to_ns / 1_000_000, l.leader, l.leader_epoch)).collect();
        assert_eq!(leaders, [(100, 300, 1, 0), (300, 350, -1, 1), (350, 1_000, 2, 2)]);
        let ms = |points: &[Point]| points.iter().map(|&(t, v)| (t / 1_000_000, v)).collect::<Vec<_>>();
        assert_eq!(ms(&p.isr_size), [(100, 3), (300, 1), (350, 2)]);
        let replica = |node: &str| p.replica_offsets.iter().find(|r| r.node == node).expect("a replica");
        assert_eq!(ms(&replica("b1").high_watermark), [(200, 4)]);
        assert_eq!(ms(&replica("b1").log_end_offset), [(200, 5), (400, 3), (450, 2)]);
        assert_eq!(ms(&replica("b2").high_watermark), [(220, 4)]);
        assert_eq!(ms(&replica("b2").log_end_offset), [(210, 7)]);
    }

    #[test]
    fn violations_and_the_panic_are_marked_and_stretch_the_axis() {
        let violations = [Violation::new("AckedRecordsSurvive", 7_000_000_000, "offset 3 lost")];
        let t = from_jsonl(&line(1, "b1", "anything", "{}"), 5_000_000_000, &violations, Some("time limit"));
        assert_eq!(t.end_ns, 7_000_000_000);
        let markers: Vec<(MarkerKind, u64, &str)> =
            t.markers.iter().map(|m| (m.kind, m.time_ns / 1_000_000, m.label.as_str())).collect();
        assert_eq!(
            markers,
            [
                (MarkerKind::Violation, 7_000, "AckedRecordsSurvive: offset 3 lost"),
                (MarkerKind::Panic, 7_000, "panic: time limit")
            ]
        );
    }

    #[test]
    fn a_malformed_or_unknown_event_is_skipped() {
        let t = timeline(
            &[
                line(1, "sim", "node_killed", r#"{"who":"b1"}"#),
                "not json\n".to_string(),
                line(2, "b1", "log_recovered", r#"{"dir":"/data/meta"}"#),
            ],
            10,
        );
        assert!(t.nodes.iter().all(|l| l.down.is_empty()), "{t:?}");
        assert!(t.partitions.is_empty());
    }

    #[test]
    fn long_series_are_thinned_keeping_dips() {
        let mut series: Vec<Point> = (0..10_000).map(|i| (i * 1_000, i as i64)).collect();
        series[5_000].1 = -7; // a truncation in the middle of a bucket
        let thinned = thin(series, 10_000 * 1_000);
        assert!(thinned.len() <= MAX_POINTS, "{}", thinned.len());
        assert!(thinned.contains(&(5_000_000, -7)), "the dip survives");
        assert_eq!(thinned.first(), Some(&(0, 0)));
        assert_eq!(thinned.last(), Some(&(9_999_000, 9_999)));
        let short: Vec<Point> = vec![(1, 1), (2, 2)];
        assert_eq!(thin(short.clone(), 10), short);
    }

    #[test]
    fn log_directories_name_their_partition() {
        assert_eq!(partition_of_dir("/data/events-2"), Some(("events".to_string(), 2)));
        assert_eq!(partition_of_dir("/data/my-topic-10"), Some(("my-topic".to_string(), 10)));
        assert_eq!(partition_of_dir("/data/meta"), None);
        assert_eq!(partition_of_dir("/data/events-x"), None);
    }
}
