//! The client when partition leaders move, against the scripted peer
//! ([`super::scripted_peer_tests`]): brokers on real TCP over one replicated state, a
//! script deciding per request. Each test tells one leader-change story and checks what
//! the client did on the wire as well as what the caller saw.
//!
//! They run in both worlds: on tokio with real sockets (`cargo test --lib client::`), and
//! in simulated time and TCP under madsim, where they are deterministic:
//! `MADSIM_TEST_CHECK_DETERMINISM=1 RUSTFLAGS="--cfg madsim" cargo test -p seedlog --lib
//! --profile sim --target-dir target/sim client::leader_change`.

use std::time::Duration;

use kafka_protocol::messages::ApiKey;

use super::error::code;
use super::scripted_peer_tests::{Action, ScriptedCluster, Seen, Step};
use super::{
    ClientError, Cluster, ConnectionConfig, Consumer, ConsumerConfig, OffsetReset, Producer, ProducerConfig,
    ProducerRecord, StartOffset, TopicPartition,
};
use crate::runtime::Clock;

const TOPIC: &str = "orders";

fn producer(cluster: &ScriptedCluster, config: ProducerConfig) -> Producer {
    let config = ProducerConfig { linger_ms: 0, retry_backoff_ms: 20, retry_backoff_max_ms: 100, ..config };
    Producer::new(&cluster.address(1), config, Clock::system(), crate::runtime::seeded(5)).expect("producer")
}

fn record(value: &str) -> ProducerRecord {
    ProducerRecord::new(TOPIC, value.to_owned()).with_partition(0)
}

/// The produce requests for partition 0 of the topic: (broker, producer id, epoch, base sequence, first value).
fn produces(cluster: &ScriptedCluster) -> Vec<(i32, i64, i16, i32)> {
    let seen: Vec<Seen> = cluster.seen_of(ApiKey::Produce);
    seen.iter()
        .flat_map(|s| {
            s.produced().into_iter().map(move |(_, _, h)| (s.broker, h.producer_id, h.producer_epoch, h.base_sequence))
        })
        .collect()
}

#[tokio::test]
async fn a_produce_refused_by_a_deposed_leader_goes_to_the_new_leader_and_lands_once() {
    for (acks, idempotence) in [(-1, true), (-1, false), (1, false)] {
        let cluster = ScriptedCluster::start(2).await;
        cluster.create_topic(TOPIC, 1, 1);
        cluster.append(TOPIC, 0, &["x", "y", "z"]);
        // The election happens as the produce arrives: broker 1 answers NOT_LEADER_OR_FOLLOWER.
        cluster.then(Step::on(ApiKey::Produce, Action::Answer).at(1).moving_first(TOPIC, 0, 2));
        let producer = producer(&cluster, ProducerConfig { acks, idempotence, ..ProducerConfig::default() });
        let acked = producer.send(record("a")).await.expect("delivered after the leader change");
        assert_eq!(acked.offset, 3, "the offset is the new leader's answer (acks={acks})");
        assert_eq!(cluster.values(TOPIC, 0), vec!["x", "y", "z", "a"], "exactly once (acks={acks})");
        let brokers: Vec<i32> = produces(&cluster).iter().map(|p| p.0).collect();
        assert_eq!(brokers, vec![1, 2], "one refused attempt, one retry to the new leader (acks={acks})");
        assert_eq!(producer.cluster().with_metadata(|m| m.leader_and_epoch(TOPIC, 0)), Some((2, 2)));
        producer.close().await;
    }
}

#[tokio::test]
async fn a_lost_answer_is_resent_with_the_same_producer_id_epoch_and_sequence_to_the_new_leader() {
    let cluster = ScriptedCluster::start(3).await;
    cluster.create_topic(TOPIC, 1, 1);
    // Broker 1 appends, replicates, and dies before answering; broker 3 takes over.
    cluster.then(Step::on(ApiKey::Produce, Action::DropAfterHandling).at(1).moving_after(TOPIC, 0, 3));
    let producer = producer(&cluster, ProducerConfig::default());
    let first = producer.send(record("a")).await.expect("delivered");
    let second = producer.send(record("b")).await.expect("delivered");
    assert_eq!((first.offset, second.offset), (0, 1), "the duplicate kept its original offset");
    assert_eq!(cluster.values(TOPIC, 0), vec!["a", "b"], "the retry was deduplicated");
    let sent = produces(&cluster);
    assert_eq!(sent.len(), 3, "{sent:?}");
    let (_, producer_id, epoch, _) = sent[0];
    assert!(producer_id >= 0);
    assert_eq!(sent[0], (1, producer_id, epoch, 0));
    assert_eq!(sent[1], (3, producer_id, epoch, 0), "same numbers, new leader");
    assert_eq!(sent[2], (3, producer_id, epoch, 1));
    assert_eq!(cluster.seen_of(ApiKey::InitProducerId).len(), 1, "no new producer id");
    producer.close().await;
}

