//! The world a scenario's supervisor builds: named simulated nodes, each with its own
//! in-memory disk, wall clock and seeded random source, that can be killed and restarted.
//!
//! A node is a madsim node whose init closure receives a [`NodeEnv`]; madsim calls it again
//! on every restart (a new incarnation, same disk and clock, a fresh RNG fork). Killing a
//! node is a machine crash: madsim drops its tasks and closes its sockets, and its
//! [`MemDisk`] crashes at the same simulated instant (unsynced data is lost per the disk's
//! fault model).
//!
//! Network and node faults (partitions, one-way cuts, lagging links, pauses) are in
//! [`crate::network`], with their fault model; they survive a kill and restart, except a
//! pause, which a kill ends.
//!
//! All randomness is derived from the run's seed: the world's source is `seeded(seed)`, each
//! node gets a fork of it in creation order, each incarnation a fork of the node's. Buggify
//! (`buggify.rs`) draws from its own source, also derived from the seed, so turning it on
//! does not change the world's other draws.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex, MutexGuard};

use madsim::runtime::Handle;
use madsim::task::NodeId;
use rand::Rng;
use seedlog::events::Event;
use seedlog::runtime::{fork, seeded, Buggify, Clock, FaultPoints, MemDisk, MemDiskFaults, NodeRng};

use crate::buggify::BuggifyPlan;
use crate::events::{DiskReplaced, NodeKilled, NodeRestarted};
use crate::network::NetworkFaults;
use crate::triggers::Triggers;

/// What a node's init closure gets on each (re)start.
pub struct NodeEnv {
    /// The node's name (also its trace `node`).
    pub name: String,
    /// The node's IP address in the simulated network.
    pub ip: IpAddr,
    /// The node's disk: survives restarts, crashes when the node is killed.
    pub disk: Arc<MemDisk>,
    /// The node's wall clock (the simulator may skew it).
    pub clock: Clock,
    /// A random source for this incarnation.
    pub rng: NodeRng,
    /// 0 at the first start, +1 per restart.
    pub incarnation: u64,
    /// The node's fault points: survive restarts, armed by the supervisor
    /// (`sim/src/fault_points.rs`).
    pub fault_points: FaultPoints,
}

/// The simulated nodes of one run. Build it inside `Scenario::supervise`.
pub struct World {
    handle: Handle,
    rng: RefCell<NodeRng>,
    nodes: RefCell<BTreeMap<String, SimNode>>,
    /// Shared with the tasks that drive lagging links.
    network_faults: Arc<Mutex<NetworkFaults>>,
    /// The run's armed waits for traced events (`triggers.rs`).
    triggers: Triggers,
    /// Seeded source and, once on, the enabled points of buggify (`buggify.rs`).
    pub(crate) buggify: RefCell<BuggifyPlan>,
}

struct SimNode {
    id: NodeId,
    ip: IpAddr,
    disk: Arc<MemDisk>,
    clock: Clock,
    fault_points: FaultPoints,
    killed: Cell<bool>,
}

/// What the init closure keeps between incarnations.
struct Incarnations {
    next: u64,
    rng: NodeRng,
}

impl World {
    /// A world with no nodes, its randomness derived from `seed`. Must run inside the
    /// simulation (in `supervise`).
    pub fn new(seed: u64) -> Self {
        World {
            handle: Handle::current(),
            rng: RefCell::new(seeded(seed)),
            nodes: RefCell::new(BTreeMap::new()),
            network_faults: Arc::new(Mutex::new(NetworkFaults::default())),
            triggers: Triggers::current(),
            buggify: RefCell::new(BuggifyPlan::new(seed)),
        }
    }

    /// The run's triggers (see [`World::next_event`]).
    pub(crate) fn triggers(&self) -> &Triggers {
        &self.triggers
    }

    /// madsim's handle, for what the world does not wrap (spawning on a node, network plugins).
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// A random source for the supervisor's own choices (fault times, workload sizes).
    pub fn fork_rng(&self) -> NodeRng {
        fork(&mut self.rng.borrow_mut())
    }

