"""The Kafka transport against hostile or broken clients: bad frame sizes,
truncated and garbage frames, unknown APIs and versions, corrupt batches,
clients that vanish mid-request, and connection storms. After each case the
broker must be alive, still answer a fresh client, and still hold the data a
well-behaved client (kcat) produced before.
"""
import gzip
import os
import socket
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_wire as kw  # noqa: E402
from kafka_batches import raw_batch, record_batch, record_bytes  # noqa: E402
from keel_harness import Broker, parse_args, run_cases, wait_until  # noqa: E402

TOPIC = "keep"
MESSAGES = [f"message-{i}" for i in range(20)]

# ------------------------------------------------------------- invariants


def kcat_produce(broker, values):
    out = subprocess.run(["kcat", "-b", broker.bootstrap, "-P", "-t", TOPIC, "-p", "0"],
                         input="\n".join(values) + "\n", capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr


def kcat_consume(broker):
    out = subprocess.run(["kcat", "-b", broker.bootstrap, "-C", "-t", TOPIC, "-p", "0", "-o", "beginning", "-e",
                          "-q", "-f", "%s\n"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def assert_healthy(broker, check_data=True):
    assert broker.alive(), "the broker died:\n" + broker.log_text()[-4000:]
    err, ranges = kw.api_versions(broker.kafka_port)
    assert err == 0 and ranges[3] == (0, 12), (err, ranges)
    md = kw.metadata(broker.kafka_port, 1, [TOPIC])
    assert md["topics"][TOPIC][0] == 0, md
    if check_data:
        assert kcat_consume(broker)[:len(MESSAGES)] == MESSAGES, "data produced earlier changed"


# ------------------------------------------------------------------ cases

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


@test
def truncated_frame(broker):
    with kw.connect(broker.kafka_port) as s:
        s.sendall(struct.pack(">i", 100) + b"\x00\x03\x00\x01")  # 100 promised, 4 sent


@test
def huge_length_closes(broker):
    with kw.connect(broker.kafka_port) as s:
        s.sendall(struct.pack(">I", 0x7FFFFFFF) + b"\x00" * 16)
        assert kw.closed_by_peer(s), "a 2 GiB frame length did not close the connection"


@test
def negative_and_zero_lengths_close(broker):
    for size in (-1, -5, 0):
        with kw.connect(broker.kafka_port) as s:
            s.sendall(struct.pack(">i", size) + b"\x00" * 8)
            assert kw.closed_by_peer(s), f"frame length {size} did not close the connection"


def read_unsupported_answer(s, correlation_id, flexible_header=False):
    """Reads the answer to a request Keel does not serve: UNSUPPORTED_VERSION
    and the supported ranges in the ApiVersions v0 layout."""
    corr, body = kw.read_response(s)
    assert corr == correlation_id, (corr, correlation_id)
    if flexible_header:
        assert body[0] == 0, "expected an empty tagged-field section in the response header"
        body = body[1:]
    d = kw.Decoder(body)
    assert d.int16() == 35, "expected UNSUPPORTED_VERSION (35)"
    ranges = {}
    for _ in range(d.int32()):
        key, lo, hi = d.int16(), d.int16(), d.int16()
        ranges[key] = (lo, hi)
    assert d.done(), "the answer is not in the ApiVersions v0 layout"
    assert ranges[18] == (0, 3) and 999 not in ranges, ranges
    return ranges


@test
def unknown_api_key_is_answered_and_connection_kept(broker):
    before = broker.log_text().count("which Keel does not serve")
    with kw.connect(broker.kafka_port) as s:
        # Several in a row, pipelined: each answered in order, one log line.
        s.sendall(kw.request_frame(999, 0, 1, b"") + kw.request_frame(0x7ead, 3, 2, b"\x01\x02")
                  + kw.request_frame(999, 5, 3, b""))
        for corr in (1, 2, 3):
            read_unsupported_answer(s, corr)
        # The connection still serves what Keel knows.
        s.sendall(kw.request_frame(18, 0, 4, b""))
        corr, body = kw.read_response(s)
        assert corr == 4 and kw.Decoder(body).int16() == 0
    wait_until(lambda: broker.log_text().count("which Keel does not serve") > before, 10, "the log line")
    assert broker.log_text().count("which Keel does not serve") == before + 1, "logged more than once"


@test
def unsupported_metadata_version_is_answered(broker):
    with kw.connect(broker.kafka_port) as s:
        # Metadata v99 would be flexible: its response header is v1.
        s.sendall(kw.request_frame(3, 99, 1, kw.metadata_request(4, None)))
        read_unsupported_answer(s, 1, flexible_header=True)
        # Below the minimum (Fetch starts at v4): header v0.
        s.sendall(kw.request_frame(1, 0, 2, b""))
        read_unsupported_answer(s, 2)
        md = kw.parse_metadata(1, _metadata_body(s))
        assert TOPIC in md["topics"], md


def _metadata_body(s):
    s.sendall(kw.request_frame(3, 1, 3, kw.metadata_request(1, None)))
    corr, body = kw.read_response(s)
    assert corr == 3
    return body


@test
def api_versions_v99_answers_error_35_in_v0_layout(broker):
    with kw.connect(broker.kafka_port) as s:
        s.sendall(kw.request_frame(18, 99, 42, b"\x00\x01\x02"))
        corr, body = kw.read_response(s)
        assert corr == 42
        d = kw.Decoder(body)
        assert d.int16() == 35
        ranges = {}
        for _ in range(d.int32()):
            key, lo, hi = d.int16(), d.int16(), d.int16()
            ranges[key] = (lo, hi)
        assert d.done(), "ApiVersions error body is not in the v0 layout"
        assert ranges[18] == (0, 3), ranges
        # The connection stays usable: the client retries with v0.
        s.sendall(kw.request_frame(18, 0, 43, b""))
        corr, body = kw.read_response(s)
        assert corr == 43 and kw.Decoder(body).int16() == 0


@test
def garbage_bytes_close(broker):
    cases = [
        b"GET / HTTP/1.1\r\nHost: keel\r\n\r\n",  # length 'GET ' = 1.1 GB
        # Metadata v1 whose client_id claims 30000 bytes.
        struct.pack(">i", 10) + struct.pack(">hhih", 3, 1, 5, 30000),
        # Metadata v1 with a topic array of a million entries in 4 bytes.
        kw.request_frame(3, 1, 6, struct.pack(">i", 1000000)),
        # Metadata v1 with a topic name longer than the frame.
        kw.request_frame(3, 1, 7, struct.pack(">ih", 1, 500) + b"x" * 10),
        # CreateTopics v3 cut after the first field.
        kw.request_frame(19, 3, 8, struct.pack(">i", 1) + kw.string("t")),
    ]
    for i, payload in enumerate(cases):
        with kw.connect(broker.kafka_port) as s:
            s.sendall(payload)
            assert kw.closed_by_peer(s), f"garbage case {i} did not close the connection"


@test
def corrupt_batch_is_refused_and_not_stored(broker):
    port = broker.kafka_port
    before = kw.latest_offset(port, TOPIC, 0)
    err, base = kw.produce(port, TOPIC, 0, record_batch([b"good"]))
    assert (err, base) == (0, before), (err, base, before)
    err, _ = kw.produce(port, TOPIC, 0, record_batch([b"bad-1", b"bad-2"], corrupt_crc=True))
    assert err == 2, f"a batch with a wrong CRC got error {err}, expected CORRUPT_MESSAGE (2)"
    assert kw.latest_offset(port, TOPIC, 0) == before + 1
    consumed = kcat_consume(broker)
    assert consumed[len(MESSAGES):] == ["good"], consumed


INVALID_RECORD, CORRUPT_MESSAGE, UNSUPPORTED_COMPRESSION_TYPE = 87, 2, 76
GZIP = 1


def invalid_batches():
    """(what, batch, expected Kafka error): each batch has a valid CRC
    unless the case is about the CRC."""
    two = record_bytes([b"x", b"y"])
    return [
        ("records count above the records", raw_batch(two, 3), INVALID_RECORD),
        ("records count below the records", raw_batch(record_bytes([b"x", b"y", b"z"]), 2), INVALID_RECORD),
        ("lastOffsetDelta 2^31-1 on one record",
         raw_batch(record_bytes([b"x"]), 1, last_offset_delta=2**31 - 1), INVALID_RECORD),
        ("offset deltas going backwards", raw_batch(record_bytes([b"x", b"y"], deltas=[1, 0]), 2), INVALID_RECORD),
        ("offset deltas with a gap", raw_batch(record_bytes([b"x", b"y"], deltas=[0, 2]), 2), INVALID_RECORD),
        ("a record length varint of 11 bytes", raw_batch(record_bytes([b"x"]) + b"\xff" * 11, 2), INVALID_RECORD),
        ("the control bit set by a client", raw_batch(two, 2, attributes=0x20), INVALID_RECORD),
        ("an empty batch", raw_batch(b"", 0, last_offset_delta=0), INVALID_RECORD),
        ("gzip records with trailing bytes", raw_batch(gzip.compress(two + b"\x00\x00"), 2, attributes=GZIP),
         INVALID_RECORD),
        ("gzip records fewer than the count", raw_batch(gzip.compress(two), 5, attributes=GZIP), INVALID_RECORD),
        ("unknown codec 7", raw_batch(two, 2, attributes=7), UNSUPPORTED_COMPRESSION_TYPE),
        ("unknown codec 6", raw_batch(two, 2, attributes=6), UNSUPPORTED_COMPRESSION_TYPE),
        ("undecodable gzip", raw_batch(b"\x1f\x8b\x08" + b"\x00" * 30, 2, attributes=GZIP), CORRUPT_MESSAGE),
        ("a wrong CRC", raw_batch(two, 2, corrupt_crc=True), CORRUPT_MESSAGE),
    ]


def kcat_offsets_and_values(broker, topic):
    out = subprocess.run(["kcat", "-b", broker.bootstrap, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e",
                          "-q", "-f", "%o %s\n"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [(int(line.split(" ", 1)[0]), line.split(" ", 1)[1]) for line in out.stdout.splitlines()]


@test
def invalid_batches_are_refused_and_consumers_read_to_the_end(broker):
    # Each refused batch sits between two good ones; afterwards a real
    # consumer must read every good record, in offset order, to the end.
    port, topic = broker.kafka_port, "validated"
    err, _ = kw.produce(port, topic, 0, record_batch([b"good-start"]))
    assert err == 0, err
    expected = ["good-start"]
    for i, (what, batch, want) in enumerate(invalid_batches()):
        before = kw.latest_offset(port, topic, 0)
        err, _ = kw.produce(port, topic, 0, batch)
        assert err == want, f"{what}: got error {err}, expected {want}"
        assert kw.latest_offset(port, topic, 0) == before, f"{what}: the high watermark moved"
        # A refused batch in the same request as a good one: nothing stored.
        err, _ = kw.produce(port, topic, 0, record_batch([b"not-stored"]) + batch)
        assert err == want, f"{what} after a good batch: got error {err}, expected {want}"
        good = [f"good-{i}-a".encode(), f"good-{i}-b".encode()]
        batch_ok = (raw_batch(gzip.compress(record_bytes(good)), 2, attributes=GZIP) if i % 2
                    else record_batch(good))
        err, base = kw.produce(port, topic, 0, batch_ok)
        assert (err, base) == (0, before), f"good batch after '{what}': {(err, base)}, expected (0, {before})"
        expected += [g.decode() for g in good]
    assert f"record #1 for {topic}-0" in broker.log_text(), "the broker log does not name the record refused"
    # Good batches with every codec, as librdkafka writes them.
    for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
        out = subprocess.run(["kcat", "-b", broker.bootstrap, "-P", "-t", topic, "-p", "0", "-z", codec],
                             input=f"{codec}-1\n{codec}-2\n", capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, f"kcat -z {codec}: {out.stderr}"
        expected += [f"{codec}-1", f"{codec}-2"]
    got = kcat_offsets_and_values(broker, topic)
    assert [o for o, _ in got] == list(range(len(expected))), f"offsets out of order or missing: {got}"
    assert [v for _, v in got] == expected, got
    assert kw.latest_offset(port, topic, 0) == len(expected)


@test
def large_frame_arrives_whole(broker):
    # ~900 KiB: read in several growing chunks, it must still be one request.
    values = [bytes([65 + i]) * (90 * 1024) for i in range(10)]
    err, base = kw.produce(broker.kafka_port, "big", 0, record_batch(values))
    assert (err, base) == (0, 0), (err, base)
    assert kw.latest_offset(broker.kafka_port, "big", 0) == len(values)


@test
def client_disconnects_mid_request(broker):
    frame = kw.request_frame(3, 1, 9, kw.metadata_request(1, None))
    for cut in (1, 4, 7, len(frame) - 1):
        with kw.connect(broker.kafka_port) as s:
            s.sendall(frame[:cut])
    # Complete requests whose answers nobody reads, some pipelined.
    with kw.connect(broker.kafka_port) as s:
        s.sendall(frame * 50)
    with kw.connect(broker.kafka_port) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset, not FIN
        s.sendall(frame * 5 + frame[:3])


@test
def hundred_connections_open_and_close(broker):
    sockets = [kw.connect(broker.kafka_port) for _ in range(100)]
    for i, s in enumerate(sockets):
        if i % 3 == 0:
            s.sendall(kw.request_frame(18, 0, i, b""))
        elif i % 3 == 1:
            s.sendall(struct.pack(">i", 50))
        s.close()
    for _ in range(100):
        with kw.connect(broker.kafka_port):
            pass


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    raise AssertionError("no VmRSS in /proc/%d/status" % pid)


@test
def announced_sizes_do_not_commit_memory(broker):
    # Ten clients announce ~100 MiB frames (just under max_request_bytes)
    # and send 1 KiB each: the broker must not reserve what was announced.
    before = rss_mib(broker.proc.pid)
    sockets = [kw.connect(broker.kafka_port) for _ in range(10)]
    try:
        for s in sockets:
            s.sendall(struct.pack(">i", 100 * 1024 * 1024 - 1) + b"\x00" * 1024)
        kw.api_versions(broker.kafka_port)
        grown = rss_mib(broker.proc.pid) - before
        assert grown < 200, f"the broker grew by {grown} MiB for 10 KiB of announced-but-unsent frames"
    finally:
        for s in sockets:
            s.close()


@test
def nul_in_a_topic_name_reaches_no_other_topic(broker):
    # The name crosses into the broker as a C string: cut at the NUL it
    # would be TOPIC. Each request must find no such topic instead.
    port, evil = broker.kafka_port, TOPIC + "\0junk"
    before = kw.latest_offset(port, TOPIC, 0)
    error, _ = kw.produce(port, evil, 0, record_batch([b"sneaky"]))
    assert error == 3, f"produce to {evil!r}: error {error}, expected UNKNOWN_TOPIC_OR_PARTITION (3)"
    assert kw.latest_offset(port, TOPIC, 0) == before, "the record landed in " + TOPIC

    # DeleteTopics v1: throttle, then [name, error].
    d = kw.Decoder(kw.roundtrip(port, 20, 1, kw.array([evil], kw.string) + struct.pack(">i", 5000)))
    d.int32()
    answers = d.array(lambda x: (x.string(), x.int16()))
    assert answers == [(evil, 3)], answers
    assert kw.metadata(port, 1, [TOPIC])["topics"][TOPIC][0] == 0, TOPIC + " was deleted"

    # CreateTopics v0: [name, partitions, replication, assignments, configs], timeout.
    body = (struct.pack(">i", 1) + kw.string("made\0up") + struct.pack(">ihii", 1, 1, 0, 0)
            + struct.pack(">i", 5000))
    d = kw.Decoder(kw.roundtrip(port, 19, 0, body))
    answers = d.array(lambda x: (x.string(), x.int16()))
    assert answers == [("made\0up", 17)], f"{answers}: expected INVALID_TOPIC_EXCEPTION (17)"
    md = kw.metadata(port, 1, None)
    assert not any(name.startswith("made") for name in md["topics"]), md["topics"].keys()


def main():
    args = parse_args()
    # Debug logging: refused produces are logged at debug level (Produce v7
    # answers carry no message) and one case checks what the log says.
    with Broker(args.build_dir, topics_toml=f"[topics.{TOPIC}]\npartitions = 1\n",
                broker_toml='log_level = "debug"') as broker:
        kcat_produce(broker, MESSAGES)
        assert_healthy(broker)
        return run_cases(broker, TESTS, after_each=assert_healthy)


if __name__ == "__main__":
    sys.exit(main())
