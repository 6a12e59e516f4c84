//! Apache Kafka judges seedlog (issue 9): the reference Java client and Kafka's own tools,
//! run against `seedlog broker`, and Kafka's DumpLogSegments over the data dir seedlog wrote.
//!
//! - `java_client_against_seedlog`: tests/java/ClientCases.java (produce with acks 0/1/all,
//!   idempotence, every codec, headers, LogAppendTime; consume by assign, seek, out of range,
//!   offsetsForTimes; the admin calls) in one JVM against a fresh broker.
//! - `java_client_against_apache_kafka`: the same program against a real Apache Kafka node,
//!   the baseline that proves the cases assert what Kafka does (and that [`KafkaNode`] works);
//!   then `seedlog dump-log` reads the segments Kafka wrote and must agree with Kafka's
//!   DumpLogSegments on every batch.
//! - `kafka_tools_against_seedlog`: TopicCommand, the console producer and consumer,
//!   GetOffsetShell, ProducerPerformance, VerifiableProducer against one broker; then the
//!   broker is stopped and DumpLogSegments verifies every segment, index and snapshot.
//!   (ConsumerPerformance and VerifiableConsumer need consumer groups: issue 10.)
//!
//! Kafka's jars come from `scripts/install-kafka.sh` (which these tests run; a no-op when the
//! pinned set is there); a missing java, javac or mvn fails the tests, it never skips them.
//! One JVM per tool invocation is the slow part, so each check batches what it can.

// Test scaffolding, not broker code: it spawns processes, makes temporary directories and
// waits on the wall clock.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::kafka::{kafka, KafkaNode};
use common::process::{run, Run};
use common::{free_port, scratch_dir, BrokerProcess};

/// A hard limit on one JVM run (tool or client program); each stops itself well before.
const JAVA_TIMEOUT: Duration = Duration::from_secs(180);

/// A seedlog broker in a scratch dir, with its output kept in the dir.
fn seedlog_broker(name: &str, overrides: &[&str]) -> (BrokerProcess, PathBuf) {
    let dir = scratch_dir(&format!("apache-kafka-{name}-{}", free_port()));
    fs::create_dir_all(&dir).unwrap();
    let broker = BrokerProcess::start_logged(&dir.join("data"), free_port(), overrides, &dir.join("broker.out"));
    (broker, dir)
}

/// Runs ClientCases against `bootstrap`; Err with its report when a case failed.
fn client_cases(bootstrap: &str) -> Result<Run, Run> {
    let mut command = kafka().java_test_program("ClientCases");
    command.arg(bootstrap);
    let run = run(&mut command, None, JAVA_TIMEOUT);
    if run.success() {
        Ok(run)
    } else {
        Err(run)
    }
}

#[test]
fn java_client_against_seedlog() {
    let (mut broker, dir) = seedlog_broker("java-client", &[]);
    let result = client_cases(&broker.bootstrap());
    let alive = broker.child.try_wait().unwrap();
    match result {
        Ok(run) if alive.is_none() => {
            eprintln!("{}", run.stdout);
            drop(broker);
            let _ = fs::remove_dir_all(dir);
        }
        Ok(run) | Err(run) => panic!(
            "the Java client cases failed against seedlog (broker exit: {alive:?}):\n{}\n{}\n(broker data in {})",
            run.report(),
            broker.output_tail(),
            dir.display()
        ),
    }
}

/// The Java client cases against a real Apache Kafka node (the baseline); then, the other
/// way round, `seedlog dump-log` reads every segment that Kafka wrote (the cases' topics, in
/// every codec, with producer ids and headers, and Kafka's own metadata log) and must agree
/// with Kafka's DumpLogSegments on every batch.
#[test]
fn java_client_against_apache_kafka() {
    let started = Instant::now();
    let mut node = KafkaNode::start("java-client");
    eprintln!("Apache Kafka {} node up in {:.1} s", kafka().version, started.elapsed().as_secs_f64());
    let result = client_cases(&node.bootstrap());
    let alive = node.check_alive();
    match result {
        Ok(run) if alive.is_ok() => eprintln!("{}", run.stdout),
        Ok(run) | Err(run) => panic!(
            "the Java client cases failed against Apache Kafka {} (so the case, not seedlog, is wrong):\n{}\n{}",
            kafka().version,
            run.report(),
            alive.err().unwrap_or_else(|| node.log_tail())
        ),
    }
    node.kill();
    if let Err(report) = seedlog_dump_log_agrees_with_kafka(&node.log_dir()) {
        panic!("seedlog dump-log disagrees with Kafka's DumpLogSegments on Kafka's own segments:\n{report}");
    }
}

