//! Per-log settings, named after Kafka's topic configs (`segment.bytes`, …) and their broker
//! defaults (`log.segment.bytes`, …).

/// Settings of one partition log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogConfig {
    /// `segment.bytes` / `log.segment.bytes`: roll when the active segment would pass this.
    pub segment_bytes: u64,
    /// `segment.ms` / `log.roll.ms`: roll when the active segment's first batch is this old.
    pub segment_ms: i64,
    /// `index.interval.bytes` / `log.index.interval.bytes`: bytes between sparse index entries.
    pub index_interval_bytes: u64,
    /// `flush.messages` / `log.flush.interval.messages`: fsync after this many messages.
    pub flush_interval_messages: u64,
    /// `flush.ms` / `log.flush.interval.ms`: fsync when the last flush is this old.
    pub flush_interval_ms: i64,
    /// `log.flush.offset.checkpoint.interval.ms`: how often the recovery point is written.
    pub flush_offset_checkpoint_interval_ms: i64,
    /// `retention.ms` / `log.retention.ms`; negative means keep forever.
    pub retention_ms: i64,
    /// `retention.bytes` / `log.retention.bytes`; negative means no size limit.
    pub retention_bytes: i64,
    /// `max.message.bytes` / `message.max.bytes`: the largest batch a producer may append.
    pub max_message_bytes: u64,
}

impl Default for LogConfig {
    /// Kafka 4.x's broker defaults.
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1 << 30,
            segment_ms: 7 * 24 * 60 * 60 * 1000,
            index_interval_bytes: 4096,
            flush_interval_messages: u64::MAX,
            flush_interval_ms: i64::MAX,
            flush_offset_checkpoint_interval_ms: 60_000,
            retention_ms: 7 * 24 * 60 * 60 * 1000,
            retention_bytes: -1,
            max_message_bytes: 1_048_588,
        }
    }
}
