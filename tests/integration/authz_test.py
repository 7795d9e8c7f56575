"""Authorization on the Kafka listener (issue 15, second half): a broker with
[authorizer] strategy = "acl" and super user User:admin, a SASL_PLAINTEXT
listener (SCRAM-SHA-256) and the users admin, alice and bob.

kafka-python's KafkaAdminClient (admin) creates, describes and deletes ACLs
(CreateAcls, DescribeAcls, DeleteAcls v1), and the raw wire covers the
versions clients do not send (v0, flexible v2-v3) and malformed requests.
Then the rules are enforced with real clients: alice produces and consumes
"orders" in group g1 (kcat and kafka-python) while bob is refused with
TOPIC_AUTHORIZATION_FAILED (and GROUP_AUTHORIZATION_FAILED for g1); a
PREFIXED binding lets bob write "pay-in"; DENY beats ALLOW; Metadata for
all topics leaves out the topics a principal may not DESCRIBE; a principal
that is not a super user may not administer ACLs
(CLUSTER_AUTHORIZATION_FAILED); the bindings survive a restart; a damaged
acls.json stops the start naming the file; and a broker without
[authorizer] answers the ACL APIs with SECURITY_DISABLED.
"""
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from keel_harness import Broker, parse_args, run_cases  # noqa: E402
from kafka_batches import record_batch  # noqa: E402
import kafka_wire  # noqa: E402
from sasl_test import scram_login  # noqa: E402

try:
    import kafka  # noqa: F401
except ImportError:
    sys.path.append("/usr/lib/python3/dist-packages")
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer  # noqa: E402
from kafka import errors as kerrors  # noqa: E402
from kafka.admin import (ACL, ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType,  # noqa: E402
                         ResourcePattern, ResourcePatternFilter, ResourceType)

TESTS = []
USERS = {"admin": "admin-secret", "alice": "alice-secret", "bob": "bob-secret"}
MECHANISM = "SCRAM-SHA-256"
TOPICS = ("orders", "secret", "pay-in")
CREATE_ACLS, DESCRIBE_ACLS, DELETE_ACLS = 30, 29, 31
FETCH, OFFSET_COMMIT = 1, 8
# Kafka's error codes.
TOPIC_AUTHORIZATION_FAILED, GROUP_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED = 29, 30, 31
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_REQUEST, SECURITY_DISABLED = 42, 54
NO_AUTHORIZER = "no authorizer is configured"


def test(fn):
    TESTS.append(fn)
    return fn


# ---- clients


def client_config(broker, user):
    return dict(bootstrap_servers=broker.bootstrap, security_protocol="SASL_PLAINTEXT", sasl_mechanism=MECHANISM,
                sasl_plain_username=user, sasl_plain_password=USERS[user], request_timeout_ms=10000,
                api_version_auto_timeout_ms=10000)


class Admin:
    """A KafkaAdminClient as `user`, closed by the with block."""

    def __init__(self, broker, user):
        self.client = KafkaAdminClient(**client_config(broker, user))

    def __enter__(self):
        return self.client

    def __exit__(self, *exc):
        self.client.close()


def acl(principal, operation, resource_type, name, pattern=ACLResourcePatternType.LITERAL,
        permission=ACLPermissionType.ALLOW, host="*"):
    return ACL(principal=principal, host=host, operation=operation, permission_type=permission,
               resource_pattern=ResourcePattern(resource_type, name, pattern))


def key(a):
    """An ACL as a comparable tuple of every field."""
    p = a.resource_pattern
    return (a.principal, a.host, ACLOperation(a.operation), ACLPermissionType(a.permission_type),
            ResourceType(p.resource_type), p.resource_name, ACLResourcePatternType(p.pattern_type))


ALL = ACLFilter(principal=None, host=None, operation=ACLOperation.ANY, permission_type=ACLPermissionType.ANY,
                resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY))


def described(admin, acl_filter=ALL):
    acls, error = admin.describe_acls(acl_filter)
    assert error is kerrors.NoError, error
    return {key(a) for a in acls}


