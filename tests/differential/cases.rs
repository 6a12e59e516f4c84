//! The hand-written edge cases: each sends the same requests to both brokers and compares
//! the answers (see observe.rs for what is compared). Every case works on topics of its
//! own, named `d-<case>…`, so the cases do not see each other.

use bytes::Bytes;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, FetchRequest, InitProducerIdRequest, ListOffsetsRequest, ProduceRequest, ProducerId,
};
use kafka_protocol::protocol::StrBytes;
use seedlog::client::idempotence::ProducerIdentity;

use crate::observe::{self, same};
use crate::pair::Pair;
use crate::requests::{self, batch, values};

pub type Outcome = Result<(), String>;

/// A topic to create: (name, partitions, configs).
type NewTopic<'a> = (&'a str, i32, &'a [(&'a str, &'a str)]);

/// Creates `topics` on both, expecting success, and waits until
/// both brokers know them.
async fn create_ok(pair: &Pair, topics: &[NewTopic<'_>]) -> Outcome {
    let request = requests::create(topics.iter().map(|(t, p, c)| requests::topic(t, *p, -1, c)).collect(), false);
    let (ours, theirs) = pair.both(&request).await?;
    same("CreateTopics", &observe::created(&ours), &observe::created(&theirs))?;
    for (topic, error, ..) in observe::created(&theirs) {
        if error != 0 {
            return Err(format!("Kafka refused to create {topic}: error {error}"));
        }
    }
    let names: Vec<String> = topics.iter().map(|(t, ..)| t.to_string()).collect();
    pair.settle(&names, &[]).await
}

/// Produce to both; the answers must be alike.
async fn produced_alike(pair: &Pair, what: &str, request: &ProduceRequest) -> Outcome {
    let (ours, theirs) = pair.both(request).await?;
    same(what, &observe::produced(&ours), &observe::produced(&theirs))
}

/// Fetch from both (asked from `offset`); the answers must be alike.
async fn fetched_alike(pair: &Pair, what: &str, request: &FetchRequest, offset: i64) -> Outcome {
    let (ours, theirs) = pair.both(request).await?;
    same(what, &observe::fetched(&ours, offset)?, &observe::fetched(&theirs, offset)?)
}

/// ListOffsets on both; the answers must be alike.
async fn listed_alike(pair: &Pair, what: &str, request: &ListOffsetsRequest) -> Outcome {
    let (ours, theirs) = pair.both(request).await?;
    same(what, &observe::listed(&ours), &observe::listed(&theirs))
}

/// Every API seedlog advertises, Kafka advertises too, and seedlog's range lies within
/// Kafka's.
pub async fn api_versions(pair: &Pair) -> Outcome {
    let version = pair.version(ApiKey::ApiVersions)?;
    // KIP-511's fields must be letters, digits, '-' and '.', starting and ending with a
    // letter or digit; Kafka refuses anything else with INVALID_REQUEST and no versions.
    for (name, software_version) in [("", ""), ("bad name", "1.0"), ("ok", "1.0-"), ("-ok", "1")] {
        let request = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str(name))
            .with_client_software_version(StrBytes::from_static_str(software_version));
        let ours = pair.seedlog.send(&request, version).await.map_err(|e| e.to_string())?;
        let theirs = pair.kafka.send(&request, version).await.map_err(|e| e.to_string())?;
        let shape = |r: &kafka_protocol::messages::ApiVersionsResponse| (r.error_code, r.api_keys.len());
        same(&format!("ApiVersions v{version} from {name:?} {software_version:?}"), &shape(&ours), &shape(&theirs))?;
    }
    let request = ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("differential"))
        .with_client_software_version(StrBytes::from_static_str("1.0"));
    let ours = pair.seedlog.send(&request, version).await.map_err(|e| e.to_string())?;
    let theirs = pair.kafka.send(&request, version).await.map_err(|e| e.to_string())?;
    same("ApiVersions error", &ours.error_code, &theirs.error_code)?;
    let mut outside = Vec::new();
    for api in &ours.api_keys {
        match theirs.api_keys.iter().find(|k| k.api_key == api.api_key) {
            Some(k) if k.min_version <= api.min_version && api.max_version <= k.max_version => {}
            Some(k) => outside.push(format!(
                "api {}: seedlog {}..={}, Kafka {}..={}",
                api.api_key, api.min_version, api.max_version, k.min_version, k.max_version
            )),
            None => outside.push(format!("api {}: Kafka does not advertise it", api.api_key)),
        }
    }
    if outside.is_empty() {
        Ok(())
    } else {
        Err(format!("ApiVersions ranges outside Kafka's:\n  {}", outside.join("\n  ")))
    }
}

