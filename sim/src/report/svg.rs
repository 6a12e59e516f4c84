//! Draws one run's [`Timeline`] as an inline SVG, server-side, so index.html needs no script
//! and no network to show it.
//!
//! One SVG per kept seed, one shared time axis (simulated seconds) across the top, then
//! lanes, each labelled on the left:
//! - per node: a thin line while up, a red bar while down (`node-down`: killed or halted,
//!   until restarted), an amber one while paused (`node-paused`), and its own markers
//!   (clock jumps, disk replacements) as small diamonds;
//! - per fault subject: shaded intervals (`fault fault-partition`, `fault-cut`, `fault-lag`,
//!   `fault-hold`, `fault-disk`), outlined dashed when still in force at the end;
//! - per partition (a `<g class="partition" data-partition="TOPIC-P">`): its leader as
//!   coloured bars labelled `b2 e3` (`leader`: broker 2 in leader epoch 3; grey `leader-none`
//!   without one), its ISR size as a step line (`isr`), and each replica's high watermark
//!   (`hw`, solid) and log end offset (`leo`, dashed) as step lines in the colour of the
//!   node that hosts it (`data-node`);
//! - run-wide instants as vertical lines over every lane: violations in red
//!   (`marker marker-violation`, with a head at the top), the panic that ended the run, heals,
//!   lagged followers.
//!
//! Every bar, line and marker carries a `<title>` (its tooltip): what it was and when.
//! Brokers are named as the simulator's clusters name them (`cluster.rs`): broker id N is
//! node `bN`, controller id 100+N is `cN`; a node keeps its colour in every lane.

use std::fmt::Write;

use crate::report::timeline::{FaultLane, Marker, MarkerKind, NodeLane, PartitionLane, Point, Span, Timeline};
use crate::report::xml::escape;

const LABEL_W: f64 = 190.0;
const PLOT_W: f64 = 880.0;
const WIDTH: f64 = LABEL_W + PLOT_W + 20.0;
const AXIS_H: f64 = 24.0;
const LANE_H: f64 = 14.0;
const GAP: f64 = 4.0;
const HEADER_H: f64 = 20.0;
const ISR_H: f64 = 28.0;
const OFFSETS_H: f64 = 96.0;

/// Node colours (a colour-blind-friendly categorical palette).
const PALETTE: [&str; 10] =
    ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];

/// The timeline as an `<svg>` element with id `id`.
pub fn render(id: &str, timeline: &Timeline) -> String {
    let mut canvas = Canvas { body: String::new(), y: AXIS_H, end_ns: timeline.end_ns.max(1), nodes: Vec::new() };
    canvas.nodes = timeline.nodes.iter().map(|lane| lane.node.clone()).collect();
    if !timeline.nodes.is_empty() {
        canvas.header("nodes", "section");
        for lane in &timeline.nodes {
            canvas.node_lane(lane, &timeline.markers);
        }
    }
    if !timeline.faults.is_empty() {
        canvas.header("faults", "section");
        for lane in &timeline.faults {
            canvas.fault_lane(lane);
        }
    }
    for lane in &timeline.partitions {
        canvas.partition(lane);
    }
    let height = canvas.y + GAP;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        "<svg id=\"{}\" class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {WIDTH} {height:.0}\" font-family=\"sans-serif\" font-size=\"11\">",
        escape(id)
    );
    svg.push_str(&canvas.axis(height));
    svg.push_str(&canvas.body);
    for marker in timeline.markers.iter().filter(|m| m.node.is_none()) {
        svg.push_str(&canvas.run_marker(marker, height));
    }
    svg.push_str("</svg>\n");
    svg
}

struct Canvas {
    body: String,
    /// Top of the next lane.
    y: f64,
    end_ns: u64,
    /// Node names in lane order (for colours of nodes not named `bN`/`cN`).
    nodes: Vec<String>,
}

impl Canvas {
    fn x(&self, t: u64) -> f64 {
        LABEL_W + PLOT_W * (t.min(self.end_ns) as f64) / (self.end_ns as f64)
    }

