//! The world's network and node faults, each shown to do what it claims over simulated TCP.
//!
//! Every node runs an echo server: it reports each `u64` it reads to the supervisor (and the
//! trace, as `probe_received`) and writes it back. The supervisor opens probe connections
//! from one node to another (a task spawned on the client node), injects faults and asserts
//! what gets through and when; an assertion that fails panics the supervisor, which fails
//! the seed. The tests then read the trace for the faults' events.
#![cfg(madsim)]

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sim::World;
use sim::{
    lag_flow, run_seed, run_seed_checking_determinism, Checker, NodeEnv, Scenario, SeedOutcome, SuperviseFuture,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

const PORT: u16 = 9000;
/// Longer than any round trip over a healthy link (two writes of at most 10 ms each).
const FAST: Duration = Duration::from_millis(25);

/// A scenario made of one supervisor function, without checkers.
struct Story {
    name: &'static str,
    supervise: fn(u64) -> SuperviseFuture,
    /// madsim's network-wide latency range, if not its default (1 to 10 ms).
    latency: Option<std::ops::Range<Duration>>,
}

impl Scenario for Story {
    fn name(&self) -> &'static str {
        self.name
    }

    fn story(&self) -> &'static str {
        "a network fault shown over simulated TCP"
    }

    fn checkers(&self) -> Vec<Box<dyn Checker>> {
        Vec::new()
    }

    fn supervise(&self, seed: u64) -> SuperviseFuture {
        (self.supervise)(seed)
    }

    fn config(&self) -> madsim::Config {
        let mut config = madsim::Config::default();
        if let Some(latency) = &self.latency {
            config.net.send_latency = latency.clone();
        }
        config
    }
}

/// Runs one seed and fails the test with the seed's failure lines if it failed.
fn run(name: &'static str, supervise: fn(u64) -> SuperviseFuture, seed: u64) -> SeedOutcome {
    let outcome = run_seed(&Story { name, supervise, latency: None }, seed);
    assert!(outcome.passed, "{name} seed {seed}: {:?}", outcome.failure_lines());
    outcome
}

/// Simulated time since the run started.
fn now() -> Duration {
    madsim::time::TimeHandle::current().elapsed()
}

/// A value an echo server read: which server, which value, when.
#[derive(Debug)]
struct Receipt {
    node: String,
    seq: u64,
    at: Duration,
}

/// The world of a test: nodes running echo servers that report what they read.
struct Net {
    world: World,
    receipts: UnboundedReceiver<Receipt>,
}

impl Net {
    /// A world whose nodes `names` run echo servers (bound once this returns).
    async fn new(seed: u64, names: &[&str]) -> Net {
        let world = World::new(seed);
        let (tx, receipts) = unbounded_channel();
        for name in names {
            let tx = tx.clone();
            world.add_node(name, move |env| echo_server(env.name, tx.clone()));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        Net { world, receipts }
    }

    /// Opens a probe connection from `from` to `to`'s echo server.
    async fn connect(&self, from: &str, to: &str) -> io::Result<Probe> {
        let server = SocketAddr::new(self.world.ip(to), PORT);
        let node = self.world.handle().get_node(self.world.id(from)).expect("the client node exists");
        let (requests, mut to_send) = unbounded_channel::<u64>();
        let (replied, replies) = unbounded_channel();
        let connected = node.spawn(async move {
            let (mut reader, mut writer) = tokio::io::split(TcpStream::connect(server).await?);
            tokio::spawn(async move {
                while let Some(seq) = to_send.recv().await {
                    writer.write_u64(seq).await.expect("simulated writes never fail");
                    writer.flush().await.expect("the peer is up");
                }
            });
            tokio::spawn(async move {
                while let Ok(seq) = reader.read_u64().await {
                    let _ = replied.send((seq, now()));
                }
            });
            io::Result::Ok(())
        });
        connected.await.expect("the probe task ran")?;
        Ok(Probe { requests, replies })
    }

    /// Waits up to `within` for an echo server to report reading `seq`.
    async fn receipt(&mut self, seq: u64, within: Duration) -> Option<Receipt> {
        let deadline = now() + within;
        loop {
            let left = deadline.checked_sub(now())?;
            match tokio::time::timeout(left, self.receipts.recv()).await {
                Ok(Some(receipt)) if receipt.seq == seq => return Some(receipt),
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => return None,
            }
        }
    }
}

/// A connection from one node to another's echo server.
struct Probe {
    requests: UnboundedSender<u64>,
    replies: UnboundedReceiver<(u64, Duration)>,
}

impl Probe {
    /// Writes `seq` (and flushes it) from the client node.
    fn send(&self, seq: u64) {
        self.requests.send(seq).expect("the probe's writer runs");
    }

