"""Kafka admin operations on existing topics, end to end with real clients:
CreatePartitions (librdkafka's admin API, kafka-python's KafkaAdminClient,
kcat -L, wire v2/v3), DeleteRecords (librdkafka, wire v0 and v2, Fetch and
ListOffsets after it, segments removed by retention), DescribeCluster and
DescribeLogDirs (wire, every version), a transactional librdkafka producer
that must fail at once with Keel's reason, the HTTP equivalents, and that
partitions and log start offsets survive SIGKILL.
"""
import json
import os
import re
import struct
import subprocess
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keel_harness import Broker, parse_args, wait_until  # noqa: E402
from client_programs import librdkafka_program  # noqa: E402
from kafka_batches import record_batch  # noqa: E402
import kafka_wire as kw  # noqa: E402

try:
    import kafka  # noqa: F401
except ImportError:
    sys.path.append("/usr/lib/python3/dist-packages")
from kafka import KafkaAdminClient  # noqa: E402
from kafka.admin import NewPartitions  # noqa: E402
from kafka import errors as kerrors  # noqa: E402

NONE, OFFSET_OUT_OF_RANGE, UNKNOWN_TOPIC = 0, 1, 3
INVALID_TOPIC, INVALID_PARTITIONS, INVALID_REPLICA_ASSIGNMENT, INVALID_REQUEST = 17, 37, 39, 42
MISMATCHED_ENDPOINT_TYPE = 114

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


# ---- flexible (KIP-482) encoding for the requests built by hand here


def uvarint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def cstring(s):
    if s is None:
        return b"\x00"
    b = s.encode()
    return uvarint(len(b) + 1) + b


def carray(items, encode):
    if items is None:
        return b"\x00"
    return uvarint(len(items) + 1) + b"".join(encode(i) for i in items)


TAGS = b"\x00"


def flexible_frame(api_key, version, correlation_id, body):
    """A request with header v2 (client id as int16 string, then tags)."""
    payload = struct.pack(">hhi", api_key, version, correlation_id) + kw.string("keel-test") + TAGS + body
    return struct.pack(">i", len(payload)) + payload


class FlexDecoder(kw.Decoder):
    def uvarint(self):
        shift = n = 0
        while True:
            b = self.data[self.pos]
            self.pos += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    def cstring(self):
        n = self.uvarint()
        if n == 0:
            return None
        s = self.data[self.pos:self.pos + n - 1].decode()
        self.pos += n - 1
        return s

    def carray(self, element):
        n = self.uvarint()
        return None if n == 0 else [element(self) for _ in range(n - 1)]

    def tags(self):
        assert self.uvarint() == 0, "unexpected tagged fields"


def flexible_roundtrip(port, api_key, version, body, correlation_id=7):
    with kw.connect(port) as s:
        s.sendall(flexible_frame(api_key, version, correlation_id, body))
        corr, resp = kw.read_response(s)
    assert corr == correlation_id
    d = FlexDecoder(resp)
    d.tags()  # response header v1
    return d


# ---- helpers


def admin_ops(broker, args, *op):
    exe = librdkafka_program(args, "admin_ops", broker.workdir)
    p = subprocess.run([exe, broker.bootstrap, *op], capture_output=True, text=True, timeout=90)
    assert p.returncode == 0, f"admin_ops {op} exited {p.returncode}: {p.stderr[-2000:]}"
    return p.stdout.strip()


def partition_count(broker, topic):
    md = kw.metadata(broker.kafka_port, 1, [topic])
    err, _, parts = md["topics"][topic]
    assert err == 0, md
    return len(parts)


def earliest_offset(port, topic, partition):
    """ListOffsets v1, timestamp -2: the log start offset."""
    body = (struct.pack(">i", -1) + struct.pack(">i", 1) + kw.string(topic) + struct.pack(">i", 1)
            + struct.pack(">iq", partition, -2))
    d = kw.Decoder(kw.roundtrip(port, 2, 1, body))
    assert d.int32() == 1 and d.string() == topic and d.int32() == 1
    index, error, _ts, offset = d.int32(), d.int16(), d.int64(), d.int64()
    assert index == partition and error == 0, error
    return offset


