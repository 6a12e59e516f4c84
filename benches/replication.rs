//! Replicated throughput and latency: a topic of three replicas on a 3-process KRaft cluster
//! (combined mode, loopback) written with acks=all, against one standalone broker written
//! with acks=1, measured in the same run with the same client (seedlog's Rust producer,
//! 1 KiB records, one partition).
//!
//! Per round: each setup's peak produce throughput over `SEEDLOG_BENCH_SECS` (8) s with a
//! window of `SEEDLOG_BENCH_WINDOW` (8192) records in flight; then, on the cluster, p50 and
//! p99 produce latency at half the cluster's peak rate. `SEEDLOG_BENCH_ROUNDS` (3) rounds;
//! medians and ranges printed. Targets (issue 7): replicated ÷ single ≥ 0.5, p99 ≤ 5 ms.
//! A miss is printed, never failed on. `SEEDLOG_BENCH_BROKER=<path>` runs another binary;
//! `SEEDLOG_BENCH_HW_FSYNC=false` runs every broker with `high.watermark.fsync.enable=false`
//! (Kafka's durability rule: a replica counts toward the high watermark before its fsync).

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // a benchmark: processes, wall time

#[cfg(madsim)]
fn main() {
    eprintln!("the replication benchmark measures real processes over TCP: build it without --cfg madsim");
}

#[cfg(not(madsim))]
fn main() {
    real::main();
}

#[cfg(not(madsim))]
#[allow(dead_code)] // shared by the benches; each uses part of it
mod support;

#[cfg(not(madsim))]
mod real {
    use std::collections::VecDeque;
    use std::net::{TcpListener, TcpStream};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use bytes::Bytes;
    use seedlog::client::{
        Admin, ConnectionConfig, DeliveryFuture, NewTopic, Producer, ProducerConfig, ProducerRecord,
    };
    use seedlog::runtime::{seeded, Clock};

    use crate::support::{env_usize, mib_per_s, Figure, RemoveOnDrop};

