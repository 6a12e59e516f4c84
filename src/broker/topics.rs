//! The topics this broker hosts (Kafka's LogManager plus, for a standalone broker, the part
//! of the controller that owns topic metadata).
//!
//! Two ways to host:
//! - **standalone**: the broker owns its topics' metadata, creates every partition of a
//!   topic and leads each alone;
//! - **cluster**: the metadata log decides. The broker's metadata publisher asks for the
//!   partitions it replicates ([`Topics::host`]) and gives each its role; the logs found at
//!   start-up open without a role until the publisher gives them one, and a partition the
//!   broker no longer replicates is removed ([`Topics::unhost`]).
//!
//! On disk, as in Kafka: one directory per partition, `<log.dirs>/<topic>-<partition>`,
//! holding the segments, a `partition.metadata` file (`version: 0`, `topic_id: <uuid>`)
//! and `topic.properties`, the topic's config overrides. A deleted topic's directories are
//! first renamed to `<topic>-<partition>.<topic id>-delete` (durable), then emptied and
//! removed; start-up finishes any deletion a crash interrupted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use rand::Rng;
use tokio::sync::{Mutex, RwLock};
use tracing::{info, warn};
use uuid::Uuid;

use super::config::BrokerConfig;
use super::partition::Partition;
use super::topic_config::TopicConfig;
use crate::protocol::topic_name::{colliding_topic, collision_message};
use crate::runtime::{Clock, Disk, NodeRng, OpenMode};
use crate::storage::{Log, LogError};

const METADATA_FILE: &str = "partition.metadata";
const CONFIG_FILE: &str = "topic.properties";
const DELETE_SUFFIX: &str = "-delete";
/// Kafka's limit on topic name length.
const MAX_TOPIC_NAME_CHARS: usize = 249;

/// One topic: its id, config and the partitions this broker hosts (all of them when
/// standalone, those it replicates in a cluster).
#[derive(Debug)]
pub struct Topic {
    pub name: String,
    pub id: Uuid,
    pub config: TopicConfig,
    pub partitions: BTreeMap<i32, Arc<Partition>>,
}

impl Topic {
    /// Partition `index`, if this broker hosts it.
    pub fn partition(&self, index: i32) -> Option<Arc<Partition>> {
        self.partitions.get(&index).cloned()
    }
}

/// Why a topic operation failed, as Kafka's error codes.
#[derive(Debug, PartialEq, Eq)]
pub enum TopicError {
    InvalidTopic(String),
    AlreadyExists(String),
    UnknownTopic(String),
    InvalidPartitions(String),
    InvalidReplicationFactor(String),
    InvalidConfig(String),
    Storage(String),
    /// Another Kafka error, as the active controller answered it.
    Other(i16, String),
}

impl TopicError {
    /// Kafka's error code for this error.
    pub fn code(&self) -> i16 {
        match self {
            TopicError::InvalidTopic(_) => 17,             // INVALID_TOPIC_EXCEPTION
            TopicError::AlreadyExists(_) => 36,            // TOPIC_ALREADY_EXISTS
            TopicError::UnknownTopic(_) => 3,              // UNKNOWN_TOPIC_OR_PARTITION
            TopicError::InvalidPartitions(_) => 37,        // INVALID_PARTITIONS
            TopicError::InvalidReplicationFactor(_) => 38, // INVALID_REPLICATION_FACTOR
            TopicError::InvalidConfig(_) => 40,            // INVALID_CONFIG
            TopicError::Storage(_) => 56,                  // KAFKA_STORAGE_ERROR
            TopicError::Other(code, _) => *code,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            TopicError::InvalidTopic(m)
            | TopicError::AlreadyExists(m)
            | TopicError::UnknownTopic(m)
            | TopicError::InvalidPartitions(m)
            | TopicError::InvalidReplicationFactor(m)
            | TopicError::InvalidConfig(m)
            | TopicError::Storage(m)
            | TopicError::Other(_, m) => m,
        }
    }
}

