//! Differential tests (issue 9 §3): Apache Kafka and `seedlog broker` side by side, the same
//! requests sent to both, the answers compared after normalising what may rightly differ
//! (observe.rs says what). Apache Kafka is the oracle: where the two differ, seedlog is
//! fixed, or the difference is listed in docs/compatibility.md with the reason it is
//! deliberate (and then the case asserts the documented difference, not silence).
//!
//! - The hand-written edge cases (cases.rs): ApiVersions ranges, produce to a missing
//!   partition, fetch out of range, ListOffsets at every special timestamp, CreateTopics
//!   refusals, topic and broker configs, records over the limits, idempotent sequences and
//!   epochs, topic-name edges, fetch byte limits, acks=0, CreatePartitions, Metadata and
//!   DeleteTopics.
//! - Property-based sequences (sequences.rs): proptest draws stories of creates, deletes,
//!   produces, fetches and list-offsets; both brokers play each and must agree at every step.
//!   `DIFFERENTIAL_CASES` (default 40, what CI runs: a few seconds) sets how many; `DIFFERENTIAL_SEED` the
//!   seed (default 1: the same sequences every run, so a difference reproduces).
//!
//! One Kafka node and one seedlog broker serve the whole test (a JVM takes seconds to start).
//! Kafka's jars come from `scripts/install-kafka.sh`, run by the test; a missing java fails
//! it, it never skips.

// Test scaffolding: processes, temporary directories, the wall clock.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

#[path = "../common/mod.rs"]
mod common;

mod cases;
mod observe;
mod pair;
mod requests;
mod sequences;

use std::time::Instant;

use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

use cases::Outcome;
use pair::{Brokers, Pair};

fn env_number(key: &str, default: u64) -> u64 {
    match std::env::var(key) {
        Ok(value) => value.parse().unwrap_or_else(|_| panic!("{key}={value}: not a number")),
        Err(_) => default,
    }
}

#[test]
fn seedlog_answers_as_apache_kafka_does() {
    let started = Instant::now();
    let brokers = Brokers::start();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let pair = runtime.block_on(Pair::connect(&brokers));
    let mut failures = Vec::new();
    let mut record = |name: &str, outcome: Outcome| match outcome {
        Ok(()) => eprintln!("differential: same   {name} ({:.1} s)", started.elapsed().as_secs_f64()),
        Err(report) => {
            eprintln!("differential: DIFFER {name}");
            failures.push(format!("===== {name} =====\n{report}"));
        }
    };

    runtime.block_on(async {
        record("ApiVersions ranges within Kafka's", cases::api_versions(&pair).await);
        record("produce to a missing partition", cases::produce_to_missing_partition(&pair).await);
        record("fetch out of range", cases::fetch_out_of_range(&pair).await);
        record("ListOffsets at every special timestamp", cases::list_offsets_special_timestamps(&pair).await);
        record("CreateTopics refusals", cases::create_topics_invalid(&pair).await);
        record("topic configs", cases::topic_configs(&pair).await);
        record("records larger than the limits", cases::record_larger_than_the_limits(&pair).await);
        record("idempotent sequences and epochs", cases::idempotent_sequences(&pair).await);
        record("topic name edges", cases::topic_name_edges(&pair).await);
        record("fetch byte limits", cases::fetch_byte_limits(&pair).await);
        record("acks=0", cases::acks_zero(&pair).await);
        record("CreatePartitions", cases::create_partitions(&pair).await);
        record("Metadata and DeleteTopics", cases::metadata_and_delete(&pair).await);
    });

    let cases = env_number("DIFFERENTIAL_CASES", 40) as u32;
    let seed = env_number("DIFFERENTIAL_SEED", 1);
    let config = Config { cases, max_shrink_iters: 32, failure_persistence: None, ..Config::default() };
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes));
    let strategy = proptest::collection::vec(sequences::op(), 1..14);
    let result =
        runner.run(&strategy, |ops| runtime.block_on(sequences::play(&pair, &ops)).map_err(TestCaseError::fail));
    let outcome = match result {
        Ok(()) => Ok(()),
        Err(TestError::Fail(reason, ops)) => Err(format!("{reason}\nminimal sequence: {ops:#?}")),
        Err(TestError::Abort(reason)) => Err(format!("aborted: {reason}")),
    };
    let figure = |n: &std::sync::atomic::AtomicU32| n.load(std::sync::atomic::Ordering::Relaxed);
    record(
        &format!(
            "{cases} property-based sequences (seed {seed}): {} steps, {} topics created, {} batches and {} \
             idempotent batches accepted",
            figure(&sequences::STEPS),
            figure(&sequences::CREATED),
            figure(&sequences::ACCEPTED),
            figure(&sequences::ACCEPTED_IDEMPOTENT)
        ),
        outcome,
    );

    assert!(
        failures.is_empty(),
        "seedlog answered {} case(s) differently from Apache Kafka:\n\n{}\n\n{}",
        failures.len(),
        failures.join("\n\n"),
        brokers.output_tails()
    );
    drop(pair);
    let seedlog_dir = brokers.seedlog_dir.clone();
    drop(brokers);
    let _ = std::fs::remove_dir_all(seedlog_dir);
}