    fn header(&mut self, text: &str, class: &str) {
        let _ = writeln!(
            self.body,
            "<text class=\"{class}\" x=\"4\" y=\"{:.1}\" font-weight=\"bold\">{}</text>",
            self.y + HEADER_H - 6.0,
            escape(text)
        );
        self.y += HEADER_H;
    }

    fn label(&mut self, text: &str, height: f64) {
        let _ = writeln!(
            self.body,
            "<text class=\"lane-label\" x=\"12\" y=\"{:.1}\">{}</text>",
            self.y + height / 2.0 + 4.0,
            escape(text)
        );
    }

    fn rect(&mut self, class: &str, from_ns: u64, to_ns: u64, height: f64, fill: Option<&str>, title: &str) {
        let (x0, x1) = (self.x(from_ns), self.x(to_ns));
        let fill = fill.map(|f| format!(" fill=\"{f}\"")).unwrap_or_default();
        let _ = writeln!(
            self.body,
            "<rect class=\"{class}\" x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{height:.1}\"{fill}><title>{}</title></rect>",
            self.y,
            (x1 - x0).max(1.0),
            escape(title)
        );
    }

    fn node_lane(&mut self, lane: &NodeLane, markers: &[Marker]) {
        self.label(&lane.node, LANE_H);
        let _ = writeln!(
            self.body,
            "<rect class=\"node-up\" x=\"{LABEL_W}\" y=\"{:.1}\" width=\"{PLOT_W}\" height=\"2\" fill=\"{}\"/>",
            self.y + LANE_H / 2.0 - 1.0,
            self.colour(&lane.node)
        );
        for span in &lane.down {
            let title = format!("{} down ({}) {}", lane.node, span.label, during(span));
            self.rect(&open_class("node-down", span), span.from_ns, span.to_ns, LANE_H, None, &title);
        }
        for span in &lane.paused {
            let title = format!("{} paused {}", lane.node, during(span));
            self.rect(&open_class("node-paused", span), span.from_ns, span.to_ns, LANE_H, None, &title);
        }
        for marker in markers.iter().filter(|m| m.node.as_deref() == Some(lane.node.as_str())) {
            let (x, y) = (self.x(marker.time_ns), self.y + LANE_H / 2.0);
            let _ = writeln!(
                self.body,
                "<path class=\"marker marker-{}\" d=\"M{x:.1},{:.1} l5,7 l-5,7 l-5,-7 z\"><title>{} at {}: {}</title></path>",
                marker.kind.name(),
                y - 7.0,
                escape(&lane.node),
                seconds(marker.time_ns),
                escape(&marker.label)
            );
        }
        self.y += LANE_H + GAP;
    }

    fn fault_lane(&mut self, lane: &FaultLane) {
        self.label(&format!("{} {}", lane.kind.name(), lane.label), LANE_H);
        for span in &lane.spans {
            let title = format!("{} {}: {} {}", lane.kind.name(), lane.label, span.label, during(span));
            let class = open_class(&format!("fault fault-{}", lane.kind.name()), span);
            self.rect(&class, span.from_ns, span.to_ns, LANE_H, None, &title);
        }
        self.y += LANE_H + GAP;
    }