impl std::fmt::Display for TopicError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for TopicError {}

impl From<LogError> for TopicError {
    fn from(e: LogError) -> Self {
        TopicError::Storage(e.to_string())
    }
}

impl From<std::io::Error> for TopicError {
    fn from(e: std::io::Error) -> Self {
        TopicError::Storage(e.to_string())
    }
}

/// What a creation asks for.
#[derive(Clone, Debug)]
pub struct NewTopic {
    pub name: String,
    /// -1: `num.partitions`.
    pub partitions: i32,
    /// -1: `default.replication.factor`.
    pub replication_factor: i16,
    pub configs: Vec<(String, Option<String>)>,
}

/// The topics of this broker.
///
/// Invariants:
/// - standalone, every topic in `topics` has at least one partition, numbered 0..n; in a
///   cluster, at least one (a topic whose last hosted partition goes is dropped); each has
///   an open log in `<log_dir>/<name>-<index>`;
/// - topic ids are unique;
/// - every open partition has exactly one flusher task, in `flushers`, owned here: it is
///   stopped and awaited before its log closes (topic deleted, broker stopping).
#[derive(Debug)]
pub struct Topics {
    disk: Arc<dyn Disk>,
    log_dir: PathBuf,
    broker: Arc<BrokerConfig>,
    clock: Clock,
    rng: Mutex<NodeRng>,
    /// Whether the broker owns its topics' metadata and leads every partition alone.
    standalone: bool,
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
    /// Serialises creations, deletions and partition additions.
    admin: Mutex<()>,
    /// Each open partition's flusher task, by (topic id, partition).
    flushers: std::sync::Mutex<BTreeMap<(Uuid, i32), tokio::task::JoinHandle<()>>>,
    /// The partition (`topic-index`) whose hosting or unhosting failed on a disk error in a
    /// cluster: the log directory is then as good as offline (Kafka fails the log dir on
    /// any IO error while creating or deleting a log), and a cluster broker halts.
    log_dir_failure: std::sync::Mutex<Option<String>>,
}

impl Topics {
    /// Opens every topic found in the log directory (recovering each log) and finishes
    /// interrupted deletions. `standalone`: see the module's header.
    pub async fn load(
        disk: Arc<dyn Disk>,
        broker: Arc<BrokerConfig>,
        clock: Clock,
        rng: NodeRng,
        standalone: bool,
    ) -> Result<Topics, TopicError> {
        let log_dir = broker.log_dir().to_path_buf();
        disk.create_dir_all(&log_dir).await?;
        let mut found: BTreeMap<String, Vec<(i32, PathBuf)>> = BTreeMap::new();
        for name in disk.list_dir(&log_dir).await? {
            let path = log_dir.join(&name);
            if name.ends_with(DELETE_SUFFIX) {
                remove_partition_dir(disk.as_ref(), &path).await?;
                continue;
            }
            let Some((topic, index)) = parse_partition_dir(&name) else { continue };
            if !disk.exists(&path.join(METADATA_FILE)).await? {
                continue; // not a partition directory (or one whose creation never finished)
            }
            found.entry(topic.to_string()).or_default().push((index, path));
        }
        let topics = Topics {
            disk,
            log_dir,
            broker,
            clock,
            rng: Mutex::new(rng),
            standalone,
            topics: RwLock::new(BTreeMap::new()),
            admin: Mutex::new(()),
            flushers: std::sync::Mutex::new(BTreeMap::new()),
            log_dir_failure: std::sync::Mutex::new(None),
        };
        for (name, mut dirs) in found {
            dirs.sort();
            let topic = topics.open_topic(&name, &dirs).await?;
            topics.topics.write().await.insert(name, Arc::new(topic));
        }
        Ok(topics)
    }

