//! What clients saw: acknowledgements and reads. The simulator's workloads emit these from
//! seedlog's Rust client; the durability and consistency checkers read them.

crate::events! {
    /// A producer's record was acknowledged at `offset`. `acks` is the producer's setting
    /// (-1 for all).
    RecordAcked = "record_acked", INFO { topic: String, partition: i32, offset: i64, acks: i32, value: String }

    /// A consumer read a record.
    RecordConsumed = "record_consumed", INFO { topic: String, partition: i32, offset: i64, value: String }

    /// The final audit (a consumer reading every partition to its end after the faults)
    /// read a record.
    RecordAudited = "record_audited", INFO { topic: String, partition: i32, offset: i64, value: String }

    /// The final audit reached the end of a partition.
    AuditDone = "audit_done", INFO { topic: String, partition: i32, end_offset: i64 }
}