    /// Waits up to `within` for the echo of `seq`; returns when it arrived.
    async fn reply(&mut self, seq: u64, within: Duration) -> Option<Duration> {
        match tokio::time::timeout(within, self.replies.recv()).await {
            Ok(Some((echoed, at))) => {
                assert_eq!(echoed, seq, "echoes arrive in order, none lost");
                Some(at)
            }
            Ok(None) | Err(_) => None,
        }
    }

    /// A round trip of `seq` that must complete within `within`; returns its duration.
    async fn round_trip(&mut self, seq: u64, within: Duration) -> Duration {
        let sent = now();
        self.send(seq);
        let at = self.reply(seq, within).await.unwrap_or_else(|| panic!("no echo of {seq} within {within:?}"));
        at - sent
    }
}

async fn echo_server(node: String, receipts: UnboundedSender<Receipt>) {
    let listener = TcpListener::bind(SocketAddr::new(IpAddr::from([0, 0, 0, 0]), PORT)).await.expect("bind");
    loop {
        let (stream, _) = listener.accept().await.expect("accept");
        let (receipts, node) = (receipts.clone(), node.clone());
        tokio::spawn(async move {
            let (mut reader, mut writer) = tokio::io::split(stream);
            while let Ok(seq) = reader.read_u64().await {
                tracing::info!(name: "probe_received", target: "sim::probe", seq);
                let _ = receipts.send(Receipt { node: node.clone(), seq, at: now() });
                if writer.write_u64(seq).await.is_err() || writer.flush().await.is_err() {
                    return;
                }
            }
        });
    }
}

/// A refused connect, refused at once: in the 3 ms every madsim connect takes (three of its
/// internal sleeps, each at least 1 ms), with no timeout involved.
async fn assert_refused(net: &Net, from: &str, to: &str) {
    let started = now();
    let error = net.connect(from, to).await.err().unwrap_or_else(|| panic!("{from} → {to} connected"));
    assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused, "{from} → {to}: {error}");
    assert!(now() - started < Duration::from_millis(4), "{from} → {to} took {:?} to fail", now() - started);
}

fn events(outcome: &SeedOutcome, name: &str) -> Vec<serde_json::Value> {
    outcome
        .trace_jsonl
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("each trace line is JSON"))
        .filter(|event| event["name"] == name)
        .collect()
}

/// The one event named `name`, emitted by the supervisor.
fn only_event(outcome: &SeedOutcome, name: &str) -> serde_json::Value {
    let found = events(outcome, name);
    assert_eq!(found.len(), 1, "{name}: {found:?}");
    assert_eq!(found[0]["node"], "sim");
    found[0].clone()
}

// ---- partition