    /// Opens a topic's partitions. A creation (or CreatePartitions) that a crash cut short
    /// left fewer partition directories than its metadata declares: the missing ones are
    /// created now, so a topic is never served with a partition missing.
    async fn open_topic(&self, name: &str, dirs: &[(i32, PathBuf)]) -> Result<Topic, TopicError> {
        let mut found = Vec::with_capacity(dirs.len());
        for (_, dir) in dirs {
            found.push(read_partition_metadata(self.disk.as_ref(), dir).await?);
        }
        let declared = found.iter().map(|m| m.partitions).max().unwrap_or(0);
        let metadata = &found[0];
        let config = read_topic_config(self.disk.as_ref(), &dirs[0].1).await?;
        // In a cluster the metadata log, not the directory, says which partitions exist.
        let total = if self.standalone { declared.max(dirs.last().map_or(0, |(index, _)| index + 1)) } else { 0 };
        let mut partitions = BTreeMap::new();
        for index in (0..total).chain(dirs.iter().map(|(index, _)| *index)) {
            if partitions.contains_key(&index) {
                continue;
            }
            let dir = self.partition_dir(name, index);
            let partition = if dirs.iter().any(|(i, _)| *i == index) {
                let log =
                    Log::open(self.disk.clone(), dir, config.log_config(&self.broker), self.clock.now_ms()).await?;
                self.start_partition(name, metadata.topic_id, index, log, &config).await
            } else {
                warn!(name: "partition_creation_completed", topic = name, partition = index);
                self.create_partition(name, index, &dir, metadata.topic_id, total, &config).await?
            };
            partitions.insert(index, partition);
        }
        self.disk.sync_dir(&self.log_dir).await?;
        info!(name: "topic_loaded", topic = name, partitions = partitions.len());
        Ok(Topic { name: name.to_string(), id: metadata.topic_id, config, partitions })
    }

    /// Opens a partition (led alone by a standalone broker; without a role in a cluster,
    /// until the metadata publisher gives it one), and starts its flusher.
    async fn start_partition(
        &self,
        topic: &str,
        topic_id: Uuid,
        index: i32,
        log: Log,
        config: &TopicConfig,
    ) -> Arc<Partition> {
        let min_insync_replicas = config.min_insync_replicas(&self.broker);
        let config = self.replica_config(min_insync_replicas);
        let partition = if self.standalone {
            Partition::lead_alone(topic, index, log, config).await
        } else {
            Partition::new(topic, index, log, config)
        };
        let flusher = crate::runtime::spawn(partition.clone().run_flusher(self.clock.clone()));
        let replaced = self.lock_flushers().insert((topic_id, index), flusher);
        assert!(replaced.is_none(), "{topic}-{index} already had a flusher");
        partition
    }

    /// How many flusher tasks are running (for tests).
    #[cfg(test)]
    pub(crate) fn flushers_running(&self) -> usize {
        self.lock_flushers().values().filter(|f| !f.is_finished()).count()
    }

    /// The replica core's settings for a partition of this broker.
    fn replica_config(&self, min_insync_replicas: i32) -> crate::replication::ReplicaConfig {
        crate::replication::ReplicaConfig {
            min_insync_replicas,
            fsync_before_ack: self.broker.high_watermark_fsync_enable,
            replica_lag_time_max_ms: self.broker.replica_lag_time_max_ms,
            truncate_to_high_watermark_on_follow: self.broker.replica_truncate_to_high_watermark_enable,
            ..crate::replication::ReplicaConfig::new(self.broker.node_id, -1)
        }
    }

    fn lock_flushers(&self) -> std::sync::MutexGuard<'_, BTreeMap<(Uuid, i32), tokio::task::JoinHandle<()>>> {
        self.flushers.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stops a partition's flusher, waits for it, and closes its log (flush, producer
    /// snapshot, checkpoint). Afterwards nothing holds the log's files open but the last
    /// in-flight requests.
    async fn close_partition(&self, topic: &Topic, partition: &Partition) {
        partition.stop_flusher();
        let flusher = self.lock_flushers().remove(&(topic.id, partition.index()));
        if let Some(flusher) = flusher {
            let _ = flusher.await;
        }
        if let Err(error) = partition.close(self.clock.now_ms()).await {
            warn!(name: "log_close_failed", topic = %topic.name, partition = partition.index(), error = %error);
        }
    }

