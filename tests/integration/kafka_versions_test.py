"""Every served version of the data-path and discovery APIs (Produce, Fetch,
ListOffsets, Metadata, FindCoordinator, InitProducerId, ApiVersions) at wire
level: each version's request built byte by byte from Kafka's message specs
and its whole answer decoded, including the flexible versions (KIP-482):
compact strings and arrays, tagged sections, unknown tags in the request
skipped. Then hostile flexible input (over-long varints, compact lengths and
tagged fields beyond the frame): the connection is closed without an answer
and the broker keeps serving.

Last, the cluster view on a second broker (Kafka and HTTP) whose Kafka
listener sets node_id and advertised_port: Metadata, DescribeCluster,
FindCoordinator and GET /cluster agree on the broker's cluster id (0, which
wins over node_id, with a warning at start) and its advertised address.
"""
import json
import os
import struct
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_wire as kw  # noqa: E402
from kafka_batches import record_batch  # noqa: E402
from keel_harness import Broker, parse_args, run_cases  # noqa: E402

TOPIC = "versions"
ZERO_UUID = b"\0" * 16
NOT_REQUESTED = -2147483648
# Kafka's AclOperation bits for a topic (READ..ALTER_CONFIGS) and a cluster.
TOPIC_OPERATIONS = sum(1 << op for op in (3, 4, 5, 6, 7, 8, 10, 11))
CLUSTER_OPERATIONS = sum(1 << op for op in (5, 7, 8, 9, 10, 11, 12))
# Unknown tags a newer client might send: the broker must skip them.
UNKNOWN_TAGS = {7: b"future", 300: b"\x01\x02"}

EXPECTED_RANGES = {0: (0, 9), 1: (4, 12), 2: (1, 6), 3: (0, 12), 10: (0, 4), 18: (0, 3), 22: (0, 4)}

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def flexible(api_key, version):
    return version >= kw.FIRST_FLEXIBLE[api_key]


# ------------------------------------------------------------ ApiVersions


@test
def api_versions_v3_lists_the_ranges(broker):
    body = kw.compact_string("keel-test") + kw.compact_string("1.0") + kw.tags(UNKNOWN_TAGS)
    d = kw.FlexDecoder(kw.roundtrip_any(broker.kafka_port, 18, 3, body), True)
    assert d.int16() == 0
    ranges = {}
    for key, lo, hi in d.array(lambda x: (x.int16(), x.int16(), x.int16(), x.tags())[:3]):
        ranges[key] = (lo, hi)
    assert d.int32() == 0  # throttle
    # No supported/finalized features (tags 0-2): Keel has no feature flags.
    assert d.tags() == {} and d.done()
    for key, expected in EXPECTED_RANGES.items():
        assert ranges[key] == expected, (key, ranges[key], expected)


# --------------------------------------------------------------- Metadata


def metadata_body(version, topics, include_ops=False, topic_tags=None, tags=None):
    """topics: None (all) or a list of names (None = by id only, v10+)."""
    e = kw.Encoder(flexible(3, version))

    def topic(name):
        out = ZERO_UUID if version >= 10 else b""
        return out + e.string(name) + e.tags(topic_tags)

    body = e.array(topics, topic)
    if version >= 4:
        body += b"\x01"  # allow_auto_topic_creation
    if 8 <= version <= 10:
        body += b"\x01" if include_ops else b"\x00"  # cluster ops
    if version >= 8:
        body += b"\x01" if include_ops else b"\x00"  # topic ops
    return body + e.tags(tags)


