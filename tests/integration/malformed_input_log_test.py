"""A flood of malformed requests costs a bounded amount of log: each
transport writes at most 10 lines a second about them, the next admitted
line says how many were suppressed, and keel_malformed_requests_total counts
every one of them."""
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_wire as kw  # noqa: E402
from connection_support import connect, metric, wait_closed  # noqa: E402
from keel_harness import Broker, parse_args, wait_until  # noqa: E402

COUNT = 300
LINES_PER_SECOND = 10  # kClientLogLinesPerSecond


def kafka_garbage(i):
    if i % 2:
        return struct.pack(">i", -7)  # a negative frame size
    return struct.pack(">i", 3) + b"\x00\x12\x00"  # a header cut short


def flood_kafka(broker):
    for i in range(COUNT):
        with connect(broker.kafka_port) as s:
            s.sendall(kafka_garbage(i))
            wait_closed(s, 10, "a Kafka connection that sent garbage")


def flood_http(broker):
    for _ in range(COUNT):
        with connect(broker.http_port) as s:
            s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            assert data.startswith(b"HTTP/1.1 400"), data[:100]


def main():
    args = parse_args()
    with Broker(args.build_dir, http=True) as broker:
        for transport, flood, marker in (("kafka", flood_kafka, "closing connection from"),
                                         ("http", flood_http, "answering 400 to")):
            before = broker.log_text().count(marker)
            start = time.monotonic()
            flood(broker)
            seconds = time.monotonic() - start
            labels = f'transport="{transport}"'
            wait_until(lambda: metric(broker, "keel_malformed_requests_total", labels) == COUNT, 10,
                       f"{COUNT} malformed {transport} requests to be counted")
            # Lines are logged when admitted: wait for the last one to land.
            lines = broker.log_text().count(marker) - before
            bound = LINES_PER_SECOND * (int(seconds) + 2)
            print(f"  {transport}: {COUNT} malformed requests in {seconds:.2f}s -> {lines} log lines (bound {bound})")
            assert 1 <= lines <= bound, f"{transport}: {lines} log lines for {COUNT} malformed requests"
        # The next line after a flood says how many were left out.
        def summarised():
            with connect(broker.kafka_port) as s:
                s.sendall(kafka_garbage(1))
                wait_closed(s, 10, "a Kafka connection that sent garbage")
            return "messages about clients suppressed" in broker.log_text()
        wait_until(summarised, 10, "a line saying how many messages were suppressed")
        err, _ = kw.api_versions(broker.kafka_port)
        assert err == 0
    print("malformed_input_log_test: malformed input is counted and its logging bounded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
