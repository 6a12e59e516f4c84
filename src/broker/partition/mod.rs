//! One replica of a topic partition on this broker: its log, and the replica's protocol core
//! (`replication::Replica`: role, leader epoch, ISR, high watermark, follower progress),
//! with the waiters on both. The core decides; this type does the IO around it: it appends,
//! flushes and reads the log, and publishes the core's high watermark to waiting acks=all
//! produces and long-polling fetches.
//!
//! A standalone broker (no `process.roles`) leads every partition alone: ISR = itself,
//! leader epoch 0 ([`Partition::lead_alone`]). The core counts the leader's *durable* offset
//! toward the high watermark (`fsync_before_ack`, seedlog's default), so with one replica the
//! high watermark is the log's recovery point: consumers see only records that survive a
//! crash, an offset never shows two different records over time, and an acks=all produce
//! is answered once its records are durable. A flusher task commits in groups: it fsyncs
//! whenever there are unflushed appends, so one fsync covers every append that arrived
//! while the previous one ran. acks=1 is answered after the append, as in Kafka. See
//! docs/broker.md and docs/replication.md.
//!
//! The leader's side (taking leadership, serving followers, ISR changes) is in `leader.rs`,
//! the follower's (truncation, appends, its HW) in `follower.rs`, the events a partition
//! reports in `events.rs`.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::futures::Notified;
use tokio::sync::{Mutex, MutexGuard, Notify};
use tracing::warn;

use crate::replication::{
    AlterPartitionRequest, Effects, LeaderRecoveryState, MetadataIgnored, PartitionState, ProduceError, Replica,
    ReplicaConfig,
};
use crate::storage::record_batch::CrcCheck;
use crate::storage::{AppendInfo, Log, LogError, LogResult};

/// The leader epoch of every partition while seedlog runs as a standalone broker without a
/// controller: one leader for ever, so one epoch. Stamped on every batch a producer
/// appends; in a cluster the controller's leader epoch takes its place.
pub const SINGLE_BROKER_LEADER_EPOCH: i32 = 0;

/// Why an append as leader failed.
#[derive(Debug)]
pub enum AppendError {
    /// The replica refused: not the leader, or too few in-sync replicas for acks=all.
    Replica(ProduceError),
    /// The log refused or failed.
    Log(LogError),
}

impl From<LogError> for AppendError {
    fn from(e: LogError) -> Self {
        AppendError::Log(e)
    }
}

impl std::fmt::Display for AppendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppendError::Replica(ProduceError::NotLeaderOrFollower) => {
                f.write_str("this broker does not lead the partition")
            }
            AppendError::Replica(ProduceError::NotEnoughReplicas) => {
                f.write_str("the in-sync replicas are fewer than min.insync.replicas")
            }
            AppendError::Replica(ProduceError::NotEnoughReplicasAfterAppend) => {
                f.write_str("written, but the in-sync replicas fell below min.insync.replicas")
            }
            AppendError::Log(e) => write!(f, "{e}"),
        }
    }
}

/// Why a role change did not happen.
#[derive(Debug)]
pub enum LeaderChangeError {
    /// Stale or repeated metadata, or metadata that does not fit this replica.
    Ignored(MetadataIgnored),
    /// The epoch cache could not record the new epoch.
    Log(LogError),
}

/// What an append as leader did: the log's answer, the leader epoch it was written in, and
/// the log start offset right after it.
#[derive(Clone, Copy, Debug)]
pub struct LeaderAppend {
    pub info: AppendInfo,
    pub leader_epoch: i32,
    pub log_start_offset: i64,
}

/// Reads of a fetch start over at most this many times when the log changes under them.
const READ_ATTEMPTS: usize = 3;

/// What a fetch read: the records and the partition's state as of before the read.
#[derive(Debug)]
pub struct FetchRead {
    pub records: Bytes,
    pub high_watermark: i64,
    pub log_start_offset: i64,
}

