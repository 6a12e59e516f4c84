"""Shared scaffolding for the real-client scripts in this directory.

Every script takes `--bootstrap HOST:PORT --case CASE`, runs one case (or `all`), and
exits 0 on success, 1 when a check or the client failed (with a message on stderr saying
which), 2 on a usage error. Every case runs under a watchdog (CASE_TIMEOUT_S) so no
script hangs, whatever the broker does.
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import signal
import sys
import time
import traceback
import uuid
from collections import defaultdict
from typing import Callable, Iterable

# No case may take longer than this; the watchdog turns an overrun into a failure.
CASE_TIMEOUT_S = 60
# Individual waits (a produce flush, a consume loop, a retry loop) stay well inside it.
WAIT_S = 30

RECORDS = 10_000
KEYS = 97
VALUE_BYTES = 100
PARTITIONS = 3
CODECS = ("gzip", "snappy", "lz4", "zstd")
CODEC_RECORDS = 500
TS_RECORDS = 100
TS_STEP_MS = 1000
# The time query lands between record 50 and record 51, so the answer is offset 51.
TS_QUERY_OFFSET_MS = 50_500
TS_EXPECTED_OFFSET = 51
ADMIN_PARTITIONS = 2
ADMIN_RETENTION_MS = "3600000"
OVERSIZED_BYTES = 2 * 1024 * 1024
# Raised client-side limit so the client really sends the oversized record.
CLIENT_MAX_REQUEST_BYTES = 8 * 1024 * 1024
# Broker error codes the oversized record may draw.
MESSAGE_TOO_LARGE = 10
RECORD_LIST_TOO_LARGE = 18


class CheckFailed(Exception):
    """A check of what the broker did failed: the message says what was expected."""


class CaseTimeout(BaseException):
    """Raised by the watchdog; a BaseException so that no `except Exception` swallows it."""


def topic_name(client: str, case: str, suffix: str = "") -> str:
    """A topic name no other case, run or client shares."""
    name = f"{client}-{case}-{uuid.uuid4().hex[:10]}"
    return f"{name}-{suffix}" if suffix else name


def key_of(i: int) -> str:
    return f"k{i % KEYS}"


def value_of(i: int, size: int = VALUE_BYTES) -> str:
    """`v{i}` padded with '.' to `size` bytes: printable, no ':' or tabs (kcat-safe)."""
    return f"v{i}".ljust(size, ".")


def index_of(value: str) -> int:
    head = value.split(".", 1)[0]
    if not head.startswith("v") or not head[1:].isdigit():
        raise CheckFailed(f"consumed a value that was never produced: {value[:40]!r}")
    return int(head[1:])


def ts_base_ms() -> int:
    """Timestamps for list-offsets-by-time: one hour ago, whole seconds.

    Recent rather than a fixed 2023 date so that time-based retention (7 days by default)
    never deletes the records while the case runs.
    """
    return (int(time.time()) - 3600) * 1000


def check(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def check_eq(actual, expected, what: str) -> None:
    if actual != expected:
        raise CheckFailed(f"{what}: expected {expected!r}, got {actual!r}")


def deadline(seconds: float = WAIT_S) -> float:
    return time.monotonic() + seconds


def expired(at: float) -> bool:
    return time.monotonic() >= at


def retry_until(what: str, attempt: Callable[[], object], seconds: float = 15.0, pause: float = 0.2):
    """Call `attempt` every `pause` s until it returns something truthy, for at most `seconds`.

    Returns that result. An exception from `attempt` counts as a miss. When time is up,
    raises CheckFailed naming `what` and the last result or exception.
    """
    at = deadline(seconds)
    last: object = None
    while True:
        try:
            result = attempt()
            if result:
                return result
            last = result
        except CheckFailed as error:
            last = error
        except Exception as error:  # the client's own errors: retry, report the last one
            last = f"{type(error).__name__}: {error}"
        if expired(at):
            raise CheckFailed(f"{what}: not true after {seconds:.0f} s (last: {last})")
        time.sleep(pause)


def check_produce_consume(produced: dict[int, tuple[int, int]], consumed: Iterable[tuple[int, int, str, str]],
                          expected_partitions: int | None, records: int = RECORDS) -> None:
    """Check the consumed records against what was produced.

    produced: index -> (partition, offset) as the producer's acknowledgement reported them.
    consumed: (partition, offset, key, value) in the order the consumer returned them.
    Checks: every record consumed exactly once with its value and key intact; per partition,
    offsets contiguous from 0 and values in produce order; one key, one partition; the
    acknowledged (partition, offset) is where the record was read from.
    """
    by_partition: dict[int, list[tuple[int, int]]] = defaultdict(list)
    seen: dict[int, tuple[int, int]] = {}
    key_partition: dict[str, int] = {}
    for partition, offset, key, value in consumed:
        i = index_of(value)
        check_eq(value, value_of(i, len(value)), f"value of record {i}")
        check_eq(len(value), VALUE_BYTES, f"length of value of record {i}")
        check_eq(key, key_of(i), f"key of record {i}")
        if i in seen:
            raise CheckFailed(f"record {i} consumed twice: at {seen[i]} and at {(partition, offset)}")
        seen[i] = (partition, offset)
        by_partition[partition].append((offset, i))
        if key_partition.setdefault(key, partition) != partition:
            raise CheckFailed(f"key {key} landed on partitions {key_partition[key]} and {partition}")
    missing = sorted(set(range(records)) - set(seen))
    check(not missing, f"{len(missing)} of {records} records never consumed, e.g. {missing[:10]}")
    extra = sorted(set(seen) - set(range(records)))
    check(not extra, f"consumed {len(extra)} records that were never produced, e.g. {extra[:10]}")
    for partition, entries in sorted(by_partition.items()):
        offsets = [o for o, _ in entries]
        check_eq(offsets, list(range(len(offsets))), f"offsets read from partition {partition}")
        indexes = [i for _, i in entries]
        if indexes != sorted(indexes):
            bad = next(n for n in range(1, len(indexes)) if indexes[n] < indexes[n - 1])
            raise CheckFailed(f"partition {partition}: record {indexes[bad]} (offset {bad}) after record "
                              f"{indexes[bad - 1]} though produced before it")
    if expected_partitions is not None:
        check_eq(sorted(by_partition), list(range(expected_partitions)), "partitions that received records")
    for i, where in produced.items():
        check_eq(seen.get(i), where, f"(partition, offset) of record {i}: acknowledged vs read")


def check_values(consumed_values: list[str], count: int, size: int, what: str) -> None:
    """The values of one partition: exactly value_of(0..count) in order."""
    check_eq(len(consumed_values), count, f"{what}: records consumed")
    for i, value in enumerate(consumed_values):
        if value != value_of(i, size):
            raise CheckFailed(f"{what}: record at offset {i} is {value[:40]!r}..., expected {value_of(i, size)[:40]!r}...")


def is_too_large(code: int | None, text: str) -> bool:
    return code in (MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE) or any(
        marker in text.lower() for marker in ("message_too_large", "messagesizetoolarge", "record_list_too_large",
                                              "message size too large", "too large"))


def _on_alarm(signum, frame):
    raise CaseTimeout(f"case did not finish within {CASE_TIMEOUT_S} s")


def main(client: str, cases: dict[str, Callable[[argparse.Namespace], None]], argv: list[str] | None = None) -> int:
    """Parse arguments, run the chosen case(s) under the watchdog, report, return the exit code."""
    parser = argparse.ArgumentParser(
        description=f"Run one case of the real-client test kit with {client} against a Kafka-compatible broker.")
    parser.add_argument("--bootstrap", required=True, metavar="HOST:PORT", help="bootstrap server, e.g. 127.0.0.1:9092")
    parser.add_argument("--case", required=True, choices=[*cases, "all"], help="the case to run ('all': each in turn)")
    parser.add_argument("--topic", help="topic for the cases that span two runs (restart-produce, restart-consume)")
    parser.add_argument("--auto-create", action="store_true",
                        help="create no topics, rely on the broker's auto-creation (partition counts are then "
                             "the broker's num.partitions)")
    parser.add_argument("--verbose", action="store_true", help="client debug logging on stderr")
    args = parser.parse_args(argv)
    if args.verbose:
        os.environ["SEEDLOG_CLIENT_VERBOSE"] = "1"
    # `all`: every self-contained case; the restart-* pair needs a broker restart in between.
    chosen = [c for c in cases if not c.startswith("restart-")] if args.case == "all" else [args.case]
    if args.case.startswith("restart-") and not args.topic:
        parser.error(f"--case {args.case} needs --topic")
    signal.signal(signal.SIGALRM, _on_alarm)
    failed = []
    for case in chosen:
        started = time.monotonic()
        # The hard backstop: if the watchdog's exception cannot surface (stuck in C code),
        # dump every thread's stack and exit.
        faulthandler.dump_traceback_later(CASE_TIMEOUT_S + 15, exit=True)
        signal.alarm(CASE_TIMEOUT_S)
        try:
            cases[case](args)
        except CheckFailed as error:
            failed.append(case)
            print(f"FAIL {client} {case}: {error}", file=sys.stderr)
        except CaseTimeout as error:
            failed.append(case)
            print(f"FAIL {client} {case}: timeout: {error}", file=sys.stderr)
            traceback.print_exc()
        except Exception as error:
            failed.append(case)
            print(f"FAIL {client} {case}: {type(error).__name__}: {error}", file=sys.stderr)
            traceback.print_exc()
        else:
            print(f"PASS {client} {case} ({time.monotonic() - started:.1f} s)")
        finally:
            signal.alarm(0)
            faulthandler.cancel_dump_traceback_later()
        sys.stdout.flush()
    return 1 if failed else 0


def verbose() -> bool:
    return os.environ.get("SEEDLOG_CLIENT_VERBOSE") == "1"
