//! `TopicConfig`: a topic's config overrides (from CreateTopics, later AlterConfigs) on top of
//! the broker's defaults, under Kafka's topic-level key names.
//!
//! Only overrides are stored, as validated canonical strings: a topic that never set
//! `retention.ms` follows the broker's `log.retention.*` even if that changes later, as in
//! Kafka. The same map is what DescribeConfigs reports as DYNAMIC_TOPIC_CONFIG and what the
//! broker persists next to the partition (`to_properties` / `from_properties`).

use std::collections::BTreeMap;
use std::fmt;

use super::config::{
    escape_property, flush_messages, parse_cleanup_policy, parse_int, parse_properties, BrokerConfig, TimestampType,
};
use crate::storage::LogConfig;

/// Kafka's INVALID_CONFIG error code: the answer to every [`TopicConfigError`].
pub const INVALID_CONFIG: i16 = 40;

/// The topic-level keys seedlog acts on, sorted by name, with their broker-level synonyms
/// (the first one is the key Kafka documents as the default; all of them count as a static
/// broker setting) and their DescribeConfigs type.
const TOPIC_KEYS: &[(&str, &[&str], ConfigType)] = &[
    ("cleanup.policy", &["log.cleanup.policy"], ConfigType::List),
    ("flush.messages", &["log.flush.interval.messages"], ConfigType::Long),
    ("flush.ms", &["log.flush.interval.ms", "log.flush.scheduler.interval.ms"], ConfigType::Long),
    ("index.interval.bytes", &["log.index.interval.bytes"], ConfigType::Int),
    ("max.message.bytes", &["message.max.bytes"], ConfigType::Int),
    ("message.timestamp.type", &["log.message.timestamp.type"], ConfigType::String),
    ("min.insync.replicas", &["min.insync.replicas"], ConfigType::Int),
    ("retention.bytes", &["log.retention.bytes"], ConfigType::Long),
    ("retention.ms", &["log.retention.ms", "log.retention.minutes", "log.retention.hours"], ConfigType::Long),
    ("segment.bytes", &["log.segment.bytes"], ConfigType::Int),
    ("segment.ms", &["log.roll.ms", "log.roll.hours"], ConfigType::Long),
];

/// Why a topic config was refused; maps to INVALID_CONFIG with [`Self::error_message`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TopicConfigError {
    /// Not a topic key seedlog knows (Kafka topic keys it does not support included).
    UnknownKey { key: String },
    /// A value the key does not accept.
    Invalid { key: String, value: String, message: String },
    /// A line of a persisted config file that is not `key=value` (`from_properties` only).
    Syntax { line: usize, message: String },
}

impl TopicConfigError {
    /// The key at fault, when there is one.
    pub fn key(&self) -> Option<&str> {
        match self {
            TopicConfigError::UnknownKey { key } | TopicConfigError::Invalid { key, .. } => Some(key),
            TopicConfigError::Syntax { .. } => None,
        }
    }

    /// The Kafka error code to answer with.
    pub fn error_code(&self) -> i16 {
        INVALID_CONFIG
    }

    /// The error message for the response, in Kafka's wording where Kafka has one.
    pub fn error_message(&self) -> String {
        match self {
            TopicConfigError::UnknownKey { key } => format!("Unknown topic config name: {key}"),
            TopicConfigError::Invalid { key, value, message } => {
                format!("Invalid value {value} for configuration {key}: {message}")
            }
            TopicConfigError::Syntax { line, message } => format!("line {line}: {message}"),
        }
    }
}

impl fmt::Display for TopicConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.error_message())
    }
}

impl std::error::Error for TopicConfigError {}

/// DescribeConfigs' `config_source` (int8), Kafka's numbering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i8)]
pub enum ConfigSource {
    Unknown = 0,
    DynamicTopicConfig = 1,
    DynamicBrokerConfig = 2,
    DynamicDefaultBrokerConfig = 3,
    StaticBrokerConfig = 4,
    DefaultConfig = 5,
    DynamicBrokerLoggerConfig = 6,
    ClientMetricsConfig = 7,
    GroupConfig = 8,
}