    pub async fn get(&self, name: &str) -> Option<Arc<Topic>> {
        self.topics.read().await.get(name).cloned()
    }

    pub async fn get_by_id(&self, id: Uuid) -> Option<Arc<Topic>> {
        self.topics.read().await.values().find(|t| t.id == id).cloned()
    }

    /// Every topic, by name.
    pub async fn all(&self) -> Vec<Arc<Topic>> {
        self.topics.read().await.values().cloned().collect()
    }

    pub async fn partition(&self, topic: &str, index: i32) -> Option<Arc<Partition>> {
        self.get(topic).await?.partition(index)
    }

    /// Creates a topic (durably: directories, metadata and config files synced).
    pub async fn create(&self, new: NewTopic) -> Result<Arc<Topic>, TopicError> {
        let _admin = self.admin.lock().await;
        let plan = self.validate(&new).await?;
        let id = {
            let mut rng = self.rng.lock().await;
            uuid::Builder::from_random_bytes(rng.random()).into_uuid()
        };
        let mut partitions = BTreeMap::new();
        for index in 0..plan.partitions {
            let dir = self.partition_dir(&new.name, index);
            let partition = self.create_partition(&new.name, index, &dir, id, plan.partitions, &plan.config).await?;
            partitions.insert(index, partition);
        }
        self.disk.sync_dir(&self.log_dir).await?;
        let topic = Arc::new(Topic { name: new.name.clone(), id, config: plan.config, partitions });
        self.topics.write().await.insert(new.name.clone(), topic.clone());
        info!(name: "topic_created", topic = %new.name, topic_id = %id, partitions = plan.partitions);
        Ok(topic)
    }

    /// Checks a creation without doing it (CreateTopics with `validate_only`).
    pub async fn validate(&self, new: &NewTopic) -> Result<ValidTopic, TopicError> {
        validate_topic_name(&new.name)?;
        if self.get(&new.name).await.is_some() {
            return Err(TopicError::AlreadyExists(format!("Topic '{}' already exists.", new.name)));
        }
        if let Some(existing) = colliding_topic(&new.name, self.topics.read().await.keys().map(String::as_str)) {
            return Err(TopicError::InvalidTopic(collision_message(&new.name, existing)));
        }
        // Kafka's order: the name, then whether it exists, then the configs, then the counts.
        let config = TopicConfig::validate_and_build(&self.broker, new.configs.iter().cloned())
            .map_err(|e| TopicError::InvalidConfig(e.error_message()))?;
        let partitions = if new.partitions == -1 { self.broker.num_partitions } else { new.partitions };
        if partitions < 1 {
            return Err(TopicError::InvalidPartitions(format!(
                "Number of partitions must be larger than 0, got {partitions}."
            )));
        }
        let replication_factor =
            if new.replication_factor == -1 { self.broker.default_replication_factor } else { new.replication_factor };
        if replication_factor != 1 {
            return Err(TopicError::InvalidReplicationFactor(format!(
                "Replication factor {replication_factor} is larger than the 1 available broker."
            )));
        }
        Ok(ValidTopic { partitions, config })
    }

