//! Network and node faults of the simulated [`World`]: partitions, one-way cuts, lagging
//! links, paused nodes, and `heal`, which undoes them all.
//!
//! Fault model (what madsim 0.2.34's simulated network does, read from its source and shown
//! by `sim/tests/network.rs`, and what this module builds on it):
//! - madsim has one per-link fault: a directed link `from → to` is *clogged* or not
//!   (`NetSim::clog_link`). Every network fault here is a set of clogged directed links. The
//!   world keeps, per fault, the links it needs and clogs in madsim exactly their union, so
//!   lifting one fault never reopens a link another fault still blocks.
//! - Over a clogged link `from → to`:
//!   - `TcpStream::connect` from `from` to `to` fails with `ConnectionRefused` in the 3 ms of
//!     simulated time every madsim connect takes (three internal sleeps; any madsim sleep
//!     lasts at least 1 ms), not after a timeout. madsim tests only the `from → to` direction
//!     when connecting, so over a one-way cut a connect from `to` to `from` succeeds, and its
//!     replies are held;
//!   - bytes flushed on an open stream are held, never dropped nor reordered, and the stream
//!     is never reset: the writer's writes succeed (madsim has no flow control) and the
//!     reader waits. The receiving side retests the link after 1, 2, 4, … ms (capped at
//!     10 s) and delivers after the first retest that finds it open, so a write held for `h`
//!     arrives up to `min(h, 10 s)` + 1 ms + the latency after the link reopens. Later writes on the same
//!     stream wait behind a held one (head of line), and once it is released a backlog of `n`
//!     writes drains at one write per retest step (1 ms) + the network latency (1–10 ms by
//!     default): a thousand writes held by a partition take seconds to arrive after the heal;
//!   - the link is tested when a write is flushed: bytes flushed before the link was clogged
//!     are in flight and arrive.
//!
//!   Only the applications' own timeouts notice a partition, as with a real silent network.
//! - [`World::partition`] replaces the current partition: nodes in different groups reach each
//!   other in neither direction; a node in no group keeps full connectivity (a bridge, as in
//!   Jepsen's bridge nemesis). A partition with fewer than two groups is no partition.
//! - [`World::cut_one_way`] clogs one direction; cuts add up until [`World::heal`].
//! - [`World::lag`]: madsim draws every write's latency from one network-wide range
//!   (`Config::net.send_latency`, see `Scenario::config`); it has no per-link latency, and a
//!   clogged link (its only per-link lever) holds bytes until it reopens. A lagging link is
//!   therefore modelled as a link that *stalls*: it is held for `delay`, then flows for
//!   [`lag_flow`]`(delay)` (`min(delay, 10 s) + 1 ms`, just long enough for every stream's
//!   first held write to pass its next retest), over and over, starting with a hold. What
//!   it is: writes flushed during a hold arrive during the next flow, between the end of the
//!   hold and `2 × delay + 1 ms` after they were flushed (more for a long backlog, see
//!   above); a round trip that starts in a hold takes at least the rest of the hold; a node
//!   that must keep up over the link (a follower fetching) falls behind by about `delay` at
//!   a time. What it is not: a constant delay per write (a write flushed while the link
//!   flows arrives at the network's normal latency, and connects to `to` attempted during a
//!   hold are refused), nor a bandwidth limit. Other links are untouched. For a uniformly
//!   slow network, raise the network-wide latency in `Scenario::config` instead.
//! - [`World::pause`] freezes a node like SIGSTOP or a long GC pause: none of its tasks runs
//!   (a timer that expires meanwhile wakes its task, which madsim parks until
//!   [`World::resume`], so overdue timers fire at once on resume), while the rest of the
//!   world and the simulated clock go on. Its sockets stay open, as the kernel's would:
//!   connects to it succeed, and bytes sent to it queue until it reads them after resuming.
//! - Network faults belong to links, not to incarnations: they survive [`World::kill`] and
//!   [`World::restart`] (madsim keeps clogged links when it resets a node). A pause belongs to
//!   the process: killing a paused node ends the pause (the frozen process is gone, madsim
//!   drops its parked tasks), and its next incarnation runs.
//! - Every fault emits one trace event from the supervisor (node `sim`), see the `emit_*`
//!   functions: `network_partitioned`, `link_cut`, `link_lagged`, `node_paused`,
//!   `node_resumed`, `network_healed`. Lag phases emit nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use madsim::net::NetSim;
use madsim::task::NodeId;
use tokio::task::JoinHandle;