/// Runs `seedlog dump-log` and Kafka's DumpLogSegments over every `.log` segment under
/// `log_dir` (of a killed node: nothing writes to them any more), and compares, file by
/// file, every batch line. Kafka's line has one field seedlog's lacks, `deleteHorizonMs`
/// (only compaction sets it; seedlog does not compact), which is taken out before comparing.
fn seedlog_dump_log_agrees_with_kafka(log_dir: &Path) -> Result<(), String> {
    let mut segments = Vec::new();
    for partition in fs::read_dir(log_dir).map_err(|e| e.to_string())? {
        let partition = partition.map_err(|e| e.to_string())?.path();
        if partition.is_dir() {
            for file in fs::read_dir(&partition).map_err(|e| e.to_string())? {
                let file = file.map_err(|e| e.to_string())?.path();
                if file.extension().is_some_and(|x| x == "log") {
                    segments.push(file);
                }
            }
        }
    }
    segments.sort();
    let batches = |stdout: &str| -> Vec<String> {
        stdout
            .lines()
            .filter(|l| l.starts_with("Dumping ") || l.starts_with("baseOffset: "))
            .map(|l| l.replace(" deleteHorizonMs: OptionalLong.empty", ""))
            .collect()
    };
    let mut ours = Command::new(env!("CARGO_BIN_EXE_seedlog"));
    ours.arg("dump-log").args(&segments);
    let ours = run(&mut ours, None, JAVA_TIMEOUT);
    check(ours.success(), || ours.report())?;
    let list = segments.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(",");
    let mut theirs = kafka().java("kafka.tools.DumpLogSegments");
    theirs.args(["--files", &list]);
    let theirs = run(&mut theirs, None, JAVA_TIMEOUT);
    check(theirs.success(), || theirs.report())?;
    let (ours_lines, theirs_lines) = (batches(&ours.stdout), batches(&theirs.stdout));
    let batch_count = theirs_lines.iter().filter(|l| l.starts_with("baseOffset: ")).count();
    // The cases write over a hundred batches, in every codec; Kafka's metadata log adds its own.
    check(batch_count >= 50 && segments.len() >= 20, || {
        format!("only {batch_count} batches in {} segments:\n{}", segments.len(), theirs.report())
    })?;
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let marker = format!(" compresscodec: {codec} ");
        check(theirs_lines.iter().any(|l| l.contains(&marker)), || format!("no {codec} batch among Kafka's segments"))?;
    }
    for (i, (a, b)) in ours_lines.iter().zip(&theirs_lines).enumerate() {
        check(a == b, || format!("line {i} differs:\nseedlog dump-log: {a}\nDumpLogSegments:  {b}"))?;
    }
    check(ours_lines.len() == theirs_lines.len(), || {
        format!("seedlog dump-log printed {} lines, DumpLogSegments {}", ours_lines.len(), theirs_lines.len())
    })?;
    eprintln!("seedlog dump-log agrees with DumpLogSegments on {batch_count} batches in {} segments", segments.len());
    Ok(())
}

/// Runs one Kafka tool (its main class and arguments), feeding it `stdin`; Err with a
/// report when it exits non-zero.
fn tool(main_class: &str, args: &[&str], stdin: Option<&[u8]>) -> Result<Run, String> {
    let mut command = kafka().java(main_class);
    command.args(args);
    let run = run(&mut command, stdin, JAVA_TIMEOUT);
    if run.success() {
        Ok(run)
    } else {
        Err(run.report())
    }
}

/// The tool printed no warning or error: its stderr is empty but for the JVM's own notes.
fn quiet(run: &Run) -> bool {
    run.stderr.lines().all(|l| l.trim().is_empty() || l.starts_with("OpenJDK 64-Bit Server VM warning"))
}

fn check(condition: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if condition {
        Ok(())
    } else {
        Err(message())
    }
}

