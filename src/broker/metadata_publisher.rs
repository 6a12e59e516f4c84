//! Applies each new metadata image to this broker's replicas (Kafka's
//! `BrokerMetadataPublisher` with the `ReplicaManager.applyDelta` it calls): the IO shell of
//! [`local_changes`](super::local_changes).
//!
//! For each image, in this order (docs/replication.md, "apply partition changes before
//! broker changes"):
//! 1. partitions no longer placed here stop being followed and are removed;
//! 2. partitions this broker now leads are hosted (log opened or created), told every
//!    broker's registration if new, and made leader; their fetcher lets go of them;
//! 3. partitions it now follows likewise, made follower, and handed to the fetcher of
//!    their leader (one fetcher per leader broker, started on demand and stopped when it
//!    follows nothing);
//! 4. registrations that changed are told to every hosted partition (a leader weighs ISR
//!    eligibility by them, KIP-903).
//!
//! The publisher owns the fetchers: it stops each one, and awaits it, before it drops it.

use std::collections::BTreeMap;
use std::sync::Arc;

use tracing::{info, warn};
use uuid::Uuid;

use super::controller_types::{broker_registration, partition_state};
use super::local_changes::{local_changes, LocalPartition};
use super::partition::Partition;
use super::replica_fetcher::{FetcherConfig, FetcherHandle};
use super::topics::Topics;
use crate::cluster::metadata_loader::{LoadedImage, MetadataCell};
use crate::controller::image::MetadataImage;
use crate::controller::records::{BrokerId, NO_LEADER};
use crate::runtime::Clock;

/// What the publisher needs to know about this broker.
#[derive(Clone, Debug)]
pub struct PublisherConfig {
    pub broker_id: BrokerId,
    /// The listener followers fetch on (Kafka's `inter.broker.listener.name`): this
    /// broker's first broker listener.
    pub listener_name: String,
    pub fetcher: FetcherConfig,
}

/// Applies images to the hosted replicas.
///
/// Invariants: every partition in a fetcher's list is followed from that fetcher's leader
/// (`following` says which), and no fetcher follows nothing.
pub struct MetadataPublisher {
    config: PublisherConfig,
    topics: Arc<Topics>,
    clock: Clock,
    /// The image applied last.
    applied: Arc<LoadedImage>,
    fetchers: BTreeMap<BrokerId, FetcherHandle>,
    /// Which leader each followed partition is fetched from.
    following: BTreeMap<(Uuid, i32), (BrokerId, Arc<Partition>)>,
}

impl MetadataPublisher {
    pub fn new(config: PublisherConfig, topics: Arc<Topics>, clock: Clock, empty: MetadataImage) -> Self {
        let applied = Arc::new(LoadedImage { image: empty, applied_offset: -1 });
        MetadataPublisher { config, topics, clock, applied, fetchers: BTreeMap::new(), following: BTreeMap::new() }
    }

