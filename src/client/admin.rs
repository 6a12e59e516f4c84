//! The admin client: create, delete, list and describe topics, and look up offsets.
//! Topic creation and deletion go to the controller when the metadata names one (a KRaft
//! broker forwards them otherwise); NOT_CONTROLLER refreshes and tries again.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::{ApiKey, CreateTopicsRequest, DeleteTopicsRequest, DescribeConfigsRequest};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::cluster::Cluster;
use super::connection::ConnectionConfig;
use super::error::{code, ClientError, Result};
use super::list_offsets::{self, IsolationLevel, ListedOffset, OffsetSpec};
use super::metadata::{topic_name, PartitionInfo, TopicInfo};

/// A topic to create. `None` leaves the count to the broker's default (CreateTopics v4+).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewTopic {
    pub name: String,
    pub partitions: Option<i32>,
    pub replication_factor: Option<i16>,
    pub configs: Vec<(String, String)>,
}

/// A topic config as DescribeConfigs reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    pub value: Option<String>,
    /// Kafka's ConfigSource: 1 topic override, 4 static broker config, 5 default, ...
    pub source: i8,
    pub read_only: bool,
    pub is_sensitive: bool,
}

/// Kafka's `DEFAULT_CONFIG` config source.
pub const CONFIG_SOURCE_DEFAULT: i8 = 5;
const RESOURCE_TYPE_TOPIC: i8 = 2;
const ATTEMPTS: usize = 3;

/// A topic: metadata plus its configs (when the broker answers DescribeConfigs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDescription {
    pub name: String,
    pub topic_id: Uuid,
    pub is_internal: bool,
    pub partitions: Vec<PartitionInfo>,
    pub configs: Vec<ConfigEntry>,
}

/// The admin client.
pub struct Admin {
    cluster: Arc<Cluster>,
}

