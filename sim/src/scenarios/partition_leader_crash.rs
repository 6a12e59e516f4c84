//! partition-leader-crash
//!
//! Story: three nodes (`n1`–`n3`, each broker and controller, built by the production
//! `Node::build(env)`) form a KRaft cluster: a three-voter metadata quorum, and a topic of
//! three partitions with three replicas each and `min.insync.replicas=2`. An idempotent
//! producer writes with acks=all while a consumer reads. At seeded random times the
//! supervisor crashes one node — SIGKILL plus a disk that loses, tears or zero-fills what
//! was not synced — often the one leading partitions that are being written to, and
//! restarts it a moment later. The controller fences the dead broker, elects new leaders
//! from the ISR, and the restarted broker truncates by leader epoch, catches up and
//! rejoins. A broker whose disk fails an fsync halts (as Kafka's does) and is restarted
//! like a crashed one. At the end every node runs, and an auditor reads every partition.
//!
//! What must hold:
//! - `AckedRecordsSurvive`: every record acknowledged with acks=all is read back by the
//!   auditor at its offset (a leader's crash loses nothing the ISR acknowledged);
//! - `OneRecordPerOffset` and `NoVanishingReads`: no offset shows two records, and nothing
//!   a consumer read is taken back;
//! - the data-plane invariants of REPLICATION.md §6 (`replication_checkers`) and the Raft
//!   checkers of the metadata quorum (`raft_checkers`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use seedlog::broker::config::BrokerConfig;
use seedlog::broker::{Node, NodeEnv, NodeExit};
use seedlog::client::NewTopic;
use seedlog::runtime::{Disk, MemDiskFaults};
use tracing::{info, warn};

use crate::checker::Checker;
use crate::checkers::{raft_checkers, replication_checkers, AckedRecordsSurvive, NoVanishingReads, OneRecordPerOffset};
use crate::scenario::{Scenario, SuperviseFuture};
use crate::workloads;
use crate::world::{Halts, NodeEnv as SimEnv, World};

const NODES: [&str; 3] = ["n1", "n2", "n3"];
const TOPIC: &str = "events";
const PARTITIONS: i32 = 3;
const BROKER_PORT: u16 = 9092;
const CONTROLLER_PORT: u16 = 9093;

#[derive(Clone, Copy, Debug, Default)]
pub struct PartitionLeaderCrash;

