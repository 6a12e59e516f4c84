//! A KRaft cluster in the simulator, for scenarios: nodes built by the production
//! `Node::build(env)` on simulated disks and network, in combined mode (every node broker
//! and controller) or with separate controllers; an inspector node that watches partition
//! leaders and ISRs through Metadata, as an operator would; and restarts of nodes that
//! halted (a broker whose log failed), as a process supervisor would.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use seedlog::broker::config::{BrokerConfig, ConfigError};
use seedlog::broker::{Node, NodeEnv, NodeExit};
use seedlog::client::{Admin, ConnectionConfig, PartitionInfo};
use seedlog::events::Event;
use seedlog::runtime::{Disk, MemDiskFaults};
use tracing::warn;

use crate::events::{NodeHalted, PartitionObserved};
use crate::world::{Halts, NodeEnv as SimEnv, World};

pub const BROKER_PORT: u16 = 9092;
pub const CONTROLLER_PORT: u16 = 9093;

/// How the cluster is laid out.
#[derive(Clone, Debug)]
pub struct ClusterSpec {
    /// Brokers `b1…` (node ids 1…); in combined mode each is also a controller.
    pub brokers: usize,
    /// Separate controllers `c1…` (node ids 101…); 0 for combined mode.
    pub controllers: usize,
    /// Config overrides every node gets (Kafka keys).
    pub overrides: Vec<(String, String)>,
    /// Config overrides of single nodes (by name), applied after `overrides`.
    pub node_overrides: BTreeMap<String, Vec<(String, String)>>,
    /// The disks' faults.
    pub disk_faults: MemDiskFaults,
}

impl ClusterSpec {
    /// `brokers` combined nodes with the given overrides.
    pub fn combined(brokers: usize, overrides: &[(&str, &str)]) -> Self {
        ClusterSpec {
            brokers,
            controllers: 0,
            overrides: overrides.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            node_overrides: BTreeMap::new(),
            disk_faults: MemDiskFaults { read_error_rate: 0.0, ..MemDiskFaults::typical() },
        }
    }
}

/// Partition states as the inspector last saw them, by (topic, partition), with when.
pub type Observed = Arc<Mutex<BTreeMap<(String, i32), (PartitionInfo, tokio::time::Instant)>>>;

/// The brokers the inspector last saw listed in Metadata (KRaft lists the unfenced ones).
pub type LiveBrokers = Arc<Mutex<BTreeSet<i32>>>;

/// The inspector reports an unchanged partition again after this long, so that a checker
/// (or a wait) can tell a fresh observation from one made before a fault.
const REPORT_AGAIN_MS: u64 = 1_000;

/// A running simulated cluster.
pub struct SimCluster {
    /// Broker node names, `b1…`, whose node ids are 1….
    pub brokers: Vec<String>,
    /// Controller node names (the brokers themselves in combined mode).
    pub controllers: Vec<String>,
    pub halts: Halts,
    bootstrap: String,
    observed: Observed,
    live_brokers: LiveBrokers,
}