    fn partition(&mut self, lane: &PartitionLane) {
        let name = format!("{}-{}", lane.topic, lane.partition);
        let replicas = if lane.replicas.is_empty() { String::new() } else { format!(" (replicas {})", lane.replicas) };
        self.header(&format!("partition {name}{replicas}"), "section partition-title");
        let _ = writeln!(self.body, "<g class=\"partition\" data-partition=\"{}\">", escape(&name));

        if !lane.leaders.is_empty() {
            self.label("leader, epoch", LANE_H);
            for span in &lane.leaders {
                let (class, fill, text) = if span.leader < 0 {
                    ("leader leader-none", "#cccccc".to_string(), "none".to_string())
                } else {
                    let node = broker_name(span.leader);
                    ("leader", self.colour(&node).to_string(), format!("{node} e{}", span.leader_epoch))
                };
                let title = format!(
                    "{name}: leader {text}, ISR {} from {} to {}",
                    span.isr,
                    seconds(span.from_ns),
                    seconds(span.to_ns)
                );
                self.rect(class, span.from_ns, span.to_ns, LANE_H, Some(&fill), &title);
                let (x0, x1) = (self.x(span.from_ns), self.x(span.to_ns));
                if x1 - x0 > 7.0 * text.len() as f64 {
                    let _ = writeln!(
                        self.body,
                        "<text class=\"leader-label\" x=\"{:.1}\" y=\"{:.1}\" fill=\"#fff\" font-size=\"10\">{}</text>",
                        x0 + 3.0,
                        self.y + LANE_H - 3.0,
                        escape(&text)
                    );
                }
            }
            self.y += LANE_H + GAP;
        }

        if !lane.isr_size.is_empty() {
            let max = lane.isr_size.iter().map(|p| p.1).max().unwrap_or(1).max(1);
            self.label(&format!("ISR size (0–{max})"), ISR_H);
            self.axis_box(ISR_H);
            if let Some(d) = self.step_path(&lane.isr_size, max, ISR_H) {
                let title = format!("{name}: ISR size");
                let _ = writeln!(
                    self.body,
                    "<path class=\"isr\" d=\"{d}\" fill=\"none\" stroke=\"#444\" stroke-width=\"1.5\"><title>{}</title></path>",
                    escape(&title)
                );
            }
            self.y += ISR_H + GAP;
        }

        if !lane.replica_offsets.is_empty() {
            let max = lane
                .replica_offsets
                .iter()
                .flat_map(|r| r.high_watermark.iter().chain(&r.log_end_offset))
                .map(|p| p.1)
                .max()
                .unwrap_or(1)
                .max(1);
            self.label(&format!("offsets (0–{max})"), 16.0);
            let legend_y = self.y + 30.0;
            let _ = writeln!(
                self.body,
                "<text class=\"legend\" x=\"12\" y=\"{legend_y:.1}\" font-size=\"10\">HW solid, LEO dashed</text>"
            );
            self.axis_box(OFFSETS_H);
            for (i, replica) in lane.replica_offsets.iter().enumerate() {
                let colour = self.colour(&replica.node).to_string();
                let _ = writeln!(
                    self.body,
                    "<text class=\"legend\" x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"{colour}\">{}</text>",
                    12.0 + 34.0 * (i % 5) as f64,
                    legend_y + 14.0 * (1 + i / 5) as f64,
                    escape(&replica.node)
                );
                let node = escape(&replica.node);
                if let Some(d) = self.step_path(&replica.log_end_offset, max, OFFSETS_H) {
                    let _ = writeln!(
                        self.body,
                        "<path class=\"leo\" data-node=\"{node}\" d=\"{d}\" fill=\"none\" stroke=\"{colour}\" \
                         stroke-width=\"1\" stroke-dasharray=\"4 2\"><title>{name} on {node}: log end offset</title></path>"
                    );
                }
                if let Some(d) = self.step_path(&replica.high_watermark, max, OFFSETS_H) {
                    let _ = writeln!(
                        self.body,
                        "<path class=\"hw\" data-node=\"{node}\" d=\"{d}\" fill=\"none\" stroke=\"{colour}\" \
                         stroke-width=\"1.5\"><title>{name} on {node}: high watermark</title></path>"
                    );
                }
            }
            self.y += OFFSETS_H + GAP;
        }
        self.body.push_str("</g>\n");
    }

    /// A light frame for a chart lane.
    fn axis_box(&mut self, height: f64) {
        let _ = writeln!(
            self.body,
            "<rect class=\"chart\" x=\"{LABEL_W}\" y=\"{:.1}\" width=\"{PLOT_W}\" height=\"{height:.1}\" fill=\"#fafafa\" stroke=\"#ddd\"/>",
            self.y
        );
    }

    /// A step line through `points` (each value holds until the next point, the last to the
    /// end), values 0..=max mapped onto the lane's height.
    fn step_path(&self, points: &[Point], max: i64, height: f64) -> Option<String> {
        let (first, rest) = points.split_first()?;
        let y = |v: i64| self.y + height - 1.0 - (height - 2.0) * (v.clamp(0, max) as f64) / (max as f64);
        let mut d = format!("M{:.1},{:.1}", self.x(first.0), y(first.1));
        for &(t, v) in rest {
            let _ = write!(d, "H{:.1}V{:.1}", self.x(t), y(v));
        }
        let _ = write!(d, "H{:.1}", self.x(self.end_ns));
        Some(d)
    }