TOPIC, GROUP = ResourceType.TOPIC, ResourceType.GROUP
READ, WRITE, DESCRIBE = ACLOperation.READ, ACLOperation.WRITE, ACLOperation.DESCRIBE
PREFIXED = ACLResourcePatternType.PREFIXED
# What case 1 leaves: alice reads and writes "orders" and reads group g1;
# bob writes any topic named "pay-...". (bob's READ on "orders" is created
# and deleted again.)
KEPT = [acl("User:alice", WRITE, TOPIC, "orders"), acl("User:alice", READ, TOPIC, "orders"),
        acl("User:alice", DESCRIBE, TOPIC, "orders"), acl("User:alice", READ, GROUP, "g1"),
        acl("User:bob", WRITE, TOPIC, "pay-", PREFIXED)]
BOB_READS_ORDERS = acl("User:bob", READ, TOPIC, "orders")
DENY_ALICE_WRITE = acl("User:alice", WRITE, TOPIC, "orders", permission=ACLPermissionType.DENY)


def kcat(broker, args, user, stdin=None, timeout=30):
    sasl = ["-X", "security.protocol=SASL_PLAINTEXT", "-X", f"sasl.mechanisms={MECHANISM}",
            "-X", f"sasl.username={user}", "-X", f"sasl.password={USERS[user]}"]
    return subprocess.run(["kcat", "-b", broker.bootstrap, *sasl, *args], input=stdin, capture_output=True,
                          text=True, timeout=timeout)


def produce_with_kafka_python(broker, user, topic, values):
    producer = KafkaProducer(acks="all", retries=0, max_block_ms=10000, **client_config(broker, user))
    try:
        for v in values:
            producer.send(topic, value=v.encode(), partition=0).get(timeout=10)
    finally:
        producer.close()


def consume_group(broker, user, topic, group, count):
    """Reads `count` records of `topic` as a member of `group` (kafka-python:
    FindCoordinator, JoinGroup, SyncGroup, OffsetFetch, Fetch, OffsetCommit)
    and commits."""
    cfg = {**client_config(broker, user), "request_timeout_ms": 30000}  # above session_timeout_ms
    consumer = KafkaConsumer(topic, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False,
                             consumer_timeout_ms=15000, **cfg)
    try:
        got = []
        for m in consumer:
            got.append(m.value.decode())
            if len(got) == count:
                break
        consumer.commit()
        return got
    finally:
        consumer.close()


# ---- the raw wire, on an authenticated connection


class Session:
    """A connection logged in as `user` (SaslHandshake v1, SCRAM-SHA-256)."""

    def __init__(self, broker, user):
        error, message, self.sock = scram_login(broker.kafka_port, user, USERS[user], MECHANISM)
        assert error == 0, (user, error, message)
        self.correlation_id = 100

    def call(self, api_key, version, body, flexible):
        self.correlation_id += 1
        frame = (kafka_wire.flexible_request_frame if flexible else kafka_wire.request_frame)(
            api_key, version, self.correlation_id, body)
        self.sock.sendall(frame)
        corr, resp = kafka_wire.read_response(self.sock)
        assert corr == self.correlation_id, (corr, self.correlation_id)
        if flexible:
            assert resp[0] == 0, "response header v1 with tagged fields"
            resp = resp[1:]
        return kafka_wire.FlexDecoder(resp, flexible)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def flexible(version):
    return version >= 2  # CreateAcls, DescribeAcls, DeleteAcls


def filter_bytes(e, version, f):
    """f = (resource_type, name, pattern_type, principal, host, operation, permission)."""
    rtype, name, pattern, principal, host, op, perm = f
    return (struct.pack(">b", rtype) + e.string(name) + (struct.pack(">b", pattern) if version >= 1 else b"")
            + e.string(principal) + e.string(host) + struct.pack(">bb", op, perm))


