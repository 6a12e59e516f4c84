#!/usr/bin/env python3
"""The real-client cases with aiokafka 0.14 (asyncio; codecs from cramjam).

Usage: .venv/bin/python tests/clients/aiokafka_client.py --bootstrap 127.0.0.1:9092 --case produce-consume
Cases: produce-consume, compression, list-offsets-by-time, admin, oversized.

aiokafka opens every connection with ApiVersions v0 and then uses, per API, the highest
version it knows inside the broker's range. It knows only old, non-flexible versions
(Produce <= 7, Fetch 1..11, ListOffsets <= 3, Metadata <= 5, CreateTopics/DeleteTopics <= 3,
DescribeConfigs <= 2), so the broker must still serve those.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, MessageSizeTooLargeError, for_code

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts in the work tree
import common  # noqa: E402  (tests/clients/common.py)
from common import (WAIT_S, CheckFailed, check, check_eq, check_produce_consume, check_values, deadline, expired,
                    key_of, topic_name, value_of)

CLIENT = "aiokafka"
TIMEOUTS = {"request_timeout_ms": 15_000}
DYNAMIC_TOPIC_CONFIG = 1  # DescribeConfigs config_source


async def started(client):
    """start() a client within WAIT_S (it bootstraps: ApiVersions v0, Metadata)."""
    try:
        await asyncio.wait_for(client.start(), WAIT_S)
    except asyncio.TimeoutError:
        raise CheckFailed(f"{type(client).__name__}.start() (bootstrap) did not finish within {WAIT_S} s") from None
    return client


async def producer(bootstrap: str, **extra) -> AIOKafkaProducer:
    config = {"acks": "all", "linger_ms": 5, **TIMEOUTS, **extra}
    return await started(AIOKafkaProducer(bootstrap_servers=bootstrap, **config))


async def consumer(bootstrap: str) -> AIOKafkaConsumer:
    # No group: partitions assigned by hand, so only Metadata, ListOffsets and Fetch.
    return await started(AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                          auto_offset_reset="earliest", **TIMEOUTS))


async def admin(bootstrap: str) -> AIOKafkaAdminClient:
    return await started(AIOKafkaAdminClient(bootstrap_servers=bootstrap, **TIMEOUTS))


def response_errors(response) -> list[str]:
    """Every non-zero error_code anywhere in an admin response, as readable strings."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            code = node.get("error_code")
            if code:
                where = node.get("topic") or node.get("name") or node.get("resource_name") or ""
                found.append(f"{where}: {for_code(code).__name__} ({code}) {node.get('error_message') or ''}".strip())
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value)
    walk(response.to_object() if hasattr(response, "to_object") else response)
    return found


async def retry_until(what: str, attempt, seconds: float = 15.0, pause: float = 0.2):
    """The async twin of common.retry_until: await `attempt()` until it is truthy."""
    at = deadline(seconds)
    last = None
    while True:
        try:
            result = await attempt()
            if result:
                return result
            last = result
        except Exception as error:  # the client's own errors count as a miss
            last = f"{type(error).__name__}: {error}"
        if expired(at):
            raise CheckFailed(f"{what}: not true after {seconds:.0f} s (last: {last})")
        await asyncio.sleep(pause)


async def partition_count(a: AIOKafkaAdminClient, topic: str) -> int:
    [meta] = await a.describe_topics([topic])
    if meta.get("error_code", 0) != 0:
        return 0
    partitions = meta.get("partitions", [])
    return len(partitions) if all(p.get("leader", -1) >= 0 for p in partitions) else 0


async def create_topic(args, topic: str, partitions: int, config: dict | None = None) -> int:
    """CreateTopics and wait until metadata shows it with leaders; returns the partition count.

    With --auto-create: a producer's Metadata request auto-creates it (broker's partition count).
    """
    if args.auto_create:
        p = await producer(args.bootstrap)
        try:
            return len(await asyncio.wait_for(p.partitions_for(topic), WAIT_S))
        finally:
            await p.stop()
    a = await admin(args.bootstrap)
    try:
        response = await a.create_topics([NewTopic(topic, partitions, 1, topic_configs=config or {})],
                                         timeout_ms=15_000)
        errors = response_errors(response)
        check(not errors, f"CreateTopics {topic} ({partitions} partitions, config {config}): {errors}")
        await retry_until(f"metadata shows {topic} with {partitions} partitions and leaders",
                          lambda: _is(partition_count(a, topic), partitions))
    finally:
        await a.close()
    return partitions


async def _is(awaitable, expected) -> bool:
    return (await awaitable) == expected


