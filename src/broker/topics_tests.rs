//! Deleting a topic stops its partitions' flushers and closes their logs before the
//! directories go.

use std::path::Path;
use std::sync::Arc;

use super::{NewTopic, Topics};
use crate::broker::config::BrokerConfig;
use crate::broker::partition::AppendError;
use crate::runtime::{seeded, Clock, Disk, MemDisk};
use crate::storage::record_batch::build::{batch, ProducerFields, Record};
use crate::storage::LogError;

#[tokio::test]
async fn deleting_a_topic_stops_its_flushers_and_closes_its_logs() {
    let disk = Arc::new(MemDisk::new(4));
    let config = Arc::new(BrokerConfig::from_properties("log.dirs=/data", &[]).unwrap());
    let topics = Topics::load(disk.clone(), config, Clock::system(), seeded(4), true).await.unwrap();
    let new = |name: &str| NewTopic { name: name.into(), partitions: 2, replication_factor: 1, configs: Vec::new() };
    topics.create(new("doomed")).await.unwrap();
    topics.create(new("kept")).await.unwrap();
    assert_eq!(topics.flushers_running(), 4);
    let partition = topics.partition("doomed", 1).await.unwrap();
    let records = batch(&[Record { timestamp_ms: 0, key: None, value: Some(b"v") }], ProducerFields::NONE);
    partition.append_as_leader(0, records.clone(), 1).await.unwrap();

    topics.delete("doomed").await.unwrap();

    assert_eq!(topics.flushers_running(), 2, "the deleted topic's flushers still run");
    assert!(partition.log().await.is_closed());
    assert!(matches!(partition.append_as_leader(0, records, 1).await, Err(AppendError::Log(LogError::Closed))));
    assert!(!disk.exists(Path::new("/data/doomed-1")).await.unwrap());
    assert!(topics.partition("kept", 1).await.is_some());
}

/// A cluster broker's log directory fails with the first disk error in hosting a partition
/// (creating its log), as Kafka's does: the broker halts on it rather than lead or follow a
/// partition it never hosted, which would leave the partition unavailable for good.
#[tokio::test]
async fn a_disk_error_while_hosting_fails_the_log_dir() {
    let disk = Arc::new(MemDisk::new(5));
    let config = Arc::new(BrokerConfig::from_properties("log.dirs=/data", &[]).unwrap());
    let topics = Topics::load(disk.clone(), config, Clock::system(), seeded(5), false).await.unwrap();
    let id = uuid::Uuid::from_u128(7);
    topics.host("hosted", id, 0, &Default::default()).await.unwrap();
    assert_eq!(topics.log_dir_failure(), None);

    disk.set_faults(crate::runtime::MemDiskFaults { sync_error_rate: 1.0, ..crate::runtime::MemDiskFaults::none() });
    let failed = topics.host("hosted", id, 1, &Default::default()).await.err();

    assert!(matches!(failed, Some(super::TopicError::Storage(_))), "{failed:?}");
    assert_eq!(topics.log_dir_failure().as_deref(), Some("hosted-1"));
    assert!(topics.partition("hosted", 1).await.is_none());
}
