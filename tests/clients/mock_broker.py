#!/usr/bin/env python3
"""librdkafka's built-in mock cluster as a stand-in broker, for checking this kit itself.

    .venv/bin/python tests/clients/mock_broker.py            # prints: bootstrap=127.0.0.1:PORT
    .venv/bin/python tests/clients/confluent_client.py --bootstrap 127.0.0.1:PORT --case compression

The mock cluster is a real TCP listener speaking the Kafka protocol, good enough to see that
a script's produce/consume/ListOffsets paths work. It is not Kafka: it auto-creates topics
and lacks some APIs (admin ones, size limits), so some cases fail against it by design.
Runs until killed (or --seconds).
"""

import argparse
import sys
import time

from confluent_kafka import Producer

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--brokers", type=int, default=1)
parser.add_argument("--seconds", type=float, default=3600)
args = parser.parse_args()

handle = Producer({"test.mock.num.brokers": args.brokers, "bootstrap.servers": "unused:1", "log_level": 3})
brokers = handle.list_topics(timeout=10).brokers.values()
print("bootstrap=" + ",".join(f"{b.host}:{b.port}" for b in brokers), flush=True)
end = time.monotonic() + args.seconds
while time.monotonic() < end:
    handle.poll(0.5)
sys.exit(0)
