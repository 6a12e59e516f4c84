//! `BrokerConfig`: the broker's settings, read from a Kafka `server.properties` file (plus
//! `--override key=value` arguments) under Kafka's key names and defaults, so an existing
//! Kafka config file works unchanged where seedlog can honour it and fails loudly where it
//! cannot.
//!
//! Three kinds of keys: keys with effect (the fields below, each documented with its key),
//! keys Kafka defines that seedlog accepts but does not act on ([`BrokerConfig::ignored_keys`],
//! which the binary logs in one warning line), and everything else, which is an error: a
//! typo must not silently leave a default in place.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use crate::storage::LogConfig;

mod ignored;
mod kraft;
mod listeners;
mod properties;
mod values;

use ignored::is_ignored;
use kraft::read_kraft;
pub use kraft::{KraftConfig, ProcessRoles, QuorumVoter};
pub use listeners::Listener;
use listeners::{read_listeners, split_list};
pub(crate) use properties::{escape_property, parse_properties};
use values::parse_bool;
pub use values::TimestampType;
pub(crate) use values::{parse_cleanup_policy, parse_int, parse_retention_ms};

const HOUR_MS: i64 = 60 * 60 * 1000;

/// Why a configuration was rejected; every variant names the key or line at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// A line of the properties file that is not `key=value` (line numbers count from 1).
    Syntax { line: usize, message: String },
    /// A `--override` argument that is not `key=value`.
    Override { arg: String, message: String },
    /// A key no Kafka broker defines.
    UnknownKey { key: String },
    /// A known key whose value seedlog cannot use.
    Invalid { key: String, message: String },
}