impl SimCluster {
    /// Adds the nodes to `world` (they start once the supervisor yields).
    pub fn start(world: &World, spec: &ClusterSpec) -> SimCluster {
        let combined = spec.controllers == 0;
        let brokers: Vec<String> = (1..=spec.brokers).map(|i| format!("b{i}")).collect();
        let separate: Vec<String> = (1..=spec.controllers).map(|i| format!("c{i}")).collect();
        let voters: Arc<Mutex<Vec<String>>> = Arc::default();
        let halts = Halts::default();
        let add = |name: &str, id: i32, roles: &'static str| {
            let mut overrides = spec.overrides.clone();
            overrides.extend(spec.node_overrides.get(name).cloned().unwrap_or_default());
            let (node_voters, node_halts) = (voters.clone(), halts.clone());
            world.add_node_with_faults(name, spec.disk_faults.clone(), move |env| {
                node(env, id, roles, node_voters.clone(), overrides.clone(), node_halts.clone())
            });
        };
        for (i, name) in brokers.iter().enumerate() {
            add(name, i as i32 + 1, if combined { "broker,controller" } else { "broker" });
        }
        for (i, name) in separate.iter().enumerate() {
            add(name, 101 + i as i32, "controller");
        }
        let controllers = if combined { brokers.clone() } else { separate };
        for name in &controllers {
            let id = node_id(name);
            let address = SocketAddr::new(world.ip(name), CONTROLLER_PORT);
            voters.lock().unwrap_or_else(|p| p.into_inner()).push(format!("{id}@{address}"));
        }
        let bootstrap: Vec<String> =
            brokers.iter().map(|n| SocketAddr::new(world.ip(n), BROKER_PORT).to_string()).collect();
        let cluster = SimCluster {
            brokers,
            controllers,
            halts,
            bootstrap: bootstrap.join(","),
            observed: Observed::default(),
            live_brokers: LiveBrokers::default(),
        };
        let (inspector_bootstrap, observed) = (cluster.bootstrap.clone(), cluster.observed.clone());
        let live = cluster.live_brokers.clone();
        world.add_node("inspector", move |_env| inspect(inspector_bootstrap.clone(), observed.clone(), live.clone()));
        cluster
    }

    /// Every broker's client address, comma-separated.
    pub fn bootstrap(&self) -> String {
        self.bootstrap.clone()
    }

    /// The partition's leader, ISR and epoch as last seen by the inspector.
    pub fn partition(&self, topic: &str, partition: i32) -> Option<PartitionInfo> {
        let observed = self.observed.lock().unwrap_or_else(|p| p.into_inner());
        observed.get(&(topic.to_string(), partition)).map(|(info, _)| info.clone())
    }

    /// The ids of the brokers the inspector last saw listed in Metadata: registered and
    /// unfenced, as the answering broker's metadata had it.
    pub fn live_brokers(&self) -> BTreeSet<i32> {
        self.live_brokers.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The node name of the partition's leader, if it has one.
    pub fn leader_of(&self, topic: &str, partition: i32) -> Option<String> {
        let info = self.partition(topic, partition)?;
        (info.leader >= 0).then(|| broker_name(info.leader))
    }

    /// Waits (restarting halted nodes) until every observed partition has a leader and a
    /// full ISR, seen after the wait began and after the last restart, or `bound_ms` passes;
    /// whether they converged. `PartitionsConvergeAfterHeal` judges the same from the trace.
    pub async fn wait_converged(&self, world: &World, bound_ms: u64) -> bool {
        let start = seedlog::runtime::now();
        let mut waited_ms = 0;
        while waited_ms < bound_ms {
            // Observations count from the wait's start, or from a halted node's restart
            // during it (that ended a fault: what was seen before may be gone).
            let since = self.halts.last_restart().map_or(start, |restart| restart.max(start));
            let converged = {
                let seen = self.observed.lock().unwrap_or_else(|p| p.into_inner());
                !seen.is_empty()
                    && seen.values().all(|(p, at)| {
                        let mut isr = p.isr.clone();
                        let mut replicas = p.replicas.clone();
                        isr.sort_unstable();
                        replicas.sort_unstable();
                        *at > since && p.leader >= 0 && isr == replicas
                    })
            };
            if converged {
                return true;
            }
            world.sleep_restarting(&self.halts, 100).await;
            waited_ms += 100;
        }
        false
    }

    /// A follower in the partition's ISR, if there is one.
    pub fn follower_of(&self, topic: &str, partition: i32) -> Option<String> {
        let info = self.partition(topic, partition)?;
        info.isr.iter().find(|id| **id != info.leader).map(|id| broker_name(*id))
    }
}

/// `b3` → 3, `c2` → 102.
pub fn node_id(name: &str) -> i32 {
    let n: i32 = name[1..].parse().expect("node names are a letter and a number");
    if name.starts_with('c') {
        100 + n
    } else {
        n
    }
}

/// 3 → `b3`.
pub fn broker_name(id: i32) -> String {
    format!("b{id}")
}

