"""Kafka topic configs in Kafka's names, end to end: kafka-python's
KafkaAdminClient (CreateTopics with cleanup.policy=compact, DescribeConfigs,
AlterConfigs), librdkafka's admin API (clients/topic_config_admin.c), raw IncrementalAlterConfigs v0, DescribeConfigs v4 and
CreateTopics v7 (flexible) at wire level, the HTTP topic view, and a
restart that keeps an altered config.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from client_programs import librdkafka_program  # noqa: E402
from keel_harness import Broker, parse_args, wait_until  # noqa: E402
import kafka_wire  # noqa: E402
from kafka_wire import Decoder, array, string  # noqa: E402

try:
    import kafka  # noqa: F401
except ImportError:
    sys.path.append("/usr/lib/python3/dist-packages")
from kafka import KafkaAdminClient, KafkaProducer  # noqa: E402
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic  # noqa: E402
from kafka import errors as kerrors  # noqa: E402

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def admin(broker):
    return KafkaAdminClient(bootstrap_servers=broker.bootstrap, client_id="keel-topic-configs-test",
                            request_timeout_ms=10000)


def described(a, topic):
    responses = a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    err, msg, _, _, entries = responses[0].resources[0]
    assert err == 0, (err, msg)
    return {e[0]: e for e in entries}


def http_topic(broker, topic):
    with urllib.request.urlopen(f"{broker.http_url}/topics/{topic}", timeout=10) as r:
        return json.loads(r.read())


# ---- IncrementalAlterConfigs v0 (non-flexible), by hand
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3


def incremental_alter(broker, topic, ops, validate_only=False, rtype=2):
    def op(o):
        name, kind, value = o
        return string(name) + struct.pack(">b", kind) + string(value)
    body = array([(rtype, topic, ops)],
                 lambda r: struct.pack(">b", r[0]) + string(r[1]) + array(r[2], op))
    body += struct.pack(">b", 1 if validate_only else 0)
    d = Decoder(kafka_wire.roundtrip(broker.kafka_port, 44, 0, body))
    d.int32()
    results = d.array(lambda d: (d.int16(), d.string(), d.int8(), d.string()))
    assert d.done()
    return results[0][0], results[0][1]


# ---- flexible encoding (KIP-482) for DescribeConfigs v4 and CreateTopics v7
def uvarint(n):
    out = b""
    while n >= 0x80:
        out += bytes([(n & 0x7F) | 0x80])
        n >>= 7
    return out + bytes([n])


def cstring(s):
    if s is None:
        return uvarint(0)
    b = s.encode()
    return uvarint(len(b) + 1) + b


def carray(items, encode):
    if items is None:
        return uvarint(0)
    return uvarint(len(items) + 1) + b"".join(encode(i) for i in items)


class FlexDecoder(Decoder):
    def uvarint(self):
        n, shift = 0, 0
        while True:
            b = self.data[self.pos]
            self.pos += 1
            n |= (b & 0x7F) << shift
            if b < 0x80:
                return n
            shift += 7

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
        assert self.uvarint() == 0


def flexible_roundtrip(broker, api_key, version, body):
    payload = struct.pack(">hhi", api_key, version, 7) + string("keel-test") + uvarint(0) + body
    with kafka_wire.connect(broker.kafka_port) as s:
        s.sendall(struct.pack(">i", len(payload)) + payload)
        corr, resp = kafka_wire.read_response(s)
    assert corr == 7
    d = FlexDecoder(resp)
    d.tags()  # response header v1
    return d


def describe_configs_v4(broker, topic):
    body = carray([topic], lambda t: struct.pack(">b", 2) + cstring(t) + uvarint(0) + uvarint(0))
    body += b"\x01\x00" + uvarint(0)  # include_synonyms, include_documentation
    d = flexible_roundtrip(broker, 32, 4, body)
    d.int32()

    def synonym(d):
        s = (d.cstring(), d.cstring(), d.int8())
        d.tags()
        return s

    def entry(d):
        e = {"name": d.cstring(), "value": d.cstring(), "read_only": d.int8(), "source": d.int8(),
             "sensitive": d.int8(), "synonyms": d.carray(synonym), "type": d.int8(), "doc": d.cstring()}
        d.tags()
        return e

    def result(d):
        r = (d.int16(), d.cstring(), d.int8(), d.cstring(), d.carray(entry))
        d.tags()
        return r
    results = d.carray(result)
    d.tags()
    assert d.done()
    return results[0]


@test
def create_compacted_topic_and_see_compaction_apply(broker):
    a = admin(broker)
    try:
        a.create_topics([NewTopic("changelog", 1, 1, topic_configs={
            "cleanup.policy": "compact", "segment.bytes": "1024", "min.cleanable.dirty.ratio": "0.01",
            "delete.retention.ms": "0"})])
        c = described(a, "changelog")
        assert c["cleanup.policy"][1] == "compact", c["cleanup.policy"]
        assert c["cleanup.policy"][3] == 1, c["cleanup.policy"]  # DYNAMIC_TOPIC_CONFIG
        assert c["retention.ms"][1] == "-1", c["retention.ms"]  # nothing deletes by age
        assert c["segment.bytes"][1] == "1024" and c["min.cleanable.dirty.ratio"][1] == "0.01", c
        assert c["max.message.bytes"][3] == 5, c["max.message.bytes"]  # DEFAULT_CONFIG
        assert c["message.timestamp.type"][2] is True, c["message.timestamp.type"]  # read-only
        # Keyed records, each key written many times: compaction keeps the newest.
        p = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=0)
        for i in range(300):
            p.send("changelog", key=b"k%d" % (i % 5), value=b"v%04d-" % i + b"x" * 64)
            p.flush()
        p.close()
        wait_until(lambda: "compacted changelog-0" in broker.log_text(), 30, "the cleaner to compact changelog-0")
        view = http_topic(broker, "changelog")
        assert view["settings"]["retention"] == ["compaction"], view
        assert view["configs"]["cleanup.policy"] == "compact", view
    finally:
        a.close()


@test
def unsupported_and_bad_configs_are_refused_by_name(broker):
    a = admin(broker)
    try:
        for bad, words in (({"segment.index.bytes": "4096"}, "segment.index.bytes=4096"),
                           ({"cleanup.policy": "archive"}, "cleanup.policy=archive"),
                           ({"retention.ms": "soon"}, "retention.ms=soon"),
                           ({"message.timestamp.type": "LogAppendTime"}, "CreateTime"),
                           ({"segment.bytes": "100"}, "segment.bytes")):
            try:
                a.create_topics([NewTopic("bad-config", 1, 1, topic_configs=bad)])
                raise AssertionError(f"topic config {bad} was accepted")
            except kerrors.InvalidConfigurationError as e:
                assert words in str(e), (bad, e)
        assert "bad-config" not in a.list_topics()
        # CreateTopics v4: -1 partitions and replication factor are the
        # broker's defaults (KIP-464); another factor is refused.
        for name, rf, expected in (("defaults", -1, 0), ("two-copies", 2, 38)):
            body = array([name], lambda t: string(t) + struct.pack(">ihii", -1, rf, 0, 0))
            d = Decoder(kafka_wire.roundtrip(broker.kafka_port, 19, 4, body + struct.pack(">ib", 5000, 0)))
            d.int32()
            res = d.array(lambda d: (d.string(), d.int16(), d.string()))
            assert d.done() and res[0][1] == expected, res
        assert "defaults" in a.list_topics() and "two-copies" not in a.list_topics()
    finally:
        a.close()


@test
def alter_configs_applies_validates_and_survives_restart(broker):
    a = admin(broker)
    try:
        a.create_topics([NewTopic("altered", 1, 1, topic_configs={"retention.ms": "3600000"})])
        a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "altered",
                                        {"retention.ms": "60000", "segment.bytes": "2048"})])
        c = described(a, "altered")
        assert c["retention.ms"][1] == "60000" and c["segment.bytes"][1] == "2048", c
        # validate_only changes nothing.
        err, msg = incremental_alter(broker, "altered", [("retention.ms", SET, "1000")], validate_only=True)
        assert err == 0, msg
        assert described(a, "altered")["retention.ms"][1] == "60000"
        # AlterConfigs replaces: configs not named go back to their defaults.
        r = a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "altered", {"segment.bytes": "4096"})])
        assert r.resources[0][0] == 0, r
        c = described(a, "altered")
        assert c["segment.bytes"][1] == "4096" and c["retention.ms"][1] == "604800000", c
        assert c["retention.ms"][3] == 5, c["retention.ms"]
        # Incremental: SET, DELETE, APPEND to cleanup.policy.
        assert incremental_alter(broker, "altered", [("retention.ms", SET, "120000")])[0] == 0
        assert incremental_alter(broker, "altered", [("segment.bytes", DELETE, None)])[0] == 0
        err, msg = incremental_alter(broker, "altered", [("cleanup.policy", APPEND, "compact")])
        assert err == 0, msg
        c = described(a, "altered")
        assert c["cleanup.policy"][1] == "compact,delete", c["cleanup.policy"]
        assert c["retention.ms"][1] == "120000" and c["segment.bytes"][1] == "1073741824", c
        # Refusals name the key; compaction cannot be dropped again (gaps).
        err, msg = incremental_alter(broker, "altered", [("segment.index.bytes", SET, "4096")])
        assert err == 40 and "segment.index.bytes" in msg, (err, msg)
        err, msg = incremental_alter(broker, "altered", [("retention.ms", APPEND, "5")])
        assert err == 40 and "not a list" in msg, (err, msg)
        err, msg = incremental_alter(broker, "altered", [("cleanup.policy", SET, "delete")])
        assert err == 44 and "compaction" in msg, (err, msg)
        err, msg = incremental_alter(broker, "declared", [("retention.ms", SET, "5")])
        assert err == 44 and "declared" in msg, (err, msg)
        err, msg = incremental_alter(broker, "no-such-topic", [("retention.ms", SET, "5")])
        assert err == 3, (err, msg)
        err, msg = incremental_alter(broker, "0", [("log.retention.ms", SET, "5")], rtype=4)
        assert err == 44, (err, msg)
        # The same in the HTTP view.
        assert http_topic(broker, "altered")["configs"]["retention.ms"] == "120000"
    finally:
        a.close()
    broker.stop()
    broker.start()
    a = admin(broker)
    try:
        c = described(a, "altered")
        assert c["retention.ms"][1] == "120000" and c["cleanup.policy"][1] == "compact,delete", c
        assert c["retention.ms"][3] == 1, c["retention.ms"]
    finally:
        a.close()


@test
def describe_configs_v4_and_create_topics_v7_flexible(broker):
    err, _, rtype, name, entries = describe_configs_v4(broker, "declared")
    assert err == 0 and rtype == 2 and name == "declared", (err, name)
    by = {e["name"]: e for e in entries}
    # Declared in the file: its own settings are static and everything read-only.
    assert by["retention.ms"]["value"] == "7200000" and by["retention.ms"]["source"] == 4, by["retention.ms"]
    assert by["retention.ms"]["read_only"] == 1
    assert [s[2] for s in by["retention.ms"]["synonyms"]] == [4, 5], by["retention.ms"]
    assert by["cleanup.policy"]["type"] == 7 and by["min.cleanable.dirty.ratio"]["type"] == 6, by
    assert by["segment.bytes"]["source"] == 5 and by["segment.bytes"]["synonyms"][0][2] == 5

    def topic(t):
        name, configs = t
        return (cstring(name) + struct.pack(">ih", -1, -1) + uvarint(1) +
                carray(configs, lambda c: cstring(c[0]) + cstring(c[1]) + uvarint(0)) + uvarint(0))
    for validate_only in (1, 0):
        body = carray([("flex-made", [("cleanup.policy", "compact")])], topic)
        body += struct.pack(">ib", 10000, validate_only) + uvarint(0)
        d = flexible_roundtrip(broker, 19, 7, body)
        d.int32()

        def config(d):
            c = (d.cstring(), d.cstring(), d.int8(), d.int8(), d.int8())
            d.tags()
            return c

        def result(d):
            r = {"name": d.cstring(), "id": d.data[d.pos:d.pos + 16]}
            d.pos += 16
            r.update(error=d.int16(), message=d.cstring(), partitions=d.int32(), rf=d.int16(),
                     configs=d.carray(config))
            d.tags()
            return r
        res = d.carray(result)[0]
        d.tags()
        assert d.done()
        assert res["error"] == 0 and res["id"] == bytes(16), res
        assert res["partitions"] == 1 and res["rf"] == 1, res
        configs = {c[0]: c for c in res["configs"]}
        assert configs["cleanup.policy"][1:4] == ("compact", 0, 1), configs["cleanup.policy"]
        assert (validate_only == 1) != ("flex-made" in [t["name"] for t in
                                                          json.loads(urllib.request.urlopen(
                                                              f"{broker.http_url}/topics").read())["topics"]])


@test
def http_post_accepts_kafka_configs(broker):
    req = urllib.request.Request(f"{broker.http_url}/topics", method="POST",
                                 data=json.dumps({"name": "http-made", "configs": {
                                     "cleanup.policy": "compact,delete", "retention.ms": 86400000}}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        view = json.loads(r.read())
    assert view["settings"]["retention"] == ["compaction", "time", "size"], view
    assert view["configs"]["retention.ms"] == "86400000", view
    bad = urllib.request.Request(f"{broker.http_url}/topics", method="POST",
                                 data=json.dumps({"name": "http-bad", "configs": {"segment.index.bytes": "4096"}}).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(bad, timeout=10)
        raise AssertionError("an unsupported config was accepted over HTTP")
    except urllib.error.HTTPError as e:
        assert e.code == 400 and "segment.index.bytes" in e.read().decode(), e


@test
def librdkafka_admin_create_describe_alter(broker):
    exe = librdkafka_program(ARGS, "topic_config_admin", tempfile.mkdtemp(prefix="keel-it-rdk-"))

    def run(*argv):
        p = subprocess.run([exe, broker.bootstrap, *argv], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        return p.stdout.splitlines()

    def configs(topic):
        out = {}
        for line in run("describe", topic):
            assert line.startswith("config "), line
            name, rest = line[len("config "):].split("=", 1)
            value, source, read_only = rest.rsplit(" ", 2)
            out[name] = (value, int(source.split("=")[1]), read_only == "read_only=1")
        return out
    assert run("create", "rdk-compact", "2", "cleanup.policy=compact", "segment.bytes=8192") == ["create 0 "]
    c = configs("rdk-compact")
    assert c["cleanup.policy"] == ("compact", 1, False), c["cleanup.policy"]  # DYNAMIC_TOPIC_CONFIG
    assert c["segment.bytes"] == ("8192", 1, False) and c["retention.bytes"][1] == 5, c
    out = run("create", "rdk-bad", "1", "unclean.leader.election.enable=true")
    assert out[0].startswith("create 40 ") and "unclean.leader.election.enable" in out[0], out
    # validate_only: checked, nothing changes.
    assert run("alter", "rdk-compact", "validate", "cleanup.policy=compact", "delete.retention.ms=1000") == \
        ["alter 0 "]
    assert configs("rdk-compact")["delete.retention.ms"][0] == "86400000"
    assert run("alter", "rdk-compact", "cleanup.policy=compact", "delete.retention.ms=1000") == ["alter 0 "]
    c = configs("rdk-compact")
    assert c["delete.retention.ms"] == ("1000", 1, False) and c["segment.bytes"][0] == "1073741824", c
    out = run("alter", "rdk-compact", "cleanup.policy=compact", "segment.bytes=12")
    assert out[0].startswith("alter 40 ") and "segment.bytes" in out[0], out
    # A declared topic is read-only.
    c = configs("declared")
    assert c["retention.ms"] == ("7200000", 4, True), c["retention.ms"]


ARGS = None


def main():
    global ARGS
    args = parse_args()
    ARGS = args
    topics = "\n".join([
        "[topics.declared]",
        "[topics.declared.plugins.time]",
        "retention_ms = 7200000",
    ])
    failures = 0
    for fn in TESTS:
        with Broker(args.build_dir, topics_toml=topics, http=True,
                    broker_toml="retention_check_ms = 200") as broker:
            try:
                fn(broker)
                print(f"PASS {fn.__name__}")
            except Exception as e:  # noqa: BLE001
                failures += 1
                print(f"FAIL {fn.__name__}: {e!r}\n--- broker log ---\n{broker.log_text()[-4000:]}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