#[tokio::test]
async fn per_partition_order_holds_across_a_retry() {
    // Idempotent (one batch in flight), and without idempotence at one request in flight.
    let configs = [
        ProducerConfig::default(),
        ProducerConfig { acks: 1, idempotence: false, max_in_flight: 1, ..ProducerConfig::default() },
    ];
    for config in configs {
        let idempotence = config.idempotence;
        let cluster = ScriptedCluster::start(2).await;
        cluster.create_topic(TOPIC, 1, 1);
        let lost = if idempotence { Action::DropAfterHandling } else { Action::Fail(code::NOT_LEADER_OR_FOLLOWER) };
        cluster.then(Step::on(ApiKey::Produce, lost).at(1).moving_after(TOPIC, 0, 2));
        // One record per batch, all sent before the first is answered.
        let producer = producer(&cluster, ProducerConfig { batch_size_bytes: 1, ..config });
        let futures: Vec<_> = ["a", "b", "c", "d"].into_iter().map(|v| producer.send(record(v))).collect();
        let mut offsets = Vec::new();
        for future in futures {
            offsets.push(future.await.expect("delivered").offset);
        }
        assert_eq!(offsets, vec![0, 1, 2, 3], "idempotence={idempotence}");
        assert_eq!(cluster.values(TOPIC, 0), vec!["a", "b", "c", "d"], "idempotence={idempotence}");
        let sent = produces(&cluster);
        let brokers: Vec<i32> = sent.iter().map(|p| p.0).collect();
        assert_eq!(brokers, vec![1, 2, 2, 2, 2], "the retry of the first batch goes before the second");
        if idempotence {
            let sequences: Vec<i32> = sent.iter().map(|p| p.3).collect();
            assert_eq!(sequences, vec![0, 0, 1, 2, 3]);
        }
        producer.close().await;
    }
}

#[tokio::test]
async fn delivery_timeout_fails_a_record_whose_partition_never_gets_a_leader_with_the_last_error() {
    let cluster = ScriptedCluster::start(2).await;
    cluster.create_topic(TOPIC, 1, -1);
    let producer = producer(&cluster, ProducerConfig { delivery_timeout_ms: 800, ..ProducerConfig::default() });
    let start = crate::runtime::now();
    let error = producer.send(record("a")).await.expect_err("no leader, ever");
    let took = crate::runtime::now() - start;
    assert_eq!(error.code(), code::LEADER_NOT_AVAILABLE, "{error}");
    assert!(took >= Duration::from_millis(800), "failed before the delivery timeout: {took:?}");
    assert!(took < Duration::from_millis(800 + 600), "failed late: {took:?}");
    assert!(cluster.seen_of(ApiKey::Metadata).len() >= 4, "it kept looking for a leader");
    assert!(cluster.seen_of(ApiKey::Produce).is_empty());
    producer.close().await;
}

#[tokio::test]
async fn delivery_timeout_fails_a_record_the_leader_keeps_refusing_with_the_last_error() {
    for acks in [-1, 1] {
        let cluster = ScriptedCluster::start(2).await;
        cluster.create_topic(TOPIC, 1, 1);
        cluster.then(Step::on(ApiKey::Produce, Action::Fail(code::NOT_ENOUGH_REPLICAS)).times(usize::MAX));
        let config =
            ProducerConfig { acks, idempotence: acks == -1, delivery_timeout_ms: 600, ..ProducerConfig::default() };
        let producer = producer(&cluster, config);
        let start = crate::runtime::now();
        let error = producer.send(record("a")).await.expect_err("refused until the timeout");
        let took = crate::runtime::now() - start;
        assert_eq!(error.code(), code::NOT_ENOUGH_REPLICAS, "{error}");
        assert!((Duration::from_millis(600)..Duration::from_millis(1200)).contains(&took), "{took:?}");
        let attempts = cluster.seen_of(ApiKey::Produce).len();
        // Backoff 20, 40, 80, 100, 100... ms with ±20% jitter: about 8 attempts in 600 ms.
        assert!((4..=12).contains(&attempts), "{attempts} attempts: backoff not exponential?");
        producer.close().await;
    }
}