def parse_metadata(version, body):
    d = kw.FlexDecoder(body, flexible(3, version))
    if version >= 3:
        assert d.int32() == 0

    def broker(x):
        node, host, port = x.int32(), x.string(), x.int32()
        rack = x.string() if version >= 1 else None
        x.tags()
        return (node, host, port, rack)

    out = {"brokers": d.array(broker)}
    out["cluster_id"] = d.string() if version >= 2 else None
    out["controller"] = d.int32() if version >= 1 else None

    def partition(x):
        p = {"error": x.int16(), "index": x.int32(), "leader": x.int32()}
        p["epoch"] = x.int32() if version >= 7 else None
        p["replicas"] = x.array(lambda y: y.int32())
        p["isr"] = x.array(lambda y: y.int32())
        p["offline"] = x.array(lambda y: y.int32()) if version >= 5 else []
        x.tags()
        return p

    def topic(x):
        t = {"error": x.int16(), "name": x.string()}
        t["id"] = x.uuid() if version >= 10 else ZERO_UUID
        t["internal"] = bool(x.int8()) if version >= 1 else False
        t["partitions"] = x.array(partition)
        t["ops"] = x.int32() if version >= 8 else NOT_REQUESTED
        x.tags()
        return t

    out["topics"] = d.array(topic)
    out["cluster_ops"] = d.int32() if 8 <= version <= 10 else NOT_REQUESTED
    assert d.tags() == {} and d.done(), f"trailing bytes in the Metadata v{version} answer"
    return out


@test
def metadata_every_version(broker):
    port = broker.kafka_port
    for v in range(0, 13):
        md = parse_metadata(v, kw.roundtrip_any(port, 3, v, metadata_body(v, [TOPIC])))
        assert [b[:3] for b in md["brokers"]] == [(0, "127.0.0.1", port)], md["brokers"]
        (t,) = md["topics"]
        assert (t["error"], t["name"], t["id"]) == (0, TOPIC, ZERO_UUID), (v, t)
        assert [p["index"] for p in t["partitions"]] == [0, 1], t
        for p in t["partitions"]:
            assert (p["error"], p["leader"], p["replicas"], p["isr"], p["offline"]) == (0, 0, [0], [0], []), p
            if v >= 7:
                # The broker's cluster view: a single node leads at epoch 0.
                assert p["epoch"] == 0, p
        assert t["ops"] == NOT_REQUESTED and md["cluster_ops"] == NOT_REQUESTED, (v, md)
        if v >= 2:
            assert md["cluster_id"] == "keel" and md["controller"] == 0, md
        print(f"  Metadata v{v}: ok")


@test
def metadata_all_topics_and_authorized_operations(broker):
    for v in (1, 8, 9, 10, 11, 12):
        md = parse_metadata(v, kw.roundtrip_any(broker.kafka_port, 3, v, metadata_body(v, None, include_ops=True)))
        names = {t["name"] for t in md["topics"]}
        assert TOPIC in names, (v, names)
        for t in md["topics"]:
            assert t["ops"] == (TOPIC_OPERATIONS if v >= 8 else NOT_REQUESTED), (v, t)
        assert md["cluster_ops"] == (CLUSTER_OPERATIONS if 8 <= v <= 10 else NOT_REQUESTED), (v, md)


@test
def metadata_flexible_skips_unknown_tags(broker):
    body = metadata_body(12, [TOPIC], topic_tags=UNKNOWN_TAGS, tags=UNKNOWN_TAGS)
    frame = kw.flexible_request_frame(3, 12, 9, body, header_tags=UNKNOWN_TAGS)
    with kw.connect(broker.kafka_port) as s:
        s.sendall(frame)
        corr, resp = kw.read_response(s)
    assert corr == 9 and resp[0] == 0, resp[:8]
    md = parse_metadata(12, resp[1:])
    assert [t["name"] for t in md["topics"]] == [TOPIC], md


@test
def metadata_topic_by_id_only(broker):
    # v12 may name a topic by id alone: Keel has no ids, so none is known.
    md = parse_metadata(12, kw.roundtrip_any(broker.kafka_port, 3, 12, metadata_body(12, [None, TOPIC])))
    got = sorted((t["error"], t["name"] or "") for t in md["topics"])
    assert got == [(0, TOPIC), (100, "")], got
    # v10-11 must name every topic.
    md = parse_metadata(10, kw.roundtrip_any(broker.kafka_port, 3, 10, metadata_body(10, [None])))
    assert [(t["error"], t["name"]) for t in md["topics"]] == [(42, "")], md


# ---------------------------------------------------------------- Produce


