"""HTTP/JSON transport end to end, against a real broker with the Kafka and
HTTP transports both enabled.

- Produce/consume round trip of text and binary (base64) values with keys,
  headers, null keys and values, explicit partitions and timestamps.
- Long poll: a GET waiting with timeout_ms=20000 returns the record produced
  meanwhile (no timing assertion: without the wake-up it returns empty).
- Interop: records produced by kcat with gzip and zstd read over HTTP;
  records produced over HTTP read with kcat.
- Consumer groups: offsets committed by kafka-python seen over HTTP (offsets,
  lag), offsets committed over HTTP seen by kafka-python, fetch-next.
- Topic creation with settings, shown by describe before and after a restart;
  settings errors name the request's keys, never a line of the config file.
- /metrics parsed as Prometheus text: records in per topic, HTTP requests.
- Bad input: each a clear 4xx with the JSON error; nothing half-written; the
  broker stays up.
- Hostile input: bodies nested 13,000 deep, 1e999, invalid UTF-8, NUL bytes
  in path, query and body names, 5,000-character strategy names: each a 4xx
  naming the field, nothing reaches another topic, the broker serves on.
- Every curl example of docs/protocol.md's "HTTP endpoints" section runs.
- GET /cluster: the single node's cluster view (its id, the controller, its
  HTTP and Kafka listeners, each partition's leader, epoch, replicas, ISR).
"""
import base64
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keel_harness import Broker, parse_args, scratch_dir, wait_until  # noqa: E402

try:
    import kafka  # noqa: F401
except ImportError:  # Debian's python3-kafka lives outside pyenv's path
    sys.path.append("/usr/lib/python3/dist-packages")
from kafka import KafkaConsumer, TopicPartition  # noqa: E402
from kafka.structs import OffsetAndMetadata  # noqa: E402


def call(broker, method, path, body=None, raw=None, headers=None, timeout=60):
    """One request on a fresh connection; returns (status, parsed JSON or text, headers)."""
    conn = http.client.HTTPConnection("127.0.0.1", broker.http_port, timeout=timeout)
    try:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        text = resp.read()
        ctype = resp.getheader("Content-Type", "")
        value = json.loads(text) if text and ctype.startswith("application/json") else text.decode("utf-8", "replace")
        return resp.status, value, dict(resp.getheaders())
    finally:
        conn.close()


def ok(broker, method, path, body=None, expect=200, **kw):
    status, value, _ = call(broker, method, path, body, **kw)
    assert status == expect, f"{method} {path}: status {status}, expected {expect}: {value}"
    return value


def refused(broker, method, path, body=None, status=400, code=None, contains=None, **kw):
    got, value, headers = call(broker, method, path, body, **kw)
    assert got == status, f"{method} {path}: status {got}, expected {status}: {value}"
    assert isinstance(value, dict) and "error" in value, f"{method} {path}: no JSON error: {value!r}"
    err = value["error"]
    assert err.get("code") and err.get("message"), f"{method} {path}: incomplete error {err}"
    if code:
        assert err["code"] == code, f"{method} {path}: code {err['code']}, expected {code}"
    if contains:
        assert contains in err["message"], f"{method} {path}: message {err['message']!r} lacks {contains!r}"
    return err, headers


def run(cmd, input_text=None, timeout=60):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input_text)
    if p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited with {p.returncode}:\n{p.stderr[-3000:]}")
    return p.stdout