/// Produce to a topic that does not exist and to a partition past a topic's last.
pub async fn produce_to_missing_partition(pair: &Pair) -> Outcome {
    create_ok(pair, &[("d-missing", 2, &[])]).await?;
    for (topic, partition) in [("d-missing-nosuch", 0), ("d-missing", 2), ("d-missing", -1)] {
        let request = requests::produce(topic, partition, batch(&values(1), ProducerIdentity::NONE, -1), 1);
        produced_alike(pair, &format!("Produce to {topic}-{partition}"), &request).await?;
    }
    Ok(())
}

/// Fetch below the log start, at the end, and past the end; on a partition that does not
/// exist.
pub async fn fetch_out_of_range(pair: &Pair) -> Outcome {
    create_ok(pair, &[("d-range", 1, &[])]).await?;
    let request = requests::produce("d-range", 0, batch(&values(3), ProducerIdentity::NONE, -1), -1);
    produced_alike(pair, "Produce", &request).await?;
    for (partition, offset) in [(0, -1), (0, 0), (0, 2), (0, 3), (0, 4), (0, 1_000_000), (5, 0)] {
        let request = requests::fetch("d-range", partition, offset, 1 << 20, 1 << 20);
        fetched_alike(pair, &format!("Fetch d-range-{partition} at {offset}"), &request, offset).await?;
    }
    Ok(())
}

/// ListOffsets at every special timestamp (latest -1, earliest -2, max timestamp -3,
/// earliest local -4, latest tiered -5), an unknown negative one, and real times before,
/// inside and after the records; on an empty partition and a written one.
pub async fn list_offsets_special_timestamps(pair: &Pair) -> Outcome {
    create_ok(pair, &[("d-times", 2, &[])]).await?;
    let request = requests::produce("d-times", 0, batch(&values(5), ProducerIdentity::NONE, -1), 1);
    produced_alike(pair, "Produce", &request).await?;
    let base = requests::BASE_TIMESTAMP_MS;
    for partition in [0, 1] {
        for timestamp in [-1, -2, -3, -4, -5, -7, 0, base, base + 2, base + 4, base + 5] {
            let request = requests::list_offsets("d-times", partition, timestamp);
            listed_alike(pair, &format!("ListOffsets d-times-{partition} at {timestamp}"), &request).await?;
        }
    }
    Ok(())
}

/// CreateTopics refusals: unknown and invalid configs, replication factors and partition
/// counts the one broker cannot meet, a duplicate in one request, an existing topic,
/// validate-only; and what each created topic lists as its configs (v5+).
pub async fn create_topics_invalid(pair: &Pair) -> Outcome {
    create_ok(pair, &[("d-exists", 1, &[])]).await?;
    let cases: Vec<(&str, Vec<_>, bool)> = vec![
        ("unknown config", vec![requests::topic("d-cfg-unknown", 1, -1, &[("retention.mss", "1")])], false),
        ("bad value", vec![requests::topic("d-cfg-bad", 1, -1, &[("retention.ms", "soon")])], false),
        ("value out of range", vec![requests::topic("d-cfg-range", 1, -1, &[("segment.bytes", "10")])], false),
        ("rf 3 on one broker", vec![requests::topic("d-rf3", 1, 3, &[])], false),
        ("rf 0", vec![requests::topic("d-rf0", 1, 0, &[])], false),
        ("rf -2", vec![requests::topic("d-rf-2", 1, -2, &[])], false),
        ("0 partitions", vec![requests::topic("d-p0", 0, -1, &[])], false),
        ("-2 partitions", vec![requests::topic("d-p-2", -2, -1, &[])], false),
        (
            "duplicate in one request",
            vec![requests::topic("d-dup", 1, -1, &[]), requests::topic("d-dup", 1, -1, &[])],
            false,
        ),
        ("existing", vec![requests::topic("d-exists", 1, -1, &[])], false),
        // Which check comes first.
        ("existing, bad config", vec![requests::topic("d-exists", 1, -1, &[("retention.ms", "soon")])], false),
        ("0 partitions, bad config", vec![requests::topic("d-p0-cfg", 0, -1, &[("retention.ms", "soon")])], false),
        ("rf 3, 0 partitions", vec![requests::topic("d-rf3-p0", 0, 3, &[])], false),
        ("bad name, bad config", vec![requests::topic("d-bad name", 1, -1, &[("retention.ms", "soon")])], false),
        ("validate only", vec![requests::topic("d-validate", 3, -1, &[("retention.ms", "1000")])], true),
        ("validate only, refused", vec![requests::topic("d-validate-bad", 1, 2, &[])], true),
    ];
    for (what, topics, validate_only) in cases {
        let (ours, theirs) = pair.both(&requests::create(topics, validate_only)).await?;
        let (mut ours, mut theirs) = (observe::created(&ours), observe::created(&theirs));
        if validate_only {
            // Documented (docs/compatibility.md): Kafka's controller answers validate-only
            // with a topic id it then throws away; seedlog creates nothing and names no id.
            if let Some(id_set) = ours.iter().find(|t| t.2) {
                return Err(format!("CreateTopics: {what}: seedlog named a topic id: {id_set:?}"));
            }
            for t in ours.iter_mut().chain(theirs.iter_mut()) {
                t.2 = false;
            }
        }
        same(&format!("CreateTopics: {what}"), &ours, &theirs)?;
    }
    // Validate-only created nothing.
    let (ours, theirs) = pair.both(&requests::metadata(&["d-validate"])).await?;
    same("Metadata after validate-only", &observe::metadata(&ours), &observe::metadata(&theirs))?;
    Ok(())
}