/// What the tools produced, checked against GetOffsetShell and then DumpLogSegments.
const CONSOLE_RECORDS: usize = 40;
const PERF_RECORDS: usize = 9_000;
/// 1,000-byte records of random letters (which snappy hardly shrinks): 9 MB over 3 partitions
/// of 1 MiB segments (Kafka 4's smallest) roll a few segments in each.
const PERF_RECORD_BYTES: &str = "1000";
const PERF_PARTITIONS: usize = 3;
const VERIFIABLE_RECORDS: usize = 300;

#[test]
fn kafka_tools_against_seedlog() {
    let started = Instant::now();
    let (mut broker, dir) = seedlog_broker("tools", &[]);
    let bootstrap = broker.bootstrap();
    let mut failures = Vec::new();
    let mut step = |name: &str, result: Result<(), String>| {
        match &result {
            Ok(()) => eprintln!("kafka tools: PASS {name} ({:.1} s since start)", started.elapsed().as_secs_f64()),
            Err(_) => eprintln!("kafka tools: FAIL {name}"),
        }
        if let Err(report) = result {
            failures.push(format!("===== {name} =====\n{report}"));
        }
    };

    step("TopicCommand create, alter, describe, delete, list", topic_command(&bootstrap));
    step("console producer and consumer", console_producer_and_consumer(&bootstrap));
    step("ProducerPerformance", producer_performance(&bootstrap));
    step("VerifiableProducer", verifiable_producer(&bootstrap));
    // ConsumerPerformance and VerifiableConsumer are not run: both subscribe with a consumer
    // group (KafkaConsumer.subscribe, commitSync), which needs FindCoordinator, JoinGroup,
    // SyncGroup, Heartbeat and OffsetCommit; seedlog has no group coordinator yet, and both
    // stop with "UnsupportedVersionException: The node does not support FIND_COORDINATOR".
    // They join with consumer groups in issue 10.
    let log_end_offsets = get_offset_shell(&bootstrap);
    step("GetOffsetShell", log_end_offsets.as_ref().map(|_| ()).map_err(Clone::clone));

    // DumpLogSegments reads the files of a stopped broker, as an operator would: SIGTERM
    // flushes every log and trims the active segments' indexes.
    let status = broker.terminate();
    step(
        "seedlog broker stops cleanly on SIGTERM",
        check(status.success(), || format!("exit {status}\n{}", broker.output_tail())),
    );
    if let Ok(log_end_offsets) = &log_end_offsets {
        step("DumpLogSegments verifies seedlog's segments", dump_log_segments(&dir.join("data"), log_end_offsets));
    }

    assert!(
        failures.is_empty(),
        "{} Kafka tool checks failed against seedlog:\n\n{}\n{}\n(broker data and output in {})",
        failures.len(),
        failures.join("\n\n"),
        broker.output_tail(),
        dir.display()
    );
    drop(broker);
    let _ = fs::remove_dir_all(dir);
}

