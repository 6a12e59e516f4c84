#!/usr/bin/env python3
"""The real-client cases with confluent-kafka (librdkafka 2.x, bundled in the wheel).

Usage: .venv/bin/python tests/clients/confluent_client.py --bootstrap 127.0.0.1:9092 --case produce-consume
Cases: produce-consume, compression, list-offsets-by-time, admin, oversized, and the pair
restart-produce / restart-consume (--topic T) that tests/real_clients.rs runs around a
SIGKILL of the broker.
"""

from __future__ import annotations

import logging
import os
import sys
import time

from confluent_kafka import (OFFSET_BEGINNING, TIMESTAMP_CREATE_TIME, Consumer, KafkaError, KafkaException,
                             Producer, TopicCollection, TopicPartition)
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewTopic, ResourceType

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts in the work tree
import common  # noqa: E402  (tests/clients/common.py)
from common import (WAIT_S, CheckFailed, check, check_eq, check_produce_consume, check_values, deadline, expired,
                    key_of, retry_until, topic_name, value_of)

CLIENT = "confluent"
RESTART_RECORDS = 1000


def base_config(bootstrap: str) -> dict:
    def on_error(error: KafkaError) -> None:
        # Client-level errors (a refused connection, say): librdkafka retries them itself;
        # log them (deduplicated) so a failure's stderr shows what went on.
        LOGGER.error("client error%s: %s", " (fatal)" if error.fatal() else "", error)

    config = {"bootstrap.servers": bootstrap, "error_cb": on_error, "socket.timeout.ms": 10_000, "logger": LOGGER}
    if common.verbose():
        config["debug"] = "broker,protocol,topic,msg"
    return config


class OncePerMessage(logging.Filter):
    """librdkafka repeats a failing connection's log line every reconnect (many per second):
    let each distinct line through a few times only, so a failure's stderr stays readable."""

    def __init__(self, limit: int = 3):
        super().__init__()
        self.limit = limit
        self.seen: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        self.seen[message] = self.seen.get(message, 0) + 1
        return common.verbose() or self.seen[message] <= self.limit


LOGGER = logging.getLogger("librdkafka")
LOGGER.addFilter(OncePerMessage())


def producer(bootstrap: str, **extra) -> Producer:
    # message.timeout.ms bounds every delivery: a broker that never answers gives a delivery
    # error within the case, not a hang.
    return Producer({**base_config(bootstrap), "acks": "all", "linger.ms": 5, "message.timeout.ms": 20_000, **extra})


def consumer(bootstrap: str) -> Consumer:
    # librdkafka requires a group.id, but we assign partitions by hand: no group join, no
    # committed offsets; only Metadata, ListOffsets and Fetch (plus a FindCoordinator).
    return Consumer({**base_config(bootstrap), "group.id": topic_name(CLIENT, "group"),
                     "enable.auto.commit": False, "auto.offset.reset": "earliest",
                     "allow.auto.create.topics": False})


def admin(bootstrap: str) -> AdminClient:
    return AdminClient(base_config(bootstrap))


def admin_result(client: AdminClient, future, what: str):
    """Wait for an admin future, serving the client's logs and error callbacks meanwhile
    (librdkafka delivers them only from poll()). KafkaException becomes CheckFailed."""
    at = deadline()
    while not future.done() and not expired(at):
        client.poll(0.1)
    if not future.done():
        raise CheckFailed(f"{what}: no answer within {WAIT_S} s")
    try:
        return future.result()
    except KafkaException as error:
        raise CheckFailed(f"{what}: {error}") from error


def create_topic(args, topic: str, partitions: int, config: dict | None = None) -> int:
    """CreateTopics, then wait until metadata shows it; returns the partition count.

    With --auto-create: a Metadata request auto-creates it, with the broker's partition count.
    """
    if args.auto_create:
        p = producer(args.bootstrap)

        def count() -> int:
            meta = p.list_topics(topic, timeout=5).topics.get(topic)
            return len(meta.partitions) if meta is not None and meta.error is None else 0
        return retry_until(f"auto-created {topic} in metadata", count)
    client = admin(args.bootstrap)
    futures = client.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1,
                                             config=config or {})], operation_timeout=15, request_timeout=20)
    admin_result(client, futures[topic], f"CreateTopics {topic} ({partitions} partitions, config {config})")
    wait_for_partitions(client, topic, partitions)
    return partitions


def wait_for_partitions(client, topic: str, partitions: int) -> None:
    """Metadata shows the topic with `partitions` partitions, each with a leader."""
    def ready():
        meta = client.list_topics(topic, timeout=5).topics.get(topic)
        if meta is None or meta.error is not None:
            return False
        return len(meta.partitions) == partitions and all(p.leader >= 0 for p in meta.partitions.values())
    retry_until(f"metadata shows {topic} with {partitions} partitions and leaders", ready)