/// The configs a created topic lists (CreateTopics v5+) and DescribeConfigs of a topic and of
/// a missing one, on the keys seedlog lists. (The broker resource is not compared yet:
/// seedlog names topic-level keys there; docs/compatibility.md.)
pub async fn topic_configs(pair: &Pair) -> Outcome {
    let configs = [("retention.ms", "3600000"), ("max.message.bytes", "2000")];
    let request = requests::create(vec![requests::topic("d-configs", 1, -1, &configs)], false);
    let (ours, theirs) = pair.both(&request).await?;
    same("CreateTopics", &observe::created(&ours), &observe::created(&theirs))?;
    let mut only_kafka = observe::same_configs(
        "CreateTopics configs",
        &observe::created_configs(&ours, "d-configs"),
        &observe::created_configs(&theirs, "d-configs"),
    )?;
    pair.settle(&["d-configs".into()], &[]).await?;
    let (ours, theirs) = pair.both(&requests::describe_configs(2, "d-configs")).await?;
    let (ours, theirs) = (observe::described(&ours), observe::described(&theirs));
    same("DescribeConfigs topic", &observe::described_heads(&ours), &observe::described_heads(&theirs))?;
    only_kafka.extend(observe::same_configs("DescribeConfigs topic", &ours[0].3, &theirs[0].3)?);
    let (ours, theirs) = pair.both(&requests::describe_configs(2, "d-configs-nosuch")).await?;
    same(
        "DescribeConfigs missing topic",
        &observe::described_heads(&observe::described(&ours)),
        &observe::described_heads(&observe::described(&theirs)),
    )?;
    only_kafka.sort();
    only_kafka.dedup();
    eprintln!(
        "differential: {} topic config keys only Kafka lists (issue 12): {}",
        only_kafka.len(),
        only_kafka.join(" ")
    );
    Ok(())
}

/// A record larger than the broker's `message.max.bytes` and than a topic's
/// `max.message.bytes`.
pub async fn record_larger_than_the_limits(pair: &Pair) -> Outcome {
    create_ok(pair, &[("d-large", 1, &[]), ("d-small", 1, &[("max.message.bytes", "1000")])]).await?;
    let big = Bytes::from(vec![b'x'; 1_100_000]);
    let medium = Bytes::from(vec![b'y'; 2_000]);
    for (topic, value) in [("d-large", big), ("d-small", medium.clone()), ("d-large", medium)] {
        let request = requests::produce(topic, 0, batch(std::slice::from_ref(&value), ProducerIdentity::NONE, -1), 1);
        produced_alike(pair, &format!("Produce {} bytes to {topic}", value.len()), &request).await?;
    }
    Ok(())
}

