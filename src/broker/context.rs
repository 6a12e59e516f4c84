//! What every request handler may use: the broker's identity, config, topics and clock.

use std::sync::Arc;

use super::config::BrokerConfig;
use super::producer_ids::ProducerIds;
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
    pub producer_ids: ProducerIds,
    pub clock: Clock,
}
