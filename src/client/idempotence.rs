//! The idempotent producer's state: its (producer id, epoch) from InitProducerId, and one
//! sequence number per partition. A batch takes its base sequence when it is first sealed
//! and keeps it through every retry, so the broker can drop a duplicate and refuse a gap.
//!
//! What a produce error means for a batch is decided here too, so the rules sit in one place.

use std::collections::HashMap;

use super::accumulator::TopicPartition;
use super::error::{code, is_retriable_code};

/// The producer id and epoch stamped on every batch (both -1 when not idempotent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerIdentity {
    pub producer_id: i64,
    pub producer_epoch: i16,
}

impl ProducerIdentity {
    /// A producer without idempotence.
    pub const NONE: ProducerIdentity = ProducerIdentity { producer_id: -1, producer_epoch: -1 };
}

/// The next sequence number per partition. Sequences wrap from `i32::MAX` to 0, as Kafka's
/// `DefaultRecordBatch.incrementSequence` does.
#[derive(Debug, Default, Clone)]
pub struct SequenceTracker {
    next: HashMap<TopicPartition, i32>,
}

impl SequenceTracker {
    /// Takes `count` sequence numbers for a batch of `partition`; returns the batch's base.
    pub fn assign(&mut self, partition: &TopicPartition, count: i32) -> i32 {
        let next = self.next.entry(partition.clone()).or_insert(0);
        let base = *next;
        *next = increment_sequence(base, count);
        base
    }

    /// The sequence the next batch of `partition` will take.
    pub fn peek(&self, partition: &TopicPartition) -> i32 {
        self.next.get(partition).copied().unwrap_or(0)
    }

    /// Forgets every partition's sequence (a new producer id or epoch starts at 0).
    pub fn reset(&mut self) {
        self.next.clear();
    }
}

/// Kafka's `DefaultRecordBatch.incrementSequence`.
pub fn increment_sequence(sequence: i32, increment: i32) -> i32 {
    if sequence > i32::MAX - increment {
        increment - (i32::MAX - sequence) - 1
    } else {
        sequence + increment
    }
}

/// What to do with a batch after the broker's answer for its partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchOutcome {
    /// Appended (or, DUPLICATE_SEQUENCE_NUMBER, appended before: the same offsets stand).
    Acknowledged,
    /// Send it again, unchanged, after refreshing metadata if the leader moved.
    Retry,
    /// Fail its records. For an idempotent producer the partition's sequence can no longer
    /// be trusted, so the producer takes a new producer id and starts sequences at 0.
    Fail,
}

/// Classifies a partition's produce error code for a batch on its `attempt`-th try
/// (1-based), with `retries` allowed after the first.
pub fn classify_produce_error(error_code: i16, attempt: u32, retries: u32) -> BatchOutcome {
    match error_code {
        code::NONE | code::DUPLICATE_SEQUENCE_NUMBER => BatchOutcome::Acknowledged,
        code::OUT_OF_ORDER_SEQUENCE_NUMBER
        | code::INVALID_PRODUCER_EPOCH
        | code::UNKNOWN_PRODUCER_ID
        | code::PRODUCER_FENCED => BatchOutcome::Fail,
        other if is_retriable_code(other) && attempt <= retries => BatchOutcome::Retry,
        _ => BatchOutcome::Fail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_advance_per_partition_by_batch_size() {
        let mut tracker = SequenceTracker::default();
        let p0 = TopicPartition::new("t", 0);
        let p1 = TopicPartition::new("t", 1);
        assert_eq!(tracker.assign(&p0, 3), 0);
        assert_eq!(tracker.assign(&p0, 2), 3);
        assert_eq!(tracker.assign(&p1, 1), 0);
        assert_eq!(tracker.assign(&p0, 1), 5);
        assert_eq!(tracker.peek(&p0), 6);
        tracker.reset();
        assert_eq!(tracker.assign(&p0, 1), 0);
    }

    #[test]
    fn sequences_wrap_to_zero_like_kafka() {
        assert_eq!(increment_sequence(5, 3), 8);
        assert_eq!(increment_sequence(i32::MAX - 1, 1), i32::MAX);
        assert_eq!(increment_sequence(i32::MAX, 1), 0);
        assert_eq!(increment_sequence(i32::MAX - 1, 3), 1);
    }

    #[test]
    fn duplicates_are_acknowledged_and_sequence_errors_fail() {
        assert_eq!(classify_produce_error(0, 1, 3), BatchOutcome::Acknowledged);
        assert_eq!(classify_produce_error(code::DUPLICATE_SEQUENCE_NUMBER, 2, 3), BatchOutcome::Acknowledged);
        assert_eq!(classify_produce_error(code::OUT_OF_ORDER_SEQUENCE_NUMBER, 1, 3), BatchOutcome::Fail);
        assert_eq!(classify_produce_error(code::UNKNOWN_PRODUCER_ID, 1, 3), BatchOutcome::Fail);
    }

    #[test]
    fn retriable_errors_retry_until_the_budget_is_spent() {
        assert_eq!(classify_produce_error(code::NOT_LEADER_OR_FOLLOWER, 1, 2), BatchOutcome::Retry);
        assert_eq!(classify_produce_error(code::NOT_LEADER_OR_FOLLOWER, 2, 2), BatchOutcome::Retry);
        assert_eq!(classify_produce_error(code::NOT_LEADER_OR_FOLLOWER, 3, 2), BatchOutcome::Fail);
        assert_eq!(classify_produce_error(code::NOT_ENOUGH_REPLICAS, 1, 0), BatchOutcome::Fail);
        assert_eq!(classify_produce_error(10, 1, 5), BatchOutcome::Fail); // MESSAGE_TOO_LARGE
    }
}