/// The idempotent producer's rules: a duplicate gets the first answer, a gap is refused, a
/// new epoch starts at sequence 0, an older epoch is fenced.
pub async fn idempotent_sequences(pair: &Pair) -> Outcome {
    create_ok(pair, &[("d-idem", 1, &[])]).await?;
    // A producer id and epoch must both be given or both be -1.
    let half = InitProducerIdRequest::default()
        .with_transactional_id(None)
        .with_transaction_timeout_ms(60_000)
        .with_producer_id(ProducerId(0))
        .with_producer_epoch(-1);
    let (ours, theirs) = pair.both(&half).await?;
    same("InitProducerId with an id and no epoch", &observe::producer_id(&ours), &observe::producer_id(&theirs))?;
    let empty = half.with_producer_id(ProducerId(-1)).with_transactional_id(Some(StrBytes::from_static_str("").into()));
    let (ours, theirs) = pair.both(&empty).await?;
    same(
        "InitProducerId with an empty transactional id",
        &observe::producer_id(&ours),
        &observe::producer_id(&theirs),
    )?;
    let (ours, theirs) = pair.init_producer_ids().await?;
    same("InitProducerId", &observe::producer_id(&ours), &observe::producer_id(&theirs))?;
    let ids = [ours.producer_id, theirs.producer_id];
    // (what, epoch, base sequence, records): each sent to both, each broker with its own id.
    let steps: [(&str, i16, i32, usize); 8] = [
        ("first batch", 0, 0, 2),
        ("next batch", 0, 2, 1),
        ("duplicate of the first", 0, 0, 2),
        ("duplicate of the last", 0, 2, 1),
        ("gap", 0, 5, 1),
        ("new epoch, not from 0", 1, 3, 1),
        ("new epoch from 0", 1, 0, 1),
        ("older epoch", 0, 3, 1),
    ];
    for (what, epoch, sequence, n) in steps {
        let mut answers = Vec::new();
        for (connection, id) in [(&pair.seedlog, ids[0]), (&pair.kafka, ids[1])] {
            let identity = ProducerIdentity { producer_id: id.0, producer_epoch: epoch };
            let request = requests::produce("d-idem", 0, batch(&values(n), identity, sequence), -1);
            let version = pair.version(ApiKey::Produce)?;
            answers.push(connection.send(&request, version).await.map_err(|e| e.to_string())?);
        }
        same(&format!("idempotent Produce: {what}"), &observe::produced(&answers[0]), &observe::produced(&answers[1]))?;
    }
    let request = requests::fetch("d-idem", 0, 0, 1 << 20, 1 << 20);
    fetched_alike(pair, "Fetch of what the producer wrote", &request, 0).await?;
    Ok(())
}

/// Topic names at the edges of Kafka's rules: empty, `.`, `..`, 249 and 250 characters,
/// characters outside `[a-zA-Z0-9._-]`, and a name that collides with another once `.`
/// and `_` are taken as one.
pub async fn topic_name_edges(pair: &Pair) -> Outcome {
    create_ok(pair, &[("d-name.dot", 1, &[])]).await?;
    let long_ok = format!("d-{}", "n".repeat(247));
    let long_bad = format!("d-{}", "n".repeat(248));
    let names = ["", ".", "..", &long_ok, &long_bad, "d-bad name", "d-bad/name", "d-ü", "d-name_dot", "d-ok_-.9"];
    for topic in names {
        let (ours, theirs) = pair.both(&requests::create(vec![requests::topic(topic, 1, -1, &[])], false)).await?;
        let shown = if topic.len() > 20 { format!("{} chars", topic.len()) } else { format!("{topic:?}") };
        same(&format!("CreateTopics {shown}"), &observe::created(&ours), &observe::created(&theirs))?;
    }
    let (ours, theirs) = pair.both(&requests::metadata(&["d-bad name", ".", "d-nosuch"])).await?;
    same("Metadata of invalid and missing names", &observe::metadata(&ours), &observe::metadata(&theirs))?;
    Ok(())
}