#[tokio::test]
async fn delivery_timeout_gives_up_a_produce_in_flight_and_the_next_batch_takes_a_new_epoch() {
    let cluster = ScriptedCluster::start(2).await;
    cluster.create_topic(TOPIC, 1, 1);
    // The leader sits on the first produce past the record's delivery timeout, then appends it.
    cluster.then(Step::on(ApiKey::Produce, Action::Hold(Duration::from_millis(1200))));
    let producer = producer(&cluster, ProducerConfig { delivery_timeout_ms: 500, ..ProducerConfig::default() });
    let start = crate::runtime::now();
    let error = producer.send(record("a")).await.expect_err("its answer comes too late");
    assert!(matches!(error, ClientError::Timeout(_)), "{error}");
    assert!(crate::runtime::now() - start < Duration::from_millis(1000), "given up at the deadline, not at the answer");
    // The leader answers the held request (which the producer ignores) before the next.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    producer.send(record("b")).await.expect("the next record is delivered");
    let sent = produces(&cluster);
    assert_eq!(sent.len(), 2, "{sent:?}");
    let (_, producer_id, epoch, _) = sent[0];
    assert_eq!(sent[0].3, 0);
    // The first batch's fate was unknown: the partition starts over at a new epoch, which
    // also fences the first batch had it arrived after the second.
    assert_eq!(sent[1], (1, producer_id, epoch + 1, 0));
    assert_eq!(cluster.values(TOPIC, 0), vec!["a", "b"], "the late first batch was written, as Kafka may");
    producer.close().await;
}

#[tokio::test]
async fn a_sequence_gap_on_a_new_leader_bumps_the_epoch_and_renumbers_the_batch() {
    let cluster = ScriptedCluster::start(2).await;
    cluster.create_topic(TOPIC, 1, 1);
    let producer = producer(&cluster, ProducerConfig::default());
    producer.send(record("a")).await.expect("delivered");
    // The new leader lost the producer's state (say, an unclean election): it sees a gap.
    cluster.move_leader(TOPIC, 0, 2);
    cluster.then(Step::on(ApiKey::Produce, Action::Fail(code::OUT_OF_ORDER_SEQUENCE_NUMBER)).at(2));
    let acked = producer.send(record("b")).await.expect("delivered after KIP-360's epoch bump");
    assert_eq!(acked.offset, 1);
    let sent = produces(&cluster);
    let (_, producer_id, epoch, _) = sent[0];
    let tail: Vec<_> = sent[1..].to_vec();
    assert_eq!(tail, vec![(1, producer_id, epoch, 1), (2, producer_id, epoch, 1), (2, producer_id, epoch + 1, 0)]);
    assert_eq!(cluster.seen_of(ApiKey::InitProducerId).len(), 1, "the epoch is bumped without a round trip");
    assert_eq!(cluster.values(TOPIC, 0), vec!["a", "b"]);
    producer.close().await;
}

#[tokio::test]
async fn a_stale_metadata_answer_with_an_older_leader_epoch_does_not_move_the_leader_back() {
    let cluster = ScriptedCluster::start(2).await;
    cluster.create_topic(TOPIC, 1, 1);
    let epoch = cluster.move_leader(TOPIC, 0, 2);
    let client = Cluster::new(&cluster.bootstrap(), ConnectionConfig::default()).unwrap();
    client.refresh_metadata(Some(&[TOPIC.to_owned()])).await.unwrap();
    assert_eq!(client.with_metadata(|m| m.leader_and_epoch(TOPIC, 0)), Some((2, epoch)));
    cluster.then(Step::on(ApiKey::Metadata, Action::StaleMetadata(vec![((TOPIC.to_owned(), 0), (1, epoch - 1))])));
    client.refresh_metadata(Some(&[TOPIC.to_owned()])).await.unwrap();
    assert_eq!(cluster.script_left(), 0, "the stale answer was given");
    assert_eq!(client.with_metadata(|m| m.leader_and_epoch(TOPIC, 0)), Some((2, epoch)), "not moved back");
    client.close();
}