def produce_body(version, topic, partition, records):
    e = kw.Encoder(flexible(0, version))

    def part(_):
        return struct.pack(">i", partition) + (kw.uvarint(len(records) + 1) if e.flexible else
                                               struct.pack(">i", len(records))) + records + e.tags(UNKNOWN_TAGS)

    def top(_):
        return e.string(topic) + e.array([0], part) + e.tags()

    return e.string(None) + struct.pack(">hi", -1, 10000) + e.array([0], top) + e.tags(UNKNOWN_TAGS)


def parse_produce(version, body):
    d = kw.FlexDecoder(body, flexible(0, version))

    def part(x):
        p = {"index": x.int32(), "error": x.int16(), "base": x.int64()}
        x.int64()  # log_append_time
        p["log_start"] = x.int64()
        if version >= 8:
            p["record_errors"] = x.array(lambda y: (y.int32(), y.string(), y.tags()))
            p["message"] = x.string()
        x.tags()
        return p

    topics = d.array(lambda x: (x.string(), x.array(part), x.tags())[:2])
    assert d.int32() == 0  # throttle
    assert d.tags() == {} and d.done(), f"trailing bytes in the Produce v{version} answer"
    return topics


@test
def produce_v7_to_v9(broker):
    port = broker.kafka_port
    for v in (7, 8, 9):
        start = kw.latest_offset(port, TOPIC, 1)
        [(name, [p])] = parse_produce(v, kw.roundtrip_any(port, 0, v, produce_body(v, TOPIC, 1, record_batch(
            [f"v{v}-a".encode(), f"v{v}-b".encode()]))))
        assert (name, p["index"], p["error"], p["base"]) == (TOPIC, 1, 0, start), (v, p)
        if v >= 8:
            assert p["record_errors"] == [] and p["message"] is None, p
        assert kw.latest_offset(port, TOPIC, 1) == start + 2


@test
def produce_v8_v9_say_why(broker):
    port = broker.kafka_port
    for v in (8, 9):
        [(_, [p])] = parse_produce(v, kw.roundtrip_any(port, 0, v, produce_body(
            v, TOPIC, 0, record_batch([b"bad"], corrupt_crc=True))))
        assert p["error"] == 2 and p["record_errors"] == [], p
        assert p["message"] and "CRC" in p["message"].upper() and TOPIC + "-0" in p["message"], p
        [(_, [p])] = parse_produce(v, kw.roundtrip_any(port, 0, v, produce_body(v, TOPIC, 7, record_batch([b"x"]))))
        assert p["error"] == 3 and p["message"] and TOPIC + "-7" in p["message"], p


# ------------------------------------------------------------------ Fetch


def fetch_body(version, partition, offset, tags=None):
    e = kw.Encoder(flexible(1, version))

    def part(_):
        out = struct.pack(">i", partition)
        if version >= 9:
            out += struct.pack(">i", -1)  # current_leader_epoch
        out += struct.pack(">q", offset)
        if version >= 12:
            out += struct.pack(">i", -1)  # last_fetched_epoch
        out += struct.pack(">qi", -1, 1 << 20) + e.tags(UNKNOWN_TAGS)
        return out

    body = struct.pack(">iiiib", -1, 100, 1, 1 << 20, 0)
    body += struct.pack(">ii", 0, -1)  # session id, epoch: no session
    body += e.array([TOPIC], lambda t: e.string(t) + e.array([0], part) + e.tags())
    body += e.array([], None)  # forgotten topics
    body += e.string("rack-a")
    return body + e.tags(tags)


def parse_fetch(version, body):
    d = kw.FlexDecoder(body, flexible(1, version))
    assert d.int32() == 0  # throttle
    error, session = d.int16(), d.int32()

    def part(x):
        p = {"index": x.int32(), "error": x.int16(), "hw": x.int64(), "lso": x.int64(), "start": x.int64()}
        p["aborted"] = x.array(lambda y: (y.int64(), y.int64()))
        p["replica"] = x.int32()
        p["records"] = x.compact_bytes() if x.flexible else x.data[x.pos + 4:x.pos + 4 + x.int32()]
        if not x.flexible:
            x.pos += len(p["records"])
        p["tags"] = x.tags()
        return p

    topics = d.array(lambda x: (x.string(), x.array(part), x.tags())[:2])
    assert d.tags() == {} and d.done(), f"trailing bytes in the Fetch v{version} answer"
    return error, session, topics


