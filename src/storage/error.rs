//! Errors of the storage layer, each mapping to what Kafka would answer.

use std::fmt;
use std::io;

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
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogError::Io(e) => write!(f, "disk error: {e}"),
            LogError::InvalidBatch(e) => write!(f, "invalid record batch: {e}"),
            LogError::BatchTooLarge { size_bytes, max_bytes } => {
                write!(f, "batch of {size_bytes} bytes exceeds max.message.bytes {max_bytes}")
            }
            LogError::OffsetOutOfRange { offset, log_start_offset, log_end_offset } => write!(
                f,
                "offset {offset} is out of range [{log_start_offset}, {log_end_offset}]"
            ),
            LogError::UnexpectedAppendOffset { first_offset, log_end_offset } => write!(
                f,
                "append at offset {first_offset} but the log ends at {log_end_offset}"
            ),
            LogError::Corrupt { offset_hint, reason } => {
                write!(f, "corrupt log data near offset {offset_hint}: {reason}")
            }
            LogError::Offline => write!(f, "log is offline after a disk error"),
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

pub type LogResult<T> = Result<T, LogError>;