async def produce_all(p: AIOKafkaProducer, records) -> tuple[dict, list]:
    """Send (topic, partition|None, key, value, timestamp|None) tuples and wait for every ack.

    Returns (acked: index -> (partition, offset), errors: [(index, exception)]).
    """
    futures = []
    for topic, partition, key, value, ts in records:
        futures.append(await p.send(topic, value=value, key=key, partition=partition, timestamp_ms=ts))
    try:
        results = await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), WAIT_S)
    except asyncio.TimeoutError:
        done = sum(f.done() for f in futures)
        raise CheckFailed(f"{len(futures) - done} of {len(futures)} records unacknowledged after {WAIT_S} s") from None
    acked, errors = {}, []
    for i, result in enumerate(results):
        if isinstance(result, BaseException):
            errors.append((i, result))
        else:
            acked[i] = (result.partition, result.offset)
    return acked, errors


def check_no_errors(errors: list, what: str) -> None:
    if errors:
        i, error = errors[0]
        raise CheckFailed(f"{what}: {len(errors)} sends failed, first: record {i}: {type(error).__name__}: {error}")


async def consume(bootstrap: str, topic: str, partitions: int, count: int) -> list:
    """Read `count` records from the start of every partition (polling a little past
    `count` so duplicates show up); returns ConsumerRecords in the order received."""
    c = await consumer(bootstrap)
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        c.assign(tps)
        await c.seek_to_beginning(*tps)
        records = []
        at = deadline()
        extra_polls = 0
        while not expired(at):
            for batch in (await c.getmany(timeout_ms=500, max_records=2000)).values():
                records.extend(batch)
            if len(records) >= count:
                extra_polls += 1
                if extra_polls > 1:
                    break
        check(len(records) >= count, f"consumed {len(records)} of {count} records from {topic} within {WAIT_S} s")
        return records
    finally:
        await c.stop()


def text(data: bytes | None) -> str | None:
    return None if data is None else data.decode()


# --- the cases --------------------------------------------------------------------------------------------------


async def produce_consume(args) -> None:
    topic = topic_name(CLIENT, "produce-consume")
    partitions = await create_topic(args, topic, common.PARTITIONS)
    p = await producer(args.bootstrap)
    try:
        records = [(topic, None, key_of(i).encode(), value_of(i).encode(), None) for i in range(common.RECORDS)]
        acked, errors = await produce_all(p, records)
    finally:
        await p.stop()
    check_no_errors(errors, "produce")
    consumed = [(r.partition, r.offset, text(r.key), text(r.value))
                for r in await consume(args.bootstrap, topic, partitions, common.RECORDS)]
    check_produce_consume(acked, consumed, partitions)


async def compression(args) -> None:
    for codec in common.CODECS:
        topic = topic_name(CLIENT, "compression", codec)
        await create_topic(args, topic, 1)
        # linger so that many records share a batch: the broker sees real compressed batches.
        p = await producer(args.bootstrap, compression_type=codec, linger_ms=50)
        try:
            records = [(topic, 0, None, value_of(i).encode(), None) for i in range(common.CODEC_RECORDS)]
            acked, errors = await produce_all(p, records)
        finally:
            await p.stop()
        check_no_errors(errors, f"produce with {codec}")
        check_eq(sorted(acked.values()), [(0, i) for i in range(common.CODEC_RECORDS)], f"{codec}: acknowledged offsets")
        records = await consume(args.bootstrap, topic, 1, common.CODEC_RECORDS)
        check_values([text(r.value) for r in records], common.CODEC_RECORDS, common.VALUE_BYTES, f"{codec} round trip")
        check_eq([r.offset for r in records], list(range(common.CODEC_RECORDS)), f"{codec}: offsets consumed")


async def list_offsets_by_time(args) -> None:
    topic = topic_name(CLIENT, "list-offsets-by-time")
    await create_topic(args, topic, 1)
    base = common.ts_base_ms()
    p = await producer(args.bootstrap)
    try:
        records = [(topic, 0, None, value_of(i).encode(), base + i * common.TS_STEP_MS) for i in range(common.TS_RECORDS)]
        _, errors = await produce_all(p, records)
    finally:
        await p.stop()
    check_no_errors(errors, "produce with timestamps")

    tp = TopicPartition(topic, 0)
    c = await consumer(args.bootstrap)
    try:
        async def offset_for(ts: int) -> int:
            result = (await asyncio.wait_for(c.offsets_for_times({tp: ts}), WAIT_S))[tp]
            return -1 if result is None else result.offset  # None: no record at or after ts

        check_eq(await offset_for(base + common.TS_QUERY_OFFSET_MS), common.TS_EXPECTED_OFFSET,
                 f"offset for timestamp base+{common.TS_QUERY_OFFSET_MS} (base {base})")
        check_eq(await offset_for(base), 0, "offset for the first record's timestamp")
        check_eq(await offset_for(base - 60_000), 0, "offset for a timestamp before every record")
        check_eq(await offset_for(base + common.TS_RECORDS * common.TS_STEP_MS), -1,
                 "offset for a timestamp after every record (none)")
        check_eq((await asyncio.wait_for(c.beginning_offsets([tp]), WAIT_S))[tp], 0, "earliest offset")
        check_eq((await asyncio.wait_for(c.end_offsets([tp]), WAIT_S))[tp], common.TS_RECORDS, "latest offset")
    finally:
        await c.stop()
    records = await consume(args.bootstrap, topic, 1, common.TS_RECORDS)
    check_eq([(r.timestamp_type, r.timestamp) for r in records],
             [(0, base + i * common.TS_STEP_MS) for i in range(common.TS_RECORDS)],
             "(timestamp type, timestamp) read back (type 0: CreateTime)")