@test
def fetch_v11_and_v12(broker):
    port = broker.kafka_port
    batch = record_batch([b"fetched"])
    [(_, [p])] = parse_produce(9, kw.roundtrip_any(port, 0, 9, produce_body(9, TOPIC, 0, batch)))
    assert p["error"] == 0, p
    for v in (11, 12):
        # cluster_id (tag 0 of a v12 request) is an unknown-to-Keel tag too.
        tags = {**UNKNOWN_TAGS, 0: kw.compact_string("some-cluster")} if v >= 12 else None
        error, session, [(name, [f])] = parse_fetch(v, kw.roundtrip_any(port, 1, v, fetch_body(v, 0, p["base"], tags)))
        assert (error, session, name) == (0, 0, TOPIC), (error, session, name)
        assert (f["index"], f["error"], f["aborted"], f["replica"], f["tags"]) == (0, 0, [], -1, {}), f
        assert f["hw"] == f["lso"] == p["base"] + 1 and f["start"] == 0, f
        # The stored batch comes back as sent, but for its base offset.
        assert f["records"][12:] == batch[12:], f["records"]
        assert struct.unpack_from(">q", f["records"])[0] == p["base"]


# ------------------------------------------------------------ ListOffsets


def list_offsets(port, version, timestamp, partition=1):
    e = kw.Encoder(flexible(2, version))

    def part(_):
        out = struct.pack(">i", partition)
        if version >= 4:
            out += struct.pack(">i", -1)  # current_leader_epoch
        return out + struct.pack(">q", timestamp) + e.tags(UNKNOWN_TAGS)

    body = struct.pack(">ib", -1, 0) + e.array([TOPIC], lambda t: e.string(t) + e.array([0], part) + e.tags())
    body += e.tags()
    d = kw.FlexDecoder(kw.roundtrip_any(port, 2, version, body), e.flexible)
    assert d.int32() == 0

    def answer(x):
        p = (x.int32(), x.int16(), x.int64(), x.int64(), x.int32() if version >= 4 else None)
        x.tags()
        return p

    [(name, [p])] = d.array(lambda x: (x.string(), x.array(answer), x.tags())[:2])
    assert name == TOPIC and d.tags() == {} and d.done()
    return p


@test
def list_offsets_v2_to_v6(broker):
    port = broker.kafka_port
    latest = kw.latest_offset(port, TOPIC, 1)
    for v in range(2, 7):
        epoch = 0 if v >= 4 else None  # the partition's leader epoch (0 on a single node)
        assert list_offsets(port, v, -1) == (1, 0, -1, latest, epoch), v
        assert list_offsets(port, v, -2) == (1, 0, -1, 0, epoch), v
        # The largest-timestamp target (-3) needs v7, which Keel does not serve.
        assert list_offsets(port, v, -3)[1] == 35, v


# -------------------------------------------------------- FindCoordinator


@test
def find_coordinator_v0_to_v4(broker):
    port = broker.kafka_port
    for v in range(0, 4):
        e = kw.Encoder(flexible(10, v))
        body = e.string("g1") + (b"\x00" if v >= 1 else b"") + e.tags(UNKNOWN_TAGS)
        d = kw.FlexDecoder(kw.roundtrip_any(port, 10, v, body), e.flexible)
        if v >= 1:
            assert d.int32() == 0
        error = d.int16()
        message = d.string() if v >= 1 else None
        assert (error, message, d.int32(), d.string(), d.int32()) == (0, None, 0, "127.0.0.1", port), v
        assert d.tags() == {} and d.done()
    # v4: several keys at once; transactions (key type 1) are refused with
    # TRANSACTIONAL_ID_AUTHORIZATION_FAILED (53) and Keel's reason.
    for key_type, expected in ((0, (0, None, 0, "127.0.0.1", port)), (1, (53, "message", -1, "", -1))):
        body = struct.pack(">b", key_type) + kw.compact_array(["g1", "g2"], kw.compact_string) + kw.tags()
        d = kw.FlexDecoder(kw.roundtrip_any(port, 10, 4, body), True)
        assert d.int32() == 0
        answers = d.array(lambda x: (x.string(), x.int32(), x.string(), x.int32(), x.int16(), x.string(), x.tags()))
        assert d.tags() == {} and d.done()
        assert [a[0] for a in answers] == ["g1", "g2"], answers
        for key, node, host, p, error, message, _ in answers:
            got = (error, "message" if message else None, node, host, p)
            assert got == expected, (key_type, got)


