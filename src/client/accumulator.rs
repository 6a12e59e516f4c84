//! The producer's record accumulator: records wait in per-partition batches until a batch is
//! full (`batch.size`), has waited `linger.ms`, or a flush asks for everything; then it is
//! drained to be sent. A partition has at most `max_in_flight_per_partition` batches between
//! drain and resolution (1 for an idempotent producer, which keeps retries in order).
//!
//! A plain struct: time comes in as an argument, nothing here does IO.
//!
//! Invariants: batches of a partition drain in append order; a batch never exceeds
//! `batch_size_bytes` unless it holds a single record; a partition's `in_flight` never
//! exceeds the limit through draining.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::time::Duration;

use tokio::time::Instant;

/// A partition of a topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition { topic: topic.into(), partition }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// Records bound for one partition, sent together as one record batch.
#[derive(Debug)]
pub struct Batch<T> {
    pub items: Vec<T>,
    pub size_bytes: usize,
    pub created: Instant,
}

#[derive(Debug)]
struct PartitionQueue<T> {
    batches: VecDeque<Batch<T>>,
    in_flight: usize,
}

impl<T> Default for PartitionQueue<T> {
    fn default() -> Self {
        PartitionQueue { batches: VecDeque::new(), in_flight: 0 }
    }
}

/// Per-partition batches of `T` (the producer's pending records).
#[derive(Debug)]
pub struct Accumulator<T> {
    batch_size_bytes: usize,
    linger: Duration,
    max_in_flight_per_partition: usize,
    flushing: bool,
    queues: BTreeMap<TopicPartition, PartitionQueue<T>>,
}

impl<T> Accumulator<T> {
    pub fn new(batch_size_bytes: usize, linger: Duration, max_in_flight_per_partition: usize) -> Self {
        Accumulator {
            batch_size_bytes: batch_size_bytes.max(1),
            linger,
            max_in_flight_per_partition: max_in_flight_per_partition.max(1),
            flushing: false,
            queues: BTreeMap::new(),
        }
    }

    /// Adds a record of about `size_bytes` to the partition's newest batch, or starts a new
    /// batch when it would not fit.
    pub fn append(&mut self, partition: TopicPartition, item: T, size_bytes: usize, now: Instant) {
        let queue = self.queues.entry(partition).or_default();
        match queue.batches.back_mut() {
            Some(batch) if batch.size_bytes + size_bytes <= self.batch_size_bytes => {
                batch.items.push(item);
                batch.size_bytes += size_bytes;
            }
            _ => queue.batches.push_back(Batch { items: vec![item], size_bytes, created: now }),
        }
    }

    /// Makes every batch ready regardless of size and linger (flush and close), or stops.
    pub fn set_flushing(&mut self, flushing: bool) {
        self.flushing = flushing;
    }

    /// Takes the batches ready to send, counting each as in flight for its partition.
    pub fn drain_ready(&mut self, now: Instant) -> Vec<(TopicPartition, Batch<T>)> {
        let mut ready = Vec::new();
        for (partition, queue) in &mut self.queues {
            while queue.in_flight < self.max_in_flight_per_partition {
                let Some(head) = queue.batches.front() else { break };
                let full = queue.batches.len() > 1 || head.size_bytes >= self.batch_size_bytes;
                let lingered = now >= head.created + self.linger;
                if !(full || lingered || self.flushing) {
                    break;
                }
                let batch = queue.batches.pop_front().expect("head exists");
                queue.in_flight += 1;
                ready.push((partition.clone(), batch));
            }
        }
        self.queues.retain(|_, queue| !queue.batches.is_empty() || queue.in_flight > 0);
        ready
    }

    /// One drained batch of `partition` is resolved (acknowledged or failed for good).
    pub fn complete(&mut self, partition: &TopicPartition) {
        if let Some(queue) = self.queues.get_mut(partition) {
            queue.in_flight = queue.in_flight.saturating_sub(1);
            if queue.in_flight == 0 && queue.batches.is_empty() {
                self.queues.remove(partition);
            }
        }
    }