def wire_create(session, version, creations):
    """CreateAcls; creations are filter-shaped tuples. Returns [(error, message)]."""
    e = kafka_wire.Encoder(flexible(version))
    body = e.array(creations, lambda c: filter_bytes(e, version, c) + e.tags()) + e.tags()
    d = session.call(CREATE_ACLS, version, body, flexible(version))
    d.int32()  # throttle_time_ms

    def result(d):
        r = (d.int16(), d.string())
        d.tags()
        return r
    out = d.array(result)
    d.tags()
    assert d.done(), "trailing bytes in the CreateAcls response"
    return out


def wire_describe(session, version, f):
    """DescribeAcls; returns (error, message, set of binding tuples)."""
    e = kafka_wire.Encoder(flexible(version))
    d = session.call(DESCRIBE_ACLS, version, filter_bytes(e, version, f) + e.tags(), flexible(version))
    d.int32()
    error, message = d.int16(), d.string()
    bindings = set()

    def resource(d):
        rtype, name = d.int8(), d.string()
        pattern = d.int8() if version >= 1 else 3

        def entry(d):
            principal, host, op, perm = d.string(), d.string(), d.int8(), d.int8()
            d.tags()
            bindings.add((rtype, name, pattern, principal, host, op, perm))
        d.array(entry)
        d.tags()
    d.array(resource)
    d.tags()
    assert d.done(), "trailing bytes in the DescribeAcls response"
    return error, message, bindings


def wire_delete(session, version, filters):
    """DeleteAcls; returns [(error, message, [(error, binding tuple)])]."""
    e = kafka_wire.Encoder(flexible(version))
    body = e.array(filters, lambda f: filter_bytes(e, version, f) + e.tags()) + e.tags()
    d = session.call(DELETE_ACLS, version, body, flexible(version))
    d.int32()

    def matching(d):
        error, _message = d.int16(), d.string()
        rtype, name = d.int8(), d.string()
        pattern = d.int8() if version >= 1 else 3
        binding = (rtype, name, pattern, d.string(), d.string(), d.int8(), d.int8())
        d.tags()
        return error, binding

    def result(d):
        error, message = d.int16(), d.string()
        acls = d.array(matching)
        d.tags()
        return error, message, acls
    out = d.array(result)
    d.tags()
    assert d.done(), "trailing bytes in the DeleteAcls response"
    return out


def wire_produce(session, topic, value):
    """Produce v3 of one record; returns the partition's error code."""
    d = session.call(0, 3, kafka_wire.produce_request(topic, 0, record_batch([value.encode()])), False)
    assert d.int32() == 1 and d.string() == topic and d.int32() == 1
    index, error = d.int32(), d.int16()
    assert index == 0
    return error


def wire_fetch(session, topic):
    """Fetch v4 of partition 0 from offset 0; returns (error, high watermark)."""
    body = (struct.pack(">iiiib", -1, 0, 0, 1 << 20, 0) + struct.pack(">i", 1) + kafka_wire.string(topic)
            + struct.pack(">i", 1) + struct.pack(">iqi", 0, 0, 1 << 20))
    d = session.call(FETCH, 4, body, False)
    d.int32()  # throttle_time_ms
    assert d.int32() == 1 and d.string() == topic and d.int32() == 1
    index, error, high_watermark = d.int32(), d.int16(), d.int64()
    assert index == 0
    return error, high_watermark


def wire_offset_commit(session, group, topic, offset):
    """OffsetCommit v2 outside the group protocol; returns the partition's error."""
    body = (kafka_wire.string(group) + struct.pack(">i", -1) + kafka_wire.string("") + struct.pack(">q", -1)
            + struct.pack(">i", 1) + kafka_wire.string(topic) + struct.pack(">i", 1)
            + struct.pack(">iq", 0, offset) + kafka_wire.string(""))
    d = session.call(OFFSET_COMMIT, 2, body, False)
    assert d.int32() == 1 and d.string() == topic and d.int32() == 1
    index, error = d.int32(), d.int16()
    assert index == 0
    return error


def wire_metadata(session, topics):
    """Metadata v1; topics None = all. Returns {name: error}."""
    d = session.call(3, 1, kafka_wire.metadata_request(1, topics), False)
    parsed = kafka_wire.parse_metadata(1, d.data)
    return {name: t[0] for name, t in parsed["topics"].items()}


