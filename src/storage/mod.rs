//! The partition log in Kafka's on-disk shape: segments of v2 record batches
//! (`.log`), sparse offset indexes (`.index`) and time indexes (`.timeindex`), a
//! recovery point, recovery after a crash, retention, and the idempotent producer's
//! per-partition state with its snapshots. See `docs/storage.md`.

mod checkpoint;
mod config;
mod dump;
mod error;
mod index_file;
mod log;
mod log_producers;
mod log_reader;
mod offset_index;
mod producer_snapshot;
mod producer_state;
mod read_agreed;
pub mod record_batch;
mod recovery;
mod retention;
mod segment;
mod segment_slice;
mod time_index;

#[cfg(test)]
mod log_properties;
#[cfg(test)]
mod log_tests;

pub use config::LogConfig;
pub use dump::dump_file;
pub use error::{LogError, LogResult};
pub use log::{AppendInfo, Log, PendingFlush, TimestampMatch};
pub use log_reader::LogReader;
pub use offset_index::OffsetPosition;
pub use producer_snapshot::SNAPSHOT_SUFFIX;
pub use producer_state::{
    BatchMetadata, Check as ProducerCheck, ProducerEntry, ProducerError, ProducerStateManager, SnapshotError,
    BATCHES_PER_PRODUCER,
};
pub use recovery::RecoveryReport;
pub use segment::{file_name as segment_file_name, LogSegment, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX};
pub use time_index::TimestampOffset;