/// TopicCommand: create (with a config and with partitions), alter (grow) one, describe every
/// topic, delete one, and list what is left.
fn topic_command(bootstrap: &str) -> Result<(), String> {
    const TOPICS: &str = "org.apache.kafka.tools.TopicCommand";
    let create = |topic: &str, partitions: usize, config: &[&str]| -> Result<(), String> {
        let partitions = partitions.to_string();
        let mut args = vec!["--bootstrap-server", bootstrap, "--create", "--topic", topic, "--partitions", &partitions];
        for c in config {
            args.extend(["--config", c]);
        }
        let run = tool(TOPICS, &args, None)?;
        check(run.stdout.contains(&format!("Created topic {topic}.")), || run.report())
    };
    create("console", 1, &["retention.ms=86400000"])?;
    // Small segments: the perf records roll several, so DumpLogSegments sees rolled segments too.
    create("perf", PERF_PARTITIONS, &["segment.bytes=1048576"])?;
    create("doomed", 2, &[])?;
    // --alter --partitions: CreatePartitions.
    let run =
        tool(TOPICS, &["--bootstrap-server", bootstrap, "--alter", "--topic", "doomed", "--partitions", "3"], None)?;
    check(quiet(&run), || run.report())?;

    let run = tool(TOPICS, &["--bootstrap-server", bootstrap, "--describe"], None)?;
    let describe = &run.stdout;
    let header = |topic: &str| describe.lines().find(|l| l.starts_with(&format!("Topic: {topic}\t"))).unwrap_or("");
    check(header("perf").contains("PartitionCount: 3\tReplicationFactor: 1\tConfigs: segment.bytes=1048576"), || {
        format!("perf described as:\n{}", run.report())
    })?;
    check(
        header("console").contains("PartitionCount: 1\tReplicationFactor: 1\tConfigs: retention.ms=86400000"),
        || format!("console described as:\n{}", run.report()),
    )?;
    check(!header("perf").contains("TopicId: AAAAAAAAAAAAAAAAAAAAAA"), || {
        format!("perf has the zero topic id:\n{}", run.report())
    })?;
    // One line per partition: led by the one broker, which is the only replica and in sync.
    let partitions: Vec<&str> = describe.lines().filter(|l| l.starts_with("\tTopic: ")).collect();
    check(header("doomed").contains("PartitionCount: 3\t"), || format!("doomed not grown to 3:\n{}", run.report()))?;
    check(partitions.len() == 1 + PERF_PARTITIONS + 3, || format!("expected 7 partition lines:\n{}", run.report()))?;
    for line in &partitions {
        check(line.contains("Leader: 1\tReplicas: 1\tIsr: 1"), || {
            format!("partition line {line:?}:\n{}", run.report())
        })?;
    }

    let run = tool(TOPICS, &["--bootstrap-server", bootstrap, "--delete", "--topic", "doomed"], None)?;
    check(quiet(&run), || run.report())?;
    let run = tool(TOPICS, &["--bootstrap-server", bootstrap, "--list"], None)?;
    let listed: Vec<&str> = run.stdout.lines().collect();
    check(listed == ["console", "perf"], || format!("after deleting doomed, --list said:\n{}", run.report()))
}

/// The console producer sends lines with headers and keys (gzip); the console consumer
/// reads them back by partition and offset (no group), printing partition, offset, headers,
/// key and value: every line must match what was sent.
fn console_producer_and_consumer(bootstrap: &str) -> Result<(), String> {
    let mut input = String::new();
    let mut expected = Vec::new();
    for i in 0..CONSOLE_RECORDS {
        let headers = format!("source:console,n:{i}");
        let (key, value) = (format!("key-{i}"), format!("value {i} with spaces: ünïcødé"));
        input.push_str(&format!("{headers}\t{key}\t{value}\n"));
        expected.push(format!("Partition:0\tOffset:{i}\t{headers}\t{key}\t{value}"));
    }
    tool(
        "org.apache.kafka.tools.ConsoleProducer",
        &[
            "--bootstrap-server",
            bootstrap,
            "--topic",
            "console",
            "--compression-codec",
            "gzip",
            "--property",
            "parse.key=true",
            "--property",
            "parse.headers=true",
        ],
        Some(input.as_bytes()),
    )?;
    let max = CONSOLE_RECORDS.to_string();
    let run = tool(
        "org.apache.kafka.tools.consumer.ConsoleConsumer",
        &[
            "--bootstrap-server",
            bootstrap,
            "--topic",
            "console",
            "--partition",
            "0",
            "--offset",
            "earliest",
            "--max-messages",
            &max,
            "--timeout-ms",
            "30000",
            "--property",
            "print.partition=true",
            "--property",
            "print.offset=true",
            "--property",
            "print.headers=true",
            "--property",
            "print.key=true",
        ],
        None,
    )?;
    let read: Vec<&str> = run.stdout.lines().collect();
    check(read == expected, || format!("the console consumer read other lines than were produced:\n{}", run.report()))?;
    check(run.stderr.contains(&format!("Processed a total of {CONSOLE_RECORDS} messages")), || run.report())
}

/// ProducerPerformance at acks=1 with snappy: every record sent, none failed.
fn producer_performance(bootstrap: &str) -> Result<(), String> {
    let count = PERF_RECORDS.to_string();
    let servers = format!("bootstrap.servers={bootstrap}");
    let run = tool(
        "org.apache.kafka.tools.ProducerPerformance",
        &[
            "--topic",
            "perf",
            "--num-records",
            &count,
            "--record-size",
            PERF_RECORD_BYTES,
            "--throughput",
            "-1",
            "--producer-props",
            &servers,
            "acks=1",
            "compression.type=snappy",
            "linger.ms=5",
        ],
        None,
    )?;
    // The last line: "3000 records sent, 9000.0 records/sec (1.72 MB/sec), ... latency ...".
    check(run.stdout.lines().any(|l| l.starts_with(&format!("{PERF_RECORDS} records sent, "))), || run.report())?;
    check(!run.stderr.contains("ERROR") && !run.stdout.contains("Exception"), || run.report())
}

