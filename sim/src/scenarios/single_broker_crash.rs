//! single-broker-crash
//!
//! Story: one broker (built by the same `Node::build(env)` as production) serves a topic of
//! three partitions to an idempotent producer (acks=all) and a consumer, both on seedlog's
//! Rust client in their own simulated nodes. At seeded random times the broker's machine
//! crashes — SIGKILL plus a disk that loses, tears or zero-fills everything not yet synced —
//! and restarts after a short while. The clients reconnect and carry on. At the end the
//! disk is healed, the broker restarts a last time, and an auditor reads every partition
//! from the start to its end.
//!
//! What must hold — the true single-broker guarantee (and every data-plane invariant of
//! REPLICATION.md §6 that applies to a replica set of one, through `replication_checkers`):
//! - `AckedRecordsSurvive`: every record acknowledged with acks=all (durable) is read back
//!   by the auditor at its offset;
//! - `OneRecordPerOffset`: no offset of a partition ever holds two different records, in
//!   acks, consumer reads and the audit;
//! - `NoVanishingReads`: every record a consumer saw is still there for the auditor.
//!
//! Variant `lying_fsync` (tests only): the broker's disk acknowledges fsyncs it never does;
//! acknowledged records vanish and the checkers must say so.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use seedlog::broker::config::BrokerConfig;
use seedlog::broker::{Node, NodeEnv};
use seedlog::client::NewTopic;
use seedlog::runtime::{Disk, MemDiskFaults};
use tracing::{info, warn};

use crate::checker::Checker;
use crate::checkers::{AckedRecordsSurvive, NoVanishingReads, OneRecordPerOffset};
use crate::scenario::{Scenario, SuperviseFuture};
use crate::workloads::Clients;
use crate::world::{Halts, NodeEnv as SimEnv, World};

const BROKER: &str = "broker";
const TOPIC: &str = "events";
const PARTITIONS: i32 = 3;
const PORT: u16 = 9092;

/// The scenario; `lying_fsync` (tests only) gives the broker a disk whose fsync does
/// nothing, which the checkers must catch.
#[derive(Clone, Copy, Debug, Default)]
pub struct SingleBrokerCrash {
    pub lying_fsync: bool,
}

impl Scenario for SingleBrokerCrash {
    fn name(&self) -> &'static str {
        "single-broker-crash"
    }

    fn story(&self) -> &'static str {
        "a broker serving an idempotent acks=all producer and a consumer crashes and restarts at \
         random times, losing unsynced writes; nothing acked is lost and no read is taken back"
    }

    fn checkers(&self) -> Vec<Box<dyn Checker>> {
        let mut checkers: Vec<Box<dyn Checker>> = vec![
            Box::new(AckedRecordsSurvive::default()),
            Box::new(OneRecordPerOffset::default()),
            Box::new(NoVanishingReads::default()),
        ];
        // A standalone broker leads every partition alone through the same replica core a
        // cluster uses: the data-plane invariants hold for it too.
        checkers.extend(crate::checkers::replication_checkers());
        checkers
    }

    fn supervise(&self, seed: u64) -> SuperviseFuture {
        let lying_fsync = self.lying_fsync;
        Box::pin(async move {
            let world = World::new(seed);
            let mut rng = world.fork_rng();
            let faults = MemDiskFaults { read_error_rate: 0.0, lying_fsync, ..MemDiskFaults::typical() };
            world.add_node_with_faults(BROKER, faults, broker);
            let bootstrap = SocketAddr::new(world.ip(BROKER), PORT).to_string();
            let clients = Clients::start(&world, &bootstrap, topic());

            let crashes = rng.random_range(3..8);
            for _ in 0..crashes {
                tokio::time::sleep(Duration::from_millis(rng.random_range(200..1_500))).await;
                world.kill(BROKER);
                tokio::time::sleep(Duration::from_millis(rng.random_range(10..500))).await;
                world.restart(BROKER);
            }
            tokio::time::sleep(Duration::from_millis(rng.random_range(200..1_000))).await;
            clients.stop(&world, &Halts::default()).await;
            // Let in-flight sends settle, then heal the disk and audit after a last crash.
            tokio::time::sleep(Duration::from_secs(3)).await;
            world.kill(BROKER);
            world.disk(BROKER).set_faults(MemDiskFaults { lying_fsync, ..MemDiskFaults::none() });
            world.restart(BROKER);
            clients.audit(&world, &Halts::default()).await;
            info!(name: "scenario_finished", crashes);
        })
    }
}

/// The broker node: the production broker on the simulated disk and network.
async fn broker(env: SimEnv) {
    let overrides: Vec<(String, String)> = [
        ("node.id", "1".to_string()),
        ("listeners", format!("PLAINTEXT://{}:{PORT}", env.ip)),
        ("log.dirs", "/data".to_string()),
        ("log.segment.bytes", (256 << 10).to_string()),
        ("log.flush.scheduler.interval.ms", "100".to_string()),
        ("num.partitions", PARTITIONS.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let config = BrokerConfig::from_properties("", &overrides).expect("scenario config is valid");
    let disk: Arc<dyn Disk> = env.disk.clone();
    let node_env =
        NodeEnv { config, disk, clock: env.clock.clone(), rng: env.rng, fault_points: env.fault_points.clone() };
    match Node::build(node_env).await {
        Ok(node) => {
            node.run(std::future::pending()).await;
        }
        Err(error) => warn!(name: "broker_start_failed", error = %error),
    }
}

/// The topic the producer creates: a replica set of one.
fn topic() -> NewTopic {
    NewTopic { name: TOPIC.to_string(), partitions: Some(PARTITIONS), replication_factor: Some(1), configs: Vec::new() }
}
