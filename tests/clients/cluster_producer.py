#!/usr/bin/env python3
"""An idempotent acks=all producer for tests/cluster_processes.rs: sends --count numbered
records to --topic at a steady pace while the test kills and restarts a broker, and writes
one JSON line per acknowledged record ({"partition", "offset", "value"}) to --acked.
Records that fail are reported on stderr; the process exits 0 once every send is answered.

Usage: .venv/bin/python tests/clients/cluster_producer.py --bootstrap B --topic T --count N --acked FILE
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from confluent_kafka import Producer


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--acked", required=True)
    parser.add_argument("--pace-ms", type=float, default=10.0)
    args = parser.parse_args()

    failed = []
    with open(args.acked, "w", encoding="utf-8") as acked:

        def on_delivery(error, message) -> None:
            value = message.value().decode()
            if error is not None:
                failed.append((value, str(error)))
                return
            line = {"partition": message.partition(), "offset": message.offset(), "value": value}
            acked.write(json.dumps(line) + "\n")
            acked.flush()

        producer = Producer({
            "bootstrap.servers": args.bootstrap,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 5,
            "delivery.timeout.ms": 120_000,
            "request.timeout.ms": 5_000,
            "socket.timeout.ms": 5_000,
            "topic.metadata.refresh.interval.ms": 1_000,
        })
        for i in range(args.count):
            value = f"v{i}"
            while True:
                try:
                    producer.produce(args.topic, value=value.encode(), key=f"k{i % 7}".encode(), on_delivery=on_delivery)
                    break
                except BufferError:
                    producer.poll(0.05)
            producer.poll(0)
            time.sleep(args.pace_ms / 1000.0)
        remaining = producer.flush(150)
    for value, error in failed:
        print(f"failed {value}: {error}", file=sys.stderr)
    print(f"sent {args.count}, failed {len(failed)}, unanswered {remaining}", file=sys.stderr)
    return 0 if remaining == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