# ---- the cases


@test
def admin_creates_describes_and_deletes_acls(broker):
    """Case 1: KafkaAdminClient (v1 of the three APIs) as the super user."""
    with Admin(broker, "admin") as admin:
        assert described(admin) == set(), "a new broker has bindings"
        # CLUSTER may only be named "kafka-cluster": that creation alone
        # fails (INVALID_REQUEST), the others are stored.
        bad = acl("User:bob", ACLOperation.ALTER, ResourceType.CLUSTER, "not-the-cluster")
        result = admin.create_acls(KEPT[:3] + [bad] + KEPT[3:] + [BOB_READS_ORDERS])
        assert [key(a) for a in result["succeeded"]] == [key(a) for a in KEPT + [BOB_READS_ORDERS]], result
        assert [(key(a), e) for a, e in result["failed"]] == [(key(bad), kerrors.InvalidRequestError)], result
        # Every field round-trips, grouped by resource in the answer.
        assert described(admin) == {key(a) for a in KEPT + [BOB_READS_ORDERS]}
        # Filters: by principal; MATCH (the bindings that apply to a name,
        # the PREFIXED one included); by pattern type.
        bob = ACLFilter(principal="User:bob", host=None, operation=ACLOperation.ANY,
                        permission_type=ACLPermissionType.ANY,
                        resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY))
        assert described(admin, bob) == {key(KEPT[4]), key(BOB_READS_ORDERS)}
        match = ACLFilter(principal=None, host=None, operation=ACLOperation.ANY,
                          permission_type=ACLPermissionType.ANY,
                          resource_pattern=ResourcePatternFilter(TOPIC, "pay-in", ACLResourcePatternType.MATCH))
        assert described(admin, match) == {key(KEPT[4])}
        literal_orders = ACLFilter(principal=None, host=None, operation=ACLOperation.ANY,
                                   permission_type=ACLPermissionType.ANY,
                                   resource_pattern=ResourcePatternFilter(TOPIC, "orders",
                                                                          ACLResourcePatternType.LITERAL))
        assert described(admin, literal_orders) == {key(a) for a in KEPT[:3] + [BOB_READS_ORDERS]}
        # Storing a binding already stored is fine and adds nothing.
        assert not admin.create_acls([KEPT[0]])["failed"]
        # Delete bob's READ on "orders" by a filter; the deleted binding is
        # listed under its filter.
        bob_read = ACLFilter(principal="User:bob", host="*", operation=READ, permission_type=ACLPermissionType.ALLOW,
                             resource_pattern=ResourcePatternFilter(TOPIC, "orders", ACLResourcePatternType.ANY))
        [(f, deleted, error)] = admin.delete_acls([bob_read])
        assert error is kerrors.NoError, error
        assert [(key(a), e) for a, e in deleted] == [(key(BOB_READS_ORDERS), kerrors.NoError)], deleted
        assert described(admin) == {key(a) for a in KEPT}
        # Again: nothing matches any more.
        [(f, deleted, error)] = admin.delete_acls([bob_read])
        assert error is kerrors.NoError and deleted == [], (error, deleted)


