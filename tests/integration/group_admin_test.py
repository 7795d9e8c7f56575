"""Consumer-group admin over the Kafka protocol, with real clients.

- OffsetFetch v2+ with a null topic list (KIP-88) lists every offset a group
  committed: kafka-python's KafkaAdminClient.list_consumer_group_offsets(group)
  without partitions, librdkafka's rd_kafka_ListConsumerGroupOffsets with
  NULL partitions (tests/integration/clients/group_admin.c), and by hand at
  the wire: v7 (flexible, require_stable) and v8 (several groups at once).
- OffsetCommit v8 (flexible, leader epoch, group_instance_id) at the wire,
  read back with OffsetFetch v7.
- DeleteGroups and OffsetDelete by Kafka's rules, through librdkafka
  (rd_kafka_DeleteGroups, rd_kafka_DeleteConsumerGroupOffsets), kafka-python
  (delete_consumer_groups) and HTTP (DELETE /groups/{g}): a group with a live
  consumer is NON_EMPTY_GROUP / 409, the offsets of a topic it subscribes to
  GROUP_SUBSCRIBED_TO_TOPIC, an unknown group GROUP_ID_NOT_FOUND / 404; what
  is deleted stays deleted across a restart.
"""
import http.client
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import system_python  # noqa: E402,F401  (re-runs under /usr/bin/python3 when kafka-python is missing)

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

import kafka_wire  # noqa: E402
from client_programs import librdkafka_program  # noqa: E402
from keel_harness import Broker, parse_args, scratch_dir, wait_until  # noqa: E402

TOPICS = {"alpha": 3, "beta": 2}


# ---------------------------------------------------------------- flexible wire

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
    """COMPACT_(NULLABLE_)STRING."""
    if s is None:
        return uvarint(0)
    b = s.encode()
    return uvarint(len(b) + 1) + b


def carray(items, encode):
    if items is None:
        return uvarint(0)
    return uvarint(len(items) + 1) + b"".join(encode(i) for i in items)


TAGS = uvarint(0)  # no tagged fields


class FlexDecoder(kafka_wire.Decoder):
    def uvarint(self):
        n, shift = 0, 0
        while True:
            b = self.data[self.pos]
            self.pos += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    def cstring(self):
        n = self.uvarint() - 1
        if n < 0:
            return None
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def carray(self, element):
        n = self.uvarint() - 1
        return None if n < 0 else [element(self) for _ in range(n)]

    def tags(self):
        assert self.uvarint() == 0, "unexpected tagged fields"


def flexible_roundtrip(port, api_key, version, body):
    """Request header v2, response header v1 (both with tagged fields)."""
    payload = struct.pack(">hhi", api_key, version, 7) + kafka_wire.string("keel-test") + TAGS + body
    with kafka_wire.connect(port) as s:
        s.sendall(struct.pack(">i", len(payload)) + payload)
        corr, resp = kafka_wire.read_response(s)
    assert corr == 7
    d = FlexDecoder(resp)
    d.tags()  # response header v1
    return d


def read_fetch_topics(d, version):
    def partition(d):
        p = (d.int32(), d.int64())
        if version >= 5:
            assert d.int32() == -1, "committed_leader_epoch"
        metadata, error = d.cstring(), d.int16()
        d.tags()
        return p[0], p[1], metadata, error

    def topic(d):
        name = d.cstring()
        parts = d.carray(partition)
        d.tags()
        return name, parts
    return {name: {p: (o, m, e) for p, o, m, e in parts} for name, parts in d.carray(topic)}


def offset_fetch_v7(port, group, topics):
    """topics: None (all) or {topic: [partitions]}."""
    asked = None if topics is None else list(topics.items())
    body = (cstring(group)
            + carray(asked, lambda t: cstring(t[0]) + carray(t[1], lambda p: struct.pack(">i", p)) + TAGS)
            + b"\x01" + TAGS)  # require_stable = true
    d = flexible_roundtrip(port, 9, 7, body)
    assert d.int32() == 0  # throttle
    topics = read_fetch_topics(d, 7)
    error = d.int16()
    d.tags()
    assert d.done()
    return error, topics


def offset_fetch_v8(port, groups):
    """groups: {group: None or {topic: [partitions]}}; returns {group: (error, topics)}."""
    def group(g):
        name, topics = g
        asked = None if topics is None else list(topics.items())
        return (cstring(name)
                + carray(asked, lambda t: cstring(t[0]) + carray(t[1], lambda p: struct.pack(">i", p)) + TAGS)
                + TAGS)
    d = flexible_roundtrip(port, 9, 8, carray(list(groups.items()), group) + b"\x00" + TAGS)
    assert d.int32() == 0

    def answer(d):
        name = d.cstring()
        topics = read_fetch_topics(d, 8)
        error = d.int16()
        d.tags()
        return name, (error, topics)
    out = dict(d.carray(answer))
    d.tags()
    assert d.done()
    return out


