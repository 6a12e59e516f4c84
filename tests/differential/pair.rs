//! Both brokers, side by side: a real Apache Kafka node and a `seedlog broker`, one
//! connection to each, and the same request sent to both at one version.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, InitProducerIdRequest, InitProducerIdResponse, MetadataRequest, ProducerId, TopicName,
};
use kafka_protocol::protocol::{Request, StrBytes};
use seedlog::client::api_versions::client_range;
use seedlog::client::{Connection, ConnectionConfig};

use crate::common::kafka::KafkaNode;
use crate::common::{free_port, scratch_dir, BrokerProcess};
use crate::requests;

/// Kafka's UNKNOWN_TOPIC_OR_PARTITION.
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
/// Kafka's COORDINATOR_LOAD_IN_PROGRESS.
const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;

/// The two broker processes, on their defaults but for seedlog's high-watermark rule (see
/// [`Brokers::start`]). Both number their one node 1; nothing here is auto-created
/// (Metadata asks with `allow_auto_topic_creation = false`).
pub struct Brokers {
    pub kafka: KafkaNode,
    pub seedlog: BrokerProcess,
    pub seedlog_dir: PathBuf,
}

impl Brokers {
    pub fn start() -> Brokers {
        let kafka = KafkaNode::start("differential");
        let seedlog_dir = scratch_dir("differential");
        std::fs::create_dir_all(&seedlog_dir).unwrap();
        let seedlog = BrokerProcess::start_logged(
            &seedlog_dir.join("data"),
            free_port(),
            // Kafka's high-watermark rule: a lone replica's high watermark is its log end.
            // seedlog's default waits for the fsync (docs/broker.md, docs/compatibility.md),
            // which only delays what Kafka shows at once.
            &["node.id=1", "high.watermark.fsync.enable=false"],
            &seedlog_dir.join("broker.out"),
        );
        Brokers { kafka, seedlog, seedlog_dir }
    }

    /// Both brokers' output, for a failure report.
    pub fn output_tails(&self) -> String {
        format!("{}\n{}", self.seedlog.output_tail(), self.kafka.log_tail())
    }
}

/// One connection to each broker.
pub struct Pair {
    pub seedlog: Connection,
    pub kafka: Connection,
}

impl Pair {
    pub async fn connect(brokers: &Brokers) -> Pair {
        let config = ConnectionConfig { client_id: "differential".into(), ..ConnectionConfig::default() };
        let seedlog =
            Connection::connect(&brokers.seedlog.bootstrap(), config.clone()).await.expect("connect to seedlog");
        let kafka = Connection::connect(&brokers.kafka.bootstrap(), config).await.expect("connect to Apache Kafka");
        Pair { seedlog, kafka }
    }

    /// The version both get asked at: the highest that seedlog, Kafka and kafka-protocol's
    /// message types (as seedlog's client speaks them) all support. Err when seedlog
    /// advertises a version Kafka does not.
    pub fn version(&self, key: ApiKey) -> Result<i16, String> {
        let (seedlog_min, seedlog_max) =
            range(&self.seedlog, key).ok_or(format!("seedlog does not advertise {key:?}"))?;
        let (kafka_min, kafka_max) = range(&self.kafka, key).ok_or(format!("Kafka does not advertise {key:?}"))?;
        let cap = client_range(key).map_or(i16::MAX, |(_, max)| max);
        let version = seedlog_max.min(kafka_max).min(cap);
        if version < seedlog_min.max(kafka_min) {
            return Err(format!(
                "{key:?}: no common version (seedlog {seedlog_min}..={seedlog_max}, Kafka {kafka_min}..={kafka_max})"
            ));
        }
        Ok(version)
    }

    /// Sends `request` to both at [`Pair::version`]; (seedlog's answer, Kafka's answer).
    pub async fn both<R: Request>(&self, request: &R) -> Result<(R::Response, R::Response), String> {
        let key = ApiKey::try_from(R::KEY).map_err(|_| format!("api key {}", R::KEY))?;
        let version = self.version(key)?;
        let ours = self.seedlog.send(request, version).await.map_err(|e| format!("seedlog {key:?} v{version}: {e}"))?;
        let theirs = self.kafka.send(request, version).await.map_err(|e| format!("Kafka {key:?} v{version}: {e}"))?;
        Ok((ours, theirs))
    }