/// What a follower's fetch got from the leader (REPLICATION.md §3.2).
#[derive(Debug, Default)]
pub struct FollowerRead {
    /// 0, or the fencing error (FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH,
    /// NOT_LEADER_OR_FOLLOWER, OFFSET_OUT_OF_RANGE).
    pub error_code: i16,
    /// Set when the follower's log diverges: truncate to at most this, then fetch again.
    pub diverging: Option<(i32, i64)>,
    /// The leader's high watermark and log start offset, as of before the fetch was recorded.
    pub high_watermark: i64,
    pub log_start_offset: i64,
    /// Whole batches from the fetch offset, below the leader's log end offset; every CRC checked.
    pub records: Bytes,
    /// An ISR change the fetch made the leader propose, for the controller.
    pub alter_partition: Option<AlterPartitionRequest>,
}

/// A replica of a topic partition and its log.
///
/// Invariants:
/// - `high_watermark` is the core's high watermark, published after every change (the core
///   itself asserts `log_start_offset <= high_watermark <= log_end_offset`, and, leading with
///   `fsync_before_ack`, `high_watermark <= recovery point`);
/// - the published high watermark never moves backwards while the partition is open, except
///   when a follower's truncation after an unclean election takes records below it;
/// - the core's lock is never held across IO or an await;
/// - once `closed`, the log is closed and no append succeeds.
///
/// Its flusher task ([`Partition::run_flusher`]) is owned by whoever spawned it (`Topics`),
/// which stops it ([`Partition::stop_flusher`]) and awaits it before closing the log.
#[derive(Debug)]
pub struct Partition {
    topic: String,
    index: i32,
    log: Mutex<Log>,
    /// The replica's protocol core.
    replica: std::sync::Mutex<Replica>,
    /// The core's high watermark, for reads without its lock.
    high_watermark: AtomicI64,
    /// Woken whenever the high watermark moves or the partition goes offline. A plain
    /// `Notify` wakes its waiters in order; tokio's `watch` spreads them over several lists
    /// by a process-wide random draw, which the simulator cannot replay.
    high_watermark_moved: Notify,
    offline: AtomicBool,
    /// The log was closed (topic deleted or broker stopping).
    closed: AtomicBool,
    /// Woken after every append, for the flusher.
    appended: Notify,
    /// Woken after every append, for long-polling follower fetches (they wait for data
    /// beyond their offset, not for the high watermark).
    data_appended: Notify,
    /// Set by [`Partition::stop_flusher`]: the flusher exits at its next wake-up.
    flusher_stopping: AtomicBool,
    /// The origin of [`Partition::replica_now_ms`].
    created_at: tokio::time::Instant,
}

impl Partition {
    /// A replica with no role yet. Its high watermark starts where the checkpoint left it
    /// (Kafka's `replication-offset-checkpoint`), else at the log start: never above what
    /// was committed, so a restarted replica shows consumers nothing uncommitted (a leader
    /// re-evaluates it at once; a standalone leader's is its recovery point again).
    pub fn new(topic: &str, index: i32, log: Log, config: ReplicaConfig) -> Arc<Self> {
        let high_watermark = log.checkpointed_high_watermark().unwrap_or(log.log_start_offset());
        Arc::new(Partition {
            topic: topic.to_string(),
            index,
            replica: std::sync::Mutex::new(Replica::new(config, high_watermark)),
            high_watermark: AtomicI64::new(high_watermark),
            log: Mutex::new(log),
            high_watermark_moved: Notify::new(),
            offline: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            appended: Notify::new(),
            data_appended: Notify::new(),
            flusher_stopping: AtomicBool::new(false),
            created_at: crate::runtime::now(),
        })
    }

    /// A standalone broker's partition: led by this broker (`config.broker_id`) alone, in
    /// leader epoch 0.
    pub async fn lead_alone(topic: &str, index: i32, log: Log, config: ReplicaConfig) -> Arc<Self> {
        let broker_id = config.broker_id;
        let partition = Partition::new(topic, index, log, config);
        let alone = PartitionState::new(
            vec![broker_id],
            vec![broker_id],
            broker_id,
            SINGLE_BROKER_LEADER_EPOCH,
            0,
            LeaderRecoveryState::Recovered,
            Vec::new(),
        )
        .expect("a replica set of one is valid");
        let log = partition.log.lock().await;
        let led = partition.take_leadership(alone, &log);
        led.expect("a new replica accepts its first leadership");
        drop(log);
        partition
    }

