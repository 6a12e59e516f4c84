//! The simulator's framework, tested with a small scenario defined here: a client pings a
//! server over simulated TCP a seeded random number of times while the supervisor kills and
//! restarts the server; a checker counts the pongs.
#![cfg(madsim)]

use std::collections::BTreeSet;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use rand::Rng;
use sim::{run_seed, run_seed_checking_determinism, Checker, NodeEnv, Scenario, SuperviseFuture};
use sim::{Expectation, SeedVerdict, TraceEvent, Violation, World};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const PORT: u16 = 9000;

#[derive(Clone, Copy, Default)]
struct Ping {
    /// The checker flags every pong: a stand-in for a real invariant violation.
    broken_checker: bool,
    panic_in_supervisor: bool,
    panic_in_node: bool,
    time_limit: Option<Duration>,
    /// The scenario expects the checker's violation (a historical-design scenario).
    expects_violation: bool,
}

impl Scenario for Ping {
    fn name(&self) -> &'static str {
        "ping"
    }

    fn story(&self) -> &'static str {
        "a client pings a server that is killed and restarted"
    }

    fn expectation(&self) -> Expectation {
        if self.expects_violation {
            Expectation::Violation("PongCounter")
        } else {
            Expectation::Pass
        }
    }

    fn checkers(&self) -> Vec<Box<dyn Checker>> {
        vec![Box::new(PongCounter { broken: self.broken_checker, pongs: 0, violations: vec![] })]
    }

    fn time_limit(&self) -> Duration {
        self.time_limit.unwrap_or(Duration::from_secs(3600))
    }

    fn supervise(&self, seed: u64) -> SuperviseFuture {
        let this = *self;
        Box::pin(async move {
            let world = World::new(seed);
            world.add_node("server", server);
            let server_addr = SocketAddr::new(world.ip("server"), PORT);
            world.add_node("client", move |env| client(env, server_addr, this.panic_in_node));
            let mut rng = world.fork_rng();
            tokio::time::sleep(Duration::from_millis(rng.random_range(5..50))).await;
            world.kill("server");
            tokio::time::sleep(Duration::from_millis(rng.random_range(10..100))).await;
            world.restart("server");
            tokio::time::sleep(Duration::from_secs(5)).await;
            if this.panic_in_supervisor {
                panic!("the supervisor gives up on purpose");
            }
            tracing::info!(name: "supervisor_done", target: "sim::ping", servers = 1u64);
        })
    }
}

async fn server(env: NodeEnv) {
    tracing::info!(name: "server_started", target: "sim::ping", incarnation = env.incarnation);
    let listener = TcpListener::bind(SocketAddr::new(IpAddr::from([0, 0, 0, 0]), PORT)).await.expect("bind");
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let Ok(seq) = stream.read_u64().await else {
                return;
            };
            tracing::info!(name: "ping_answered", target: "sim::ping", seq);
            let _ = stream.write_u64(seq + 1).await;
            let _ = stream.flush().await;
        });
    }
}

