//! The idempotent producer's state: its (producer id, epoch) from InitProducerId, and one
//! sequence number per partition. A batch takes its base sequence when it is first sealed
//! and keeps it through every retry — to the same leader or to a new one after a leader
//! change, and above all when its answer was lost with a dropped connection — so the broker
//! (any replica that became leader holds the replicated producer state) can drop a duplicate
//! and refuse a gap.
//!
//! KIP-360 for the idempotent (non-transactional) producer, as Java's `TransactionManager`
//! does it: OUT_OF_ORDER_SEQUENCE_NUMBER and UNKNOWN_PRODUCER_ID mean the broker lost the
//! producer's state and did not append the batch; the producer bumps its epoch itself (no
//! round trip) and re-sends the batch as sequence 0 of the new epoch. A numbered batch that
//! fails for good (delivery timeout, a non-retriable error) leaves its partition's sequence
//! unknown, so the epoch is bumped too; a late copy of the failed batch is then fenced by
//! its older epoch. Only a refused epoch (INVALID_PRODUCER_EPOCH, PRODUCER_FENCED) takes a
//! new producer id, and so does a bump past `i16::MAX`.
//!
//! What a produce error means for a batch is decided here too, so the rules sit in one place.

use std::collections::BTreeMap;

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

    /// The same producer id at the next epoch: the idempotent producer's own epoch bump
    /// (KIP-360; brokers take a higher epoch whose first sequence is 0). `None` when the
    /// epoch is at its maximum: then a new producer id is needed (InitProducerId).
    pub fn bumped(self) -> Option<ProducerIdentity> {
        (self.producer_epoch < i16::MAX).then(|| ProducerIdentity { producer_epoch: self.producer_epoch + 1, ..self })
    }
}

/// A partition's numbering: the identity its batches were last stamped with, and the
/// sequence its next batch takes under that identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionSequence {
    pub identity: ProducerIdentity,
    pub next_sequence: i32,
}

/// The next sequence number per partition. Sequences wrap from `i32::MAX` to 0, as Kafka's
/// `DefaultRecordBatch.incrementSequence` does.
///
/// Each partition remembers the identity it numbers under. When the producer's identity
/// changes (an epoch bump, a new producer id), a partition moves to it at its next batch and
/// starts over at 0 — only then, so a batch still unresolved under the old identity keeps
/// its numbers (Java's `TransactionManager.maybeUpdateProducerIdAndEpoch`). The caller
/// numbers a partition's batch only when the partition has no other unresolved batch.
#[derive(Debug, Default, Clone)]
pub struct SequenceTracker {
    partitions: BTreeMap<TopicPartition, PartitionSequence>,
}

impl SequenceTracker {
    /// Takes `count` sequence numbers for a batch of `partition` stamped with `identity`;
    /// returns the batch's base sequence.
    pub fn assign(&mut self, partition: &TopicPartition, identity: ProducerIdentity, count: i32) -> i32 {
        let entry =
            self.partitions.entry(partition.clone()).or_insert(PartitionSequence { identity, next_sequence: 0 });
        if entry.identity != identity {
            *entry = PartitionSequence { identity, next_sequence: 0 };
        }
        let base = entry.next_sequence;
        entry.next_sequence = increment_sequence(base, count);
        base
    }

    /// The sequence the next batch of `partition` stamped with `identity` will take.
    pub fn peek(&self, partition: &TopicPartition, identity: ProducerIdentity) -> i32 {
        self.partitions.get(partition).filter(|e| e.identity == identity).map_or(0, |e| e.next_sequence)
    }

    /// How `partition` is numbered now, if it has taken any sequence.
    pub fn partition(&self, partition: &TopicPartition) -> Option<PartitionSequence> {
        self.partitions.get(partition).copied()
    }

    /// Forgets every partition's sequence.
    pub fn reset(&mut self) {
        self.partitions.clear();
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
    /// Send it again, unchanged (same producer id, epoch and sequence), after refreshing
    /// metadata if the leader moved.
    Retry,
    /// The broker has no producer state for the batch, or sees a gap before it
    /// (UNKNOWN_PRODUCER_ID, OUT_OF_ORDER_SEQUENCE_NUMBER: state lost on the broker, e.g.
    /// by retention or an unclean election). It did not append the batch. KIP-360: bump the
    /// epoch and send the batch again as the first of the new epoch (sequence 0).
    RetryWithNewEpoch,
    /// Fail its records; see [`IdentityAfterFailure`] for the producer's identity.
    Fail,
}

/// Classifies a partition's produce error code for a batch on its `attempt`-th try
/// (1-based), with `retries` allowed after the first.
pub fn classify_produce_error(error_code: i16, attempt: u32, retries: u32, idempotent: bool) -> BatchOutcome {
    let may_retry = attempt <= retries;
    match error_code {
        code::NONE | code::DUPLICATE_SEQUENCE_NUMBER => BatchOutcome::Acknowledged,
        code::OUT_OF_ORDER_SEQUENCE_NUMBER | code::UNKNOWN_PRODUCER_ID if idempotent && may_retry => {
            BatchOutcome::RetryWithNewEpoch
        }
        code::OUT_OF_ORDER_SEQUENCE_NUMBER
        | code::INVALID_PRODUCER_EPOCH
        | code::UNKNOWN_PRODUCER_ID
        | code::PRODUCER_FENCED => BatchOutcome::Fail,
        other if is_retriable_code(other) && may_retry => BatchOutcome::Retry,
        _ => BatchOutcome::Fail,
    }
}

/// What an idempotent producer does with its identity after a numbered batch failed for
/// good: the partition's sequence on the broker is unknown now (the batch may or may not
/// have been appended).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityAfterFailure {
    /// Bump the epoch, so the partition starts over at sequence 0 and a late copy of the
    /// failed batch is fenced (Java's `requestEpochBumpForPartition`).
    BumpEpoch,
    /// The epoch itself was refused (INVALID_PRODUCER_EPOCH, PRODUCER_FENCED): take a new
    /// producer id from InitProducerId.
    NewProducerId,
}