    /// When the next batch becomes ready by lingering: the earliest head batch of a
    /// partition that may send. `None` when nothing waits on time.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.queues
            .values()
            .filter(|queue| queue.in_flight < self.max_in_flight_per_partition)
            .filter_map(|queue| queue.batches.front())
            .map(|head| head.created + self.linger)
            .min()
    }

    /// Whether no record waits in a batch (in-flight batches aside).
    pub fn is_empty(&self) -> bool {
        self.queues.values().all(|queue| queue.batches.is_empty())
    }

    /// Batches drained and not yet resolved, over all partitions.
    pub fn in_flight(&self) -> usize {
        self.queues.values().map(|queue| queue.in_flight).sum()
    }

    /// Batches of `partition` drained and not yet resolved.
    pub fn in_flight_of(&self, partition: &TopicPartition) -> usize {
        self.queues.get(partition).map_or(0, |queue| queue.in_flight)
    }

    /// Records waiting in batches, over all partitions.
    pub fn queued_records(&self) -> usize {
        self.queues.values().flat_map(|queue| &queue.batches).map(|batch| batch.items.len()).sum()
    }

    /// When the oldest waiting batch was created (to expire it at its delivery deadline).
    pub fn oldest_created(&self) -> Option<Instant> {
        self.queues.values().flat_map(|queue| &queue.batches).map(|batch| batch.created).min()
    }

    /// Removes the waiting batches created at or before `cutoff` (their delivery timeout
    /// ran out before they could be sent). In-flight counts are untouched.
    pub fn take_created_before(&mut self, cutoff: Instant) -> Vec<(TopicPartition, Batch<T>)> {
        let mut taken = Vec::new();
        for (partition, queue) in &mut self.queues {
            // Batches of a partition are created in order: the expired ones are a prefix.
            while queue.batches.front().is_some_and(|batch| batch.created <= cutoff) {
                taken.push((partition.clone(), queue.batches.pop_front().expect("front exists")));
            }
        }
        self.queues.retain(|_, queue| !queue.batches.is_empty() || queue.in_flight > 0);
        taken
    }

    /// Removes every waiting batch (to fail them when the producer cannot go on).
    pub fn take_all_queued(&mut self) -> Vec<(TopicPartition, Batch<T>)> {
        let mut taken = Vec::new();
        for (partition, queue) in &mut self.queues {
            taken.extend(queue.batches.drain(..).map(|batch| (partition.clone(), batch)));
        }
        self.queues.retain(|_, queue| queue.in_flight > 0);
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(partition: i32) -> TopicPartition {
        TopicPartition::new("t", partition)
    }

    fn items(drained: &[(TopicPartition, Batch<u32>)]) -> Vec<(i32, Vec<u32>)> {
        drained.iter().map(|(tp, batch)| (tp.partition, batch.items.clone())).collect()
    }

    #[test]
    fn a_batch_closes_when_the_next_record_would_overflow_it() {
        let now = crate::runtime::now();
        let mut acc = Accumulator::new(100, Duration::from_secs(10), 5);
        for i in 0..5 {
            acc.append(tp(0), i, 40, now);
        }
        // [0,1] (80 bytes), [2,3], [4]: the first two are full, the last lingers.
        assert_eq!(items(&acc.drain_ready(now)), vec![(0, vec![0, 1]), (0, vec![2, 3])]);
        assert_eq!(acc.queued_records(), 1);
        assert_eq!(acc.in_flight(), 2);
        assert_eq!(acc.next_deadline(), Some(now + Duration::from_secs(10)));
    }

    #[test]
    fn a_record_larger_than_a_batch_gets_a_batch_of_its_own() {
        let now = crate::runtime::now();
        let mut acc = Accumulator::new(100, Duration::from_secs(10), 5);
        acc.append(tp(0), 1, 500, now);
        assert_eq!(items(&acc.drain_ready(now)), vec![(0, vec![1])]);
    }

    #[test]
    fn a_partial_batch_waits_for_linger() {
        let start = crate::runtime::now();
        let mut acc = Accumulator::new(1000, Duration::from_millis(5), 5);
        acc.append(tp(0), 1, 10, start);
        acc.append(tp(1), 2, 10, start + Duration::from_millis(2));
        acc.append(tp(0), 3, 10, start + Duration::from_millis(3));
        assert!(acc.drain_ready(start + Duration::from_millis(4)).is_empty());
        assert_eq!(acc.next_deadline(), Some(start + Duration::from_millis(5)));
        assert_eq!(items(&acc.drain_ready(start + Duration::from_millis(5))), vec![(0, vec![1, 3])]);
        assert_eq!(acc.next_deadline(), Some(start + Duration::from_millis(7)));
        assert_eq!(items(&acc.drain_ready(start + Duration::from_millis(7))), vec![(1, vec![2])]);
        assert!(acc.is_empty());
        assert_eq!(acc.next_deadline(), None);
    }

    #[test]
    fn flushing_makes_everything_ready() {
        let now = crate::runtime::now();
        let mut acc = Accumulator::new(1000, Duration::from_secs(60), 5);
        acc.append(tp(0), 1, 10, now);
        assert!(acc.drain_ready(now).is_empty());
        acc.set_flushing(true);
        assert_eq!(items(&acc.drain_ready(now)), vec![(0, vec![1])]);
    }

    #[test]
    fn in_flight_limit_holds_a_partitions_next_batch_back() {
        let now = crate::runtime::now();
        let mut acc = Accumulator::new(10, Duration::ZERO, 1);
        for i in 0..3 {
            acc.append(tp(0), i, 10, now);
        }
        acc.append(tp(1), 9, 10, now);
        assert_eq!(items(&acc.drain_ready(now)), vec![(0, vec![0]), (1, vec![9])]);
        assert!(acc.drain_ready(now).is_empty(), "partition 0 has a batch in flight");
        assert_eq!(acc.next_deadline(), None, "nothing may send, so nothing to wake for");
        acc.complete(&tp(0));
        assert_eq!(items(&acc.drain_ready(now)), vec![(0, vec![1])]);
        acc.complete(&tp(0));
        acc.complete(&tp(1));
        assert_eq!(items(&acc.drain_ready(now)), vec![(0, vec![2])]);
        acc.complete(&tp(0));
        assert_eq!(acc.in_flight(), 0);
        assert!(acc.is_empty());
    }

    #[test]
    fn batches_past_their_cutoff_are_taken_oldest_first() {
        let start = crate::runtime::now();
        let mut acc = Accumulator::new(10, Duration::from_secs(60), 1);
        acc.append(tp(0), 1, 10, start);
        let _ = acc.drain_ready(start); // 1 in flight
        acc.append(tp(0), 2, 10, start + Duration::from_millis(1));
        acc.append(tp(0), 3, 10, start + Duration::from_millis(5));
        acc.append(tp(1), 4, 10, start + Duration::from_millis(2));
        assert_eq!(acc.oldest_created(), Some(start + Duration::from_millis(1)));
        let taken = acc.take_created_before(start + Duration::from_millis(2));
        assert_eq!(items(&taken), vec![(0, vec![2]), (1, vec![4])]);
        assert_eq!((acc.queued_records(), acc.in_flight()), (1, 1));
        assert_eq!(acc.oldest_created(), Some(start + Duration::from_millis(5)));
    }

    #[test]
    fn take_all_queued_empties_the_batches_but_keeps_in_flight_counts() {
        let now = crate::runtime::now();
        let mut acc = Accumulator::new(10, Duration::ZERO, 1);
        acc.append(tp(0), 1, 10, now);
        acc.append(tp(0), 2, 10, now);
        let _ = acc.drain_ready(now);
        assert_eq!(items(&acc.take_all_queued()), vec![(0, vec![2])]);
        assert_eq!(acc.in_flight(), 1);
        assert!(acc.is_empty());
    }
}