def offset_commit_v8(port, group, offsets, generation=-1, member="", instance=None):
    """offsets: {(topic, partition): offset}; returns {(topic, partition): error}."""
    by_topic = {}
    for (t, p), o in offsets.items():
        by_topic.setdefault(t, []).append((p, o))
    body = (cstring(group) + struct.pack(">i", generation) + cstring(member) + cstring(instance)
            + carray(list(by_topic.items()),
                     lambda t: cstring(t[0]) + carray(t[1], lambda po: struct.pack(">iqi", po[0], po[1], 5)
                                                      + cstring("meta-%d" % po[0]) + TAGS) + TAGS)
            + TAGS)
    d = flexible_roundtrip(port, 8, 8, body)
    assert d.int32() == 0

    def partition(d):
        p, e = d.int32(), d.int16()
        d.tags()
        return p, e

    def topic(d):
        name = d.cstring()
        parts = d.carray(partition)
        d.tags()
        return [((name, p), e) for p, e in parts]
    out = dict(x for parts in d.carray(topic) for x in parts)
    d.tags()
    assert d.done()
    return out


# ------------------------------------------------------------------------ tests

def commit_with_consumer(broker, group, offsets):
    """Commits {(topic, partition): offset} the way consumers using assign() do."""
    from kafka.structs import OffsetAndMetadata
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=group, enable_auto_commit=False)
    c.assign([TopicPartition(t, p) for t, p in offsets])
    c.commit({TopicPartition(t, p): OffsetAndMetadata(o, "") for (t, p), o in offsets.items()})
    c.close(autocommit=False)