def consume(broker, topic, partition, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return ok(broker, "GET", f"/topics/{topic}/partitions/{partition}/records?{query}")


def b64(data):
    return base64.b64encode(data).decode()


def test_round_trip(broker):
    ok(broker, "POST", "/topics", {"name": "rt", "partitions": 1}, expect=201)
    answer = ok(broker, "POST", "/topics/rt/records", {"records": [
        {"key": "k1", "value": "héllo wörld", "headers": {"h1": "v1", "h2": "v2"}},
        {"key": None, "value": "no key", "headers": [{"key": "dup", "value": "a"}, {"key": "dup", "value": None}]},
        {"key": "tomb", "value": None, "timestamp": 1000},
        {"key": "", "value": ""},
    ]})
    assert answer == {"records": [{"partition": 0, "offset": i} for i in range(4)]}, answer
    binary = bytes(range(256))
    answer = ok(broker, "POST", "/topics/rt/records", {"value_format": "base64", "records": [
        {"key": b64(b"\x00\xffkey"), "value": b64(binary), "headers": {"bin": b64(b"\x80\x81")}},
        {"key": "dGV4dA==", "value": "plain text", "value_encoding": "text"},
    ]})
    assert [r["offset"] for r in answer["records"]] == [4, 5], answer

    got = consume(broker, "rt", 0, offset=0)
    recs = got["records"]
    assert got["next_offset"] == 6 and got["high_watermark"] == 6, got
    assert [r["offset"] for r in recs] == list(range(6)), recs
    assert recs[0]["key"] == "k1" and recs[0]["value"] == "héllo wörld", recs[0]
    assert recs[0]["headers"] == [{"key": "h1", "value": "v1"}, {"key": "h2", "value": "v2"}], recs[0]
    assert recs[1]["key"] is None and recs[1]["headers"] == [{"key": "dup", "value": "a"},
                                                              {"key": "dup", "value": None}], recs[1]
    assert recs[2]["value"] is None and recs[2]["timestamp"] == 1000, recs[2]
    assert recs[3]["key"] == "" and recs[3]["value"] == "", recs[3]
    assert recs[4]["value_encoding"] == "base64" and base64.b64decode(recs[4]["value"]) == binary, recs[4]
    assert recs[4]["key_encoding"] == "base64" and base64.b64decode(recs[4]["key"]) == b"\x00\xffkey"
    assert recs[4]["headers"] == [{"key": "bin", "value": b64(b"\x80\x81"), "value_encoding": "base64"}]
    assert recs[5]["key"] == "text" and recs[5]["value"] == "plain text", recs[5]

    all_b64 = consume(broker, "rt", 0, offset=0, value_format="base64")["records"]
    assert base64.b64decode(all_b64[0]["value"]) == "héllo wörld".encode() and all_b64[0]["value_encoding"] == "base64"
    page = consume(broker, "rt", 0, offset=2, max_records=2)
    assert [r["offset"] for r in page["records"]] == [2, 3] and page["next_offset"] == 4, page
    # Timestamp 1000 is record 2's; every other record has the broker's time.
    assert consume(broker, "rt", 0, timestamp=1)["records"][0]["offset"] == 0
    later = consume(broker, "rt", 0, timestamp=int(time.time() * 1000) + 3600_000)
    assert later["records"] == [] and later["next_offset"] == 6, later

    # Key-hash partitioning: one key, one partition; offsets in request order.
    ok(broker, "POST", "/topics", {"name": "parts", "partitions": 4}, expect=201)
    records = [{"key": f"user-{i % 5}", "value": str(i)} for i in range(40)]
    answer = ok(broker, "POST", "/topics/parts/records", {"records": records})["records"]
    by_key = {}
    for rec, a in zip(records, answer):
        by_key.setdefault(rec["key"], set()).add(a["partition"])
    assert all(len(p) == 1 for p in by_key.values()), by_key
    for p in range(4):
        mine = [int(r["value"]) for r, a in zip(records, answer) if a["partition"] == p]
        offsets = [a["offset"] for a in answer if a["partition"] == p]
        assert offsets == list(range(len(mine))), (p, offsets)
        stored = [int(r["value"]) for r in consume(broker, "parts", p)["records"]]
        assert stored == mine, (p, stored, mine)
    print("round trip: text, base64, headers, nulls, timestamps, key partitioning")


def test_long_poll(broker):
    ok(broker, "POST", "/topics", {"name": "lp"}, expect=201)
    result = {}

    def wait():
        result["answer"] = consume(broker, "lp", 0, offset=0, timeout_ms=20000)

    t = threading.Thread(target=wait)
    t.start()
    # Best effort to produce only once the GET is connected (the scrape's own
    # connection is the other one); if the produce still came first, the GET
    # returns the record at once and the test passes without proving the wake-up.
    def connected():
        metrics = parse_metrics(ok(broker, "GET", "/metrics"))
        return not t.is_alive() or metrics.get(("keel_open_connections", (("transport", "http"),)), 0) >= 2

    wait_until(connected, 10, "the long-poll request to connect")
    ok(broker, "POST", "/topics/lp/records", {"records": [{"key": "a", "value": "woken"}]})
    t.join(30)
    assert not t.is_alive(), "the long poll did not return"
    recs = result["answer"]["records"]
    assert [r["value"] for r in recs] == ["woken"], result

    # The same for a group's fetch-next.
    def wait_group():
        result["group"] = ok(broker, "GET", "/groups/lpg/topics/lp/records?timeout_ms=20000&commit=true")

    ok(broker, "POST", "/groups/lpg/offsets", {"offsets": [{"topic": "lp", "partition": 0, "offset": 1}]})
    t = threading.Thread(target=wait_group)
    t.start()
    ok(broker, "POST", "/topics/lp/records", {"records": [{"value": "second"}]})
    t.join(30)
    assert not t.is_alive(), "the group long poll did not return"
    assert [r["value"] for r in result["group"]["records"]] == ["second"], result["group"]
    print("long poll: partition and group reads woken by a produce")


def test_kafka_interop(broker, workdir):
    src = os.path.join(workdir, "kc.txt")
    with open(src, "w") as f:
        for i in range(300):
            f.write(f"key{i}:value{i}\n")
    for codec in ("gzip", "zstd"):
        topic = f"kc-{codec}"
        ok(broker, "POST", "/topics", {"name": topic}, expect=201)
        run(["kcat", "-b", broker.bootstrap, "-P", "-t", topic, "-K:", "-H", "h=v", "-z", codec, "-l", src])
        values, offset = [], 0
        while offset < 300:
            got = consume(broker, topic, 0, offset=offset, max_records=100)
            assert got["records"], got
            for r in got["records"]:
                assert r["offset"] == len(values), r
                assert r["key"] == f"key{len(values)}" and r["headers"] == [{"key": "h", "value": "v"}], r
                values.append(r["value"])
            offset = got["next_offset"]
        assert values == [f"value{i}" for i in range(300)], codec
        # A batch usually starts before a mid-batch offset: earlier records are skipped.
        assert consume(broker, topic, 0, offset=151, max_records=1)["records"][0]["value"] == "value151"

    ok(broker, "POST", "/topics", {"name": "to-kcat"}, expect=201)
    ok(broker, "POST", "/topics/to-kcat/records", {"records": [
        {"key": f"k{i}", "value": f"v{i}", "headers": {"src": "http"}} for i in range(50)]})
    out = run(["kcat", "-b", broker.bootstrap, "-C", "-t", "to-kcat", "-o", "beginning", "-e", "-q",
               "-f", "%k\t%s\t%o\t%h\n"])
    assert out.splitlines() == [f"k{i}\tv{i}\t{i}\tsrc=http" for i in range(50)], out[:500]
    print("interop: kcat gzip/zstd read over HTTP; HTTP records read by kcat")


def test_groups(broker):
    ok(broker, "POST", "/topics", {"name": "grp", "partitions": 2}, expect=201)
    ok(broker, "POST", "/topics/grp/records",
       {"records": [{"value": f"a{i}", "partition": 0} for i in range(10)]
                   + [{"value": f"b{i}", "partition": 1} for i in range(6)]})

    # kafka-python commits; HTTP sees the commit and the lag.
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id="py-group", enable_auto_commit=False,
                             auto_offset_reset="earliest")
    tp0, tp1 = TopicPartition("grp", 0), TopicPartition("grp", 1)
    consumer.assign([tp0, tp1])
    consumer.commit({tp0: OffsetAndMetadata(7, "from python"), tp1: OffsetAndMetadata(2, "")})
    offsets = ok(broker, "GET", "/groups/py-group/offsets")["offsets"]
    assert {(o["topic"], o["partition"], o["offset"]) for o in offsets} == {("grp", 0, 7), ("grp", 1, 2)}, offsets
    one = ok(broker, "GET", "/groups/py-group/offsets?topic=grp&partition=0")["offsets"]
    assert one == [{"topic": "grp", "partition": 0, "offset": 7, "metadata": "from python"}], one
    lag = ok(broker, "GET", "/groups/py-group/lag")
    per = {p["partition"]: (p["committed_offset"], p["high_watermark"], p["lag"]) for p in lag["partitions"]}
    assert per == {0: (7, 10, 3), 1: (2, 6, 4)} and lag["total_lag"] == 7, lag
    assert "py-group" in ok(broker, "GET", "/groups")["groups"]

    # fetch-next from the committed positions, committing as it goes.
    got = ok(broker, "GET", "/groups/py-group/topics/grp/records?max_records=100&commit=true")
    assert [(r["partition"], r["value"]) for r in got["records"]] == \
        [(0, "a7"), (0, "a8"), (0, "a9")] + [(1, f"b{i}") for i in range(2, 6)], got
    assert ok(broker, "GET", "/groups/py-group/lag")["total_lag"] == 0
    assert ok(broker, "GET", "/groups/py-group/topics/grp/records")["records"] == []
    consumer.close()
    # A fresh consumer: an assigned one answers committed() from its cache.
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id="py-group", enable_auto_commit=False)
    assert (consumer.committed(tp0), consumer.committed(tp1)) == (10, 6)
    consumer.close()

    # HTTP commits; kafka-python sees them.
    ok(broker, "POST", "/groups/http-group/offsets", {"offsets": [
        {"topic": "grp", "partition": 0, "offset": 4, "metadata": "m"},
        {"topic": "grp", "partition": 1, "offset": 5}]})
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id="http-group", enable_auto_commit=False)
    assert consumer.committed(tp0) == 4 and consumer.committed(tp1) == 5
    consumer.assign([tp0])
    first = None
    deadline = time.monotonic() + 30
    while first is None and time.monotonic() < deadline:
        for recs in consumer.poll(timeout_ms=1000).values():
            first = first or recs[0]
    consumer.close()
    assert first is not None and first.offset == 4 and first.value == b"a4", first
    # Without commit=true the position stays.
    got = ok(broker, "GET", "/groups/http-group/topics/grp/records?max_records=2")
    assert [(r["partition"], r["offset"]) for r in got["records"]] == [(0, 4), (0, 5)], got
    assert ok(broker, "GET", "/groups/http-group/lag")["total_lag"] == 6 + 1
    print("groups: kafka-python and HTTP see each other's commits; lag; fetch-next")