async def admin_case(args) -> None:
    topic = topic_name(CLIENT, "admin")
    await create_topic(args, topic, common.ADMIN_PARTITIONS, {"retention.ms": common.ADMIN_RETENTION_MS})
    a = await admin(args.bootstrap)
    try:
        async def listed() -> bool:
            return topic in await a.list_topics()
        await retry_until(f"list_topics includes {topic}", listed)
        check_eq(await partition_count(a, topic), common.ADMIN_PARTITIONS, f"partitions of {topic} (with leaders)")

        responses = await a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        errors = [e for r in responses for e in response_errors(r)]
        check(not errors, f"DescribeConfigs {topic}: {errors}")
        entries = {e["config_names"]: e for r in responses for res in r.to_object()["resources"]
                   for e in res["config_entries"]}
        entry = entries.get("retention.ms")
        check(entry is not None, f"describe_configs {topic}: no retention.ms among {sorted(entries)[:20]}")
        check_eq(entry["config_value"], common.ADMIN_RETENTION_MS, f"retention.ms of {topic}")
        if "config_source" in entry:  # DescribeConfigs v1+
            check_eq(entry["config_source"], DYNAMIC_TOPIC_CONFIG, f"source of {topic}'s retention.ms (1: DYNAMIC_TOPIC_CONFIG)")
        else:
            check_eq(entry.get("is_default"), False, f"is_default of {topic}'s retention.ms")

        errors = response_errors(await a.delete_topics([topic], timeout_ms=15_000))
        check(not errors, f"DeleteTopics {topic}: {errors}")

        async def gone() -> bool:
            return topic not in await a.list_topics()
        await retry_until(f"{topic} gone from list_topics", gone)
    finally:
        await a.close()


async def oversized(args) -> None:
    topic = topic_name(CLIENT, "oversized")
    await create_topic(args, topic, 1)
    # max_request_size raised well past 2 MiB, so aiokafka sends the record (its own check
    # raises MessageSizeTooLargeError from send() itself) and the broker must refuse it.
    p = await producer(args.bootstrap, max_request_size=common.CLIENT_MAX_REQUEST_BYTES, linger_ms=0)
    try:
        try:
            acked, errors = await produce_all(p, [(topic, 0, None, os.urandom(common.OVERSIZED_BYTES), None)])
        except MessageSizeTooLargeError as error:
            raise CheckFailed(f"the client refused the {common.OVERSIZED_BYTES}-byte record itself: {error}") from error
        check(not acked, f"the broker accepted a {common.OVERSIZED_BYTES}-byte record at {acked.get(0)} "
                         f"(max.message.bytes is ~1 MiB by default)")
        [(_, error)] = errors
        check(isinstance(error, KafkaError) and common.is_too_large(getattr(error, "errno", None), type(error).__name__),
              f"oversized record: expected MESSAGE_TOO_LARGE or RECORD_LIST_TOO_LARGE from the broker, "
              f"got {type(error).__name__}: {error}")

        acked, errors = await produce_all(p, [(topic, 0, None, b"after-oversized", None)])
        check_no_errors(errors, "a normal record after the oversized one")
        check_eq(acked.get(0), (0, 0), "(partition, offset) of the normal record after the oversized one")
    finally:
        await p.stop()
    records = await consume(args.bootstrap, topic, 1, 1)
    check_eq([(r.offset, text(r.value)) for r in records], [(0, "after-oversized")], f"records in {topic}")


def sync(case):
    """Run an async case on a fresh event loop, bounded a little inside the watchdog."""
    def run(args) -> None:
        async def bounded():
            try:
                await asyncio.wait_for(case(args), common.CASE_TIMEOUT_S - 5)
            except asyncio.TimeoutError:
                raise CheckFailed(f"case did not finish within {common.CASE_TIMEOUT_S - 5} s") from None
        asyncio.run(bounded())
    return run


CASES = {
    "produce-consume": sync(produce_consume),
    "compression": sync(compression),
    "list-offsets-by-time": sync(list_offsets_by_time),
    "admin": sync(admin_case),
    "oversized": sync(oversized),
}

if __name__ == "__main__":
    verbose = os.environ.get("SEEDLOG_CLIENT_VERBOSE") == "1" or "--verbose" in sys.argv
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, stream=sys.stderr)
    sys.exit(common.main(CLIENT, CASES))
