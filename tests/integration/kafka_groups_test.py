"""Consumer groups over the Kafka protocol with real clients.

kafka-python: two consumers split a topic, one leaves and the other takes
over every partition; each message is consumed once; after a broker restart
a new member resumes exactly at the committed offsets, and librdkafka's
commits are back too. librdkafka (kcat -G) consumes in a group and its
commits are read back with kafka-python's admin client. Offsets live in the
internal compacted topic __consumer_offsets: kcat can read it, nobody can
produce to it, and it stays small under thousands of commits. A consumer using assign() commits outside group management
(generation -1). ListGroups and DescribeGroups through KafkaAdminClient.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import system_python  # noqa: E402,F401  (re-runs under /usr/bin/python3 when kafka-python is missing)

from kafka import KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.errors import CommitFailedError
from kafka.protocol.admin import DescribeGroupsRequest
from kafka.protocol.commit import GroupCoordinatorRequest, OffsetCommitRequest, OffsetFetchRequest
from kafka.protocol.group import (HeartbeatRequest, JoinGroupRequest, LeaveGroupRequest, ProtocolMetadata,
                                  SyncGroupRequest)
from kafka.protocol.api import Request, Response
from kafka.protocol.parser import KafkaProtocol
from kafka.protocol.types import Int16, Int32, Schema, String
from kafka.structs import OffsetAndMetadata

from keel_harness import Broker, parse_args, wait_until  # noqa: E402

TOPIC = "orders"
PARTITIONS = 4
ALL_TPS = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]
TOPICS_TOML = f"[topics.{TOPIC}]\npartitions = {PARTITIONS}\n\n[topics.rd]\npartitions = {PARTITIONS}\n"


def produce(bootstrap, topic, start, count):
    """Messages start..start+count-1, spread evenly over the partitions."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for i in range(start, start + count):
        producer.send(topic, value=b"m%d" % i, partition=i % PARTITIONS)
    producer.flush()
    producer.close()


def consumer_for(bootstrap, group, **extra):
    # Members here leave with LeaveGroup; none is meant to time out. A long
    # session keeps a member whose heartbeat thread starves for a few seconds
    # on a loaded 2-core machine from being expelled mid-test.
    return KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                         auto_offset_reset="earliest", session_timeout_ms=30000,
                         heartbeat_interval_ms=300, **extra)


class GroupMember(threading.Thread):
    """A subscribed consumer that commits synchronously after each batch."""

    def __init__(self, name, bootstrap, group, log, lock):
        super().__init__(name=name, daemon=True)
        self.consumer = consumer_for(bootstrap, group, client_id=name)
        self.consumer.subscribe([TOPIC])
        self.log = log                # shared: (partition, offset, value, member)
        self.lock = lock
        self.assignment = set()       # as of the last poll
        self.uncommitted = set()      # batches whose commit failed (may come again)
        self.stop_requested = threading.Event()
        self.error = None

    def run(self):
        try:
            while not self.stop_requested.is_set():
                batches = self.consumer.poll(timeout_ms=100, max_records=200)
                self.assignment = {tp.partition for tp in self.consumer.assignment()}
                records = [r for rs in batches.values() for r in rs]
                if not records:
                    continue
                with self.lock:
                    self.log.extend((r.partition, r.offset, r.value, self.name) for r in records)
                try:
                    self.consumer.commit()
                except CommitFailedError:
                    self.uncommitted.update((r.partition, r.offset) for r in records)
            self.consumer.close()  # sends LeaveGroup
        except Exception as e:  # reported by the main thread
            self.error = e

    def finish(self):
        self.stop_requested.set()
        self.join(30)
        assert not self.is_alive(), f"{self.name} did not stop"
        if self.error:
            raise self.error


def check_exactly_once(log, expected_count, uncommitted):
    seen = {}
    for partition, offset, value, member in log:
        key = (partition, offset)
        if key in seen and key not in uncommitted:
            raise AssertionError(f"{TOPIC}-{partition}@{offset} consumed twice ({seen[key]} and {member})")
        seen[key] = member
    values = {v for _, _, v, _ in log}
    expected = {b"m%d" % i for i in range(expected_count)}
    missing = expected - values
    assert not missing, f"{len(missing)} messages never consumed, e.g. {sorted(missing)[:5]}"
    assert len(seen) == expected_count, f"consumed {len(seen)} distinct offsets, expected {expected_count}"