def parse_metrics(text):
    """A tiny Prometheus text parser: {(name, sorted label pairs): value}."""
    out = {}
    line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
    label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = line_re.match(line)
        assert m, f"not Prometheus text: {line!r}"
        labels = tuple(sorted(label_re.findall(m.group(2) or "")))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def test_metrics(broker):
    ok(broker, "POST", "/topics", {"name": "metered"}, expect=201)
    for i in range(3):
        ok(broker, "POST", "/topics/metered/records", {"records": [{"value": f"{i}-{j}"} for j in range(i + 1)]})
    run(["kcat", "-b", broker.bootstrap, "-P", "-t", "metered"], input_text="x\ny\n")
    status, text, headers = call(broker, "GET", "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4"), headers
    m = parse_metrics(text)
    assert m[("keel_records_in_total", (("topic", "metered"),))] == 1 + 2 + 3 + 2, m
    produce = m[("keel_requests_total", (("api", "produce"), ("transport", "http")))]
    assert produce >= 3, produce
    assert ("keel_request_seconds_count", (("api", "produce"), ("transport", "http"))) in m
    assert m[("keel_open_connections", (("transport", "http"),))] >= 1
    print(f"metrics: records in 8, http produce requests {produce:g}")


def test_settings_and_restart(broker):
    settings = {"index": ["sparse-mmap"], "retention": ["time"], "partitioner": "round-robin",
                "segment_bytes": 1048576, "flush_mode": "os", "plugins": {"time": {"retention_ms": 3600000}}}
    created = ok(broker, "POST", "/topics", {"name": "custom", "partitions": 3, "settings": settings}, expect=201)

    def check(desc):
        s = desc["settings"]
        assert desc["partition_count"] == 3 and len(desc["partitions"]) == 3, desc
        assert s["index"] == ["sparse-mmap"] and s["retention"] == ["time"], s
        assert s["partitioner"] == "round-robin" and s["segment_bytes"] == 1048576 and s["flush_mode"] == "os", s

    check(created)
    check(ok(broker, "GET", "/topics/custom"))
    refused(broker, "POST", "/topics", {"name": "custom"}, status=409, code="topic_exists")
    refused(broker, "POST", "/topics", {"name": "bad1", "settings": {"partitioner": "no-such"}}, contains="no-such")
    refused(broker, "POST", "/topics", {"name": "bad2", "settings": {"segment_bytes": None}}, contains="segment_bytes")
    refused(broker, "POST", "/topics", {"name": "bad3", "settings": {"index": [["x"]]}}, contains="index[0]")
    refused(broker, "POST", "/topics", {"name": "bad4", "settings": {"plugins": {"time": {"nope": 1}}}})
    refused(broker, "POST", "/topics", {"name": "no/slash"}, contains="invalid topic name")
    names = {t["name"] for t in ok(broker, "GET", "/topics")["topics"]}
    assert not names & {"bad1", "bad2", "bad3", "bad4"}, names
    ok(broker, "POST", "/topics/custom/records", {"records": [{"value": str(i)} for i in range(6)]})
    broker.stop()
    broker.start()
    check(ok(broker, "GET", "/topics/custom"))
    assert sum(p["high_watermark"] for p in ok(broker, "GET", "/topics/custom")["partitions"]) == 6
    ok(broker, "DELETE", "/topics/custom", expect=204)
    refused(broker, "DELETE", "/topics/custom", status=404, code="unknown_topic")
    refused(broker, "GET", "/topics/custom", status=404, code="unknown_topic")
    print("settings: created, described, kept across a restart, deleted")


