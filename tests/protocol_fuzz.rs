//! Fuzzing the request path: arbitrary and mutated frames through header and body
//! decoding, and hostile frame sizes through `FrameReader`.
//!
//! Two properties: nothing panics, and allocation stays bounded by the input. A counting
//! global allocator (per thread, so parallel tests do not mix) records the largest single
//! allocation and the peak of live bytes during each decode; both must stay within
//! [`BOUND_FACTOR`] × input + [`BOUND_SLACK`]. The factor is not 1 because decoded structs
//! are bigger than their wire form: the worst case is a Metadata v9 topic, 2 bytes on the
//! wire and a 72-byte struct (36×); vectors grow by doubling (×2) and, while moving, the
//! old block lives beside the new one (×1.5): 108×, so 128. (A valid 40 KB request of
//! 20 000 such topics measures 88×.) What the bound rules out is the bug class this test
//! exists for: an allocation sized by a count or length the client *claims* (i32::MAX
//! topics → gigabytes; in practice the allocation fails and the process aborts, which
//! fails this test binary too) rather than by the bytes it sent.
//!
//! Coverage-guided fuzzing can be run by hand with `cargo fuzz` on nightly; this is the
//! short stable run that `cargo test` does every time.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io;
use std::sync::OnceLock;

use bytes::Bytes;
use kafka_protocol::messages::{
    api_versions_request::ApiVersionsRequest, create_partitions_request as cp, create_topics_request as ct,
    delete_topics_request as dt, describe_configs_request as dc, fetch_request as fr, list_offsets_request as lo,
    metadata_request as md, offset_for_leader_epoch_request as ol, produce_request as pr, ApiKey, BrokerId,
    DescribeClusterRequest, InitProducerIdRequest, TopicName, TransactionalId,
};
use kafka_protocol::protocol::Encodable;
use proptest::prelude::*;
use seedlog::protocol::{
    decode_request_frame, encode_request, DecodeError, FrameReader, FrameSizeError, RequestError,
    DEFAULT_MAX_REQUEST_BYTES, SUPPORTED,
};

// ---------------------------------------------------------------------------------------
// The counting allocator.

const BOUND_FACTOR: usize = 128;
const BOUND_SLACK: usize = 64 * 1024;

struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn on_alloc(size: usize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get().saturating_add(size);
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
    let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
}

fn on_free(size: usize) {
    let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(size)));
}

// SAFETY: forwards every call to the system allocator unchanged; the bookkeeping touches
// only const-initialised thread-locals without destructors, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        on_alloc(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        on_alloc(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        on_free(layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Counted as the new block existing beside the old one, as it may while moving.
        on_alloc(new_size);
        on_free(layout.size());
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocation during one measured stretch of this thread.
#[derive(Debug, Clone, Copy)]
struct Usage {
    largest: usize,
    peak_growth: usize,
}

fn start_measuring() -> usize {
    let live = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(live));
    LARGEST.with(|largest| largest.set(0));
    live
}

fn usage_since(start_live: usize) -> Usage {
    Usage { largest: LARGEST.with(Cell::get), peak_growth: PEAK.with(Cell::get).saturating_sub(start_live) }
}

fn bound(input_len: usize) -> usize {
    BOUND_FACTOR * input_len + BOUND_SLACK
}

/// Decodes `frame` (header and body) and checks the allocation bound. Returns the outcome
/// so tests can look at it.
fn decode_bounded(frame: &[u8]) -> Result<(), RequestError> {
    let input = Bytes::copy_from_slice(frame);
    let start = start_measuring();
    let result = decode_request_frame(input).map(drop);
    let usage = usage_since(start);
    assert!(
        usage.largest <= bound(frame.len()) && usage.peak_growth <= bound(frame.len()),
        "{usage:?} for a {}-byte frame ({result:?})",
        frame.len()
    );
    result
}

// ---------------------------------------------------------------------------------------
// Valid frames of every supported (api, version), to mutate.

fn name(text: &'static str) -> TopicName {
    TopicName(text.into())
}

fn frame<R: Encodable>(key: ApiKey, version: i16, body: &R) -> Bytes {
    let frame =
        encode_request(key, version, 7, Some("fuzz"), body).unwrap_or_else(|e| panic!("{key:?} v{version}: {e}"));
    frame.slice(4..) // decode_request_frame takes the frame without its size
}

