//! The shells that make nodes a cluster (docs/cluster.md): the metadata loader every node
//! runs, the controller server of controller nodes, and the channel from brokers to the
//! active controller. The cores they drive have no IO (`src/raft/`, `src/controller/`).

pub mod broker_lifecycle;
pub mod cluster_node;
pub mod controller_rpc;
pub mod controller_server;
pub mod metadata_loader;
pub mod metadata_snapshot;
pub mod snapshot_generator;
#[cfg(test)]
mod snapshot_tests;