impl ConfigSource {
    /// The wire value.
    pub fn code(self) -> i8 {
        self as i8
    }
}

/// DescribeConfigs' `config_type` (int8, v3+), Kafka's numbering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i8)]
pub enum ConfigType {
    Unknown = 0,
    Boolean = 1,
    String = 2,
    Int = 3,
    Short = 4,
    Long = 5,
    Double = 6,
    List = 7,
    Class = 8,
    Password = 9,
}

impl ConfigType {
    /// The wire value.
    pub fn code(self) -> i8 {
        self as i8
    }
}

/// One row of a DescribeConfigs answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    pub value: Option<String>,
    pub source: ConfigSource,
    /// `source == DefaultConfig` (what DescribeConfigs v0 sends instead of a source).
    pub is_default: bool,
    pub read_only: bool,
    pub sensitive: bool,
    pub config_type: ConfigType,
}

/// A topic's validated config overrides.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopicConfig {
    overrides: BTreeMap<String, String>,
}

impl TopicConfig {
    /// Validates CreateTopics' configs. A `None` value sets nothing (the broker default
    /// applies), as an AlterConfigs DELETE does. `broker` is there for checks against the
    /// broker's settings; none are needed today.
    pub fn validate_and_build(
        broker: &BrokerConfig,
        overrides: impl IntoIterator<Item = (String, Option<String>)>,
    ) -> Result<TopicConfig, TopicConfigError> {
        TopicConfig::default().apply(broker, overrides)
    }

    /// This config with `changes` applied (`None` removes an override): AlterConfigs. All or
    /// nothing: on error `self` is unchanged.
    pub fn apply(
        &self,
        _broker: &BrokerConfig,
        changes: impl IntoIterator<Item = (String, Option<String>)>,
    ) -> Result<TopicConfig, TopicConfigError> {
        let mut next = self.clone();
        for (key, value) in changes {
            if !is_topic_key(&key) {
                return Err(TopicConfigError::UnknownKey { key });
            }
            match value.map(|raw| validate(&key, &raw)).transpose()? {
                Some(value) => next.overrides.insert(key, value),
                None => next.overrides.remove(&key),
            };
        }
        Ok(next)
    }

    /// The overrides, by key (validated, canonical values).
    pub fn overrides(&self) -> &BTreeMap<String, String> {
        &self.overrides
    }