    /// An idempotent producer's InitProducerId (no transactional id, no producer id or
    /// epoch yet) to both. Kafka's producer id manager fetches its first block from the
    /// controller on first use, answering COORDINATOR_LOAD_IN_PROGRESS (14) until it has one;
    /// clients retry, and so does this, for Kafka (for 5 s).
    pub async fn init_producer_ids(&self) -> Result<(InitProducerIdResponse, InitProducerIdResponse), String> {
        let request = InitProducerIdRequest::default()
            .with_transactional_id(None)
            .with_transaction_timeout_ms(60_000)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1);
        let (ours, mut theirs) = self.both(&request).await?;
        let version = self.version(ApiKey::InitProducerId)?;
        for _ in 0..100 {
            if theirs.error_code != COORDINATOR_LOAD_IN_PROGRESS {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            theirs = self.kafka.send(&request, version).await.map_err(|e| format!("Kafka InitProducerId: {e}"))?;
        }
        Ok((ours, theirs))
    }

    /// Sends a request neither answers (Produce with acks=0) to both.
    pub async fn both_without_response<R: Request>(&self, request: &R) -> Result<(), String> {
        let key = ApiKey::try_from(R::KEY).map_err(|_| format!("api key {}", R::KEY))?;
        let version = self.version(key)?;
        self.seedlog.send_without_response(request, version).await.map_err(|e| format!("seedlog: {e}"))?;
        self.kafka.send_without_response(request, version).await.map_err(|e| format!("Kafka: {e}"))?;
        Ok(())
    }

    /// Waits until both brokers' metadata shows each topic of `present` with a leader for
    /// every partition and none of `absent`. Creating and deleting are asynchronous in both
    /// (the controller commits, then the broker applies), and that delay may rightly differ.
    pub async fn settle(&self, present: &[String], absent: &[String]) -> Result<(), String> {
        let names: Vec<String> = present.iter().chain(absent).cloned().collect();
        if names.is_empty() {
            return Ok(());
        }
        let request = MetadataRequest::default().with_allow_auto_topic_creation(false).with_topics(Some(
            names
                .iter()
                .map(|name| {
                    MetadataRequestTopic::default().with_name(Some(TopicName(StrBytes::from_string(name.clone()))))
                })
                .collect(),
        ));
        let deadline = Instant::now() + Duration::from_secs(15);
        for (who, connection) in [("seedlog", &self.seedlog), ("Kafka", &self.kafka)] {
            let version = self.version(ApiKey::Metadata)?;
            loop {
                let answer = connection.send(&request, version).await.map_err(|e| format!("{who} Metadata: {e}"))?;
                let mut settled = answer.topics.iter().all(|topic| {
                    let name = topic.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default();
                    if present.contains(&name) {
                        topic.error_code == 0
                            && topic.partitions.iter().all(|p| p.error_code == 0 && p.leader_id.0 >= 0)
                    } else {
                        topic.error_code == UNKNOWN_TOPIC_OR_PARTITION
                    }
                });
                // Kafka's metadata cache can name a leader a moment before its replica
                // manager serves the partition (NOT_LEADER_OR_FOLLOWER meanwhile): settled
                // means every partition also answers ListOffsets.
                if settled {
                    let partitions: Vec<(String, i32)> = answer
                        .topics
                        .iter()
                        .filter(|t| t.error_code == 0)
                        .flat_map(|t| {
                            let name = t.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default();
                            t.partitions.iter().map(move |p| (name.clone(), p.partition_index))
                        })
                        .collect();
                    let version = self.version(ApiKey::ListOffsets)?;
                    for (topic, partition) in partitions {
                        let request = requests::list_offsets(&topic, partition, -1);
                        let listed =
                            connection.send(&request, version).await.map_err(|e| format!("{who} ListOffsets: {e}"))?;
                        settled &= listed.topics.iter().flat_map(|t| &t.partitions).all(|p| p.error_code == 0);
                    }
                }
                if settled {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(format!("{who}'s metadata did not settle within 15 s: {answer:?}"));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Ok(())
    }
}

fn range(connection: &Connection, key: ApiKey) -> Option<(i16, i16)> {
    connection.versions()?.broker_range(key)
}