    /// Creates one partition's directory, config and metadata, durably. `partitions` is the
    /// topic's partition count this creation is part of (see [`Topics::open_topic`]).
    async fn create_partition(
        &self,
        topic: &str,
        index: i32,
        dir: &Path,
        id: Uuid,
        partitions: i32,
        config: &TopicConfig,
    ) -> Result<Arc<Partition>, TopicError> {
        self.disk.create_dir_all(dir).await?;
        write_durably(self.disk.as_ref(), &dir.join(CONFIG_FILE), config.to_properties().into_bytes()).await?;
        let metadata = format!("version: 0\ntopic_id: {id}\npartitions: {partitions}\n");
        // The metadata file is written last: a directory without it is ignored at start-up.
        write_durably(self.disk.as_ref(), &dir.join(METADATA_FILE), metadata.into_bytes()).await?;
        self.disk.sync_dir(dir).await?;
        let log = Log::open(self.disk.clone(), dir.to_path_buf(), config.log_config(&self.broker), self.clock.now_ms())
            .await?;
        Ok(self.start_partition(topic, id, index, log, config).await)
    }

    /// Adds partitions up to `total` (CreatePartitions).
    pub async fn add_partitions(&self, name: &str, total: i32, validate_only: bool) -> Result<(), TopicError> {
        let _admin = self.admin.lock().await;
        let topic =
            self.get(name).await.ok_or_else(|| TopicError::UnknownTopic(format!("Topic '{name}' does not exist.")))?;
        let current = topic.partitions.len() as i32;
        if total <= current {
            return Err(TopicError::InvalidPartitions(format!(
                "Topic currently has {current} partitions, which is higher than the requested {total}."
            )));
        }
        if validate_only {
            return Ok(());
        }
        let mut partitions = topic.partitions.clone();
        for index in current..total {
            let dir = self.partition_dir(name, index);
            partitions.insert(index, self.create_partition(name, index, &dir, topic.id, total, &topic.config).await?);
        }
        self.disk.sync_dir(&self.log_dir).await?;
        let grown = Topic { name: topic.name.clone(), id: topic.id, config: topic.config.clone(), partitions };
        self.topics.write().await.insert(name.to_string(), Arc::new(grown));
        info!(name: "partitions_created", topic = name, partitions = total);
        Ok(())
    }

    /// Deletes a topic: its directories are renamed for deletion (durably), then removed.
    pub async fn delete(&self, name: &str) -> Result<Uuid, TopicError> {
        let _admin = self.admin.lock().await;
        let topic = self.get(name).await;
        let topic = topic.ok_or_else(|| TopicError::UnknownTopic(format!("Topic '{name}' does not exist.")))?;
        self.remove_topic(&topic).await?;
        info!(name: "topic_deleted", topic = name, topic_id = %topic.id);
        Ok(topic.id)
    }

    fn partition_dir(&self, topic: &str, index: i32) -> PathBuf {
        self.log_dir.join(format!("{topic}-{index}"))
    }

    /// Stops every flusher and closes every log cleanly (flush, producer snapshot,
    /// checkpoint), for a graceful shutdown.
    pub async fn close(&self) {
        let _admin = self.admin.lock().await;
        for topic in self.all().await {
            for partition in topic.partitions.values() {
                self.close_partition(&topic, partition).await;
            }
        }
    }

    /// Hosts partition `index` of topic `name` (id `topic_id`, config overrides `configs`)
    /// for a cluster: the open partition if there is one, else its log, opened or created
    /// (durably) without a role. A partition of an older topic of the same name (deleted and
    /// created again) is removed first.
    pub async fn host(
        &self,
        name: &str,
        topic_id: Uuid,
        index: i32,
        configs: &BTreeMap<String, String>,
    ) -> Result<Arc<Partition>, TopicError> {
        assert!(!self.standalone, "a standalone broker hosts every partition of its own topics");
        let _admin = self.admin.lock().await;
        if let Some(topic) = self.get(name).await {
            if topic.id == topic_id {
                if let Some(partition) = topic.partition(index) {
                    return Ok(partition);
                }
            } else {
                self.remove_topic(&topic).await?;
            }
        }
        let config =
            TopicConfig::validate_and_build(&self.broker, configs.iter().map(|(k, v)| (k.clone(), Some(v.clone()))))
                .map_err(|e| TopicError::InvalidConfig(e.error_message()))?;
        let dir = self.partition_dir(name, index);
        let created = match self.create_partition(name, index, &dir, topic_id, 0, &config).await {
            Ok(partition) => self.disk.sync_dir(&self.log_dir).await.map(|()| partition).map_err(TopicError::from),
            Err(error) => Err(error),
        };
        let partition = created.inspect_err(|error| self.note_log_dir_failure(name, index, error))?;
        let mut topics = self.topics.write().await;
        let mut partitions = topics.get(name).map(|t| t.partitions.clone()).unwrap_or_default();
        partitions.insert(index, partition.clone());
        topics.insert(name.to_string(), Arc::new(Topic { name: name.to_string(), id: topic_id, config, partitions }));
        info!(name: "partition_hosted", topic = name, topic_id = %topic_id, partition = index);
        Ok(partition)
    }