def test_idempotent_produce(broker):
    """POST /producers, then produce with "producer": a retry is answered
    with the original offsets and "duplicate": true and stored once, also
    after a SIGKILL restart; a gap, a fenced epoch and an unknown producer
    get 409 with their own codes; ids never repeat across a kill -9."""
    ok(broker, "POST", "/topics", {"name": "idem", "partitions": 2}, expect=201)
    p = ok(broker, "POST", "/producers", expect=201)
    assert p["epoch"] == 0 and p["sequence"] == 0 and p["id"] >= 0, p

    def send(seq, values, partition=1, pid=None, epoch=0):
        return {"producer": {"id": p["id"] if pid is None else pid, "epoch": epoch, "sequence": seq},
                "records": [{"partition": partition, "value": v} for v in values]}

    first = ok(broker, "POST", "/topics/idem/records", send(0, ["a", "b"]))
    assert "duplicate" not in first and [r["offset"] for r in first["records"]] == [0, 1], first
    again = ok(broker, "POST", "/topics/idem/records", send(0, ["a", "b"]))
    assert again == {"duplicate": True, "records": first["records"]}, again
    ok(broker, "POST", "/topics/idem/records", send(2, ["c"]))
    refused(broker, "POST", "/topics/idem/records", send(9, ["gap"]), status=409, code="out_of_order_sequence",
            contains="expected sequence 3")
    refused(broker, "POST", "/topics/idem/records", send(3, ["x"], pid=p["id"] + 123456), status=409,
            code="unknown_producer")
    refused(broker, "POST", "/topics/idem/records", send(0, ["a"], partition=None), status=400,
            contains="same \"partition\"")
    ids = {p["id"]} | {ok(broker, "POST", "/producers", expect=201)["id"] for _ in range(3)}
    broker.kill()
    broker.start()
    # The retry of the last request, after a crash: still recognised.
    again = ok(broker, "POST", "/topics/idem/records", send(2, ["c"]))
    assert again.get("duplicate") is True and again["records"][0]["offset"] == 2, again
    # A newer epoch of the same id fences the old one.
    ok(broker, "POST", "/topics/idem/records", send(0, ["e1"], epoch=1))
    refused(broker, "POST", "/topics/idem/records", send(3, ["zombie"]), status=409, code="fenced")
    after = {ok(broker, "POST", "/producers", expect=201)["id"] for _ in range(3)}
    assert len(ids) == 4 and not ids & after, (ids, after)
    values = [r["value"] for r in consume(broker, "idem", 1, offset=0)["records"]]
    assert values == ["a", "b", "c", "e1"], values
    print("idempotent produce: duplicates answered with original offsets across kill -9; gap, fence, "
          "unknown producer refused; producer ids never repeat")


