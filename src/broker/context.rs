//! What every request handler may use: the broker's identity, config, topics, replica
//! manager and clock.

use std::sync::Arc;

use super::config::BrokerConfig;
use super::producer_ids::ProducerIds;
use super::replica_manager::ReplicaManager;
use super::topics::Topics;
use crate::runtime::Clock;

/// The broker's shared state, handed to each request handler.
#[derive(Debug)]
pub struct BrokerContext {
    pub node_id: i32,
    pub cluster_id: String,
    /// The host and port clients are told to connect to.
    pub advertised_host: String,
    pub advertised_port: i32,
    pub config: Arc<BrokerConfig>,
    pub topics: Arc<Topics>,
    /// Appends, acks and fetches go through it.
    pub replica_manager: ReplicaManager,
    pub producer_ids: ProducerIds,
    pub clock: Clock,
    /// In a cluster: the metadata image, the controller and this broker's registration
    /// (`None` for a standalone broker, which owns its topics' metadata).
    pub cluster: Option<crate::cluster::cluster_node::BrokerCluster>,
}