def fetch(port, topic, partition, offset):
    """Fetch v4 of one partition: (error, high watermark, record bytes)."""
    body = (struct.pack(">iiiib", -1, 0, 0, 1 << 20, 0) + struct.pack(">i", 1) + kw.string(topic)
            + struct.pack(">i", 1) + struct.pack(">iqi", partition, offset, 1 << 20))
    d = kw.Decoder(kw.roundtrip(port, 1, 4, body))
    d.int32()  # throttle
    assert d.int32() == 1 and d.string() == topic and d.int32() == 1
    index, error, hw = d.int32(), d.int16(), d.int64()
    d.int64()  # last stable offset
    d.array(lambda d: (d.int64(), d.int64()))  # aborted transactions
    n = d.int32()
    assert index == partition
    return error, hw, d.data[d.pos:d.pos + max(n, 0)]


def first_batch_base(records):
    return struct.unpack_from(">q", records, 0)[0] if len(records) >= 8 else None


def produce_values(port, topic, partition, values):
    for v in values:
        err, _ = kw.produce(port, topic, partition, record_batch([v]))
        assert err == 0, err


def http(broker, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(broker.http_url + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def segment_files(broker, topic, partition):
    d = os.path.join(broker.data_dir, f"{topic}-{partition}")
    return sorted(f for f in os.listdir(d) if f.endswith(".log"))


# ---- CreatePartitions


@test
def librdkafka_create_partitions_grows_at_once(broker, args):
    assert partition_count(broker, "grow") == 2
    assert admin_ops(broker, args, "create-partitions", "grow", "4") == "ok"
    # Metadata shows them at once, and they take records.
    assert partition_count(broker, "grow") == 4
    out = subprocess.run(["kcat", "-b", broker.bootstrap, "-L", "-t", "grow"], capture_output=True, text=True,
                         timeout=30).stdout
    assert 'topic "grow" with 4 partitions' in out, out
    assert re.search(r"partition 3, leader 0", out), out
    err, base = kw.produce(broker.kafka_port, "grow", 3, record_batch([b"into-new-partition"]))
    assert (err, base) == (0, 0), (err, base)
    # validate_only changes nothing.
    assert admin_ops(broker, args, "create-partitions", "grow", "6", "validate") == "ok"
    assert partition_count(broker, "grow") == 4
    # Never fewer, never the same; unknown topics are named.
    out = admin_ops(broker, args, "create-partitions", "grow", "3")
    assert out.startswith("error INVALID_PARTITIONS") and "never removed" in out, out
    out = admin_ops(broker, args, "create-partitions", "grow", "4")
    assert out.startswith("error INVALID_PARTITIONS"), out
    out = admin_ops(broker, args, "create-partitions", "no-such-topic", "4")
    assert out.startswith("error UNKNOWN_TOPIC_OR_PART"), out


@test
def kafka_python_create_partitions(broker, args):
    a = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=10000)
    try:
        a.create_partitions({"grow": NewPartitions(5)})
        assert partition_count(broker, "grow") == 5
        try:
            a.create_partitions({"grow": NewPartitions(5)})
            raise AssertionError("growing to the same count was accepted")
        except kerrors.InvalidPartitionsError:
            pass
    finally:
        a.close()


def create_partitions_v2(broker, topics, version=2, validate_only=False):
    def topic(t):
        name, count, assignments = t
        return (cstring(name) + struct.pack(">i", count)
                + carray(assignments, lambda a: carray(a, lambda b: struct.pack(">i", b)) + TAGS) + TAGS)
    body = carray(topics, topic) + struct.pack(">ib", 5000, 1 if validate_only else 0) + TAGS
    d = flexible_roundtrip(broker.kafka_port, 37, version, body)
    d.int32()  # throttle

    def result(d):
        r = (d.cstring(), d.int16(), d.cstring())
        d.tags()
        return r
    results = d.carray(result)
    d.tags()
    assert d.done()
    return results


@test
def create_partitions_flexible_versions_and_assignments(broker, args):
    res = create_partitions_v2(broker, [("grow", 6, [[0]])], version=3)
    assert res == [("grow", NONE, None)], res
    assert partition_count(broker, "grow") == 6
    res = create_partitions_v2(broker, [("grow", 7, [[1]]), ("missing", 2, None)])
    assert res[0][:2] == ("grow", INVALID_REPLICA_ASSIGNMENT) and "single broker" in res[0][2], res
    assert res[1][:2] == ("missing", UNKNOWN_TOPIC), res
    res = create_partitions_v2(broker, [("grow", 8, None), ("grow", 9, None)])
    assert [r[1] for r in res] == [INVALID_REQUEST, INVALID_REQUEST], res
    res = create_partitions_v2(broker, [("__consumer_offsets", 80, None)])
    assert res[0][1] == INVALID_REQUEST and "internal" in res[0][2], res
    assert partition_count(broker, "grow") == 6


# ---- DeleteRecords


@test
def librdkafka_delete_records_moves_the_log_start(broker, args):
    port = broker.kafka_port
    produce_values(port, "trim", 0, [b"record-%03d" % i + b"x" * 200 for i in range(40)])
    assert len(segment_files(broker, "trim", 0)) > 3, "expected several segments"
    assert admin_ops(broker, args, "delete-records", "trim", "0", "10") == "low 10"
    assert earliest_offset(port, "trim", 0) == 10
    # Below the start: OFFSET_OUT_OF_RANGE; at it: the batch holding it.
    err, _, _ = fetch(port, "trim", 0, 5)
    assert err == OFFSET_OUT_OF_RANGE, err
    err, _, records = fetch(port, "trim", 0, 10)
    assert err == NONE and first_batch_base(records) == 10, (err, records[:16])
    # An offset below the start changes nothing; beyond the high watermark
    # is out of range.
    assert admin_ops(broker, args, "delete-records", "trim", "0", "3") == "low 10"
    out = admin_ops(broker, args, "delete-records", "trim", "0", "41")
    assert out.startswith("error OFFSET_OUT_OF_RANGE"), out
    # Segments wholly below the start go at the next retention pass.
    assert admin_ops(broker, args, "delete-records", "trim", "0", "25") == "low 25"

    def old_segments_gone():
        bases = [int(f[:20]) for f in segment_files(broker, "trim", 0)]
        return bases and bases[0] <= 25 and all(b >= 20 or b == bases[0] for b in bases)
    wait_until(old_segments_gone, 30, "segments below offset 25 to be deleted")
    assert earliest_offset(port, "trim", 0) == 25


def delete_records_wire(broker, version, topics):
    """topics: [(name, [(partition, offset)])] -> {(name, p): (low, error)}"""
    flex = version >= 2
    if flex:
        body = carray(topics, lambda t: cstring(t[0]) + carray(
            t[1], lambda p: struct.pack(">iq", *p) + TAGS) + TAGS) + struct.pack(">i", 5000) + TAGS
        d = flexible_roundtrip(broker.kafka_port, 21, version, body)
    else:
        body = kw.array(topics, lambda t: kw.string(t[0]) + kw.array(t[1], lambda p: struct.pack(">iq", *p)))
        body += struct.pack(">i", 5000)
        d = FlexDecoder(kw.roundtrip(broker.kafka_port, 21, version, body))
    d.int32()  # throttle
    out = {}
    for _ in range((d.uvarint() - 1) if flex else d.int32()):
        name = d.cstring() if flex else d.string()
        for _ in range((d.uvarint() - 1) if flex else d.int32()):
            p, low, err = d.int32(), d.int64(), d.int16()
            if flex:
                d.tags()
            out[(name, p)] = (low, err)
        if flex:
            d.tags()
    if flex:
        d.tags()
    assert d.done()
    return out


@test
def delete_records_wire_edge_cases(broker, args):
    port = broker.kafka_port
    produce_values(port, "edge", 0, [b"a", b"b", b"c"])
    res = delete_records_wire(broker, 2, [("edge", [(0, -1), (7, 0)]), ("missing", [(0, 0)]),
                                          ("__consumer_offsets", [(0, 0)])])
    assert res[("edge", 0)] == (3, NONE), res  # -1 = the high watermark
    assert res[("edge", 7)][1] == UNKNOWN_TOPIC and res[("missing", 0)][1] == UNKNOWN_TOPIC, res
    assert res[("__consumer_offsets", 0)][1] == INVALID_TOPIC, res
    res = delete_records_wire(broker, 0, [("edge", [(0, -5), (0, 99)])])
    assert res[("edge", 0)][1] == OFFSET_OUT_OF_RANGE, res
    assert earliest_offset(port, "edge", 0) == 3
    # The partition keeps taking records after the start.
    err, base = kw.produce(port, "edge", 0, record_batch([b"d"]))
    assert (err, base) == (0, 3)
    err, _, records = fetch(port, "edge", 0, 3)
    assert err == NONE and first_batch_base(records) == 3


# ---- DescribeCluster, DescribeLogDirs


@test
def describe_cluster_versions(broker, args):
    for v in (0, 1):
        body = struct.pack(">b", 0) + (struct.pack(">b", 1) if v >= 1 else b"") + TAGS
        d = flexible_roundtrip(broker.kafka_port, 60, v, body)
        d.int32()
        assert (d.int16(), d.cstring()) == (0, None)
        if v >= 1:
            assert d.int8() == 1
        assert (d.cstring(), d.int32()) == ("keel", 0)

        def node(d):
            n = (d.int32(), d.cstring(), d.int32(), d.cstring())
            d.tags()
            return n
        assert d.carray(node) == [(0, "127.0.0.1", broker.kafka_port, None)]
        d.int32()  # authorized operations
        d.tags()
        assert d.done()
    d = flexible_roundtrip(broker.kafka_port, 60, 1, struct.pack(">bb", 0, 2) + TAGS)
    d.int32()
    assert d.int16() == MISMATCHED_ENDPOINT_TYPE and "endpoint type" in d.cstring()


def describe_log_dirs(broker, version, topics):
    flex = version >= 2
    if flex:
        body = carray(topics, lambda t: cstring(t[0]) + carray(t[1], lambda p: struct.pack(">i", p)) + TAGS)
        body += TAGS
        d = flexible_roundtrip(broker.kafka_port, 35, version, body)
    else:
        body = kw.array(topics, lambda t: kw.string(t[0]) + kw.array(t[1], lambda p: struct.pack(">i", p)))
        d = FlexDecoder(kw.roundtrip(broker.kafka_port, 35, version, body))
    d.int32()
    if version >= 3:
        assert d.int16() == 0
    n = (d.uvarint() - 1) if flex else d.int32()
    assert n == 1
    err = d.int16()
    path = d.cstring() if flex else d.string()
    sizes = {}
    for _ in range((d.uvarint() - 1) if flex else d.int32()):
        name = d.cstring() if flex else d.string()
        for _ in range((d.uvarint() - 1) if flex else d.int32()):
            p, size, lag, future = d.int32(), d.int64(), d.int64(), d.int8()
            assert (lag, future) == (0, 0)
            sizes[(name, p)] = size
            if flex:
                d.tags()
        if flex:
            d.tags()
    space = (d.int64(), d.int64()) if version >= 4 else None
    if flex:
        d.tags()
        d.tags()
    assert d.done()
    return err, path, sizes, space


@test
def describe_log_dirs_versions(broker, args):
    produce_values(broker.kafka_port, "grow", 1, [b"sized"])
    for v in range(5):
        err, path, sizes, space = describe_log_dirs(broker, v, None)
        assert err == 0 and path == broker.data_dir, (err, path)
        assert sizes[("grow", 1)] > 0 and ("grow", 5) in sizes and ("__consumer_offsets", 0) in sizes, sizes
        if v >= 4:
            total, usable = space
            assert total > 0 and 0 <= usable <= total, space
    _, _, sizes, _ = describe_log_dirs(broker, 4, [("grow", [1, 99]), ("missing", [0])])
    assert list(sizes) == [("grow", 1)], sizes


# ---- transactions fail fast


@test
def transactional_producer_fails_at_once_with_keels_reason(broker, args):
    out = admin_ops(broker, args, "init-transactions", "txn-app-1")
    print(f"  init_transactions: {out}")
    elapsed, fatal, name, message = out.split(" ", 3)
    assert name != "NO_ERROR", out
    assert "not supported by Keel" in message, out
    # The reason arrives at once, not after transaction.timeout/60 s retries.
    assert int(elapsed) < 10000, f"init_transactions took {elapsed} ms: {out}"


# ---- HTTP


@test
def http_create_partitions_and_delete_records(broker, args):
    status, body = http(broker, "POST", "/topics/web/partitions", {"count": 3})
    assert (status, body["partition_count"]) == (200, 3), body
    assert partition_count(broker, "web") == 3
    status, body = http(broker, "POST", "/topics/web/partitions", {"count": 2})
    assert status == 400 and "never removed" in body["error"]["message"], body
    status, body = http(broker, "POST", "/topics/nope/partitions", {"count": 2})
    assert status == 404, body
    status, body = http(broker, "POST", "/topics/web/partitions", {"count": 9, "validate_only": True})
    assert status == 200 and partition_count(broker, "web") == 3, body
    produce_values(broker.kafka_port, "web", 2, [b"1", b"2", b"3"])
    status, body = http(broker, "POST", "/topics/web/partitions/2/delete-records", {"before_offset": 2})
    assert (status, body["log_start_offset"]) == (200, 2), body
    status, body = http(broker, "POST", "/topics/web/partitions/2/delete-records", {"before_offset": 9})
    assert status == 400 and body["error"]["code"] == "offset_out_of_range", body
    status, body = http(broker, "GET", "/topics/web")
    assert body["partitions"][2]["log_start_offset"] == 2, body


# ---- restarts


def check_survivors(broker):
    counts = {t: partition_count(broker, t) for t in ("grow", "web")}
    assert counts == {"grow": 6, "web": 3}, counts
    starts = {(t, p): earliest_offset(broker.kafka_port, t, p) for t, p in (("trim", 0), ("edge", 0), ("web", 2))}
    assert starts == {("trim", 0): 25, ("edge", 0): 3, ("web", 2): 2}, starts
    err, _, _ = fetch(broker.kafka_port, "trim", 0, 24)
    assert err == OFFSET_OUT_OF_RANGE, err


def main():
    args = parse_args()
    topics = ("[topics.grow]\npartitions = 2\n\n[topics.trim]\nsegment_bytes = 1024\nretention = []\n\n"
              "[topics.edge]\n\n[topics.web]\n")
    failed = 0
    broker = Broker(args.build_dir, topics_toml=topics, http=True,
                    broker_toml="retention_check_ms = 100\nauto_create_topics = false")
    broker.start()
    try:
        for fn in TESTS:
            try:
                fn(broker, args)
                print(f"PASS {fn.__name__}")
            except Exception as e:  # report every failure, then fail the run
                failed += 1
                print(f"FAIL {fn.__name__}: {type(e).__name__}: {e}")
        assert broker.alive(), "broker died"
    finally:
        if failed:
            print("---- broker log (tail) ----\n" + broker.log_text()[-6000:])
        broker.kill()  # SIGKILL right after the last change
    total = len(TESTS)
    # What the run changed survives the SIGKILL, then a clean stop.
    for after in ("SIGKILL", "SIGTERM"):
        total += 1
        try:
            broker.start()
            check_survivors(broker)
            broker.stop()
            print(f"PASS survives_{after}")
        except Exception as e:
            failed += 1
            print(f"FAIL survives_{after}: {type(e).__name__}: {e}")
            print(broker.log_text()[-4000:])
            broker.kill()
    print(f"{total - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