impl ConfigError {
    fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid { key: key.to_string(), message: message.into() }
    }

    /// The key at fault, when the error is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::UnknownKey { key } | ConfigError::Invalid { key, .. } => Some(key),
            ConfigError::Syntax { .. } | ConfigError::Override { .. } => None,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Syntax { line, message } => write!(f, "line {line}: {message}"),
            ConfigError::Override { arg, message } => write!(f, "--override `{arg}`: {message}"),
            ConfigError::UnknownKey { key } => write!(f, "unknown config key `{key}`"),
            ConfigError::Invalid { key, message } => write!(f, "config key `{key}`: {message}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Splits a `--override` argument `key=value` (at the first `=`; both sides trimmed).
pub fn parse_override(arg: &str) -> Result<(String, String), ConfigError> {
    let error = |message: &str| ConfigError::Override { arg: arg.to_string(), message: message.to_string() };
    let (key, value) = arg.split_once('=').ok_or_else(|| error("expected key=value"))?;
    if key.trim().is_empty() {
        return Err(error("missing key before `=`"));
    }
    Ok((key.trim().to_string(), value.trim().to_string()))
}

/// The broker's configuration. Every field names its Kafka key; defaults are Kafka 4.x's
/// unless the field says otherwise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerConfig {
    /// `node.id` (or the older `broker.id`, which must agree when both are set). Default 1.
    pub node_id: i32,
    /// `listeners`. Default `PLAINTEXT://127.0.0.1:9092` (Kafka's binds all interfaces; a
    /// broker that nobody configured should not be reachable from the network).
    pub listeners: Vec<Listener>,
    /// `advertised.listeners`, default `listeners`. An entry whose host is empty (or, when
    /// derived from `listeners`, `0.0.0.0` or `::`) advertises `127.0.0.1`: Kafka would look
    /// up the machine's canonical host name, ambient state that seedlog keeps out (and often
    /// wrong behind NAT anyway); set `advertised.listeners` for a multi-host cluster. Given
    /// explicitly, `0.0.0.0` is an error, as in Kafka.
    pub advertised_listeners: Vec<Listener>,
    /// `controller.listener.names`: listeners that serve the controller quorum, not clients.
    pub controller_listener_names: Vec<String>,
    /// `process.roles`, `controller.quorum.voters` and the quorum's timers.
    pub kraft: KraftConfig,
    /// `log.dirs`, else `log.dir`; default `./data` (Kafka: `/tmp/kafka-logs`). Only the first
    /// directory is used (see [`BrokerConfig::log_dir`]).
    pub log_dirs: Vec<PathBuf>,
    /// `num.partitions`: partitions of an auto-created topic. Default 1.
    pub num_partitions: i32,
    /// `default.replication.factor`. Default 1.
    pub default_replication_factor: i16,
    /// `auto.create.topics.enable`. Default true.
    pub auto_create_topics_enable: bool,
    /// `delete.topic.enable`. Default true.
    pub delete_topic_enable: bool,
    /// `log.segment.bytes`, at least 1024 (Kafka 4: 1 MiB; small segments help tests). Default 1 GiB.
    pub log_segment_bytes: u64,
    /// `log.roll.ms`, else `log.roll.hours` × 3600000. Default 168 hours.
    pub log_roll_ms: i64,
    /// `log.retention.ms`, else `log.retention.minutes`, else `log.retention.hours`; -1 (any
    /// negative value) keeps forever. Default 168 hours.
    pub log_retention_ms: i64,
    /// `log.retention.bytes`; -1 (any negative value) means no size limit. Default -1.
    pub log_retention_bytes: i64,
    /// `log.index.interval.bytes`. Default 4096.
    pub log_index_interval_bytes: u64,
    /// `log.flush.interval.messages`. Default Long.MAX: never (leave flushing to the OS).
    pub log_flush_interval_messages: i64,
    /// `log.flush.interval.ms`; unset, Kafka falls back to `log.flush.scheduler.interval.ms`
    /// when that is set explicitly, else Long.MAX.
    pub log_flush_interval_ms: i64,
    /// `log.flush.scheduler.interval.ms`: how often the broker calls `maybe_flush`. Default
    /// 1000 (Kafka: Long.MAX). seedlog's default only paces the tick: it does not become
    /// `log.flush.interval.ms`, so the effective flush policy stays Kafka's.
    pub log_flush_scheduler_interval_ms: i64,
    /// `log.flush.offset.checkpoint.interval.ms`. Default 60000.
    pub log_flush_offset_checkpoint_interval_ms: i64,
    /// `log.retention.check.interval.ms`. Default 300000.
    pub log_retention_check_interval_ms: i64,
    /// `message.max.bytes`: the largest batch a producer may append. Default 1048588.
    pub message_max_bytes: u64,
    /// `socket.request.max.bytes`. Default 104857600.
    pub socket_request_max_bytes: i32,
    /// `min.insync.replicas`. Default 1.
    pub min_insync_replicas: i32,
    /// `high.watermark.fsync.enable` (seedlog's own key): the high watermark counts only
    /// records the leader has fsynced (and followers fsync before they acknowledge), so an
    /// acks=all record survives even a whole-cluster power loss. Default true. False is
    /// Kafka's rule: records count once in the page cache. See docs/replication.md.
    pub high_watermark_fsync_enable: bool,
    /// `log.message.timestamp.type`. Default CreateTime.
    pub log_message_timestamp_type: TimestampType,
    /// `replica.fetch.max.bytes`. Default 1048576.
    pub replica_fetch_max_bytes: i32,
    /// `replica.fetch.wait.max.ms`. Default 500.
    pub replica_fetch_wait_max_ms: i32,
    /// `replica.lag.time.max.ms`. Default 30000.
    pub replica_lag_time_max_ms: i64,
    /// `unclean.leader.election.enable`. Default false.
    pub unclean_leader_election_enable: bool,
    /// `auto.leader.rebalance.enable`: the active controller moves each partition's
    /// leadership back to its preferred (first) replica where that is in the ISR. Default true.
    pub auto_leader_rebalance_enable: bool,
    /// `leader.imbalance.check.interval.seconds`: how often it does. Default 300.
    pub leader_imbalance_check_interval_seconds: i64,
    /// `seedlog.replica.truncate.to.high.watermark.enable` (seedlog's own key, a historical
    /// design for simulation scenarios): a replica that becomes a follower truncates its log
    /// to its high watermark and fetches without a last fetched epoch, as Kafka did before
    /// KIP-101, which loses acknowledged records (HISTORICAL-BUGS.md). Default false:
    /// truncation by leader epoch. See docs/replication.md.
    pub replica_truncate_to_high_watermark_enable: bool,
    /// `seedlog.alter.partition.broker.epoch.check.enable` (seedlog's own key, a historical
    /// design for simulation scenarios): the controller refuses an AlterPartition whose new
    /// ISR names a broker by an epoch other than its registered one (KIP-903). False brings
    /// back the design before KIP-903, where a delayed request can add a broker's new, empty
    /// incarnation to the ISR. Default true. See docs/controller.md.
    pub alter_partition_broker_epoch_check_enable: bool,
    /// `fetch.max.bytes`, at least 1024. Default 57671680.
    pub fetch_max_bytes: i32,
    /// `max.connections`. Default Int.MAX.
    pub max_connections: i32,
    /// `group.initial.rebalance.delay.ms`. Default 3000.
    pub group_initial_rebalance_delay_ms: i32,
    /// `group.min.session.timeout.ms`. Default 6000.
    pub group_min_session_timeout_ms: i32,
    /// `group.max.session.timeout.ms`. Default 1800000.
    pub group_max_session_timeout_ms: i32,
    /// `offsets.topic.num.partitions`. Default 50.
    pub offsets_topic_num_partitions: i32,
    /// `offsets.topic.replication.factor`. Default 3, as Kafka (a single broker needs 1, as
    /// Kafka's sample `server.properties` sets).
    pub offsets_topic_replication_factor: i16,
    /// `offsets.retention.minutes`. Default 10080 (7 days).
    pub offsets_retention_minutes: i32,
    /// `transaction.state.log.num.partitions`. Default 50.
    pub transaction_state_log_num_partitions: i32,
    /// `transaction.state.log.replication.factor`. Default 3 (see offsets above).
    pub transaction_state_log_replication_factor: i16,
    /// `transaction.state.log.min.isr`. Default 2.
    pub transaction_state_log_min_isr: i32,
    /// `transactional.id.expiration.ms`. Default 604800000 (7 days).
    pub transactional_id_expiration_ms: i32,
    /// `transaction.max.timeout.ms`. Default 900000.
    pub transaction_max_timeout_ms: i32,
    /// `producer.id.expiration.ms`. Default 86400000.
    pub producer_id_expiration_ms: i32,
    /// `producer.id.expiration.check.interval.ms`: how often idle producer ids expire.
    /// Default 600000.
    pub producer_id_expiration_check_interval_ms: i64,
    /// Keys with effect that were given (file or override): DescribeConfigs reports their
    /// topic synonyms as STATIC_BROKER_CONFIG rather than DEFAULT_CONFIG.
    explicit_keys: BTreeSet<String>,
    /// Kafka keys given but not acted on, sorted.
    ignored_keys: Vec<String>,
}