/// VerifiableProducer at acks=all to a topic it auto-creates: every send acknowledged, at
/// distinct offsets, and its summary agrees.
fn verifiable_producer(bootstrap: &str) -> Result<(), String> {
    let count = VERIFIABLE_RECORDS.to_string();
    let run = tool(
        "org.apache.kafka.tools.VerifiableProducer",
        &[
            "--bootstrap-server",
            bootstrap,
            "--topic",
            "verifiable",
            "--max-messages",
            &count,
            "--acks",
            "-1",
            "--value-prefix",
            "7",
        ],
        None,
    )?;
    let events: Vec<serde_json::Value> = run.stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let named = |name: &'static str| events.iter().filter(move |e| e["name"] == name);
    check(named("producer_send_error").count() == 0, || format!("send errors:\n{}", run.report()))?;
    let mut offsets: Vec<(i64, i64)> = named("producer_send_success")
        .map(|e| (e["partition"].as_i64().unwrap_or(-1), e["offset"].as_i64().unwrap_or(-1)))
        .collect();
    offsets.sort();
    let expected: Vec<(i64, i64)> = (0..VERIFIABLE_RECORDS as i64).map(|o| (0, o)).collect();
    check(offsets == expected, || {
        format!("acknowledged offsets are not 0..{VERIFIABLE_RECORDS} of partition 0:\n{}", run.report())
    })?;
    let values: Vec<&str> = named("producer_send_success").filter_map(|e| e["value"].as_str()).collect();
    check(values.iter().all(|v| v.starts_with("7.")), || run.report())?;
    let summary = named("tool_data").next();
    check(summary.is_some_and(|s| s["sent"] == VERIFIABLE_RECORDS && s["acked"] == VERIFIABLE_RECORDS), || {
        format!("tool_data summary {summary:?}:\n{}", run.report())
    })
}

/// GetOffsetShell at latest (-1), earliest (-2), earliest local (-4) and latest tiered (-5)
/// for the three topics; returns the log end offset of each partition ("topic-partition", as
/// the directory is named).
fn get_offset_shell(bootstrap: &str) -> Result<BTreeMap<String, u64>, String> {
    let offsets = |time: &str| -> Result<BTreeMap<String, u64>, String> {
        let run = tool(
            "org.apache.kafka.tools.GetOffsetShell",
            &["--bootstrap-server", bootstrap, "--topic", "console|perf|verifiable", "--time", time],
            None,
        )?;
        check(quiet(&run), || run.report())?;
        let mut found = BTreeMap::new();
        for line in run.stdout.lines() {
            // "topic:partition:offset"
            let mut fields = line.rsplitn(3, ':');
            let (Some(offset), Some(partition), Some(topic)) = (fields.next(), fields.next(), fields.next()) else {
                return Err(format!("unexpected line {line:?}:\n{}", run.report()));
            };
            let offset = offset.parse().map_err(|_| format!("unexpected line {line:?}:\n{}", run.report()))?;
            found.insert(format!("{topic}-{partition}"), offset);
        }
        Ok(found)
    };
    let latest = offsets("-1")?;
    check(latest.len() == 1 + PERF_PARTITIONS + 1, || format!("expected 5 partitions at --time -1: {latest:?}"))?;
    let sum = |topic: &str| {
        latest.iter().filter(|(k, _)| k.rsplit_once('-').unwrap().0 == topic).map(|(_, v)| v).sum::<u64>()
    };
    check(sum("console") == CONSOLE_RECORDS as u64, || format!("latest offsets {latest:?}: console"))?;
    check(sum("perf") == PERF_RECORDS as u64, || format!("latest offsets {latest:?}: perf"))?;
    check(sum("verifiable") == VERIFIABLE_RECORDS as u64, || format!("latest offsets {latest:?}: verifiable"))?;
    // Nothing was deleted: every log starts at 0, and without tiered storage its local log
    // starts there too (ListOffsets v8's -4).
    for time in ["-2", "-4"] {
        let earliest = offsets(time)?;
        check(earliest.len() == latest.len() && earliest.values().all(|&o| o == 0), || {
            format!("--time {time}: {earliest:?}, expected every partition at 0")
        })?;
    }
    // No tiered storage: no latest tiered offset (ListOffsets v9's -5 answers offset -1, which
    // GetOffsetShell leaves out), as Apache Kafka without remote storage answers.
    let tiered = offsets("-5")?;
    check(tiered.is_empty(), || format!("--time -5: {tiered:?}, expected nothing"))?;
    Ok(latest)
}

