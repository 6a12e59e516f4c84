//! The sender's invariant checks fire on a state that breaks them (the leader-change
//! behaviour itself is tested over the wire in `leader_change_tests.rs`).

use super::*;

const IDENTITY: ProducerIdentity = ProducerIdentity { producer_id: 9, producer_epoch: 0 };

fn sender() -> Sender {
    let cluster = Cluster::new("127.0.0.1:1", super::super::ConnectionConfig::default()).unwrap();
    let (_commands, receiver) = mpsc::unbounded_channel();
    Sender::new(cluster, ProducerConfig::default(), Clock::system(), crate::runtime::seeded(1), receiver)
}

/// A waiting retry of `records` records at `base_sequence`.
fn waiting(partition: &TopicPartition, base_sequence: i32, records: usize) -> SealedBatch {
    let now = crate::runtime::now();
    let replies = (0..records).map(|_| oneshot::channel().0).collect();
    SealedBatch {
        partition: partition.clone(),
        replies,
        timestamps: vec![0; records],
        encoded: Bytes::new(),
        identity: IDENTITY,
        base_sequence,
        attempts: 1,
        deadline: now + Duration::from_secs(60),
        retry_at: now,
        last_error: None,
        restamp: false,
        leader: None,
    }
}

/// Counts one batch of `partition` in flight, as draining it would.
fn in_flight(sender: &mut Sender, partition: &TopicPartition) {
    let now = crate::runtime::now();
    let (reply, _) = oneshot::channel();
    let record = OutgoingRecord { key: None, value: None, headers: vec![], timestamp_ms: 0 };
    sender.accumulator.append(partition.clone(), PendingRecord { record, reply }, 1, now);
    sender.accumulator.set_flushing(true);
    assert_eq!(sender.accumulator.drain_ready(now).len(), 1);
}

#[tokio::test]
async fn a_consistent_waiting_retry_passes() {
    let mut sender = sender();
    let partition = TopicPartition::new("t", 0);
    in_flight(&mut sender, &partition);
    sender.sequences.assign(&partition, IDENTITY, 3);
    sender.retries.push(waiting(&partition, 0, 3));
    sender.check_invariants();
}

#[tokio::test]
#[should_panic(expected = "retry not counted in flight")]
async fn a_retry_the_accumulator_does_not_count_fires() {
    let mut sender = sender();
    let partition = TopicPartition::new("t", 0);
    sender.sequences.assign(&partition, IDENTITY, 3);
    sender.retries.push(waiting(&partition, 0, 3));
    sender.check_invariants();
}

#[tokio::test]
#[should_panic(expected = "is not the last batch numbered")]
async fn a_retry_renumbered_behind_a_later_batch_fires() {
    let mut sender = sender();
    let partition = TopicPartition::new("t", 0);
    in_flight(&mut sender, &partition);
    sender.sequences.assign(&partition, IDENTITY, 3);
    sender.sequences.assign(&partition, IDENTITY, 2); // a second batch numbered meanwhile
    sender.retries.push(waiting(&partition, 0, 3));
    sender.check_invariants();
}

#[tokio::test]
#[should_panic(expected = "two unresolved batches")]
async fn two_waiting_retries_of_one_partition_fire() {
    let mut sender = sender();
    let partition = TopicPartition::new("t", 0);
    in_flight(&mut sender, &partition);
    sender.sequences.assign(&partition, IDENTITY, 1);
    sender.retries.push(waiting(&partition, 0, 1));
    sender.retries.push(waiting(&partition, 0, 1));
    sender.check_invariants();
}