impl Default for BrokerConfig {
    /// No config at all: one broker on 127.0.0.1:9092 with its data in `./data`. The defaults
    /// live in one place, [`BrokerConfig::from_properties`].
    fn default() -> Self {
        BrokerConfig::from_properties("", &[]).expect("the built-in defaults are valid")
    }
}

/// Takes keys out of the merged properties one by one, remembering which were given.
pub(super) struct Reader {
    values: BTreeMap<String, String>,
    explicit: BTreeSet<String>,
}

impl Reader {
    fn take(&mut self, key: &str) -> Option<String> {
        let value = self.values.remove(key)?;
        self.explicit.insert(key.to_string());
        Some(value)
    }

    fn parse<T>(&mut self, key: &str, f: impl FnOnce(&str) -> Result<T, String>) -> Result<Option<T>, ConfigError> {
        self.take(key).map(|raw| f(&raw).map_err(|m| ConfigError::invalid(key, m))).transpose()
    }

    fn int(&mut self, key: &str, default: i64, min: i64, max: i64) -> Result<i64, ConfigError> {
        Ok(self.parse(key, |raw| parse_int(raw, min, max))?.unwrap_or(default))
    }

    fn i32(&mut self, key: &str, default: i32, min: i64) -> Result<i32, ConfigError> {
        Ok(self.int(key, default.into(), min, i32::MAX.into())? as i32)
    }

    /// A replication factor (Kafka SHORT, at least 1).
    fn i16(&mut self, key: &str, default: i16) -> Result<i16, ConfigError> {
        Ok(self.int(key, default.into(), 1, i16::MAX.into())? as i16)
    }

    fn bool(&mut self, key: &str, default: bool) -> Result<bool, ConfigError> {
        Ok(self.parse(key, parse_bool)?.unwrap_or(default))
    }
}