# --------------------------------------------------------- InitProducerId


def init_producer_id(port, version, current=(-1, -1)):
    e = kw.Encoder(flexible(22, version))
    body = e.string(None) + struct.pack(">i", 60000)
    if version >= 3:
        body += struct.pack(">qh", *current)
    d = kw.FlexDecoder(kw.roundtrip_any(port, 22, version, body + e.tags(UNKNOWN_TAGS)), e.flexible)
    assert d.int32() == 0
    out = (d.int16(), d.int64(), d.int16())
    assert d.tags() == {} and d.done()
    return out


@test
def init_producer_id_v0_to_v4(broker):
    port = broker.kafka_port
    seen = set()
    for v in range(0, 5):
        error, pid, epoch = init_producer_id(port, v)
        assert error == 0 and pid >= 0 and epoch == 0 and pid not in seen, (v, error, pid, epoch)
        seen.add(pid)
        if v >= 3:
            # KIP-360 epoch bump of an idempotent producer: like Kafka, a new
            # id with epoch 0 (the client starts its sequences over).
            error, bumped, epoch = init_producer_id(port, v, (pid, 0))
            assert error == 0 and epoch == 0 and bumped not in seen, (v, error, bumped, epoch)
            seen.add(bumped)
            # An id without an epoch (or the reverse) is INVALID_REQUEST.
            assert init_producer_id(port, v, (pid, -1)) == (42, -1, -1), v
            assert init_producer_id(port, v, (-1, 3)) == (42, -1, -1), v


# ------------------------------------------------------- hostile flexible


def assert_closed(broker, frame, what):
    with kw.connect(broker.kafka_port) as s:
        s.sendall(frame)
        assert kw.closed_by_peer(s), what + " did not close the connection"


def raw_frame(payload):
    return struct.pack(">i", len(payload)) + payload


@test
def hostile_flexible_input_closes(broker):
    over_long = b"\xff" * 11  # a varint longer than 10 bytes
    bodies = {
        "an over-long varint as a compact array length": (3, 12, over_long),
        "a compact array length beyond the frame": (3, 12, kw.uvarint(1000) + b"\0"),
        "a compact string length beyond the frame": (3, 12, kw.uvarint(2) + ZERO_UUID + kw.uvarint(500) + b"abc"),
        "a compact length of 2^64-1": (3, 12, b"\xff" * 9 + b"\x01"),
        "a tagged field longer than the frame":
            (3, 12, kw.uvarint(0) + b"\x01\x00" + kw.uvarint(1) + kw.uvarint(5) + kw.uvarint(1 << 30) + b"xy"),
        "a tag count without tags": (22, 4, kw.uvarint(0) + struct.pack(">iqh", 1, -1, -1) + kw.uvarint(1 << 40)),
        "records longer than the frame":
            (0, 9, kw.uvarint(0) + struct.pack(">hi", 1, 1000) + kw.uvarint(2) + kw.compact_string(TOPIC)
             + kw.uvarint(2) + struct.pack(">i", 0) + kw.uvarint(1 << 20) + b"tiny"),
        "a truncated Fetch v12": (1, 12, fetch_body(12, 0, 0)[:40]),
    }
    frames = {what: kw.flexible_request_frame(key, v, 1, body) for what, (key, v, body) in bodies.items()}
    # The request header's own tagged section (header v2) is decoded too.
    header = struct.pack(">hhi", 10, 4, 1) + kw.string("keel-test")
    frames["an over-long varint in the header's tags"] = raw_frame(header + over_long)
    frames["a header tag beyond the frame"] = raw_frame(header + kw.uvarint(1) + kw.uvarint(0) + kw.uvarint(99))
    for what, frame in frames.items():
        assert_closed(broker, frame, what)
        assert broker.alive(), what + " stopped the broker"


