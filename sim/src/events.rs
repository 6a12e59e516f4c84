//! Events only the simulator emits (its faults and its own workloads), declared with
//! seedlog's [`events!`](seedlog::events!) macro so that emitters and checkers share one
//! type per event (see `seedlog::events`).

seedlog::events! {
    /// The supervisor crashed a node: its tasks stopped and its disk crashed.
    NodeKilled = "node_killed", INFO { node: String }

    /// The supervisor started a killed node again.
    NodeRestarted = "node_restarted", INFO { node: String }

    /// storage-crash-recovery's workload is about to append a batch (reported before the
    /// append, since a crash may make it durable before the append returns). `digest`
    /// covers every byte of the stored batch except `partitionLeaderEpoch`.
    BatchAppending = "batch_appending", INFO { base_offset: i64, last_offset: i64, digest: u64 }

    /// storage-crash-recovery's read-back read a batch.
    BatchRead = "batch_read", INFO { base_offset: i64, last_offset: i64, digest: u64 }

    /// storage-crash-recovery's read-back reached the log end.
    ReadBackDone = "read_back_done", INFO { log_end_offset: i64 }
}