    /// The time axis: ticks and faint grid lines over the whole height.
    fn axis(&self, height: f64) -> String {
        let end_ms = self.end_ns / 1_000_000;
        let step_ms = [1u64, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 30_000, 60_000]
            .into_iter()
            .find(|step| end_ms / step <= 12)
            .unwrap_or(((end_ms / 12) / 60_000 + 1) * 60_000);
        let mut out = String::from("<g class=\"axis\">\n");
        let mut t_ms = 0;
        while t_ms <= end_ms {
            let x = self.x(t_ms * 1_000_000);
            let label =
                if step_ms >= 1_000 { format!("{} s", t_ms / 1_000) } else { format!("{:.3} s", t_ms as f64 / 1e3) };
            let _ = writeln!(
                out,
                "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{height:.1}\" stroke=\"#eee\"/>\
                 <text x=\"{x:.1}\" y=\"14\" text-anchor=\"middle\" fill=\"#555\">{label}</text>",
                AXIS_H - 4.0
            );
            t_ms += step_ms;
        }
        let _ = writeln!(out, "<text x=\"4\" y=\"14\" fill=\"#555\">simulated time</text>");
        out.push_str("</g>\n");
        out
    }

    /// A run-wide instant: a vertical line over every lane (a violation also gets a head).
    fn run_marker(&self, marker: &Marker, height: f64) -> String {
        let x = self.x(marker.time_ns);
        let (stroke, dash, width) = match marker.kind {
            MarkerKind::Violation => ("#d00", "", 1.5),
            MarkerKind::Panic => ("#000", "", 2.0),
            MarkerKind::Heal => ("#2a2", " stroke-dasharray=\"3 3\"", 1.0),
            _ => ("#84c", " stroke-dasharray=\"2 4\"", 1.0),
        };
        let title = format!("{} at {}", marker.label, seconds(marker.time_ns));
        let head = if matches!(marker.kind, MarkerKind::Violation | MarkerKind::Panic) {
            format!("<path d=\"M{:.1},{:.1} h10 l-5,8 z\" fill=\"{stroke}\"/>", x - 5.0, AXIS_H - 8.0)
        } else {
            String::new()
        };
        format!(
            "<g class=\"marker marker-{}\"><title>{}</title>{head}<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" \
             y2=\"{height:.1}\" stroke=\"{stroke}\" stroke-width=\"{width}\"{dash}/></g>\n",
            marker.kind.name(),
            escape(&title),
            AXIS_H - 2.0
        )
    }

    fn colour(&self, node: &str) -> &'static str {
        let numbered = |prefix: char, offset: usize| {
            node.strip_prefix(prefix).and_then(|n| n.parse::<usize>().ok()).filter(|n| *n >= 1).map(|n| n - 1 + offset)
        };
        let index = numbered('b', 0)
            .or_else(|| numbered('c', 5))
            .unwrap_or_else(|| 3 + self.nodes.iter().position(|n| n == node).unwrap_or(0));
        PALETTE[index % PALETTE.len()]
    }
}

/// The node name of broker (or controller) id `id`, as `cluster.rs` names them.
pub fn broker_name(id: i32) -> String {
    if id > 100 {
        format!("c{}", id - 100)
    } else {
        format!("b{id}")
    }
}

/// `class`, plus ` open` when the span was still in force at the end (outlined dashed).
fn open_class(class: &str, span: &Span) -> String {
    if span.open {
        format!("{class} open")
    } else {
        class.to_string()
    }
}

/// `from A to B` or `from A to the end`.
fn during(span: &Span) -> String {
    if span.open {
        format!("from {} to the end", seconds(span.from_ns))
    } else {
        format!("from {} to {}", seconds(span.from_ns), seconds(span.to_ns))
    }
}

/// Simulated ns as seconds with ms: `6.100 s`.
pub fn seconds(ns: u64) -> String {
    format!("{}.{:03} s", ns / 1_000_000_000, (ns / 1_000_000) % 1_000)
}