use seedlog::events::Event;

use crate::events::{LinkCut, LinkLagged, NetworkHealed, NetworkPartitioned, NodePaused, NodeResumed};
use crate::world::World;

/// A directed link `(from, to)` between two named nodes.
pub type Link = (String, String);

/// The longest a madsim stream waits between two retests of a clogged link.
const MAX_RETEST_BACKOFF: Duration = Duration::from_secs(10);

/// How long a lagging link flows between two holds of `delay`: long enough that every held
/// stream's next retest (at most `min(delay, 10 s)` + 1 ms after the hold ends) finds it open.
pub fn lag_flow(delay: Duration) -> Duration {
    delay.min(MAX_RETEST_BACKOFF) + Duration::from_millis(1)
}

/// The world's network and node faults, shared with the tasks that drive lagging links.
///
/// Invariants:
/// - every node a fault names is a node of the world (`ids`), and no fault links a node to
///   itself;
/// - the partition's groups are non-empty and pairwise disjoint;
/// - every lag's delay is at least 1 ms;
/// - between operations, `clogged` (the links this world has clogged in madsim) equals
///   `desired_clogs()`: madsim blocks exactly the links some fault needs now.
#[derive(Default)]
pub struct NetworkFaults {
    /// madsim ids of the world's nodes, by name.
    ids: BTreeMap<String, NodeId>,
    /// The current partition's groups (empty: none).
    partition: Vec<Vec<String>>,
    /// One-way cuts.
    cuts: BTreeSet<Link>,
    /// Lagging links.
    lags: BTreeMap<Link, Lag>,
    /// Paused nodes.
    paused: BTreeSet<String>,
    /// The links this world has clogged in madsim.
    clogged: BTreeSet<Link>,
    /// Tells a lag's task whether it still drives its link.
    next_lag_generation: u64,
}

struct Lag {
    delay: Duration,
    /// In a hold (clogged) rather than flowing.
    holding: bool,
    generation: u64,
    /// The task that alternates holds and flows.
    task: Option<JoinHandle<()>>,
}

/// What [`NetworkFaults::heal`] lifted.
struct Healed {
    partitioned_groups: usize,
    cuts: usize,
    lags: usize,
    paused: Vec<String>,
}

impl NetworkFaults {
    /// Registers a node (the world calls this when it adds one).
    pub(crate) fn add_node(&mut self, name: &str, id: NodeId) {
        self.ids.insert(name.to_string(), id);
        self.check_invariants();
    }

    /// Whether madsim blocks `from → to` now because of this world's faults.
    pub fn is_clogged(&self, from: &str, to: &str) -> bool {
        self.clogged.contains(&(from.to_string(), to.to_string()))
    }

    /// Whether the node is paused.
    pub fn is_paused(&self, name: &str) -> bool {
        self.paused.contains(name)
    }

    /// The links every fault needs clogged now: across the partition's groups, the cuts, and
    /// the lagging links in a hold.
    pub fn desired_clogs(&self) -> BTreeSet<Link> {
        let mut links = BTreeSet::new();
        for (i, group) in self.partition.iter().enumerate() {
            for (j, other) in self.partition.iter().enumerate() {
                if i == j {
                    continue;
                }
                for from in group {
                    links.extend(other.iter().map(|to| (from.clone(), to.clone())));
                }
            }
        }
        links.extend(self.cuts.iter().cloned());
        links.extend(self.lags.iter().filter(|(_, lag)| lag.holding).map(|(link, _)| link.clone()));
        links
    }

    /// Clogs and unclogs in madsim what it takes to make `clogged` equal `desired_clogs()`.
    fn apply(&mut self) {
        let desired = self.desired_clogs();
        let net = NetSim::current();
        for (from, to) in desired.difference(&self.clogged) {
            net.clog_link(self.ids[from], self.ids[to]);
        }
        for (from, to) in self.clogged.difference(&desired) {
            net.unclog_link(self.ids[from], self.ids[to]);
        }
        self.clogged = desired;
        self.check_invariants();
    }

