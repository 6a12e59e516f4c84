#!/usr/bin/env python3
"""The real-client cases with kafka-python 3.x (pure Python; codecs from python-snappy, lz4, zstandard).

Usage: .venv/bin/python tests/clients/kafka_python_client.py --bootstrap 127.0.0.1:9092 --case produce-consume
Cases: produce-consume, compression, list-offsets-by-time, admin, oversized.

kafka-python negotiates versions with ApiVersions (it tries v4 first) and then infers a
"broker version" from the ranges the broker advertises; zstd needs that to be >= 2.1. Its
producer is idempotent by default (InitProducerId), as here.
"""

from __future__ import annotations

import logging
import os
import sys

import kafka.errors as Errors
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts in the work tree
import common  # noqa: E402  (tests/clients/common.py)
from common import (WAIT_S, CheckFailed, check, check_eq, check_produce_consume, check_values, deadline, expired,
                    key_of, retry_until, topic_name, value_of)

CLIENT = "kafka-python"
TIMEOUTS = {"request_timeout_ms": 15_000, "bootstrap_timeout_ms": 15_000}


def producer(bootstrap: str, **extra) -> KafkaProducer:
    # delivery_timeout_ms bounds every send: a broker that never answers fails the send in
    # the case, not a hang.
    config = {"acks": "all", "linger_ms": 5, "delivery_timeout_ms": 20_000, **TIMEOUTS, **extra}
    return KafkaProducer(bootstrap_servers=bootstrap, **config)


def consumer(bootstrap: str) -> KafkaConsumer:
    # No group: partitions assigned by hand, so only Metadata, ListOffsets and Fetch.
    return KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                         auto_offset_reset="earliest", **TIMEOUTS)


def admin(bootstrap: str) -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=bootstrap, **TIMEOUTS)


def create_topic(args, topic: str, partitions: int, config: dict | None = None) -> int:
    """CreateTopics and wait until metadata shows it with leaders; returns the partition count.

    With --auto-create: a producer's Metadata request auto-creates it (broker's partition count).
    """
    if args.auto_create:
        p = producer(args.bootstrap)
        try:
            return retry_until(f"auto-created {topic} in metadata", lambda: len(p.partitions_for(topic) or ()))
        finally:
            p.close(timeout=5)
    a = admin(args.bootstrap)
    try:
        spec = {"num_partitions": partitions, "replication_factor": 1, "configs": config or {}}
        try:
            a.create_topics({topic: spec}, timeout_ms=15_000, wait_for_metadata=True)
        except Errors.KafkaError as error:
            raise CheckFailed(f"CreateTopics {topic} ({partitions} partitions, config {config}): "
                              f"{type(error).__name__}: {error}") from error
    finally:
        a.close()
    return partitions


def produce_all(p: KafkaProducer, records) -> tuple[dict, list]:
    """Send (topic, partition|None, key, value, timestamp|None) tuples and wait for every ack.

    Returns (acked: index -> (partition, offset), errors: [(index, exception)]).
    """
    futures = []
    for topic, partition, key, value, ts in records:
        futures.append(p.send(topic, value=value, key=key, partition=partition, timestamp_ms=ts))
    p.flush(timeout=WAIT_S)
    acked, errors = {}, []
    for i, future in enumerate(futures):
        check(future.is_done, f"record {i} still unacknowledged after {WAIT_S} s")
        try:
            meta = future.get(timeout=1)
            acked[i] = (meta.partition, meta.offset)
        except Errors.KafkaError as error:
            errors.append((i, error))
    return acked, errors


def check_no_errors(errors: list, what: str) -> None:
    if errors:
        i, error = errors[0]
        raise CheckFailed(f"{what}: {len(errors)} sends failed, first: record {i}: {type(error).__name__}: {error}")