fn partition_story(seed: u64) -> SuperviseFuture {
    Box::pin(async move {
        let mut net = Net::new(seed, &["a", "b", "c"]).await;
        let mut a_to_b = net.connect("a", "b").await.expect("connect before the partition");
        a_to_b.round_trip(1, FAST).await;

        net.world.partition(&[&["a"], &["b", "c"]]);
        assert!(net.world.is_link_blocked("a", "b") && net.world.is_link_blocked("c", "a"));
        assert!(!net.world.is_link_blocked("b", "c"));
        for (from, to) in [("a", "b"), ("b", "a"), ("a", "c"), ("c", "a")] {
            assert_refused(&net, from, to).await;
        }
        let mut b_to_c = net.connect("b", "c").await.expect("same side");
        b_to_c.round_trip(2, FAST).await;

        // Writes on the stream opened before the partition are held, not dropped.
        let sent = now();
        for seq in HELD {
            a_to_b.send(seq);
        }
        assert!(net.receipt(*HELD.start(), Duration::from_secs(2)).await.is_none(), "a write crossed the partition");
        let healed_at = now();
        net.world.heal();
        assert!(!net.world.is_link_blocked("a", "b"));
        let first =
            net.receipt(*HELD.start(), Duration::from_secs(3)).await.expect("held writes arrive after the heal");
        assert_eq!(first.node, "b");
        // The first held write passes the receiver's next retest: within its hold (+ 1 ms
        // retest step + latency) after the heal.
        assert!(first.at >= healed_at);
        assert!(first.at - healed_at <= (healed_at - sent) + Duration::from_millis(12), "{first:?}");
        // The backlog then drains one write per retest step (1 ms) + latency (1 to 10 ms).
        let last = net.receipt(*HELD.end(), Duration::from_secs(3)).await.expect("all held writes arrive");
        let backlog = (HELD.end() - HELD.start()) as u32;
        let drained = last.at - first.at;
        assert!(drained >= 2 * Duration::from_millis(1) * backlog, "{drained:?}");
        assert!(drained <= Duration::from_millis(12) * backlog, "{drained:?}");
        for seq in HELD {
            assert!(a_to_b.reply(seq, FAST).await.is_some(), "echo of {seq}");
        }
        a_to_b.round_trip(4, FAST).await;
        net.connect("c", "a").await.expect("connects after the heal").round_trip(5, FAST).await;
    })
}

/// The writes held by the partition.
const HELD: std::ops::RangeInclusive<u64> = 3..=52;

#[test]
fn a_partition_refuses_connects_and_holds_bytes_between_groups_until_healed() {
    let outcome = run("partition", partition_story, 1);
    assert_eq!(only_event(&outcome, "network_partitioned")["fields"]["groups"], "a|b,c");
    let healed = only_event(&outcome, "network_healed");
    assert_eq!(healed["fields"]["partition_groups"], 2);
    let healed_ns = healed["time_ns"].as_u64().unwrap();
    let partitioned_ns = only_event(&outcome, "network_partitioned")["time_ns"].as_u64().unwrap();
    // No value crossed into b or c's group from a while partitioned (2 is b → c, same side).
    for received in events(&outcome, "probe_received") {
        let at = received["time_ns"].as_u64().unwrap();
        let seq = received["fields"]["seq"].as_u64().unwrap();
        assert!(seq == 2 || !(partitioned_ns..healed_ns).contains(&at), "{received}");
        assert!(seq == 2 || seq == 1 || at >= healed_ns, "{received}");
    }
}

/// With every write taking 5 to 10 ms, a write flushed 1 ms before the partition is in
/// flight: the link was tested when it was flushed, so it arrives.
fn in_flight_story(seed: u64) -> SuperviseFuture {
    Box::pin(async move {
        let mut net = Net::new(seed, &["a", "b"]).await;
        let a_to_b = net.connect("a", "b").await.expect("connect");
        let sent = now();
        a_to_b.send(1);
        tokio::time::sleep(Duration::from_millis(1)).await;
        net.world.partition(&[&["a"], &["b"]]);
        let receipt = net.receipt(1, Duration::from_millis(20)).await.expect("the write in flight arrives");
        assert!(receipt.at - sent >= Duration::from_millis(5), "{receipt:?}");
        assert!(net.world.is_link_blocked("a", "b"), "it arrived during the partition");
    })
}

#[test]
fn a_write_in_flight_when_the_partition_begins_arrives() {
    let story = Story { name: "in-flight", supervise: in_flight_story, latency: Some(SLOW_LATENCY) };
    for seed in 1..=5 {
        let outcome = run_seed(&story, seed);
        assert!(outcome.passed, "seed {seed}: {:?}", outcome.failure_lines());
    }
}

/// Latency of every write in [`in_flight_story`].
const SLOW_LATENCY: std::ops::Range<Duration> = Duration::from_millis(5)..Duration::from_millis(10);

// ---- one-way cut