#[tokio::test]
async fn a_retry_after_a_stale_metadata_answer_still_goes_to_the_newer_leader() {
    let cluster = ScriptedCluster::start(2).await;
    cluster.create_topic(TOPIC, 1, 2);
    cluster.move_leader(TOPIC, 0, 2); // epoch 2, broker 2
    let producer = producer(&cluster, ProducerConfig::default());
    producer.send(record("a")).await.expect("delivered");
    // Broker 2's answer is lost; the refresh that follows is answered by a broker that still
    // believes in epoch 1 with broker 1 as leader.
    cluster.then(Step::on(ApiKey::Produce, Action::DropAfterHandling).at(2));
    cluster.then(Step::on(ApiKey::Metadata, Action::StaleMetadata(vec![((TOPIC.to_owned(), 0), (1, 1))])));
    let acked = producer.send(record("b")).await.expect("delivered");
    assert_eq!(acked.offset, 1);
    assert_eq!(cluster.script_left(), 0, "the stale answer was given");
    let brokers: Vec<i32> = produces(&cluster).iter().map(|p| p.0).collect();
    assert_eq!(brokers, vec![2, 2, 2], "nothing went to the deposed leader");
    assert_eq!(cluster.values(TOPIC, 0), vec!["a", "b"]);
    producer.close().await;
}

fn consumer(cluster: &ScriptedCluster, reset: OffsetReset) -> Consumer {
    let config = ConsumerConfig { auto_offset_reset: reset, fetch_max_wait_ms: 100, ..ConsumerConfig::default() };
    Consumer::new(&cluster.address(1), config).expect("consumer")
}

async fn poll_values(consumer: &mut Consumer) -> Vec<(i64, String)> {
    let records = consumer.poll(Duration::from_secs(3)).await.expect("poll");
    records
        .into_iter()
        .map(|r| (r.offset, String::from_utf8_lossy(&r.value.unwrap_or_default()).into_owned()))
        .collect()
}

/// The fetches for the topic's partition 0: (broker, fetch offset, current leader epoch).
fn fetches(cluster: &ScriptedCluster) -> Vec<(i32, i64, i32)> {
    let seen = cluster.seen_of(ApiKey::Fetch);
    seen.iter()
        .flat_map(|s| s.fetched().into_iter().map(move |(_, _, offset, epoch)| (s.broker, offset, epoch)))
        .collect()
}

#[tokio::test]
async fn the_consumer_follows_the_leader_keeps_its_position_and_sends_its_leader_epoch() {
    let cluster = ScriptedCluster::start(2).await;
    cluster.create_topic(TOPIC, 1, 1);
    cluster.append(TOPIC, 0, &["a", "b", "c"]);
    let mut consumer = consumer(&cluster, OffsetReset::None);
    consumer.assign(TOPIC, &[0], StartOffset::Offset(0));
    assert_eq!(poll_values(&mut consumer).await, vec![(0, "a".into()), (1, "b".into()), (2, "c".into())]);
    // A new leader at epoch 2 appends more; the old one fences the consumer's epoch-1 fetch.
    let epoch = cluster.move_leader(TOPIC, 0, 2);
    cluster.append(TOPIC, 0, &["d", "e"]);
    assert_eq!(poll_values(&mut consumer).await, vec![(3, "d".into()), (4, "e".into())]);
    let seen = fetches(&cluster);
    assert_eq!(seen[0], (1, 0, 1));
    assert_eq!(seen[1], (1, 3, 1), "the next fetch goes to the old leader, fenced by its epoch");
    assert_eq!(seen[2], (2, 3, epoch), "then to the new leader at the new epoch, same position");
    // A dropped connection keeps the position too.
    cluster.then(Step::on(ApiKey::Fetch, Action::Drop).at(2));
    cluster.append(TOPIC, 0, &["f"]);
    assert_eq!(poll_values(&mut consumer).await, vec![(5, "f".into())]);
    let tail = fetches(&cluster);
    assert_eq!(tail[tail.len() - 2..], [(2, 5, epoch), (2, 5, epoch)]);
    assert_eq!(consumer.position(&TopicPartition::new(TOPIC, 0)), Some(6));
    consumer.close();
}

#[tokio::test]
async fn the_consumer_refetches_its_position_when_the_leader_is_reelected_at_a_new_epoch() {
    let cluster = ScriptedCluster::start(2).await;
    cluster.create_topic(TOPIC, 1, 1);
    cluster.append(TOPIC, 0, &["a"]);
    let mut consumer = consumer(&cluster, OffsetReset::None);
    consumer.assign(TOPIC, &[0], StartOffset::Offset(0));
    assert_eq!(poll_values(&mut consumer).await, vec![(0, "a".into())]);
    let epoch = cluster.move_leader(TOPIC, 0, 1); // same broker, new epoch
    cluster.append(TOPIC, 0, &["b"]);
    assert_eq!(poll_values(&mut consumer).await, vec![(1, "b".into())]);
    let seen = fetches(&cluster);
    assert_eq!(seen[1..3], [(1, 1, 1), (1, 1, epoch)], "FENCED_LEADER_EPOCH, then the refreshed epoch");
    consumer.close();
}

