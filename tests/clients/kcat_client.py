#!/usr/bin/env python3
"""The real-client cases with kcat (Debian's kcat 1.7 on Debian's librdkafka), run as a subprocess.

Usage: .venv/bin/python tests/clients/kcat_client.py --bootstrap 127.0.0.1:9092 --case produce-consume
Cases: produce-consume, compression, list-offsets-by-time, oversized. No `admin`: kcat has no
admin API. kcat cannot create topics either, so every case relies on the broker auto-creating
a topic on the producer's first Metadata request (partition count: the broker's default).
kcat cannot set record timestamps, so list-offsets-by-time produces two bursts a second
apart and asks for a time between them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts in the work tree
import common  # noqa: E402  (tests/clients/common.py)
from common import (WAIT_S, CheckFailed, check, check_eq, check_produce_consume, check_values, key_of,
                    retry_until, topic_name, value_of)

CLIENT = "kcat"
# Delivery must succeed or fail within the case: librdkafka's default is 5 minutes.
PRODUCER_X = ["-X", "acks=all", "-X", "message.timeout.ms=20000", "-X", "socket.timeout.ms=10000"]


def kcat(bootstrap: str, *args: str, input: bytes | None = None, expect_ok: bool = True,
         timeout: float = WAIT_S) -> subprocess.CompletedProcess:
    """Run kcat with `-b bootstrap` and `args`; fail clearly on a timeout or (when
    expect_ok) a non-zero exit, showing kcat's stderr."""
    binary = shutil.which("kcat")
    if binary is None:
        raise CheckFailed("kcat is not on PATH: run scripts/install-test-clients.sh")
    command = [binary, "-b", bootstrap, "-m", "15", *args]
    if common.verbose():
        command += ["-d", "broker,protocol,topic,msg"]
        print("+ " + " ".join(command), file=sys.stderr)
    try:
        result = subprocess.run(command, input=input, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        stderr = (error.stderr or b"").decode(errors="replace")[-2000:]
        raise CheckFailed(f"kcat {' '.join(args[:6])} ... did not finish within {timeout:.0f} s; stderr:\n{stderr}") from None
    if common.verbose():
        sys.stderr.write(result.stderr.decode(errors="replace"))
    if expect_ok and result.returncode != 0:
        raise CheckFailed(f"kcat {' '.join(args[:8])} ... exited {result.returncode}; stderr:\n"
                          f"{result.stderr.decode(errors='replace')[-2000:]}")
    return result


def produce(bootstrap: str, topic: str, lines: list[str], *extra: str, keyed: bool = False) -> None:
    """Produce one record per line (with `keyed`: 'key:value' lines); exits non-zero if any
    delivery failed."""
    args = ["-P", "-t", topic, *PRODUCER_X, *extra]
    if keyed:
        args += ["-K", ":"]
    kcat(bootstrap, *args, input=("\n".join(lines) + "\n").encode())


def partitions_of(bootstrap: str, topic: str) -> int:
    """The topic's partition count from `kcat -L -J` (0 while it is not there)."""
    meta = json.loads(kcat(bootstrap, "-L", "-J", "-t", topic).stdout)
    for entry in meta.get("topics", []):
        if entry.get("topic") == topic and not entry.get("error"):
            return len(entry.get("partitions", []))
    return 0


def consume(bootstrap: str, topic: str, count: int, partition: int | None = None) -> list[tuple[int, int, int, str, str]]:
    """Consume from the beginning until every partition is at its end (-e); returns
    (partition, offset, timestamp, key, value) tuples in the order kcat printed them."""
    args = ["-C", "-t", topic, "-o", "beginning", "-e", "-f", r"%p\t%o\t%T\t%k\t%s\n"]
    if partition is not None:
        args += ["-p", str(partition)]
    out = kcat(bootstrap, *args).stdout.decode()
    records = []
    for line in out.splitlines():
        p, o, ts, key, value = line.split("\t", 4)
        records.append((int(p), int(o), int(ts), key, value))
    check(len(records) >= count, f"consumed {len(records)} of {count} records from {topic}")
    return records


def query(bootstrap: str, topic: str, partition: int, ts: int) -> int:
    """`kcat -Q -t topic:partition:ts`: the first offset whose timestamp is >= ts."""
    out = kcat(bootstrap, "-Q", "-t", f"{topic}:{partition}:{ts}").stdout.decode()
    # kcat prints: "<topic> [<partition>] offset <offset>"
    for line in out.splitlines():
        words = line.split()
        if len(words) >= 4 and words[0] == topic and words[-2] == "offset":
            return int(words[-1])
    raise CheckFailed(f"kcat -Q {topic}:{partition}:{ts}: no offset in its output: {out!r}")


def wait_for_topic(bootstrap: str, topic: str) -> int:
    return retry_until(f"{topic} (auto-created by the producer) in metadata", lambda: partitions_of(bootstrap, topic))


# --- the cases --------------------------------------------------------------------------------------------------


def produce_consume(args) -> None:
    topic = topic_name(CLIENT, "produce-consume")
    produce(args.bootstrap, topic, [f"{key_of(i)}:{value_of(i)}" for i in range(common.RECORDS)], keyed=True)
    partitions = wait_for_topic(args.bootstrap, topic)
    records = consume(args.bootstrap, topic, common.RECORDS)
    # kcat reports no offsets when producing, so only the consumed side is checked.
    check_produce_consume({}, [(p, o, k, v) for p, o, _, k, v in records], partitions)


def compression(args) -> None:
    for codec in common.CODECS:
        topic = topic_name(CLIENT, "compression", codec)
        # linger so that many records share a batch: the broker sees real compressed batches.
        produce(args.bootstrap, topic, [value_of(i) for i in range(common.CODEC_RECORDS)],
                "-p", "0", "-X", f"compression.codec={codec}", "-X", "linger.ms=50")
        records = consume(args.bootstrap, topic, common.CODEC_RECORDS, partition=0)
        check_values([v for *_, v in records], common.CODEC_RECORDS, common.VALUE_BYTES, f"{codec} round trip")
        check_eq([o for _, o, *_ in records], list(range(common.CODEC_RECORDS)), f"{codec}: offsets consumed")


def list_offsets_by_time(args) -> None:
    topic = topic_name(CLIENT, "list-offsets-by-time")
    first = common.TS_EXPECTED_OFFSET  # records 0..50 in one burst, 51..99 in the next
    produce(args.bootstrap, topic, [value_of(i) for i in range(first)], "-p", "0")
    time.sleep(1.1)
    produce(args.bootstrap, topic, [value_of(i) for i in range(first, common.TS_RECORDS)], "-p", "0")
    records = consume(args.bootstrap, topic, common.TS_RECORDS, partition=0)
    check_values([v for *_, v in records], common.TS_RECORDS, common.VALUE_BYTES, "records with timestamps")
    stamps = [ts for _, _, ts, _, _ in records]
    check(stamps[first] - stamps[first - 1] >= 1000,
          f"timestamps of records {first - 1} and {first} ({stamps[first - 1]}, {stamps[first]}) are not a second apart")
    between = (stamps[first - 1] + stamps[first]) // 2

    check_eq(query(args.bootstrap, topic, 0, between), first, f"offset for timestamp {between} (between the bursts)")
    check_eq(query(args.bootstrap, topic, 0, stamps[0]), 0, "offset for the first record's timestamp")
    check_eq(query(args.bootstrap, topic, 0, max(stamps) + 60_000), -1, "offset for a timestamp after every record (none)")
    check_eq(query(args.bootstrap, topic, 0, -2), 0, "earliest offset (timestamp -2)")
    check_eq(query(args.bootstrap, topic, 0, -1), common.TS_RECORDS, "latest offset (timestamp -1)")


def oversized(args) -> None:
    topic = topic_name(CLIENT, "oversized")
    # A normal record first, so the topic exists (auto-created) before the oversized one.
    produce(args.bootstrap, topic, ["before-oversized"], "-p", "0")
    with tempfile.NamedTemporaryFile(prefix="seedlog-oversized-") as big:
        big.write(os.urandom(common.OVERSIZED_BYTES))
        big.flush()
        # A file argument (no -l) is sent whole as one record; message.max.bytes raised so
        # that librdkafka sends it and the broker must refuse it.
        result = kcat(args.bootstrap, "-P", "-t", topic, "-p", "0", *PRODUCER_X,
                      "-X", f"message.max.bytes={common.CLIENT_MAX_REQUEST_BYTES}", big.name, expect_ok=False)
    stderr = result.stderr.decode(errors="replace")
    check(result.returncode != 0, f"the broker accepted a {common.OVERSIZED_BYTES}-byte record "
                                  f"(max.message.bytes is ~1 MiB by default); kcat stderr: {stderr[-500:]}")
    # librdkafka's texts for MESSAGE_TOO_LARGE (10) and RECORD_LIST_TOO_LARGE (18).
    check("Message size too large" in stderr or "Message batch larger than configured server segment size" in stderr,
          f"oversized record: expected MESSAGE_TOO_LARGE or RECORD_LIST_TOO_LARGE from the broker; kcat said:\n{stderr[-2000:]}")

    produce(args.bootstrap, topic, ["after-oversized"], "-p", "0")
    records = consume(args.bootstrap, topic, 2, partition=0)
    check_eq([(o, v) for _, o, _, _, v in records], [(0, "before-oversized"), (1, "after-oversized")], f"records in {topic}")


CASES = {
    "produce-consume": produce_consume,
    "compression": compression,
    "list-offsets-by-time": list_offsets_by_time,
    "oversized": oversized,
}

if __name__ == "__main__":
    sys.exit(common.main(CLIENT, CASES))