/// The error reports of DumpLogSegments (to stderr) and of its log dump (to stdout).
const DUMP_ERRORS: &[&str] = &[
    "Mismatches in :",
    "Found timestamp mismatch in :",
    "Found out of order timestamp in :",
    "The following indexed offsets are not found in the log",
    "Non-consecutive offsets in ",
    "Ignoring unknown file",
    "invalid bytes at the end of",
    "isvalid: false",
    "Exception",
];

/// DumpLogSegments over every segment, index and producer snapshot seedlog wrote, with deep
/// iteration and index verification, in one JVM: no errors, every batch valid, record
/// offsets consecutive, and each partition's record count equal to its log end offset. A
/// copy of one segment with a corrupted offset index and time index rides along, and the
/// tool must report exactly those two: proof that its checks run on these files.
fn dump_log_segments(data: &Path, log_end_offsets: &BTreeMap<String, u64>) -> Result<(), String> {
    let mut files = Vec::new();
    let mut partition_dirs = BTreeMap::new();
    for partition in log_end_offsets.keys() {
        let dir = data.join(partition);
        let mut names: Vec<PathBuf> = fs::read_dir(&dir)
            .map_err(|e| format!("read {}: {e}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|x| ["log", "index", "timeindex", "snapshot"].iter().any(|s| x == *s))
            })
            .collect();
        names.sort();
        partition_dirs.insert(partition.clone(), dir);
        files.extend(names);
    }
    let segments = |partition: &str| {
        files
            .iter()
            .filter(|f| f.starts_with(&partition_dirs[partition]) && f.extension().is_some_and(|x| x == "log"))
            .count()
    };
    let perf_segments: usize = (0..PERF_PARTITIONS).map(|p| segments(&format!("perf-{p}"))).sum();
    check(perf_segments >= PERF_PARTITIONS + 3 && segments("perf-0") >= 2, || {
        format!("{perf_segments} perf segments ({} in perf-0): 9 MB in 1 MiB segments roll more", segments("perf-0"))
    })?;

    // The deliberately broken copy: perf-0's first segment, its first offset-index entry
    // pointing one offset too far, its first time-index entry one millisecond too early (not
    // later: entries can be 1 ms apart, and a later one would be reported out of order too).
    let broken_dir = data.parent().unwrap().join("broken").join("perf-0");
    fs::create_dir_all(&broken_dir).unwrap();
    let first = "00000000000000000000";
    for ext in ["log", "index", "timeindex"] {
        fs::copy(data.join("perf-0").join(format!("{first}.{ext}")), broken_dir.join(format!("{first}.{ext}")))
            .unwrap();
    }
    let rewrite = |path: PathBuf, change: &dyn Fn(&mut [u8])| {
        let mut bytes = fs::read(&path).unwrap();
        change(&mut bytes);
        fs::write(&path, bytes).unwrap();
    };
    // An offset index entry: 4-byte relative offset, 4-byte position (big-endian).
    rewrite(broken_dir.join(format!("{first}.index")), &|b| {
        let relative = u32::from_be_bytes(b[0..4].try_into().unwrap());
        b[0..4].copy_from_slice(&(relative + 1).to_be_bytes());
    });
    // A time index entry: 8-byte timestamp, 4-byte relative offset.
    rewrite(broken_dir.join(format!("{first}.timeindex")), &|b| {
        let timestamp = i64::from_be_bytes(b[0..8].try_into().unwrap());
        b[0..8].copy_from_slice(&(timestamp - 1).to_be_bytes());
    });
    let broken_index = broken_dir.join(format!("{first}.index"));
    let broken_timeindex = broken_dir.join(format!("{first}.timeindex"));
    files.push(broken_dir.join(format!("{first}.log")));
    files.push(broken_index.clone());
    files.push(broken_timeindex.clone());

    let list = files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(",");
    let mut command = kafka().java("kafka.tools.DumpLogSegments");
    command.args(["--deep-iteration", "--verify-index-only", "--files", &list]);
    let dump = run(&mut command, None, JAVA_TIMEOUT);
    check(dump.success(), || dump.report())?;
    let run = dump;

    // Errors name the file they are about: only the broken copies may be named.
    let output = format!("{}\n{}", run.stdout, run.stderr);
    let error_lines: Vec<&str> = output.lines().filter(|l| DUMP_ERRORS.iter().any(|e| l.contains(e))).collect();
    let expected_errors = [
        format!("Mismatches in :{}", broken_index.display()),
        format!("Found timestamp mismatch in :{}", broken_timeindex.display()),
    ];
    check(error_lines.len() == 2 && expected_errors.iter().all(|e| error_lines.contains(&e.as_str())), || {
        format!(
            "DumpLogSegments should report exactly {expected_errors:?}, it reported {error_lines:?}\n{}",
            run.report()
        )
    })?;

    // Per file: "Dumping <path>", then its batches ("baseOffset: ...") and, deep, its records
    // ("| offset: N ..."). Count records per partition directory, in order.
    let mut records: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    let mut codecs: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut current: Option<&str> = None;
    for line in run.stdout.lines() {
        if let Some(path) = line.strip_prefix("Dumping ") {
            current = partition_dirs.iter().find(|(_, d)| Path::new(path).starts_with(d)).map(|(p, _)| p.as_str());
            current = current.filter(|_| path.ends_with(".log"));
        } else if let (Some(partition), Some(rest)) = (current, line.strip_prefix("| offset: ")) {
            let offset = rest.split_whitespace().next().and_then(|o| o.parse().ok()).unwrap_or(u64::MAX);
            records.entry(partition).or_default().push(offset);
        } else if let (Some(partition), true) = (current, line.starts_with("baseOffset: ")) {
            let codec = line.split("compresscodec: ").nth(1).and_then(|c| c.split_whitespace().next()).unwrap_or("?");
            codecs.entry(partition).or_default().push(codec.to_string());
        }
    }
    for (partition, &log_end_offset) in log_end_offsets {
        let offsets = records.get(partition.as_str()).cloned().unwrap_or_default();
        let expected: Vec<u64> = (0..log_end_offset).collect();
        check(offsets == expected, || {
            format!(
                "{partition}: DumpLogSegments found {} records (offsets {:?}..), GetOffsetShell said the log ends at {log_end_offset}",
                offsets.len(),
                offsets.first()
            )
        })?;
    }
    // The codecs the producers asked for are the codecs on disk.
    let all_are = |partition: &str, codec: &str| {
        codecs.get(partition).is_some_and(|c| !c.is_empty() && c.iter().all(|x| x == codec))
    };
    check(all_are("console-0", "gzip"), || format!("console-0 batches: {:?}", codecs.get("console-0")))?;
    check((0..PERF_PARTITIONS).all(|p| all_are(&format!("perf-{p}"), "snappy")), || {
        format!("perf batches: {codecs:?}")
    })?;
    check(all_are("verifiable-0", "none"), || format!("verifiable-0 batches: {:?}", codecs.get("verifiable-0")))?;

    // The index sanity check the broker runs at start-up, over every real index.
    let indexes: Vec<String> = files
        .iter()
        .filter(|f| !f.starts_with(&broken_dir) && f.extension().is_some_and(|x| x == "index" || x == "timeindex"))
        .map(|f| f.display().to_string())
        .collect();
    let mut command = kafka().java("kafka.tools.DumpLogSegments");
    command.args(["--index-sanity-check", "--files", &indexes.join(",")]);
    let sanity = common::process::run(&mut command, None, JAVA_TIMEOUT);
    check(sanity.success(), || sanity.report())?;
    let run = sanity;
    // An offset index without entries (a segment smaller than index.interval.bytes) is
    // reported as empty instead of checked.
    let passed =
        run.stdout.lines().filter(|l| l.ends_with(" passed sanity check.") || l.ends_with(" is empty.")).count();
    check(passed == indexes.len(), || {
        format!("{passed} of {} indexes passed the sanity check:\n{}", indexes.len(), run.report())
    })
}
