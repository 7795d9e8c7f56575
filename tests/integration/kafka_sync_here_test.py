"""Where an acks=all produce to an every-batch topic is synced, over real
sockets: a client with one request in flight at a time has each sync run
on its connection's own thread (KEEL_PRODUCE_SYNC_HERE, counted in
keel_flushes_on_request_thread_total), and is answered only after it; a
client that pipelines has its syncs on the flusher thread (group commit),
even in the moments its pipeline drains; a produce to several partitions
at once never syncs on the request's thread. Every answer's offset is
checked."""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_wire as kw  # noqa: E402
from connection_support import metric  # noqa: E402
from kafka_batches import record_batch  # noqa: E402
from keel_harness import Broker, parse_args  # noqa: E402

TOPIC = "synchere"
LONE = 200
PIPELINED_ROUNDS = 100
DEPTH = 4
METRIC = "keel_flushes_on_request_thread_total"


def produce_frame(correlation_id, partitions, value):
    records = record_batch([value])
    parts = b"".join(struct.pack(">ii", p, len(records)) + records for p in partitions)
    body = (kw.string(None) + struct.pack(">hi", -1, 30000) + struct.pack(">i", 1) + kw.string(TOPIC)
            + struct.pack(">i", len(partitions)) + parts)
    return kw.request_frame(0, 3, correlation_id, body)


def read_answer(sock, corr, partitions):
    """The base offset per partition of the Produce answer `corr`."""
    got, resp = kw.read_response(sock)
    assert got == corr, f"answer {got} where {corr} was due"
    d = kw.Decoder(resp)
    assert d.int32() == 1 and d.string() == TOPIC and d.int32() == len(partitions), resp
    bases = {}
    for _ in partitions:
        index, error, base = d.int32(), d.int16(), d.int64()
        d.int64()  # log_append_time
        assert error == 0, f"request {corr}, partition {index}: error {error}"
        bases[index] = base
    return bases


def main():
    args = parse_args()
    topics = f'[topics.{TOPIC}]\npartitions = 2\nflush_mode = "every-batch"\n'
    with Broker(args.build_dir, topics_toml=topics, http=True) as broker:
        next_offset = {0: 0, 1: 0}
        corr = 0

        def expect(bases):
            for p, base in bases.items():
                assert base == next_offset[p], f"partition {p}: stored at {base}, expected {next_offset[p]}"
                next_offset[p] += 1

        # One request in flight at a time, one partition: synced on the
        # request's own thread (the loop has no other active connection;
        # the /metrics reads go to another transport).
        before = metric(broker, METRIC)
        with kw.connect(broker.kafka_port, timeout=60) as sock:
            for i in range(LONE):
                corr += 1
                sock.sendall(produce_frame(corr, [0], b"lone-%d" % i))
                expect(read_answer(sock, corr, [0]))
        lone = metric(broker, METRIC) - before
        assert lone >= LONE * 0.9, f"only {lone} of {LONE} lone acks=all requests synced on their own thread"

        # Pipelined: DEPTH requests sent before the first answer is read,
        # then the pipeline drains completely every round. Each round's
        # first request goes out on its own, so it often finds the
        # connection drained and nothing else arrived: only the rule that a
        # client which pipelined in the last second is never alone keeps it
        # off the connection's thread. Only the very first request may sync
        # there.
        before = metric(broker, METRIC)
        with kw.connect(broker.kafka_port, timeout=60) as sock:
            for r in range(PIPELINED_ROUNDS):
                first = corr + 1
                frames = [produce_frame(first + k, [0], b"piped-%d-%d" % (r, k)) for k in range(DEPTH)]
                sock.sendall(frames[0])
                sock.sendall(b"".join(frames[1:]))
                for k in range(DEPTH):
                    expect(read_answer(sock, first + k, [0]))
                corr += DEPTH
        piped = metric(broker, METRIC) - before
        assert piped <= 1, f"{piped} syncs of a pipelining client ran on its connection's thread"

        # Two partitions in one request: never on the request's thread.
        before = metric(broker, METRIC)
        with kw.connect(broker.kafka_port, timeout=60) as sock:
            for i in range(50):
                corr += 1
                sock.sendall(produce_frame(corr, [0, 1], b"both-%d" % i))
                expect(read_answer(sock, corr, [0, 1]))
        both = metric(broker, METRIC) - before
        assert both == 0, f"{both} syncs of two-partition requests ran on the request's thread"
        assert broker.alive()
    print(f"kafka_sync_here_test: {lone:.0f} of {LONE} lone requests synced on their thread, "
          f"{piped:.0f} of {PIPELINED_ROUNDS * DEPTH} pipelined, {both:.0f} of 50 two-partition")
    return 0


if __name__ == "__main__":
    sys.exit(main())