def test_settings_errors_name_the_request(broker):
    """A settings error in POST /topics, raised by the kernel's parser or by a
    plugin reading its settings, names the request and the key, never a line
    of the broker's config file (whose [topic_defaults] the topic builds on)."""
    def refused_naming_the_request(name, settings, *expected):
        err, _ = refused(broker, "POST", "/topics", {"name": name, "settings": settings})
        message = err["message"]
        assert f"the settings of the request creating topic '{name}'" in message, message
        assert broker.config_path not in message and "keel.toml" not in message, \
            f"the message cites the broker's config file:\n{message}"
        for text in expected:
            assert text in message, f"{message!r} lacks {text!r}"
        return message

    # Read by the plugin: an unknown key, and a value of the wrong type.
    refused_naming_the_request("req-unknown-key", {"plugins": {"time": {"retention_mss": 1}}},
                               "unknown key 'retention_mss' in [topics.req-unknown-key.plugins.time]")
    refused_naming_the_request("req-wrong-type", {"plugins": {"time": {"retention_ms": "soon"}}},
                               "retention 'time'", "refused its settings",
                               "key 'retention_ms' in [topics.req-wrong-type.plugins.time]", "expects an integer")
    # Judged by the kernel: a bad value, a mistyped strategy name.
    refused_naming_the_request("req-bad-value", {"segment_bytes": 5}, "[topics.req-bad-value] segment_bytes")
    refused_naming_the_request("req-typo", {"partitioner": "key-hsh"},
                               "unknown partitioner strategy 'key-hsh'; did you mean 'key-hash'?")
    names = {t["name"] for t in ok(broker, "GET", "/topics")["topics"]}
    assert not {n for n in names if n.startswith("req-")}, names
    print("settings errors of POST /topics name the request, not the config file")