    fn set_partition(&mut self, groups: Vec<Vec<String>>) {
        let mut seen = BTreeSet::new();
        for name in groups.iter().flatten() {
            assert!(seen.insert(name), "node `{name}` is in two groups of the partition");
        }
        self.partition = if groups.len() >= 2 { groups } else { Vec::new() };
        self.apply();
    }

    fn add_cut(&mut self, link: Link) {
        assert_ne!(link.0, link.1, "a node cannot be cut from itself");
        self.cuts.insert(link);
        self.apply();
    }

    /// Starts (or restarts) a lag in its first hold; returns its generation.
    fn start_lag(&mut self, link: Link, delay: Duration) -> u64 {
        assert_ne!(link.0, link.1, "a node cannot lag behind itself");
        assert!(delay >= Duration::from_millis(1), "a lag of {delay:?} is below madsim's 1 ms retest step");
        let generation = self.next_lag_generation;
        self.next_lag_generation += 1;
        let lag = Lag { delay, holding: true, generation, task: None };
        if let Some(old) = self.lags.insert(link, lag) {
            old.abort();
        }
        self.apply();
        generation
    }

    fn set_lag_task(&mut self, link: &Link, generation: u64, task: JoinHandle<()>) {
        match self.lags.get_mut(link) {
            Some(lag) if lag.generation == generation => lag.task = Some(task),
            _ => task.abort(),
        }
    }

    /// Moves a lag to a hold or a flow; false if that lag was lifted or replaced.
    fn set_lag_phase(&mut self, link: &Link, generation: u64, holding: bool) -> bool {
        match self.lags.get_mut(link) {
            Some(lag) if lag.generation == generation => {
                lag.holding = holding;
                self.apply();
                true
            }
            _ => false,
        }
    }

    fn pause(&mut self, name: &str) {
        assert!(self.paused.insert(name.to_string()), "node `{name}` is already paused");
        self.check_invariants();
    }

    fn resume(&mut self, name: &str) {
        assert!(self.paused.remove(name), "node `{name}` is not paused");
        self.check_invariants();
    }

    /// A killed node's pause ends with its process.
    pub(crate) fn node_killed(&mut self, name: &str) {
        self.paused.remove(name);
        self.check_invariants();
    }

    fn heal(&mut self) -> Healed {
        let healed = Healed {
            partitioned_groups: self.partition.len(),
            cuts: self.cuts.len(),
            lags: self.lags.len(),
            paused: std::mem::take(&mut self.paused).into_iter().collect(),
        };
        self.partition.clear();
        self.cuts.clear();
        for (_, lag) in std::mem::take(&mut self.lags) {
            lag.abort();
        }
        self.apply();
        healed
    }

    /// Asserts the invariants listed at the type.
    pub fn check_invariants(&self) {
        let known = |name: &String| assert!(self.ids.contains_key(name), "a fault names unknown node `{name}`");
        let mut in_groups = BTreeSet::new();
        for group in &self.partition {
            assert!(!group.is_empty(), "empty partition group");
            for name in group {
                known(name);
                assert!(in_groups.insert(name), "node `{name}` is in two partition groups");
            }
        }
        for (from, to) in self.cuts.iter().chain(self.lags.keys()).chain(&self.clogged) {
            known(from);
            known(to);
            assert_ne!(from, to, "a fault links node `{from}` to itself");
        }
        for (link, lag) in &self.lags {
            assert!(lag.delay >= Duration::from_millis(1), "lag on {link:?} below 1 ms");
        }
        self.paused.iter().for_each(known);
        assert_eq!(self.clogged, self.desired_clogs(), "madsim's clogged links differ from what the faults need");
    }
}

impl Lag {
    fn abort(self) {
        if let Some(task) = self.task {
            task.abort();
        }
    }
}

impl World {
    /// Partitions the network: nodes in different `groups` cannot reach each other, in either
    /// direction; nodes in no group reach everyone. Replaces the previous partition (cuts and
    /// lags stay). Emits `network_partitioned`.
    pub fn partition(&self, groups: &[&[&str]]) {
        for name in groups.iter().copied().flatten() {
            self.id(name);
        }
        let owned: Vec<Vec<String>> =
            groups.iter().map(|group| group.iter().map(|name| name.to_string()).collect()).collect();
        assert!(owned.iter().all(|group| !group.is_empty()), "an empty partition group");
        self.network_faults().set_partition(owned.clone());
        emit_network_partitioned(&owned);
    }