/// A request of `key` at `version` with nested arrays, using fields that exist at every
/// supported version (kafka-protocol refuses to encode fields a version lacks).
fn sample(key: ApiKey, version: i16) -> Bytes {
    match key {
        ApiKey::ApiVersions => {
            let mut req = ApiVersionsRequest::default();
            if version >= 3 {
                req = req.with_client_software_name("rdkafka".into()).with_client_software_version("2".into());
            }
            frame(key, version, &req)
        }
        ApiKey::Metadata => {
            let topic = |n| md::MetadataRequestTopic::default().with_name(Some(name(n)));
            frame(key, version, &md::MetadataRequest::default().with_topics(Some(vec![topic("a"), topic("bb")])))
        }
        ApiKey::Produce => {
            let part = |i, r: &'static [u8]| {
                pr::PartitionProduceData::default().with_index(i).with_records(Some(Bytes::from_static(r)))
            };
            let topic = pr::TopicProduceData::default()
                .with_name(name("t"))
                .with_partition_data(vec![part(0, b"batch"), part(1, b"")]);
            let req = pr::ProduceRequest::default()
                .with_transactional_id(Some(TransactionalId("x".into())))
                .with_acks(-1)
                .with_topic_data(vec![topic]);
            frame(key, version, &req)
        }
        ApiKey::Fetch => {
            let part =
                |i| fr::FetchPartition::default().with_partition(i).with_fetch_offset(5).with_partition_max_bytes(1024);
            let topic = fr::FetchTopic::default().with_topic(name("t")).with_partitions(vec![part(0), part(1)]);
            frame(key, version, &fr::FetchRequest::default().with_topics(vec![topic]))
        }
        ApiKey::ListOffsets => {
            let part = |i| lo::ListOffsetsPartition::default().with_partition_index(i).with_timestamp(-1);
            let topic = lo::ListOffsetsTopic::default().with_name(name("t")).with_partitions(vec![part(0), part(3)]);
            frame(key, version, &lo::ListOffsetsRequest::default().with_topics(vec![topic]))
        }
        ApiKey::CreateTopics => {
            let assignment = ct::CreatableReplicaAssignment::default().with_broker_ids(vec![BrokerId(1), BrokerId(2)]);
            let config = ct::CreatableTopicConfig::default().with_name("k".into()).with_value(Some("v".into()));
            let topic = ct::CreatableTopic::default()
                .with_name(name("t"))
                .with_assignments(vec![assignment])
                .with_configs(vec![config]);
            frame(key, version, &ct::CreateTopicsRequest::default().with_topics(vec![topic]))
        }
        ApiKey::DeleteTopics => {
            let mut req = dt::DeleteTopicsRequest::default();
            if version >= 6 {
                req = req.with_topics(vec![dt::DeleteTopicState::default().with_name(Some(name("t")))]);
            } else {
                req = req.with_topic_names(vec![name("a"), name("b")]);
            }
            frame(key, version, &req)
        }
        ApiKey::CreatePartitions => {
            let assignment = cp::CreatePartitionsAssignment::default().with_broker_ids(vec![BrokerId(1)]);
            let topic = cp::CreatePartitionsTopic::default()
                .with_name(name("t"))
                .with_count(2)
                .with_assignments(Some(vec![assignment]));
            frame(key, version, &cp::CreatePartitionsRequest::default().with_topics(vec![topic]))
        }
        ApiKey::DescribeConfigs => {
            let resource = dc::DescribeConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name("t".into())
                .with_configuration_keys(Some(vec!["a".into(), "b".into()]));
            frame(key, version, &dc::DescribeConfigsRequest::default().with_resources(vec![resource]))
        }
        ApiKey::DescribeCluster => frame(key, version, &DescribeClusterRequest::default()),
        ApiKey::InitProducerId => {
            let req = InitProducerIdRequest::default().with_transactional_id(Some(TransactionalId("txn".into())));
            frame(key, version, &req)
        }
        ApiKey::OffsetForLeaderEpoch => {
            let partition = ol::OffsetForLeaderPartition::default()
                .with_partition(0)
                .with_current_leader_epoch(3)
                .with_leader_epoch(2);
            let topic = ol::OffsetForLeaderTopic::default().with_topic(name("t")).with_partitions(vec![partition]);
            frame(key, version, &ol::OffsetForLeaderEpochRequest::default().with_topics(vec![topic]))
        }
        other => panic!("no sample for {other:?}"),
    }
}

/// One sample per supported (api, version), built once.
fn all_samples() -> &'static [Bytes] {
    static SAMPLES: OnceLock<Vec<Bytes>> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        SUPPORTED.iter().flat_map(|&(key, min, max)| (min..=max).map(move |version| sample(key, version))).collect()
    })
}

// ---------------------------------------------------------------------------------------
// Mutations.