/// See [`IdentityAfterFailure`].
pub fn identity_after_failure(error_code: i16) -> IdentityAfterFailure {
    match error_code {
        code::INVALID_PRODUCER_EPOCH | code::PRODUCER_FENCED => IdentityAfterFailure::NewProducerId,
        _ => IdentityAfterFailure::BumpEpoch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: ProducerIdentity = ProducerIdentity { producer_id: 7, producer_epoch: 0 };

    #[test]
    fn sequences_advance_per_partition_by_batch_size() {
        let mut tracker = SequenceTracker::default();
        let p0 = TopicPartition::new("t", 0);
        let p1 = TopicPartition::new("t", 1);
        assert_eq!(tracker.assign(&p0, A, 3), 0);
        assert_eq!(tracker.assign(&p0, A, 2), 3);
        assert_eq!(tracker.assign(&p1, A, 1), 0);
        assert_eq!(tracker.assign(&p0, A, 1), 5);
        assert_eq!(tracker.peek(&p0, A), 6);
        tracker.reset();
        assert_eq!(tracker.assign(&p0, A, 1), 0);
    }

    #[test]
    fn a_partition_starts_over_at_zero_when_it_moves_to_a_new_identity() {
        let mut tracker = SequenceTracker::default();
        let p0 = TopicPartition::new("t", 0);
        let p1 = TopicPartition::new("t", 1);
        tracker.assign(&p0, A, 4);
        tracker.assign(&p1, A, 2);
        let bumped = A.bumped().unwrap();
        assert_eq!(bumped, ProducerIdentity { producer_id: 7, producer_epoch: 1 });
        assert_eq!(tracker.peek(&p0, bumped), 0);
        assert_eq!(tracker.assign(&p0, bumped, 3), 0);
        assert_eq!(tracker.assign(&p0, bumped, 1), 3);
        // p1 keeps its numbering under the old identity until its next batch.
        assert_eq!(tracker.partition(&p1), Some(PartitionSequence { identity: A, next_sequence: 2 }));
        assert_eq!(ProducerIdentity { producer_id: 7, producer_epoch: i16::MAX }.bumped(), None);
    }

    #[test]
    fn sequences_wrap_to_zero_like_kafka() {
        assert_eq!(increment_sequence(5, 3), 8);
        assert_eq!(increment_sequence(i32::MAX - 1, 1), i32::MAX);
        assert_eq!(increment_sequence(i32::MAX, 1), 0);
        assert_eq!(increment_sequence(i32::MAX - 1, 3), 1);
    }

    #[test]
    fn duplicates_are_acknowledged_and_lost_producer_state_takes_a_new_epoch() {
        assert_eq!(classify_produce_error(0, 1, 3, true), BatchOutcome::Acknowledged);
        assert_eq!(classify_produce_error(code::DUPLICATE_SEQUENCE_NUMBER, 2, 3, true), BatchOutcome::Acknowledged);
        let oos = code::OUT_OF_ORDER_SEQUENCE_NUMBER;
        assert_eq!(classify_produce_error(oos, 1, 3, true), BatchOutcome::RetryWithNewEpoch);
        assert_eq!(classify_produce_error(code::UNKNOWN_PRODUCER_ID, 1, 3, true), BatchOutcome::RetryWithNewEpoch);
        assert_eq!(classify_produce_error(oos, 4, 3, true), BatchOutcome::Fail, "no retries left");
        assert_eq!(classify_produce_error(oos, 1, 3, false), BatchOutcome::Fail, "not idempotent");
        assert_eq!(classify_produce_error(code::INVALID_PRODUCER_EPOCH, 1, 3, true), BatchOutcome::Fail);
        assert_eq!(identity_after_failure(code::INVALID_PRODUCER_EPOCH), IdentityAfterFailure::NewProducerId);
        assert_eq!(identity_after_failure(code::REQUEST_TIMED_OUT), IdentityAfterFailure::BumpEpoch);
    }

    #[test]
    fn retriable_errors_retry_until_the_budget_is_spent() {
        for code in [
            code::NOT_LEADER_OR_FOLLOWER,
            code::LEADER_NOT_AVAILABLE,
            code::UNKNOWN_TOPIC_OR_PARTITION,
            code::NOT_ENOUGH_REPLICAS,
            code::NOT_ENOUGH_REPLICAS_AFTER_APPEND,
            code::REQUEST_TIMED_OUT,
            code::KAFKA_STORAGE_ERROR,
            code::FENCED_LEADER_EPOCH,
            code::UNKNOWN_LEADER_EPOCH,
            code::NETWORK_EXCEPTION,
        ] {
            assert_eq!(classify_produce_error(code, 1, 2, true), BatchOutcome::Retry, "{code}");
        }
        assert_eq!(classify_produce_error(code::NOT_LEADER_OR_FOLLOWER, 2, 2, false), BatchOutcome::Retry);
        assert_eq!(classify_produce_error(code::NOT_LEADER_OR_FOLLOWER, 3, 2, false), BatchOutcome::Fail);
        assert_eq!(classify_produce_error(code::NOT_ENOUGH_REPLICAS, 1, 0, false), BatchOutcome::Fail);
        assert_eq!(classify_produce_error(10, 1, 5, false), BatchOutcome::Fail);
        // MESSAGE_TOO_LARGE
    }
}