impl Admin {
    /// An admin client for the cluster at `bootstrap` (`host:port[,...]`). Connects lazily.
    pub fn new(bootstrap: &str, config: ConnectionConfig) -> Result<Admin> {
        Ok(Admin { cluster: Cluster::new(bootstrap, config)? })
    }

    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.cluster
    }

    fn timeout_ms(&self) -> i32 {
        i32::try_from(self.cluster.config().request_timeout.as_millis()).unwrap_or(i32::MAX)
    }

    /// Creates topics; one result per topic, with its id when the broker reports it.
    pub async fn create_topics(&self, topics: &[NewTopic], validate_only: bool) -> Result<Vec<(String, Result<Uuid>)>> {
        for attempt in 0..ATTEMPTS {
            let connection = self.cluster.controller_connection().await?;
            let version = connection.version(ApiKey::CreateTopics)?;
            let mut creatable = Vec::new();
            for topic in topics {
                if version < 4 && (topic.partitions.is_none() || topic.replication_factor.is_none()) {
                    return Err(ClientError::Config(format!(
                        "CreateTopics v{version} needs explicit partitions and replication factor"
                    )));
                }
                creatable.push(
                    CreatableTopic::default()
                        .with_name(topic_name(&topic.name))
                        .with_num_partitions(topic.partitions.unwrap_or(-1))
                        .with_replication_factor(topic.replication_factor.unwrap_or(-1))
                        .with_configs(
                            topic
                                .configs
                                .iter()
                                .map(|(k, v)| {
                                    CreatableTopicConfig::default()
                                        .with_name(StrBytes::from_string(k.clone()))
                                        .with_value(Some(StrBytes::from_string(v.clone())))
                                })
                                .collect(),
                        ),
                );
            }
            let request = CreateTopicsRequest::default()
                .with_topics(creatable)
                .with_timeout_ms(self.timeout_ms())
                .with_validate_only(validate_only);
            let response = connection.send(&request, version).await?;
            if attempt + 1 < ATTEMPTS && response.topics.iter().any(|t| t.error_code == code::NOT_CONTROLLER) {
                self.cluster.refresh_metadata(Some(&[])).await?;
                continue;
            }
            let results = response
                .topics
                .iter()
                .map(|t| {
                    let name = t.name.0.to_string();
                    let result = match t.error_code {
                        code::NONE => Ok(t.topic_id),
                        error_code => Err(ClientError::kafka_with_message(
                            error_code,
                            t.error_message.as_deref(),
                            format!("create topic {name}"),
                        )),
                    };
                    (name, result)
                })
                .collect();
            return Ok(results);
        }
        Err(ClientError::kafka(code::NOT_CONTROLLER, "create topics"))
    }

    /// Creates one topic; returns its id (nil if the broker's CreateTopics version has none).
    pub async fn create_topic(&self, topic: &NewTopic) -> Result<Uuid> {
        let mut results = self.create_topics(std::slice::from_ref(topic), false).await?;
        let found = results.iter().position(|(name, _)| *name == topic.name);
        let (_, result) = found
            .map(|i| results.swap_remove(i))
            .ok_or_else(|| ClientError::Protocol(format!("no CreateTopics answer for {}", topic.name)))?;
        result
    }

    /// Deletes topics by name; one result per topic.
    pub async fn delete_topics(&self, names: &[String]) -> Result<Vec<(String, Result<()>)>> {
        for attempt in 0..ATTEMPTS {
            let connection = self.cluster.controller_connection().await?;
            let version = connection.version(ApiKey::DeleteTopics)?;
            let mut request = DeleteTopicsRequest::default().with_timeout_ms(self.timeout_ms());
            if version >= 6 {
                request.topics = names
                    .iter()
                    .map(|n| DeleteTopicState::default().with_name(Some(topic_name(n))).with_topic_id(Uuid::nil()))
                    .collect();
            } else {
                request.topic_names = names.iter().map(|n| topic_name(n)).collect();
            }
            let response = connection.send(&request, version).await?;
            if attempt + 1 < ATTEMPTS && response.responses.iter().any(|t| t.error_code == code::NOT_CONTROLLER) {
                self.cluster.refresh_metadata(Some(&[])).await?;
                continue;
            }
            for topic in names {
                self.cluster.mark_stale(topic);
            }
            let results = response
                .responses
                .iter()
                .map(|t| {
                    let name = t.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default();
                    let result = match t.error_code {
                        code::NONE => Ok(()),
                        error_code => Err(ClientError::kafka_with_message(
                            error_code,
                            t.error_message.as_deref(),
                            format!("delete topic {name}"),
                        )),
                    };
                    (name, result)
                })
                .collect();
            return Ok(results);
        }
        Err(ClientError::kafka(code::NOT_CONTROLLER, "delete topics"))
    }

    /// Deletes one topic.
    pub async fn delete_topic(&self, name: &str) -> Result<()> {
        let results = self.delete_topics(&[name.to_owned()]).await?;
        results
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, result)| result)
            .unwrap_or_else(|| Err(ClientError::Protocol(format!("no DeleteTopics answer for {name}"))))
    }

    /// Every topic's name, sorted; internal topics only when asked for.
    pub async fn list_topics(&self, include_internal: bool) -> Result<Vec<String>> {
        self.cluster.refresh_metadata(None).await?;
        Ok(self.cluster.with_metadata(|m| {
            m.topics.values().filter(|t| include_internal || !t.is_internal).map(|t| t.name.clone()).collect()
        }))
    }

    /// Describes `names`, or every topic (sorted) with `None`.
    pub async fn describe_topics(&self, names: Option<&[String]>) -> Result<Vec<TopicDescription>> {
        self.cluster.refresh_metadata(names).await?;
        let infos: Vec<TopicInfo> = match names {
            None => self.cluster.with_metadata(|m| m.topics.values().cloned().collect()),
            Some(names) => {
                let mut infos = Vec::new();
                for name in names {
                    let info = self.cluster.with_metadata(|m| m.topic(name).cloned());
                    let info = info.ok_or_else(|| {
                        ClientError::kafka(code::UNKNOWN_TOPIC_OR_PARTITION, format!("describe topic {name}"))
                    })?;
                    infos.push(info);
                }
                infos
            }
        };
        let mut descriptions = Vec::new();
        for info in infos {
            let configs = match self.describe_topic_configs(&info.name).await {
                Ok(configs) => configs,
                Err(ClientError::UnsupportedApi(_)) => Vec::new(),
                Err(error) => return Err(error),
            };
            descriptions.push(TopicDescription {
                name: info.name,
                topic_id: info.topic_id,
                is_internal: info.is_internal,
                partitions: info.partitions,
                configs,
            });
        }
        Ok(descriptions)
    }

    /// Describes one topic.
    pub async fn describe_topic(&self, name: &str) -> Result<TopicDescription> {
        let mut descriptions = self.describe_topics(Some(&[name.to_owned()])).await?;
        descriptions.pop().ok_or_else(|| ClientError::kafka(code::UNKNOWN_TOPIC_OR_PARTITION, name.to_owned()))
    }

    /// A topic's configs (every source), sorted by name.
    pub async fn describe_topic_configs(&self, name: &str) -> Result<Vec<ConfigEntry>> {
        let connection = self.cluster.any_connection().await?;
        let version = connection.version(ApiKey::DescribeConfigs)?;
        let resource = DescribeConfigsResource::default()
            .with_resource_type(RESOURCE_TYPE_TOPIC)
            .with_resource_name(StrBytes::from_string(name.to_owned()))
            .with_configuration_keys(None);
        let request = DescribeConfigsRequest::default().with_resources(vec![resource]);
        let response = connection.send(&request, version).await?;
        let mut entries = Vec::new();
        for result in response.results.iter().filter(|r| r.resource_name.as_str() == name) {
            if result.error_code != code::NONE {
                let context = format!("describe configs of {name}");
                return Err(ClientError::kafka_with_message(
                    result.error_code,
                    result.error_message.as_deref(),
                    context,
                ));
            }
            entries.extend(result.configs.iter().map(|c| ConfigEntry {
                name: c.name.to_string(),
                value: c.value.as_ref().map(ToString::to_string),
                source: c.config_source,
                read_only: c.read_only,
                is_sensitive: c.is_sensitive,
            }));
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    /// Offsets of `partitions` of `topic` by `spec` (see [`OffsetSpec`]).
    pub async fn list_offsets(
        &self,
        topic: &str,
        partitions: &[i32],
        spec: OffsetSpec,
        isolation: IsolationLevel,
    ) -> Result<Vec<ListedOffset>> {
        list_offsets::list_offsets(&self.cluster, topic, partitions, spec, isolation).await
    }

    /// Waits until the metadata shows `topic` with a leader for every partition (after a
    /// create), or `timeout` passes.
    pub async fn wait_for_leaders(&self, topic: &str, timeout: Duration) -> Result<TopicInfo> {
        let deadline = crate::runtime::now() + timeout;
        loop {
            self.cluster.mark_stale(topic);
            let last = match self.cluster.topic(topic).await {
                Ok(info) if info.error_code == code::NONE && info.partitions.iter().all(|p| p.leader >= 0) => {
                    return Ok(info)
                }
                Ok(info) => ClientError::kafka(code::LEADER_NOT_AVAILABLE, format!("topic {}", info.name)),
                Err(error) => error,
            };
            if crate::runtime::now() + self.cluster.retry_backoff() > deadline {
                return Err(last);
            }
            tokio::time::sleep(self.cluster.retry_backoff()).await;
        }
    }
}