def test_bad_input(broker):
    ok(broker, "POST", "/topics", {"name": "strict", "partitions": 2}, expect=201)
    refused(broker, "POST", "/topics/strict/records", raw=b'{"records": [', contains="not valid JSON")
    refused(broker, "POST", "/topics/strict/records", {"records": {}}, contains='"records"')
    refused(broker, "POST", "/topics/strict/records", {"records": []}, contains="empty")
    refused(broker, "POST", "/topics/strict/records", {"records": [{"value": 5}]},
            contains="records[0].value must be a string or null")
    refused(broker, "POST", "/topics/strict/records", {"records": [{"value": "x", "partition": "0"}]},
            contains="records[0].partition")
    refused(broker, "POST", "/topics/strict/records", {"records": [{"value": "x", "timestamp": -5}]},
            contains="records[0].timestamp")
    refused(broker, "POST", "/topics/strict/records", {"records": [{"value": "x", "headers": 3}]},
            contains="headers")
    refused(broker, "POST", "/topics/strict/records", {"value_format": "hex", "records": [{"value": "x"}]},
            contains="value_format")
    refused(broker, "POST", "/topics/strict/records", {"value_format": "base64", "records": [{"value": "!!!!"}]},
            contains="not valid base64")
    refused(broker, "POST", "/topics/strict/records", {"records": [{"valu": "typo"}]}, contains='"valu"')
    # Nothing half-written: good records before a bad one are not stored.
    refused(broker, "POST", "/topics/strict/records", {"value_format": "base64", "records": [
        {"value": "AAAA", "partition": 0}, {"value": "AAAA", "partition": 1}, {"value": "A"}]},
        contains="records[2].value")
    refused(broker, "POST", "/topics/strict/records", {"records": [
        {"value": "ok", "partition": 0}, {"value": "no", "partition": 9}]}, status=404, code="unknown_partition")
    assert all(p["log_end_offset"] == 0 for p in ok(broker, "GET", "/topics/strict")["partitions"])

    refused(broker, "POST", "/topics/nowhere/records", {"records": [{"value": "x"}]}, status=404,
            code="unknown_topic")
    refused(broker, "GET", "/topics/nowhere/partitions/0/records", status=404, code="unknown_topic")
    refused(broker, "GET", "/topics/strict/partitions/7/records", status=404, code="unknown_partition")
    refused(broker, "GET", "/topics/strict/partitions/7", status=404, code="unknown_partition")
    refused(broker, "GET", "/topics/strict/partitions/x/records", contains="path parameter 'partition'")
    refused(broker, "GET", "/topics/strict/partitions/0/records?offset=-1",
            contains="query parameter 'offset' must be an integer >= 0, got '-1'")
    refused(broker, "GET", "/topics/strict/partitions/0/records?offset=abc",
            contains="query parameter 'offset' must be an integer >= 0, got 'abc'")
    refused(broker, "GET", "/topics/strict/partitions/0/records?offset=5", code="offset_out_of_range")
    refused(broker, "GET", "/topics/strict/partitions/0/records?timeout_ms=99999999", contains="timeout_ms")
    refused(broker, "GET", "/topics/strict/partitions/0/records?offset=0&timestamp=0", contains="not both")
    refused(broker, "GET", "/topics/strict/partitions/0/records?ofset=0", contains="unknown query parameter 'ofset'")
    refused(broker, "GET", "/topics/strict/partitions/0/records?offset=%zz", contains="percent")
    refused(broker, "GET", "/groups/nobody/offsets", status=404, code="unknown_group")
    refused(broker, "GET", "/groups/nobody/lag", status=404, code="unknown_group")
    refused(broker, "POST", "/groups/g/offsets", {"offsets": [{"topic": "strict", "partition": 0, "offset": -1}]},
            contains="offsets[0].offset")
    refused(broker, "POST", "/groups/g/offsets", {"offsets": [{"topic": "nowhere", "partition": 0, "offset": 1}]},
            status=404)
    refused(broker, "POST", "/topics", {"name": 5}, contains='"name"')
    refused(broker, "POST", "/topics", {"name": "p0", "partitions": 0}, contains='"partitions"')
    refused(broker, "GET", "/no/such/route", status=404, code="unknown_route")
    _, headers = refused(broker, "PUT", "/topics/strict", status=405, code="method_not_allowed")
    assert "DELETE" in headers.get("Allow", ""), headers

    huge = json.dumps({"records": [{"value": "x" * (11 << 20)}]}).encode()
    refused(broker, "POST", "/topics/strict/records", raw=huge, status=413, code="body_too_large")
    # An oversized batch for one partition is refused whole (max_batch_bytes ~1 MiB).
    big = {"records": [{"value": "y" * 600000, "partition": 0}, {"value": "y" * 600000, "partition": 0}]}
    refused(broker, "POST", "/topics/strict/records", big, status=413, code="batch_too_large")

    # Keep-alive survives an error answer on the same connection.
    conn = http.client.HTTPConnection("127.0.0.1", broker.http_port, timeout=30)
    conn.request("GET", "/topics/strict/partitions/0/records?offset=abc")
    r = conn.getresponse()
    assert r.status == 400
    r.read()
    conn.request("GET", "/health")
    r = conn.getresponse()
    assert r.status == 200 and json.loads(r.read()) == {"status": "ok"}
    conn.close()

    assert broker.alive(), "the broker died"
    assert ok(broker, "GET", "/health") == {"status": "ok"}
    assert ok(broker, "GET", "/ready") == {"status": "ready"}
    print("bad input: every request refused with a JSON 4xx; nothing written; broker up")


def still_serving(broker, topic):
    """The broker is up and answers a normal produce and consume."""
    assert broker.alive(), "the broker died:\n" + broker.log_text()[-4000:]
    end = ok(broker, "GET", f"/topics/{topic}")["partitions"][0]["log_end_offset"]
    got = ok(broker, "POST", f"/topics/{topic}/records", {"records": [{"value": "after", "partition": 0}]})
    assert got["records"][0]["offset"] == end, got
    assert consume(broker, topic, 0, offset=end)["records"][0]["value"] == "after"