    /// The partition (`topic-index`) whose hosting or unhosting failed on a disk error, if
    /// any: the broker's log directory is to be treated as offline from then on.
    pub fn log_dir_failure(&self) -> Option<String> {
        self.log_dir_failure.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The disk the logs live on.
    pub fn disk(&self) -> &dyn Disk {
        self.disk.as_ref()
    }

    /// Records a disk error (`TopicError::Storage`) of hosting or unhosting `topic-index`.
    fn note_log_dir_failure(&self, topic: &str, index: i32, error: &TopicError) {
        if let TopicError::Storage(_) = error {
            let mut failure = self.log_dir_failure.lock().unwrap_or_else(|p| p.into_inner());
            failure.get_or_insert_with(|| format!("{topic}-{index}"));
        }
    }

    /// Stops hosting partition `index` of topic `topic_id`: its log closes and its
    /// directory is removed (the metadata log no longer places a replica here).
    pub async fn unhost(&self, topic_id: Uuid, index: i32) -> Result<(), TopicError> {
        let _admin = self.admin.lock().await;
        let Some(topic) = self.get_by_id(topic_id).await else { return Ok(()) };
        let Some(partition) = topic.partition(index) else { return Ok(()) };
        {
            let mut topics = self.topics.write().await;
            let mut partitions = topic.partitions.clone();
            partitions.remove(&index);
            if partitions.is_empty() {
                topics.remove(&topic.name);
            } else {
                let rest = Topic { name: topic.name.clone(), id: topic.id, config: topic.config.clone(), partitions };
                topics.insert(topic.name.clone(), Arc::new(rest));
            }
        }
        self.close_partition(&topic, &partition).await;
        let removed = self.remove_partition_dirs(&topic, [index]).await;
        removed.inspect_err(|error| self.note_log_dir_failure(&topic.name, index, error))?;
        info!(name: "partition_unhosted", topic = %topic.name, topic_id = %topic_id, partition = index);
        Ok(())
    }

    /// Removes a whole topic's hosted partitions (called with the admin lock held).
    async fn remove_topic(&self, topic: &Topic) -> Result<(), TopicError> {
        self.topics.write().await.remove(&topic.name);
        for partition in topic.partitions.values() {
            self.close_partition(topic, partition).await;
        }
        self.remove_partition_dirs(topic, topic.partitions.keys().copied()).await
    }

    /// Renames the partitions' directories for deletion (durably), then removes them.
    async fn remove_partition_dirs(
        &self,
        topic: &Topic,
        indexes: impl IntoIterator<Item = i32>,
    ) -> Result<(), TopicError> {
        let mut doomed = Vec::new();
        for index in indexes {
            let dir = self.partition_dir(&topic.name, index);
            let renamed = self.log_dir.join(format!("{}-{index}.{}{DELETE_SUFFIX}", topic.name, topic.id.simple()));
            self.disk.rename(&dir, &renamed).await?;
            doomed.push(renamed);
        }
        self.disk.sync_dir(&self.log_dir).await?;
        for dir in doomed {
            if let Err(error) = remove_partition_dir(self.disk.as_ref(), &dir).await {
                warn!(name: "topic_deletion_deferred", dir = %dir.display(), error = %error);
            }
        }
        Ok(())
    }
}

/// A creation that passed validation.
#[derive(Debug)]
pub struct ValidTopic {
    pub partitions: i32,
    pub config: TopicConfig,
}

/// Kafka's rules: 1 to 249 characters of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<(), TopicError> {
    let invalid = |why: &str| Err(TopicError::InvalidTopic(format!("Topic name \"{name}\" is illegal, {why}")));
    if name.is_empty() {
        return invalid("it can't be empty");
    }
    if name == "." || name == ".." {
        return invalid("it cannot be \".\" or \"..\"");
    }
    if name.chars().count() > MAX_TOPIC_NAME_CHARS {
        return invalid("it can't be longer than 249 characters");
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-') {
        return invalid("it contains a character other than ASCII alphanumerics, '.', '_' and '-'");
    }
    Ok(())
}