@test
def acl_apis_over_the_raw_wire_v0_to_v3(broker):
    """The versions kafka-python does not send: v0 (no pattern type: LITERAL),
    flexible v2 and v3; refusals per creation and per filter; a malformed
    request closes the connection and changes nothing."""
    wire_t = (2, "wire-t", 3, "User:carol", "*", 3, 3)  # TOPIC wire-t LITERAL, carol READ ALLOW
    wire_p = (2, "wire-", 4, "User:carol", "10.0.0.1", 4, 2)  # TOPIC wire- PREFIXED, carol WRITE DENY
    carol = (1, None, 1, "User:carol", None, 1, 1)  # every binding of carol
    with Session(broker, "admin") as s:
        assert wire_create(s, 3, [wire_t, wire_p]) == [(0, None), (0, None)]
        for v in (1, 2, 3):
            assert wire_describe(s, v, carol) == (0, None, {wire_t, wire_p}), v
        # v0 has no pattern type: its filter selects LITERAL bindings only.
        v0 = (1, None, 0, "User:carol", None, 1, 1)  # the pattern is not sent at v0
        assert wire_describe(s, 0, v0) == (0, None, {wire_t})
        # Refused creations, each with its own INVALID_REQUEST and reason.
        refused = [(1, "x", 3, "User:carol", "*", 3, 3),  # resource type ANY
                   (2, "x", 2, "User:carol", "*", 3, 3),  # pattern MATCH
                   (2, "x", 3, "carol", "*", 3, 3),  # not Type:name
                   (2, "x", 3, "User:carol", "*", 1, 3),  # operation ANY
                   (2, "x", 3, "User:carol", "*", 3, 1),  # permission ANY
                   (2, "", 3, "User:carol", "*", 3, 3),  # empty name
                   (0, "x", 3, "User:carol", "*", 3, 3)]  # UNKNOWN
        results = wire_create(s, 2, refused)
        assert [e for e, _ in results] == [INVALID_REQUEST] * len(refused), results
        assert all(m for _, m in results), results
        # v0 has no pattern type: its creation is LITERAL.
        assert wire_create(s, 0, [(2, "wire-v0", 0, "User:carol", "*", 8, 3)]) == [(0, None)]
        wire_v0 = (2, "wire-v0", 3, "User:carol", "*", 8, 3)
        assert wire_describe(s, 3, carol)[2] == {wire_t, wire_p, wire_v0}
        # An invalid filter: INVALID_REQUEST for it; the next filter applies.
        results = wire_delete(s, 3, [(0, None, 1, None, None, 1, 1), (2, "wire-", 4, None, None, 1, 1)])
        assert results[0][0] == INVALID_REQUEST and results[0][1] and results[0][2] == [], results
        assert results[1] == (0, None, [(0, wire_p)]), results
        error, message, _ = wire_describe(s, 3, (2, None, 1, None, None, 0, 1))  # operation UNKNOWN
        assert error == INVALID_REQUEST and message, (error, message)
        # v0's filter selects LITERAL bindings: carol's last two; none is left.
        assert wire_delete(s, 0, [(2, None, 0, "User:carol", None, 1, 1)]) == [
            (0, None, [(0, wire_t), (0, wire_v0)])]
        assert wire_describe(s, 2, carol) == (0, None, set())
    # Malformed: a CreateAcls whose creation is cut short, and a DeleteAcls
    # whose array claims more filters than the request holds. The
    # connection closes; nothing was stored; the broker serves on.
    with Session(broker, "admin") as s:
        e = kafka_wire.Encoder(True)
        body = e.array([wire_t], lambda c: filter_bytes(e, 3, c) + e.tags())[:-4]
        s.sock.sendall(kafka_wire.flexible_request_frame(CREATE_ACLS, 3, 7, body))
        assert kafka_wire.closed_by_peer(s.sock), "a truncated CreateAcls was answered"
    with Session(broker, "admin") as s:
        s.sock.sendall(kafka_wire.request_frame(DELETE_ACLS, 1, 8, struct.pack(">i", 1 << 30)))
        assert kafka_wire.closed_by_peer(s.sock), "a DeleteAcls with a hostile array length was answered"
    with Session(broker, "admin") as s:
        assert wire_describe(s, 3, carol) == (0, None, set())
    assert broker.alive()