def consume(bootstrap: str, topic: str, partitions: int, count: int) -> list:
    """Read `count` records from the start of every partition (polling a little past
    `count` so duplicates show up); returns ConsumerRecords in the order received."""
    c = consumer(bootstrap)
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        records = []
        at = deadline()
        extra_polls = 0
        while not expired(at):
            for batch in c.poll(timeout_ms=500, max_records=2000).values():
                records.extend(batch)
            if len(records) >= count:
                extra_polls += 1
                if extra_polls > 1:
                    break
        check(len(records) >= count, f"consumed {len(records)} of {count} records from {topic} within {WAIT_S} s")
        return records
    finally:
        c.close()


def text(data: bytes | None) -> str | None:
    return None if data is None else data.decode()


# --- the cases --------------------------------------------------------------------------------------------------


def produce_consume(args) -> None:
    topic = topic_name(CLIENT, "produce-consume")
    partitions = create_topic(args, topic, common.PARTITIONS)
    p = producer(args.bootstrap)
    try:
        records = [(topic, None, key_of(i).encode(), value_of(i).encode(), None) for i in range(common.RECORDS)]
        acked, errors = produce_all(p, records)
    finally:
        p.close(timeout=5)
    check_no_errors(errors, "produce")
    consumed = [(r.partition, r.offset, text(r.key), text(r.value))
                for r in consume(args.bootstrap, topic, partitions, common.RECORDS)]
    check_produce_consume(acked, consumed, partitions)


def compression(args) -> None:
    for codec in common.CODECS:
        topic = topic_name(CLIENT, "compression", codec)
        create_topic(args, topic, 1)
        # linger so that many records share a batch: the broker sees real compressed batches.
        p = producer(args.bootstrap, compression_type=codec, linger_ms=50)
        try:
            records = [(topic, 0, None, value_of(i).encode(), None) for i in range(common.CODEC_RECORDS)]
            acked, errors = produce_all(p, records)
        finally:
            p.close(timeout=5)
        check_no_errors(errors, f"produce with {codec}")
        check_eq(sorted(acked.values()), [(0, i) for i in range(common.CODEC_RECORDS)], f"{codec}: acknowledged offsets")
        records = consume(args.bootstrap, topic, 1, common.CODEC_RECORDS)
        check_values([text(r.value) for r in records], common.CODEC_RECORDS, common.VALUE_BYTES, f"{codec} round trip")
        check_eq([r.offset for r in records], list(range(common.CODEC_RECORDS)), f"{codec}: offsets consumed")


def list_offsets_by_time(args) -> None:
    topic = topic_name(CLIENT, "list-offsets-by-time")
    create_topic(args, topic, 1)
    base = common.ts_base_ms()
    p = producer(args.bootstrap)
    try:
        records = [(topic, 0, None, value_of(i).encode(), base + i * common.TS_STEP_MS) for i in range(common.TS_RECORDS)]
        _, errors = produce_all(p, records)
    finally:
        p.close(timeout=5)
    check_no_errors(errors, "produce with timestamps")

    tp = TopicPartition(topic, 0)
    c = consumer(args.bootstrap)
    try:
        def offset_for(ts: int) -> int:
            result = c.offsets_for_times({tp: ts})[tp]
            return -1 if result is None else result.offset  # None: no record at or after ts

        check_eq(offset_for(base + common.TS_QUERY_OFFSET_MS), common.TS_EXPECTED_OFFSET,
                 f"offset for timestamp base+{common.TS_QUERY_OFFSET_MS} (base {base})")
        check_eq(offset_for(base), 0, "offset for the first record's timestamp")
        check_eq(offset_for(base - 60_000), 0, "offset for a timestamp before every record")
        check_eq(offset_for(base + common.TS_RECORDS * common.TS_STEP_MS), -1,
                 "offset for a timestamp after every record (none)")
        check_eq(c.beginning_offsets([tp])[tp], 0, "earliest offset")
        check_eq(c.end_offsets([tp])[tp], common.TS_RECORDS, "latest offset")
    finally:
        c.close()
    records = consume(args.bootstrap, topic, 1, common.TS_RECORDS)
    check_eq([(r.timestamp_type, r.timestamp) for r in records],
             [(0, base + i * common.TS_STEP_MS) for i in range(common.TS_RECORDS)],
             "(timestamp type, timestamp) read back (type 0: CreateTime)")