    /// The override of `key`, if the topic sets one.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.overrides.get(key).map(String::as_str)
    }

    fn int(&self, key: &str) -> Option<i64> {
        // Values were validated on the way in: they parse.
        self.get(key).and_then(|v| v.parse().ok())
    }

    /// The partition log's settings: each override, else the broker's default.
    pub fn log_config(&self, broker: &BrokerConfig) -> LogConfig {
        let base = broker.log_config();
        // Sizes were validated non-negative, so `as u64` is exact.
        LogConfig {
            segment_bytes: self.int("segment.bytes").map_or(base.segment_bytes, |v| v as u64),
            segment_ms: self.int("segment.ms").unwrap_or(base.segment_ms),
            index_interval_bytes: self.int("index.interval.bytes").map_or(base.index_interval_bytes, |v| v as u64),
            flush_interval_messages: self.int("flush.messages").map_or(base.flush_interval_messages, flush_messages),
            flush_interval_ms: self.int("flush.ms").unwrap_or(base.flush_interval_ms),
            flush_offset_checkpoint_interval_ms: base.flush_offset_checkpoint_interval_ms,
            retention_ms: self.int("retention.ms").unwrap_or(base.retention_ms),
            retention_bytes: self.int("retention.bytes").unwrap_or(base.retention_bytes),
            max_message_bytes: self.int("max.message.bytes").map_or(base.max_message_bytes, |v| v as u64),
        }
    }

    /// `min.insync.replicas` for this topic.
    pub fn min_insync_replicas(&self, broker: &BrokerConfig) -> i32 {
        self.int("min.insync.replicas").map_or(broker.min_insync_replicas, |v| v as i32)
    }

    /// `message.timestamp.type` for this topic.
    pub fn message_timestamp_type(&self, broker: &BrokerConfig) -> TimestampType {
        self.get("message.timestamp.type")
            .and_then(|v| TimestampType::parse(v).ok())
            .unwrap_or(broker.log_message_timestamp_type)
    }

    /// Every topic key with its effective value and where it comes from, sorted by name: the
    /// topic's override (DYNAMIC_TOPIC_CONFIG), a key of `server.properties` or `--override`
    /// (STATIC_BROKER_CONFIG), or the built-in default (DEFAULT_CONFIG).
    pub fn describe(&self, broker: &BrokerConfig) -> Vec<ConfigEntry> {
        let log = broker.log_config();
        TOPIC_KEYS
            .iter()
            .map(|&(name, synonyms, config_type)| {
                let (value, source) = match self.get(name) {
                    Some(value) => (value.to_string(), ConfigSource::DynamicTopicConfig),
                    None => {
                        let value = match name {
                            "cleanup.policy" => "delete".to_string(),
                            "flush.messages" => broker.log_flush_interval_messages.to_string(),
                            "flush.ms" => log.flush_interval_ms.to_string(),
                            "index.interval.bytes" => log.index_interval_bytes.to_string(),
                            "max.message.bytes" => log.max_message_bytes.to_string(),
                            "message.timestamp.type" => broker.log_message_timestamp_type.as_str().to_string(),
                            "min.insync.replicas" => broker.min_insync_replicas.to_string(),
                            "retention.bytes" => log.retention_bytes.to_string(),
                            "retention.ms" => log.retention_ms.to_string(),
                            "segment.bytes" => log.segment_bytes.to_string(),
                            "segment.ms" => log.segment_ms.to_string(),
                            other => unreachable!("topic key {other} has no broker default"),
                        };
                        let source = if synonyms.iter().any(|key| broker.is_set(key)) {
                            ConfigSource::StaticBrokerConfig
                        } else {
                            ConfigSource::DefaultConfig
                        };
                        (value, source)
                    }
                };
                ConfigEntry {
                    name: name.to_string(),
                    value: Some(value),
                    source,
                    is_default: source == ConfigSource::DefaultConfig,
                    read_only: false,
                    sensitive: false,
                    config_type,
                }
            })
            .collect()
    }

    /// The overrides as properties text, one `key=value` line each in key order, so the same
    /// config always writes the same bytes.
    pub fn to_properties(&self) -> String {
        self.overrides.iter().map(|(k, v)| format!("{}={}\n", escape_property(k), escape_property(v))).collect()
    }

    /// Reads what [`Self::to_properties`] wrote, validating every key and value again (the
    /// file may come from an older seedlog or a hand edit).
    pub fn from_properties(text: &str) -> Result<TopicConfig, TopicConfigError> {
        let properties =
            parse_properties(text).map_err(|(line, message)| TopicConfigError::Syntax { line, message })?;
        let mut config = TopicConfig::default();
        for property in properties {
            if !is_topic_key(&property.key) {
                return Err(TopicConfigError::UnknownKey { key: property.key });
            }
            let value = validate(&property.key, &property.value)?;
            config.overrides.insert(property.key, value);
        }
        Ok(config)
    }
}

fn is_topic_key(key: &str) -> bool {
    TOPIC_KEYS.iter().any(|(name, ..)| *name == key)
}