/// Fetches with byte limits of 1 (a first batch comes whole, KIP-74), of one batch and a
/// bit, and of i32::MAX.
pub async fn fetch_byte_limits(pair: &Pair) -> Outcome {
    create_ok(pair, &[("d-bytes", 1, &[])]).await?;
    for first in [0, 4, 8] {
        let records = batch(&values(4), ProducerIdentity::NONE, -1);
        produced_alike(pair, &format!("Produce batch at {first}"), &requests::produce("d-bytes", 0, records, 1))
            .await?;
    }
    for (max_bytes, partition_max_bytes) in
        [(1, 1), (1, i32::MAX), (i32::MAX, 1), (150, 150), (400, 400), (i32::MAX, i32::MAX)]
    {
        for offset in [0, 2, 5] {
            let request = requests::fetch("d-bytes", 0, offset, max_bytes, partition_max_bytes);
            fetched_alike(
                pair,
                &format!("Fetch at {offset} max_bytes {max_bytes} partition_max_bytes {partition_max_bytes}"),
                &request,
                offset,
            )
            .await?;
        }
    }
    Ok(())
}

/// acks=0 gets no answer from either; what it wrote is there all the same.
pub async fn acks_zero(pair: &Pair) -> Outcome {
    create_ok(pair, &[("d-acks0", 1, &[])]).await?;
    pair.both_without_response(&requests::produce("d-acks0", 0, batch(&values(3), ProducerIdentity::NONE, -1), 0))
        .await?;
    // Both append before they read the next request on the connection.
    listed_alike(pair, "ListOffsets latest after acks=0", &requests::list_offsets("d-acks0", 0, -1)).await
}

/// Metadata: the shape of a created topic, a missing one, and deleting both.
pub async fn metadata_and_delete(pair: &Pair) -> Outcome {
    create_ok(pair, &[("d-meta", 3, &[])]).await?;
    let (ours, theirs) = pair.both(&requests::metadata(&["d-meta", "d-meta-nosuch"])).await?;
    same("Metadata", &observe::metadata(&ours), &observe::metadata(&theirs))?;
    let (ours, theirs) = pair.both(&requests::delete(&["d-meta", "d-meta-nosuch"])).await?;
    same("DeleteTopics", &observe::deleted(&ours), &observe::deleted(&theirs))?;
    pair.settle(&[], &["d-meta".into()]).await?;
    let (ours, theirs) = pair.both(&requests::metadata(&["d-meta"])).await?;
    same("Metadata after delete", &observe::metadata(&ours), &observe::metadata(&theirs))?;
    let (ours, theirs) =
        pair.both(&requests::produce("d-meta", 0, batch(&values(1), ProducerIdentity::NONE, -1), 1)).await?;
    same("Produce after delete", &observe::produced(&ours), &observe::produced(&theirs))
}

/// CreatePartitions: growing, keeping or shrinking the count, a missing topic, and replica
/// assignments that do not fit (too few, two replicas, an unknown broker).
pub async fn create_partitions(pair: &Pair) -> Outcome {
    use kafka_protocol::messages::create_partitions_request::CreatePartitionsAssignment;
    use kafka_protocol::messages::BrokerId;
    create_ok(pair, &[("d-grow", 2, &[])]).await?;
    let assigned = |count: i32, replicas: Vec<Vec<i32>>| {
        let mut request = requests::create_partitions("d-grow", count);
        request.topics[0].assignments = Some(
            replicas
                .into_iter()
                .map(|ids| {
                    CreatePartitionsAssignment::default().with_broker_ids(ids.into_iter().map(BrokerId).collect())
                })
                .collect(),
        );
        request
    };
    let cases = [
        ("keep 2", requests::create_partitions("d-grow", 2)),
        ("shrink to 1", requests::create_partitions("d-grow", 1)),
        ("missing topic", requests::create_partitions("d-grow-nosuch", 3)),
        ("grow to 4, one assignment", assigned(4, vec![vec![1]])),
        ("grow to 3, two replicas", assigned(3, vec![vec![1, 1]])),
        ("grow to 3, unknown broker", assigned(3, vec![vec![7]])),
        ("grow to 3, this broker", assigned(3, vec![vec![1]])),
        ("grow to 5", requests::create_partitions("d-grow", 5)),
    ];
    for (what, request) in cases {
        let (ours, theirs) = pair.both(&request).await?;
        same(
            &format!("CreatePartitions: {what}"),
            &observe::partitions_created(&ours),
            &observe::partitions_created(&theirs),
        )?;
    }
    pair.settle(&["d-grow".into()], &[]).await?;
    let (ours, theirs) = pair.both(&requests::metadata(&["d-grow"])).await?;
    same("Metadata after growing", &observe::metadata(&ours), &observe::metadata(&theirs))
}