/// `orders-3` → (`orders`, 3).
fn parse_partition_dir(name: &str) -> Option<(&str, i32)> {
    let (topic, index) = name.rsplit_once('-')?;
    let index: i32 = index.parse().ok()?;
    (index >= 0 && validate_topic_name(topic).is_ok()).then_some((topic, index))
}

async fn read_small_file(disk: &dyn Disk, path: &Path) -> Result<String, TopicError> {
    let file = disk.open(path, OpenMode::Existing).await?;
    let len = file.len().await?.min(1 << 20) as usize;
    let bytes = file.read_at(0, len).await?;
    String::from_utf8(bytes.to_vec()).map_err(|_| TopicError::Storage(format!("{} is not UTF-8", path.display())))
}

/// What `partition.metadata` records: Kafka's `version` and `topic_id`, and seedlog's
/// `partitions`, the partition count of the creation that wrote it.
struct PartitionMetadata {
    topic_id: Uuid,
    partitions: i32,
}

async fn read_partition_metadata(disk: &dyn Disk, dir: &Path) -> Result<PartitionMetadata, TopicError> {
    let path = dir.join(METADATA_FILE);
    let text = read_small_file(disk, &path).await?;
    let field = |key: &str| text.lines().find_map(|line| line.strip_prefix(key).map(str::trim));
    let topic_id = field("topic_id: ").and_then(|id| Uuid::parse_str(id).ok());
    let topic_id = topic_id.ok_or_else(|| TopicError::Storage(format!("{}: no topic_id", path.display())))?;
    let partitions = field("partitions: ").and_then(|n| n.parse().ok()).unwrap_or(0);
    Ok(PartitionMetadata { topic_id, partitions })
}

async fn read_topic_config(disk: &dyn Disk, dir: &Path) -> Result<TopicConfig, TopicError> {
    let path = dir.join(CONFIG_FILE);
    if !disk.exists(&path).await? {
        return Ok(TopicConfig::default());
    }
    let text = read_small_file(disk, &path).await?;
    TopicConfig::from_properties(&text)
        .map_err(|e| TopicError::Storage(format!("{}: {}", path.display(), e.error_message())))
}

/// Writes a small file atomically and durably (temp file, fsync, rename; the caller syncs
/// the directory).
async fn write_durably(disk: &dyn Disk, path: &Path, contents: Vec<u8>) -> Result<(), TopicError> {
    let temp = path.with_extension("tmp");
    let file = disk.open(&temp, OpenMode::Create).await?;
    file.set_len(0).await?;
    file.append(Bytes::from(contents)).await?;
    file.sync().await?;
    disk.rename(&temp, path).await?;
    Ok(())
}

async fn remove_partition_dir(disk: &dyn Disk, dir: &Path) -> Result<(), TopicError> {
    for name in disk.list_dir(dir).await? {
        disk.remove(&dir.join(name)).await?;
    }
    disk.remove_dir(dir).await?;
    Ok(())
}

#[cfg(test)]
#[path = "topics_tests.rs"]
mod tests;