/// Values that lie about sizes: as int32, int16, and as unsigned varints.
const LIES_I32: [i32; 6] = [i32::MAX, -1, 0x7fff_fff0, i32::MIN, -2, 0x0100_0000];
const LIES_I16: [i16; 4] = [i16::MAX, -1, -2, 0x7ff0];
const LIES_VARINT: [&[u8]; 4] = [
    &[0xff, 0xff, 0xff, 0xff, 0x0f],       // u32::MAX
    &[0xfe, 0xff, 0xff, 0xff, 0x0f],       // u32::MAX - 1
    &[0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // too long
    &[0x80, 0x80, 0x80, 0x80, 0x08],       // 2^31
];

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, xor: u8 },
    Truncate { at: usize },
    Insert { at: usize, bytes: Vec<u8> },
    LieI32 { at: usize, which: usize },
    LieI16 { at: usize, which: usize },
    LieVarint { at: usize, which: usize, replace: bool },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<usize>();
    prop_oneof![
        (at, 1..=255u8).prop_map(|(at, xor)| Mutation::Flip { at, xor }),
        at.prop_map(|at| Mutation::Truncate { at }),
        (at, prop::collection::vec(any::<u8>(), 1..8)).prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (at, 0..LIES_I32.len()).prop_map(|(at, which)| Mutation::LieI32 { at, which }),
        (at, 0..LIES_I16.len()).prop_map(|(at, which)| Mutation::LieI16 { at, which }),
        (at, 0..LIES_VARINT.len(), any::<bool>()).prop_map(|(at, which, replace)| Mutation::LieVarint {
            at,
            which,
            replace
        }),
    ]
}

fn overwrite(frame: &mut [u8], at: usize, bytes: &[u8]) {
    for (i, b) in bytes.iter().enumerate() {
        if let Some(slot) = frame.get_mut(at + i) {
            *slot = *b;
        }
    }
}

fn apply(frame: &mut Vec<u8>, mutation: &Mutation) {
    let pos = |at: usize, len: usize| if len == 0 { 0 } else { at % len };
    match mutation {
        Mutation::Flip { at, xor } => {
            let i = pos(*at, frame.len());
            if let Some(b) = frame.get_mut(i) {
                *b ^= xor;
            }
        }
        Mutation::Truncate { at } => frame.truncate(pos(*at, frame.len() + 1)),
        Mutation::Insert { at, bytes } => {
            let i = pos(*at, frame.len() + 1);
            frame.splice(i..i, bytes.iter().copied());
        }
        Mutation::LieI32 { at, which } => {
            let i = pos(*at, frame.len());
            overwrite(frame, i, &LIES_I32[*which].to_be_bytes());
        }
        Mutation::LieI16 { at, which } => {
            let i = pos(*at, frame.len());
            overwrite(frame, i, &LIES_I16[*which].to_be_bytes());
        }
        Mutation::LieVarint { at, which, replace } => {
            let i = pos(*at, frame.len());
            let lie = LIES_VARINT[*which];
            if *replace {
                overwrite(frame, i, lie);
            } else {
                frame.splice(i..i, lie.iter().copied());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8000, ..ProptestConfig::default() })]

    /// Arbitrary bytes as a whole frame: mostly rejected at the header.
    #[test]
    fn arbitrary_frames_never_panic_or_overallocate(frame in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_bounded(&frame);
    }

    /// A valid header for a random supported (api, version), then arbitrary body bytes.
    #[test]
    fn arbitrary_bodies_never_panic_or_overallocate(
        which in any::<prop::sample::Index>(),
        body in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let samples = all_samples();
        let sample = &samples[which.index(samples.len())];
        let header_len = sample.len() - body_len(sample);
        let mut frame = sample[..header_len].to_vec();
        frame.extend_from_slice(&body);
        let _ = decode_bounded(&frame);
    }

    /// Valid frames of every supported (api, version) with flips, truncations, insertions
    /// and lying length fields.
    #[test]
    fn mutated_frames_never_panic_or_overallocate(
        which in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let samples = all_samples();
        let mut frame = samples[which.index(samples.len())].to_vec();
        for m in &mutations {
            apply(&mut frame, m);
        }
        let _ = decode_bounded(&frame);
    }
}

/// The length of a sample's body: decode its header and see what is left.
fn body_len(sample: &Bytes) -> usize {
    let (_, body) = seedlog::protocol::decode_request_header(sample.clone()).expect("valid sample");
    body.len()
}

// ---------------------------------------------------------------------------------------
// Explicit cases.

fn header_bytes(key: ApiKey, version: i16) -> Vec<u8> {
    let flexible = key.request_header_version(version) >= 2;
    let mut out = Vec::new();
    out.extend_from_slice(&(key as i16).to_be_bytes());
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&1i32.to_be_bytes());
    out.extend_from_slice(&(-1i16).to_be_bytes()); // null client id
    if flexible {
        out.push(0);
    }
    out
}

