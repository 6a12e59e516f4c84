//! What the producer, consumer and admin share: the bootstrap list, one connection per
//! broker address (opened on first use, reopened after it closes), and the metadata cache
//! with its refreshes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_protocol::messages::ApiKey;
use tracing::debug;

use super::connection::{Connection, ConnectionConfig};
use super::error::{code, ClientError, Result};
use super::metadata::{MetadataCache, TopicInfo};

type Slot = Arc<tokio::sync::Mutex<Option<Arc<Connection>>>>;

/// Connections and metadata for one cluster.
pub struct Cluster {
    bootstrap: Vec<String>,
    config: ConnectionConfig,
    retry_backoff: Duration,
    metadata: Mutex<MetadataCache>,
    slots: Mutex<BTreeMap<String, Slot>>,
    next_candidate: AtomicUsize,
}

impl Cluster {
    /// A cluster reached through `bootstrap` (`host:port[,host:port...]`). Connects lazily.
    pub fn new(bootstrap: &str, config: ConnectionConfig) -> Result<Arc<Cluster>> {
        let bootstrap = parse_bootstrap(bootstrap)?;
        Ok(Arc::new(Cluster {
            bootstrap,
            config,
            retry_backoff: Duration::from_millis(100),
            metadata: Mutex::new(MetadataCache::default()),
            slots: Mutex::new(BTreeMap::new()),
            next_candidate: AtomicUsize::new(0),
        }))
    }

    pub fn config(&self) -> &ConnectionConfig {
        &self.config
    }

    /// How long to wait between attempts of a retriable operation.
    pub fn retry_backoff(&self) -> Duration {
        self.retry_backoff
    }