impl Scenario for PartitionLeaderCrash {
    fn name(&self) -> &'static str {
        "partition-leader-crash"
    }

    fn story(&self) -> &'static str {
        "a 3-node KRaft cluster (RF=3, min ISR 2) under an idempotent acks=all producer; nodes \
         crash and restart at random, leaders move; nothing acked is lost, no read is taken back"
    }

    fn checkers(&self) -> Vec<Box<dyn Checker>> {
        let mut checkers: Vec<Box<dyn Checker>> = vec![
            Box::new(AckedRecordsSurvive::default()),
            Box::new(OneRecordPerOffset::default()),
            Box::new(NoVanishingReads::default()),
        ];
        checkers.extend(replication_checkers());
        checkers.extend(raft_checkers());
        checkers
    }

    fn time_limit(&self) -> Duration {
        Duration::from_secs(600)
    }

    fn supervise(&self, seed: u64) -> SuperviseFuture {
        Box::pin(async move {
            let world = World::new(seed);
            let mut rng = world.fork_rng();
            let faults = MemDiskFaults { read_error_rate: 0.0, ..MemDiskFaults::typical() };
            // Every node needs every voter's address; a node reads them when it first runs,
            // after the supervisor has added all three (it has not yielded yet).
            let voters: Arc<Mutex<Vec<String>>> = Arc::default();
            let halts = Halts::default();
            for (i, name) in NODES.iter().enumerate() {
                let (node_voters, node_halts) = (voters.clone(), halts.clone());
                let id = i as i32 + 1;
                world.add_node_with_faults(name, faults.clone(), move |env| {
                    node(env, id, node_voters.clone(), node_halts.clone())
                });
                let address = SocketAddr::new(world.ip(name), CONTROLLER_PORT);
                voters.lock().unwrap_or_else(|p| p.into_inner()).push(format!("{id}@{address}"));
            }
            let bootstrap: Vec<String> =
                NODES.iter().map(|n| SocketAddr::new(world.ip(n), BROKER_PORT).to_string()).collect();
            let bootstrap = bootstrap.join(",");
            let stop = Arc::new(AtomicBool::new(false));
            let (producer_bootstrap, producer_stop) = (bootstrap.clone(), stop.clone());
            world.add_node("producer", move |env| {
                workloads::produce(env, producer_bootstrap.clone(), topic(), producer_stop.clone())
            });
            let (consumer_bootstrap, consumer_stop) = (bootstrap.clone(), stop.clone());
            world.add_node("consumer", move |env| {
                workloads::consume(env, consumer_bootstrap.clone(), TOPIC, PARTITIONS, consumer_stop.clone())
            });

            // Let the quorum form, the brokers register and the topic appear.
            world.sleep_restarting(&halts, 5_000).await;
            let crashes = rng.random_range(2..6);
            for _ in 0..crashes {
                world.sleep_restarting(&halts, rng.random_range(1_000..4_000)).await;
                let victim = NODES[rng.random_range(0..NODES.len())];
                world.kill(victim);
                world.sleep_restarting(&halts, rng.random_range(100..3_000)).await;
                world.restart(victim);
            }
            world.sleep_restarting(&halts, rng.random_range(1_000..3_000)).await;
            stop.store(true, Ordering::SeqCst);
            // Let in-flight sends settle and the restarted replicas catch up, then audit.
            world.sleep_restarting(&halts, 10_000).await;
            let done = Arc::new(AtomicBool::new(false));
            let (audit_bootstrap, audit_done) = (bootstrap.clone(), done.clone());
            world.add_node("auditor", move |_env| {
                workloads::audit(audit_bootstrap.clone(), TOPIC, PARTITIONS, audit_done.clone())
            });
            while !done.load(Ordering::SeqCst) {
                world.sleep_restarting(&halts, 100).await;
            }
            info!(name: "scenario_finished", crashes);
        })
    }
}

/// The topic: three replicas per partition, acknowledged by at least two.
fn topic() -> NewTopic {
    NewTopic {
        name: TOPIC.to_string(),
        partitions: Some(PARTITIONS),
        replication_factor: Some(3),
        configs: vec![("min.insync.replicas".to_string(), "2".to_string())],
    }
}

/// One node: broker and controller, the production node on the simulated disk and network.
async fn node(env: SimEnv, id: i32, voters: Arc<Mutex<Vec<String>>>, halts: Halts) {
    let voters = voters.lock().unwrap_or_else(|p| p.into_inner()).join(",");
    let overrides: Vec<(String, String)> = [
        ("node.id", id.to_string()),
        ("process.roles", "broker,controller".to_string()),
        ("controller.quorum.voters", voters),
        ("controller.listener.names", "CONTROLLER".to_string()),
        ("listeners", format!("PLAINTEXT://{}:{BROKER_PORT},CONTROLLER://{}:{CONTROLLER_PORT}", env.ip, env.ip)),
        ("log.dirs", "/data".to_string()),
        ("log.segment.bytes", (256 << 10).to_string()),
        ("log.flush.scheduler.interval.ms", "100".to_string()),
        ("default.replication.factor", "3".to_string()),
        ("min.insync.replicas", "2".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let config = BrokerConfig::from_properties("", &overrides).expect("scenario config is valid");
    let disk: Arc<dyn Disk> = env.disk.clone();
    let node_env = NodeEnv { config, disk, clock: env.clock.clone(), rng: env.rng };
    match Node::build(node_env).await {
        Ok(node) => {
            if let NodeExit::Halted(why) = node.run(std::future::pending()).await {
                warn!(name: "node_halted", why = %why);
                halts.report(&env.name);
            }
        }
        Err(error) => warn!(name: "node_start_failed", error = %error),
    }
}
