//! Record batch encoding and fetch decoding: codecs, partial batches, offsets below the
//! fetch position, control batches and aborted transactions.

use super::*;

fn record(i: i64) -> OutgoingRecord {
    OutgoingRecord {
        key: Some(Bytes::from(format!("k{i}"))),
        value: Some(Bytes::from(format!("value-{i}"))),
        headers: vec![("h".to_owned(), Some(Bytes::from_static(b"v")))],
        timestamp_ms: 1_000 + i,
    }
}

/// Rewrites a batch's base offset (it lies outside the CRC, as the broker does).
fn at_offset(batch: &Bytes, base_offset: i64) -> Bytes {
    let mut bytes = BytesMut::from(batch.as_ref());
    bytes[..8].copy_from_slice(&base_offset.to_be_bytes());
    bytes.freeze()
}

fn concat(batches: &[Bytes]) -> Bytes {
    let mut all = BytesMut::new();
    batches.iter().for_each(|b| all.extend_from_slice(b));
    all.freeze()
}

fn offsets(decoded: &DecodedFetch) -> Vec<i64> {
    decoded.records.iter().map(|r| r.offset).collect()
}

#[test]
fn every_codec_round_trips() {
    let identity = ProducerIdentity { producer_id: 42, producer_epoch: 3 };
    let records: Vec<_> = (0..3).map(record).collect();
    for compression in [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd]
    {
        let batch = encode_batch(&records, identity, 7, compression).unwrap();
        let decoded = decode_fetched(batch.clone(), 0, false, &[]).unwrap();
        assert_eq!(offsets(&decoded), vec![0, 1, 2], "{compression:?}");
        assert_eq!(decoded.next_offset, Some(3));
        let first = &decoded.records[0];
        assert_eq!(first.key.as_deref(), Some(&b"k0"[..]));
        assert_eq!(first.value.as_deref(), Some(&b"value-0"[..]));
        assert_eq!(first.headers, vec![("h".to_owned(), Some(Bytes::from_static(b"v")))]);
        assert_eq!(first.timestamp, 1_000);
        let info = RecordBatchDecoder::decode_batch_info(&mut batch.clone()).unwrap();
        assert_eq!(info.len(), 1, "one batch");
        assert_eq!((info[0].producer_id, info[0].producer_epoch, info[0].base_sequence), (42, 3, 7));
        assert_eq!(info[0].compression, compression);
    }
}

#[test]
fn a_producer_without_idempotence_writes_one_batch_with_no_sequence() {
    let records: Vec<_> = (0..4).map(record).collect();
    let batch = encode_batch(&records, ProducerIdentity::NONE, -1, Compression::None).unwrap();
    let info = RecordBatchDecoder::decode_batch_info(&mut batch.clone()).unwrap();
    assert_eq!(info.len(), 1);
    assert_eq!((info[0].producer_id, info[0].base_sequence, info[0].record_count), (-1, -1, 4));
}

#[test]
fn a_partial_trailing_batch_is_left_for_the_next_fetch() {
    let first = encode_batch(&[record(0), record(1)], ProducerIdentity::NONE, -1, Compression::None).unwrap();
    let second = at_offset(&first, 2);
    let all = concat(&[first, second.clone()]);
    let cut = all.slice(..all.len() - 5);
    let decoded = decode_fetched(cut, 0, false, &[]).unwrap();
    assert_eq!(offsets(&decoded), vec![0, 1]);
    assert_eq!(decoded.next_offset, Some(2));
    let only_partial = second.slice(..20);
    assert_eq!(decode_fetched(only_partial, 2, false, &[]).unwrap(), DecodedFetch::default());
}

#[test]
fn records_below_the_fetch_offset_are_skipped() {
    let batch = encode_batch(&[record(0), record(1), record(2)], ProducerIdentity::NONE, -1, Compression::Lz4).unwrap();
    let later = at_offset(&batch, 3);
    let all = concat(&[batch, later]);
    let decoded = decode_fetched(all.clone(), 1, false, &[]).unwrap();
    assert_eq!(offsets(&decoded), vec![1, 2, 3, 4, 5]);
    let decoded = decode_fetched(all, 4, false, &[]).unwrap();
    assert_eq!(offsets(&decoded), vec![4, 5]);
    assert_eq!(decoded.next_offset, Some(6));
}