    const TOPIC: &str = "bench";
    const RECORD_BYTES: usize = 1 << 10;
    const TARGET_RATIO: f64 = 0.5;
    const TARGET_P99_MS: f64 = 5.0;

    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    }

    fn broker_binary() -> String {
        std::env::var("SEEDLOG_BENCH_BROKER").unwrap_or_else(|_| env!("CARGO_BIN_EXE_seedlog").to_string())
    }

    /// Processes killed when dropped.
    struct Processes(Vec<Child>);

    impl Drop for Processes {
        fn drop(&mut self) {
            for child in &mut self.0 {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }

    fn spawn(overrides: &[String], log: &Path, port: u16) -> Child {
        let out = std::fs::File::create(log).unwrap();
        let mut command = Command::new(broker_binary());
        command.arg("broker");
        for o in overrides {
            command.args(["--override", o]);
        }
        if let Ok(fsync) = std::env::var("SEEDLOG_BENCH_HW_FSYNC") {
            command.args(["--override", &format!("high.watermark.fsync.enable={fsync}")]);
        }
        let child = command
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "a broker did not start; see {}", log.display());
            std::thread::sleep(Duration::from_millis(20));
        }
        child
    }

    /// One standalone broker; returns its bootstrap.
    fn single(dir: &Path) -> (Processes, String) {
        let port = free_port();
        let overrides = vec![
            format!("listeners=PLAINTEXT://127.0.0.1:{port}"),
            format!("log.dirs={}", dir.join("single").display()),
        ];
        let child = spawn(&overrides, &dir.join("single.log"), port);
        (Processes(vec![child]), format!("127.0.0.1:{port}"))
    }

    /// Three combined KRaft nodes; returns the bootstrap list.
    fn cluster(dir: &Path) -> (Processes, String) {
        let ports: Vec<(u16, u16)> = (0..3).map(|_| (free_port(), free_port())).collect();
        let voters: Vec<String> =
            ports.iter().enumerate().map(|(i, (_, c))| format!("{}@127.0.0.1:{c}", i + 1)).collect();
        let mut children = Vec::new();
        for (i, (b, c)) in ports.iter().enumerate() {
            let overrides = vec![
                format!("node.id={}", i + 1),
                "process.roles=broker,controller".to_string(),
                format!("controller.quorum.voters={}", voters.join(",")),
                "controller.listener.names=CONTROLLER".to_string(),
                format!("listeners=PLAINTEXT://127.0.0.1:{b},CONTROLLER://127.0.0.1:{c}"),
                format!("log.dirs={}", dir.join(format!("node-{}", i + 1)).display()),
                "min.insync.replicas=2".to_string(),
            ];
            children.push(spawn(&overrides, &dir.join(format!("node-{}.log", i + 1)), *b));
        }
        let bootstrap: Vec<String> = ports.iter().map(|(b, _)| format!("127.0.0.1:{b}")).collect();
        (Processes(children), bootstrap.join(","))
    }

    async fn create_topic(bootstrap: &str, replication_factor: i16) {
        let admin = Admin::new(bootstrap, ConnectionConfig::default()).unwrap();
        let topic = NewTopic {
            name: TOPIC.to_string(),
            partitions: Some(1),
            replication_factor: Some(replication_factor),
            configs: Vec::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while let Err(error) = admin.create_topic(&topic).await {
            assert!(Instant::now() < deadline, "cannot create the topic: {error}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        admin.wait_for_leaders(TOPIC, Duration::from_secs(30)).await.unwrap();
    }

    fn producer(bootstrap: &str, acks: i16) -> Producer {
        let config = ProducerConfig {
            acks,
            idempotence: false,
            linger_ms: 5,
            batch_size_bytes: 256 << 10,
            max_in_flight: 5,
            client_id: "seedlog-replication-bench".to_owned(),
            ..ProducerConfig::default()
        };
        Producer::new(bootstrap, config, Clock::system(), seeded(7)).unwrap()
    }

    /// Acknowledged MiB/s over `secs`, with `window` records in flight.
    async fn peak(producer: &Producer, secs: u64, window: usize) -> f64 {
        let value = Bytes::from(vec![b'x'; RECORD_BYTES]);
        let mut in_flight: VecDeque<DeliveryFuture> = VecDeque::new();
        let (start, mut acked) = (Instant::now(), 0u64);
        let end = start + Duration::from_secs(secs);
        while Instant::now() < end {
            while in_flight.len() < window {
                in_flight.push_back(producer.send(ProducerRecord::new(TOPIC, value.clone()).with_partition(0)));
            }
            if let Some(delivery) = in_flight.pop_front() {
                delivery.await.expect("a bench record failed");
                acked += RECORD_BYTES as u64;
            }
        }
        let elapsed = start.elapsed().as_secs_f64();
        for delivery in in_flight {
            let _ = delivery.await;
        }
        mib_per_s(acked, elapsed)
    }

    /// p50 and p99 milliseconds from send to acknowledgement at `rate_mib` MiB/s.
    async fn latency(producer: &Producer, secs: u64, rate_mib: f64) -> (f64, f64) {
        let value = Bytes::from(vec![b'y'; RECORD_BYTES]);
        let per_record = Duration::from_secs_f64(RECORD_BYTES as f64 / (rate_mib * (1 << 20) as f64));
        let mut pending: VecDeque<(Instant, DeliveryFuture)> = VecDeque::new();
        let mut latencies_ms = Vec::new();
        let start = Instant::now();
        let mut next = start;
        while start.elapsed() < Duration::from_secs(secs) {
            let now = Instant::now();
            if now >= next {
                pending.push_back((now, producer.send(ProducerRecord::new(TOPIC, value.clone()).with_partition(0))));
                next += per_record;
                continue;
            }
            // Collect what is answered meanwhile, without falling behind the schedule.
            match pending.front_mut() {
                Some((_, delivery)) => {
                    let wait = next - now;
                    if let Ok(result) = tokio::time::timeout(wait, delivery).await {
                        let (sent, _) = pending.pop_front().unwrap();
                        result.expect("a latency record failed");
                        latencies_ms.push(sent.elapsed().as_secs_f64() * 1e3);
                    }
                }
                None => tokio::time::sleep(next - now).await,
            }
        }
        for (sent, delivery) in pending {
            delivery.await.expect("a latency record failed");
            latencies_ms.push(sent.elapsed().as_secs_f64() * 1e3);
        }
        latencies_ms.sort_by(|a, b| a.total_cmp(b));
        let at = |q: f64| latencies_ms[((latencies_ms.len() as f64 - 1.0) * q) as usize];
        (at(0.50), at(0.99))
    }

    pub fn main() {
        let rounds = env_usize("SEEDLOG_BENCH_ROUNDS", 3).max(1);
        let secs = env_usize("SEEDLOG_BENCH_SECS", 8).max(2) as u64;
        let window = env_usize("SEEDLOG_BENCH_WINDOW", 8192).max(1);
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        let (mut single_mib, mut cluster_mib, mut ratio, mut p50, mut p99) =
            (Figure::default(), Figure::default(), Figure::default(), Figure::default(), Figure::default());
        for round in 1..=rounds {
            let dir: PathBuf = std::env::temp_dir().join(format!("seedlog-replication-bench-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let _cleanup = RemoveOnDrop { path: dir.clone(), keep: false };
            let (single_mibs, cluster_mibs, (lat50, lat99)) = runtime.block_on(async {
                let single_mibs = {
                    let (_processes, bootstrap) = single(&dir);
                    create_topic(&bootstrap, 1).await;
                    peak(&producer(&bootstrap, 1), secs, window).await
                };
                let (_processes, bootstrap) = cluster(&dir);
                create_topic(&bootstrap, 3).await;
                let replicated = producer(&bootstrap, -1);
                let cluster_mibs = peak(&replicated, secs, window).await;
                let latencies = latency(&replicated, secs, cluster_mibs / 2.0).await;
                (single_mibs, cluster_mibs, latencies)
            });
            println!(
                "round {round}: single broker acks=1 {single_mibs:.1} MiB/s; RF=3 acks=all {cluster_mibs:.1} MiB/s \
                 (ratio {:.2}); at {:.1} MiB/s: p50 {lat50:.2} ms, p99 {lat99:.2} ms",
                cluster_mibs / single_mibs,
                cluster_mibs / 2.0
            );
            single_mib.samples.push(single_mibs);
            cluster_mib.samples.push(cluster_mibs);
            ratio.samples.push(cluster_mibs / single_mibs);
            p50.samples.push(lat50);
            p99.samples.push(lat99);
        }
        println!("--- medians of {rounds} rounds (min..max) ---");
        let describe = |f: &Figure, unit: &str| format!("{:.2} {unit} ({:.2}..{:.2})", f.median(), f.min(), f.max());
        println!("single broker, acks=1:    {}", describe(&single_mib, "MiB/s"));
        println!("RF=3 cluster, acks=all:   {}", describe(&cluster_mib, "MiB/s"));
        let verdict = |ok: bool| if ok { "meets" } else { "MISSES" };
        println!(
            "replicated ÷ single:      {} ({} the ≥ {TARGET_RATIO} target)",
            describe(&ratio, ""),
            verdict(ratio.median() >= TARGET_RATIO)
        );
        println!("p50 at half the RF=3 rate: {}", describe(&p50, "ms"));
        println!(
            "p99 at half the RF=3 rate: {} ({} the ≤ {TARGET_P99_MS} ms target)",
            describe(&p99, "ms"),
            verdict(p99.median() <= TARGET_P99_MS)
        );
    }
}
