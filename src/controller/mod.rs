//! The controller: the cluster metadata log's records, the metadata image every node builds
//! from them, the rules that change partitions (elections, ISR, ELR), and the active
//! controller's core (broker lifecycle, topics, AlterPartition). No IO anywhere here: the
//! Raft quorum carries the records and a shell carries the requests.

pub mod cluster_control;
pub mod image;
pub mod partition_change;
pub mod quorum_controller;
pub mod record_checks;
pub mod records;
pub mod replication_control;

pub use quorum_controller::{ControllerConfig, ControllerError, QuorumController, Written};