def produce_all(p: Producer, records) -> tuple[dict, list]:
    """Produce (topic, partition|None, key, value, timestamp|None) tuples; wait for every ack.

    Returns (acked: index -> (partition, offset), errors: [(index, KafkaError)]), the index
    being the position in `records`.
    """
    acked: dict[int, tuple[int, int]] = {}
    errors: list[tuple[int, KafkaError]] = []

    def on_delivery(i):
        def callback(error, message):
            if error is not None:
                errors.append((i, error))
            else:
                acked[i] = (message.partition(), message.offset())
        return callback

    for i, (topic, partition, key, value, ts) in enumerate(records):
        kwargs = {"key": key, "value": value, "on_delivery": on_delivery(i)}
        if partition is not None:
            kwargs["partition"] = partition
        if ts is not None:
            kwargs["timestamp"] = ts
        while True:
            try:
                p.produce(topic, **kwargs)
                break
            except BufferError:  # local queue full: serve delivery reports, then retry
                p.poll(0.1)
        p.poll(0)
    remaining = p.flush(WAIT_S)
    check(remaining == 0, f"{remaining} records still unacknowledged after {WAIT_S} s "
                          f"(acked {len(acked)}, failed {len(errors)})")
    return acked, errors


def check_no_errors(errors: list, what: str) -> None:
    if errors:
        i, error = errors[0]
        raise CheckFailed(f"{what}: {len(errors)} deliveries failed, first: record {i}: {error}")


def consume(bootstrap: str, topic: str, partitions: int, count: int) -> list:
    """Read `count` records from the start of every partition; returns Message objects.

    Polls a little past `count` so duplicates show up too.
    """
    c = consumer(bootstrap)
    try:
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        messages = []
        at = deadline()
        settle_until = None
        while not expired(at):
            for message in c.consume(num_messages=1000, timeout=0.5):
                if message.error() is not None:
                    if message.error().code() == KafkaError._PARTITION_EOF:
                        continue
                    raise CheckFailed(f"consume {topic}: {message.error()}")
                messages.append(message)
            if len(messages) >= count:
                if settle_until is None:
                    settle_until = time.monotonic() + 0.5
                elif time.monotonic() >= settle_until:
                    break
        check(len(messages) >= count, f"consumed {len(messages)} of {count} records from {topic} within {WAIT_S} s")
        return messages
    finally:
        c.close()


def text(data: bytes | None) -> str | None:
    return None if data is None else data.decode()


# --- the cases --------------------------------------------------------------------------------------------------


def produce_consume(args) -> None:
    topic = topic_name(CLIENT, "produce-consume")
    partitions = create_topic(args, topic, common.PARTITIONS)
    records = [(topic, None, key_of(i).encode(), value_of(i).encode(), None) for i in range(common.RECORDS)]
    acked, errors = produce_all(producer(args.bootstrap), records)
    check_no_errors(errors, "produce")
    messages = consume(args.bootstrap, topic, partitions, common.RECORDS)
    consumed = [(m.partition(), m.offset(), text(m.key()), text(m.value())) for m in messages]
    check_produce_consume(acked, consumed, partitions)


def compression(args) -> None:
    for codec in common.CODECS:
        topic = topic_name(CLIENT, "compression", codec)
        create_topic(args, topic, 1)
        # linger so that many records share a batch: the broker sees real compressed batches.
        p = producer(args.bootstrap, **{"compression.type": codec, "linger.ms": 50})
        records = [(topic, 0, None, value_of(i).encode(), None) for i in range(common.CODEC_RECORDS)]
        acked, errors = produce_all(p, records)
        check_no_errors(errors, f"produce with {codec}")
        check_eq(sorted(acked.values()), [(0, i) for i in range(common.CODEC_RECORDS)], f"{codec}: acknowledged offsets")
        messages = consume(args.bootstrap, topic, 1, common.CODEC_RECORDS)
        check_values([text(m.value()) for m in messages], common.CODEC_RECORDS, common.VALUE_BYTES, f"{codec} round trip")
        check_eq([m.offset() for m in messages], list(range(common.CODEC_RECORDS)), f"{codec}: offsets consumed")


def list_offsets_by_time(args) -> None:
    topic = topic_name(CLIENT, "list-offsets-by-time")
    create_topic(args, topic, 1)
    base = common.ts_base_ms()
    records = [(topic, 0, None, value_of(i).encode(), base + i * common.TS_STEP_MS) for i in range(common.TS_RECORDS)]
    _, errors = produce_all(producer(args.bootstrap), records)
    check_no_errors(errors, "produce with timestamps")

    c = consumer(args.bootstrap)
    try:
        def offset_for(ts: int) -> int:
            [result] = c.offsets_for_times([TopicPartition(topic, 0, ts)], timeout=10)
            if result.error is not None:
                raise CheckFailed(f"ListOffsets for timestamp {ts}: {result.error}")
            return result.offset

        check_eq(offset_for(base + common.TS_QUERY_OFFSET_MS), common.TS_EXPECTED_OFFSET,
                 f"offset for timestamp base+{common.TS_QUERY_OFFSET_MS} (base {base})")
        check_eq(offset_for(base), 0, "offset for the first record's timestamp")
        check_eq(offset_for(base - 60_000), 0, "offset for a timestamp before every record")
        check_eq(offset_for(base + common.TS_RECORDS * common.TS_STEP_MS), -1,
                 "offset for a timestamp after every record (none: -1)")
        low, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10, cached=False)
        check_eq(low, 0, "earliest offset")
        check_eq(high, common.TS_RECORDS, "latest offset")
    finally:
        c.close()
    messages = consume(args.bootstrap, topic, 1, common.TS_RECORDS)
    check_eq([m.timestamp() for m in messages],
             [(TIMESTAMP_CREATE_TIME, base + i * common.TS_STEP_MS) for i in range(common.TS_RECORDS)],
             "timestamps read back (type, ms)")