/// Validates one topic key's value (Kafka's ranges, except `segment.bytes` >= 1024 as the
/// broker's) and returns its canonical form. Unknown keys pass here; callers check them.
fn validate(key: &str, raw: &str) -> Result<String, TopicConfigError> {
    let int = |min: i64, max: i64| parse_int(raw, min, max).map(|v| v.to_string());
    let int32 = |min: i64| int(min, i32::MAX.into());
    let result = match key {
        "cleanup.policy" => parse_cleanup_policy(raw),
        "flush.messages" => int(1, i64::MAX),
        "flush.ms" => int(0, i64::MAX),
        "index.interval.bytes" => int32(0),
        "max.message.bytes" => int32(0),
        "message.timestamp.type" => TimestampType::parse(raw).map(|t| t.as_str().to_string()),
        "min.insync.replicas" => int32(1),
        "retention.bytes" => int(i64::MIN, i64::MAX),
        "retention.ms" => int(-1, i64::MAX),
        "segment.bytes" => int32(1024),
        "segment.ms" => int(1, i64::MAX),
        _ => Ok(raw.trim().to_string()),
    };
    result.map_err(|message| TopicConfigError::Invalid { key: key.to_string(), value: raw.to_string(), message })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(broker: &BrokerConfig, pairs: &[(&str, &str)]) -> Result<TopicConfig, TopicConfigError> {
        TopicConfig::validate_and_build(broker, pairs.iter().map(|(k, v)| (k.to_string(), Some(v.to_string()))))
    }

    fn error_key(pairs: &[(&str, &str)]) -> String {
        let error = build(&BrokerConfig::default(), pairs).unwrap_err();
        assert_eq!(error.error_code(), INVALID_CONFIG);
        assert!(error.error_message().contains(error.key().unwrap()), "{error}");
        error.key().unwrap().to_string()
    }

    #[test]
    fn keys_are_sorted_and_validated() {
        assert!(TOPIC_KEYS.windows(2).all(|w| w[0].0 < w[1].0));
        for (key, ..) in TOPIC_KEYS {
            assert!(validate(key, "abc").is_err(), "{key}");
        }
    }

    #[test]
    fn overrides_build_a_log_config() {
        let broker = BrokerConfig::from_properties("log.retention.hours=1\nlog.segment.bytes=4096", &[]).unwrap();
        let pairs = [
            ("retention.ms", " 5000 "),
            ("segment.ms", "60000"),
            ("flush.messages", "1"),
            ("max.message.bytes", "2048"),
            ("min.insync.replicas", "2"),
            ("message.timestamp.type", "LogAppendTime"),
            ("cleanup.policy", "delete"),
        ];
        let topic = build(&broker, &pairs).unwrap();
        assert_eq!(topic.get("retention.ms"), Some("5000"));
        let log = topic.log_config(&broker);
        assert_eq!((log.retention_ms, log.segment_ms, log.flush_interval_messages), (5000, 60_000, 1));
        assert_eq!((log.max_message_bytes, log.segment_bytes), (2048, 4096));
        assert_eq!(log.flush_interval_ms, i64::MAX);
        assert_eq!(topic.min_insync_replicas(&broker), 2);
        assert_eq!(topic.message_timestamp_type(&broker), TimestampType::LogAppendTime);
        assert_eq!(TopicConfig::default().log_config(&broker), broker.log_config());
        assert_eq!(TopicConfig::default().min_insync_replicas(&broker), 1);
    }

    #[test]
    fn none_and_apply_remove_overrides() {
        let broker = BrokerConfig::default();
        let changes = [("retention.ms".to_string(), Some("10".to_string())), ("retention.ms".to_string(), None)];
        assert!(TopicConfig::validate_and_build(&broker, changes).unwrap().overrides().is_empty());
        let topic = build(&broker, &[("segment.ms", "10"), ("retention.bytes", "99")]).unwrap();
        let altered = topic.apply(&broker, [("segment.ms".to_string(), None)]).unwrap();
        assert_eq!(altered.overrides().keys().collect::<Vec<_>>(), ["retention.bytes"]);
        assert!(topic.apply(&broker, [("segment.ms".to_string(), Some("x".to_string()))]).is_err());
    }

    #[test]
    fn every_error_names_its_key() {
        assert_eq!(error_key(&[("retention.mss", "1")]), "retention.mss");
        assert_eq!(error_key(&[("compression.type", "gzip")]), "compression.type");
        assert_eq!(error_key(&[("segment.bytes", "abc")]), "segment.bytes");
        assert_eq!(error_key(&[("segment.bytes", "-1")]), "segment.bytes");
        assert_eq!(error_key(&[("segment.bytes", "100")]), "segment.bytes");
        assert_eq!(error_key(&[("retention.ms", "-2")]), "retention.ms");
        assert_eq!(error_key(&[("min.insync.replicas", "0")]), "min.insync.replicas");
        assert_eq!(error_key(&[("message.timestamp.type", "Now")]), "message.timestamp.type");
        assert_eq!(error_key(&[("cleanup.policy", "compact")]), "cleanup.policy");
        let error = build(&BrokerConfig::default(), &[("segment.bytes", "abc")]).unwrap_err();
        let expected =
            "Invalid value abc for configuration segment.bytes: expected a positive integer >= 1024, got \"abc\"";
        assert_eq!(error.error_message(), expected);
        let error = build(&BrokerConfig::default(), &[("cleanup.policy", "compact")]).unwrap_err();
        assert!(error.error_message().contains("not supported yet"));
        let unknown = build(&BrokerConfig::default(), &[("foo", "1")]).unwrap_err();
        assert_eq!(unknown.error_message(), "Unknown topic config name: foo");
    }

    #[test]
    fn describe_reports_sources() {
        let overrides = [("min.insync.replicas".to_string(), "2".to_string())];
        let broker = BrokerConfig::from_properties("log.retention.hours=1", &overrides).unwrap();
        let topic = build(&broker, &[("segment.bytes", "2048")]).unwrap();
        let entries = topic.describe(&broker);
        assert_eq!(entries.len(), TOPIC_KEYS.len());
        assert!(entries.windows(2).all(|w| w[0].name < w[1].name));
        let entry = |name: &str| entries.iter().find(|e| e.name == name).unwrap().clone();
        let row = |name: &str| {
            let e = entry(name);
            (e.value.unwrap(), e.source.code(), e.is_default)
        };
        assert_eq!(row("segment.bytes"), ("2048".to_string(), 1, false));
        assert_eq!(row("retention.ms"), ("3600000".to_string(), 4, false));
        assert_eq!(row("min.insync.replicas"), ("2".to_string(), 4, false));
        assert_eq!(row("segment.ms"), ("604800000".to_string(), 5, true));
        assert_eq!(row("flush.messages"), (i64::MAX.to_string(), 5, true));
        assert_eq!(row("flush.ms"), (i64::MAX.to_string(), 5, true));
        assert_eq!(row("cleanup.policy"), ("delete".to_string(), 5, true));
        assert_eq!(row("message.timestamp.type"), ("CreateTime".to_string(), 5, true));
        assert_eq!(entry("retention.ms").config_type.code(), 5);
        assert!(entries.iter().all(|e| !e.read_only && !e.sensitive));
    }

    #[test]
    fn properties_round_trip() {
        let broker = BrokerConfig::default();
        let pairs = [("segment.ms", "10"), ("cleanup.policy", "delete"), ("retention.bytes", "-1")];
        let topic = build(&broker, &pairs).unwrap();
        let text = topic.to_properties();
        assert_eq!(text, "cleanup.policy=delete\nretention.bytes=-1\nsegment.ms=10\n");
        assert_eq!(TopicConfig::from_properties(&text).unwrap(), topic);
        assert_eq!(TopicConfig::from_properties("").unwrap(), TopicConfig::default());
        assert!(matches!(
            TopicConfig::from_properties("a=1\nsegment.ms"),
            Err(TopicConfigError::Syntax { line: 2, .. })
        ));
        assert_eq!(TopicConfig::from_properties("segment.ms=0").unwrap_err().key(), Some("segment.ms"));
        assert_eq!(TopicConfig::from_properties("foo=1").unwrap_err().key(), Some("foo"));
    }
}