def admin_case(args) -> None:
    topic = topic_name(CLIENT, "admin")
    create_topic(args, topic, common.ADMIN_PARTITIONS, {"retention.ms": common.ADMIN_RETENTION_MS})
    a = admin(args.bootstrap)
    try:
        retry_until(f"list_topics includes {topic}", lambda: topic in a.list_topics())
        [described] = a.describe_topics([topic])
        check_eq(described.get("error_code", 0), 0, f"error code describing {topic}")
        check_eq(len(described["partitions"]), common.ADMIN_PARTITIONS, f"partitions of {topic}")

        configs = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)], config_filter="all")
        entries = configs.get("topic", {}).get(topic, {})
        entry = entries.get("retention.ms")
        check(entry is not None, f"describe_configs {topic}: no retention.ms among {sorted(entries)[:20]} ({configs})")
        check_eq(entry["value"], common.ADMIN_RETENTION_MS, f"retention.ms of {topic}")
        check_eq(entry["config_source"], "DYNAMIC_TOPIC_CONFIG", f"source of {topic}'s retention.ms")

        try:
            a.delete_topics([topic], timeout_ms=15_000)
        except Errors.KafkaError as error:
            raise CheckFailed(f"DeleteTopics {topic}: {type(error).__name__}: {error}") from error
        retry_until(f"{topic} gone from list_topics", lambda: topic not in a.list_topics())
    finally:
        a.close()


def oversized(args) -> None:
    topic = topic_name(CLIENT, "oversized")
    create_topic(args, topic, 1)
    # max_request_size raised well past 2 MiB, so kafka-python sends the record (its own
    # check raises MessageSizeTooLargeError from send() itself) and the broker must refuse it.
    # Not idempotent: kafka-python 3.0.12's idempotent producer turns any non-retriable
    # produce error into a fatal producer state (TransactionManager.classify_batch_error
    # returns FATAL for non-transactional producers, unlike the Java client), so the same
    # producer could never send the normal record afterwards, whatever the broker does.
    p = producer(args.bootstrap, max_request_size=common.CLIENT_MAX_REQUEST_BYTES, linger_ms=0,
                 enable_idempotence=False)
    try:
        try:
            acked, errors = produce_all(p, [(topic, 0, None, os.urandom(common.OVERSIZED_BYTES), None)])
        except Errors.MessageSizeTooLargeError as error:
            raise CheckFailed(f"the client refused the {common.OVERSIZED_BYTES}-byte record itself: {error}") from error
        check(not acked, f"the broker accepted a {common.OVERSIZED_BYTES}-byte record at {acked.get(0)} "
                         f"(max.message.bytes is ~1 MiB by default)")
        [(_, error)] = errors
        check(isinstance(error, (Errors.MessageSizeTooLargeError, Errors.RecordListTooLargeError)),
              f"oversized record: expected MESSAGE_TOO_LARGE or RECORD_LIST_TOO_LARGE from the broker, "
              f"got {type(error).__name__}: {error}")

        acked, errors = produce_all(p, [(topic, 0, None, b"after-oversized", None)])
        check_no_errors(errors, "a normal record after the oversized one")
        check_eq(acked.get(0), (0, 0), "(partition, offset) of the normal record after the oversized one")
    finally:
        p.close(timeout=5)
    records = consume(args.bootstrap, topic, 1, 1)
    check_eq([(r.offset, text(r.value)) for r in records], [(0, "after-oversized")], f"records in {topic}")


CASES = {
    "produce-consume": produce_consume,
    "compression": compression,
    "list-offsets-by-time": list_offsets_by_time,
    "admin": admin_case,
    "oversized": oversized,
}

if __name__ == "__main__":
    if os.environ.get("SEEDLOG_CLIENT_VERBOSE") == "1" or "--verbose" in sys.argv:
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    else:
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    sys.exit(common.main(CLIENT, CASES))