/// One node of the cluster, restarted by the scenario when it halts or fails to start.
async fn node(
    env: SimEnv,
    id: i32,
    roles: &'static str,
    voters: Arc<Mutex<Vec<String>>>,
    overrides: Vec<(String, String)>,
    halts: Halts,
) {
    let voters = voters.lock().unwrap_or_else(|p| p.into_inner()).join(",");
    let config = node_config(id, roles, env.ip, &voters, &overrides).expect("scenario config is valid");
    let disk: Arc<dyn Disk> = env.disk.clone();
    let node_env =
        NodeEnv { config, disk, clock: env.clock.clone(), rng: env.rng, fault_points: env.fault_points.clone() };
    match Node::build(node_env).await {
        Ok(node) => {
            if let NodeExit::Halted(why) = node.run(std::future::pending()).await {
                NodeHalted { node: env.name.clone(), why }.emit();
                halts.report(&env.name);
            }
        }
        Err(error) => {
            // As a process supervisor would, the scenario starts it again: a transient read
            // error (an injected bit flip in a small metadata file) passes on the next start.
            warn!(name: "node_start_failed", error = %error);
            NodeHalted { node: env.name.clone(), why: error.to_string() }.emit();
            halts.report(&env.name);
        }
    }
}

/// The config of node `id` with `roles` at `ip`, with the quorum `voters` and `overrides`:
/// what every simulated node runs on (small segments, a frequent flush check).
pub fn node_config(
    id: i32,
    roles: &str,
    ip: IpAddr,
    voters: &str,
    overrides: &[(String, String)],
) -> Result<BrokerConfig, ConfigError> {
    let listeners = if roles == "controller" {
        format!("CONTROLLER://{ip}:{CONTROLLER_PORT}")
    } else if roles == "broker" {
        format!("PLAINTEXT://{ip}:{BROKER_PORT}")
    } else {
        format!("PLAINTEXT://{ip}:{BROKER_PORT},CONTROLLER://{ip}:{CONTROLLER_PORT}")
    };
    let mut all: Vec<(String, String)> = [
        ("node.id", id.to_string()),
        ("process.roles", roles.to_string()),
        ("controller.quorum.voters", voters.to_string()),
        ("controller.listener.names", "CONTROLLER".to_string()),
        ("listeners", listeners),
        ("log.dirs", "/data".to_string()),
        ("log.segment.bytes", (256 << 10).to_string()),
        ("log.flush.scheduler.interval.ms", "100".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    all.extend(overrides.iter().cloned());
    BrokerConfig::from_properties("", &all)
}

/// Whether `overrides` make a valid config for a node of the cluster (checked before a
/// scenario starts, so a bad key is reported by name instead of failing inside the run).
pub fn check_overrides(overrides: &[(String, String)]) -> Result<(), ConfigError> {
    let ip = IpAddr::from([10, 0, 0, 1]);
    node_config(1, "broker,controller", ip, &format!("1@{ip}:{CONTROLLER_PORT}"), overrides).map(|_| ())
}

/// The inspector: describes every topic every 200 ms and keeps the last answer (and the
/// brokers it lists); reports a partition when it changed, and again every second.
async fn inspect(bootstrap: String, observed: Observed, live_brokers: LiveBrokers) {
    let admin = Admin::new(&bootstrap, ConnectionConfig::default()).expect("bootstrap parses");
    loop {
        let refreshed = admin.cluster().refresh_metadata(None).await;
        if let Ok(topics) = refreshed.map(|_| admin.cluster().metadata()) {
            *live_brokers.lock().unwrap_or_else(|p| p.into_inner()) = topics.brokers.keys().copied().collect();
            let mut seen = observed.lock().unwrap_or_else(|p| p.into_inner());
            for topic in topics.topics.values() {
                for partition in &topic.partitions {
                    let key = (topic.name.clone(), partition.partition);
                    let now = seedlog::runtime::now();
                    let stale = seen.get(&key).is_none_or(|(last, at)| {
                        last != partition || now.duration_since(*at) >= Duration::from_millis(REPORT_AGAIN_MS)
                    });
                    if stale {
                        report(&topic.name, partition);
                        seen.insert(key, (partition.clone(), now));
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn report(topic: &str, partition: &PartitionInfo) {
    let ids = |ids: &[i32]| ids.iter().map(|id| id.to_string()).collect::<Vec<_>>().join(",");
    PartitionObserved {
        topic: topic.to_string(),
        partition: partition.partition,
        leader: partition.leader,
        leader_epoch: partition.leader_epoch,
        replicas: ids(&partition.replicas),
        isr: ids(&partition.isr),
    }
    .emit();
}
