//! The partition log in Kafka's on-disk shape: segments of v2 record batches
//! (`.log`), sparse offset indexes (`.index`) and time indexes (`.timeindex`), a
//! recovery point, recovery after a crash, and retention. See `docs/storage.md`.

mod checkpoint;
mod config;
mod dump;
mod error;
mod index_file;
mod log;
mod offset_index;
mod read_agreed;
pub mod record_batch;
mod recovery;
mod retention;
mod segment;
mod time_index;

#[cfg(test)]
mod log_properties;
#[cfg(test)]
mod log_tests;

pub use config::LogConfig;
pub use dump::dump_file;
pub use error::{LogError, LogResult};
pub use log::{AppendInfo, Log, TimestampMatch};
pub use offset_index::OffsetPosition;
pub use recovery::RecoveryReport;
pub use segment::{file_name as segment_file_name, LogSegment, INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX};
pub use time_index::TimestampOffset;