    /// Cuts the link from `from` to `to`: their packets stop, the other direction still
    /// flows. Emits `link_cut`.
    pub fn cut_one_way(&self, from: &str, to: &str) {
        self.id(from);
        self.id(to);
        self.network_faults().add_cut((from.to_string(), to.to_string()));
        emit_link_cut(from, to);
    }

    /// Makes the link from `from` to `to` lag: it stalls for `delay`, then flows for
    /// [`lag_flow`]`(delay)`, over and over (see the module's fault model for why a stall
    /// and what it means). Replaces a lag already on that link. Emits `link_lagged`.
    pub fn lag(&self, from: &str, to: &str, delay: Duration) {
        self.id(from);
        self.id(to);
        let link: Link = (from.to_string(), to.to_string());
        let generation = self.network_faults().start_lag(link.clone(), delay);
        let task = tokio::spawn(drive_lag(self.network_faults_shared(), link.clone(), generation, delay));
        self.network_faults().set_lag_task(&link, generation, task);
        emit_link_lagged(from, to, delay, lag_flow(delay));
    }

    /// Freezes the node: its tasks stop running until [`World::resume`]. The node must be
    /// running and not paused. Emits `node_paused`.
    pub fn pause(&self, name: &str) {
        assert!(!self.is_killed(name), "cannot pause killed node `{name}`");
        self.network_faults().pause(name);
        self.handle().pause(self.id(name));
        emit_node_paused(name);
    }

    /// Lets a paused node run again, as if it had only frozen. Emits `node_resumed`.
    pub fn resume(&self, name: &str) {
        self.network_faults().resume(name);
        self.handle().resume(self.id(name));
        emit_node_resumed(name);
    }

    /// Lifts every partition, cut and lag, and resumes every paused node (emitting
    /// `node_resumed` for each), releases every held fault point (`fault_point_released`),
    /// then emits `network_healed`.
    pub fn heal(&self) {
        self.release_all();
        let healed = self.network_faults().heal();
        for name in &healed.paused {
            self.handle().resume(self.id(name));
            emit_node_resumed(name);
        }
        emit_network_healed(&healed);
    }

    /// Whether the node is paused.
    pub fn is_paused(&self, name: &str) -> bool {
        self.id(name);
        self.network_faults().is_paused(name)
    }

    /// Whether the world's faults block packets from `from` to `to` right now (a partition, a
    /// cut, or a lag in its hold).
    pub fn is_link_blocked(&self, from: &str, to: &str) -> bool {
        self.id(from);
        self.id(to);
        self.network_faults().is_clogged(from, to)
    }
}

fn lock(faults: &Mutex<NetworkFaults>) -> MutexGuard<'_, NetworkFaults> {
    faults.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Alternates a lag's holds and flows until the lag is lifted or replaced.
async fn drive_lag(faults: Arc<Mutex<NetworkFaults>>, link: Link, generation: u64, delay: Duration) {
    let mut holding = true;
    loop {
        tokio::time::sleep(if holding { delay } else { lag_flow(delay) }).await;
        holding = !holding;
        if !lock(&faults).set_lag_phase(&link, generation, holding) {
            return;
        }
    }
}

/// `groups` as [`NetworkPartitioned`] reports it.
fn emit_network_partitioned(groups: &[Vec<String>]) {
    let groups = if groups.len() >= 2 {
        groups.iter().map(|g| g.join(",")).collect::<Vec<_>>().join("|")
    } else {
        String::new()
    };
    NetworkPartitioned { groups }.emit();
}

fn emit_link_cut(from: &str, to: &str) {
    LinkCut { from: from.to_string(), to: to.to_string() }.emit();
}

fn emit_link_lagged(from: &str, to: &str, delay: Duration, flow: Duration) {
    let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
    let flow_ms = u64::try_from(flow.as_millis()).unwrap_or(u64::MAX);
    LinkLagged { from: from.to_string(), to: to.to_string(), delay_ms, flow_ms }.emit();
}