def nested(depth, leaf=b"1"):
    return b'{"a":' * depth + leaf + b"}" * depth


def test_hostile_input(broker):
    """Requests meant to crash the broker or to reach another topic or group:
    each a 4xx with a JSON error naming the field; the broker serves on."""
    ok(broker, "POST", "/topics", {"name": "victim", "partitions": 1}, expect=201)
    ok(broker, "POST", "/topics/victim/records", {"records": [{"value": "mine", "partition": 0}]})
    cases = [
        # Nesting: ~13,000 levels overflowed the stack in the settings
        # conversion; the limit is 64 for any body.
        ("POST", "/topics", b'{"name": "hx-deep", "settings": ' + nested(13000) + b"}", {}, "deeper than 64"),
        ("POST", "/topics/victim/records", b'{"records": ' + b"[" * 100000 + b"]" * 100000 + b"}", {},
         "deeper than 64"),
        ("POST", "/groups/g/offsets", b'{"offsets": ' + nested(65) + b"}", {}, "deeper than 64"),
        # Numbers and bytes the JSON parser refuses.
        ("POST", "/topics/victim/records", b'{"records": [{"value": "x", "timestamp": 1e999}]}', {},
         "number overflow"),
        ("POST", "/topics", b'{"name": "hx-big", "settings": {"segment_bytes": -1e999}}', {}, "number overflow"),
        ("POST", "/topics/victim/records", b'{"records": [{"value": "\xff\xfe"}]}', {}, "UTF-8"),
        ("POST", "/topics", b'{"name": "a\xc3"}', {}, "UTF-8"),
        # Names: a NUL would cut them short at the broker's C interface.
        ("DELETE", "/topics/victim%00junk", None, {}, "path parameter 'topic'"),
        ("POST", "/topics/victim%00junk/records", json.dumps({"records": [{"value": "x"}]}).encode(), {},
         "path parameter 'topic'"),
        ("GET", "/topics/victim%00/partitions/0/records", None, {}, "NUL"),
        ("GET", "/topics/%ff%fe", None, {}, "not valid UTF-8"),
        ("GET", "/topics/" + "t" * 250, None, {}, "invalid topic name"),
        ("GET", "/topics/a%20b", None, {}, "invalid topic name"),
        ("GET", "/groups/g%00x/offsets", None, {}, "path parameter 'group'"),
        ("GET", "/groups/%c3/lag", None, {}, "path parameter 'group'"),
        ("GET", "/groups/g/offsets?topic=victim%00x", None, {}, "query parameter 'topic'"),
        ("GET", "/topics/victim/partitions/0/records?value_format=%00", None, {}, "query parameter 'value_format'"),
        ("POST", "/topics", json.dumps({"name": "victim\u0000junk"}).encode(), {}, 'field "name"'),
        ("POST", "/groups/g/offsets",
         json.dumps({"offsets": [{"topic": "victim\u0000x", "partition": 0, "offset": 1}]}).encode(), {},
         "offsets[0].topic"),
        ("POST", "/groups/g/offsets",
         json.dumps({"offsets": [{"topic": "victim", "partition": 0, "offset": 1, "metadata": "a\u0000b"}]}).encode(),
         {}, "offsets[0].metadata"),
        ("POST", "/topics", json.dumps({"name": "hx-n1", "settings": {"flush_mode": "os\u0000x"}}).encode(), {},
         "setting 'flush_mode'"),
        # Strategy names become file names: too long, or with a '/'.
        ("POST", "/topics", json.dumps({"name": "hx-lp", "settings": {"partitioner": "x" * 5000}}).encode(), {},
         "strategy name"),
        ("POST", "/topics", json.dumps({"name": "hx-li", "settings": {"index": ["y" * 5000]}}).encode(), {},
         "strategy name"),
        ("POST", "/topics", json.dumps({"name": "hx-lr", "settings": {"retention": ["../../x"]}}).encode(), {},
         "strategy name"),
    ]
    for method, path, raw, headers, contains in cases:
        refused(broker, method, path, raw=raw, headers=headers, contains=contains)
        assert broker.alive(), f"{method} {path[:80]} killed the broker:\n" + broker.log_text()[-4000:]
    # Nothing reached topic victim or made a topic or group.
    assert ok(broker, "GET", "/topics/victim")["partitions"][0]["log_end_offset"] == 1
    names = {t["name"] for t in ok(broker, "GET", "/topics")["topics"]}
    assert not names & {"hx-deep", "hx-big", "hx-lp", "hx-li", "hx-lr", "hx-n1"}, names
    refused(broker, "GET", "/groups/g/offsets", status=404, code="unknown_group")
    # At the limit is fine: settings 60 deep are refused by the broker's
    # settings check (a 400 naming the key), not by the parser.
    refused(broker, "POST", "/topics", raw=b'{"name": "hx-d60", "settings": ' + nested(60) + b"}",
            contains="'a'")
    still_serving(broker, "victim")
    print(f"hostile input: {len(cases)} requests refused with a JSON 4xx; nothing reached another topic; broker up")