impl BrokerConfig {
    /// Parses `server.properties` text; `overrides` (from `--override key=value`) win over it.
    pub fn from_properties(text: &str, overrides: &[(String, String)]) -> Result<BrokerConfig, ConfigError> {
        let properties = parse_properties(text).map_err(|(line, message)| ConfigError::Syntax { line, message })?;
        let mut values: BTreeMap<String, String> = properties.into_iter().map(|p| (p.key, p.value)).collect();
        values.extend(overrides.iter().map(|(k, v)| (k.trim().to_string(), v.trim().to_string())));
        let mut r = Reader { values, explicit: BTreeSet::new() };

        let node_id = r.parse("node.id", |v| parse_int(v, 0, i32::MAX.into()))?;
        let broker_id = r.parse("broker.id", |v| parse_int(v, 0, i32::MAX.into()))?;
        if let (Some(node), Some(broker)) = (node_id, broker_id) {
            if node != broker {
                return Err(ConfigError::invalid("node.id", format!("{node} differs from broker.id {broker}")));
            }
        }
        let node_id = node_id.or(broker_id).unwrap_or(1) as i32;

        let (listeners, advertised_listeners, controller_listener_names) = read_listeners(&mut r)?;
        let kraft = read_kraft(&mut r, node_id, &listeners, &controller_listener_names)?;

        let log_dirs = match r.take("log.dirs").into_iter().chain(r.take("log.dir")).next() {
            Some(text) => {
                let dirs: Vec<PathBuf> = split_list(&text).map(PathBuf::from).collect();
                if dirs.is_empty() {
                    let key = if r.explicit.contains("log.dirs") { "log.dirs" } else { "log.dir" };
                    return Err(ConfigError::invalid(key, "expected at least one directory"));
                }
                dirs
            }
            None => vec![PathBuf::from("./data")],
        };

        let roll_ms = r.parse("log.roll.ms", |v| parse_int(v, 1, i64::MAX))?;
        let roll_hours = r.parse("log.roll.hours", |v| parse_int(v, 1, i32::MAX.into()))?;
        let log_roll_ms = roll_ms.or(roll_hours.map(|h| h * HOUR_MS)).unwrap_or(168 * HOUR_MS);

        // All three are read (so each is validated and marked given); the finest one wins.
        let retention_ms = r.parse("log.retention.ms", |v| parse_retention_ms(v, 1))?;
        let retention_minutes = r.parse("log.retention.minutes", |v| parse_retention_ms(v, 60_000))?;
        let retention_hours = r.parse("log.retention.hours", |v| parse_retention_ms(v, HOUR_MS))?;
        let log_retention_ms = retention_ms.or(retention_minutes).or(retention_hours).unwrap_or(168 * HOUR_MS);

        let flush_scheduler = r.parse("log.flush.scheduler.interval.ms", |v| parse_int(v, 1, i64::MAX))?;
        let flush_ms = r.parse("log.flush.interval.ms", |v| parse_int(v, 0, i64::MAX))?;

        if let Some(policy) = r.take("log.cleanup.policy") {
            parse_cleanup_policy(&policy).map_err(|m| ConfigError::invalid("log.cleanup.policy", m))?;
        }

        let config = BrokerConfig {
            node_id,
            listeners,
            advertised_listeners,
            controller_listener_names,
            kraft,
            log_dirs,
            num_partitions: r.i32("num.partitions", 1, 1)?,
            default_replication_factor: r.i16("default.replication.factor", 1)?,
            auto_create_topics_enable: r.bool("auto.create.topics.enable", true)?,
            delete_topic_enable: r.bool("delete.topic.enable", true)?,
            log_segment_bytes: r.int("log.segment.bytes", 1 << 30, 1024, i32::MAX.into())? as u64,
            log_roll_ms,
            log_retention_ms,
            log_retention_bytes: r.int("log.retention.bytes", -1, i64::MIN, i64::MAX)?.max(-1),
            log_index_interval_bytes: r.i32("log.index.interval.bytes", 4096, 0)? as u64,
            log_flush_interval_messages: r.int("log.flush.interval.messages", i64::MAX, 1, i64::MAX)?,
            log_flush_interval_ms: flush_ms.or(flush_scheduler).unwrap_or(i64::MAX),
            log_flush_scheduler_interval_ms: flush_scheduler.unwrap_or(1000),
            log_flush_offset_checkpoint_interval_ms: r
                .i32("log.flush.offset.checkpoint.interval.ms", 60_000, 1)?
                .into(),
            log_retention_check_interval_ms: r.int("log.retention.check.interval.ms", 300_000, 1, i64::MAX)?,
            message_max_bytes: r.i32("message.max.bytes", 1_048_588, 0)? as u64,
            socket_request_max_bytes: r.i32("socket.request.max.bytes", 104_857_600, 1)?,
            min_insync_replicas: r.i32("min.insync.replicas", 1, 1)?,
            high_watermark_fsync_enable: r.bool("high.watermark.fsync.enable", true)?,
            log_message_timestamp_type: r
                .parse("log.message.timestamp.type", TimestampType::parse)?
                .unwrap_or_default(),
            replica_fetch_max_bytes: r.i32("replica.fetch.max.bytes", 1_048_576, 0)?,
            replica_fetch_wait_max_ms: r.i32("replica.fetch.wait.max.ms", 500, 0)?,
            replica_lag_time_max_ms: r.int("replica.lag.time.max.ms", 30_000, 1, i64::MAX)?,
            unclean_leader_election_enable: r.bool("unclean.leader.election.enable", false)?,
            auto_leader_rebalance_enable: r.bool("auto.leader.rebalance.enable", true)?,
            leader_imbalance_check_interval_seconds: r.int(
                "leader.imbalance.check.interval.seconds",
                300,
                1,
                i64::MAX / 1000,
            )?,
            replica_truncate_to_high_watermark_enable: r
                .bool("seedlog.replica.truncate.to.high.watermark.enable", false)?,
            alter_partition_broker_epoch_check_enable: r
                .bool("seedlog.alter.partition.broker.epoch.check.enable", true)?,
            fetch_max_bytes: r.i32("fetch.max.bytes", 57_671_680, 1024)?,
            max_connections: r.i32("max.connections", i32::MAX, 0)?,
            group_initial_rebalance_delay_ms: r.i32("group.initial.rebalance.delay.ms", 3000, 0)?,
            group_min_session_timeout_ms: r.i32("group.min.session.timeout.ms", 6000, 0)?,
            group_max_session_timeout_ms: r.i32("group.max.session.timeout.ms", 1_800_000, 0)?,
            offsets_topic_num_partitions: r.i32("offsets.topic.num.partitions", 50, 1)?,
            offsets_topic_replication_factor: r.i16("offsets.topic.replication.factor", 3)?,
            offsets_retention_minutes: r.i32("offsets.retention.minutes", 10_080, 1)?,
            transaction_state_log_num_partitions: r.i32("transaction.state.log.num.partitions", 50, 1)?,
            transaction_state_log_replication_factor: r.i16("transaction.state.log.replication.factor", 3)?,
            transaction_state_log_min_isr: r.i32("transaction.state.log.min.isr", 2, 1)?,
            transactional_id_expiration_ms: r.i32("transactional.id.expiration.ms", 604_800_000, 1)?,
            transaction_max_timeout_ms: r.i32("transaction.max.timeout.ms", 900_000, 1)?,
            producer_id_expiration_ms: r.i32("producer.id.expiration.ms", 86_400_000, 1)?,
            producer_id_expiration_check_interval_ms: r.int(
                "producer.id.expiration.check.interval.ms",
                600_000,
                1,
                i64::from(i32::MAX),
            )?,
            explicit_keys: BTreeSet::new(),
            ignored_keys: Vec::new(),
        };
        let mut ignored_keys = Vec::new();
        for key in r.values.into_keys() {
            if !is_ignored(&key) {
                return Err(ConfigError::UnknownKey { key });
            }
            ignored_keys.push(key);
        }
        Ok(BrokerConfig { explicit_keys: r.explicit, ignored_keys, ..config })
    }