    /// The replica core's time: monotonic milliseconds, never the wall clock. The core
    /// times followers' lag and the ISR by it; a wall clock stepped back or forward (NTP, a
    /// VM resume) would shrink ISRs for nothing or run its timers backwards (docs/replication.md).
    fn replica_now_ms(&self) -> i64 {
        i64::try_from((crate::runtime::now() - self.created_at).as_millis()).unwrap_or(i64::MAX)
    }

    fn lock_replica(&self) -> std::sync::MutexGuard<'_, Replica> {
        self.replica.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Publishes what the core decided: a new high watermark wakes its waiters and is
    /// reported with what it rests on (`log_end_offset` is this replica's).
    fn publish(&self, effects: Effects, log_end_offset: i64) {
        if let Some(high_watermark) = effects.high_watermark {
            let previous = self.high_watermark.fetch_max(high_watermark, Ordering::AcqRel);
            assert!(high_watermark >= previous, "{}-{}: the HW moved back to {high_watermark}", self.topic, self.index);
            if high_watermark > previous {
                self.emit_high_watermark(&self.lock_replica(), high_watermark, log_end_offset);
                self.high_watermark_moved.notify_waiters();
            }
        }
    }

    /// Re-evaluates the core after the log changed (append, flush, retention).
    fn log_changed(&self, log: &Log) {
        self.note_log_state(log);
        let effects = self.lock_replica().on_leader_log_changed(self.replica_now_ms(), log);
        self.publish(effects, log.log_end_offset());
    }

    /// The partition's replicas, ISR, leader and epochs as this replica knows them.
    pub fn partition_state(&self) -> Option<PartitionState> {
        self.lock_replica().partition_state().cloned()
    }

    /// Reports an acks=all produce answered with success (for the simulator's checkers).
    pub fn report_acked(&self, base_offset: i64, last_offset: i64) {
        self.emit_produce_acked(&self.lock_replica(), base_offset, last_offset, -1);
    }