    /// The open connection to `address`, connecting if there is none.
    pub async fn connection_to(&self, address: &str) -> Result<Arc<Connection>> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            slots.entry(address.to_owned()).or_default().clone()
        };
        let mut slot = slot.lock().await;
        if let Some(connection) = slot.as_ref().filter(|c| !c.is_closed()) {
            return Ok(connection.clone());
        }
        let connection = Arc::new(Connection::connect(address, self.config.clone()).await?);
        debug!(name: "client_connected", address);
        *slot = Some(connection.clone());
        Ok(connection)
    }

    /// The open connection to broker `node_id`, by its address in the metadata.
    pub async fn broker_connection(&self, node_id: i32) -> Result<Arc<Connection>> {
        let address = self.with_metadata(|m| m.broker(node_id).map(|b| b.address()));
        let address =
            address.ok_or_else(|| ClientError::Connection(format!("broker {node_id} is not in the metadata")))?;
        self.connection_to(&address).await
    }

    /// The least loaded connection, as Java's `leastLoadedNode` picks one: an open
    /// connection with nothing in flight; else a known broker or bootstrap address without
    /// an open connection that accepts (tried from a rotating position); else the open
    /// connection with the fewest requests in flight. A refresh after a leader change thus
    /// does not queue behind a request the old leader sits on.
    pub async fn any_connection(&self) -> Result<Arc<Connection>> {
        let open = self.open_connections();
        if let Some(idle) = open.iter().find(|c| c.in_flight() == 0) {
            return Ok(idle.clone());
        }
        let mut candidates: Vec<String> = self.with_metadata(|m| m.brokers.values().map(|b| b.address()).collect());
        candidates.extend(self.bootstrap.iter().cloned());
        candidates.sort();
        candidates.dedup();
        candidates.retain(|address| open.iter().all(|c| c.peer() != address));
        let mut last_error = ClientError::Connection("no bootstrap address".into());
        let start = self.next_candidate.fetch_add(1, Ordering::Relaxed);
        for i in 0..candidates.len() {
            let address = &candidates[(start + i) % candidates.len()];
            match self.connection_to(address).await {
                Ok(connection) => return Ok(connection),
                Err(error) => last_error = error,
            }
        }
        open.into_iter().min_by_key(|c| c.in_flight()).ok_or(last_error)
    }

    fn open_connections(&self) -> Vec<Arc<Connection>> {
        let slots: Vec<Slot> = self.slots.lock().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        slots
            .iter()
            .filter_map(|slot| slot.try_lock().ok().and_then(|c| c.clone()))
            .filter(|c| !c.is_closed())
            .collect()
    }

    /// Asks a broker for metadata of `topics` (`None`: all) and updates the cache.
    pub async fn refresh_metadata(&self, topics: Option<&[String]>) -> Result<()> {
        let mut last_error = None;
        for _ in 0..2 {
            let connection = self.any_connection().await?;
            let request = MetadataCache::request(topics);
            match connection.send(&request, connection.version(ApiKey::Metadata)?).await {
                Ok(response) => {
                    self.metadata.lock().unwrap_or_else(|p| p.into_inner()).update(&response, topics);
                    return Ok(());
                }
                // That connection is now closed; the next try picks another broker.
                Err(error @ (ClientError::Connection(_) | ClientError::Timeout(_))) => last_error = Some(error),
                Err(error) => return Err(error),
            }
        }
        Err(last_error.unwrap_or(ClientError::Closed))
    }

    /// Reads the cache.
    pub fn with_metadata<R>(&self, read: impl FnOnce(&MetadataCache) -> R) -> R {
        read(&self.metadata.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// A copy of the cache.
    pub fn metadata(&self) -> MetadataCache {
        self.with_metadata(Clone::clone)
    }

    /// Marks `topic` for refresh before its next use.
    pub fn mark_stale(&self, topic: &str) {
        self.metadata.lock().unwrap_or_else(|p| p.into_inner()).mark_stale(topic);
    }

    /// The topic's metadata, refreshed once if missing or stale; UNKNOWN_TOPIC_OR_PARTITION
    /// if the broker does not know it.
    pub async fn topic(&self, topic: &str) -> Result<TopicInfo> {
        if let Some(info) = self.with_metadata(|m| m.fresh_topic(topic).cloned()) {
            return Ok(info);
        }
        self.refresh_metadata(Some(&[topic.to_owned()])).await?;
        self.with_metadata(|m| m.topic(topic).cloned())
            .ok_or_else(|| ClientError::kafka(code::UNKNOWN_TOPIC_OR_PARTITION, format!("topic {topic}")))
    }

    /// Like [`Cluster::topic`], retrying retriable failures until `timeout` passes (the
    /// Java producer's `max.block.ms` wait for a topic to appear); with `partition`, also
    /// until the topic has that partition (it may have grown since the cache was filled: the
    /// Java producer waits for it the same way, refreshing the metadata).
    pub async fn wait_for_topic(&self, topic: &str, partition: Option<i32>, timeout: Duration) -> Result<TopicInfo> {
        let deadline = crate::runtime::now() + timeout;
        let mut refresh = false;
        loop {
            let looked_up = if refresh {
                self.refresh_metadata(Some(&[topic.to_owned()])).await.and_then(|()| {
                    self.with_metadata(|m| m.topic(topic).cloned())
                        .ok_or_else(|| ClientError::kafka(code::UNKNOWN_TOPIC_OR_PARTITION, format!("topic {topic}")))
                })
            } else {
                self.topic(topic).await
            };
            let error = match looked_up {
                Ok(info) if info.error_code == code::NONE => match partition {
                    Some(p) if !(0..info.partitions.len() as i32).contains(&p) => {
                        refresh = true;
                        let known = info.partitions.len();
                        let context = format!("partition {p} of {topic} ({known} partitions) within {timeout:?}");
                        ClientError::kafka(code::UNKNOWN_TOPIC_OR_PARTITION, context)
                    }
                    _ => return Ok(info),
                },
                Ok(info) => ClientError::kafka(info.error_code, format!("metadata of topic {topic}")),
                Err(error) => error,
            };
            let retriable = error.is_retriable() || error.code() == code::UNKNOWN_TOPIC_OR_PARTITION;
            if !retriable || crate::runtime::now() + self.retry_backoff > deadline {
                return Err(error);
            }
            tokio::time::sleep(self.retry_backoff).await;
        }
    }

    /// The leader of a partition and a connection to it, refreshing stale metadata once.
    pub async fn leader_connection(&self, topic: &str, partition: i32) -> Result<(i32, Arc<Connection>)> {
        let leader = self.leader(topic, partition).await?;
        Ok((leader, self.broker_connection(leader).await?))
    }

    /// The leader's node id of a partition, refreshing stale metadata once.
    pub async fn leader(&self, topic: &str, partition: i32) -> Result<i32> {
        self.leader_and_epoch(topic, partition).await.map(|(leader, _)| leader)
    }

    /// The leader's node id of a partition and its leader epoch (-1 if the broker gave
    /// none), refreshing stale metadata once.
    pub async fn leader_and_epoch(&self, topic: &str, partition: i32) -> Result<(i32, i32)> {
        if let Some(known) = self.cached_leader(topic, partition) {
            return Ok(known);
        }
        self.refresh_metadata(Some(&[topic.to_owned()])).await?;
        self.leader_as_last_answered(topic, partition)
    }

    /// The leader and leader epoch of a partition if the cache can be trusted: the topic is
    /// fresh and the connection to its leader did not close under us (the broker went
    /// away, or closed it after refusing an acks=0 produce — Java's client requests a
    /// metadata update on every disconnect).
    pub fn cached_leader(&self, topic: &str, partition: i32) -> Option<(i32, i32)> {
        let known = self.with_metadata(|m| m.leader_and_epoch(topic, partition));
        known.filter(|(leader, _)| !self.lost_connection_to(*leader))
    }

    /// The leader and leader epoch of a partition as the last Metadata answer said (stale
    /// or not), or why there is none: UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE.
    pub fn leader_as_last_answered(&self, topic: &str, partition: i32) -> Result<(i32, i32)> {
        self.with_metadata(|m| {
            let Some(info) = m.topic(topic) else {
                return Err(ClientError::kafka(code::UNKNOWN_TOPIC_OR_PARTITION, format!("topic {topic}")));
            };
            let Some(p) = info.partition(partition) else {
                return Err(ClientError::kafka(
                    code::UNKNOWN_TOPIC_OR_PARTITION,
                    format!("partition {topic}-{partition}"),
                ));
            };
            match p.leader {
                leader if leader >= 0 => Ok((leader, p.leader_epoch)),
                _ => Err(ClientError::kafka(code::LEADER_NOT_AVAILABLE, format!("partition {topic}-{partition}"))),
            }
        })
    }

    /// Whether the last connection opened to broker `node_id` has closed since.
    fn lost_connection_to(&self, node_id: i32) -> bool {
        let Some(address) = self.with_metadata(|m| m.broker(node_id).map(|b| b.address())) else { return false };
        let slot = self.slots.lock().unwrap_or_else(|p| p.into_inner()).get(&address).cloned();
        // A slot in use is being (re)connected by someone: not lost.
        slot.and_then(|slot| slot.try_lock().ok().and_then(|c| c.clone())).is_some_and(|c| c.is_closed())
    }

    /// A connection to the controller if the metadata names a known one, else any broker
    /// (KRaft brokers forward controller requests).
    pub async fn controller_connection(&self) -> Result<Arc<Connection>> {
        if self.with_metadata(|m| m.brokers.is_empty()) {
            self.refresh_metadata(Some(&[])).await?;
        }
        let controller = self.with_metadata(|m| m.broker(m.controller_id).map(|b| b.node_id));
        match controller {
            Some(node_id) => match self.broker_connection(node_id).await {
                Ok(connection) => Ok(connection),
                Err(_) => self.any_connection().await,
            },
            None => self.any_connection().await,
        }
    }

    /// Closes every connection.
    pub fn close(&self) {
        for connection in self.open_connections() {
            connection.close();
        }
    }
}

/// Splits `host:port,host:port` into addresses.
pub fn parse_bootstrap(bootstrap: &str) -> Result<Vec<String>> {
    let addresses: Vec<String> =
        bootstrap.split(',').map(str::trim).filter(|a| !a.is_empty()).map(str::to_owned).collect();
    if addresses.is_empty() {
        return Err(ClientError::Config("empty bootstrap server list".into()));
    }
    for address in &addresses {
        let port = address.rsplit_once(':').map(|(_, port)| port.parse::<u16>());
        if !matches!(port, Some(Ok(_))) {
            return Err(ClientError::Config(format!("bootstrap address {address:?} is not HOST:PORT")));
        }
    }
    Ok(addresses)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_lists_parse() {
        assert_eq!(parse_bootstrap("a:9092, b:9093").unwrap(), vec!["a:9092", "b:9093"]);
        assert_eq!(parse_bootstrap("[::1]:9092").unwrap(), vec!["[::1]:9092"]);
        assert!(parse_bootstrap("").is_err());
        assert!(parse_bootstrap("a").is_err());
        assert!(parse_bootstrap("a:port").is_err());
    }
}