fn emit_node_paused(node: &str) {
    NodePaused { node: node.to_string() }.emit();
}

fn emit_node_resumed(node: &str) {
    NodeResumed { node: node.to_string() }.emit();
}

fn emit_network_healed(healed: &Healed) {
    NetworkHealed {
        partition_groups: healed.partitioned_groups as u64,
        cuts: healed.cuts as u64,
        lags: healed.lags as u64,
        resumed: healed.paused.len() as u64,
    }
    .emit();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bookkeeping for nodes `names` (madsim ids come only from a runtime's nodes).
    fn faults(names: &[&str]) -> NetworkFaults {
        let runtime = madsim::runtime::Runtime::new();
        let mut faults = NetworkFaults::default();
        for name in names {
            faults.ids.insert(name.to_string(), runtime.create_node().name(*name).build().id());
        }
        faults
    }

    fn link(from: &str, to: &str) -> Link {
        (from.to_string(), to.to_string())
    }

    #[test]
    fn a_partition_clogs_every_link_between_groups_both_ways_and_no_other() {
        let mut f = faults(&["a", "b", "c", "d"]);
        f.partition = vec![vec!["a".into()], vec!["b".into(), "c".into()]];
        let expected: BTreeSet<Link> =
            [link("a", "b"), link("a", "c"), link("b", "a"), link("c", "a")].into_iter().collect();
        assert_eq!(f.desired_clogs(), expected);
    }

    #[test]
    fn cuts_and_holding_lags_add_to_the_partition() {
        let mut f = faults(&["a", "b", "c"]);
        f.partition = vec![vec!["a".into()], vec!["b".into()]];
        f.cuts.insert(link("a", "b"));
        f.cuts.insert(link("c", "a"));
        f.lags
            .insert(link("b", "c"), Lag { delay: Duration::from_millis(5), holding: false, generation: 0, task: None });
        let flowing = f.desired_clogs();
        assert_eq!(flowing, [link("a", "b"), link("b", "a"), link("c", "a")].into_iter().collect());
        f.lags.get_mut(&link("b", "c")).unwrap().holding = true;
        assert!(f.desired_clogs().contains(&link("b", "c")));
    }

    #[test]
    fn the_flow_outlasts_the_retest_gap_of_a_write_held_for_the_whole_hold() {
        assert_eq!(lag_flow(Duration::from_millis(200)), Duration::from_millis(201));
        assert_eq!(lag_flow(Duration::from_secs(60)), Duration::from_millis(10_001));
    }

    #[test]
    #[should_panic(expected = "clogged links differ")]
    fn invariants_catch_a_link_clogged_for_no_fault() {
        let mut f = faults(&["a", "b"]);
        f.clogged.insert(link("a", "b"));
        f.check_invariants();
    }

    #[test]
    #[should_panic(expected = "clogged links differ")]
    fn invariants_catch_a_fault_not_applied() {
        let mut f = faults(&["a", "b"]);
        f.cuts.insert(link("a", "b"));
        f.check_invariants();
    }

    #[test]
    #[should_panic(expected = "in two partition groups")]
    fn invariants_catch_overlapping_groups() {
        let mut f = faults(&["a", "b"]);
        f.partition = vec![vec!["a".into()], vec!["a".into(), "b".into()]];
        f.clogged = f.desired_clogs();
        f.check_invariants();
    }

    #[test]
    #[should_panic(expected = "unknown node `z`")]
    fn invariants_catch_an_unknown_node() {
        let mut f = faults(&["a"]);
        f.paused.insert("z".into());
        f.check_invariants();
    }

    #[test]
    #[should_panic(expected = "to itself")]
    fn invariants_catch_a_self_link() {
        let mut f = faults(&["a"]);
        f.cuts.insert(link("a", "a"));
        f.clogged = f.desired_clogs();
        f.check_invariants();
    }

    #[test]
    fn a_consistent_state_passes() {
        let mut f = faults(&["a", "b", "c"]);
        f.partition = vec![vec!["a".into()], vec!["b".into(), "c".into()]];
        f.cuts.insert(link("c", "b"));
        f.paused.insert("b".into());
        f.clogged = f.desired_clogs();
        f.check_invariants();
    }
}