@test
def alice_reads_and_writes_orders_bob_is_refused(broker):
    """Case 2: alice produces (kcat) and consumes in group g1 (kafka-python);
    bob's produce and consume of "orders" fail with TOPIC_AUTHORIZATION_FAILED,
    his commit to g1 with GROUP_AUTHORIZATION_FAILED; his PREFIXED binding
    lets him write "pay-in"."""
    values = [f"order-{i}" for i in range(5)]
    out = kcat(broker, ["-P", "-t", "orders", "-p", "0"], "alice", stdin="\n".join(values) + "\n")
    assert out.returncode == 0, f"alice's kcat produce: {out.stderr}"
    assert consume_group(broker, "alice", "orders", "g1", 5) == values
    with Session(broker, "alice") as s:
        assert wire_fetch(s, "orders") == (0, 5)
        assert wire_offset_commit(s, "g1", "orders", 5) == 0

    # bob: kcat (librdkafka) learns it from Metadata, as bob may not
    # DESCRIBE "orders". (kafka-python 2.0.2's producer cannot: it drops a
    # one-topic Metadata error and waits out max_block_ms.) The Produce,
    # Fetch and OffsetCommit handlers refuse him too (raw wire below).
    out = kcat(broker, ["-P", "-t", "orders", "-p", "0"], "bob", stdin="bob-was-here\n")
    assert out.returncode != 0 and "topic authorization failed" in out.stderr.lower(), (out.returncode,
                                                                                      out.stderr)
    out = kcat(broker, ["-C", "-t", "orders", "-p", "0", "-o", "beginning", "-e"], "bob")
    assert out.returncode != 0 and "topic authorization failed" in out.stderr.lower(), (out.returncode,
                                                                                      out.stdout, out.stderr)
    assert "order-" not in out.stdout, out.stdout
    # bob in group g1 (on a topic he may DESCRIBE): FindCoordinator refuses.
    try:
        consume_group(broker, "bob", "pay-in", "g1", 1)
        raise AssertionError("bob joined group g1")
    except kerrors.GroupAuthorizationFailedError:
        pass
    with Session(broker, "bob") as s:
        assert wire_produce(s, "orders", "bob-was-here") == TOPIC_AUTHORIZATION_FAILED
        assert wire_fetch(s, "orders")[0] == TOPIC_AUTHORIZATION_FAILED
        assert wire_offset_commit(s, "g1", "orders", 0) == GROUP_AUTHORIZATION_FAILED
        assert wire_metadata(s, ["orders"]) == {"orders": TOPIC_AUTHORIZATION_FAILED}
        # PREFIXED "pay-": bob writes "pay-in" (WRITE implies DESCRIBE).
        assert wire_produce(s, "pay-in", "bob-pays") == 0
        # ... but WRITE is not CREATE: a produce to a missing "pay-" topic
        # creates nothing (auto_create_topics is on).
        assert wire_produce(s, "pay-new", "bob-creates") == UNKNOWN_TOPIC_OR_PARTITION
    with Session(broker, "admin") as s:
        assert "pay-new" not in wire_metadata(s, None), "bob's produce created a topic"
    produce_with_kafka_python(broker, "bob", "pay-in", ["bob-pays-again"])
    with Session(broker, "alice") as s:
        assert wire_fetch(s, "orders") == (0, 5), "bob's records reached orders"
    with Session(broker, "admin") as s:
        assert wire_fetch(s, "pay-in") == (0, 2)


@test
def deny_beats_allow(broker):
    """Case 3: DENY alice WRITE on "orders" beside her ALLOW: her produce now
    fails in the Produce handler (she may still DESCRIBE the topic), her
    reads go on."""
    with Admin(broker, "admin") as admin:
        assert not admin.create_acls([DENY_ALICE_WRITE])["failed"]
    try:
        produce_with_kafka_python(broker, "alice", "orders", ["denied"])
        raise AssertionError("alice produced to orders despite DENY WRITE")
    except kerrors.TopicAuthorizationFailedError:
        pass
    out = kcat(broker, ["-P", "-t", "orders", "-p", "0"], "alice", stdin="denied-too\n")
    assert out.returncode != 0 and "topic authorization failed" in out.stderr.lower(), (out.returncode, out.stderr)
    with Session(broker, "alice") as s:
        assert wire_produce(s, "orders", "denied") == TOPIC_AUTHORIZATION_FAILED
        assert wire_fetch(s, "orders") == (0, 5), "a denied record was stored"
    out = kcat(broker, ["-C", "-t", "orders", "-p", "0", "-o", "beginning", "-e", "-q"], "alice")
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [f"order-{i}" for i in range(5)], out.stdout


