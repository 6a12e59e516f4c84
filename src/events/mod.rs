//! The events seedlog reports and the simulator's checkers read, one type per event.
//!
//! Production code reports what it does as structured `tracing` events (they are also the
//! production logs); the simulator's trace layer records them and feeds its checkers. A
//! checker that matched on a name string and a field name would pass in silence the day
//! either is renamed: it would simply never see the event again. So every event a checker
//! reads is declared once, here, with [`events!`](crate::events!): the declaration makes the
//! struct, the one function that emits it ([`Event::emit`]) and the one that reads it back
//! ([`Event::decode`]). An emitter and a checker cannot disagree on a name or a field, and
//! an event that arrives with a field missing or of the wrong type is an error, not a skip.
//!
//! Events are grouped by who emits them: `storage` (the partition log), `client` (what a
//! client saw: acknowledgements and reads), `raft` (the metadata quorum), `replication`
//! (partition leaders and followers), `cluster` (brokers' registrations), `runtime` (buggify
//! points firing). Events only the
//! simulator emits (faults, its own workloads) are declared in the `sim` crate with the
//! same macro. A field holding a list
//! uses one of the text formats of [`lists`].

mod client;
mod cluster;
pub mod lists;
mod raft;
mod replication;
mod runtime;
mod storage;
#[cfg(test)]
mod tests;

pub use client::{AuditDone, RecordAcked, RecordAudited, RecordConsumed};
pub use cluster::BrokerRegistered;
pub use raft::{
    QuorumStateWritten, RaftAppended, RaftHighWatermark, RaftSnapshotInstalled, RaftSnapshotLoaded, RaftSnapshotTaken,
    RaftState, RaftTransition, RaftTruncated, VoteGranted, STARTING_STATE,
};
pub use replication::{
    effective_min_isr, AlterPartitionAnswered, BatchReplicated, FetchServed, FollowerHighWatermark,
    HighWatermarkAdvanced, IsrChanged, MakeFollower, MakeLeader, ProduceAcked, ReplicaTruncated, UncleanLeaderElected,
    ROLE_FOLLOWER, ROLE_LEADER,
};
pub use runtime::BuggifyFired;
pub use storage::{LogFlushStarted, LogFlushSynced, LogFlushed, LogRecovered, LogStartOffsetAdvanced, LogTruncated};

use std::fmt;

/// One declared event: its name, how it is emitted and how it is read back.
pub trait Event: Sized {
    /// The event's name in the trace (`record_acked`).
    const NAME: &'static str;
    /// Reports the event through `tracing`, at the level it was declared with.
    fn emit(&self);
    /// Reads the event back from a traced event's fields.
    fn decode(fields: &dyn Fields) -> Result<Self, DecodeError>;
}

/// The fields of a traced event, as a checker sees them.
pub trait Fields {
    fn field(&self, key: &str) -> Option<FieldRef<'_>>;
}

/// One traced field value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldRef<'a> {
    I64(i64),
    U64(u64),
    Bool(bool),
    Str(&'a str),
}

/// A field type an event may carry: how a traced value reads back as it.
pub trait FieldType: Sized {
    fn from_field(field: FieldRef<'_>) -> Option<Self>;
}

impl FieldType for i64 {
    fn from_field(field: FieldRef<'_>) -> Option<Self> {
        match field {
            FieldRef::I64(v) => Some(v),
            FieldRef::U64(v) => i64::try_from(v).ok(),
            _ => None,
        }
    }
}

impl FieldType for i32 {
    fn from_field(field: FieldRef<'_>) -> Option<Self> {
        i64::from_field(field).and_then(|v| i32::try_from(v).ok())
    }
}

impl FieldType for u64 {
    fn from_field(field: FieldRef<'_>) -> Option<Self> {
        match field {
            FieldRef::U64(v) => Some(v),
            FieldRef::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }
}

impl FieldType for bool {
    fn from_field(field: FieldRef<'_>) -> Option<Self> {
        match field {
            FieldRef::Bool(v) => Some(v),
            _ => None,
        }
    }
}

impl FieldType for String {
    fn from_field(field: FieldRef<'_>) -> Option<Self> {
        match field {
            FieldRef::Str(v) => Some(v.to_string()),
            _ => None,
        }
    }
}

/// Reads field `key` of `fields` as `T`, for [`Event::decode`].
pub fn decode_field<T: FieldType>(
    event: &'static str,
    fields: &dyn Fields,
    key: &'static str,
) -> Result<T, DecodeError> {
    let field = fields.field(key).ok_or(DecodeError { event, field: key, problem: "is missing" })?;
    T::from_field(field).ok_or(DecodeError { event, field: key, problem: "has the wrong type" })
}

/// A traced event that does not match its declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    pub event: &'static str,
    pub field: &'static str,
    pub problem: &'static str,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "event `{}`: field `{}` {}", self.event, self.field, self.problem)
    }
}

impl std::error::Error for DecodeError {}

/// Declares events: for each, a struct with public fields, its [`Event`] impl (name, emit
/// at the given level, decode) and nothing else.
///
/// ```ignore
/// seedlog::events! {
///     /// A producer saw a record acknowledged.
///     RecordAcked = "record_acked", INFO { topic: String, partition: i32, offset: i64 }
/// }
/// ```
#[macro_export]
macro_rules! events {
    ($(
        $(#[$meta:meta])*
        $type:ident = $name:literal, $level:ident { $( $(#[$field_meta:meta])* $field:ident : $field_type:ty ),* $(,)? }
    )*) => {$(
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $type {
            $( $(#[$field_meta])* pub $field: $field_type, )*
        }

        impl $type {
            /// Whether the event would be recorded now: callers on hot paths check it before
            /// building the event.
            pub fn enabled() -> bool {
                ::tracing::enabled!(target: "seedlog::events", ::tracing::Level::$level)
            }
        }

        impl $crate::events::Event for $type {
            const NAME: &'static str = $name;

            fn emit(&self) {
                ::tracing::event!(
                    name: $name,
                    target: "seedlog::events",
                    ::tracing::Level::$level,
                    { $( $field = &self.$field ),* }
                );
            }

            #[allow(unused_variables)]
            fn decode(fields: &dyn $crate::events::Fields) -> Result<Self, $crate::events::DecodeError> {
                Ok($type {
                    $( $field: $crate::events::decode_field($name, fields, stringify!($field))?, )*
                })
            }
        }
    )*};
}