fn txn_batch(base_offset: i64, producer_id: i64, count: i64, control: Option<i16>) -> Bytes {
    let records: Vec<Record> = (0..count)
        .map(|i| Record {
            transactional: true,
            control: control.is_some(),
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id,
            producer_epoch: 0,
            timestamp_type: TimestampType::Creation,
            offset: base_offset + i,
            sequence: i as i32,
            timestamp: 5,
            key: Some(match control {
                Some(kind) => Bytes::from([0i16.to_be_bytes(), kind.to_be_bytes()].concat()),
                None => Bytes::from_static(b"k"),
            }),
            value: Some(Bytes::from_static(b"v")),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions { version: 2, compression: Compression::None };
    RecordBatchEncoder::encode(&mut buf, &records, &options).unwrap();
    buf.freeze()
}

#[test]
fn read_committed_drops_aborted_transactions_and_control_batches_never_show() {
    let aborted_data = txn_batch(0, 7, 2, None);
    let abort_marker = txn_batch(2, 7, 1, Some(0));
    let committed_data = txn_batch(3, 8, 1, None);
    let commit_marker = txn_batch(4, 8, 1, Some(1));
    let plain = at_offset(&encode_batch(&[record(9)], ProducerIdentity::NONE, -1, Compression::None).unwrap(), 5);
    let all = concat(&[aborted_data, abort_marker, committed_data, commit_marker, plain]);
    let aborted = [AbortedTransaction { producer_id: 7, first_offset: 0 }];

    let committed = decode_fetched(all.clone(), 0, true, &aborted).unwrap();
    assert_eq!(offsets(&committed), vec![3, 5]);
    assert_eq!(committed.next_offset, Some(6));

    let uncommitted = decode_fetched(all, 0, false, &aborted).unwrap();
    assert_eq!(offsets(&uncommitted), vec![0, 1, 3, 5]);
}

#[test]
fn a_batch_claiming_impossible_record_counts_is_refused_before_decoding() {
    let batch = encode_batch(&[record(0)], ProducerIdentity::NONE, -1, Compression::None).unwrap();
    let mut bytes = BytesMut::from(batch.as_ref());
    bytes[57..61].copy_from_slice(&i32::MAX.to_be_bytes());
    assert!(matches!(decode_fetched(bytes.freeze(), 0, false, &[]), Err(ClientError::Protocol(_))));
    let mut negative = BytesMut::from(batch.as_ref());
    negative[57..61].copy_from_slice(&(-5i32).to_be_bytes());
    assert!(decode_fetched(negative.freeze(), 0, false, &[]).is_err());
}

#[test]
fn a_corrupted_batch_fails_its_crc() {
    let batch = encode_batch(&[record(0)], ProducerIdentity::NONE, -1, Compression::None).unwrap();
    let mut bytes = BytesMut::from(batch.as_ref());
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    assert!(matches!(decode_fetched(bytes.freeze(), 0, false, &[]), Err(ClientError::Protocol(_))));
}

#[test]
fn compression_names_parse_like_kafkas() {
    assert_eq!(parse_compression("zstd").unwrap(), Compression::Zstd);
    assert_eq!(parse_compression("GZIP").unwrap(), Compression::Gzip);
    assert!(parse_compression("brotli").is_err());
}

#[test]
fn a_restamped_batch_is_the_batch_encoded_with_the_new_identity() {
    let records: Vec<_> = (0..3).map(record).collect();
    let old = ProducerIdentity { producer_id: 42, producer_epoch: 3 };
    let new = ProducerIdentity { producer_id: 42, producer_epoch: 4 };
    for compression in [Compression::None, Compression::Lz4] {
        let batch = encode_batch(&records, old, 7, compression).unwrap();
        let restamped = restamp_batch(&batch, new, 0).unwrap();
        assert_eq!(restamped, encode_batch(&records, new, 0, compression).unwrap(), "{compression:?}");
    }
    assert!(restamp_batch(&[0u8; 20], new, 0).is_err());
}