@test
def metadata_hides_topics(broker):
    """Case 4: Metadata for all topics lists only what the principal may
    DESCRIBE; a super user sees every topic."""
    with Admin(broker, "alice") as admin:
        listed = set(admin.list_topics())
    assert "orders" in listed and "secret" not in listed and "pay-in" not in listed, listed
    consumer = KafkaConsumer(**client_config(broker, "bob"))
    try:
        listed = consumer.topics()
    finally:
        consumer.close()
    assert "pay-in" in listed and "orders" not in listed and "secret" not in listed, listed
    with Admin(broker, "admin") as admin:
        listed = set(admin.list_topics())
    assert {"orders", "secret", "pay-in"} <= listed, listed
    with Session(broker, "alice") as s:
        everything = wire_metadata(s, None)
        assert "orders" in everything and "secret" not in everything, everything
        # Named: refused whether it exists or not, so that names do not leak.
        assert wire_metadata(s, ["secret", "no-such-topic"]) == {
            "secret": TOPIC_AUTHORIZATION_FAILED, "no-such-topic": TOPIC_AUTHORIZATION_FAILED}


@test
def only_super_users_administer_acls(broker):
    """Case 5: alice is no super user and has no ALTER/DESCRIBE on the
    cluster: CLUSTER_AUTHORIZATION_FAILED from each ACL API, and nothing
    changes."""
    with Admin(broker, "admin") as admin:
        before = described(admin)
    with Admin(broker, "alice") as admin:
        result = admin.create_acls([acl("User:alice", ACLOperation.ALL, TOPIC, "secret")])
        assert not result["succeeded"], result
        assert [e for _, e in result["failed"]] == [kerrors.ClusterAuthorizationFailedError], result
        try:
            admin.describe_acls(ALL)
            raise AssertionError("alice described the ACLs")
        except kerrors.ClusterAuthorizationFailedError:
            pass
        [(_, deleted, error)] = admin.delete_acls([ALL])
        assert error is kerrors.ClusterAuthorizationFailedError and deleted == [], (error, deleted)
    with Session(broker, "alice") as s:
        error, message, bindings = wire_describe(s, 3, (1, None, 1, None, None, 1, 1))
        assert error == CLUSTER_AUTHORIZATION_FAILED and message and bindings == set(), (error, message)
    with Admin(broker, "admin") as admin:
        assert described(admin) == before
    # Nor may she use a topic no binding gives her.
    out = kcat(broker, ["-P", "-t", "secret", "-p", "0"], "alice", stdin="nope\n")
    assert out.returncode != 0 and "topic authorization failed" in out.stderr.lower(), (out.returncode, out.stderr)


@test
def bindings_survive_a_restart(broker):
    """Case 6: stop, start on the same data dir, the same bindings decide."""
    expected = {key(a) for a in KEPT + [DENY_ALICE_WRITE]}
    with Admin(broker, "admin") as admin:
        assert described(admin) == expected
    broker.stop()
    broker.start()
    with Admin(broker, "admin") as admin:
        assert described(admin) == expected
    assert "acl authorizer: 6 ACL bindings" in broker.log_text(), broker.log_text()[-3000:]
    with Session(broker, "alice") as s:
        assert wire_produce(s, "orders", "denied") == TOPIC_AUTHORIZATION_FAILED
        assert wire_fetch(s, "orders") == (0, 5)
    with Session(broker, "bob") as s:
        assert wire_produce(s, "pay-in", "after-restart") == 0


def acl_file(broker):
    return os.path.join(broker.data_dir, ".security", "authorizer-acl", "acls.json")


def damaged_acl_file_stops_the_start(broker):
    """Case 7 (the broker stopped): a damaged acls.json is named, and the
    broker does not start with no rules."""
    path = acl_file(broker)
    assert os.path.exists(path), path
    with open(path, "w") as f:
        f.write('{"bindings": [ damaged')
    try:
        broker.start()
    except AssertionError as e:  # the harness: "keel exited with N during start-up" and the log
        text = str(e)
    else:
        broker.stop()
        raise AssertionError("keel started with a damaged ACL file")
    # The earlier starts' lines name the file too: look at the failure's.
    failure = [line for line in text.splitlines() if "start-up failed" in line]
    assert "during start-up" in text and failure, text
    assert path in failure[-1] and "damaged" in failure[-1], failure[-1]
    print(f"    {failure[-1].strip()[:200]}")