def admin_case(args) -> None:
    topic = topic_name(CLIENT, "admin")
    a = admin(args.bootstrap)
    create_topic(args, topic, common.ADMIN_PARTITIONS, {"retention.ms": common.ADMIN_RETENTION_MS})

    retry_until(f"list_topics includes {topic}", lambda: topic in a.list_topics(timeout=5).topics)
    described = admin_result(a, a.describe_topics(TopicCollection([topic]), request_timeout=10)[topic],
                             f"DescribeTopics {topic}")
    check_eq(len(described.partitions), common.ADMIN_PARTITIONS, f"partitions of {topic} (DescribeTopics)")

    resource = ConfigResource(ResourceType.TOPIC, topic)
    configs = admin_result(a, a.describe_configs([resource], request_timeout=10)[resource], f"DescribeConfigs {topic}")
    entry = configs.get("retention.ms")
    check(entry is not None, f"describe_configs {topic}: no retention.ms among {sorted(configs)[:20]}")
    check_eq(entry.value, common.ADMIN_RETENTION_MS, f"retention.ms of {topic}")
    check_eq(ConfigSource(entry.source), ConfigSource.DYNAMIC_TOPIC_CONFIG, f"source of {topic}'s retention.ms")

    futures = a.delete_topics([topic], operation_timeout=15, request_timeout=20)
    admin_result(a, futures[topic], f"DeleteTopics {topic}")
    retry_until(f"{topic} gone from list_topics", lambda: topic not in a.list_topics(timeout=5).topics)


def oversized(args) -> None:
    topic = topic_name(CLIENT, "oversized")
    create_topic(args, topic, 1)
    # The client-side limit (message.max.bytes) raised well past 2 MiB, so librdkafka sends
    # the record and the broker must refuse it.
    p = producer(args.bootstrap, **{"message.max.bytes": common.CLIENT_MAX_REQUEST_BYTES, "linger.ms": 0})
    try:
        acked, errors = produce_all(p, [(topic, 0, None, os.urandom(common.OVERSIZED_BYTES), None)])
    except KafkaException as error:
        raise CheckFailed(f"the client refused the {common.OVERSIZED_BYTES}-byte record itself: {error}") from error
    check(not acked, f"the broker accepted a {common.OVERSIZED_BYTES}-byte record at {acked.get(0)} "
                     f"(max.message.bytes is ~1 MiB by default)")
    [(_, error)] = errors
    check(error.code() in (KafkaError.MSG_SIZE_TOO_LARGE, KafkaError.RECORD_LIST_TOO_LARGE),
          f"oversized record: expected MESSAGE_TOO_LARGE or RECORD_LIST_TOO_LARGE from the broker, got {error}")

    acked, errors = produce_all(p, [(topic, 0, None, b"after-oversized", None)])
    check_no_errors(errors, "a normal record after the oversized one")
    check_eq(acked.get(0), (0, 0), "(partition, offset) of the normal record after the oversized one")
    messages = consume(args.bootstrap, topic, 1, 1)
    check_eq([(m.offset(), text(m.value())) for m in messages], [(0, "after-oversized")], f"records in {topic}")


def restart_produce(args) -> None:
    """Before the SIGKILL: RESTART_RECORDS keyed records with acks=all, every one acknowledged."""
    create_topic(args, args.topic, common.PARTITIONS)
    records = [(args.topic, None, key_of(i).encode(), value_of(i).encode(), None) for i in range(RESTART_RECORDS)]
    acked, errors = produce_all(producer(args.bootstrap), records)
    check_no_errors(errors, "produce before the kill")
    check_eq(len(acked), RESTART_RECORDS, "records acknowledged")


def restart_consume(args) -> None:
    """After the restart: every acknowledged record is there, once, in order."""
    wait_for_partitions(admin(args.bootstrap), args.topic, common.PARTITIONS)
    messages = consume(args.bootstrap, args.topic, common.PARTITIONS, RESTART_RECORDS)
    consumed = [(m.partition(), m.offset(), text(m.key()), text(m.value())) for m in messages]
    check_produce_consume({}, consumed, None, records=RESTART_RECORDS)


CASES = {
    "produce-consume": produce_consume,
    "compression": compression,
    "list-offsets-by-time": list_offsets_by_time,
    "admin": admin_case,
    "oversized": oversized,
    "restart-produce": restart_produce,
    "restart-consume": restart_consume,
}

if __name__ == "__main__":
    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(name)s %(levelname)s %(message)s")
    sys.exit(common.main(CLIENT, CASES))