#[tokio::test]
async fn a_log_truncated_below_the_position_after_a_leader_change_follows_auto_offset_reset() {
    for reset in [OffsetReset::None, OffsetReset::Latest] {
        let cluster = ScriptedCluster::start(2).await;
        cluster.create_topic(TOPIC, 1, 1);
        cluster.append(TOPIC, 0, &["a", "b"]);
        cluster.append(TOPIC, 0, &["c", "d"]);
        let mut consumer = consumer(&cluster, reset);
        consumer.assign(TOPIC, &[0], StartOffset::Offset(0));
        assert_eq!(poll_values(&mut consumer).await.len(), 4);
        // The new leader never had c and d.
        cluster.move_leader(TOPIC, 0, 2);
        cluster.truncate(TOPIC, 0, 2);
        match reset {
            OffsetReset::None => {
                let error = consumer.poll(Duration::from_secs(3)).await.expect_err("out of range");
                assert_eq!(error.code(), code::OFFSET_OUT_OF_RANGE);
            }
            _ => {
                assert!(poll_values(&mut consumer).await.is_empty());
                assert_eq!(consumer.position(&TopicPartition::new(TOPIC, 0)), Some(2), "reset to the new log end");
                cluster.append(TOPIC, 0, &["e"]);
                assert_eq!(poll_values(&mut consumer).await, vec![(2, "e".into())]);
            }
        }
        consumer.close();
    }
}

#[tokio::test]
async fn an_acks_0_producer_follows_the_leader_after_the_old_one_closes_its_connection() {
    let cluster = ScriptedCluster::start(2).await;
    cluster.create_topic(TOPIC, 1, 1);
    let config = ProducerConfig { acks: 0, idempotence: false, ..ProducerConfig::default() };
    let producer = producer(&cluster, config);
    assert_eq!(producer.send(record("a")).await.expect("written").offset, -1, "acks=0 learns no offset");
    tokio::time::sleep(Duration::from_millis(100)).await; // written is not yet read: let it land
    cluster.move_leader(TOPIC, 0, 2);
    // Broker 1 refuses the next record and, as Kafka does for acks=0, closes the connection:
    // the record is lost (acks=0 promises nothing) but the producer asks for metadata again.
    producer.send(record("b")).await.expect("written");
    tokio::time::sleep(Duration::from_millis(100)).await;
    producer.send(record("c")).await.expect("written");
    producer.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let brokers: Vec<i32> = produces(&cluster).iter().map(|p| p.0).collect();
    assert_eq!(brokers, vec![1, 1, 2], "{:?}", cluster.values(TOPIC, 0));
    assert_eq!(cluster.values(TOPIC, 0), vec!["a", "c"]);
    producer.close().await;
}

#[tokio::test]
async fn a_metadata_refresh_that_hangs_does_not_hold_up_other_partitions() {
    let cluster = ScriptedCluster::start(2).await;
    cluster.create_topic(TOPIC, 1, 1);
    cluster.create_topic("audit", 1, 2);
    let producer = producer(&cluster, ProducerConfig::default());
    producer.send(record("a")).await.expect("delivered");
    producer.send(ProducerRecord::new("audit", "x").with_partition(0)).await.expect("delivered");
    // The orders leader moves, and the refresh that follows hangs for two seconds on the
    // old leader (broker 2 drops a metadata request, so the refresh ends up on broker 1
    // whichever connection it tries first, and never sits in front of audit's produce).
    cluster.move_leader(TOPIC, 0, 2);
    cluster.then(Step::on(ApiKey::Metadata, Action::Hold(Duration::from_secs(2))).at(1));
    cluster.then(Step::on(ApiKey::Metadata, Action::Drop).at(2));
    let orders = producer.send(record("b"));
    tokio::time::sleep(Duration::from_millis(200)).await; // refused, refreshing
    let start = crate::runtime::now();
    producer.send(ProducerRecord::new("audit", "y").with_partition(0)).await.expect("delivered");
    assert!(crate::runtime::now() - start < Duration::from_millis(1000), "audit waited for the orders refresh");
    assert_eq!(orders.await.expect("delivered after the refresh").offset, 1);
    assert!(crate::runtime::now() - start > Duration::from_millis(1500), "the refresh did hang");
    assert_eq!(cluster.values(TOPIC, 0), vec!["a", "b"]);
    producer.close().await;
}