def test_all_offsets_of_a_group(broker, args, work):
    committed = {("alpha", 0): 10, ("alpha", 2): 7, ("beta", 1): 3}
    commit_with_consumer(broker, "lag-monitored", committed)
    commit_with_consumer(broker, "other", {("beta", 0): 99})

    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    listed = admin.list_consumer_group_offsets("lag-monitored")
    admin.close()
    assert {(tp.topic, tp.partition): om.offset for tp, om in listed.items()} == committed, listed
    print("kafka-python list_consumer_group_offsets(group) without partitions:", len(listed), "offsets")

    exe = librdkafka_program(args, "group_admin", work)
    out = subprocess.run([exe, broker.bootstrap, "list-offsets", "lag-monitored"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = sorted(out.stdout.split("\n"))
    assert [x for x in lines if x] == sorted(f"offset {t} {p} {o}" for (t, p), o in committed.items()), out.stdout
    print("librdkafka ListConsumerGroupOffsets(NULL partitions):", out.stdout.count("offset"), "offsets")

    error, topics = offset_fetch_v7(broker.kafka_port, "lag-monitored", None)
    assert error == 0
    assert topics == {"alpha": {0: (10, "", 0), 2: (7, "", 0)}, "beta": {1: (3, "", 0)}}, topics
    error, topics = offset_fetch_v7(broker.kafka_port, "lag-monitored", {"alpha": [0, 1]})
    assert topics == {"alpha": {0: (10, "", 0), 1: (-1, "", 0)}}, topics
    error, topics = offset_fetch_v7(broker.kafka_port, "never-committed", None)
    assert (error, topics) == (0, {}), (error, topics)

    both = offset_fetch_v8(broker.kafka_port, {"lag-monitored": {"beta": [1]}, "other": None, "nobody": None})
    assert both == {"lag-monitored": (0, {"beta": {1: (3, "", 0)}}),
                    "other": (0, {"beta": {0: (99, "", 0)}}),
                    "nobody": (0, {})}, both
    print("OffsetFetch v7 (require_stable) and v8 (three groups in one request): as committed")


def test_offset_commit_v8(broker, args, work):
    errors = offset_commit_v8(broker.kafka_port, "flexible-committer", {("alpha", 1): 41, ("beta", 0): 5},
                              instance="static-1")
    assert errors == {("alpha", 1): 0, ("beta", 0): 0}, errors
    errors = offset_commit_v8(broker.kafka_port, "flexible-committer", {("alpha", 9): 1})
    assert errors == {("alpha", 9): 3}, errors  # UNKNOWN_TOPIC_OR_PARTITION
    # A generation and member the group never had, with an instance id no
    # member registered (Keel has no static members): Kafka ignores the
    # unknown instance id and answers ILLEGAL_GENERATION for a group that
    # has no generation; nothing is stored.
    errors = offset_commit_v8(broker.kafka_port, "flexible-committer", {("alpha", 1): 50}, generation=3,
                              member="ghost", instance="static-1")
    assert errors == {("alpha", 1): 22}, errors
    _, topics = offset_fetch_v7(broker.kafka_port, "flexible-committer", None)
    assert topics == {"alpha": {1: (41, "meta-1", 0)}, "beta": {0: (5, "meta-0", 0)}}, topics
    print("OffsetCommit v8 (flexible, leader epoch and group_instance_id ignored): stored and read back")


def group_admin(args, work, broker, *argv):
    exe = librdkafka_program(args, "group_admin", work)
    out = subprocess.run([exe, broker.bootstrap, *argv], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def http_delete(broker, group):
    conn = http.client.HTTPConnection("127.0.0.1", broker.http_port, timeout=60)
    try:
        conn.request("DELETE", f"/groups/{group}")
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def committed(broker, group):
    return offset_fetch_v7(broker.kafka_port, group, None)[1]


def test_delete_groups_and_offsets(broker, args, work):
    commit_with_consumer(broker, "busy", {("alpha", 0): 4, ("beta", 0): 6, ("beta", 1): 8})
    commit_with_consumer(broker, "finished", {("alpha", 1): 5, ("beta", 1): 2})
    commit_with_consumer(broker, "over-http", {("beta", 0): 1})
    consumer = KafkaConsumer("alpha", bootstrap_servers=broker.bootstrap, group_id="busy",
                             enable_auto_commit=False, session_timeout_ms=10000)
    wait_until(lambda: consumer.poll(timeout_ms=100) is not None and len(consumer.assignment()) == 3, 30,
               "the consumer of group 'busy' to be assigned alpha's partitions")

    # While a consumer subscribed to alpha is live in 'busy'.
    out = group_admin(args, work, broker, "delete-offsets", "busy", "alpha", "0")
    assert out == "error alpha 0 GROUP_SUBSCRIBED_TO_TOPIC", out
    out = group_admin(args, work, broker, "delete-offsets", "busy", "beta", "0", "3")
    assert out.split("\n") == ["deleted beta 0", "deleted beta 3"], out
    assert committed(broker, "busy") == {"alpha": {0: (4, "", 0)}, "beta": {1: (8, "", 0)}}
    out = group_admin(args, work, broker, "delete-group", "busy")
    assert out == "error busy NON_EMPTY_GROUP", out
    status, body = http_delete(broker, "busy")
    assert status == 409 and "group_has_members" in body, (status, body)
    print("a live consumer's group: NON_EMPTY_GROUP (librdkafka), 409 (HTTP); its subscribed topic's offsets: "
          "GROUP_SUBSCRIBED_TO_TOPIC; another topic's offsets deleted")

    out = group_admin(args, work, broker, "delete-group", "nobody")
    assert out == "error nobody GROUP_ID_NOT_FOUND", out
    out = group_admin(args, work, broker, "delete-offsets", "nobody", "alpha", "0")
    assert out == "error nobody GROUP_ID_NOT_FOUND", out
    status, body = http_delete(broker, "nobody")
    assert status == 404 and "unknown_group" in body, (status, body)

    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    result = admin.delete_consumer_groups(["finished"])
    assert [(g, e.errno) for g, e in result] == [("finished", 0)], result
    assert admin.list_consumer_group_offsets("finished") == {}
    admin.close()
    status, body = http_delete(broker, "over-http")
    assert status == 204, (status, body)

    consumer.close()  # LeaveGroup: 'busy' is empty now
    out = group_admin(args, work, broker, "delete-group", "busy")
    assert out == "deleted busy", out
    print("empty groups deleted by kafka-python delete_consumer_groups, librdkafka DeleteGroups and HTTP DELETE")

    broker.stop()
    broker.start()
    for g in ("busy", "finished", "over-http"):
        assert committed(broker, g) == {}, (g, committed(broker, g))
    # Nothing of them is stored: not even the snapshot of 'busy' emptying,
    # which its LeaveGroup had sent on its way just before the deletion.
    for g in ("busy", "finished"):
        out = group_admin(args, work, broker, "delete-group", g)
        assert out == f"error {g} GROUP_ID_NOT_FOUND", out
    print("deleted groups stay deleted after a restart")


def main():
    args = parse_args()
    toml = "".join(f"[topics.{t}]\npartitions = {n}\n" for t, n in TOPICS.items())
    with scratch_dir("keel-group-admin-") as work:
        with Broker(args.build_dir, workdir=work, topics_toml=toml, http=True) as broker:
            for t in (test_all_offsets_of_a_group, test_offset_commit_v8, test_delete_groups_and_offsets):
                t(broker, args, work)
    print("group_admin_test: OK")


if __name__ == "__main__":
    main()
