//! Events of the partition log (`src/storage/`). `dir` is the partition's directory.

crate::events! {
    /// A flush's fsyncs start (the files, then the directory if it changed), to make the log
    /// durable up to `log_end_offset`: until the matching `log_flush_synced` they are in
    /// flight, and a crash then keeps or loses the unsynced data per the disk's fault model.
    LogFlushStarted = "log_flush_started", DEBUG { dir: String, log_end_offset: i64 }

    /// A flush's fsyncs ended, `ok` or failed (then the log goes offline).
    LogFlushSynced = "log_flush_synced", DEBUG { dir: String, ok: bool }

    /// A flush made the log durable up to `recovery_point` (exclusive).
    LogFlushed = "log_flushed", DEBUG { dir: String, recovery_point: i64 }

    /// Opening the log recovered it from whatever a crash or a clean shutdown left.
    LogRecovered = "log_recovered", INFO {
        dir: String,
        log_start_offset: i64,
        log_end_offset: i64,
        /// The recovery point the checkpoint file held; recovery re-validated from there.
        checkpointed_recovery_point: i64,
        segments_loaded: u64,
        segments_recovered: u64,
        segments_deleted: u64,
        truncated_bytes: u64,
    }

    /// Retention (or a log-start move) deleted the oldest segments.
    LogStartOffsetAdvanced = "log_start_offset_advanced", INFO { dir: String, log_start_offset: i64, deleted_segments: u64 }

    /// Truncation removed the log's tail; `fully` when it emptied the log and restarted it
    /// at `log_end_offset`.
    LogTruncated = "log_truncated", INFO { dir: String, log_end_offset: i64, fully: bool }
}