fn cut_story(seed: u64) -> SuperviseFuture {
    Box::pin(async move {
        let mut net = Net::new(seed, &["a", "b"]).await;
        let mut a_to_b = net.connect("a", "b").await.expect("connect");
        let mut b_to_a = net.connect("b", "a").await.expect("connect");
        a_to_b.round_trip(1, FAST).await;
        b_to_a.round_trip(2, FAST).await;

        net.world.cut_one_way("a", "b");
        assert!(net.world.is_link_blocked("a", "b") && !net.world.is_link_blocked("b", "a"));
        // a → b is blocked: a's request never reaches b.
        a_to_b.send(10);
        assert!(net.receipt(10, Duration::from_secs(1)).await.is_none(), "10 went through the cut");
        // b → a flows: b's request reaches a at once, a's echo back is held.
        let sent = now();
        b_to_a.send(11);
        let receipt = net.receipt(11, FAST).await.expect("b → a flows");
        assert_eq!(receipt.node, "a");
        assert!(receipt.at - sent < FAST);
        assert!(b_to_a.reply(11, Duration::from_secs(1)).await.is_none(), "a's echo crossed the cut");
        // A new connect from a to b is refused; from b to a it succeeds (madsim checks only
        // the connecting direction), and again only b → a flows.
        assert_refused(&net, "a", "b").await;
        let mut late_b_to_a = net.connect("b", "a").await.expect("b → a connects");
        late_b_to_a.send(12);
        assert!(net.receipt(12, FAST).await.is_some());
        assert!(late_b_to_a.reply(12, Duration::from_millis(500)).await.is_none());

        net.world.heal();
        assert!(net.receipt(10, Duration::from_secs(3)).await.is_some(), "held 10 arrives");
        assert!(a_to_b.reply(10, Duration::from_secs(3)).await.is_some());
        assert!(b_to_a.reply(11, Duration::from_secs(3)).await.is_some());
        assert!(late_b_to_a.reply(12, Duration::from_secs(3)).await.is_some());
        a_to_b.round_trip(13, FAST).await;
    })
}

#[test]
fn a_one_way_cut_blocks_one_direction_only() {
    let outcome = run("cut", cut_story, 2);
    let cut = only_event(&outcome, "link_cut");
    assert_eq!(cut["fields"]["from"], "a");
    assert_eq!(cut["fields"]["to"], "b");
    assert_eq!(only_event(&outcome, "network_healed")["fields"]["cuts"], 1);
}

// ---- lag

const LAG: Duration = Duration::from_millis(200);

fn lag_story(seed: u64) -> SuperviseFuture {
    Box::pin(async move {
        let mut net = Net::new(seed, &["a", "b", "c"]).await;
        let mut a_to_b = net.connect("a", "b").await.expect("connect");
        let mut c_to_b = net.connect("c", "b").await.expect("connect");
        let b_to_a = net.connect("b", "a").await.expect("connect");
        a_to_b.round_trip(1, FAST).await;

        net.world.lag("a", "b", LAG);
        let lagged_at = now();
        // A round trip started in the first hold takes at least the hold, and at most the
        // hold, the flow after it and two normal latencies.
        let rtt = a_to_b.round_trip(2, 3 * LAG).await;
        assert!(rtt >= LAG, "round trip over the lagged link took {rtt:?}");
        assert!(rtt <= LAG + lag_flow(LAG) + FAST, "round trip over the lagged link took {rtt:?}");
        // Meanwhile the other links are untouched: c ↔ b both ways, b → a.
        let lag_ends = lagged_at + 4 * (LAG + lag_flow(LAG));
        let mut seq = 100;
        let mut worst_other = Duration::ZERO;
        while now() < lag_ends {
            worst_other = worst_other.max(c_to_b.round_trip(seq, FAST).await);
            let sent = now();
            b_to_a.send(seq + 1);
            let receipt = net.receipt(seq + 1, FAST).await.expect("b → a is not lagged");
            worst_other = worst_other.max(receipt.at - sent);
            seq += 2;
            tokio::time::sleep(Duration::from_millis(7)).await;
        }
        assert!(worst_other < FAST, "{worst_other:?}");
        // Over several holds, every round trip on the lagged link completes within a hold and
        // a flow, and writes are neither lost nor reordered.
        let mut slow = 0;
        for seq in 1000..1020 {
            let rtt = a_to_b.round_trip(seq, 3 * LAG).await;
            assert!(rtt <= LAG + lag_flow(LAG) + FAST, "round trip {seq} took {rtt:?}");
            if rtt >= FAST {
                slow += 1;
            }
            tokio::time::sleep(Duration::from_millis(37)).await;
        }
        assert!(slow >= 3, "only {slow} of 20 round trips were held");
        // A connect attempted in a hold is refused.
        while !net.world.is_link_blocked("a", "b") {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_refused(&net, "a", "b").await;

        net.world.heal();
        tokio::time::sleep(lag_flow(LAG) + FAST).await;
        for seq in 2000..2005 {
            let rtt = a_to_b.round_trip(seq, FAST).await;
            assert!(rtt < FAST, "{rtt:?} after the heal");
        }
        net.connect("a", "b").await.expect("connects after the heal");
    })
}

#[test]
fn a_lagging_link_holds_its_traffic_and_leaves_other_links_alone() {
    let outcome = run("lag", lag_story, 3);
    let lagged = only_event(&outcome, "link_lagged");
    assert_eq!(lagged["fields"]["from"], "a");
    assert_eq!(lagged["fields"]["to"], "b");
    assert_eq!(lagged["fields"]["delay_ms"], 200);
    assert_eq!(lagged["fields"]["flow_ms"], 201);
    assert_eq!(only_event(&outcome, "network_healed")["fields"]["lags"], 1);
}

// ---- pause and resume

/// A 10 ms periodic task counting its ticks in `ticks`.
async fn ticker(env: NodeEnv, ticks: Arc<AtomicU64>) {
    let mut interval = tokio::time::interval(Duration::from_millis(10));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let tick = ticks.fetch_add(1, Ordering::SeqCst) + 1;
        tracing::info!(name: "ticked", target: "sim::probe", tick, incarnation = env.incarnation);
    }
}

