//! The broker: configuration, topics and partitions, request handlers, the connection loop,
//! and `Node::build(env)`, the one way to build a node in production and in simulation.

mod batch_records;
pub mod clean_shutdown;
pub mod config;
mod connection;
pub mod context;
pub mod controller_types;
mod errors;
mod handlers;
pub mod local_changes;
pub mod meta_properties;
pub mod metadata_publisher;
pub mod node;
pub mod partition;
pub mod producer_ids;
pub mod replica_fetcher;
pub mod replica_manager;
pub mod topic_admin;
pub mod topic_config;
pub mod topics;

pub use node::{Node, NodeEnv, NodeError, NodeExit};
