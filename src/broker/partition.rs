//! A partition hosted by this broker: its log, its high watermark, and the waiters on both.
//!
//! Decision (single replica): the high watermark is the log's recovery point. With one
//! replica, "replicated to the ISR" can only mean "fsynced here", so consumers see only
//! records that survive a crash, an offset never shows two different records over time, and
//! an acks=all produce is answered once its records are durable. A flusher task commits in
//! groups: it fsyncs whenever there are unflushed appends, so one fsync covers every append
//! that arrived while the previous one ran. acks=1 is answered after the append, as in Kafka.
//! See docs/broker.md.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::futures::Notified;
use tokio::sync::{Mutex, MutexGuard, Notify};
use tracing::{debug, warn};

use crate::storage::record_batch::CrcCheck;
use crate::storage::{AppendInfo, Log, LogError, LogResult};

/// The leader epoch of every partition while seedlog runs as a single broker without a
/// controller: one leader for ever, so one epoch. Stamped on every batch a producer
/// appends; replication replaces it with the controller's leader epoch.
pub const SINGLE_BROKER_LEADER_EPOCH: i32 = 0;

/// Reads of a fetch start over at most this many times when the log changes under them.
const READ_ATTEMPTS: usize = 3;

/// What a fetch read: the records and the partition's state as of before the read.
#[derive(Debug)]
pub struct FetchRead {
    pub records: Bytes,
    pub high_watermark: i64,
    pub log_start_offset: i64,
}

/// A topic partition and its log.
///
/// Invariants:
/// - `log_start_offset <= high_watermark <= log_end_offset` of the log;
/// - the high watermark never moves backwards while the partition is open;
/// - the high watermark is at most the log's recovery point (it only moves after a flush);
/// - once `closed`, the log is closed and no append succeeds.
///
/// Its flusher task ([`Partition::run_flusher`]) is owned by whoever spawned it (`Topics`),
/// which stops it ([`Partition::stop_flusher`]) and awaits it before closing the log.
#[derive(Debug)]
pub struct Partition {
    topic: String,
    index: i32,
    log: Mutex<Log>,
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
    /// Set by [`Partition::stop_flusher`]: the flusher exits at its next wake-up.
    flusher_stopping: AtomicBool,
}

impl Partition {
    pub fn new(topic: &str, index: i32, log: Log) -> Arc<Self> {
        Arc::new(Partition {
            topic: topic.to_string(),
            index,
            high_watermark: AtomicI64::new(log.recovery_point()),
            log: Mutex::new(log),
            high_watermark_moved: Notify::new(),
            offline: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            appended: Notify::new(),
            flusher_stopping: AtomicBool::new(false),
        })
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
                return records.map(|records| FetchRead { records, high_watermark, log_start_offset });
            }
        }
        // The log kept changing under the read (truncated or trimmed each time): answer as
        // a busy disk would rather than spin; the consumer fetches again.
        let log_start_offset = self.log.lock().await.log_start_offset();
        Ok(FetchRead { records: Bytes::new(), high_watermark: self.high_watermark(), log_start_offset })
    }

    /// Appends a producer's batches and wakes the flusher.
    pub async fn append(&self, now_ms: i64, records: Bytes) -> LogResult<AppendInfo> {
        let (info, recovery_point) = {
            let mut log = self.log.lock().await;
            let info = log.append(now_ms, records, SINGLE_BROKER_LEADER_EPOCH).await?;
            (info, log.recovery_point())
        };
        // `flush.messages` may have flushed inside the append.
        self.advance_high_watermark(recovery_point);
        self.appended.notify_one();
        Ok(info)
    }

    /// Waits until the high watermark passes `offset` (an acks=all produce), or the log fails.
    pub async fn wait_durable(&self, offset: i64) -> LogResult<()> {
        loop {
            let moved = self.high_watermark_moved.notified();
            tokio::pin!(moved);
            let _ = moved.as_mut().enable();
            if self.high_watermark() > offset {
                return Ok(());
            }
            if self.is_offline() {
                return Err(LogError::Offline);
            }
            if self.closed.load(Ordering::Acquire) {
                return Err(LogError::Closed);
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
                    log.complete_flush(clock.now_ms(), pending, synced).map(|()| log.recovery_point())
                }
                Err(error) => Err(error),
            };
            match flushed {
                Ok(recovery_point) => self.advance_high_watermark(recovery_point),
                Err(error) => {
                    warn!(name: "partition_offline", topic = %self.topic, partition = self.index, error = %error);
                    // Wake every waiter: `wait_durable` sees the partition offline.
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
        let closed = {
            let mut log = self.log.lock().await;
            let closed = log.close(now_ms).await;
            closed.map(|()| log.recovery_point())
        };
        self.closed.store(true, Ordering::Release);
        match closed {
            Ok(recovery_point) => {
                self.advance_high_watermark(recovery_point);
                self.high_watermark_moved.notify_waiters();
                Ok(())
            }
            Err(error) => {
                self.high_watermark_moved.notify_waiters();
                Err(error)
            }
        }
    }

    /// After any flush (the flusher's, or the log's own by `flush.messages`).
    pub fn advance_high_watermark(&self, recovery_point: i64) {
        let previous = self.high_watermark.fetch_max(recovery_point, Ordering::AcqRel);
        if recovery_point > previous {
            self.high_watermark_moved.notify_waiters();
            debug!(name: "high_watermark_advanced", topic = %self.topic, partition = self.index, high_watermark = recovery_point);
        }
    }
}

#[cfg(test)]
#[path = "partition_tests.rs"]
mod tests;
