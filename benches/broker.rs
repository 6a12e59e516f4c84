//! End-to-end broker throughput and latency over loopback TCP: `cargo bench --bench broker`.
//!
//! Measures, in one run, against the real `seedlog` binary (built by cargo for this bench,
//! `CARGO_BIN_EXE_seedlog`) with its data under `target/bench-broker/` (the workspace's
//! disk, never /tmp which may be tmpfs). Each round runs, on a fresh broker and data
//! directory each time:
//!
//! 1. raw sequential `std::fs` writes of 16 KiB buffers for `SEEDLOG_BENCH_SECS` (10) s,
//!    with an fsync every MiB and at the end: the reference, because the broker too has its
//!    data on the device within the timed window (its flusher fsyncs continuously). The
//!    same writes into the page cache alone (`SEEDLOG_BENCH_CACHED_MB`, 1024 MiB) are shown
//!    too; they measure memory, not the disk;
//! 2. produce throughput: 1 KiB records sent for the same time with the Rust `Producer`
//!    (acks=1, idempotence off, linger 5 ms, batch 256 KiB — between the Java client's
//!    16 KiB default and librdkafka's 1 MB — 5 requests in flight) to a topic of 1
//!    partition, with at most `SEEDLOG_BENCH_WINDOW` records (default 8192, 8 MiB)
//!    unacknowledged so memory stays bounded. Figure: record value bytes / wall time from
//!    first send to last ack. Target: >= 60% of (1);
//! 3. consume throughput: a `Consumer` reading the whole topic from the earliest offset
//!    (1 MiB per partition per fetch), record value bytes / wall time;
//! 4. produce latency (send -> ack, acks=1) at half this round's produce throughput (2),
//!    paced by a token bucket on `tokio::time` for the same time: p50, p99, max.
//!    Target: p99 < 10 ms.
//!
//! Steps (1) and (2) report the whole step and its second half; the targets use the second
//! half (see `Rate` for why: this machine's device and memory run several times faster for
//! the first GiB or so than they sustain). Step (4) follows (2) of its own round because
//! the machine's speed drifts between minutes. The raw and broker steps alternate which
//! goes first. Before each step the bench syncs and then waits `SEEDLOG_BENCH_SETTLE_SECS`
//! (15) s for the device to drain (see `support::settle`). Medians over
//! `SEEDLOG_BENCH_ROUNDS` (3) rounds are compared. A miss is printed, never failed on.
//! Units: MiB/s (2^20 bytes per second); ms.
//!
//! Knobs for experiments (defaults are the reported configuration):
//! `SEEDLOG_BENCH_PARTITIONS` (1), `SEEDLOG_BENCH_BATCH_KB` (256), `SEEDLOG_BENCH_LINGER_MS`
//! (5), `SEEDLOG_BENCH_ACKS` (1; 0 for no answers; all), `SEEDLOG_BENCH_INFLIGHT` (5),
//! `SEEDLOG_BENCH_FETCH_KB` (1024), `SEEDLOG_BENCH_KEEP=1` keeps the data directory,
//! `SEEDLOG_BENCH_LATENCY_AT=<MiB/s>` runs only latency steps at that rate,
//! `SEEDLOG_BENCH_TIMELINE=<file>` writes each latency step's per-millisecond worst latency,
//! and `SEEDLOG_BENCH_BROKER=<path>` runs another `seedlog` binary (A/B comparisons).
//! The broker's log (stderr, `RUST_LOG` as inherited) goes to `broker.log` in each round's
//! directory. Broker and bench CPU (from /proc, in % of one core) are printed alongside.

// The project bans ambient file IO, clocks and threads outside src/runtime (clippy.toml) so
// the simulator can replace them. A benchmark's raw `std::fs` baseline, its wall-clock timing
// and the broker process it starts are the point of the exercise and never run in
// simulation, so they are allowed here.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

