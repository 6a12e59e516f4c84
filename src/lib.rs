//! seedlog: a Kafka-compatible broker that runs unchanged on tokio and in madsim.
//!
//! See `docs/` and the crate's README for the layout; `runtime` is the seam every other
//! module goes through for disk, time, randomness and spawning.

pub mod broker;
pub mod client;
pub mod cluster;
pub mod controller;
pub mod coordinator;
pub mod events;
pub mod protocol;
pub mod raft;
pub mod replication;
pub mod runtime;
pub mod storage;
pub mod tools;
