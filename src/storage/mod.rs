//! The partition log in Kafka's on-disk shape: segments of v2 record batches
//! (`.log`), sparse offset indexes (`.index`) and time indexes (`.timeindex`), a
//! recovery point, recovery after a crash, retention, the idempotent producer's
//! per-partition state with its snapshots, and the leader-epoch cache with its
//! `leader-epoch-checkpoint` file. See `docs/storage.md`.

mod checkpoint;
mod config;
mod dump;
mod error;
mod index_file;
mod leader_epoch_cache;
mod leader_epoch_checkpoint;
mod log;
mod log_epochs;
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
mod log_epoch_tests;
#[cfg(test)]
mod log_properties;
#[cfg(test)]
mod log_tests;

pub use config::LogConfig;
pub use dump::dump_file;
pub use error::{LogError, LogResult};
pub use leader_epoch_cache::{Assign, EpochEntry, EpochFileError, LeaderEpochCache, NO_PARTITION_LEADER_EPOCH};
pub use leader_epoch_checkpoint::FILE_NAME as LEADER_EPOCH_CHECKPOINT_FILE;
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