fn pause_story(seed: u64) -> SuperviseFuture {
    Box::pin(async move {
        let net = Net::new(seed, &["a"]).await;
        let ticks = Arc::new(AtomicU64::new(0));
        let (tx, _) = unbounded_channel();
        let node_ticks = ticks.clone();
        net.world.add_node("ticker", move |env| {
            let (tx, ticks) = (tx.clone(), node_ticks.clone());
            async move {
                tokio::spawn(echo_server(env.name.clone(), tx));
                ticker(env, ticks).await
            }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let before = ticks.load(Ordering::SeqCst);
        assert!(before >= 8, "{before} ticks in 100 ms");

        net.world.pause("ticker");
        assert!(net.world.is_paused("ticker"));
        // The kernel still accepts a connect to the frozen node; what is sent waits.
        let mut a_to_ticker = net.connect("a", "ticker").await.expect("connect to a paused node");
        a_to_ticker.send(1);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(ticks.load(Ordering::SeqCst), before, "the paused node ticked");
        assert!(a_to_ticker.reply(1, Duration::from_millis(10)).await.is_none(), "the paused node answered");

        net.world.resume("ticker");
        assert!(!net.world.is_paused("ticker"));
        assert!(a_to_ticker.reply(1, FAST).await.is_some(), "it answers once resumed");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let after = ticks.load(Ordering::SeqCst);
        assert!(after >= before + 8, "{} ticks in 100 ms after the resume", after - before);

        // A kill ends a pause: the next incarnation runs; heal resumes what is paused.
        net.world.pause("ticker");
        net.world.restart("ticker");
        assert!(!net.world.is_paused("ticker"));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(ticks.load(Ordering::SeqCst) > after, "the restarted node ticks");
        net.world.pause("a");
        net.world.heal();
        assert!(!net.world.is_paused("a"));
    })
}

#[test]
fn a_paused_node_does_not_run_until_resumed() {
    let outcome = run("pause", pause_story, 4);
    let paused = events(&outcome, "node_paused");
    let resumed = events(&outcome, "node_resumed");
    assert_eq!(paused.len(), 3);
    assert_eq!(resumed.len(), 2, "resume, then heal resuming a (the kill ended the second pause)");
    assert_eq!(paused[0]["fields"]["node"], "ticker");
    assert_eq!(resumed[0]["fields"]["node"], "ticker");
    assert_eq!(resumed[1]["fields"]["node"], "a");
    assert_eq!(only_event(&outcome, "network_healed")["fields"]["resumed"], 1);
    let (paused_ns, resumed_ns) = (paused[0]["time_ns"].as_u64().unwrap(), resumed[0]["time_ns"].as_u64().unwrap());
    let ticks: Vec<u64> = events(&outcome, "ticked").iter().map(|e| e["time_ns"].as_u64().unwrap()).collect();
    assert!(ticks.iter().all(|at| !(paused_ns..resumed_ns).contains(at)), "a tick while paused");
    assert!(ticks.iter().any(|at| *at >= resumed_ns), "no tick after the resume");
    // The overdue tick fires at once on resume, as after a SIGSTOP.
    let first_after = ticks.iter().find(|at| **at >= resumed_ns).unwrap();
    assert!(first_after - resumed_ns < 1_000_000, "first tick {} ns after the resume", first_after - resumed_ns);
}

// ---- faults survive restarts; heal lifts everything; determinism

fn everything_story(seed: u64) -> SuperviseFuture {
    Box::pin(async move {
        let mut net = Net::new(seed, &["a", "b", "c"]).await;
        net.world.partition(&[&["a"], &["b"]]);
        net.world.cut_one_way("c", "b");
        net.world.lag("b", "c", Duration::from_millis(50));
        assert_refused(&net, "c", "b").await;
        net.world.pause("c");
        // A restarted node keeps its links' faults.
        net.world.restart("a");
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(net.world.is_link_blocked("a", "b") && net.world.is_link_blocked("b", "a"));
        assert_refused(&net, "a", "b").await;
        net.connect("a", "c").await.expect("c is in no group").send(7);
        assert!(net.receipt(7, Duration::from_millis(100)).await.is_none(), "paused c read 7");

        net.world.heal();
        assert!(net.receipt(7, FAST).await.is_some(), "c reads 7 once resumed");
        for (from, to) in [("a", "b"), ("b", "a"), ("c", "b"), ("b", "c")] {
            assert!(!net.world.is_link_blocked(from, to));
        }
        tokio::time::sleep(lag_flow(Duration::from_millis(50)) + FAST).await;
        for (i, (from, to)) in [("a", "b"), ("b", "a"), ("c", "b"), ("b", "c")].into_iter().enumerate() {
            net.connect(from, to).await.expect("healed").round_trip(100 + i as u64, FAST).await;
        }
        // The lag's task stopped: the link stays open.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!net.world.is_link_blocked("b", "c"));
    })
}

#[test]
fn heal_lifts_every_fault_and_link_faults_survive_a_restart() {
    let outcome = run("everything", everything_story, 5);
    let healed = only_event(&outcome, "network_healed");
    assert_eq!(healed["fields"]["partition_groups"], 2);
    assert_eq!(healed["fields"]["cuts"], 1);
    assert_eq!(healed["fields"]["lags"], 1);
    assert_eq!(healed["fields"]["resumed"], 1);
    let names: Vec<String> = outcome
        .trace_jsonl
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|event| event["node"] == "sim")
        .map(|event| event["name"].as_str().unwrap().to_string())
        .collect();
    let expected = [
        "network_partitioned",
        "link_cut",
        "link_lagged",
        "node_paused",
        "disk_crashed",
        "node_killed",
        "node_restarted",
        "node_resumed",
        "network_healed",
    ];
    assert_eq!(names, expected);
}

#[test]
fn the_same_seed_gives_the_same_trace() {
    for (name, story) in [("everything", everything_story as fn(u64) -> SuperviseFuture), ("lag", lag_story)] {
        let outcome = run_seed_checking_determinism(&Story { name, supervise: story, latency: None }, 11);
        assert!(outcome.passed, "{name}: {:?}", outcome.failure_lines());
        assert!(outcome.events > 10, "{name}: {} events", outcome.events);
    }
}

#[test]
fn misusing_a_fault_fails_the_seed() {
    fn resume_running(seed: u64) -> SuperviseFuture {
        Box::pin(async move {
            Net::new(seed, &["a"]).await.world.resume("a");
        })
    }
    fn overlapping_groups(seed: u64) -> SuperviseFuture {
        Box::pin(async move {
            Net::new(seed, &["a", "b"]).await.world.partition(&[&["a"], &["a", "b"]]);
        })
    }
    for (story, expected) in [
        (resume_running as fn(u64) -> SuperviseFuture, "node `a` is not paused"),
        (overlapping_groups, "node `a` is in two groups"),
    ] {
        let outcome = run_seed(&Story { name: "misuse", supervise: story, latency: None }, 6);
        let panic = outcome.panic.expect("the supervisor panics");
        assert!(panic.contains(expected), "{panic}");
    }
}