def test_split_leave_restart(broker, admin):
    group = "orders-group"
    produce(broker.bootstrap, TOPIC, 0, 2000)
    log, lock = [], threading.Lock()
    a = GroupMember("member-a", broker.bootstrap, group, log, lock)
    b = GroupMember("member-b", broker.bootstrap, group, log, lock)
    a.start()
    b.start()

    def split():
        return (a.assignment and b.assignment and not (a.assignment & b.assignment)
                and a.assignment | b.assignment == set(range(PARTITIONS)))
    wait_until(split, 60, "two members to split the partitions")

    def stable_with_two():
        (g,) = admin.describe_consumer_groups([group])
        return g.state == "Stable" and len(g.members) == 2 and g
    described = wait_until(stable_with_two, 30, "DescribeGroups to show two members")
    assert described.protocol_type == "consumer" and described.protocol in ("range", "roundrobin")
    assigned = sorted(p for m in described.members for t, ps in m.member_assignment.assignment for p in ps)
    assert assigned == list(range(PARTITIONS)), assigned
    assert {m.client_id for m in described.members} == {"member-a", "member-b"}
    assert (group, "consumer") in admin.list_consumer_groups()

    wait_until(lambda: len({(p, o) for p, o, _, _ in log}) >= 2000, 60, "the first 2000 messages")
    b.finish()  # leaves the group
    wait_until(lambda: a.assignment == set(range(PARTITIONS)), 60, "member-a to take over every partition")
    produce(broker.bootstrap, TOPIC, 2000, 2000)
    wait_until(lambda: len({(p, o) for p, o, _, _ in log}) >= 4000, 60, "all 4000 messages")
    a.finish()
    check_exactly_once(log, 4000, a.uncommitted | b.uncommitted)
    (g,) = admin.describe_consumer_groups([group])
    assert g.state == "Empty" and not g.members, g
    per_partition = 4000 // PARTITIONS
    offsets = admin.list_consumer_group_offsets(group, partitions=ALL_TPS)
    assert {tp.partition: om.offset for tp, om in offsets.items()} == {p: per_partition for p in range(PARTITIONS)}

    # Group membership is in memory; committed offsets must survive, those
    # of librdkafka's group too (test_librdkafka_group ran before), and the
    # groups' protocol type.
    broker.stop()
    broker.start()
    fresh = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        rd_tps = [TopicPartition("rd", p) for p in range(PARTITIONS)]
        rd_offsets = fresh.list_consumer_group_offsets("rd-group", partitions=rd_tps)
        assert {tp.partition: om.offset for tp, om in rd_offsets.items()} == {p: 110 for p in range(PARTITIONS)}
        assert (group, "consumer") in fresh.list_consumer_groups(), fresh.list_consumer_groups()
    finally:
        fresh.close()
    produce(broker.bootstrap, TOPIC, 4000, 400)
    c = consumer_for(broker.bootstrap, group)
    try:
        for tp in ALL_TPS:
            assert c.committed(tp) == per_partition, (tp, c.committed(tp))
        c.subscribe([TOPIC])
        resumed = []

        def poll_all():
            for rs in c.poll(timeout_ms=200).values():
                resumed.extend(rs)
            return len(resumed) >= 400
        wait_until(poll_all, 60, "the new member to consume the 400 new messages")
        assert c.assignment() == set(ALL_TPS)
        keys = [(r.partition, r.offset) for r in resumed]
        assert len(keys) == len(set(keys)) == 400, f"{len(keys)} records, {len(set(keys))} distinct"
        for p in range(PARTITIONS):
            offsets_p = sorted(o for q, o in keys if q == p)
            assert offsets_p == list(range(per_partition, per_partition + 100)), (p, offsets_p[:3], offsets_p[-3:])
        assert {r.value for r in resumed} == {b"m%d" % i for i in range(4000, 4400)}
        for tp in ALL_TPS:
            assert c.position(tp) == per_partition + 100
        c.commit()
    finally:
        c.close()
    print("kafka-python: split, leave, takeover, restart and resume: ok")