def doc_curl_commands(source_dir):
    """The curl commands in docs/protocol.md's "HTTP endpoints" section, with
    backslash continuations joined."""
    with open(os.path.join(source_dir, "docs", "protocol.md")) as f:
        text = f.read()
    section = text[text.index("## HTTP endpoints"):]
    nxt = re.search(r"^## ", section[3:], re.M)
    if nxt:
        section = section[:nxt.start() + 3]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for cmd in block.replace("\\\n", " ").splitlines():
            if cmd.strip().startswith("curl "):
                commands.append(cmd.strip())
    return commands


def test_doc_examples(broker, source_dir):
    commands = doc_curl_commands(source_dir)
    assert len(commands) >= 10, commands
    for cmd in commands:
        real = cmd.replace("localhost:8080", f"127.0.0.1:{broker.http_port}")
        p = subprocess.run(["bash", "-c", real + " -w '\\n%{http_code}'"], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, f"{cmd}\nexited {p.returncode}: {p.stderr}"
        body, _, code = p.stdout.rpartition("\n")
        assert code.startswith("2"), f"{cmd}\nanswered {code}: {body[:1000]}"
        assert '"error"' not in body, f"{cmd}\nanswered an error: {body[:1000]}"
    print(f"docs: {len(commands)} curl examples ran")


def test_auto_create_and_stop(build_dir):
    b2 = Broker(build_dir, kafka=False, http=True)
    with b2:
        answer = ok(b2, "POST", "/topics/fresh/records", {"records": [{"value": "made"}]})
        assert answer == {"records": [{"partition": 0, "offset": 0}]}, answer
        assert consume(b2, "fresh", 0)["records"][0]["value"] == "made"

        # A broker asked to stop during a long poll ends it and exits cleanly
        # (Broker.stop fails on a non-zero exit or no exit within 30 s).
        def wait():
            try:
                call(b2, "GET", "/topics/fresh/partitions/0/records?offset=1&timeout_ms=60000")
            except (OSError, http.client.HTTPException):
                pass  # the connection closes with the broker

        t = threading.Thread(target=wait)
        t.start()
        wait_until(lambda: parse_metrics(ok(b2, "GET", "/metrics")).get(
            ("keel_open_connections", (("transport", "http"),)), 0) >= 2, 10, "the long poll to connect")
    t.join(30)
    assert not t.is_alive(), "the long poll outlived the broker"
    print("auto-create works; stopping during a long poll is clean")


def test_cluster(broker):
    ok(broker, "POST", "/topics", {"name": "placed", "partitions": 3}, expect=201)
    view = ok(broker, "GET", "/cluster")
    assert set(view) == {"cluster_id", "broker_id", "controller_id", "clustered", "brokers", "topics",
                         "under_replicated_partitions"}, view
    assert (view["cluster_id"], view["broker_id"], view["controller_id"], view["clustered"]) == \
        ("keel", 0, 0, False), view
    assert view["brokers"] == [{"id": 0, "host": "127.0.0.1", "port": broker.http_port,
                                "url": broker.http_url, "kafka": broker.bootstrap}], view["brokers"]
    topics = {t["name"]: t for t in view["topics"]}
    assert topics["placed"]["internal"] is False, topics["placed"]
    assert topics["__consumer_offsets"]["internal"] is True, topics.keys()
    assert topics["placed"]["partitions"] == [
        {"partition": p, "leader": 0, "leader_epoch": 0, "replicas": [0], "isr": [0], "under_replicated": False}
        for p in range(3)], topics["placed"]
    assert view["under_replicated_partitions"] == 0, view
    refused(broker, "GET", "/cluster?verbose=1", status=400)
    refused(broker, "POST", "/cluster", {}, status=405)
    print("  GET /cluster: ok")


def main():
    args = parse_args()
    with scratch_dir("keel-http-") as workdir:
        broker = Broker(args.build_dir, broker_toml="auto_create_topics = false", kafka=True, http=True,
                        workdir=workdir)
        with broker:
            assert ok(broker, "GET", "/ready") == {"status": "ready"}
            test_round_trip(broker)
            test_long_poll(broker)
            test_kafka_interop(broker, workdir)
            test_groups(broker)
            test_metrics(broker)
            test_bad_input(broker)
            test_hostile_input(broker)
            test_doc_examples(broker, args.source_dir)
            test_settings_and_restart(broker)
            test_settings_errors_name_the_request(broker)
            test_idempotent_produce(broker)
            test_cluster(broker)
        test_auto_create_and_stop(args.build_dir)
    print("http_test: all passed")


if __name__ == "__main__":
    main()