fn invalid_length(err: &RequestError) -> bool {
    match err {
        RequestError::Malformed(DecodeError::InRequest { source, .. }) => {
            matches!(**source, DecodeError::InvalidLength { .. })
        }
        _ => false,
    }
}

#[test]
fn every_sample_decodes() {
    for sample in all_samples() {
        decode_bounded(sample).unwrap();
    }
}

#[test]
fn metadata_v1_claiming_i32_max_topics_is_a_decode_error() {
    let mut frame = header_bytes(ApiKey::Metadata, 1);
    frame.extend_from_slice(&i32::MAX.to_be_bytes());
    frame.extend_from_slice(&[0, 1, b'a']);
    let err = decode_bounded(&frame).unwrap_err();
    assert!(invalid_length(&err), "{err}");
    assert!(err.to_string().contains("MetadataRequest v1: topics"), "{err}");
}

#[test]
fn metadata_v9_compact_array_claiming_u32_max_minus_1_topics_is_a_decode_error() {
    let mut frame = header_bytes(ApiKey::Metadata, 9);
    frame.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]); // u32::MAX - 1 elements
    frame.extend_from_slice(&[2, b'a', 0, 1, 0, 0]);
    let err = decode_bounded(&frame).unwrap_err();
    assert!(invalid_length(&err), "{err}");
}

#[test]
fn lying_lengths_deep_inside_a_request_are_decode_errors() {
    // Produce v3: no transactional id, acks, timeout, one topic "t" with i32::MAX partitions.
    let mut frame = header_bytes(ApiKey::Produce, 3);
    frame.extend_from_slice(&[0xff, 0xff, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, b't']);
    frame.extend_from_slice(&i32::MAX.to_be_bytes());
    assert!(invalid_length(&decode_bounded(&frame).unwrap_err()));
    // Fetch v12: forgotten topics' partition list claiming u32::MAX - 2 entries.
    let mut frame = header_bytes(ApiKey::Fetch, 12);
    frame.extend_from_slice(&[0; 17]);
    frame.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 2, b'g']);
    frame.extend_from_slice(&[0xfd, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0]);
    assert!(invalid_length(&decode_bounded(&frame).unwrap_err()));
}

#[test]
fn a_dense_valid_request_stays_within_the_bound() {
    // The worst case of struct size to wire size: Metadata v9 topics with empty names,
    // two bytes each on the wire.
    let topics = vec![md::MetadataRequestTopic::default().with_name(Some(name(""))); 20_000];
    let body = md::MetadataRequest::default().with_topics(Some(topics));
    let frame = frame(ApiKey::Metadata, 9, &body);
    decode_bounded(&frame).unwrap();
}

/// Reads one frame from `input`, measuring allocation. Async, on the test's own thread,
/// so the same test runs on tokio and under madsim.
async fn read_one(input: &[u8], max_bytes: usize) -> (io::Result<Option<Bytes>>, Usage) {
    let mut reader = input;
    let start = start_measuring();
    let result = FrameReader::new(max_bytes).read_frame(&mut reader).await;
    (result, usage_since(start))
}

#[tokio::test]
async fn a_frame_claiming_2_gib_is_refused_before_allocating() {
    for claim in [0x8000_0000u32, u32::MAX, i32::MAX as u32, DEFAULT_MAX_REQUEST_BYTES as u32 + 1] {
        let mut input = claim.to_be_bytes().to_vec();
        input.extend_from_slice(&[0; 64]);
        let (result, usage) = read_one(&input, DEFAULT_MAX_REQUEST_BYTES).await;
        let err = result.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let size = err.get_ref().and_then(|e| e.downcast_ref::<FrameSizeError>()).unwrap().size;
        assert_eq!(size as u32, claim);
        assert!(usage.largest < BOUND_SLACK, "{usage:?}");
    }
}

#[tokio::test]
async fn a_frame_claiming_100_mib_but_sending_10_bytes_costs_little() {
    let mut input = (DEFAULT_MAX_REQUEST_BYTES as u32).to_be_bytes().to_vec();
    input.extend_from_slice(&[7; 10]);
    let (result, usage) = read_one(&input, DEFAULT_MAX_REQUEST_BYTES).await;
    assert_eq!(result.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    assert!(usage.peak_growth < BOUND_SLACK, "{usage:?}");
}

#[tokio::test]
async fn a_large_frame_is_buffered_in_proportion_to_its_size() {
    let payload = vec![1u8; 3_000_000];
    let mut input = (payload.len() as u32).to_be_bytes().to_vec();
    input.extend_from_slice(&payload);
    let (result, usage) = read_one(&input, DEFAULT_MAX_REQUEST_BYTES).await;
    assert_eq!(result.unwrap().unwrap().len(), payload.len());
    assert!(usage.largest <= 2 * payload.len() + BOUND_SLACK, "{usage:?}");
}