def internal_log_bytes(broker):
    """Bytes in __consumer_offsets-0's segment files. Compaction deletes
    segments while this runs: one gone between listing and stat holds none."""
    d = os.path.join(broker.data_dir, "__consumer_offsets-0")
    total = 0
    for name in os.listdir(d):
        if name.endswith(".log"):
            try:
                total += os.path.getsize(os.path.join(d, name))
            except FileNotFoundError:
                pass
    return total


def test_offsets_topic(broker):
    """Many commits to the same partitions: compaction keeps the internal
    topic small; kcat reads it; producing to it is refused."""
    group = "busy-group"
    c = consumer_for(broker.bootstrap, group)
    try:
        for i in range(1, 3001):
            c.commit({tp: OffsetAndMetadata(i, "") for tp in ALL_TPS})
    finally:
        c.close()
    # 12000 commit records of about 100 bytes went into 16 KiB segments.
    wait_until(lambda: internal_log_bytes(broker) < 64 * 1024, 60,
               f"compaction to shrink __consumer_offsets (now {internal_log_bytes(broker)} bytes)")
    out = subprocess.run(["kcat", "-b", broker.bootstrap, "-C", "-t", "__consumer_offsets", "-e", "-q",
                          "-f", "%k %s\n"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    latest = {}
    for line in out.stdout.splitlines():
        key, _, value = line.partition(" ")
        latest[key] = value
    for p in range(PARTITIONS):
        assert '"offset":3000' in latest[f'["offset","{group}","{TOPIC}",{p}]'], latest
    refused = subprocess.run(["kcat", "-b", broker.bootstrap, "-P", "-t", "__consumer_offsets", "-p", "0"],
                             input="x\n", capture_output=True, text=True, timeout=60)
    assert "internal" in refused.stderr or refused.returncode != 0, refused
    broker.stop()
    broker.start()
    c = consumer_for(broker.bootstrap, group)
    try:
        for tp in ALL_TPS:
            assert c.committed(tp) == 3000, (tp, c.committed(tp))
    finally:
        c.close()
    print("__consumer_offsets: compacted under 3000 commits, readable by kcat, read-only: ok")


def kcat_group(bootstrap, group, topic, count):
    """Consumes `count` messages in a librdkafka group; returns their payloads."""
    out = subprocess.run(
        ["kcat", "-b", bootstrap, "-G", group, topic, "-c", str(count), "-f", "%s\n", "-q",
         "-X", "auto.offset.reset=earliest"],
        capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, f"kcat failed ({out.returncode}): {out.stderr[-2000:]}"
    return out.stdout.split()


def test_librdkafka_group(broker, admin):
    group = "rd-group"
    produce(broker.bootstrap, "rd", 0, 400)
    # kcat commits the stored offsets when it closes the consumer.
    got = kcat_group(broker.bootstrap, group, "rd", 400)
    assert sorted(got) == sorted("m%d" % i for i in range(400)), f"{len(got)} messages"
    tps = [TopicPartition("rd", p) for p in range(PARTITIONS)]
    offsets = admin.list_consumer_group_offsets(group, partitions=tps)
    assert {tp.partition: om.offset for tp, om in offsets.items()} == {p: 100 for p in range(PARTITIONS)}, offsets

    # A second librdkafka member resumes from those commits.
    produce(broker.bootstrap, "rd", 400, 40)
    got = kcat_group(broker.bootstrap, group, "rd", 40)
    assert sorted(got) == sorted("m%d" % i for i in range(400, 440)), got
    offsets = admin.list_consumer_group_offsets(group, partitions=tps)
    assert {tp.partition: om.offset for tp, om in offsets.items()} == {p: 110 for p in range(PARTITIONS)}, offsets
    assert (group, "consumer") in admin.list_consumer_groups()
    print("librdkafka: group consume and commit, read back by kafka-python: ok")


def test_manual_assign(broker, admin):
    group = "manual-group"
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=group, enable_auto_commit=False,
                      auto_offset_reset="earliest")
    try:
        tps = ALL_TPS[:2]
        c.assign(tps)
        assert c.committed(tps[0]) is None
        # Not a member: kafka-python sends generation -1 and no member id.
        c.commit({tps[0]: OffsetAndMetadata(123, "checkpoint"), tps[1]: OffsetAndMetadata(7, "")})
        assert c.committed(tps[0]) == 123
        assert c.committed(tps[1]) == 7
    finally:
        c.close()
    offsets = admin.list_consumer_group_offsets(group, partitions=ALL_TPS)
    assert offsets[ALL_TPS[0]] == OffsetAndMetadata(123, "checkpoint"), offsets
    assert offsets[ALL_TPS[1]].offset == 7
    assert offsets[ALL_TPS[2]].offset == -1 and offsets[ALL_TPS[3]].offset == -1, offsets
    # An offsets-only group is listed without a protocol type and is Empty.
    assert (group, "") in admin.list_consumer_groups()
    (g,) = admin.describe_consumer_groups([group])
    assert g.state == "Empty" and not g.members, g
    (g,) = admin.describe_consumer_groups(["never-seen"])
    assert g.state == "Dead", g
    print("manual assign() commits with generation -1: ok")


class FindCoordinatorResponseV1(Response):
    """kafka-python's GroupCoordinatorResponse_v1 lacks throttle_time_ms
    (its clients only send v0); Kafka's schema has it first."""
    API_KEY = 10
    API_VERSION = 1
    SCHEMA = Schema(("throttle_time_ms", Int32), ("error_code", Int16), ("error_message", String("utf-8")),
                    ("coordinator_id", Int32), ("host", String("utf-8")), ("port", Int32))


class FindCoordinatorRequestV1(Request):
    API_KEY = 10
    API_VERSION = 1
    RESPONSE_TYPE = FindCoordinatorResponseV1
    SCHEMA = GroupCoordinatorRequest[1].SCHEMA


class RawClient:
    """One connection speaking the protocol with kafka-python's encoders, so
    that a test controls exactly which request is sent when."""

    def __init__(self, bootstrap, client_id):
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        self.proto = KafkaProtocol(client_id=client_id)
        self.ready = []

    def send(self, request):
        self.proto.send_request(request)
        self.sock.sendall(self.proto.send_bytes())

    def receive(self):
        while not self.ready:
            data = self.sock.recv(65536)
            assert data, "the broker closed the connection"
            self.ready.extend(r for _, r in self.proto.receive_bytes(data))
        return self.ready.pop(0)

    def call(self, request):
        self.send(request)
        return self.receive()

    def close(self):
        self.sock.close()


def http_json(broker, path):
    with urllib.request.urlopen(broker.http_url + path, timeout=30) as r:
        return json.load(r)


# Error codes (Kafka protocol guide).
NONE, UNKNOWN_TOPIC, ILLEGAL_GENERATION = 0, 3, 22
TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53
INCONSISTENT_PROTOCOL, UNKNOWN_MEMBER, INVALID_SESSION_TIMEOUT, REBALANCE_IN_PROGRESS = 23, 25, 26, 27


def test_protocol_edges(broker):
    """Coordinator rules the real clients rarely hit: errors, delayed
    JoinGroup/SyncGroup answers, the rebalance timeout, session expiry."""
    group = "raw-group"
    subscription = ProtocolMetadata(0, [TOPIC], b"")  # encode() holds only a weak reference
    meta = subscription.encode()
    a, b = RawClient(broker.bootstrap, "raw-a"), RawClient(broker.bootstrap, "raw-b")

    r = a.call(GroupCoordinatorRequest[0](group))
    assert (r.error_code, r.coordinator_id, r.port) == (NONE, 0, broker.kafka_port), r
    r = a.call(FindCoordinatorRequestV1(group, 0))
    assert (r.error_code, r.error_message, r.host, r.port) == (NONE, None, "127.0.0.1", broker.kafka_port), r
    r = a.call(FindCoordinatorRequestV1("some-transaction", 1))
    # Transactions are refused at once, with Keel's reason (not a retriable code).
    assert (r.error_code, r.coordinator_id) == (TRANSACTIONAL_ID_AUTHORIZATION_FAILED, -1), r
    assert "not supported by Keel" in r.error_message, r

    # Real timers, kept short where a test waits for one to fire (200 ms
    # session, 300 ms rebalance timeout: every such wait is on a condition
    # with a deadline), and long (60 s) where a member must stay alive
    # however slowly a loaded machine runs the test. Exact expiry times are
    # tested in tests/unit/kafka_group_test.cpp on a clock the test moves.
    def join(client, member="", session=60000, rebalance=60000, protocols=(("range", meta),), ptype="consumer"):
        client.send(JoinGroupRequest[2](group, session, rebalance, member, ptype, list(protocols)))

    def heartbeat(client, generation, member):
        return client.call(HeartbeatRequest[1](group, generation, member)).error_code

    def describe():
        (g,) = a.call(DescribeGroupsRequest[0]([group])).groups
        error, group_id, state, protocol_type, protocol, members = g
        assert (error, group_id) == (NONE, group), g
        return argparse.Namespace(state=state, protocol_type=protocol_type, protocol=protocol, members=members)

    join(a, session=10)  # below group_min_session_timeout_ms
    assert a.receive().error_code == INVALID_SESSION_TIMEOUT
    join(a)
    ja = a.receive()
    assert (ja.error_code, ja.generation_id, ja.leader_id) == (NONE, 1, ja.member_id), ja
    A = ja.member_id
    assert A.startswith("raw-a-"), A
    join(b, protocols=(("roundrobin", meta),))  # no protocol in common
    assert b.receive().error_code == INCONSISTENT_PROTOCOL
    join(b, ptype="connect")
    assert b.receive().error_code == INCONSISTENT_PROTOCOL

    # B joins: its answer waits until A has rejoined, which A learns from
    # its heartbeat.
    join(b)
    wait_until(lambda: heartbeat(a, 1, A) == REBALANCE_IN_PROGRESS, 30, "a heartbeat to report the rebalance")
    # Operators see the rebalance while it waits (the broker's view behind
    # HTTP GET /groups/{g}, the console and keel-admin), with both members
    # and the address each joined from.
    view = http_json(broker, f"/groups/{group}")
    assert view["state"] == "PreparingRebalance" and view["generation"] == 1, view
    hosts = {m["client_id"]: m["client_host"] for m in view["members"]}
    assert hosts == {"raw-a": "/127.0.0.1", "raw-b": "/127.0.0.1"}, view
    join(a, member=A, rebalance=300)
    ja, jb = a.receive(), b.receive()
    B = jb.member_id
    assert (ja.error_code, ja.generation_id, ja.leader_id) == (NONE, 2, A), ja
    assert sorted(m for m, _ in ja.members) == sorted([A, B]) and all(md == meta for _, md in ja.members), ja
    assert (jb.error_code, jb.generation_id, jb.leader_id, jb.members) == (NONE, 2, A, []), jb
    assert describe().state == "CompletingRebalance"
    assert heartbeat(b, 2, B) == NONE

    # The follower's SyncGroup is answered with the leader's assignment.
    b.send(SyncGroupRequest[1](group, 2, B, []))
    a.send(SyncGroupRequest[1](group, 2, A, [(A, b"for-a"), (B, b"for-b")]))
    sa, sb = a.receive(), b.receive()
    assert (sa.error_code, sa.member_assignment) == (NONE, b"for-a"), sa
    assert (sb.error_code, sb.member_assignment) == (NONE, b"for-b"), sb
    g = describe()
    assert (g.state, g.protocol_type, g.protocol) == ("Stable", "consumer", "range"), g
    assert sorted((m[0], m[1], m[2], m[4]) for m in g.members) == sorted(
        [(A, "raw-a", "/127.0.0.1", b"for-a"), (B, "raw-b", "/127.0.0.1", b"for-b")])
    assert b.call(SyncGroupRequest[1](group, 2, B, [])).member_assignment == b"for-b"  # a resend
    assert b.call(SyncGroupRequest[1](group, 1, B, [])).error_code == ILLEGAL_GENERATION
    assert heartbeat(a, 1, A) == ILLEGAL_GENERATION
    assert heartbeat(a, 2, "nobody") == UNKNOWN_MEMBER
    assert heartbeat(a, 2, A) == NONE

    def commit(client, generation, member, topic, partition, offset):
        r = client.call(OffsetCommitRequest[2](group, generation, member, -1, [(topic, [(partition, offset, "")])]))
        ((_, ((_, error),)),) = r.topics
        return error

    assert commit(a, 2, A, TOPIC, 0, 5) == NONE
    assert commit(a, 2, A, "no-such-topic", 0, 5) == UNKNOWN_TOPIC
    assert commit(a, 2, A, TOPIC, 99, 5) == UNKNOWN_TOPIC
    assert commit(a, 1, A, TOPIC, 0, 6) == ILLEGAL_GENERATION
    assert commit(a, -1, "", TOPIC, 0, 6) == UNKNOWN_MEMBER  # the group has members
    r = a.call(OffsetFetchRequest[1](group, [(TOPIC, [0, 1])]))
    assert [(p, o, e) for p, o, _, e in r.topics[0][1]] == [(0, 5, NONE), (1, -1, NONE)], r

    # B rejoins with new metadata; A never does and is dropped when the
    # rebalance timeout (now 300 ms for both) passes.
    join(b, member=B, session=200, rebalance=300, protocols=(("range", meta + b"x"),))
    jb = b.receive()
    assert (jb.error_code, jb.generation_id, jb.leader_id) == (NONE, 3, B), jb
    assert [m for m, _ in jb.members] == [B], jb
    assert heartbeat(a, 2, A) == UNKNOWN_MEMBER
    # B now stays silent: its 200 ms session ends and the group empties.
    wait_until(lambda: describe().state == "Empty", 30, "B's session to expire")
    assert describe().members == []
    join(b, member=B)
    assert b.receive().error_code == UNKNOWN_MEMBER
    a.close()
    b.close()
    print("protocol edges (errors, delayed answers, rebalance timeout, session expiry): ok")


def groups_in_memory(broker):
    with urllib.request.urlopen(broker.http_url + "/metrics", timeout=30) as r:
        for line in r.read().decode().splitlines():
            if line.startswith('keel_consumer_groups_in_memory{transport="kafka"}'):
                return float(line.split()[-1])
    return None


def test_group_churn(broker):
    """300 short-lived groups (one member joins, then leaves): the
    coordinator forgets idle ones instead of keeping every id, and a
    forgotten group still describes itself from what was stored."""
    subscription = ProtocolMetadata(0, [TOPIC], b"")
    meta = subscription.encode()
    c = RawClient(broker.bootstrap, "churn")
    try:
        for i in range(300):
            group = f"churn-{i:03d}"
            c.send(JoinGroupRequest[2](group, 10000, 10000, "", "consumer", [("range", meta)]))
            j = c.receive()
            assert j.error_code == NONE, (group, j)
            assert c.call(LeaveGroupRequest[0](group, j.member_id)).error_code == NONE
        in_memory = groups_in_memory(broker)
        assert in_memory is not None and in_memory < 300, in_memory
        (g,) = c.call(DescribeGroupsRequest[0](["churn-000"])).groups
        assert (g[0], g[2], g[3]) == (NONE, "Empty", "consumer"), g
        c.send(JoinGroupRequest[2]("churn-000", 10000, 10000, "", "consumer", [("range", meta)]))
        j = c.receive()
        assert (j.error_code, j.generation_id) == (NONE, 3), j  # generations go on: 1 joined, 2 empty
    finally:
        c.close()
    print(f"group churn: {in_memory:.0f} of 300 idle groups still in memory; a forgotten one comes back: ok")


def main():
    args = parse_args()
    # Small internal segments so that compaction of __consumer_offsets shows.
    with Broker(args.build_dir, topics_toml=TOPICS_TOML,
                broker_toml="retention_check_ms = 200\noffsets_topic_segment_bytes = 16384") as broker:
        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
        try:
            test_manual_assign(broker, admin)
            test_librdkafka_group(broker, admin)
        finally:
            admin.close()
        # Restarts the broker: the admin client above would reconnect noisily.
        admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
        try:
            test_split_leave_restart(broker, admin)
        finally:
            admin.close()
        test_offsets_topic(broker)
    # Short sessions need a lower minimum than the default 6 s.
    with Broker(args.build_dir, topics_toml=TOPICS_TOML, http=True,
                kafka_toml="group_min_session_timeout_ms = 100") as broker:
        test_protocol_edges(broker)
    with Broker(args.build_dir, topics_toml=TOPICS_TOML, http=True,
                kafka_toml="group_initial_rebalance_delay_ms = 0") as broker:
        test_group_churn(broker)
    print("kafka_groups_test: all passed")


if __name__ == "__main__":
    main()