    /// Kafka keys that were given but that seedlog does not act on, sorted: the binary logs
    /// them in one warning line.
    pub fn ignored_keys(&self) -> &[String] {
        &self.ignored_keys
    }

    /// Whether `key` (one with effect) was given in the file or an override.
    pub fn is_set(&self, key: &str) -> bool {
        self.explicit_keys.contains(key)
    }

    /// The data directory: the first of `log.dirs`.
    pub fn log_dir(&self) -> &Path {
        &self.log_dirs[0]
    }

    /// The listeners that serve clients (all but `controller.listener.names`).
    pub fn broker_listeners(&self) -> impl Iterator<Item = &Listener> {
        self.listeners.iter().filter(|l| !self.controller_listener_names.contains(&l.name))
    }

    /// The advertised endpoint of listener `name` (what Metadata answers on that listener).
    pub fn advertised_listener(&self, name: &str) -> Option<&Listener> {
        self.advertised_listeners.iter().find(|l| l.name.eq_ignore_ascii_case(name))
    }

    /// The broker's defaults for a partition log (topics override them, see `TopicConfig`).
    pub fn log_config(&self) -> LogConfig {
        LogConfig {
            segment_bytes: self.log_segment_bytes,
            segment_ms: self.log_roll_ms,
            index_interval_bytes: self.log_index_interval_bytes,
            flush_interval_messages: flush_messages(self.log_flush_interval_messages),
            flush_interval_ms: self.log_flush_interval_ms,
            flush_offset_checkpoint_interval_ms: self.log_flush_offset_checkpoint_interval_ms,
            retention_ms: self.log_retention_ms,
            retention_bytes: self.log_retention_bytes,
            max_message_bytes: self.message_max_bytes,
        }
    }
}

/// Kafka's Long.MAX ("never") as storage's never (`u64::MAX`).
pub(crate) fn flush_messages(messages: i64) -> u64 {
    if messages == i64::MAX {
        u64::MAX
    } else {
        messages.max(1) as u64
    }
}

#[cfg(test)]
mod tests;