    /// Applies every image `metadata` publishes until the owner stops the task; then stops
    /// the fetchers.
    pub async fn run(mut self, metadata: Arc<MetadataCell>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut seen = 0;
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                (version, image) = metadata.changed_since(seen) => {
                    seen = version;
                    self.publish(image).await;
                }
            }
        }
        for (_, fetcher) in std::mem::take(&mut self.fetchers) {
            fetcher.stop().await;
        }
    }

    /// Applies `next` (a later image than the last applied).
    pub async fn publish(&mut self, next: Arc<LoadedImage>) {
        let previous = std::mem::replace(&mut self.applied, next.clone());
        let (before, after) = (&previous.image, &next.image);
        let changes = local_changes(self.config.broker_id, before, after);
        for removed in &changes.removed {
            self.stop_following(removed.topic_id, removed.partition).await;
            if let Err(error) = self.topics.unhost(removed.topic_id, removed.partition).await {
                // A disk error fails the log directory (`Topics::log_dir_failure`): the broker halts.
                warn!(name: "unhost_failed", topic = %removed.topic, partition = removed.partition, error = %error);
            }
        }
        for local in &changes.leaders {
            let Some(partition) = self.host(after, local).await else { continue };
            self.stop_following(local.topic_id, local.partition).await;
            let state = partition_state(&local.registration).expect("the image holds valid partitions");
            if let Err(error) = partition.make_leader(state).await {
                warn!(name: "make_leader_failed", topic = %local.topic, partition = local.partition, error = ?error);
            }
        }
        for local in &changes.followers {
            let Some(partition) = self.host(after, local).await else { continue };
            let state = partition_state(&local.registration).expect("the image holds valid partitions");
            match partition.make_follower(self.clock.now_ms(), state).await {
                Ok(_) => self.follow(after, local, partition).await,
                Err(error) => {
                    warn!(name: "make_follower_failed", topic = %local.topic, partition = local.partition, error = ?error)
                }
            }
        }
        self.publish_registrations(before, after).await;
        self.check_invariants();
    }

    /// Hosts `local`'s partition; a new one first learns every broker's registration.
    async fn host(&self, image: &MetadataImage, local: &LocalPartition) -> Option<Arc<Partition>> {
        let configs = image.topics.get(&local.topic_id).map(|t| t.configs.clone()).unwrap_or_default();
        let partition = match self.topics.host(&local.topic, local.topic_id, local.partition, &configs).await {
            Ok(partition) => partition,
            Err(error) => {
                warn!(name: "host_failed", topic = %local.topic, partition = local.partition, error = %error);
                // A disk error fails the log directory (`Topics::log_dir_failure`: the broker
                // halts, as Kafka's does); a config the broker refuses leaves it running.
                return None;
            }
        };
        if local.is_new {
            for broker in image.brokers.values() {
                partition.on_broker_registration(broker.id, Some(broker_registration(broker))).await;
            }
        }
        Some(partition)
    }

    /// Fetches `partition` from its leader's fetcher (none while it has no leader).
    async fn follow(&mut self, image: &MetadataImage, local: &LocalPartition, partition: Arc<Partition>) {
        let leader = local.registration.leader;
        let key = (local.topic_id, local.partition);
        if self.following.get(&key).is_some_and(|(current, p)| *current == leader && Arc::ptr_eq(p, &partition)) {
            return;
        }
        self.stop_following(local.topic_id, local.partition).await;
        if leader == NO_LEADER {
            return;
        }
        let Some(address) = self.leader_address(image, leader) else {
            warn!(name: "leader_unreachable", topic = %local.topic, partition = local.partition, leader);
            return;
        };
        match self.fetchers.get(&leader) {
            Some(fetcher) => fetcher.add(partition.clone()),
            None => {
                info!(name: "replica_fetcher_started", leader, address = %address);
                let fetcher = FetcherHandle::start(
                    self.config.fetcher.clone(),
                    address,
                    vec![partition.clone()],
                    self.clock.clone(),
                );
                self.fetchers.insert(leader, fetcher);
            }
        }
        self.following.insert(key, (leader, partition));
    }

    /// Stops fetching a partition; a fetcher left with nothing to follow is stopped.
    async fn stop_following(&mut self, topic_id: Uuid, index: i32) {
        let Some((leader, partition)) = self.following.remove(&(topic_id, index)) else { return };
        let idle = self.fetchers.get(&leader).is_some_and(|f| f.remove(&partition));
        if idle {
            if let Some(fetcher) = self.fetchers.remove(&leader) {
                fetcher.stop().await;
                info!(name: "replica_fetcher_stopped", leader);
            }
        }
    }

    /// `host:port` of the leader's inter-broker listener in the image.
    fn leader_address(&self, image: &MetadataImage, leader: BrokerId) -> Option<String> {
        let broker = image.brokers.get(&leader)?;
        let endpoint = broker.endpoints.iter().find(|e| e.name == self.config.listener_name)?;
        Some(format!("{}:{}", endpoint.host, endpoint.port))
    }

    /// Tells every hosted partition each registration that changed between the images.
    async fn publish_registrations(&self, before: &MetadataImage, after: &MetadataImage) {
        let mut changed = Vec::new();
        for (id, registration) in &after.brokers {
            if before.brokers.get(id) != Some(registration) {
                changed.push((*id, Some(broker_registration(registration))));
            }
        }
        for id in before.brokers.keys().filter(|id| !after.brokers.contains_key(id)) {
            changed.push((*id, None));
        }
        if changed.is_empty() {
            return;
        }
        for topic in self.topics.all().await {
            for partition in topic.partitions.values() {
                for (id, registration) in &changed {
                    partition.on_broker_registration(*id, *registration).await;
                }
            }
        }
    }

    fn check_invariants(&self) {
        for ((topic_id, index), (leader, partition)) in &self.following {
            let fetcher = self.fetchers.get(leader);
            assert!(fetcher.is_some(), "{topic_id}-{index} is followed from {leader}, which has no fetcher");
            let _ = partition;
        }
        for leader in self.fetchers.keys() {
            assert!(self.following.values().any(|(l, _)| l == leader), "the fetcher of {leader} follows nothing");
        }
    }
}