def without_authorizer_acl_apis_answer_security_disabled(build_dir):
    """Case 8: no [authorizer]: SECURITY_DISABLED with the broker's message,
    and every client may do everything (as before)."""
    with Broker(build_dir, topics_toml="[topic_defaults]\npartitions = 1\n") as plain:
        admin = KafkaAdminClient(bootstrap_servers=plain.bootstrap, request_timeout_ms=10000,
                                 api_version_auto_timeout_ms=10000)
        try:
            result = admin.create_acls([KEPT[0]])
            assert [e for _, e in result["failed"]] == [kerrors.SecurityDisabledError], result
            try:
                admin.describe_acls(ALL)
                raise AssertionError("DescribeAcls without an authorizer succeeded")
            except kerrors.SecurityDisabledError as e:
                assert NO_AUTHORIZER in str(e), e
            [(_, deleted, error)] = admin.delete_acls([ALL])
            assert error is kerrors.SecurityDisabledError and deleted == [], (error, deleted)
        finally:
            admin.close()
        for version in (0, 1, 2, 3):
            body_e = kafka_wire.Encoder(flexible(version))
            body = body_e.array([(2, "t", 3, "User:x", "*", 3, 3)],
                                lambda c: filter_bytes(body_e, version, c) + body_e.tags()) + body_e.tags()
            frame = (kafka_wire.flexible_request_frame if flexible(version) else kafka_wire.request_frame)(
                CREATE_ACLS, version, 1, body)
            with kafka_wire.connect(plain.kafka_port) as s:
                s.sendall(frame)
                corr, resp = kafka_wire.read_response(s)
            d = kafka_wire.FlexDecoder(resp[1:] if flexible(version) else resp, flexible(version))
            d.int32()
            [(error, message)] = d.array(lambda d: (d.int16(), d.string(), d.tags())[:2])
            assert error == SECURITY_DISABLED and NO_AUTHORIZER in message, (version, error, message)
        out = subprocess.run(["kcat", "-b", plain.bootstrap, "-P", "-t", "open", "-p", "0"], input="x\n",
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr


def add_users(build_dir, data_dir):
    tool = os.path.join(build_dir, "kernel", "keel-tool")
    for user, password in USERS.items():
        out = subprocess.run([tool, "user", "add", user, "-d", data_dir, "--iterations", "4096", "--mechanism",
                              MECHANISM], input=password + "\n", capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr


def main():
    args = parse_args()
    topics = "".join(f"[topics.{t}]\npartitions = 1\n" for t in TOPICS)
    config = ("[topic_defaults]\npartitions = 1\n" + topics + '[authorizer]\nstrategy = "acl"\n'
              + '[authorizer.acl]\nsuper_users = "User:admin"\nallow_everyone_if_no_acl_found = false\n')
    broker = Broker(args.build_dir, kafka_toml='security_protocol = "SASL_PLAINTEXT"', topics_toml=config)
    os.makedirs(broker.data_dir, exist_ok=True)
    add_users(args.build_dir, broker.data_dir)
    with broker:
        status = run_cases(broker, TESTS)
        assert broker.alive(), "broker died"
    for name, case in (("damaged_acl_file_stops_the_start", lambda: damaged_acl_file_stops_the_start(broker)),
                       ("without_authorizer_acl_apis_answer_security_disabled",
                        lambda: without_authorizer_acl_apis_answer_security_disabled(args.build_dir))):
        try:
            case()
            print(f"PASS {name}")
        except Exception as e:  # report both, then fail the run
            status = 1
            print(f"FAIL {name}: {type(e).__name__}: {e}")
    return status


if __name__ == "__main__":
    sys.exit(main())