def assert_healthy(broker):
    assert broker.alive(), "the broker died:\n" + broker.log_text()[-4000:]
    md = parse_metadata(12, kw.roundtrip_any(broker.kafka_port, 3, 12, metadata_body(12, [TOPIC])))
    assert md["topics"][0]["error"] == 0, md


# ------------------------------------------------------------ cluster view


def find_coordinator(port, version, group):
    e = kw.Encoder(flexible(10, version))
    if version >= 4:
        body = b"\x00" + e.array([group], e.string) + e.tags()
    else:
        body = e.string(group) + (b"\x00" if version >= 1 else b"") + e.tags()
    d = kw.FlexDecoder(kw.roundtrip_any(port, 10, version, body), e.flexible)
    if version >= 1:
        d.int32()  # throttle_time_ms
    if version >= 4:
        (a,) = d.array(lambda x: (x.string(), x.int32(), x.string(), x.int32(), x.int16(), x.string(), x.tags()))
        return a[4], a[1], a[2], a[3]
    error = d.int16()
    if version >= 1:
        d.string()
    return error, d.int32(), d.string(), d.int32()


def describe_cluster(port):
    d = kw.FlexDecoder(kw.roundtrip_any(port, 60, 1, b"\x00\x01" + kw.tags()), True)
    d.int32()
    assert (d.int16(), d.string(), d.int8()) == (0, None, 1)
    cluster_id, controller = d.string(), d.int32()
    brokers = d.array(lambda x: (x.int32(), x.string(), x.int32(), x.string(), x.tags())[:4])
    d.int32()
    assert d.tags() == {} and d.done()
    return cluster_id, controller, brokers


def cluster_view_with_node_id_and_advertised_port(build_dir):
    advertised = 19999  # nothing listens there: only the answers are checked
    with Broker(build_dir, topics_toml="[topics.placed]\npartitions = 3\n", http=True,
                kafka_toml=f"node_id = 7\nadvertised_port = {advertised}") as broker:
        log = broker.log_text()
        assert "node_id = 7 differs from this broker's id in the cluster, 0" in log, log[-3000:]
        assert "Kafka clients are told 0" in log, log[-3000:]
        me = (0, "127.0.0.1", advertised)
        for v in (0, 1, 7, 12):
            md = parse_metadata(v, kw.roundtrip_any(broker.kafka_port, 3, v, metadata_body(v, ["placed"])))
            assert [b[:3] for b in md["brokers"]] == [me], (v, md["brokers"])
            if v >= 1:
                assert md["controller"] == 0, (v, md)
            (t,) = md["topics"]
            for p in t["partitions"]:
                assert (p["error"], p["leader"], p["replicas"], p["isr"]) == (0, 0, [0], [0]), (v, p)
                assert p["epoch"] == (0 if v >= 7 else None), (v, p)
        assert describe_cluster(broker.kafka_port) == ("keel", 0, [me + (None,)])
        for v in (0, 3, 4):
            assert find_coordinator(broker.kafka_port, v, "a-group") == (0,) + me, v
        with urllib.request.urlopen(broker.http_url + "/cluster", timeout=30) as resp:
            view = json.loads(resp.read())
        assert (view["broker_id"], view["controller_id"], view["clustered"]) == (0, 0, False), view
        (b,) = view["brokers"]
        assert b["kafka"] == f"127.0.0.1:{advertised}" and b["port"] == broker.http_port, b
    print("PASS cluster_view_with_node_id_and_advertised_port")


def main():
    args = parse_args()
    with Broker(args.build_dir, topics_toml=f"[topics.{TOPIC}]\npartitions = 2\n") as broker:
        failed = run_cases(broker, TESTS, after_each=assert_healthy)
    cluster_view_with_node_id_and_advertised_port(args.build_dir)
    return failed


if __name__ == "__main__":
    sys.exit(main())