/// The simulation build (`--cfg madsim`) has no real runtime, network or disk; the benchmark
/// only makes sense against the real broker binary.
#[cfg(madsim)]
fn main() {
    eprintln!("the broker benchmark measures the real broker over TCP: build it without --cfg madsim");
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
    use std::fs::OpenOptions;
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};
    use std::path::Path;
    use std::process::{Child, Command, Stdio};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use bytes::Bytes;
    use seedlog::client::{
        Admin, ConnectionConfig, Consumer, ConsumerConfig, DeliveryFuture, NewTopic, OffsetReset, Producer,
        ProducerConfig, ProducerRecord, StartOffset,
    };
    use seedlog::runtime::{seeded, Clock};
    use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

    use crate::support::{cpu_seconds, env_usize, filesystem_of, mib_per_s, settle, Figure, RemoveOnDrop, MIB};

    const WRITE_BUF_BYTES: usize = 16 << 10;
    const RECORD_VALUE_BYTES: usize = 1 << 10;
    const TOPIC: &str = "bench";
    const TARGET_THROUGHPUT_RATIO: f64 = 0.60;
    const TARGET_P99_MS: f64 = 10.0;

    /// The knobs of one run.
    #[derive(Clone)]
    struct Settings {
        /// The page-cache write's size.
        cached_mib: usize,
        rounds: usize,
        /// How long each timed step (durable write, produce, latency) runs.
        secs: usize,
        /// The pause after `sync` before each timed step (see `settle`).
        settle: Duration,
        partitions: i32,
        batch_bytes: usize,
        linger_ms: u64,
        acks: i16,
        in_flight: usize,
        window: usize,
        fetch_bytes: i32,
    }

    impl Settings {
        fn from_env() -> Settings {
            let acks = match std::env::var("SEEDLOG_BENCH_ACKS").as_deref() {
                Err(_) | Ok("1") => 1,
                Ok("0") => 0,
                Ok("all") | Ok("-1") => -1,
                Ok(other) => panic!("SEEDLOG_BENCH_ACKS is 0, 1 or all, got {other:?}"),
            };
            Settings {
                cached_mib: env_usize("SEEDLOG_BENCH_CACHED_MB", 1024).max(1),
                rounds: env_usize("SEEDLOG_BENCH_ROUNDS", 3).max(1),
                secs: env_usize("SEEDLOG_BENCH_SECS", 10).max(2),
                settle: Duration::from_secs(env_usize("SEEDLOG_BENCH_SETTLE_SECS", 15) as u64),
                partitions: env_usize("SEEDLOG_BENCH_PARTITIONS", 1).max(1) as i32,
                batch_bytes: env_usize("SEEDLOG_BENCH_BATCH_KB", 256).max(1) << 10,
                linger_ms: env_usize("SEEDLOG_BENCH_LINGER_MS", 5) as u64,
                acks,
                in_flight: env_usize("SEEDLOG_BENCH_INFLIGHT", 5).max(1),
                window: env_usize("SEEDLOG_BENCH_WINDOW", 8192).max(1),
                fetch_bytes: (env_usize("SEEDLOG_BENCH_FETCH_KB", 1024).max(1) << 10) as i32,
            }
        }

        fn producer_config(&self) -> ProducerConfig {
            ProducerConfig {
                acks: self.acks,
                idempotence: false,
                linger_ms: self.linger_ms,
                batch_size_bytes: self.batch_bytes,
                max_in_flight: self.in_flight,
                client_id: "seedlog-bench".to_owned(),
                ..ProducerConfig::default()
            }
        }
    }

    fn load_average() -> String {
        std::fs::read_to_string("/proc/loadavg")
            .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|_| "unknown".into())
    }

    /// CPU use of the broker and of this process over a timed step.
    struct CpuMeter {
        broker_pid: String,
        broker: f64,
        bench: f64,
        start: Instant,
    }

    impl CpuMeter {
        fn start(broker: &Broker) -> CpuMeter {
            let broker_pid = broker.child.id().to_string();
            CpuMeter { broker: cpu_seconds(&broker_pid), bench: cpu_seconds("self"), broker_pid, start: Instant::now() }
        }

        /// (broker, bench) CPU in % of one core since `start`.
        fn stop(&self) -> (f64, f64) {
            let wall = self.start.elapsed().as_secs_f64();
            let broker = (cpu_seconds(&self.broker_pid) - self.broker) / wall * 100.0;
            let bench = (cpu_seconds("self") - self.bench) / wall * 100.0;
            (broker, bench)
        }
    }

    // ---- raw std::fs baseline ----

    /// A throughput over a whole timed step and over its second half. The device here
    /// takes the first GiB or so of a run several times faster than it sustains (a cache
    /// below the VM: 1528 MiB/s for the first 1.5 GiB, then 290 MiB/s, with an fsync every
    /// MiB), and the VM's memory changes speed too, so a short run measures the cache. Every
    /// timed step therefore runs as long as the latency step, and the second half of it is
    /// the rate compared.
    #[derive(Clone, Copy)]
    struct Rate {
        whole_mib_s: f64,
        steady_mib_s: f64,
    }

    impl Rate {
        /// From `start` to `end` with `bytes` moved, of which `half_bytes` by `half_at`.
        fn between(start: Instant, (half_at, half_bytes): (Instant, u64), (end, bytes): (Instant, u64)) -> Rate {
            Rate {
                whole_mib_s: mib_per_s(bytes, end.duration_since(start).as_secs_f64()),
                steady_mib_s: mib_per_s(bytes - half_bytes, end.duration_since(half_at).as_secs_f64()),
            }
        }
    }

    /// Marks where the second half of a step of `duration` starts, by time.
    struct HalfMark {
        start: Instant,
        half_at: Option<(Instant, u64)>,
        duration: Duration,
    }

    impl HalfMark {
        fn start(duration: Duration) -> HalfMark {
            HalfMark { start: Instant::now(), half_at: None, duration }
        }

        /// After each unit of progress: `bytes` done so far.
        fn progress(&mut self, bytes: u64) {
            if self.half_at.is_none() {
                let now = Instant::now();
                if now.duration_since(self.start) >= self.duration / 2 {
                    self.half_at = Some((now, bytes));
                }
            }
        }

        fn elapsed(&self) -> Duration {
            self.start.elapsed()
        }

        /// The rate of a step that moved `bytes` in all and ended now.
        fn finish(&self, bytes: u64) -> Rate {
            let (half_at, half_bytes) = self.half_at.unwrap_or((self.start, 0));
            Rate::between(self.start, (half_at, half_bytes), (Instant::now(), bytes))
        }
    }

    /// Writes `total_bytes` sequentially in 16 KiB buffers into the page cache, no fsync: a
    /// figure of memory rather than the disk, for reference.
    fn raw_write_cached(path: &Path, total_bytes: usize) -> f64 {
        let buf = vec![0xA5u8; WRITE_BUF_BYTES];
        let mut file = OpenOptions::new().write(true).create(true).truncate(true).open(path).expect("create raw file");
        let writes = total_bytes / WRITE_BUF_BYTES;
        let start = Instant::now();
        for _ in 0..writes {
            file.write_all(&buf).expect("raw write");
        }
        let secs = start.elapsed().as_secs_f64();
        drop(file);
        std::fs::remove_file(path).expect("remove raw file");
        mib_per_s((WRITE_BUF_BYTES * writes) as u64, secs)
    }

    /// Writes sequentially in 16 KiB buffers for `duration`, with an fsync every MiB and at
    /// the end, so the data is on the device when the clock stops, as the broker's is.
    fn raw_write_durable(path: &Path, duration: Duration) -> Rate {
        let buf = vec![0xA5u8; WRITE_BUF_BYTES];
        let mut file = OpenOptions::new().write(true).create(true).truncate(true).open(path).expect("create raw file");
        let writes_per_sync = (1 << 20) / WRITE_BUF_BYTES;
        let mut mark = HalfMark::start(duration);
        let mut bytes = 0u64;
        while mark.elapsed() < duration {
            for _ in 0..writes_per_sync {
                file.write_all(&buf).expect("raw write");
            }
            file.sync_data().expect("raw fsync");
            bytes += (WRITE_BUF_BYTES * writes_per_sync) as u64;
            mark.progress(bytes);
        }
        let rate = mark.finish(bytes);
        drop(file);
        std::fs::remove_file(path).expect("remove raw file");
        rate
    }

    // ---- the broker process ----

    /// A running `seedlog broker`, killed (SIGKILL) and reaped on drop.
    struct Broker {
        child: Child,
        bootstrap: String,
    }

    impl Drop for Broker {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0").expect("bind a free port").local_addr().expect("local addr").port()
    }

    /// The broker binary: this build's, or `SEEDLOG_BENCH_BROKER` (another build, for A/B
    /// comparisons on the same bench client).
    fn broker_binary() -> String {
        std::env::var("SEEDLOG_BENCH_BROKER").unwrap_or_else(|_| env!("CARGO_BIN_EXE_seedlog").to_string())
    }

    /// Starts the broker with its data in `dir/data` and its log in `dir/broker.log`, and
    /// waits until it accepts connections.
    fn start_broker(dir: &Path) -> Broker {
        let data = dir.join("data");
        std::fs::create_dir_all(&data).expect("create broker data dir");
        let log = std::fs::File::create(dir.join("broker.log")).expect("create broker log");
        let port = free_port();
        let child = Command::new(broker_binary())
            .arg("broker")
            .arg("--override")
            .arg(format!("listeners=PLAINTEXT://127.0.0.1:{port}"))
            .arg("--override")
            .arg(format!("log.dirs={}", data.display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", broker_binary()));
        let mut broker = Broker { child, bootstrap: format!("127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = broker.child.try_wait() {
                panic!(
                    "the broker exited ({status}) before accepting connections; see {}",
                    dir.join("broker.log").display()
                );
            }
            assert!(Instant::now() < deadline, "the broker did not accept connections within 30 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        broker
    }

    async fn create_topic(bootstrap: &str, partitions: i32) {
        let admin = Admin::new(bootstrap, ConnectionConfig::default()).expect("admin");
        let topic = NewTopic {
            name: TOPIC.into(),
            partitions: Some(partitions),
            replication_factor: Some(1),
            configs: Vec::new(),
        };
        admin.create_topic(&topic).await.expect("create topic");
        admin.wait_for_leaders(TOPIC, Duration::from_secs(30)).await.expect("topic leaders");
        admin.cluster().close();
    }

    /// A producer with its metadata and leader connections in place, so timing starts at
    /// the first record rather than at connection set-up.
    async fn warm_producer(bootstrap: &str, settings: &Settings) -> Producer {
        let producer =
            Producer::new(bootstrap, settings.producer_config(), Clock::system(), seeded(7)).expect("producer");
        for partition in 0..settings.partitions {
            producer.cluster().leader_connection(TOPIC, partition).await.expect("leader connection");
        }
        producer
    }

    fn record(value: &Bytes, i: usize, partitions: i32) -> ProducerRecord {
        ProducerRecord::new(TOPIC, value.clone()).with_partition((i % partitions as usize) as i32)
    }

    /// A timed produce or consume step.
    struct StepResult {
        rate: Rate,
        broker_cpu: f64,
        bench_cpu: f64,
    }

    /// Sends records as fast as the window allows (at most `window` unacknowledged) for the
    /// step's duration; times first send to last ack. Returns the rate and the records sent.
    async fn produce_all(broker: &Broker, settings: &Settings) -> (StepResult, usize) {
        let producer = warm_producer(&broker.bootstrap, settings).await;
        let value = Bytes::from(vec![0x5Au8; RECORD_VALUE_BYTES]);
        let duration = Duration::from_secs(settings.secs as u64);
        let mut outstanding: VecDeque<DeliveryFuture> = VecDeque::with_capacity(settings.window);
        let cpu = CpuMeter::start(broker);
        let mut mark = HalfMark::start(duration);
        let bytes = |n: usize| (n * RECORD_VALUE_BYTES) as u64;
        // Deliveries are awaited in send order, so `acked` counts a prefix.
        let (mut sent, mut acked) = (0usize, 0usize);
        while sent % 1024 != 0 || mark.elapsed() < duration {
            if outstanding.len() >= settings.window {
                let oldest = outstanding.pop_front().expect("window is not empty");
                oldest.await.expect("produce");
                acked += 1;
                mark.progress(bytes(acked));
            }
            outstanding.push_back(producer.send(record(&value, sent, settings.partitions)));
            sent += 1;
        }
        for delivery in outstanding {
            delivery.await.expect("produce");
            acked += 1;
            mark.progress(bytes(acked));
        }
        let rate = mark.finish(bytes(acked));
        let (broker_cpu, bench_cpu) = cpu.stop();
        producer.close().await;
        (StepResult { rate, broker_cpu, bench_cpu }, sent)
    }

    /// Reads every record of the topic from the earliest offset. Returns MiB/s and CPU.
    async fn consume_all(broker: &Broker, settings: &Settings, expected: usize) -> StepResult {
        let config = ConsumerConfig {
            client_id: "seedlog-bench".to_owned(),
            max_partition_fetch_bytes: settings.fetch_bytes,
            auto_offset_reset: OffsetReset::None,
            ..ConsumerConfig::default()
        };
        let mut consumer = Consumer::new(&broker.bootstrap, config).expect("consumer");
        let partitions: Vec<i32> = (0..settings.partitions).collect();
        consumer.assign(TOPIC, &partitions, StartOffset::Earliest);
        // Metadata and the connection first, as for the producer.
        consumer.cluster().leader_connection(TOPIC, 0).await.expect("leader connection");
        let (mut count, mut bytes) = (0usize, 0u64);
        let cpu = CpuMeter::start(broker);
        let start = Instant::now();
        let (mut half_bytes, mut half_at) = (None, start);
        let deadline = start + Duration::from_secs(600);
        while count < expected {
            assert!(Instant::now() < deadline, "consumed {count} of {expected} records in 600 s");
            for record in consumer.poll(Duration::from_millis(500)).await.expect("poll") {
                bytes += record.value.as_ref().map_or(0, |v| v.len() as u64);
                count += 1;
            }
            if half_bytes.is_none() && count >= expected / 2 {
                (half_bytes, half_at) = (Some(bytes), Instant::now());
            }
        }
        let end = Instant::now();
        let (broker_cpu, bench_cpu) = cpu.stop();
        assert_eq!(count, expected, "read back exactly what was produced");
        consumer.close();
        let rate = Rate::between(start, (half_at, half_bytes.unwrap_or(0)), (end, bytes));
        StepResult { rate, broker_cpu, bench_cpu }
    }

    struct LatencyResult {
        p50_ms: f64,
        p99_ms: f64,
        max_ms: f64,
        achieved_mib_s: f64,
        records: usize,
        /// Sends that waited for the window (the broker fell behind the paced rate).
        window_waits: usize,
        broker_cpu: f64,
        bench_cpu: f64,
    }

    /// Nearest-rank percentile of sorted `v`.
    fn percentile(v: &[u32], p: f64) -> u32 {
        let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
        v[rank.clamp(1, v.len()) - 1]
    }

    /// Writes, per millisecond of sending, the records sent and their worst send-to-ack
    /// time: `ms_since_start records max_us`, for finding when the tail happens.
    fn write_timeline(path: &Path, start: Instant, samples: &[(Instant, u32)]) {
        let mut buckets = std::collections::BTreeMap::<u128, (u32, u32)>::new();
        for (sent, us) in samples {
            let bucket = buckets.entry(sent.duration_since(start).as_millis()).or_default();
            bucket.0 += 1;
            bucket.1 = bucket.1.max(*us);
        }
        let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create timeline file"));
        for (ms, (records, max_us)) in buckets {
            writeln!(out, "{ms} {records} {max_us}").expect("write timeline");
        }
    }

    /// Sends at `rate_mib_s` (token bucket, 1 ms ticks, bursts of at most 10 ms of tokens)
    /// for the configured duration and records each record's send-to-ack time.
    async fn produce_paced(broker: &Broker, settings: &Settings, rate_mib_s: f64) -> LatencyResult {
        let producer = warm_producer(&broker.bootstrap, settings).await;
        let value = Bytes::from(vec![0x5Au8; RECORD_VALUE_BYTES]);
        // One collector per partition: a partition's acks come in send order, so awaiting
        // its deliveries in order times each one when it resolves.
        let window = Arc::new(Semaphore::new(settings.window));
        let rate_rps = rate_mib_s * MIB / RECORD_VALUE_BYTES as f64;
        // Room for every sample up front: growing a vector of tens of MB mid-run stalls the
        // collector and shows up as latency the broker never caused.
        let expected_per_partition =
            (rate_rps * settings.secs as f64 * 1.1) as usize / settings.partitions as usize + 1;
        let mut queues = Vec::new();
        let mut collectors = Vec::new();
        for _ in 0..settings.partitions {
            let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, DeliveryFuture, OwnedSemaphorePermit)>();
            queues.push(tx);
            collectors.push(tokio::spawn(async move {
                let mut samples = Vec::with_capacity(expected_per_partition);
                while let Some((sent, delivery, permit)) = rx.recv().await {
                    delivery.await.expect("produce");
                    samples.push((sent, u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX)));
                    drop(permit);
                }
                samples
            }));
        }
        let burst = (rate_rps * 0.010).max(1.0);
        let duration = Duration::from_secs(settings.secs as u64);
        let mut ticker = tokio::time::interval(Duration::from_millis(1));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let (mut tokens, mut sent, mut window_waits) = (0.0f64, 0usize, 0usize);
        let cpu = CpuMeter::start(broker);
        let start = Instant::now();
        let mut last = start;
        while last.duration_since(start) < duration {
            ticker.tick().await;
            let now = Instant::now();
            tokens = (tokens + now.duration_since(last).as_secs_f64() * rate_rps).min(burst);
            last = now;
            while tokens >= 1.0 {
                tokens -= 1.0;
                let permit = match window.clone().try_acquire_owned() {
                    Ok(permit) => permit,
                    Err(_) => {
                        window_waits += 1;
                        window.clone().acquire_owned().await.expect("window semaphore")
                    }
                };
                let partition = sent % settings.partitions as usize;
                let sent_at = Instant::now();
                let delivery = producer.send(record(&value, sent, settings.partitions));
                queues[partition].send((sent_at, delivery, permit)).expect("collector");
                sent += 1;
            }
        }
        let paced_secs = start.elapsed().as_secs_f64();
        drop(queues);
        let mut samples = Vec::with_capacity(sent);
        for collector in collectors {
            samples.extend(collector.await.expect("collector task"));
        }
        if let Ok(path) = std::env::var("SEEDLOG_BENCH_TIMELINE") {
            write_timeline(Path::new(&path), start, &samples);
        }
        let mut micros: Vec<u32> = samples.into_iter().map(|(_, us)| us).collect();
        let (broker_cpu, bench_cpu) = cpu.stop();
        producer.close().await;
        micros.sort_unstable();
        let ms = |us: u32| f64::from(us) / 1000.0;
        LatencyResult {
            p50_ms: ms(percentile(&micros, 50.0)),
            p99_ms: ms(percentile(&micros, 99.0)),
            max_ms: ms(*micros.last().expect("latency samples")),
            achieved_mib_s: mib_per_s((sent * RECORD_VALUE_BYTES) as u64, paced_secs),
            records: sent,
            window_waits,
            broker_cpu,
            bench_cpu,
        }
    }

    // ---- reporting ----

    #[derive(Default)]
    struct Figures {
        raw_write: Figure,
        raw_write_durable: Figure,
        raw_write_durable_steady: Figure,
        produce: Figure,
        produce_steady: Figure,
        consume: Figure,
        produce_broker_cpu: Figure,
        produce_bench_cpu: Figure,
        consume_broker_cpu: Figure,
        consume_bench_cpu: Figure,
        latency_asked: Figure,
        latency_p50: Figure,
        latency_p99: Figure,
        latency_max: Figure,
        latency_rate: Figure,
        latency_broker_cpu: Figure,
        latency_bench_cpu: Figure,
    }

    pub fn main() {
        let settings = Settings::from_env();
        let keep = std::env::var("SEEDLOG_BENCH_KEEP").is_ok_and(|v| v == "1");
        let rounds = settings.rounds;
        let secs = settings.secs;

        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join("bench-broker")
            .join(format!("run-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("create bench dir");
        let _cleanup = RemoveOnDrop { path: root.clone(), keep };

        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");

        let load_start = load_average();
        println!(
            "seedlog broker bench: {rounds} rounds of {secs} s steps; units MiB/s (2^20 bytes per second), ms; record bytes = value bytes"
        );
        println!("broker: {}", broker_binary());
        println!("dir: {}", root.display());
        println!("filesystem: {}", filesystem_of(&root));
        println!(
            "cpus: {}; load average at start: {load_start}",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        println!(
            "producer: records of {} B for {secs} s, acks={}, idempotence off, linger {} ms, batch {} KiB, {} in flight, window {} records; topic of {} partition(s); fetch {} KiB/partition",
            RECORD_VALUE_BYTES,
            settings.acks,
            settings.linger_ms,
            settings.batch_bytes >> 10,
            settings.in_flight,
            settings.window,
            settings.partitions,
            settings.fetch_bytes >> 10,
        );

        let mut f = Figures::default();
        // An experiment knob: latency rounds only, at a given rate.
        let latency_only_at = std::env::var("SEEDLOG_BENCH_LATENCY_AT").ok().map(|v| {
            v.parse::<f64>().unwrap_or_else(|_| panic!("SEEDLOG_BENCH_LATENCY_AT is a rate in MiB/s, got {v:?}"))
        });
        for round in 0..rounds {
            let dir = root.join(format!("round-{round}"));
            std::fs::create_dir_all(&dir).expect("create round dir");
            let raw_first = round % 2 == 0;
            for step in 0..if latency_only_at.is_some() { 0 } else { 2 } {
                settle(settings.settle);
                if (step == 0) == raw_first {
                    let cached = raw_write_cached(&dir.join("raw-baseline.bin"), settings.cached_mib << 20);
                    f.raw_write.samples.push(cached);
                    settle(settings.settle);
                    let durable =
                        raw_write_durable(&dir.join("raw-baseline.bin"), Duration::from_secs(settings.secs as u64));
                    f.raw_write_durable.samples.push(durable.whole_mib_s);
                    f.raw_write_durable_steady.samples.push(durable.steady_mib_s);
                } else {
                    let broker = start_broker(&dir);
                    let (produced, consumed) = runtime.block_on(async {
                        create_topic(&broker.bootstrap, settings.partitions).await;
                        let (produced, records) = produce_all(&broker, &settings).await;
                        let consumed = consume_all(&broker, &settings, records).await;
                        (produced, consumed)
                    });
                    drop(broker);
                    f.produce.samples.push(produced.rate.whole_mib_s);
                    f.produce_steady.samples.push(produced.rate.steady_mib_s);
                    f.produce_broker_cpu.samples.push(produced.broker_cpu);
                    f.produce_bench_cpu.samples.push(produced.bench_cpu);
                    f.consume.samples.push(consumed.rate.whole_mib_s);
                    f.consume_broker_cpu.samples.push(consumed.broker_cpu);
                    f.consume_bench_cpu.samples.push(consumed.bench_cpu);
                    if !keep {
                        std::fs::remove_dir_all(dir.join("data")).expect("remove broker data");
                    }
                }
            }
            if latency_only_at.is_none() {
                eprintln!(
                    "round {}/{rounds}: raw durable write {:.0} (steady {:.0}); produce {:.0} (steady {:.0}; broker cpu {:.0}%, bench cpu {:.0}%); consume {:.0} (broker cpu {:.0}%, bench cpu {:.0}%); load {}",
                    round + 1,
                    f.raw_write_durable.samples[round],
                    f.raw_write_durable_steady.samples[round],
                    f.produce.samples[round],
                    f.produce_steady.samples[round],
                    f.produce_broker_cpu.samples[round],
                    f.produce_bench_cpu.samples[round],
                    f.consume.samples[round],
                    f.consume_broker_cpu.samples[round],
                    f.consume_bench_cpu.samples[round],
                    load_average(),
                );
            }
            // Latency right after this round's throughput, at half of it: the device and
            // the VM's memory here change speed by 2x over minutes (see `Rate`), so half of
            // a maximum measured earlier can be more than the machine can do now.
            let latency_rate = latency_only_at.unwrap_or_else(|| f.produce_steady.samples[round] / 2.0);
            let dir = root.join(format!("latency-{round}"));
            std::fs::create_dir_all(&dir).expect("create round dir");
            settle(settings.settle);
            let broker = start_broker(&dir);
            let result = runtime.block_on(async {
                create_topic(&broker.bootstrap, settings.partitions).await;
                produce_paced(&broker, &settings, latency_rate).await
            });
            drop(broker);
            if !keep {
                std::fs::remove_dir_all(dir.join("data")).expect("remove broker data");
            }
            eprintln!(
                "latency round {}/{rounds}: {} records at {:.1} MiB/s (asked {latency_rate:.1}): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; window waits {}; broker cpu {:.0}%, bench cpu {:.0}%; load {}",
                round + 1,
                result.records,
                result.achieved_mib_s,
                result.p50_ms,
                result.p99_ms,
                result.max_ms,
                result.window_waits,
                result.broker_cpu,
                result.bench_cpu,
                load_average(),
            );
            f.latency_asked.samples.push(latency_rate);
            f.latency_p50.samples.push(result.p50_ms);
            f.latency_p99.samples.push(result.p99_ms);
            f.latency_max.samples.push(result.max_ms);
            f.latency_rate.samples.push(result.achieved_mib_s);
            f.latency_broker_cpu.samples.push(result.broker_cpu);
            f.latency_bench_cpu.samples.push(result.bench_cpu);
        }

        if latency_only_at.is_some() {
            // No throughput rounds, so no report to compare against; the lines above are it.
            return;
        }

        let latency_rate = f.latency_asked.median();
        let rows: [(&str, &str, &str, &Figure); 17] = [
            (
                "raw_write_durable_steady",
                "mib_s",
                "raw write, fsync/MiB, 2nd half (MiB/s)",
                &f.raw_write_durable_steady,
            ),
            ("produce_steady", "mib_s", "produce, 2nd half (MiB/s)", &f.produce_steady),
            ("raw_write_durable", "mib_s", "raw write, 16 KiB, fsync/MiB (MiB/s)", &f.raw_write_durable),
            ("raw_write", "mib_s", "raw write, 16 KiB, page cache (MiB/s)", &f.raw_write),
            ("produce", "mib_s", "produce (MiB/s)", &f.produce),
            ("consume", "mib_s", "consume from earliest (MiB/s)", &f.consume),
            ("latency_p50", "ms", "produce latency p50 (ms)", &f.latency_p50),
            ("latency_p99", "ms", "produce latency p99 (ms)", &f.latency_p99),
            ("latency_max", "ms", "produce latency max (ms)", &f.latency_max),
            ("latency_asked", "mib_s", "latency: asked rate, half of produce (MiB/s)", &f.latency_asked),
            ("latency_rate", "mib_s", "latency: achieved rate (MiB/s)", &f.latency_rate),
            ("produce_broker_cpu", "pct", "diag: broker CPU, produce (%)", &f.produce_broker_cpu),
            ("produce_bench_cpu", "pct", "diag: client CPU, produce (%)", &f.produce_bench_cpu),
            ("consume_broker_cpu", "pct", "diag: broker CPU, consume (%)", &f.consume_broker_cpu),
            ("consume_bench_cpu", "pct", "diag: client CPU, consume (%)", &f.consume_bench_cpu),
            ("latency_broker_cpu", "pct", "diag: broker CPU, latency (%)", &f.latency_broker_cpu),
            ("latency_bench_cpu", "pct", "diag: client CPU, latency (%)", &f.latency_bench_cpu),
        ];
        println!();
        println!("{:<40} {:>10} {:>10} {:>10}", "figure", "median", "min", "max");
        for (_, _, label, fig) in &rows {
            println!("{label:<40} {:>10.2} {:>10.2} {:>10.2}", fig.median(), fig.min(), fig.max());
        }

        let ratio = f.produce_steady.median() / f.raw_write_durable_steady.median();
        let whole_run_ratio = f.produce.median() / f.raw_write_durable.median();
        let page_cache_ratio = f.produce.median() / f.raw_write.median();
        let throughput_verdict = if ratio >= TARGET_THROUGHPUT_RATIO { "PASS" } else { "MISS" };
        let p99 = f.latency_p99.median();
        let latency_verdict = if p99 < TARGET_P99_MS { "PASS" } else { "MISS" };
        let consume_ratio = f.consume.median() / f.raw_write_durable.median();
        println!();
        println!("{:<40} {:>10} {:>10} {:>10}", "target", "value", "target", "result");
        println!(
            "{:<40} {:>9.1}% {:>8}{:.0}% {:>10}",
            "steady produce / steady raw durable",
            ratio * 100.0,
            ">=",
            TARGET_THROUGHPUT_RATIO * 100.0,
            throughput_verdict
        );
        println!(
            "{:<40} {:>10.2} {:>8}{:.0} {:>10}",
            format!("p99 produce latency at {latency_rate:.0} MiB/s (ms)"),
            p99,
            "<",
            TARGET_P99_MS,
            latency_verdict
        );
        println!("{:<40} {:>9.1}%   (informational)", "whole-run produce / raw durable write", whole_run_ratio * 100.0);
        println!("{:<40} {:>9.1}%   (informational)", "produce / raw page-cache write", page_cache_ratio * 100.0);
        println!("{:<40} {:>9.1}%   (informational)", "consume / raw durable write", consume_ratio * 100.0);
        println!("load average at end: {}", load_average());
        println!();
        for (key, unit, _, fig) in &rows {
            println!(
                "BENCH broker {key} median_{unit}={:.2} min_{unit}={:.2} max_{unit}={:.2} rounds={rounds} secs={secs} partitions={} acks={} batch_kb={}",
                fig.median(),
                fig.min(),
                fig.max(),
                settings.partitions,
                settings.acks,
                settings.batch_bytes >> 10,
            );
        }
        println!(
            "BENCH broker produce_vs_raw_write ratio={ratio:.3} target={TARGET_THROUGHPUT_RATIO:.2} result={throughput_verdict} over=second_half"
        );
        println!("BENCH broker produce_vs_raw_write_whole_run ratio={whole_run_ratio:.3} diagnostic=true");
        println!(
            "BENCH broker latency_p99 value_ms={p99:.2} target_ms={TARGET_P99_MS:.1} rate_mib_s={latency_rate:.1} result={latency_verdict}"
        );
        println!("BENCH broker produce_vs_raw_page_cache_write ratio={page_cache_ratio:.3} diagnostic=true");
        println!("BENCH broker consume_vs_raw_write ratio={consume_ratio:.3} diagnostic=true");
    }
}