async fn client(mut env: NodeEnv, server: SocketAddr, panic_after_first_pong: bool) {
    let rounds: u64 = env.rng.random_range(5..20);
    tracing::info!(name: "client_started", target: "sim::ping", rounds, ip = %env.ip);
    for seq in 0..rounds {
        loop {
            let attempt = tokio::time::timeout(Duration::from_secs(1), ping(server, seq)).await;
            match attempt {
                Ok(Ok(reply)) => {
                    tracing::info!(name: "pong_received", target: "sim::ping", seq, reply, ok = true);
                    break;
                }
                failed => {
                    let error = match failed {
                        Ok(Err(e)) => e.kind().to_string(),
                        _ => "timeout".to_string(),
                    };
                    tracing::info!(name: "ping_failed", target: "sim::ping", seq, error);
                    let backoff_ms = env.rng.random_range(10..50);
                    tokio::time::sleep(Duration::from_millis(backoff_ms)).await;
                }
            }
        }
        if panic_after_first_pong {
            panic!("the client node panics on purpose");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tracing::info!(name: "client_done", target: "sim::ping", delta = -1i64);
}

async fn ping(server: SocketAddr, seq: u64) -> io::Result<u64> {
    let mut stream = TcpStream::connect(server).await?;
    stream.write_u64(seq).await?;
    stream.flush().await?;
    stream.read_u64().await
}

/// PongCounter: every ping is eventually answered (at least one pong), and, when broken,
/// every pong is a violation.
struct PongCounter {
    broken: bool,
    pongs: u64,
    violations: Vec<Violation>,
}

impl Checker for PongCounter {
    fn name(&self) -> &'static str {
        "PongCounter"
    }

    fn on_event(&mut self, ev: &TraceEvent) {
        if ev.name != "pong_received" {
            return;
        }
        self.pongs += 1;
        if self.broken {
            let seq = ev.u64("seq").unwrap_or_default();
            self.violations.push(Violation::new(self.name(), ev.time_ns, format!("pong {seq} while broken")));
        }
    }

    fn finish(&mut self) -> Vec<Violation> {
        if self.pongs == 0 {
            self.violations.push(Violation::new(self.name(), 0, "no pong at all"));
        }
        std::mem::take(&mut self.violations)
    }
}

fn events(jsonl: &str) -> Vec<serde_json::Value> {
    jsonl.lines().map(|line| serde_json::from_str(line).expect("each trace line is JSON")).collect()
}

#[test]
fn same_seed_gives_the_same_trace() {
    let first = run_seed(&Ping::default(), 7);
    let second = run_seed(&Ping::default(), 7);
    assert!(first.passed, "{:?}", first.failure_lines());
    assert!(first.events > 10, "only {} events", first.events);
    assert_eq!(first.trace_hash, second.trace_hash);
    assert_eq!(first.trace_jsonl, second.trace_jsonl);
    assert!(first.sim_time_ms >= 5_000, "sim time {}", first.sim_time_ms);
}

#[test]
fn different_seeds_give_different_traces() {
    let one = run_seed(&Ping::default(), 1);
    let two = run_seed(&Ping::default(), 2);
    assert!(one.passed && two.passed);
    assert_ne!(one.trace_hash, two.trace_hash);
}

#[test]
fn determinism_check_passes_for_a_deterministic_scenario() {
    let outcome = run_seed_checking_determinism(&Ping::default(), 3);
    assert!(outcome.passed, "{:?}", outcome.failure_lines());
    assert!(outcome.nondeterminism.is_none());
}

#[test]
fn a_violation_fails_the_seed() {
    let outcome = run_seed(&Ping { broken_checker: true, ..Ping::default() }, 4);
    assert!(!outcome.passed);
    assert!(outcome.panic.is_none());
    assert!(!outcome.violations.is_empty());
    assert!(outcome.violations.iter().all(|v| v.checker == "PongCounter"));
    assert!(outcome.failure_lines()[0].starts_with("PongCounter at "), "{:?}", outcome.failure_lines());
}

#[test]
fn an_expected_violation_passes_the_seed_as_found() {
    let expecting = Ping { broken_checker: true, expects_violation: true, ..Ping::default() };
    let outcome = run_seed(&expecting, 4);
    assert!(outcome.passed, "{:?}", outcome.failure_lines());
    assert_eq!(outcome.verdict, SeedVerdict::Found);
    let clean = run_seed(&Ping { expects_violation: true, ..Ping::default() }, 4);
    assert_eq!((clean.passed, clean.verdict), (true, SeedVerdict::Clean));
    let panicking = Ping { panic_in_supervisor: true, ..expecting };
    assert_eq!(run_seed(&panicking, 4).verdict, SeedVerdict::Failed, "a panic fails even an expecting scenario");
    let checked = run_seed_checking_determinism(&expecting, 4);
    assert_eq!(checked.verdict, SeedVerdict::Found, "{:?}", checked.failure_lines());
}

#[test]
fn a_supervisor_panic_fails_the_seed_not_the_process() {
    let outcome = run_seed(&Ping { panic_in_supervisor: true, ..Ping::default() }, 5);
    assert!(!outcome.passed);
    let panic = outcome.panic.expect("the panic is reported");
    assert!(panic.contains("supervisor gives up"), "{panic}");
    assert!(outcome.events > 0, "the trace up to the panic is kept");
}

#[test]
fn a_node_panic_fails_the_seed_not_the_process() {
    let outcome = run_seed(&Ping { panic_in_node: true, ..Ping::default() }, 6);
    assert!(!outcome.passed);
    let panic = outcome.panic.expect("the panic is reported");
    assert!(panic.contains("client node panics"), "{panic}");
}

#[test]
fn the_time_limit_fails_the_seed() {
    let outcome = run_seed(&Ping { time_limit: Some(Duration::from_secs(1)), ..Ping::default() }, 8);
    assert!(!outcome.passed);
    let panic = outcome.panic.expect("the time limit panics");
    assert!(panic.contains("time limit"), "{panic}");
}

#[test]
fn trace_lines_are_json_with_time_node_and_name() {
    let outcome = run_seed(&Ping::default(), 9);
    assert!(outcome.passed, "{:?}", outcome.failure_lines());
    let events = events(&outcome.trace_jsonl);
    assert_eq!(events.len() as u64, outcome.events);
    let mut nodes = BTreeSet::new();
    let mut last_time_ns = 0;
    for ev in &events {
        let time_ns = ev["time_ns"].as_u64().expect("time_ns");
        assert!(time_ns >= last_time_ns, "time goes forward");
        last_time_ns = time_ns;
        nodes.insert(ev["node"].as_str().expect("node").to_string());
        assert!(ev["name"].is_string());
        assert!(ev["fields"].is_object());
    }
    let expected: BTreeSet<String> = ["client", "server", "sim"].map(String::from).into();
    assert_eq!(nodes, expected);

    let named = |name: &'static str| events.iter().filter(move |ev| ev["name"] == name);
    let killed: Vec<_> = named("node_killed").collect();
    assert_eq!(killed.len(), 1);
    assert_eq!(killed[0]["node"], "sim");
    assert_eq!(killed[0]["fields"]["node"], "server");
    assert_eq!(named("node_restarted").count(), 1);
    let incarnations: Vec<_> = named("server_started").map(|ev| ev["fields"]["incarnation"].as_u64()).collect();
    assert_eq!(incarnations, vec![Some(0), Some(1)]);
    assert!(named("pong_received").all(|ev| ev["node"] == "client" && ev["fields"]["ok"] == true));
    assert!(named("ping_answered").all(|ev| ev["node"] == "server"));
    assert!(named("client_done").all(|ev| ev["fields"]["delta"] == -1));
    let client_started = named("client_started").next().expect("client started");
    assert_eq!(client_started["fields"]["ip"], "10.0.0.2");
    assert_eq!(events.last().unwrap()["name"], "supervisor_done");
}

#[test]
fn trace_events_have_typed_accessors() {
    let outcome = run_seed(&Ping::default(), 10);
    let first_pong = outcome.trace_jsonl.lines().find(|line| line.contains("\"pong_received\"")).expect("a pong");
    let value: serde_json::Value = serde_json::from_str(first_pong).unwrap();
    assert_eq!(value["fields"]["seq"], 0);
    assert_eq!(value["fields"]["reply"], 1);
}
