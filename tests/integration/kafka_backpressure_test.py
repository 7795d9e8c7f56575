"""A client that pipelines more produce requests than the broker keeps in
flight per connection (max_in_flight) while each waits for an fsync
(acks=all): the broker pauses reading, answers every request in order as the
syncs complete, and never drops the connection."""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_wire as kw  # noqa: E402
from kafka_batches import record_batch  # noqa: E402
from keel_harness import Broker, parse_args  # noqa: E402

TOPIC = "pressure"
REQUESTS = 300


def produce_frame(correlation_id, value):
    records = record_batch([value])
    body = (kw.string(None) + struct.pack(">hi", -1, 30000) + struct.pack(">i", 1) + kw.string(TOPIC)
            + struct.pack(">i", 1) + struct.pack(">ii", 0, len(records)) + records)
    return kw.request_frame(0, 3, correlation_id, body)


def main():
    args = parse_args()
    topics = f'[topics.{TOPIC}]\npartitions = 1\nflush_mode = "every-batch"\n'
    with Broker(args.build_dir, topics_toml=topics, kafka_toml="max_in_flight = 2") as broker:
        with kw.connect(broker.kafka_port, timeout=60) as sock:
            sock.sendall(b"".join(produce_frame(i, b"v%d" % i) for i in range(REQUESTS)))
            for i in range(REQUESTS):
                corr, resp = kw.read_response(sock)
                assert corr == i, f"response {i} has correlation id {corr}: out of order"
                d = kw.Decoder(resp)
                assert d.int32() == 1 and d.string() == TOPIC and d.int32() == 1, resp
                index, error, base = d.int32(), d.int16(), d.int64()
                assert index == 0 and error == 0, f"request {i}: error {error}"
                assert base == i, f"request {i} stored at offset {base}, expected {i}"
        assert broker.alive()
    print(f"kafka_backpressure_test: {REQUESTS} pipelined acks=all requests answered in order")
    return 0


if __name__ == "__main__":
    sys.exit(main())
