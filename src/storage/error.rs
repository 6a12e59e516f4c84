//! Errors of the storage layer, each mapping to what Kafka would answer.

use std::fmt;
use std::io;

use super::producer_state::ProducerError;
use super::record_batch::BatchError;

#[derive(Debug)]
pub enum LogError {
    /// The disk failed. After a failed write or fsync the log is offline (like a Kafka log
    /// directory marked offline) until it is reopened and recovered.
    Io(io::Error),
    /// A producer sent an invalid batch (Kafka: CORRUPT_MESSAGE / INVALID_RECORD).
    InvalidBatch(BatchError),
    /// A batch is larger than `max.message.bytes` (Kafka: MESSAGE_TOO_LARGE).
    BatchTooLarge { size_bytes: usize, max_bytes: u64 },
    /// A read below the log start or above the log end (Kafka: OFFSET_OUT_OF_RANGE).
    OffsetOutOfRange { offset: i64, log_start_offset: i64, log_end_offset: i64 },
    /// A follower append that does not start at the log end (Kafka's
    /// UnexpectedAppendOffsetException).
    UnexpectedAppendOffset { first_offset: i64, log_end_offset: i64 },
    /// The stored data is corrupt in a way a re-read does not fix.
    Corrupt { offset_hint: i64, reason: String },
    /// The log went offline after an IO error; reopen it to recover.
    Offline,
    /// The log was closed: its topic is being deleted or the broker is stopping.
    Closed,
    /// An idempotent producer's batch does not continue its sequence: a gap, or a re-send
    /// older than the five batches remembered, or a new epoch not starting at 0 (Kafka:
    /// OUT_OF_ORDER_SEQUENCE_NUMBER).
    OutOfOrderSequence { producer_id: i64, expected_sequence: i32, found_sequence: i32 },
    /// An idempotent producer's epoch is older than the partition's (Kafka:
    /// INVALID_PRODUCER_EPOCH): a newer instance of the producer fenced it.
    InvalidProducerEpoch { producer_id: i64, current_epoch: i16, found_epoch: i16 },
    /// A leader append in an epoch that is negative or older than the newest epoch in the
    /// log's leader-epoch cache: the caller is not (or no longer) the leader it thinks.
    InvalidLeaderEpoch { leader_epoch: i32, latest_epoch: Option<i32> },
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogError::Io(e) => write!(f, "disk error: {e}"),
            LogError::InvalidBatch(e) => write!(f, "invalid record batch: {e}"),
            LogError::BatchTooLarge { size_bytes, max_bytes } => {
                write!(f, "batch of {size_bytes} bytes exceeds max.message.bytes {max_bytes}")
            }
            LogError::OffsetOutOfRange { offset, log_start_offset, log_end_offset } => {
                write!(f, "offset {offset} is out of range [{log_start_offset}, {log_end_offset}]")
            }
            LogError::UnexpectedAppendOffset { first_offset, log_end_offset } => {
                write!(f, "append at offset {first_offset} but the log ends at {log_end_offset}")
            }
            LogError::Corrupt { offset_hint, reason } => {
                write!(f, "corrupt log data near offset {offset_hint}: {reason}")
            }
            LogError::Offline => write!(f, "log is offline after a disk error"),
            LogError::Closed => write!(f, "log is closed"),
            LogError::OutOfOrderSequence { producer_id, expected_sequence, found_sequence } => write!(
                f,
                "out of order sequence for producer {producer_id}: expected {expected_sequence}, found {found_sequence}"
            ),
            LogError::InvalidProducerEpoch { producer_id, current_epoch, found_epoch } => {
                write!(f, "producer {producer_id} epoch {found_epoch} is older than the current epoch {current_epoch}")
            }
            LogError::InvalidLeaderEpoch { leader_epoch, latest_epoch } => write!(
                f,
                "a leader append in epoch {leader_epoch}, but the log's latest leader epoch is {latest_epoch:?}"
            ),
        }
    }
}

impl std::error::Error for LogError {}

impl From<io::Error> for LogError {
    fn from(e: io::Error) -> Self {
        LogError::Io(e)
    }
}

impl From<BatchError> for LogError {
    fn from(e: BatchError) -> Self {
        LogError::InvalidBatch(e)
    }
}

impl From<ProducerError> for LogError {
    fn from(e: ProducerError) -> Self {
        match e {
            ProducerError::OutOfOrderSequence { producer_id, expected_sequence, found_sequence } => {
                LogError::OutOfOrderSequence { producer_id, expected_sequence, found_sequence }
            }
            ProducerError::InvalidProducerEpoch { producer_id, current_epoch, found_epoch } => {
                LogError::InvalidProducerEpoch { producer_id, current_epoch, found_epoch }
            }
        }
    }
}

pub type LogResult<T> = Result<T, LogError>;