    /// A future woken by the next append, for long-polling follower fetches.
    pub fn data_appended(&self) -> Notified<'_> {
        self.data_appended.notified()
    }

    /// KIP-320's fence for a client's request naming the leader epoch it believes current
    /// (-1: no check): a stale one is FENCED_LEADER_EPOCH, a newer one UNKNOWN_LEADER_EPOCH
    /// (this broker has not heard of it yet), and a replica that does not lead answers
    /// NOT_LEADER_OR_FOLLOWER.
    pub fn check_leader_epoch(&self, current_leader_epoch: i32) -> Result<(), i16> {
        use crate::replication::error_code;
        let replica = self.lock_replica();
        if !replica.is_leader() {
            return Err(error_code::NOT_LEADER_OR_FOLLOWER);
        }
        let epoch = replica.leader_epoch().expect("a leader has an epoch");
        match current_leader_epoch {
            -1 => Ok(()),
            asked if asked < epoch => Err(error_code::FENCED_LEADER_EPOCH),
            asked if asked > epoch => Err(error_code::UNKNOWN_LEADER_EPOCH),
            _ => Ok(()),
        }
    }

    /// The current leader epoch, if the replica has a role.
    pub fn leader_epoch(&self) -> Option<i32> {
        self.lock_replica().leader_epoch()
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub fn index(&self) -> i32 {
        self.index
    }

    pub fn high_watermark(&self) -> i64 {
        self.high_watermark.load(Ordering::Acquire)
    }

    /// A future woken by the next high-watermark move (or the partition going offline), for
    /// long-polling fetches. Enable it before reading the high watermark so no move is missed.
    pub fn high_watermark_moved(&self) -> Notified<'_> {
        self.high_watermark_moved.notified()
    }

    pub fn is_offline(&self) -> bool {
        self.offline.load(Ordering::Acquire)
    }

    /// Takes the partition offline if its log is (a failed write or fsync took the log
    /// offline: what it holds in memory may no longer be on disk, so nothing may be
    /// acknowledged from it). Wakes every waiter, which then sees the partition offline.
    fn note_log_state(&self, log: &Log) -> bool {
        if log.is_offline() && !self.offline.swap(true, Ordering::AcqRel) {
            warn!(name: "partition_offline", topic = %self.topic, partition = self.index, error = "log offline");
            self.high_watermark_moved.notify_waiters();
        }
        self.is_offline()
    }

    /// Locks the log for reads and administration.
    pub async fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().await
    }

    /// Reads for a consumer's fetch: whole batches from `offset` below the high watermark as
    /// of before the read (as Kafka), up to `max_bytes` (at least one batch if
    /// `min_one_batch`). The log is borrowed only to plan the read and the disk reads run
    /// without it, so fetches never queue behind appends and flushes; a truncation or
    /// retention that raced the read makes it start over.
    pub async fn read_for_fetch(&self, offset: i64, max_bytes: usize, min_one_batch: bool) -> LogResult<FetchRead> {
        for _attempt in 0..READ_ATTEMPTS {
            let high_watermark = self.high_watermark();
            let (reader, log_start_offset) = {
                let log = self.log.lock().await;
                (log.reader(offset, high_watermark)?, log.log_start_offset())
            };
            let records = reader.read(max_bytes, min_one_batch, CrcCheck::Skip).await;
            if reader.is_current() {
                if let Ok(records) = &records {
                    self.emit_fetch_served(-1, offset, high_watermark, records, 0);
                }
                return records.map(|records| FetchRead { records, high_watermark, log_start_offset });
            }
        }
        // The log kept changing under the read (truncated or trimmed each time): answer as
        // a busy disk would rather than spin; the consumer fetches again.
        let log_start_offset = self.log.lock().await.log_start_offset();
        Ok(FetchRead { records: Bytes::new(), high_watermark: self.high_watermark(), log_start_offset })
    }

    /// Appends a producer's batches as leader, stamped with the leader epoch, if the core
    /// allows it (§3.11 step 1: leader, and for acks=all enough in-sync replicas), and wakes
    /// the flusher.
    pub async fn append_as_leader(&self, now_ms: i64, records: Bytes, acks: i16) -> Result<LeaderAppend, AppendError> {
        let mut log = self.log.lock().await;
        let (leader_epoch, fsync_before_ack) = {
            let replica = self.lock_replica();
            replica.check_produce(acks).map_err(AppendError::Replica)?;
            (replica.leader_epoch().expect("a leader has an epoch"), replica.config().fsync_before_ack)
        };
        let appended = log.append(now_ms, records.clone(), leader_epoch).await;
        self.note_log_state(&log);
        let info = appended?;
        if !info.duplicate {
            self.emit_batches_replicated(&records, info.first_offset, leader_epoch, true);
        }
        // `flush.messages` may have flushed inside the append.
        self.log_changed(&log);
        let log_start_offset = log.log_start_offset();
        drop(log);
        // The group-commit flusher serves `high.watermark.fsync.enable`: the HW waits for it.
        // Under Kafka's rule (off) the HW does not, and the log follows Kafka's flush policy
        // (`log.flush.*`, segment rolls) alone, as a Kafka leader's does: what a power loss
        // takes back is then what it would take from Kafka.
        if fsync_before_ack {
            self.appended.notify_one();
        }
        self.data_appended.notify_waiters();
        Ok(LeaderAppend { info, leader_epoch, log_start_offset })
    }

    /// Waits until an acks=all produce appended in `leader_epoch` up to `last_offset` may be
    /// answered (§3.11 step 2): the high watermark passed it, and then whether the ISR
    /// still had `min.insync.replicas`. Fails when leadership moved or the log failed.
    pub async fn wait_for_ack(&self, leader_epoch: i32, last_offset: i64) -> Result<(), AppendError> {
        loop {
            let moved = self.high_watermark_moved.notified();
            tokio::pin!(moved);
            let _ = moved.as_mut().enable();
            if let Some(ready) = self.lock_replica().ack_ready(leader_epoch, last_offset) {
                return ready.map_err(AppendError::Replica);
            }
            if self.is_offline() {
                return Err(AppendError::Log(LogError::Offline));
            }
            if self.closed.load(Ordering::Acquire) {
                return Err(AppendError::Log(LogError::Closed));
            }
            moved.await;
        }
    }

    /// Flushes whenever there are unflushed appends and moves the high watermark to the new
    /// recovery point. Runs until the log goes offline or [`Partition::stop_flusher`].
    pub async fn run_flusher(self: Arc<Self>, clock: crate::runtime::Clock) {
        loop {
            self.appended.notified().await;
            if self.flusher_stopping.load(Ordering::Acquire) {
                return;
            }
            // Borrow the log only to start and to finish: the fsyncs run without it, so
            // appends continue and the next flush covers all that arrived meanwhile.
            let pending = self.log.lock().await.begin_flush().await;
            let flushed = match pending {
                Ok(None) => continue,
                Ok(Some(pending)) => {
                    let synced = pending.sync().await;
                    let mut log = self.log.lock().await;
                    let now_ms = clock.now_ms();
                    let completed = log.complete_flush(now_ms, pending, synced);
                    if completed.is_ok() {
                        self.log_changed(&log);
                    }
                    completed
                }
                Err(error) => Err(error),
            };
            match flushed {
                Ok(()) => {}
                Err(error) => {
                    warn!(name: "partition_offline", topic = %self.topic, partition = self.index, error = %error);
                    // Wake every waiter: `wait_for_ack` sees the partition offline.
                    self.offline.store(true, Ordering::Release);
                    self.high_watermark_moved.notify_waiters();
                    return;
                }
            }
        }
    }

    /// Tells the flusher to exit; the owner awaits its task. `notify_one` keeps a permit if
    /// the flusher is mid-flush, so the stop is never missed.
    pub fn stop_flusher(&self) {
        self.flusher_stopping.store(true, Ordering::Release);
        self.appended.notify_one();
    }

    /// Closes the log cleanly (flush, producer snapshot, checkpoint) once the flusher has
    /// stopped, then answers every waiter: those the final flush covered succeed, the rest
    /// fail with [`LogError::Closed`].
    pub async fn close(&self, now_ms: i64) -> LogResult<()> {
        let closed = self.flush_and_close_log(now_ms).await;
        self.closed.store(true, Ordering::Release);
        self.high_watermark_moved.notify_waiters();
        closed
    }

    /// The final flush may move the HW (a standalone leader's): the core sees it before the
    /// HW is recorded for the checkpoint `Log::close` writes (its own flush is then a no-op).
    /// An offline or closed log refuses the flush, as it would the close.
    async fn flush_and_close_log(&self, now_ms: i64) -> LogResult<()> {
        let mut log = self.log.lock().await;
        log.flush(now_ms).await?;
        self.log_changed(&log);
        log.record_high_watermark(self.high_watermark());
        log.close(now_ms).await
    }

    /// Time-based flush and checkpoint (`log.flush.scheduler.interval.ms`), then the core sees
    /// the new recovery point.
    pub async fn scheduled_flush(&self, now_ms: i64) -> LogResult<()> {
        let mut log = self.log.lock().await;
        if log.is_offline() || log.is_closed() {
            self.note_log_state(&log);
            return Ok(());
        }
        log.record_high_watermark(self.high_watermark());
        let flushed = log.maybe_flush(now_ms).await;
        self.log_changed(&log);
        flushed
    }

    /// Retention below the high watermark (`log.retention.check.interval.ms`).
    pub async fn apply_retention(&self, now_ms: i64) -> LogResult<()> {
        let mut log = self.log.lock().await;
        if log.is_offline() || log.is_closed() {
            self.note_log_state(&log);
            return Ok(());
        }
        let deleted = log.delete_old_segments(now_ms, self.high_watermark()).await.map(drop);
        self.log_changed(&log);
        deleted
    }
}

mod events;
mod follower;
mod leader;
#[cfg(test)]
mod tests;
