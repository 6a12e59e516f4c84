//! Fault points and disk replacement, each shown to do what it claims: a held point stops
//! the work that reaches it on that node only, until the supervisor lets it through or
//! releases it; a replaced disk comes back empty.
#![cfg(madsim)]

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use seedlog::runtime::{Disk, FaultPoint, OpenMode};
use sim::World;
use sim::{run_seed, Checker, NodeEnv, Scenario, SuperviseFuture};

const POINT: FaultPoint = FaultPoint::AlterPartitionSend;

/// A scenario made of one supervisor function, without checkers.
struct Story {
    supervise: fn(u64) -> SuperviseFuture,
}

impl Scenario for Story {
    fn name(&self) -> &'static str {
        "fault-points"
    }

    fn story(&self) -> &'static str {
        "fault points and disk replacement shown on plain nodes"
    }

    fn checkers(&self) -> Vec<Box<dyn Checker>> {
        Vec::new()
    }

    fn supervise(&self, seed: u64) -> SuperviseFuture {
        (self.supervise)(seed)
    }
}

/// Passes the point every 10 ms, counting each pass in `passed`.
async fn passer(env: NodeEnv, passed: Arc<AtomicU64>) {
    loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
        env.fault_points.pass(POINT).await;
        passed.fetch_add(1, Ordering::SeqCst);
    }
}

fn hold_story(_seed: u64) -> SuperviseFuture {
    Box::pin(async move {
        let world = World::new(1);
        let (held, free) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        for (name, passed) in [("held", held.clone()), ("free", free.clone())] {
            world.add_node(name, move |env| passer(env, passed.clone()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(held.load(Ordering::SeqCst) > 5, "the point passes while not held");
        world.hold("held", POINT);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let (held_at, free_at) = (held.load(Ordering::SeqCst), free.load(Ordering::SeqCst));
        tokio::time::sleep(Duration::from_secs(20)).await;
        assert_eq!(held.load(Ordering::SeqCst), held_at, "nothing passes a held point");
        assert_eq!(world.waiting_at("held", POINT), 1);
        assert!(free.load(Ordering::SeqCst) > free_at + 1_000, "the other node's point is not held");
        // Let through: the waiting pass goes, the next one waits again.
        world.let_through("held", POINT);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(held.load(Ordering::SeqCst), held_at + 1, "exactly the waiting pass went through");
        assert_eq!(world.waiting_at("held", POINT), 1);
        // A kill drops the waiter; the hold survives the restart.
        world.kill("held");
        // madsim drops a killed node's tasks when it next schedules them.
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(world.waiting_at("held", POINT), 0);
        world.restart("held");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(world.waiting_at("held", POINT), 1, "the new incarnation waits too");
        // Heal releases every point.
        world.heal();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(world.waiting_at("held", POINT), 0);
        assert!(held.load(Ordering::SeqCst) > held_at + 5, "a released point passes again");
    })
}

#[test]
fn a_held_point_stops_only_its_node_until_let_through_or_released() {
    let outcome = run_seed(&Story { supervise: hold_story }, 1);
    assert!(outcome.passed, "{:?}", outcome.failure_lines());
    let lines: Vec<serde_json::Value> =
        outcome.trace_jsonl.lines().map(|line| serde_json::from_str(line).expect("each trace line is JSON")).collect();
    let named = |name: &str| lines.iter().filter(|e| e["name"] == name).cloned().collect::<Vec<_>>();
    assert_eq!(named("fault_point_armed").len(), 1);
    let released = named("fault_point_released");
    assert_eq!(released.len(), 2, "{released:?}");
    assert_eq!(
        (released[0]["fields"]["waiting"].clone(), released[0]["fields"]["still_held"].clone()),
        (1.into(), true.into())
    );
    assert_eq!(released[1]["fields"]["still_held"], false);
    assert!(named("fault_point_held").iter().all(|e| e["node"] == "held"));
    assert_eq!(named("fault_point_passed").len(), 2);
}

fn disk_story(_seed: u64) -> SuperviseFuture {
    Box::pin(async move {
        let world = World::new(2);
        world.add_node("n", |env| async move {
            if env.incarnation == 0 {
                let disk: Arc<dyn Disk> = env.disk.clone();
                disk.create_dir_all(Path::new("/data")).await.expect("mkdir");
                let file = disk.open(Path::new("/data/f"), OpenMode::Create).await.expect("open");
                file.append(Bytes::from_static(b"kept")).await.expect("append");
                file.sync().await.expect("sync");
                disk.sync_dir(Path::new("/data")).await.expect("sync dir");
            }
            std::future::pending::<()>().await;
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let disk = world.disk("n");
        assert_eq!(disk.file_names(Path::new("/data")), vec!["f".to_string()]);
        world.kill("n");
        assert_eq!(disk.file_names(Path::new("/data")), vec!["f".to_string()], "a crash keeps synced files");
        world.replace_disk("n");
        world.restart("n");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(disk.file_names(Path::new("/data")).is_empty(), "a replaced disk is empty");
    })
}

#[test]
fn a_replaced_disk_comes_back_empty() {
    let outcome = run_seed(&Story { supervise: disk_story }, 2);
    assert!(outcome.passed, "{:?}", outcome.failure_lines());
    assert!(outcome.trace_jsonl.contains("\"disk_replaced\""));
}