    /// Adds and starts a node with a fault-free disk; `init` runs on it now and after every
    /// restart. Its IP is 10.0.x.y in creation order (see [`World::ip`]).
    pub fn add_node<F, Fut>(&self, name: &str, init: F) -> NodeId
    where
        F: Fn(NodeEnv) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        self.add_node_with_disk(name, MemDisk::new, init)
    }

    /// Like [`World::add_node`], with a disk that injects `faults`.
    pub fn add_node_with_faults<F, Fut>(&self, name: &str, faults: MemDiskFaults, init: F) -> NodeId
    where
        F: Fn(NodeEnv) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        self.add_node_with_disk(name, move |seed| MemDisk::with_faults(seed, faults), init)
    }

    fn add_node_with_disk<F, Fut>(&self, name: &str, disk: impl FnOnce(u64) -> MemDisk, init: F) -> NodeId
    where
        F: Fn(NodeEnv) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        assert!(!self.nodes.borrow().contains_key(name), "node `{name}` already exists");
        let mut node_rng = self.fork_rng();
        let disk = Arc::new(disk(node_rng.random()));
        let clock = Clock::system();
        let ip = node_ip(self.nodes.borrow().len());
        let incarnations = Mutex::new(Incarnations { next: 0, rng: fork(&mut node_rng) });
        let fault_points = match self.buggify.borrow_mut().for_node() {
            Some((enabled, rng)) => FaultPoints::with_buggify(Buggify::new(enabled, rng)),
            None => FaultPoints::default(),
        };
        let env = (name.to_string(), disk.clone(), clock.clone(), fault_points.clone());
        let node = self
            .handle
            .create_node()
            .name(name)
            .ip(ip)
            .init(move || {
                let mut inc = incarnations.lock().unwrap_or_else(|p| p.into_inner());
                let incarnation = inc.next;
                inc.next += 1;
                init(NodeEnv {
                    name: env.0.clone(),
                    ip,
                    disk: env.1.clone(),
                    clock: env.2.clone(),
                    rng: fork(&mut inc.rng),
                    incarnation,
                    fault_points: env.3.clone(),
                })
            })
            .build();
        let id = node.id();
        let sim_node = SimNode { id, ip, disk, clock, fault_points, killed: Cell::new(false) };
        self.nodes.borrow_mut().insert(name.to_string(), sim_node);
        self.network_faults().add_node(name, id);
        id
    }

    /// Crashes the node: its tasks stop, its connections close and its disk crashes, all at
    /// this simulated instant. A pause ends with it. Emits `node_killed`.
    pub fn kill(&self, name: &str) {
        self.with_node(name, |node| {
            self.handle.kill(node.id);
            node.disk.crash();
            node.killed.set(true);
        });
        self.network_faults().node_killed(name);
        NodeKilled { node: name.to_string() }.emit();
    }

    /// Starts the node again from its init closure, on the same disk and clock. A node that
    /// is still running is killed first (madsim keeps sockets bound otherwise). Emits
    /// `node_restarted`.
    pub fn restart(&self, name: &str) {
        if !self.with_node(name, |node| node.killed.get()) {
            self.kill(name);
        }
        self.with_node(name, |node| {
            self.handle.restart(node.id);
            node.killed.set(false);
        });
        NodeRestarted { node: name.to_string() }.emit();
    }

    /// Swaps the disk of a killed node for a new, empty one (a failed disk replaced): its next
    /// incarnation starts with nothing, as a machine whose disk was changed. Emits
    /// `disk_replaced`.
    pub fn replace_disk(&self, name: &str) {
        self.with_node(name, |node| {
            assert!(node.killed.get(), "replace the disk of `{name}` only while it is down");
            node.disk.replace_with_empty();
        });
        DiskReplaced { node: name.to_string() }.emit();
    }

    /// Whether the node is down (killed and not restarted).
    pub fn is_killed(&self, name: &str) -> bool {
        self.with_node(name, |node| node.killed.get())
    }

    /// The node's madsim id.
    pub fn id(&self, name: &str) -> NodeId {
        self.with_node(name, |node| node.id)
    }

    /// The node's IP address.
    pub fn ip(&self, name: &str) -> IpAddr {
        self.with_node(name, |node| node.ip)
    }

    /// The node's disk (the simulator's handle on it: inspect, inject faults).
    pub fn disk(&self, name: &str) -> Arc<MemDisk> {
        self.with_node(name, |node| node.disk.clone())
    }

    /// The node's wall clock (skew, drift, jump it).
    pub fn clock(&self, name: &str) -> Clock {
        self.with_node(name, |node| node.clock.clone())
    }

    /// The node's fault points (see `sim/src/fault_points.rs` for arming them).
    pub(crate) fn fault_points(&self, name: &str) -> FaultPoints {
        self.with_node(name, |node| node.fault_points.clone())
    }

    /// Names of all nodes, sorted.
    pub fn node_names(&self) -> Vec<String> {
        self.nodes.borrow().keys().cloned().collect()
    }

    /// The network and node faults' bookkeeping (see [`crate::network`]).
    pub(crate) fn network_faults(&self) -> MutexGuard<'_, NetworkFaults> {
        self.network_faults.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A handle on the network faults' bookkeeping, for the tasks that drive lagging links.
    pub(crate) fn network_faults_shared(&self) -> Arc<Mutex<NetworkFaults>> {
        self.network_faults.clone()
    }

    fn with_node<T>(&self, name: &str, f: impl FnOnce(&SimNode) -> T) -> T {
        let nodes = self.nodes.borrow();
        let node = nodes.get(name).unwrap_or_else(|| panic!("no node named `{name}`"));
        f(node)
    }
}

/// 10.0.0.1, 10.0.0.2, … for the nodes in creation order.
fn node_ip(index: usize) -> IpAddr {
    let n = u32::try_from(index + 1).expect("too many nodes");
    IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | n))
}

/// Nodes whose process stopped on its own (a broker that halted after a disk error), for
/// the supervisor to restart as a process supervisor would.
#[derive(Clone, Debug, Default)]
pub struct Halts(Arc<Mutex<HaltState>>);

#[derive(Debug, Default)]
struct HaltState {
    halted: Vec<String>,
    last_restart: Option<tokio::time::Instant>,
}

impl Halts {
    /// Called by a node's main future when its process stops on its own.
    pub fn report(&self, name: &str) {
        self.lock().halted.push(name.to_string());
    }

    /// When the supervisor last restarted a halted node (a fault ended then).
    pub fn last_restart(&self) -> Option<tokio::time::Instant> {
        self.lock().last_restart
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.lock().halted)
    }

    fn lock(&self) -> MutexGuard<'_, HaltState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl World {
    /// Sleeps `ms`, restarting every node that halted meanwhile (100 ms after its halt).
    pub async fn sleep_restarting(&self, halts: &Halts, ms: u64) {
        let mut slept = 0;
        while slept < ms {
            let step = (ms - slept).min(100);
            tokio::time::sleep(std::time::Duration::from_millis(step)).await;
            slept += step;
            for name in halts.take() {
                if !self.is_killed(&name) {
                    self.restart(&name);
                    halts.lock().last_restart = Some(seedlog::runtime::now());
                }
            }
        }
    }
}
